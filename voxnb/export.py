"""Write a Transcript in the formats other tools read: SRT, WebVTT, TextGrid, RTTM, SegLST, pyannote.

Every writer takes the transcript first and an optional ``path``; it returns the text (or
object) and also writes it when a path is given. Segments without times are left out of the
timed formats; a transcript with no times at all is refused with a message saying how to get them.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from typing import TYPE_CHECKING

from voxnb._atomic import write_atomic
from voxnb.errors import MissingDependencyError, ParameterError
from voxnb.sentence import ends_sentence

if TYPE_CHECKING:
    from voxnb.transcript import Transcript

__all__ = [
    "SUBTITLE_STYLE",
    "regroup",
    "to_srt",
    "to_vtt",
    "to_textgrid",
    "to_rttm",
    "to_seglst",
    "to_pyannote",
    "UNKNOWN_SPEAKER",
]

#: the label written where a format requires a speaker and the transcript has none
UNKNOWN_SPEAKER = "unknown"


def _write(text: str, path: str | os.PathLike | None) -> str:
    if path is not None:
        write_atomic(path, text)  # whole or not at all: what was there survives a failed write
    return text


def _check_transcript(t: Transcript, fmt: str) -> None:
    # by its tables, not its class: voxnb.transcript imports this module
    if not all(hasattr(type(t), name) for name in ("segments", "words", "turns", "to_srt")):
        raise ParameterError(
            f"{fmt} export takes a voxnb.Transcript (e.g. voxnb.Transcript.from_response(...)); "
            f"got a {type(t).__name__}"
        )


def _check_cue_options(
    speakers: object, max_chars: object, max_lines: object = None, max_duration: object = None
) -> None:
    if max_lines is not None and (
        isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1
    ):
        raise ParameterError(
            f"max_lines= is a whole number of lines, at least 1 (or None); got {max_lines!r}"
        )
    if max_duration is not None and (
        isinstance(max_duration, bool)
        or not isinstance(max_duration, (int, float))
        or not 0 < max_duration < math.inf
    ):
        raise ParameterError(f"max_duration= is a number of seconds above 0 (or None); got {max_duration!r}")
    if not isinstance(speakers, bool):
        raise ParameterError(f"speakers= is True or False; got {speakers!r}", option="speakers")
    if max_chars is not None and (
        isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1
    ):
        raise ParameterError(
            f"max_chars= is a whole number of characters per line, at least 1 (or None for no wrapping); "
            f"got {max_chars!r}",
            option="max_chars",
        )


def _name(value: object, option: str) -> str:
    """A recording name for RTTM/SegLST/pyannote: text without spaces (they separate RTTM fields)."""
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(
            f"{option}= is a non-empty name such as 'meeting1'; got {value!r}", option=option
        )
    return "_".join(value.split())


def _timed_segments(t: Transcript, fmt: str):
    seg = t.segments
    timed = seg[seg["start"].notna() & seg["end"].notna()]
    if len(seg) and not len(timed):
        raise ParameterError(
            f"{fmt} needs segment times and this transcript has none; ask for timestamps "
            "(timestamps='segment') or give it times with t.align(audio)"
        )
    return timed


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))  # noqa: RUF046 - numpy floats round to floats
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _lines(text: str, max_chars: int | None, max_lines: int | None = None) -> list[str]:
    """*text* wrapped at *max_chars*; two lines are balanced (no long line over a short one)."""
    text = " ".join(text.split())
    if not max_chars:
        return [text]
    lines = textwrap.wrap(text, max_chars)
    if max_lines == 2 and len(lines) == 2:
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        fitting = [i for i in spaces if i <= max_chars and len(text) - i - 1 <= max_chars]
        if fitting:

            def cost(i: int) -> float:  # uneven lines cost; a break after a clause is worth 12 characters
                before = text[:i]
                bonus = 12 if before.endswith((*_CLAUSE_END, ".", "?", "!")) else 0
                # no pause inside a cue shown at once: "J." before "Smith" is an initial, not an end
                if not ends_sentence(before.rsplit(" ", 1)[-1], text[i + 1 :]) and before.endswith("."):
                    bonus = -12  # "Dr." or "J." at a line's end, its name on the next
                return abs(len(text) - 2 * i - 1) - bonus

            cut = min(fitting, key=cost)
            lines = [text[:cut], text[cut + 1 :]]
    return lines


#: what a subtitle cue holds at most in the usual style guides (two lines of 42 characters, 7 s)
SUBTITLE_STYLE = {"max_chars": 42, "max_lines": 2, "max_duration": 7.0}
_CLAUSE_END = tuple(",;:–—")


def _fits(words, max_chars, max_lines, max_duration) -> bool:
    text = " ".join(w[0] for w in words)
    if max_duration is not None and words[-1][2] - words[0][1] > max_duration:
        return False
    return max_lines is None or not max_chars or len(_lines(text, max_chars, max_lines)) <= max_lines


def regroup(words, *, max_chars=None, max_lines=None, max_duration=None) -> list[list]:
    """Cut one segment's ``(text, start, end)`` words into subtitle cues that fit.

    A cue fits when its text wraps into at most *max_lines* lines of *max_chars* and lasts at
    most *max_duration* seconds. Of all the ways to cut, the one chosen has the fewest cues
    and cuts where a reader expects them: after a sentence end, then after a comma or at a
    pause; a cue of one or two words is avoided (dynamic programming over the cut points).
    A sentence end followed by a second of silence is worth a cue of its own: it is cut even
    where fewer cues would fit, so that no cue stays on screen across it.

    Examples
    --------
    >>> words = [("Hello", 0.0, 0.4), ("there.", 0.5, 0.9), ("How", 1.6, 1.8), ("are", 1.8, 2.0),
    ...          ("you?", 2.0, 2.4)]
    >>> [[w[0] for w in cue] for cue in regroup(words, max_chars=13, max_lines=1)]
    [['Hello', 'there.'], ['How', 'are', 'you?']]
    >>> [[w[0] for w in cue] for cue in regroup(words, max_duration=1.5)]
    [['Hello', 'there.'], ['How', 'are', 'you?']]
    """
    words = list(words)
    n = len(words)
    if n <= 1 or _fits(words, max_chars, max_lines, max_duration):
        return [words] if words else []

    def cut_bonus(k: int) -> float:  # cutting after words[k - 1]
        if k == n:
            return 0.0
        word, pause = words[k - 1][0], words[k][1] - words[k - 1][2]
        bonus = 3.0 if ends_sentence(word, words[k][0], pause) else 1.5 if word.endswith(_CLAUSE_END) else 0.0
        return bonus + min(max(pause, 0.0), 1.0)

    cost = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for i in range(n):
        if cost[i] == math.inf:
            continue
        for j in range(i + 1, n + 1):
            if j > i + 1 and not _fits(words[i:j], max_chars, max_lines, max_duration):
                break  # longer cues from i do not fit either
            short = 2.0 if j - i < 3 and (i > 0 or j < n) else 0.0
            c = cost[i] + 4.0 + short - cut_bonus(j)
            if c < cost[j]:
                cost[j], back[j] = c, i
    cues, j = [], n
    while j > 0:
        cues.append(words[back[j] : j])
        j = back[j]
    return cues[::-1]


def _cues(
    t: Transcript,
    fmt: str,
    speakers: bool,
    max_chars: int | None,
    max_lines: int | None = None,
    max_duration: float | None = None,
):
    _check_transcript(t, fmt)
    _check_cue_options(speakers, max_chars, max_lines, max_duration)
    seg = _timed_segments(t, fmt)
    label = speakers and seg["speaker"].notna().any()
    if max_lines is not None or max_duration is not None:
        by_segment = {key: _timed_words(group) for key, group in t.words.groupby("segment", sort=False)}
    for segment, start, end, text, speaker in zip(
        seg["segment"], seg["start"], seg["end"], seg["text"].fillna(""), seg["speaker"]
    ):
        who = speaker if label and isinstance(speaker, str) else None
        timed = by_segment.get(segment) if max_lines is not None or max_duration is not None else None
        if not timed:
            lines = _lines(text, max_chars, max_lines)
            if lines:
                yield start, max(end, start), lines, who
            continue
        cues = regroup(timed, max_chars=max_chars, max_lines=max_lines, max_duration=max_duration)
        for i, cue in enumerate(cues):
            lines = _lines(" ".join(w[0] for w in cue), max_chars, max_lines)
            # the segment's own edges where the cue starts or ends it
            first = start if i == 0 else cue[0][1]
            last = end if i == len(cues) - 1 else cue[-1][2]
            yield first, max(last, first), lines, who


def _timed_words(words) -> list[tuple[str, float, float]]:
    """One segment's ``(text, start, end)`` words; a word without both times rides with its
    timed neighbour (the one before it, else the one after) so that no text is lost."""
    timed: list[tuple[str, float, float]] = []
    waiting = ""
    for text, start, end in zip(words["text"].fillna("").astype(str), words["start"], words["end"]):
        if start != start or end != end:  # NaN: a word alignment could not place
            if timed:
                timed[-1] = (f"{timed[-1][0]} {text}", timed[-1][1], timed[-1][2])
            else:
                waiting = f"{waiting}{text} "
        else:
            timed.append((waiting + text, float(start), float(end)))
            waiting = ""
    return timed


def to_srt(
    t: Transcript,
    path: str | os.PathLike | None = None,
    *,
    speakers: bool = True,
    max_chars: int | None = 42,
    max_lines: int | None = None,
    max_duration: float | None = None,
) -> str:
    """SubRip subtitles: one numbered cue per timed segment, or per piece of it that fits.

    Parameters
    ----------
    speakers : bool
        Prefix each cue with ``[speaker]`` when the transcript has speakers.
    max_chars : int or None
        Wrap cue text at this many characters per line (None: one line).
    max_lines, max_duration : int and float, optional
        Regroup for reading: a segment that does not fit in *max_lines* lines of *max_chars*
        or lasts longer than *max_duration* seconds is cut at word boundaries into several cues
        (after sentence ends and commas, at pauses, into even parts; see :func:`regroup`), and
        two-line cues are balanced. ``**voxnb.export.SUBTITLE_STYLE`` is the usual style: two
        lines of 42 characters, at most 7 s. Without either, each segment is one cue.

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.Transcript.from_response({"text": "Hi.", "segments": [{"text": "Hi.", "start": 0, "end": 1.5}]})
    >>> print(t.to_srt())
    1
    00:00:00,000 --> 00:00:01,500
    Hi.
    <BLANKLINE>
    >>> long = voxnb.Transcript.from_response({"text": "", "segments": [{"start": 0, "end": 6,
    ...     "text": "Our guest today is Dr. Okafor, who works in Lagos. She studies rare words."}]})
    >>> print(long.to_srt(max_chars=32, max_lines=2))
    1
    00:00:00,000 --> 00:00:04,033
    Our guest today is Dr. Okafor,
    who works in Lagos.
    <BLANKLINE>
    2
    00:00:04,033 --> 00:00:06,000
    She studies rare words.
    <BLANKLINE>
    """
    blocks = []
    cues = list(_cues(t, "SRT", speakers, max_chars, max_lines, max_duration))  # checked before writing
    for n, (start, end, lines, speaker) in enumerate(cues, 1):
        if speaker:
            lines[0] = f"[{speaker}] {lines[0]}"
        blocks.append(f"{n}\n{_clock(start, ',')} --> {_clock(end, ',')}\n" + "\n".join(lines) + "\n")
    return _write("\n".join(blocks), path)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(
    t: Transcript,
    path: str | os.PathLike | None = None,
    *,
    speakers: bool = True,
    max_chars: int | None = 42,
    max_lines: int | None = None,
    max_duration: float | None = None,
) -> str:
    """WebVTT subtitles; speakers become voice tags (``<v speaker_1>…</v>``).

    The options are those of :func:`to_srt`; ``max_lines=2, max_duration=7`` regroups long
    segments into cues a viewer can read.

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.Transcript.from_response({"text": "Hi.", "segments": [
    ...     {"text": "Hi.", "start": 0, "end": 1.5, "speaker_id": "speaker_1"}]})
    >>> print(t.to_vtt())
    WEBVTT
    <BLANKLINE>
    00:00:00.000 --> 00:00:01.500
    <v speaker_1>Hi.</v>
    <BLANKLINE>
    """
    blocks = ["WEBVTT\n"]
    for start, end, lines, speaker in _cues(t, "WebVTT", speakers, max_chars, max_lines, max_duration):
        body = "\n".join(_vtt_escape(line) for line in lines)
        if speaker:
            body = f"<v {_vtt_escape(speaker)}>{body}</v>"
        blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n{body}\n")
    return _write("\n".join(blocks), path)


def _tier_entries(frame) -> list[tuple[float, float, str]]:
    """Intervals for one praat tier: timed, non-empty, strictly increasing and non-overlapping."""
    entries = []
    last_end = 0.0
    rows = frame[frame["start"].notna() & frame["end"].notna()].sort_values(["start", "end"], kind="stable")
    for start, end, text in zip(rows["start"], rows["end"], rows["text"].fillna("")):
        start = max(float(start), last_end)
        end = float(end)
        text = str(text).strip()
        if not text or end - start < 1e-4:  # praat refuses empty and zero-length intervals
            continue
        entries.append((round(start, 4), round(end, 4), text))
        last_end = round(end, 4)
    return entries


def to_textgrid(t: Transcript, path: str | os.PathLike | None = None):
    """A praat TextGrid: a segment tier and a word tier per speaker.

    A tier must not overlap itself, so each speaker gets their own tiers; overlapping entries of
    one speaker are trimmed to start where the previous one ended, and zero-length ones dropped.
    Returns the ``praatio`` Textgrid (and writes it as a long TextGrid when *path* is given).
    """
    from praatio import textgrid

    _check_transcript(t, "TextGrid")
    segments = _timed_segments(t, "TextGrid")
    words = t.words
    ends = [x for x in (t.duration, segments["end"].max(), words["end"].max()) if x is not None and x == x]
    max_t = max([*ends, 0.001])
    grid = textgrid.Textgrid()
    has_speakers = segments["speaker"].notna().any()
    groups = list(segments["speaker"].cat.categories) if has_speakers else [None]
    for speaker in groups:
        name = speaker if speaker is not None else "transcript"
        seg_rows = segments if speaker is None else segments[segments["speaker"] == speaker]
        word_rows = words if speaker is None else words[words["speaker"] == speaker]
        for level, rows in (("segments", seg_rows), ("words", word_rows)):
            tier = textgrid.IntervalTier(f"{name} - {level}", _tier_entries(rows), 0, max_t)
            grid.addTier(tier)
    if path is not None:
        from voxnb._atomic import atomic_path

        with atomic_path(path) as tmp:
            grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
    return grid


def _label(speaker) -> str:
    return UNKNOWN_SPEAKER if not isinstance(speaker, str) else "_".join(speaker.split())


def to_rttm(t: Transcript, path: str | os.PathLike | None = None, *, uri: str = "audio") -> str:
    """RTTM: one ``SPEAKER`` line per speaker turn (``unknown`` where no speaker is known).

    Examples
    --------
    >>> import voxnb
    >>> t = voxnb.Transcript.from_response({"text": "Hi.", "segments": [
    ...     {"text": "Hi.", "start": 0.5, "end": 1.5, "speaker_id": "speaker_1"}]})
    >>> t.to_rttm(uri="call")
    'SPEAKER call 1 0.500 1.000 <NA> <NA> speaker_1 <NA> <NA>\\n'
    """
    _check_transcript(t, "RTTM")
    uri = _name(uri, "uri")
    _timed_segments(t, "RTTM")
    turns = t.turns
    turns = turns[turns["start"].notna() & turns["end"].notna()]
    lines = [
        f"SPEAKER {uri} 1 {start:.3f} {max(end - start, 0):.3f} <NA> <NA> {_label(speaker)} <NA> <NA>\n"
        for start, end, speaker in zip(turns["start"], turns["end"], turns["speaker"])
    ]
    return _write("".join(lines), path)


def to_seglst(
    t: Transcript, path: str | os.PathLike | None = None, *, session_id: str = "audio"
) -> list[dict]:
    """meeteval's SegLST: ``session_id, speaker, start_time, end_time, words`` per segment.

    Untimed segments keep ``None`` times (SegLST allows extra and missing timing for WER).
    """
    _check_transcript(t, "SegLST")
    if not isinstance(session_id, str) or not session_id:
        raise ParameterError(f"session_id= is a non-empty name such as 'meeting1'; got {session_id!r}")
    seg = t.segments
    out = [
        {
            "session_id": session_id,
            "speaker": _label(speaker),
            "start_time": None if math.isnan(start) else float(start),
            "end_time": None if math.isnan(end) else float(end),
            "words": str(text) if isinstance(text, str) else "",
        }
        for start, end, text, speaker in zip(seg["start"], seg["end"], seg["text"], seg["speaker"])
    ]
    if path is not None:
        _write(json.dumps(out, ensure_ascii=False, indent=1), path)
    return out


def to_pyannote(t: Transcript, *, uri: str = "audio"):
    """A ``pyannote.core.Annotation``: each timed segment labelled with its speaker."""
    try:
        from pyannote.core import Annotation, Segment
    except ImportError as exc:
        raise MissingDependencyError("pyannote.core", None, "to_pyannote()") from exc
    _check_transcript(t, "pyannote")
    _name(uri, "uri")
    seg = _timed_segments(t, "pyannote")
    annotation = Annotation(uri=uri)
    for i, (start, end, speaker) in enumerate(zip(seg["start"], seg["end"], seg["speaker"])):
        if end > start:
            annotation[Segment(float(start), float(end)), i] = _label(speaker)
    return annotation
