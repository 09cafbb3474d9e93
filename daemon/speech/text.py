"""Speakable text: markdown/code/URL/emoji cleanup and a streaming sentence splitter.

`SentenceSplitter.feed(delta)` returns each sentence as soon as it is complete, and feeding a text
token by token yields exactly the sentences that `split_sentences(text)` yields for the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# Abbreviations whose trailing period never ends a sentence (compared lower-case, without the dot).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e eg ie cf approx appt apt dept est fig figs inc ltd co corp
    no nos vol vols p pp ca al gen gov sen rep rev sgt capt col lt cmdr adm hon u.s u.k a.m p.m jan feb mar
    apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun min max avg
    """.split()
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HR = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINE_MARKERS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•‣◦]\s+|\d{1,3}[.)]\s+|\[[ xX]\]\s+)+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.IGNORECASE)
_HTML = re.compile(r"</?[a-zA-Z][^<>]*>")
_INLINE_CODE = re.compile(r"`([^`]*)`")
_SPEAKABLE_CODE = re.compile(r"^[\w\s'-]{1,40}$")
_EMPHASIS = re.compile(r"\*{1,3}|~~|(?<!\w)_{1,3}(?=\S)|(?<=\S)_{1,3}(?!\w)")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\U0000fe0e\U0000fe0f\U0000200d"
    "\U00002b00-\U00002bff\U0001f900-\U0001f9ff\U000020e3]"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w) ([.,;:!?])(?=\s|$)")

_CLOSERS = "\"'”’»)]}"
_ENDERS = ".!?…"


def _clean_inline(line: str) -> str:
    line = _IMAGE.sub("", line)
    line = _LINK.sub(r"\1", line)
    line = _URL.sub("", line)
    line = _HTML.sub(" ", line)
    line = _INLINE_CODE.sub(lambda m: m.group(1) if _SPEAKABLE_CODE.match(m.group(1)) else "", line)
    line = _EMPHASIS.sub("", line)
    line = _EMOJI.sub("", line)
    line = _SPACES.sub(" ", line)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", line)


def _clean_line(line: str) -> str:
    if _HR.match(line) or _TABLE_RULE.match(line):
        return ""
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        line = ", ".join(c for c in cells if c)
    line = _LINE_MARKERS.sub("", line)
    return _clean_inline(line).strip(" ")


def clean(text: str) -> str:
    """Markdown, code blocks, URLs, emoji and list bullets removed; one cleaned line per source line."""
    out: list[str] = []
    in_fence = False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append("")
            continue
        if in_fence:
            out.append("")
            continue
        cleaned = _clean_line(line)
        if i == len(lines) - 1 and line.endswith((" ", "\t")) and cleaned:
            cleaned += " "  # keep the trailing space of an unfinished line: it marks a word end
        out.append(cleaned)
    return "\n".join(out)


def _has_words(sentence: str) -> bool:
    return any(ch.isalnum() for ch in sentence)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the '.' at index `dot` the end of an abbreviation or an initial?"""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and text[start].isupper()  # an initial: "J. K. Rowling"


def _find_boundary(text: str, final: bool, hint: str = "") -> int | None:
    """End index (exclusive) of the first complete sentence in text, or None if none is complete yet.

    `hint` is the first character of a word that has started arriving after the text (streaming only).
    """
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            return i + 1
        if ch not in _ENDERS:
            i += 1
            continue
        j = i
        while j < n and text[j] in _ENDERS:
            j += 1
        while j < n and text[j] in _CLOSERS:
            j += 1
        if j >= n:
            return n if final else None
        if not text[j].isspace():
            i = j  # "3.50", "e.g.x": not an end
            continue
        k = j
        while k < n and text[k] in " \t":
            k += 1
        nxt = text[k] if k < n else ""
        run = text[i:j].rstrip(_CLOSERS)
        if run[-1] in "!?":
            return j
        if not nxt:
            if final:
                return j
            if not (hint.isupper() or hint.isdigit()):
                return None
            nxt = hint  # the next word has started: its first letter decides like in the whole text
        if nxt == "\n":
            return j
        if run == "." and _is_abbreviation(text, i):
            i = j
            continue
        if nxt.islower():
            i = j  # "etc. and", "... and then"
            continue
        return j
    return n if final and n else None


def _force_split(text: str, max_chars: int) -> int:
    """Where to cut an over-long sentence: the last clause break or space within max_chars."""
    window = text[:max_chars]
    for seps in (",;:", " "):
        cut = max(window.rfind(s) for s in seps)
        if cut > max_chars // 3:
            return cut + 1
    return max_chars


class SentenceSplitter:
    """Streaming splitter: feed deltas of raw LLM text, get speakable sentences as soon as complete."""

    def __init__(self, max_chars: int = 250) -> None:
        self.max_chars = max_chars
        self._raw = ""
        self._pos = 0  # index into the cleaned text up to which sentences were emitted

    def feed(self, delta: str) -> list[str]:
        self._raw += delta
        stable, hint = self._stable(self._raw)
        return self._drain(clean(stable), final=False, hint=hint)

    def close(self) -> list[str]:
        """Flush: everything left, as sentences."""
        return self._drain(clean(self._raw), final=True)

    def _drain(self, cleaned: str, final: bool, hint: str = "") -> list[str]:
        out: list[str] = []
        while self._pos < len(cleaned):
            rest = cleaned[self._pos :]
            end = _find_boundary(rest, final, hint)
            if end is None or end > self.max_chars:
                if len(rest) > self.max_chars + 2:
                    end = _force_split(rest, self.max_chars)
                elif end is None:
                    break
            self._pos += end
            sentence = rest[:end].strip()
            if _has_words(sentence):
                out.append(sentence)
        return out

    @staticmethod
    def _stable(raw: str) -> tuple[str, str]:
        """The prefix of raw text whose cleanup cannot change when more text arrives, and the first
        character of the unfinished word held back after it ("" when something else was held back)."""
        # Inside an open code fence nothing is stable past the fence.
        fence_at = None
        offset = 0
        for line in raw.split("\n"):
            if _FENCE.match(line):
                fence_at = None if fence_at is not None else offset
            offset += len(line) + 1
        if fence_at is not None:
            raw = raw[:fence_at]
        # The unfinished last line: hold it until its start can no longer be a marker, a fence or a table.
        line_start = raw.rfind("\n") + 1
        last = raw[line_start:]
        if len(last.lstrip()) < 6 or last.lstrip().startswith(("|", "`", "~")):
            return raw[:line_start], ""
        # Hold an unfinished word (a URL, emoji sequence or emphasis still arriving) and unclosed [..](..) / `.
        cut = max(raw.rfind(" "), raw.rfind("\t"), raw.rfind("\n")) + 1
        hint = raw[cut : cut + 1]
        for opener, closer in (("[", "]"), ("](", ")"), ("`", "`")):
            o = raw.rfind(opener, line_start)
            if o != -1 and raw.find(closer, o + len(opener)) == -1 and o < cut:
                cut, hint = o, ""
        return raw[:cut], hint


def split_sentences(text: str, max_chars: int = 250) -> list[str]:
    """All speakable sentences of a whole text."""
    splitter = SentenceSplitter(max_chars)
    return splitter.feed(text) + splitter.close()


def stream_sentences(deltas: Iterable[str], max_chars: int = 250) -> Iterator[str]:
    """Sentences from a stream of text deltas, each yielded as soon as it is complete."""
    splitter = SentenceSplitter(max_chars)
    for delta in deltas:
        yield from splitter.feed(delta)
    yield from splitter.close()
