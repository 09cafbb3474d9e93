"""Speakable text from an LLM answer: markdown, code, URLs, emoji and control characters removed, linear in the text.

`clean(text)` for a whole text; `Cleaner` for a stream: feed raw text in any chunks, `take()` the cleaned text
so far (it only ever grows, whatever the chunking). How: the cleanup works line by line and, inside a line, word
by word ("units": a run of non-space characters, widened over a [link](url), `code` or <tag> that contains
spaces); each unit is cleaned once, when its end is seen, so each raw character is handled a bounded number of
times. `unspeakable_reason` says why an answer cleaned to nothing.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HR = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINE_MARKERS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•‣◦]\s+|\d{1,3}[.)]\s+|\[[ xX]\]\s+)+")
_MARKER_PREFIX = re.compile(r"#{1,6}|[-*+•‣◦]|\d{1,3}[.)]?|\[(?:[ xX]\]?)?")  # could still become a marker
_RULE_CHARS = re.compile(r"[\s\-*_:|]*")  # a line of only these may still be a rule (---, |---|)
_IMAGE = re.compile(r"!\[([^\][]*)\]\([^)]*\)")  # no [ inside: linear on "[[[[..."
_LINK = re.compile(r"\[([^\][]+)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.IGNORECASE)
_URL_STARTS = ("http://", "https://", "ftp://", "www.")
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
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_CJK_STOPS = "。！？，；：、"  # CJK has no spaces: a unit also ends after these
_PLAIN_STOP = re.compile("[\\s\\[`<\x1b。！？，；：、]")

HEAD_MAX = 200  # a line's start is decided (marker, rule, table, fence) within this many characters
MAX_UNIT = 2000  # a "word" longer than this is cut
MAX_OPEN = 500  # a [, (, ` or < left open longer than this stops holding the unit together

# line modes and the states of the unit scanner
_HEAD, _BODY, _WHOLE, _SKIP, _FENCE_HEAD = range(5)
_PLAIN, _ESC, _LT, _AFTER_BRACKET, _BRACKET, _PAREN, _CODE, _TAG = range(8)
_CLOSE_OF = {_BRACKET: "]", _PAREN: ")", _CODE: "`", _TAG: ">"}
_FENCE_D, _WHOLE_D, _SKIP_D = -1, -2, -3  # line decisions besides "body from index e"


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
    """A whole line at once (table rows, rules, lines whose start stayed undecided)."""
    if _HR.match(line) or _TABLE_RULE.match(line):
        return ""
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        line = ", ".join(c for c in cells if c)
    line = _LINE_MARKERS.sub("", line)
    if not line.isprintable():
        line = _CONTROL.sub("", _ANSI.sub("", line))
    return _clean_inline(line).strip()


def _clean_unit(unit: str) -> str:
    if unit.isascii() and (unit.isalnum() or (unit[-1] in ".,;:!?" and unit[:-1].isalnum())):
        return unit  # the common plain word
    if not unit.isprintable():
        unit = _CONTROL.sub("", _ANSI.sub("", unit))
    return _clean_inline(unit).strip()


def _decide_prefix(q: str) -> int | None:
    """How an unfinished line starting with q is cleaned: body from index e, or a _*_D decision; None: wait."""
    s = q.lstrip()
    if s.startswith(("```", "~~~")):
        return _FENCE_D
    if s.startswith("|"):
        return _WHOLE_D
    if s in ("", "`", "``", "~", "~~") or _RULE_CHARS.fullmatch(q):
        return None
    m = _LINE_MARKERS.match(q)
    e = m.end() if m else 0
    r = q[e:].lstrip()
    if not r or _MARKER_PREFIX.fullmatch(r):
        return None
    return e


def _decide_line(q: str, complete: bool) -> int | None:
    """The decision for a line from its start q (the whole line when complete); stable as q grows."""
    if len(q) > HEAD_MAX:
        d = _decide_prefix(q[:HEAD_MAX])
        return _WHOLE_D if d is None else d
    if not complete:
        return _decide_prefix(q)
    if _FENCE.match(q):
        return _FENCE_D
    if q.lstrip().startswith("|") or _HR.match(q) or _TABLE_RULE.match(q):
        return _WHOLE_D
    m = _LINE_MARKERS.match(q)
    return m.end() if m else 0


def _decide_fence_line(q: str, complete: bool) -> int | None:
    """Inside a code fence: does this line close it (_FENCE_D) or is it dropped (_SKIP_D)?"""
    s = q[:HEAD_MAX].lstrip()
    if s.startswith(("```", "~~~")):
        return _FENCE_D
    if not complete and len(q) <= HEAD_MAX and s in ("", "`", "``", "~", "~~"):
        return None
    return _SKIP_D


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Cleaner:
    """Raw text in (any chunks), speakable text out; the output only grows, whatever the chunking."""

    def __init__(self) -> None:
        self._out: list[str] = []
        self._mode = _HEAD
        self._in_fence = False
        self._line: list[str] = []  # raw text held: the line's undecided start, or a whole line
        self._line_len = 0
        self._unit: list[str] = []
        self._unit_len = 0
        self._unit_head = ""  # first characters of the unit in progress
        self._state = _PLAIN
        self._open_len = 0
        self._line_has_text = False
        self._last = ""  # the last character output on this line
        self._glue = False  # the next unit joins without a space (it follows a CJK stop)
        self.space = False  # whitespace followed the last output on this line

    def take(self) -> str:
        text = "".join(self._out)
        self._out.clear()
        return text

    @property
    def hint(self) -> str:
        """The first character of the word in progress when it is sure to start the next output, else ""."""
        head = self._unit_head
        if self._mode != _BODY or not head or not head[0].isalnum():
            return ""
        low = head.lower()
        if any(s.startswith(low[: len(s)]) for s in _URL_STARTS):
            return ""  # may still become a URL, which is dropped
        return head[0]

    def feed(self, raw: str) -> None:
        i, n = 0, len(raw)
        while i < n:
            mode = self._mode
            if mode == _BODY:
                i = self._body(raw, i)
            elif mode in (_SKIP, _WHOLE):
                nl = raw.find("\n", i)
                if mode == _WHOLE:
                    self._line.append(raw[i : n if nl < 0 else nl])
                if nl < 0:
                    return
                self._line_end()
                i = nl + 1
            else:
                i = self._head(raw, i)
                if self._mode in (_HEAD, _FENCE_HEAD):
                    return  # undecided: wait for more

    def finish(self) -> None:
        """The text ended: flush the last line (as if a newline followed, without emitting it)."""
        self.feed("\n")
        if self._out and self._out[-1] == "\n":
            self._out.pop()

    # ---- lines ----
    def _head(self, raw: str, i: int) -> int:
        nl = raw.find("\n", i)
        stop = len(raw) if nl < 0 else nl
        j = min(stop, i + max(0, HEAD_MAX + 1 - self._line_len))
        if j > i:
            self._line.append(raw[i:j])
            self._line_len += j - i
        complete = j == nl
        q = "".join(self._line)
        decide = _decide_fence_line if self._mode == _FENCE_HEAD else _decide_line
        d = decide(q, complete)
        if d is None:
            return j
        self._line, self._line_len = [], 0
        if d == _FENCE_D:
            self._in_fence = not self._in_fence
            self._mode = _SKIP
        elif d == _SKIP_D:
            self._mode = _SKIP
        elif d == _WHOLE_D:
            self._mode = _WHOLE
            self._line = [q]
        else:
            self._mode = _BODY
            self._body(q[d:], 0)
        return j

    def _line_end(self) -> None:
        if self._mode == _BODY:
            self._end_unit()
        elif self._mode == _WHOLE:
            self._out.append(_clean_line("".join(self._line)))
        self._out.append("\n")
        self._mode = _FENCE_HEAD if self._in_fence else _HEAD
        self._line, self._line_len = [], 0
        self._state = _PLAIN
        self._line_has_text = self._glue = self.space = False
        self._last = ""

    # ---- words ----
    def _add(self, s: str) -> None:
        self._unit.append(s)
        self._unit_len += len(s)
        if len(self._unit_head) < 8:
            self._unit_head = (self._unit_head + s)[:8]

    def _open(self, state: int) -> None:
        self._state = state
        self._open_len = 0

    def _end_unit(self, space: bool = False, glue: bool = False) -> None:
        """The word in progress is complete: clean it and append it (with the right separator)."""
        produced = False
        if self._unit:
            cleaned = _clean_unit("".join(self._unit))
            self._unit, self._unit_len, self._unit_head = [], 0, ""
            if cleaned:
                sep = " "
                if not self._line_has_text or self._glue:
                    sep = ""
                elif cleaned[0] in ".,;:!?" and (len(cleaned) == 1 or cleaned[1].isspace()):
                    sep = "" if _is_word_char(self._last) else " "
                self._out.append(sep + cleaned)
                self._last = cleaned[-1]
                self._line_has_text = produced = True
                self.space = False
        self._state = _PLAIN
        if space:
            self.space = self._line_has_text
        # Only a word that was spoken glues the next one to it: after whitespace (self.space) a space always
        # comes before the next output, which the boundary rules rely on.
        self._glue = glue and produced

    def _body(self, raw: str, i: int) -> int:
        """Scan raw[i:] word by word up to the end of the line; returns where it stopped."""
        n = len(raw)
        while i < n:
            st = self._state
            if st == _PLAIN:
                if self._unit_len >= MAX_UNIT:
                    self._end_unit()  # too long for a word: cut here
                m = _PLAIN_STOP.search(raw, i)
                j = m.start() if m else n
                if j > i:
                    j = min(j, i + MAX_UNIT - self._unit_len)
                    self._add(raw[i:j])
                    i = j
                    continue
                ch = raw[i]
                if ch == "\n":
                    self._line_end()
                    return i + 1
                if ch.isspace():
                    self._end_unit(space=True)
                    i += 1
                    continue
                self._add(ch)
                i += 1
                if ch in _CJK_STOPS:
                    self._end_unit(glue=True)
                elif ch == "\x1b":
                    self._state = _ESC
                elif ch == "[":
                    self._open(_BRACKET)
                elif ch == "`":
                    self._open(_CODE)
                elif ch == "<":
                    self._state = _LT
            elif st in (_ESC, _LT, _AFTER_BRACKET):
                ch = raw[i]
                self._state = _PLAIN
                if ch.isspace():
                    continue
                if st == _ESC:  # "\x1b[" starts a terminal escape, not a link
                    self._add(ch)
                    i += 1
                elif st == _AFTER_BRACKET and ch == "(":
                    self._add(ch)
                    i += 1
                    self._open(_PAREN)
                elif st == _LT and (ch.isalpha() or ch == "/"):
                    self._add(ch)
                    i += 1
                    self._open(_TAG)
            else:  # inside [..], (..), `..` or <..>: spaces do not end the word
                limit = min(n, i + MAX_OPEN - self._open_len)
                j = raw.find(_CLOSE_OF[st], i, limit)
                nl = raw.find("\n", i, limit if j < 0 else j)
                if nl >= 0:  # the line ends first: the construct stays open
                    self._add(raw[i:nl])
                    self._state = _PLAIN
                    i = nl
                elif j >= 0:
                    self._add(raw[i : j + 1])
                    i = j + 1
                    self._state = _AFTER_BRACKET if st == _BRACKET else _PLAIN
                else:
                    self._add(raw[i:limit])
                    self._open_len += limit - i
                    i = limit
                    if self._open_len >= MAX_OPEN:
                        self._state = _PLAIN  # never closed: stop holding the word together
        return i


def clean(text: str) -> str:
    """Markdown, code blocks, URLs, emoji, control characters and list bullets removed; one line per line."""
    cleaner = Cleaner()
    cleaner.feed(text)
    cleaner.finish()
    return cleaner.take()


def unspeakable_reason(text: str) -> tuple[str, str]:
    """(note for the log/tray/CLI, one short sentence to speak) for an answer that cleaned to nothing."""
    if not text.strip():
        return "the answer was empty (nothing but whitespace)", "The language model sent an empty answer."
    if "```" in text or "~~~" in text or _INLINE_CODE.search(text):
        return "the answer was only code", "The answer was only code; it is in the log."
    if _URL.search(text):
        return "the answer was only links", "The answer was only links; they are in the log."
    return ("the answer had nothing to read aloud (only symbols or emoji)",
            "The answer had nothing I can read aloud; it is in the log.")
