"""Response shapes → one canonical, columnar form.

A reader recognises what the user holds (a Mistral response as dict/JSON/bytes/path, a
``mistralai`` SDK object, a list of SSE events, OpenAI ``verbose_json``, vLLM ``json``,
faster-whisper results, whisperX JSON) and extracts plain columns: one list or array per field,
never one Python object per row. :mod:`voxnb.frames` turns those columns into DataFrames.

Unknown fields are tolerated everywhere; they stay in :attr:`voxnb.Transcript.raw`.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from voxnb.errors import ResponseFormatError

__all__ = ["Canonical", "Columns", "RawJSON", "read_response", "parse_json", "to_plain", "gc_paused"]


@dataclass
class Columns:
    """Timed text entries (segments or words) as parallel columns."""

    start: np.ndarray  # float64 seconds, NaN when missing
    end: np.ndarray
    text: list[str]
    speaker: list[str | None]
    score: np.ndarray  # float64, NaN when missing
    #: for words: index of the entry's segment in the (unsorted) segment columns, -1 when unknown
    segment: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.text)


@dataclass
class Canonical:
    """What every response shape is reduced to."""

    source: str
    text: str | None
    language: str | None = None
    model: str | None = None
    duration: float | None = None
    usage: dict | None = None
    segments: Columns | None = None
    #: words with their own times from the backend; None when the response has none
    words: Columns | None = None


# --------------------------------------------------------------------------- helpers


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while millions of small objects are made.

    Reading a response allocates a list per column over every entry; each allocation burst
    would trigger full collections that walk every parsed dict again, for nothing: those
    objects hold no cycles. Pausing makes large responses read ~2x faster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_json(data: str | bytes) -> Any:
    """Parse JSON text (orjson: several times faster than the standard library on large responses)."""
    import orjson

    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ResponseFormatError(f"the response is not valid JSON: {exc}") from exc


def to_plain(obj: Any) -> Any:
    """Turn SDK models, dataclasses and named tuples into JSON-compatible dicts and lists."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_asdict"):
        return [to_plain(v) for v in obj]
    if callable(getattr(obj, "model_dump", None)):
        try:
            dumped = obj.model_dump(mode="json", by_alias=True)
        except Exception as err:  # a broken or foreign model_dump: say which object failed
            raise ResponseFormatError(
                f"cannot read a {type(obj).__name__}: its model_dump() failed ({type(err).__name__}: {err})"
            ) from None
        return to_plain(dumped)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if callable(getattr(obj, "_asdict", None)):
        return to_plain(obj._asdict())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise ResponseFormatError(
        f"cannot read a {type(obj).__name__} as part of a transcription response; "
        "pass the response as a dict, JSON text, an SDK object or a list of stream events"
    )


def _dict_values(entries: list, key: str) -> list:
    return list(map(dict.get, entries, repeat(key)))


def _get(entries: list, keys: tuple[str, ...], values_of=_dict_values) -> tuple[str, list | None]:
    """The values of the first of *keys* that any entry uses (each a C-speed pass).

    None when no entry has any of them, so that callers skip converting a column of nulls.
    """
    for key in keys:
        values = values_of(entries, key)
        # the first entry usually answers at once; counting the Nones walks the whole column
        if (values and values[0] is not None) or values.count(None) != len(values):
            return key, values
    return keys[0], None


#: the largest time a response may hold, in seconds (about 317 years: epoch-based clocks fit);
#: anything above is garbage that would overflow the exports' clocks
MAX_SECONDS = 1e10
#: how far an end may lie before its start (float rounding in some engines) before it is refused
_REVERSED_TOLERANCE = 1e-3
_NUMBER_TYPES = frozenset({int, float, type(None)})


def _is_number(v: Any) -> bool:
    return v is None or (
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    )


