"""Speakable text: markdown/code/URL/emoji cleanup and a streaming sentence splitter, linear in the text.

    splitter = SentenceSplitter(max_chars=250, first_fragment_words=3)
    for delta in llm_deltas:
        speak(splitter.feed(delta))        # each sentence as soon as it is complete
    speak(splitter.close())

Feeding a text in any chunks (token by token, char by char, or whole) yields exactly the same sentences as
`split_sentences(text)`, and each raw character is handled a bounded number of times, so a 200 KB answer costs
the same per character as a short one. How: the cleanup works line by line and, inside a line, word by word
("units": a run of non-space characters, widened over a [link](url), `code` or <tag> that contains spaces);
each unit is cleaned once, when its end is seen, and the cleaned text only ever grows. Sentence ends are then
looked for in the cleaned text not yet handed out (about `max_chars` at most).

With `first_fragment_words` > 0 the FIRST sentence of a reply is handed out at its first clause break (a comma,
colon, semicolon or dash after at least that many words; CJK ，；：、 too), so speech can start before the LLM
has finished the sentence. Never mid-word: a comma counts only when a space follows ("3,000" is no break).
"""

from __future__ import annotations

import re

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

_CLOSERS = "\"'”’»)]}」』）】》〉"
_ENDERS = ".!?…。！？"
_CJK_ENDERS = "。！？"
_ENDER_OR_NL = re.compile("[.!?…。！？\n]")
_CJK_STOPS = "。！？，；：、"  # CJK has no spaces: a unit also ends after these
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_CLAUSE = re.compile(r"[,;:]|(?<=\s)-|[–—]|[，；：、]")
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


class _Cleaner:
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
    cleaner = _Cleaner()
    cleaner.feed(text)
    cleaner.finish()
    return cleaner.take()


def _has_words(sentence: str) -> bool:
    return any(ch.isalnum() for ch in sentence)


def _count_words(text: str) -> int:
    return len(text.split()) + len(_CJK_CHAR.findall(text))


def _is_abbreviation(text: str, dot: int, start: int = 0) -> bool:
    """Is the '.' at index `dot` the end of an abbreviation or an initial? (looks back no further than start)"""
    begin = dot
    while begin > start and dot - begin < 12 and (text[begin - 1].isalpha() or text[begin - 1] == "."):
        begin -= 1
    word = text[begin:dot].lower()
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and text[begin].isupper()  # an initial: "J. K. Rowling"


def _find_boundary(
    text: str, start: int, final: bool, space: bool = False, hint: str = "", window: int | None = None
) -> tuple[int | None, int]:
    """(end, stop): end index (exclusive) of the first complete sentence in text[start:], or None if none is
    complete yet; stop is where the scan had to wait (len(text) when it did not).

    Streaming only: `space` says whitespace follows the text; `hint` is the first character of the next word
    when it is already known. Sentence ends are looked for in the first `window` characters only (a longer
    sentence gets cut anyway), which keeps the whole search linear.
    """
    n = len(text)
    endpos = n if window is None else min(n, start + window)
    i = start
    while True:
        m = _ENDER_OR_NL.search(text, i, endpos)
        if m is None:
            return (n if final and n > start else None), endpos
        i = m.start()
        if text[i] == "\n":
            return i + 1, i
        j = i
        while j < n and text[j] in _ENDERS:
            j += 1
        while j < n and text[j] in _CLOSERS:
            j += 1
        run = text[i:j].rstrip(_CLOSERS)
        nxt = ""
        if j >= n:
            if final:
                return n, i
            if run[-1] in _CJK_ENDERS and (space or hint):
                return j, i
            if not space:
                return None, i  # more enders or closers may follow
        else:
            if run[-1] in _CJK_ENDERS:
                return j, i
            if not text[j].isspace():
                i = j  # "3.50", "e.g.x": not an end
                continue
            k = j
            while k < n and text[k] in " \t":
                k += 1
            nxt = text[k] if k < n else ""
        if run[-1] in "!?！？":
            return j, i
        if not nxt:
            if final:
                return j, i
            if not (hint.isupper() or hint.isdigit()):
                return None, i
            nxt = hint  # the next word has started: its first letter decides like in the whole text
        if nxt == "\n":
            return j, i
        if run == "." and _is_abbreviation(text, i, start):
            i = j
            continue
        if nxt.islower():
            i = j  # "etc. and", "... and then"
            continue
        return j, i


def _first_clause(text: str, start: int, limit: int, open_end: bool, min_words: int) -> int | None:
    """End of the first clause of text[start:] (after its comma, colon, semicolon or dash) with at least
    min_words words, before `limit`; None when there is none (yet). `open_end`: a mark that ends the text
    is followed by a space (or by nothing at all)."""
    n = len(text)
    for m in _CLAUSE.finditer(text, start, limit):
        mark, c = m.group(), m.end()
        if mark in "，；：、":
            ok = True
        elif c < n:
            ok = text[c].isspace() or (mark in "–—" and text[c].isalnum())
        else:
            ok = open_end
        if ok and _count_words(text[start:c]) >= min_words:
            return c
    return None


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

    def __init__(self, max_chars: int = 250, first_fragment_words: int = 0) -> None:
        self.max_chars = max_chars
        self.first_fragment_words = first_fragment_words
        self._cleaner = _Cleaner()
        self._text = ""  # cleaned text not handed out yet
        self._emitted = 0
        self._after: tuple[bool, str] = (False, "")

    def feed(self, delta: str) -> list[str]:
        if not delta:
            return []
        self._cleaner.feed(delta)
        new = self._cleaner.take()
        after = (self._cleaner.space, self._cleaner.hint)
        if not new and after == self._after:
            return []  # nothing that could complete a sentence
        self._after = after
        self._text += new
        return self._drain(final=False)

    def close(self) -> list[str]:
        """Flush: everything left, as sentences."""
        self._cleaner.finish()
        self._text += self._cleaner.take()
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        space, hint = (False, "") if final else self._after
        text, pos, n = self._text, 0, len(self._text)
        while pos < n:
            end, stop = _find_boundary(text, pos, final, space, hint, self.max_chars + 3)
            if self.first_fragment_words and not self._emitted:
                limit = stop if end is None else end
                cut = _first_clause(text, pos, limit, final or space, self.first_fragment_words)
                if cut is not None and cut - pos <= self.max_chars:
                    end = cut
            if end is None or end - pos > self.max_chars:
                if n - pos > self.max_chars + 2:
                    end = pos + _force_split(text[pos : pos + self.max_chars], self.max_chars)
                elif end is None:
                    break
            sentence = text[pos:end].strip()
            pos = end
            if _has_words(sentence):
                out.append(sentence)
                self._emitted += 1
        self._text = text[pos:]
        return out


def split_sentences(text: str, max_chars: int = 250, first_fragment_words: int = 0) -> list[str]:
    """All speakable sentences of a whole text."""
    splitter = SentenceSplitter(max_chars, first_fragment_words)
    return splitter.feed(text) + splitter.close()


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
