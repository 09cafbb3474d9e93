"""Which parts of an answer the speech cleanup (speech/clean.py) leaves out, so the answer can be shown as text
with what was not read aloud marked.

    spoken_parts("Run it:\\n```\\nls -l\\n```\\nSee https://x.org.")
    # [("Run it:\\n", True), ("```\\nls -l\\n```\\n", False), ("See ", True), ("https://x.org", False), (".", True)]

Joined, the parts are the text again, unchanged. Left out (spoken=False), by the cleaner's own rules: code blocks
(fences included), lines with nothing speakable (rules, table rules, only emoji or symbols), images, a link's
address (its words are read), bare URLs, HTML tags and inline code that is not a plain word or two. Markdown marks
inside spoken text (bullets, **, #) stay with it: they are formatting, not content that went unread.
"""

from __future__ import annotations

from daemon.speech.clean import _FENCE, _HTML, _IMAGE, _INLINE_CODE, _LINK, _SPEAKABLE_CODE, _URL, clean

Part = tuple[str, bool]  # (original text, read aloud?)


def _skipped_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of what the cleanup drops inside one spoken line, in order, never overlapping."""
    spans = [m.span() for m in _IMAGE.finditer(line)]
    spans += [(m.end(1) + 1, m.end()) for m in _LINK.finditer(line)]  # "[words](address)": the "(address)"
    spans += [m.span() for m in _URL.finditer(line)]
    spans += [m.span() for m in _HTML.finditer(line)]
    spans += [m.span() for m in _INLINE_CODE.finditer(line) if not _SPEAKABLE_CODE.match(m.group(1))]
    taken: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < end and (not taken or start >= taken[-1][1]):
            taken.append((start, end))
    return taken


def spoken_parts(text: str) -> list[Part]:
    """The text cut into runs of read-aloud and left-out text (adjacent runs of one kind merged)."""
    parts: list[list[object]] = []

    def add(piece: str, spoken: bool) -> None:
        if not piece:
            return
        if parts and parts[-1][1] == spoken:
            parts[-1][0] = str(parts[-1][0]) + piece
        else:
            parts.append([piece, spoken])

    in_fence = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if in_fence or _FENCE.match(body):
            in_fence = in_fence != bool(_FENCE.match(body))  # a fence line opens or closes the block
            add(line, False)
        elif not body.strip():
            add(line, True)  # a blank line: part of whatever it separates
        elif not clean(body).strip():
            add(line, False)
        else:
            at = 0
            for start, end in _skipped_spans(body):
                add(body[at:start], True)
                add(body[start:end], False)
                at = end
            add(line[at:], True)
    return [(str(piece), bool(spoken)) for piece, spoken in parts]