def _floats(
    entries: list,
    keys: tuple[str, ...],
    where: str,
    *,
    time: bool = False,
    values_of=_dict_values,
    typed: bool = False,
) -> np.ndarray:
    """One numeric column: null becomes NaN; booleans, text, infinities (and, for times, negative or
    absurd values) are refused, naming the entry. *typed*: the values are known to be floats or
    None (decoded by :mod:`voxnb._wire`), so their types are not looked at again."""
    key, values = _get(entries, keys, values_of)
    if values is None:
        return np.full(len(entries), np.nan)
    # the fast check; subclasses are looked at below
    if not typed and not set(map(type, values)) <= _NUMBER_TYPES:
        for i, v in enumerate(values):
            if not _is_number(v):
                raise ResponseFormatError(f"{where}[{i}].{key}: expected a number or null, got {v!r}")
    try:
        column = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        i = next(i for i, v in enumerate(values) if v is not None and abs(v) > 1e308)
        raise ResponseFormatError(f"{where}[{i}].{key}: {values[i]!r} is too large to be a number") from None
    bad = np.isinf(column)
    if time:
        bad |= (column < 0) | (column > MAX_SECONDS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "seconds from the start of the audio, 0 or more" if time else "a finite number"
        raise ResponseFormatError(f"{where}[{i}].{key}: expected {what}, got {values[i]!r}")
    return column


def _texts(
    entries: list, keys: tuple[str, ...], where: str, values_of=_dict_values, typed: bool = False
) -> list[str]:
    """One text column: null becomes "". *typed*: the values are known to be strings or None, and
    valid Unicode (decoded by :mod:`voxnb._wire` from UTF-8), so only the nulls are looked for."""
    key, texts = _get(entries, keys, values_of)
    if texts is None:
        return [""] * len(entries)
    if typed:
        if None in texts:
            texts = ["" if t is None else t for t in texts]
        return texts
    if not set(map(type, texts)) <= {str}:
        for i, t in enumerate(texts):
            if type(t) is not str:
                if t is None:
                    texts[i] = ""
                elif isinstance(t, str):
                    texts[i] = str(t)
                else:
                    raise ResponseFormatError(f"{where}[{i}].{key}: expected a string, got {t!r}")
    _check_encodable(texts, f"{where}[].{key}")
    return texts


def _check_encodable(texts: list[str], where: str) -> None:
    """Refuse text no file can hold (lone surrogates, left by a broken decoder upstream)."""
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        for i, t in enumerate(texts):
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as err:
                where = where.replace("[]", f"[{i}]", 1)
                raise ResponseFormatError(
                    f"{where}: holds {t[err.start : err.end]!r}, a lone surrogate (the text was decoded "
                    "wrongly upstream); decode the response as UTF-8 before passing it"
                ) from None


def _speakers(entries: list, keys: tuple[str, ...], where: str, values_of=_dict_values) -> list[str | None]:
    key, speakers = _get(entries, keys, values_of)
    if speakers is None:
        return [None] * len(entries)
    try:
        labels = dict.fromkeys(speakers)  # the few distinct labels, at C speed
    except TypeError:  # an unhashable value: the loop below names it
        labels = {}
    if labels and set(map(type, labels)) <= {str, type(None)} and "" not in labels:
        try:
            _check_encodable([s for s in labels if s], f"{where}[].{key}")
        except ResponseFormatError:  # say which entry
            _check_encodable([s or "" for s in speakers], f"{where}[].{key}")
        return speakers
    out: list[str | None] = []
    for i, s in enumerate(speakers):
        if s is None or s == "":
            out.append(None)
        elif isinstance(s, str) or (isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_))):
            out.append(str(s))  # numbered speakers (0, 1...) are labels too
        else:
            raise ResponseFormatError(f"{where}[{i}].{key}: expected a speaker label (a string), got {s!r}")
    _check_encodable([s or "" for s in out], f"{where}[].{key}")
    return out


