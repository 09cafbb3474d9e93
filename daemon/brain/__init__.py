"""The remote LLM: streaming client (Ollama and OpenAI-compatible), health poller, conversation, assistant.

- `client.LLMClient(settings)`: `chat(messages) -> ChatStream` (an iterator of text deltas), `health()`;
  under it `transport` (deadline-bounded HTTP), `dialects` (Ollama NDJSON / OpenAI SSE, status texts: pure) and
  `stream` (one answer's bounds and cancel).
- `health.HealthPoller(client, status)`: background checks published as status llm_url/llm_ok/llm_note.
- `conversation.Conversation(history_turns, system_prompt)`: the messages sent with each question.
- `assistant.Assistant(client, conversation, pipeline, status)`: `.ask(question)` speaks the streamed answer.
"""
