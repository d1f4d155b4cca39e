"""Canonical columns → the DataFrames of the contract (see DESIGN.md, "The DataFrame contract").

Everything here works on whole columns (numpy and pandas), never row by row, so that a
million-word response becomes a DataFrame in about the time it takes to parse its JSON.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from voxnb.readers import Canonical, Columns

if TYPE_CHECKING:  # pandas loads on the first table, not for the layout (repr, text, duration)
    import pandas as pd

__all__ = [
    "TIMINGS",
    "SEGMENT_COLUMNS",
    "WORD_COLUMNS",
    "TURN_COLUMNS",
    "SPEAKER_COLUMNS",
    "tokenize",
    "Layout",
    "layout",
    "words_frame",
    "segments_frame",
    "turns_frame",
    "speakers_frame",
    "speaker_categories",
]

TIMINGS = ["api", "aligned", "interpolated", "none"]
SEGMENT_COLUMNS = ["segment", "start", "end", "duration", "text", "speaker", "score", "n_words"]
WORD_COLUMNS = ["word", "segment", "start", "end", "text", "speaker", "score", "timing"]
TURN_COLUMNS = ["turn", "speaker", "start", "end", "text", "n_segments"]
SPEAKER_COLUMNS = [
    "speaker",
    "turns",
    "talk_time",
    "share",
    "words",
    "words_per_minute",
    "first_start",
    "last_end",
]

#: a pause longer than this (seconds) ends a segment built from bare word entries
SEGMENT_GAP = 1.0
_SENTENCE_END = frozenset(".?!…。？！")
_SENTENCE_END_CODES = np.array(sorted(map(ord, _SENTENCE_END)), dtype=np.uint32)

# Scripts written without spaces: each character is a word; their punctuation sticks to it.
_CJK_LETTER = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_TOKEN = re.compile(f"[{_CJK_LETTER}][{_CJK_PUNCT}]*|[^\\s{_CJK_LETTER}]+")
_HAS_CJK = re.compile(f"[{_CJK_LETTER}]")


def tokenize(text: str) -> list[str]:
    """Split *text* into words, keeping punctuation attached.

    Text in scripts written without spaces (Chinese, Japanese) is split into characters,
    each keeping the punctuation that follows it.

    Examples
    --------
    >>> tokenize("Hello, world! It's 3.5 km.")
    ['Hello,', 'world!', "It's", '3.5', 'km.']
    >>> tokenize("今日は、晴れ。")
    ['今', '日', 'は、', '晴', 'れ。']
    """
    return _TOKEN.findall(text)


def speaker_categories(*speaker_lists) -> list[str]:
    """Speakers in order of first appearance: stable categories (and colours) for one transcript."""
    seen: dict = {}
    for speakers in speaker_lists:
        seen.update(dict.fromkeys(speakers))  # C speed; keeps first-appearance order
    return [s for s in seen if isinstance(s, str)]


def _string_column(texts) -> pd.arrays.StringArray:
    import pandas as pd

    return pd.array(texts, dtype="string")


@dataclass
class Words:
    """Words tied to segments, as parallel columns (``text`` a list, or a ready pandas array)."""

    start: np.ndarray
    end: np.ndarray
    text: Any  # list[str], or a pandas string array (built straight from a text buffer)
    segment: np.ndarray  # int64 index into the sorted segments
    timing: np.ndarray  # codes into TIMINGS
    score: np.ndarray
    speaker: list[str | None] | None = None  # either the speakers themselves...
    speaker_codes: np.ndarray | None = None  # ... or their codes into Layout.speakers


class Layout:
    """Segments sorted by time and every word tied to one of them: the base of every frame.

    Words the backend gave are read with the segments; words spread over the segments' times
    (when the backend gave none) are made on first use only, so ``.segments`` never pays for
    them: its ``n_words`` is counted straight from the text.
    """

    def __init__(self, seg_start, seg_end, seg_text, seg_speaker, seg_score, words: Words | None):
        self.seg_start: np.ndarray = seg_start
        self.seg_end: np.ndarray = seg_end
        # a list of texts as received (stripped on first use), or a pandas string array of
        # stripped texts built from a text buffer
        self._seg_text = seg_text
        self.seg_speaker: list[str | None] = seg_speaker
        self.seg_score: np.ndarray = seg_score
        self._given = words
        #: speakers in order of first appearance (segments, then words of their own)
        self.speakers: list[str] = speaker_categories(
            seg_speaker, words.speaker if words is not None and words.speaker is not None else ()
        )

    @property
    def has_backend_words(self) -> bool:
        return self._given is not None

    @property
    def n_segments(self) -> int:
        return len(self.seg_start)

    @cached_property
    def seg_text(self) -> list[str]:
        text = self._seg_text
        return _stripped(text) if isinstance(text, list) else text.tolist()

    @cached_property
    def _trimmed(self) -> tuple[Any, np.ndarray] | None:
        text = self._seg_text
        return _trimmed_ascii(text) if isinstance(text, list) else None

    @property
    def seg_text_array(self) -> Any:
        text = self._seg_text
        if not isinstance(text, list):
            return text
        return self._trimmed[0] if self._trimmed is not None else _string_column(self.seg_text)

    @cached_property
    def seg_speaker_codes(self) -> np.ndarray:
        return _codes(self.seg_speaker, self.speakers)

    @cached_property
    def _tokens(self) -> _AsciiTokens | None:
        return _AsciiTokens.of(self.seg_text)

    @cached_property
    def words(self) -> Words:
        if self._given is not None:
            return self._given
        return _interpolated_words(self)

    # the word columns, by name
    word_start = property(lambda self: self.words.start)
    word_end = property(lambda self: self.words.end)
    word_segment = property(lambda self: self.words.segment)
    word_timing = property(lambda self: self.words.timing)
    word_score = property(lambda self: self.words.score)

    @property
    def word_text(self) -> list[str]:
        text = self.words.text
        return text if isinstance(text, list) else text.tolist()

    @cached_property
    def word_speaker_codes(self) -> np.ndarray:
        words = self.words
        if words.speaker_codes is not None:
            return words.speaker_codes
        assert words.speaker is not None  # one of the two is always set
        return _codes(words.speaker, self.speakers)

    @cached_property
    def seg_n_words(self) -> np.ndarray:
        """Words per segment, counted from the text when no word table was needed yet."""
        n = self.n_segments
        if self._given is None and "words" not in self.__dict__:
            if self._trimmed is not None:
                return self._trimmed[1]
            if self._tokens is not None:
                return self._tokens.counts
        segment = self.word_segment
        return (
            np.bincount(segment, minlength=n)[:n].astype(np.int64) if len(segment) else np.zeros(n, np.int64)
        )


def _codes(values: list, categories: list[str]) -> np.ndarray:
    """Category codes of *values* (-1 for None or anything not in *categories*), at dict speed."""
    index = dict(zip(categories, range(len(categories))))
    return np.fromiter(map(index.get, values, repeat(-1)), dtype=np.int32, count=len(values))


#: ``bytes.translate`` table: 1 for the bytes ``str.split()`` splits ASCII text at, else 0
_ASCII_SPACE = bytes(int(chr(b).isspace()) for b in range(256))


def _ascii_space(data: np.ndarray) -> np.ndarray:
    """Which bytes of ASCII text *data* (uint8) ``str.split()`` splits at."""
    if not (data < 32).any():  # no tab, newline...: one comparison
        return data == 32
    return np.frombuffer(data.tobytes().translate(_ASCII_SPACE), dtype=np.bool_)


def _any_separator(data: np.ndarray) -> bool:
    """Whether text bytes *data* (uint8) hold ``\x1c``-``\x1f``: whitespace to Python, not to Arrow."""
    return bool(((data >= 28) & (data < 32)).any())


def _trimmed_ascii(texts: list[str]) -> tuple[Any, np.ndarray] | None:
    """The texts stripped, as a pandas string column, and how many words each holds.

    Done in Arrow's buffers at numpy speed: no Python string per text or word. None unless the
    string storage is Arrow and the texts are ASCII without the separators (``\x1c``-``\x1f``)
    that Python strips and Arrow keeps: those take the Python way.
    """
    if _string_storage() != "pyarrow":
        return None
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(texts, type=pa.large_string())
    data = _arrow_bytes(array)
    if len(data) and data.max() >= 128:
        return None
    controls = bool((data < 32).any())  # tabs, newlines... (rare: then a closer look)
    if controls and _any_separator(data):
        return None
    array = pc.ascii_trim_whitespace(array)
    data, offsets = _arrow_bytes(array), _arrow_offsets(array)
    # a word starts at a text's first byte (stripped: never a space) and after each space inside;
    # one byte more at the end keeps every start a valid index for reduceat
    space = _ascii_space(data) if controls else data == 32
    after_space = np.zeros(len(data) + 1, dtype=np.uint8)
    np.greater(space[:-1], space[1:], out=after_space[1:-1].view(np.bool_))
    lengths = np.diff(offsets)
    counts = (lengths > 0).astype(np.int64)
    if len(texts):
        counts += np.add.reduceat(after_space, offsets[:-1], dtype=np.int32)
        counts[lengths == 0] = 0  # reduceat gives an empty range its start's value
    return pd.array(array, dtype="string"), counts


def _arrow_bytes(array) -> np.ndarray:
    """The bytes of a (large) string Arrow array's values, as uint8."""
    data = array.buffers()[2]
    offsets = _arrow_offsets(array)
    if data is None or not len(offsets):
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]