def _entries(value: Any, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResponseFormatError(f"{where}: expected a list of objects, got {type(value).__name__}")
    if set(map(type, value)) - {dict}:  # the fast check; dict subclasses are fine too
        for i, e in enumerate(value):
            if not isinstance(e, dict):
                raise ResponseFormatError(f"{where}[{i}]: expected an object, got {type(e).__name__}")
    return value


def _columns(
    entries: list,
    where: str,
    *,
    text_keys=("text",),
    score_keys=("score",),
    speaker_keys=("speaker_id", "speaker"),
    values_of=_dict_values,
    typed: bool = False,
) -> Columns:
    start = _floats(entries, ("start",), where, time=True, values_of=values_of, typed=typed)
    end = _floats(entries, ("end",), where, time=True, values_of=values_of, typed=typed)
    with np.errstate(invalid="ignore"):
        reversed_ = end < start - _REVERSED_TOLERANCE  # False where either is NaN (unknown)
    if reversed_.any():
        i = int(np.flatnonzero(reversed_)[0])
        raise ResponseFormatError(
            f"{where}[{i}].end: {float(end[i])!r} is before its start {float(start[i])!r}; the response's times are "
            "reversed, so it cannot be trusted (re-request it, or fix the entry)"
        )
    return Columns(
        start=start,
        end=end,
        text=_texts(entries, text_keys, where, values_of, typed),
        speaker=_speakers(entries, speaker_keys, where, values_of),
        score=_floats(entries, score_keys, where, values_of=values_of, typed=typed),
    )


def _unowned_words(entries: list, where: str, **keys) -> Columns:
    """Word entries not nested in a segment: :func:`voxnb.frames.layout` ties each to one by time."""
    cols = _columns(entries, where, **keys)
    cols.segment = np.full(len(entries), -1, dtype=np.int64)
    return cols


def _nested_words(segments: list[dict], where: str) -> Columns | None:
    """Words nested in each segment (faster-whisper, whisperX, the local engine)."""
    lists = list(map(dict.get, segments, repeat("words")))
    if lists.count(None) == len(lists) or not any(lists):
        return None
    flat: list[dict] = []
    owner: list[int] = []
    for i, ws in enumerate(lists):
        if ws:
            ws = _entries(ws, f"{where}[{i}].words")
            flat.extend(ws)
            owner.extend([i] * len(ws))
    cols = _columns(
        flat,
        f"{where}[].words",
        text_keys=("text", "word"),
        score_keys=("score", "probability"),
        speaker_keys=("speaker", "speaker_id"),
    )
    cols.segment = np.array(owner, dtype=np.int64)
    return cols


def _number(value: Any, where: str = "duration") -> float | None:
    """A number that may come as text (``"12.50"`` in OpenAI-style answers); None when absent."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, str, np.integer, np.floating)
    ):
        raise ResponseFormatError(f"{where}: expected a number of seconds, got {value!r}")
    try:
        f = float(value)
    except (ValueError, OverflowError):
        raise ResponseFormatError(f"{where}: expected a number of seconds, got {value!r}") from None
    if not 0 <= f <= MAX_SECONDS:
        raise ResponseFormatError(f"{where}: expected seconds, 0 or more, got {value!r}")
    return f


def _optional(d: dict, key: str, kind: type, what: str) -> Any:
    value = d.get(key)
    if value is not None and not isinstance(value, kind):
        raise ResponseFormatError(f"{key}: expected {what} or null, got {value!r}")
    if isinstance(value, str):
        _check_encodable([value], key)
    return value


def _canonical(d: dict, source: str, *, duration: float | None = None) -> Canonical:
    """The top-level fields every shape shares, checked: text, language, model, usage, duration."""
    return Canonical(
        source=source,
        text=_optional(d, "text", str, "a string"),
        language=_optional(d, "language", str, "a language code"),
        model=_optional(d, "model", str, "a model name"),
        usage=_optional(d, "usage", dict, "an object"),
        duration=_number(d.get("duration")) if duration is None else duration,
    )


# --------------------------------------------------------------------------- shapes


def _looks_like_word_entries(segments: list[dict]) -> np.ndarray:
    """Which entries hold a single word (for responses that mix both granularities)."""
    return np.array([len(str(s.get("text", "")).split()) <= 1 for s in segments], dtype=bool)


def _read_mistral(d: dict, source: str, granularity: str | None) -> Canonical:
    segments = _entries(d.get("segments"), "segments")
    c = _canonical(d, source)
    nested = _nested_words(segments, "segments")
    if nested is not None:
        # segments that carry their own words (the local engine, voxnb serve) are segments,
        # whatever granularity was asked for
        c.segments = _columns(segments, "segments")
        c.words = nested
    elif granularity == "word":
        c.words = _unowned_words(segments, "segments")
    elif granularity == "mixed":
        is_word = _looks_like_word_entries(segments)
        words = [s for s, w in zip(segments, is_word) if w]
        segs = [s for s, w in zip(segments, is_word) if not w]
        c.segments = _columns(segs, "segments")
        c.words = _unowned_words(words, "segments")
    else:
        c.segments = _columns(segments, "segments")
    return c


def _read_mistral_text(data: str | bytes, granularity: str | None) -> Canonical | None:
    """The common case, fast: Mistral JSON text decoded straight into typed segments.

    :mod:`voxnb._wire` decodes the text without a dict per segment; the columns are then checked
    by the same functions as the general reader's. None when the text is anything else (another
    shape, nested words, a value of an unexpected type, a value the checks refuse): the general
    reader then reads it, and its messages name what is wrong.
    """
    if granularity not in (None, "segment", "word"):
        return None
    from voxnb import _wire

    try:
        r, fields = _wire.decode(data)
    except _wire.Error:
        return None
    unset = _wire.UNSET
    segments = [] if r.segments is None or r.segments is unset else r.segments
    usage = r.usage

    def values_of(entries: list, key: str) -> list:  # None where no segment has the field
        return _wire.column(entries, key) if key in fields else [None] * len(entries)

    if (
        r.task is not unset
        or r.word_segments is not unset
        or r.words is not unset
        or r.type is not unset
        or (r.text is unset and r.segments is unset)
        or (isinstance(usage, dict) and usage.get("type") == "duration" and not segments)
        or (segments and "seek" in fields and (segments[0].seek, segments[0].avg_logprob) != (unset, unset))
        or ("words" in fields and any(_wire.column(segments, "words")))
    ):
        return None  # another shape (see _classify_dict), or segments with their own words
    top = {"text": None if r.text is unset else r.text, "language": r.language, "model": r.model}

    try:
        c = _canonical(dict(top, usage=usage, duration=r.duration), "mistral")
        if granularity == "word":
            c.words = _unowned_words(segments, "segments", values_of=values_of, typed=True)
        else:
            c.segments = _columns(segments, "segments", values_of=values_of, typed=True)
    except ResponseFormatError:
        return None  # the general reader words it from the values as they were sent (1, not 1.0)
    return c


class RawJSON:
    """A response's JSON text whose parsing waits for the first look at :attr:`Transcript.raw`."""

    __slots__ = ("data",)

    def __init__(self, data: str | bytes):
        self.data = data

    def parse(self) -> Any:
        return parse_json(self.data)


