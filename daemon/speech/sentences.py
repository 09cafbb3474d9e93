"""The streaming sentence splitter: raw LLM deltas in, speakable sentences out as soon as each is complete.

    splitter = SentenceSplitter(max_chars=250, first_fragment_words=3)
    for delta in llm_deltas:
        speak(splitter.feed(delta))        # each sentence as soon as it is complete
    speak(splitter.close())

Feeding a text in any chunks (token by token, char by char, or whole) yields exactly the same sentences as
`split_sentences(text)`. The raw text goes through speech/clean.py's `Cleaner` first; sentence ends are then
looked for in the cleaned text not yet handed out (about `max_chars` at most), so the whole split is linear.

With `merge_words` > 0 a sentence of fewer words ("Sure.", "Of course.") is handed out together with the next
one (a lone short sentence is where XTTS babbles most); a short last one joins the sentence before it when both
are still here.

With `first_fragment_words` > 0 the FIRST sentence of a reply is handed out at its first clause break (a comma,
colon, semicolon or dash after at least that many words; CJK ，；：、 too), so speech can start before the LLM
has finished the sentence. Never mid-word: a comma counts only when a space follows ("3,000" is no break).
"""

from __future__ import annotations

import re

from daemon.speech.clean import Cleaner

# Abbreviations whose trailing period never ends a sentence (compared lower-case, without the dot).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e eg ie cf approx appt apt dept est fig figs inc ltd co corp
    no nos vol vols p pp ca al gen gov sen rep rev sgt capt col lt cmdr adm hon u.s u.k a.m p.m jan feb mar
    apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun min max avg
    """.split()
)

_CLOSERS = "\"'”’»)]}」』）】》〉"
_ENDERS = ".!?…。！？"
_CJK_ENDERS = "。！？"
_ENDER_OR_NL = re.compile("[.!?…。！？\n]")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_CLAUSE = re.compile(r"[,;:]|(?<=\s)-|[–—]|[，；：、]")


def _has_words(sentence: str) -> bool:
    return any(ch.isalnum() for ch in sentence)


def _count_words(text: str) -> int:
    return len(text.split()) + len(_CJK_CHAR.findall(text))


def _is_abbreviation(text: str, dot: int, start: int = 0) -> bool:
    """Is the '.' at index `dot` the end of an abbreviation or an initial (looking back no further than `start`)?"""
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

    def __init__(self, max_chars: int = 250, first_fragment_words: int = 0, merge_words: int = 0) -> None:
        self.max_chars = max_chars
        self.first_fragment_words = first_fragment_words
        self.merge_words = merge_words  # a sentence of fewer words waits and is spoken with the next one
        self._cleaner = Cleaner()
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
        start = 0  # where the sentence being handed out starts (before pos when a short one waits for the next)
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
            sentence = text[start:end].strip()
            pos = end
            if not _has_words(sentence):
                start = pos
                continue
            if (_count_words(sentence) < self.merge_words and end - start < self.max_chars // 2
                    and not _first_clause_cut(sentence)):
                continue  # "Sure." alone babbles in XTTS: it is spoken with the sentence after it
            out.append(sentence)
            self._emitted += 1
            start = pos
        if final and start < n and _has_words(text[start:]):  # a short last sentence: with the one before it
            if out:
                out[-1] = f"{out[-1]} {text[start:].strip()}"
            else:
                out.append(text[start:].strip())
                self._emitted += 1
            start = n
        self._text = text[start:]
        return out


def _first_clause_cut(sentence: str) -> bool:
    """A first fragment ends at a clause break, not a sentence end: it is never held back."""
    return not sentence.rstrip(_CLOSERS).endswith(tuple(_ENDERS))


def split_sentences(text: str, max_chars: int = 250, first_fragment_words: int = 0) -> list[str]:
    """All speakable sentences of a whole text."""
    splitter = SentenceSplitter(max_chars, first_fragment_words)
    return splitter.feed(text) + splitter.close()