def _arrow_offsets(array) -> np.ndarray:
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return offsets[array.offset : array.offset + len(array) + 1]


class _AsciiTokens:
    """The whitespace-separated words of ASCII texts, found in one byte buffer at numpy speed.

    ``" ".join(texts).split()`` lists the same words; here they are positions (counts per text,
    each word's length and text) without making a Python string per word.
    """

    def __init__(self, data: bytes, lengths: np.ndarray):
        # the buffer is " " + the texts joined by " " + " ": every word has a space before and after
        self.data = data
        self.space = _ascii_space(np.frombuffer(data, dtype=np.uint8))
        # text i occupies [offset_i, offset_i + length_i) of the buffer
        offsets = np.cumsum(lengths + 1) - lengths
        self.starts = np.flatnonzero(self.space[:-1] > self.space[1:]) + 1
        before = np.searchsorted(self.starts, offsets)
        self.counts = np.diff(np.append(before, len(self.starts))).astype(np.int64)

    @functools.cached_property
    def ends(self) -> np.ndarray:
        return np.flatnonzero(self.space[:-1] < self.space[1:]) + 1

    @classmethod
    def of(cls, texts: list[str]) -> _AsciiTokens | None:
        joined = " " + " ".join(texts) + " "
        if not joined.isascii():
            return None  # other scripts and Unicode spaces: the general tokenizer
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return cls(joined.encode("ascii"), lengths)

    @property
    def lengths(self) -> np.ndarray:
        return self.ends - self.starts

    def texts(self) -> Any:
        """The words as a pandas string array: built from the buffer when the storage is Arrow."""
        if _string_storage() == "pyarrow":
            import pandas as pd
            import pyarrow as pa

            words = np.frombuffer(self.data, dtype=np.uint8)[~self.space]
            offsets = np.zeros(len(self.starts) + 1, dtype=np.int64)
            np.cumsum(self.lengths, out=offsets[1:])
            array = pa.LargeStringArray.from_buffers(
                len(self.starts), pa.py_buffer(offsets), pa.py_buffer(words)
            )
            return pd.array(array, dtype="string")
        return _string_column(self.data.decode("ascii").split())