def _read_openai_verbose(d: dict) -> Canonical:
    segments = _entries(d.get("segments"), "segments")
    c = _canonical(d, "openai-verbose-json")
    c.segments = _columns(segments, "segments", speaker_keys=("speaker", "speaker_id"))
    words = d.get("words")
    if words:
        words = _entries(words, "words")
        c.words = _unowned_words(
            words, "words", text_keys=("word", "text"), score_keys=("probability", "score")
        )
    else:
        c.words = _nested_words(segments, "segments")
    return c


def _read_whisperx(d: dict) -> Canonical:
    segments = _entries(d.get("segments"), "segments")
    c = _canonical(d, "whisperx")
    c.segments = _columns(segments, "segments", speaker_keys=("speaker", "speaker_id"))
    c.words = _nested_words(segments, "segments")
    if c.words is None and d.get("word_segments"):
        ws = _entries(d["word_segments"], "word_segments")
        c.words = _unowned_words(
            ws, "word_segments", text_keys=("word", "text"), speaker_keys=("speaker", "speaker_id")
        )
    return c


def _read_vllm_json(d: dict) -> Canonical:
    usage = _optional(d, "usage", dict, "an object")
    duration = (
        _number(usage.get("seconds"), "usage.seconds") if usage and usage.get("type") == "duration" else None
    )
    return _canonical(d, "vllm-json", duration=duration)


