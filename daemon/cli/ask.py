"""`ask "QUESTION" [--out FILE.wav]`: ask the remote LLM and speak the streamed answer (the hotkey's pipeline)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from daemon.cli.common import load_settings, terminal_safe
from daemon.errors import BadInputError, LLMError, VoxTrayError

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ask", help="ask the remote LLM and speak the answer (or write it to a WAV file)",
        description="Ask the remote LLM (remote_llm_url) one question and speak the answer as it streams.",
    )
    p.add_argument("question", metavar="QUESTION", nargs="?", default="", help="what to ask")
    p.add_argument("--audio", metavar="FILE", type=Path,
                   help="ask the question spoken in an audio file (any format PyAV reads) instead: it is "
                        "transcribed by the talk hotkey's recogniser (stt_model, stt_language) first")
    p.add_argument("--out", metavar="FILE.wav", type=Path, help="write the spoken answer to a WAV file instead")
    p.add_argument("--engine", choices=["auto", "xtts", "edge", "system"], default=None,
                   help="speech engine (default: settings.engine)")
    p.add_argument("--voice", metavar="NAME_OR_PATH", help="voice name from voices/ or a reference clip path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from daemon.assistant import Assistant
    from daemon.brain.client import LLMClient
    from daemon.brain.conversation import Conversation
    from daemon.speech.oneshot import resolve_voice
    from daemon.speech.player import Player
    from daemon.speech.sinks import AudioSink, WavSink
    from daemon.speech.stack import build, load_xtts_for_cli
    from daemon.status import StatusBus

    if args.audio is not None:
        if args.question.strip():
            raise BadInputError("give either QUESTION or --audio FILE, not both")
        args.question = _transcribe(args)
    if not args.question.strip():
        raise BadInputError("nothing to ask: QUESTION is empty")
    if args.out is not None and args.out.suffix.lower() != ".wav":
        raise BadInputError(f"--out must name a .wav file, got {args.out}")
    settings = load_settings(args, check=False)
    if args.engine:
        settings = settings.model_copy(update={"engine": args.engine})
    status = StatusBus()
    sink: AudioSink = (WavSink(args.out, volume=settings.volume) if args.out is not None
                       else Player(settings.output_device, settings.output_sample_rate, settings.volume))
    stack = build(settings, status, sink, probe=False)
    assistant = None
    try:
        load_xtts_for_cli(stack, settings, forced=args.engine == "xtts")
        client = LLMClient(settings)
        assistant = Assistant(client, Conversation(settings.history_turns, settings.system_prompt), stack.pipeline,
                              status, voice=resolve_voice(settings, args.voice))
        assistant.ask(args.question)
        try:
            assistant.wait_idle()
        except KeyboardInterrupt:
            assistant.stop()
            assistant.wait_idle(2.0)
            raise
    finally:
        if assistant is not None:
            assistant.close()
        stack.close()  # also closes the sink: writes the WAV
    t = assistant.last_timings
    if t is None:
        raise VoxTrayError("the question was not answered (see the log)")
    if t.answer:
        print(terminal_safe(t.answer.strip()))
    print(f"[{t.describe()}]", file=sys.stderr)
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    if t.error:  # the whole answer was not spoken: say why, exit 1
        raise (LLMError if t.error_kind.startswith("LLM") else VoxTrayError)(t.error)
    return 0


def _transcribe(args: argparse.Namespace) -> str:
    """The question spoken in --audio FILE, as text (the recogniser's timings on stderr)."""
    from daemon.cli.transcribe import recognizer_for
    from daemon.listen.recognizer import Recognizer, decode_file

    audio = decode_file(args.audio)
    rec = recognizer_for(argparse.Namespace(settings=args.settings, model=None, language=None))
    assert isinstance(rec, Recognizer)
    try:
        heard = rec.transcribe(audio)
    finally:
        rec.close()
    print(f"[heard: {heard.text!r} ({heard.audio_s:.1f} s of audio, recognised in {heard.seconds:.2f} s)]",
          file=sys.stderr, flush=True)
    if not heard.text:
        raise BadInputError(f"{args.audio}: no speech was recognised in it")
    return heard.text