class _AsciiText:
    """ASCII texts joined into one byte buffer: each text's range, and stripped spans as columns.

    ``_AsciiText.of(texts, " ")`` holds ``" ".join(texts)``; :meth:`stripped` gives, for byte
    ranges, the span left after ``str.strip()``, and :meth:`column` the string column of such
    spans, built from the buffer without a Python string per row.
    """

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray):
        self.data, self.starts, self.ends = data, starts, ends

    @classmethod
    def of(cls, texts: list[str], joiner: str) -> _AsciiText | None:
        joined = joiner.join(texts)
        if not joined.isascii():
            return None
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        step = lengths + len(joiner)
        starts = np.cumsum(step) - step
        return cls(joined.encode("ascii"), starts, starts + lengths)

    @cached_property
    def _space(self) -> np.ndarray:
        return _ascii_space(np.frombuffer(self.data, dtype=np.uint8))

    @cached_property
    def _solid(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the bytes that are not whitespace, and how many come before each byte."""
        solid = np.frombuffer(self.data.translate(_ASCII_SPACE), dtype=np.bool_) == 0
        before = np.zeros(len(solid) + 1, dtype=np.int64)
        np.cumsum(solid, out=before[1:])
        return np.flatnonzero(solid), before

    def stripped(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the byte ranges ``[a, b)``: where each range's text starts and ends once stripped.

        Ranges usually hold a space or two around their text: each step moves every range's ends
        past one more space, at a few vector operations over the ranges. After a few steps the
        rest is done over the whole buffer (a cumulative count of its bytes that are not spaces).
        """
        if not len(self.data):
            return a, a
        space, last = self._space, len(self.data) - 1
        s, e = a.copy(), b.copy()
        for _ in range(4):
            lead = (s < e) & space[np.minimum(s, last)]
            trail = (e > s) & space[np.maximum(e - 1, 0)]
            if not (lead.any() or trail.any()):
                empty = s == e  # all spaces: an empty span where the range starts
                s[empty] = e[empty] = a[empty]
                return s, e
            s += lead
            e -= trail
        positions, before = self._solid
        first, stop = before[a], before[b]  # the range's solid bytes are positions[first:stop]
        if not len(positions):
            return a, a
        some = stop > first
        s = np.where(some, positions[np.minimum(first, len(positions) - 1)], a)
        e = np.where(some, positions[np.maximum(stop - 1, 0)] + 1, a)
        return s, e

    def column(self, s: np.ndarray, e: np.ndarray) -> Any:
        """The string column of the ordered spans ``[s, e)``."""
        lengths = e - s
        if _string_storage() != "pyarrow":
            text = self.data.decode("ascii")
            return _string_column([text[a:b] for a, b in zip(s.tolist(), e.tolist())])
        import pandas as pd
        import pyarrow as pa

        if not self._has_separators:
            import pyarrow.compute as pc

            # each value runs from its span's start to the next span's start, over the buffer
            # itself (no copy); what lies between two spans is whitespace, which rtrim drops
            offsets = np.append(s, e[-1:]).astype(np.int64)
            array = pa.LargeStringArray.from_buffers(len(s), pa.py_buffer(offsets), pa.py_buffer(self.data))
            return pd.array(pc.ascii_rtrim_whitespace(array), dtype="string")
        offsets = np.zeros(len(s) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # byte k of the output is byte (s_i - offset_i) + k of the buffer, for the span i it is in
        source = np.repeat(s - offsets[:-1], lengths)
        source += np.arange(offsets[-1], dtype=np.int64)
        values = np.frombuffer(self.data, dtype=np.uint8)[source]
        array = pa.LargeStringArray.from_buffers(len(s), pa.py_buffer(offsets), pa.py_buffer(values))
        return pd.array(array, dtype="string")

    @cached_property
    def _has_separators(self) -> bool:
        return _any_separator(np.frombuffer(self.data, dtype=np.uint8))

    def last_char(self, s: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Each span's last byte (0 for an empty span)."""
        data = np.frombuffer(self.data, dtype=np.uint8)
        return np.where(e > s, data[np.maximum(e - 1, 0)] if len(data) else 0, 0)


_SENTENCE_END_ASCII = np.array(sorted(ord(c) for c in _SENTENCE_END if c.isascii()), dtype=np.uint8)


def _layout_from_ascii_words(words: Columns) -> Layout | None:
    """:func:`layout` of bare, timed ASCII word entries, on one text buffer (a million words stay
    fast); None when the entries need the general path (other scripts, untimed or partly
    labelled words)."""
    n = len(words)
    if not (np.isfinite(words.start).all() and np.isfinite(words.end).all()):
        return None
    order = _order_by_time(words.start, words.end)
    texts, speakers = _take(words.text, order), _take(words.speaker, order)
    n_unknown = speakers.count(None)
    if 0 < n_unknown < n:
        return None
    spaced = any(t[:1].isspace() for t in texts[:50])
    buffer = _AsciiText.of(texts, "" if spaced else " ")
    if buffer is None:
        return None
    start, end = words.start[order], words.end[order]
    w_s, w_e = buffer.stripped(buffer.starts, buffer.ends)
    breaks = np.isin(buffer.last_char(w_s, w_e), _SENTENCE_END_ASCII)
    breaks[:-1] |= (start[1:] - end[:-1]) > SEGMENT_GAP
    if n_unknown == 0:
        codes = _codes(speakers, speaker_categories(speakers))
        breaks[:-1] |= codes[1:] != codes[:-1]
    else:  # no word has a speaker
        codes = np.full(n, -1, dtype=np.int32)
    breaks[-1] = True
    bounds = np.r_[0, np.flatnonzero(breaks) + 1]
    heads = bounds[:-1]
    # already in time order: each segment starts at its first word, and two that start together
    # hold only words of that start, sorted by end (so the first ends no later than the second)
    seg_start, seg_end = np.fmin.reduceat(start, heads), np.fmax.reduceat(end, heads)
    seg_s, seg_e = buffer.stripped(buffer.starts[heads], buffer.ends[bounds[1:] - 1])
    seg_speaker = [speakers[i] for i in heads.tolist()]
    return Layout(
        seg_start,
        seg_end,
        buffer.column(seg_s, seg_e),
        seg_speaker,
        np.full(len(heads), np.nan),
        Words(
            start=start,
            end=end,
            text=buffer.column(w_s, w_e),
            segment=np.repeat(np.arange(len(heads)), np.diff(bounds)),
            timing=np.full(n, TIMINGS.index("api"), dtype=np.int8),
            score=words.score[order],
            # the segments' speakers, in the same order of first appearance, are the categories
            speaker_codes=codes,
        ),
    )


@functools.cache
def _string_storage() -> str:
    import pandas as pd

    return pd.array([], dtype="string").dtype.storage


def _order_by_time(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    # stable; NaN sorts last, so untimed entries keep their order after the timed ones
    if len(start) > 1:
        step, step_end = np.diff(start), np.diff(end)
        if ((step > 0) | ((step == 0) & (step_end >= 0))).all():  # already in order (no NaN): no sort
            return np.arange(len(start))
    return np.lexsort((end, start))


def _take(values: list, order: np.ndarray) -> list:
    if len(order) and (order[1:] > order[:-1]).all():
        return values  # already in order: the common case, free
    return np.array(values, dtype=object)[order].tolist()


def _stripped(texts: list[str]) -> list[str]:
    return list(map(str.strip, texts))


def _join_words(texts: list[str], bounds: np.ndarray) -> list[str]:
    spaced = any(t[:1].isspace() for t in texts[:50])
    joiner = "" if spaced else " "
    return [joiner.join(texts[a:b]).strip() for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _ends_sentence(texts: list[str]) -> np.ndarray:
    """Which texts end with sentence punctuation, for a million words at numpy speed.

    The texts are joined with NUL separators into one UTF-32 buffer; the code point before each
    separator is each text's last character.
    """
    if not texts:
        return np.zeros(0, dtype=bool)
    codes = np.frombuffer(("\0".join(texts) + "\0").encode("utf-32-le"), dtype=np.uint32)
    last = np.flatnonzero(codes == 0) - 1
    if len(last) != len(texts):  # a text holds a NUL itself: take the plain way
        return np.array([t[-1:] in _SENTENCE_END for t in texts], dtype=bool)  # a set: "" is in no set
    last_char = np.where(last >= 0, codes[np.maximum(last, 0)], 0)
    return np.isin(last_char, _SENTENCE_END_CODES)


def _segments_from_words(words: Columns) -> tuple[Columns, np.ndarray]:
    """Group bare word entries into segments at sentence ends, long pauses and speaker changes."""
    n = len(words)
    texts = words.text
    # a word's own trailing spaces ("end. ") do not hide its sentence end
    ends_sentence = _ends_sentence(list(map(str.rstrip, texts)))
    gap = np.zeros(n, dtype=bool)
    gap[:-1] = (words.start[1:] - words.end[:-1]) > SEGMENT_GAP
    speaker_change = np.zeros(n, dtype=bool)
    if words.speaker.count(None) != n:
        index: dict[str | None, int] = {}
        codes = np.fromiter((index.setdefault(s, len(index)) for s in words.speaker), dtype=np.int64, count=n)
        speaker_change[:-1] = codes[1:] != codes[:-1]
    breaks = ends_sentence | gap | speaker_change
    if n:
        breaks[-1] = True
    bounds = np.r_[0, np.flatnonzero(breaks) + 1]
    seg_of_word = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    starts = bounds[:-1]
    seg = Columns(
        start=np.fmin.reduceat(words.start, starts) if n else np.empty(0),
        end=np.fmax.reduceat(words.end, starts) if n else np.empty(0),
        text=_join_words(texts, bounds),
        speaker=[words.speaker[i] for i in starts.tolist()],
        score=np.full(len(starts), np.nan),
    )
    return seg, seg_of_word


def _interpolated_words(lay: Layout) -> Words:
    """Split each segment's text into words and spread them over it by character count."""
    seg_start, seg_end, seg_text = lay.seg_start, lay.seg_end, lay.seg_text
    tokens = lay._tokens
    if tokens is not None:
        counts = tokens.counts
        lengths = tokens.lengths.astype(np.float64)
        texts: Any = tokens.texts()
    else:
        spaced_only = not any(map(_HAS_CJK.search, seg_text))
        split = list(map(str.split if spaced_only else _TOKEN.findall, seg_text))
        counts = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        texts = list(chain.from_iterable(split))
        lengths = np.fromiter(map(len, texts), dtype=np.float64, count=len(texts))
    n_seg = len(seg_start)
    seg_of_word = np.repeat(np.arange(n_seg), counts)
    seg_total = np.bincount(seg_of_word, weights=lengths, minlength=n_seg)
    seg_offset = np.r_[0.0, np.cumsum(seg_total)[:-1]][:n_seg]

    def per_word(values: np.ndarray) -> np.ndarray:  # each segment's value on each of its words
        return np.repeat(values, counts)

    # in place: each temporary of a million words is a fresh allocation (page faults); the
    # operations and their order are those of s0 + dur * before / total, so the values are too
    before = np.cumsum(lengths)
    before -= lengths
    before -= per_word(seg_offset)
    total = per_word(seg_total)
    s0 = per_word(seg_start)
    dur = per_word(np.clip(seg_end - seg_start, 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        start = dur * before
        start /= total
        start += s0
        end = before + lengths
        end *= dur
        end /= total
        end += s0
    # a word's times are known when its segment's are (a segment with words has characters)
    if np.isfinite(seg_start).all() and np.isfinite(seg_end).all():
        timing = np.full(len(start), TIMINGS.index("interpolated"), dtype=np.int8)
    else:
        timed = np.isfinite(start) & np.isfinite(end)
        timing = np.where(timed, TIMINGS.index("interpolated"), TIMINGS.index("none")).astype(np.int8)
        start[~timed] = np.nan
        end[~timed] = np.nan
    return Words(
        start=start,
        end=end,
        text=texts,
        segment=seg_of_word.astype(np.int64),
        timing=timing,
        score=np.full(len(seg_of_word), np.nan),
        speaker_codes=per_word(lay.seg_speaker_codes),
    )


def _fill_untimed_words(start, end, text, segment, timing, seg_start, seg_end) -> None:
    """Give backend words without times (numbers, symbols: whisperX leaves them) the gap they sit in.

    Each run of untimed words inside a timed segment shares the time between the previous timed
    word (or the segment start) and the next one (or the segment end), by character count, and
    is marked ``interpolated``. Words of untimed segments stay ``none``. Works in place.
    """
    untimed = ~(np.isfinite(start) & np.isfinite(end))
    n = len(start)
    i = 0
    missing = np.flatnonzero(untimed)
    while i < len(missing):
        first = last = missing[i]
        g = segment[first]
        while i + 1 < len(missing) and missing[i + 1] == last + 1 and segment[missing[i + 1]] == g:
            i += 1
            last = missing[i]
        i += 1
        left = end[first - 1] if first > 0 and segment[first - 1] == g else seg_start[g]
        right = start[last + 1] if last + 1 < n and segment[last + 1] == g else seg_end[g]
        if not (np.isfinite(left) and np.isfinite(right)):
            continue
        right = max(right, left)
        weights = np.array([max(len(t), 1) for t in text[first : last + 1]], dtype=np.float64)
        edges = left + (right - left) * np.r_[0.0, np.cumsum(weights)] / weights.sum()
        start[first : last + 1] = edges[:-1]
        end[first : last + 1] = edges[1:]
        timing[first : last + 1] = TIMINGS.index("interpolated")


def _assign_by_time(word_start, word_end, seg_start, seg_end) -> np.ndarray:
    """The segment each word's midpoint falls in (else the closest one before it)."""
    mid = np.where(np.isfinite(word_end), (word_start + word_end) / 2, word_start)
    idx = np.searchsorted(seg_start, mid, side="right") - 1
    idx = np.clip(idx, 0, max(len(seg_start) - 1, 0))
    return np.where(np.isfinite(mid), idx, 0)


def layout(c: Canonical) -> Layout:
    """Sort segments, tie every word to one, and derive word times where the backend gave none."""
    words = c.words
    if c.segments is not None and len(c.segments):
        seg = c.segments
        word_seg_raw = None if words is None else words.segment
    elif words is not None and len(words):
        fast = _layout_from_ascii_words(words)
        if fast is not None:
            return fast
        order = _order_by_time(words.start, words.end)
        words = Columns(
            words.start[order],
            words.end[order],
            _take(words.text, order),
            _take(words.speaker, order),
            words.score[order],
        )
        seg, word_seg_raw = _segments_from_words(words)
    elif c.text and c.text.strip():
        seg = Columns(np.array([np.nan]), np.array([np.nan]), [c.text.strip()], [None], np.array([np.nan]))
        word_seg_raw = None
    else:
        seg = Columns(np.empty(0), np.empty(0), [], [], np.empty(0))
        word_seg_raw = None

    order = _order_by_time(seg.start, seg.end)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    seg_start, seg_end = seg.start[order], seg.end[order]
    seg_text = _take(seg.text, order)  # stripped by the Layout, on first use
    seg_speaker = _take(seg.speaker, order)
    seg_score = seg.score[order]

    if words is None or not len(words):
        return Layout(seg_start, seg_end, seg_text, seg_speaker, seg_score, None)
    if word_seg_raw is None or (len(word_seg_raw) and word_seg_raw.min() < 0):
        word_segment = _assign_by_time(words.start, words.end, seg_start, seg_end)
    else:
        word_segment = inverse[word_seg_raw]
    # spoken order within each segment; words of one segment keep the backend's order
    if (word_segment[1:] >= word_segment[:-1]).all():
        w_order = np.arange(len(word_segment))
    else:
        w_order = np.argsort(word_segment, kind="stable")
    word_segment = word_segment[w_order]
    w_start, w_end = words.start[w_order], words.end[w_order]
    w_text = _stripped(_take(words.text, w_order))
    own_speaker = _take(words.speaker, w_order)
    n_unknown = own_speaker.count(None)
    if n_unknown == 0:
        w_speaker = own_speaker
    elif n_unknown == len(own_speaker):  # words inherit their segment's speaker
        w_speaker = np.array(seg_speaker, dtype=object)[word_segment].tolist()
    else:
        w_speaker = [
            s if s is not None else seg_speaker[g] for s, g in zip(own_speaker, word_segment.tolist())
        ]
    timed = np.isfinite(w_start) & np.isfinite(w_end)
    w_timing = np.where(timed, TIMINGS.index("api"), TIMINGS.index("none"))
    if not timed.all():
        _fill_untimed_words(w_start, w_end, w_text, word_segment, w_timing, seg_start, seg_end)
    given = Words(
        start=w_start,
        end=w_end,
        text=w_text,
        segment=word_segment.astype(np.int64),
        timing=w_timing.astype(np.int8),
        score=words.score[w_order],
        speaker=w_speaker,
    )
    return Layout(seg_start, seg_end, seg_text, seg_speaker, seg_score, given)


def words_frame(lay: Layout) -> pd.DataFrame:
    import pandas as pd

    words = lay.words
    n = len(words.segment)
    text = words.text if not isinstance(words.text, list) else _string_column(words.text)
    return pd.DataFrame(
        {
            "word": np.arange(n, dtype=np.int64),
            "segment": words.segment,
            "start": words.start,
            "end": words.end,
            "text": text,
            "speaker": pd.Categorical.from_codes(lay.word_speaker_codes, categories=lay.speakers),
            "score": words.score,
            "timing": pd.Categorical.from_codes(words.timing, categories=TIMINGS),
        }
    )


def segments_frame(lay: Layout, words: pd.DataFrame | None = None) -> pd.DataFrame:
    import pandas as pd

    n = lay.n_segments
    if words is None:
        n_words = lay.seg_n_words
    else:
        segment = words["segment"].to_numpy()
        n_words = np.bincount(segment, minlength=n)[:n] if len(segment) else np.zeros(n, dtype=np.int64)
    return pd.DataFrame(
        {
            "segment": np.arange(n, dtype=np.int64),
            "start": lay.seg_start,
            "end": lay.seg_end,
            "duration": np.clip(lay.seg_end - lay.seg_start, 0, None),
            "text": lay.seg_text_array,
            "speaker": pd.Categorical.from_codes(lay.seg_speaker_codes, categories=lay.speakers),
            "score": lay.seg_score,
            "n_words": n_words.astype(np.int64),
        }
    )


def turns_frame(segments: pd.DataFrame) -> pd.DataFrame:
    """Merge consecutive segments of one speaker into turns."""
    import pandas as pd

    n = len(segments)
    if n == 0:
        return pd.DataFrame(
            {
                "turn": pd.Series(dtype=np.int64),
                "speaker": segments["speaker"].iloc[:0],
                "start": pd.Series(dtype=float),
                "end": pd.Series(dtype=float),
                "text": pd.Series(dtype="string"),
                "n_segments": pd.Series(dtype=np.int64),
            }
        )
    codes = segments["speaker"].cat.codes.to_numpy()  # NA is -1: consecutive unknowns form one turn
    new_turn = np.r_[True, codes[1:] != codes[:-1]]
    bounds = np.r_[np.flatnonzero(new_turn), n]
    heads = bounds[:-1]
    start, end = segments["start"].to_numpy(dtype=float), segments["end"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "turn": np.arange(len(bounds) - 1, dtype=np.int64),
            "speaker": segments["speaker"].iloc[bounds[:-1]].reset_index(drop=True),
            # fmin/fmax skip NaN as groupby's min/max do (all NaN gives NaN)
            "start": np.fmin.reduceat(start, heads),
            "end": np.fmax.reduceat(end, heads),
            "text": _joined_runs(segments["text"], bounds),
            "n_segments": np.diff(bounds).astype(np.int64),
        }
    )


def _joined_runs(text: pd.Series, bounds: np.ndarray) -> Any:
    """The texts of each run ``[bounds[i], bounds[i + 1])`` that are not empty, joined by a space.

    On Arrow-backed strings, by Arrow's list join over the kept texts: no Python string per text.
    """
    import pandas as pd

    heads = bounds[:-1]
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(text.array)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        values = values.cast(pa.large_string())
        keep = pc.fill_null(pc.not_equal(values, ""), False)
        per_run = np.add.reduceat(keep.to_numpy(zero_copy_only=False), heads, dtype=np.int64)
        offsets = np.zeros(len(heads) + 1, dtype=np.int64)
        np.cumsum(per_run, out=offsets[1:])
        runs = pa.LargeListArray.from_arrays(pa.array(offsets), values.filter(keep))
        return pd.array(pc.binary_join(runs, pa.scalar(" ", pa.large_string())), dtype="string")
    texts = text.fillna("").to_numpy(dtype=object)
    return _string_column(
        [" ".join(filter(None, texts[a:b])) for a, b in zip(heads.tolist(), bounds[1:].tolist())]
    )


def speakers_frame(segments: pd.DataFrame, turns: pd.DataFrame) -> pd.DataFrame:
    """One row per speaker: how much, how fast and when each one talked."""
    import pandas as pd

    by = segments.groupby("speaker", observed=True, sort=False)
    out = pd.DataFrame(
        {
            "talk_time": by["duration"].sum(min_count=1),
            "words": by["n_words"].sum(),
            "first_start": by["start"].min(),
            "last_end": by["end"].max(),
        }
    )
    out["turns"] = turns.groupby("speaker", observed=True, sort=False)["turn"].count().reindex(out.index)
    out = out.reindex(segments["speaker"].cat.categories[segments["speaker"].cat.categories.isin(out.index)])
    total = out["talk_time"].sum()
    out["share"] = out["talk_time"] / total if total > 0 else np.nan
    minutes = out["talk_time"] / 60.0
    out["words_per_minute"] = (out["words"] / minutes).where(minutes > 0)
    out.index = pd.CategoricalIndex(out.index, categories=segments["speaker"].cat.categories, name="speaker")
    out = out.reset_index()
    out["turns"] = out["turns"].fillna(0).astype(np.int64)
    out["words"] = out["words"].astype(np.int64)
    return out[SPEAKER_COLUMNS]