def _read_events(events: list[Any], granularity: str | None) -> Canonical:
    """Mistral transcription SSE events, or vLLM ``transcription.chunk`` events."""
    events = _entries(events, "events")
    types = [e.get("type") or e.get("object") for e in events]
    if any(t == "transcription.chunk" for t in types):
        pieces = []
        usage = None
        for i, e in enumerate(events):
            for j, choice in enumerate(_entries(e.get("choices"), f"events[{i}].choices")):
                delta = choice.get("delta")
                content = delta.get("content") if isinstance(delta, dict) else None
                if content is not None and not isinstance(content, str):
                    raise ResponseFormatError(
                        f"events[{i}].choices[{j}].delta.content: expected a string, got {content!r}"
                    )
                pieces.append(content or "")
            usage = _optional(e, "usage", dict, "an object") or usage
        model = next((_optional(e, "model", str, "a model name") for e in events if e.get("model")), None)
        _check_encodable(pieces, "events[].choices[].delta.content")
        return Canonical(source="vllm-sse", text="".join(pieces), model=model, usage=usage)
    done = next((e for e in reversed(events) if e.get("type") == "transcription.done"), None)
    streamed_segments = [e for e in events if e.get("type") == "transcription.segment"]
    language = next(
        (
            _optional(e, "audio_language", str, "a language code")
            for e in events
            if e.get("type") == "transcription.language"
        ),
        None,
    )
    if done is not None:
        response = dict(done)
        if not response.get("segments") and streamed_segments:
            response["segments"] = streamed_segments
    else:
        deltas = [e for e in events if e.get("type") == "transcription.text.delta"]
        texts = _texts(deltas, ("text",), "events(transcription.text.delta)")
        response = {"text": "".join(texts), "segments": streamed_segments}
    c = _read_mistral(response, "mistral-sse", granularity)
    c.language = c.language or language
    if c.text is None:
        c.text = ""
    return c


def _read_faster_whisper(segments: list, info: Any) -> Canonical:
    plain = _entries([to_plain(s) for s in segments], "segments")  # their words become dicts too
    c = Canonical(source="faster-whisper", text=None)
    if info is not None:
        info = to_plain(info)
        if not isinstance(info, dict):
            raise ResponseFormatError(f"faster-whisper info: expected an object, got {info!r}"[:200])
        c.language = _optional(info, "language", str, "a language code")
        c.duration = _number(info.get("duration"))
    c.segments = _columns(plain, "segments", speaker_keys=("speaker", "speaker_id"))
    c.text = "".join(c.segments.text)
    c.words = _nested_words(plain, "segments")
    return c


def _classify_dict(d: dict) -> str:
    segments = d.get("segments")
    first = segments[0] if isinstance(segments, list) and segments and isinstance(segments[0], dict) else {}
    first_words = first.get("words")
    # whisperX scores each aligned word; a word it could not align (a number) has no score, so
    # every word of the first segment is looked at, not only the first
    if "word_segments" in d or any(
        isinstance(w, dict) and "word" in w and "score" in w
        for w in (first_words if isinstance(first_words, list) else [])
    ):
        return "whisperx"
    if (
        "task" in d
        or "seek" in first
        or "avg_logprob" in first
        or (isinstance(d.get("words"), list) and "duration" in d)
    ):
        return "openai-verbose-json"
    usage = d.get("usage")
    if isinstance(usage, dict) and usage.get("type") == "duration" and not segments:
        return "vllm-json"
    if (
        "type" in d
        and d.get("type") != "transcription.done"
        and str(d.get("type")).startswith("transcription.")
    ):
        return "event"
    if "text" in d or "segments" in d:
        return "mistral"
    raise ResponseFormatError(
        "this does not look like a transcription response: expected an object with 'text' "
        f"and/or 'segments', got keys {sorted(d)[:8]}"
    )


def _read_as(obj: Any, source: str, granularity: str | None) -> Canonical:
    """Read *obj* as the shape *source* names (a saved transcript knows its shape)."""
    if source == "faster-whisper":
        if isinstance(obj, list) and len(obj) == 2 and isinstance(obj[0], list) and isinstance(obj[1], dict):
            return _read_faster_whisper(obj[0], obj[1])
        return _read_faster_whisper(list(obj), None)
    if source in ("mistral", "mistral-sdk"):
        return _read_mistral(obj, source, granularity)
    readers = {
        "whisperx": _read_whisperx,
        "openai-verbose-json": _read_openai_verbose,
        "vllm-json": _read_vllm_json,
    }
    if source in readers:
        return readers[source](obj)
    return _read_response(obj, granularity=granularity, source=None)[1]


def read_response(
    obj: Any, *, granularity: str | None = None, source: str | None = None, defer_raw: bool = False
) -> tuple[Any, Canonical]:
    """Recognise *obj*'s shape (or read it as *source* says) and read it.

    With ``defer_raw=True``, Mistral JSON text (or bytes, or a path) is decoded straight into
    columns, and *raw* is a :class:`RawJSON` to parse when someone looks at it.

    Returns
    -------
    raw : object
        The response as received: the parsed JSON for text, bytes and paths, else *obj* itself.
    canonical : Canonical
    """
    with gc_paused():
        return _read_response(obj, granularity=granularity, source=source, defer_raw=defer_raw)


def _read_response(
    obj: Any, *, granularity: str | None, source: str | None, defer_raw: bool = False
) -> tuple[Any, Canonical]:
    if granularity not in (None, "segment", "word", "mixed"):
        raise ResponseFormatError(f"granularity must be 'segment', 'word' or None, got {granularity!r}")
    raw = obj
    sdk = False
    if isinstance(obj, (str, os.PathLike)) and not (isinstance(obj, str) and obj.lstrip()[:1] in ("{", "[")):
        path = Path(obj)
        try:
            content = path.read_bytes() if path.is_file() else None
        except (OSError, ValueError):  # a name too long, a folder we may not read...
            content = None
        if content is None:
            raise ResponseFormatError(
                f"{str(obj)[:80]!r} is neither JSON text nor an existing .json file one can read; "
                "pass the response itself or the path of a saved response"
            )
        obj = content
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        data: str | bytes = bytes(obj) if isinstance(obj, (memoryview, bytearray)) else obj
        fast = _read_mistral_text(data, granularity) if defer_raw and source is None else None
        if fast is not None:
            return RawJSON(data), fast
        obj = raw = parse_json(data)

    if source is not None:
        return raw, _read_as(to_plain(obj), source, granularity)
    if (
        isinstance(obj, tuple)
        and len(obj) == 2
        and not isinstance(obj[0], (dict, str))
        and hasattr(obj[1], "language")
    ):
        return raw, _read_faster_whisper(list(obj[0]), obj[1])
    if hasattr(obj, "model_dump"):
        obj = to_plain(obj)
        sdk = True
    if isinstance(obj, dict):
        kind = _classify_dict(obj)
        if kind == "mistral":
            return raw, _read_mistral(obj, "mistral-sdk" if sdk else "mistral", granularity)
        if kind == "event":
            return raw, _read_events([obj], granularity)
        return raw, {
            "whisperx": _read_whisperx,
            "openai-verbose-json": _read_openai_verbose,
            "vllm-json": _read_vllm_json,
        }[kind](obj)
    if hasattr(obj, "__next__"):
        obj = raw = list(obj)  # a generator (e.g. faster-whisper's segments) can be read only once
    if isinstance(obj, (list, tuple)):
        items = list(obj)
        if not items:
            return raw, Canonical(source="empty", text="")
        first = items[0]
        if hasattr(first, "data") and hasattr(first, "event"):  # mistralai SDK stream events
            return raw, _read_events([to_plain(e.data) for e in items], granularity)
        if isinstance(first, dict) and (
            str(first.get("type", "")).startswith("transcription.")
            or first.get("object") == "transcription.chunk"
        ):
            return raw, _read_events([to_plain(e) for e in items], granularity)
        if hasattr(first, "start") and hasattr(first, "text"):
            return raw, _read_faster_whisper(items, None)
        if isinstance(first, dict) and "start" in first and "text" in first:
            c = _read_mistral({"segments": items}, "segments", granularity)
            c.text = None
            return raw, c
        if hasattr(first, "model_dump") or isinstance(first, dict):
            events = [to_plain(e) for e in items]
            if not any(
                isinstance(e, dict)
                and str(e.get("type") or e.get("object") or "").startswith("transcription.")
                for e in events
            ):
                raise ResponseFormatError(
                    "a list of objects that are neither segments ({text, start, end}) nor transcription events "
                    "({type: 'transcription.…'}); pass the response object itself"
                )
            return raw, _read_events(events, granularity)
    raise ResponseFormatError(
        f"cannot read a {type(obj).__name__} as a transcription response; expected a dict, JSON "
        "text or bytes, a path to a .json file, an SDK response object, a list of stream events, "
        "or faster-whisper results"
    )
