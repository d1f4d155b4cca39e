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
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from voxnb.errors import ResponseFormatError

__all__ = ["Canonical", "Columns", "read_response", "parse_json", "to_plain", "gc_paused"]


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
    if hasattr(obj, "model_dump"):
        return to_plain(obj.model_dump(mode="json", by_alias=True))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "_asdict"):
        return to_plain(obj._asdict())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise ResponseFormatError(
        f"cannot read a {type(obj).__name__} as part of a transcription response; "
        "pass the response as a dict, JSON text, an SDK object or a list of stream events"
    )


def _get(entries: list[dict], keys: tuple[str, ...]) -> tuple[str, list | None]:
    """The values of the first of *keys* that any entry uses (each a C-speed pass).

    None when no entry has any of them, so that callers skip converting a column of nulls.
    """
    for key in keys:
        values = list(map(dict.get, entries, repeat(key)))
        if values.count(None) != len(values):
            return key, values
    return keys[0], None


def _floats(entries: list[dict], keys: tuple[str, ...], where: str) -> np.ndarray:
    key, values = _get(entries, keys)
    if values is None:
        return np.full(len(entries), np.nan)
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(values):
            if v is not None and not isinstance(v, (int, float)):
                raise ResponseFormatError(
                    f"{where}[{i}].{key}: expected a number or null, got {v!r}"
                ) from None
        raise


def _texts(entries: list[dict], keys: tuple[str, ...], where: str) -> list[str]:
    key, texts = _get(entries, keys)
    if texts is None:
        return [""] * len(entries)
    if set(map(type, texts)) <= {str}:
        return texts
    for i, t in enumerate(texts):
        if type(t) is not str:
            if t is None:
                texts[i] = ""
            else:
                raise ResponseFormatError(f"{where}[{i}].{key}: expected a string, got {t!r}")
    return texts


def _speakers(entries: list[dict], keys: tuple[str, ...]) -> list[str | None]:
    _, speakers = _get(entries, keys)
    if speakers is None:
        return [None] * len(entries)
    if set(map(type, speakers)) <= {str, type(None)} and "" not in speakers:
        return speakers
    return [None if s is None or s == "" else str(s) for s in speakers]


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
    entries: list[dict],
    where: str,
    *,
    text_keys=("text",),
    score_keys=("score",),
    speaker_keys=("speaker_id", "speaker"),
) -> Columns:
    return Columns(
        start=_floats(entries, ("start",), where),
        end=_floats(entries, ("end",), where),
        text=_texts(entries, text_keys, where),
        speaker=_speakers(entries, speaker_keys),
        score=_floats(entries, score_keys, where),
    )


def _unowned_words(entries: list[dict], where: str, **keys) -> Columns:
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


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------- shapes


def _looks_like_word_entries(segments: list[dict]) -> np.ndarray:
    """Which entries hold a single word (for responses that mix both granularities)."""
    return np.array([len(str(s.get("text", "")).split()) <= 1 for s in segments], dtype=bool)


def _read_mistral(d: dict, source: str, granularity: str | None) -> Canonical:
    segments = _entries(d.get("segments"), "segments")
    c = Canonical(
        source=source,
        text=d.get("text") if isinstance(d.get("text"), str) else None,
        language=d.get("language") if isinstance(d.get("language"), str) else None,
        model=d.get("model") if isinstance(d.get("model"), str) else None,
        usage=d.get("usage") if isinstance(d.get("usage"), dict) else None,
        duration=_number(d.get("duration")),
    )
    if "text" in d and not isinstance(d["text"], str) and d["text"] is not None:
        raise ResponseFormatError(f"text: expected a string, got {d['text']!r}")
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


def _read_openai_verbose(d: dict) -> Canonical:
    segments = _entries(d.get("segments"), "segments")
    c = Canonical(
        source="openai-verbose-json",
        text=d.get("text"),
        language=d.get("language"),
        model=d.get("model"),
        usage=d.get("usage"),
        duration=_number(d.get("duration")),
    )
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
    c = Canonical(source="whisperx", text=d.get("text"), language=d.get("language"))
    c.segments = _columns(segments, "segments", speaker_keys=("speaker", "speaker_id"))
    c.words = _nested_words(segments, "segments")
    if c.words is None and d.get("word_segments"):
        ws = _entries(d["word_segments"], "word_segments")
        c.words = _unowned_words(
            ws, "word_segments", text_keys=("word", "text"), speaker_keys=("speaker", "speaker_id")
        )
    return c


def _read_vllm_json(d: dict) -> Canonical:
    usage = d.get("usage") if isinstance(d.get("usage"), dict) else None
    duration = _number(usage.get("seconds")) if usage and usage.get("type") == "duration" else None
    return Canonical(
        source="vllm-json",
        text=d.get("text"),
        model=d.get("model"),
        usage=usage,
        duration=duration,
        language=d.get("language"),
    )


def _read_events(events: list[dict], granularity: str | None) -> Canonical:
    """Mistral transcription SSE events, or vLLM ``transcription.chunk`` events."""
    types = [e.get("type") or e.get("object") for e in events]
    if any(t == "transcription.chunk" for t in types):
        pieces = []
        usage = None
        for e in events:
            for choice in e.get("choices") or []:
                pieces.append((choice.get("delta") or {}).get("content") or "")
            usage = e.get("usage") or usage
        model = next((e.get("model") for e in events if e.get("model")), None)
        return Canonical(source="vllm-sse", text="".join(pieces), model=model, usage=usage)
    done = next((e for e in reversed(events) if e.get("type") == "transcription.done"), None)
    streamed_segments = [e for e in events if e.get("type") == "transcription.segment"]
    language = next(
        (e.get("audio_language") for e in events if e.get("type") == "transcription.language"), None
    )
    if done is not None:
        response = dict(done)
        if not response.get("segments") and streamed_segments:
            response["segments"] = streamed_segments
    else:
        deltas = "".join(e.get("text") or "" for e in events if e.get("type") == "transcription.text.delta")
        response = {"text": deltas, "segments": streamed_segments}
    c = _read_mistral(response, "mistral-sse", granularity)
    c.language = c.language or language
    if c.text is None:
        c.text = ""
    return c


def _read_faster_whisper(segments: list, info: Any) -> Canonical:
    plain = [to_plain(s) for s in segments]
    for s in plain:
        if isinstance(s.get("words"), list):
            s["words"] = [w if isinstance(w, dict) else to_plain(w) for w in s["words"]]
    c = Canonical(source="faster-whisper", text="".join(s.get("text", "") for s in plain))
    if info is not None:
        info = to_plain(info)
        c.language = info.get("language")
        c.duration = _number(info.get("duration"))
    c.segments = _columns(plain, "segments", score_keys=("score",), speaker_keys=("speaker", "speaker_id"))
    c.words = _nested_words(plain, "segments")
    return c


def _classify_dict(d: dict) -> str:
    segments = d.get("segments")
    first = segments[0] if isinstance(segments, list) and segments and isinstance(segments[0], dict) else {}
    if "word_segments" in d or any(
        isinstance(w, dict) and "word" in w and "score" in w for w in (first.get("words") or [])[:1]
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
    obj: Any, *, granularity: str | None = None, source: str | None = None
) -> tuple[Any, Canonical]:
    """Recognise *obj*'s shape (or read it as *source* says) and read it.

    Returns
    -------
    raw : object
        The response as received: the parsed JSON for text, bytes and paths, else *obj* itself.
    canonical : Canonical
    """
    with gc_paused():
        return _read_response(obj, granularity=granularity, source=source)


def _read_response(obj: Any, *, granularity: str | None, source: str | None) -> tuple[Any, Canonical]:
    if granularity not in (None, "segment", "word", "mixed"):
        raise ResponseFormatError(f"granularity must be 'segment', 'word' or None, got {granularity!r}")
    raw = obj
    sdk = False
    if isinstance(obj, (str, os.PathLike)) and not (isinstance(obj, str) and obj.lstrip()[:1] in ("{", "[")):
        path = Path(obj)
        if not path.is_file():
            raise ResponseFormatError(
                f"{str(obj)[:80]!r} is neither JSON text nor an existing .json file; "
                "pass the response itself or the path of a saved response"
            )
        obj = raw = parse_json(path.read_bytes())
    elif isinstance(obj, (str, bytes, bytearray, memoryview)):
        obj = raw = parse_json(bytes(obj) if isinstance(obj, (memoryview, bytearray)) else obj)

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
    if hasattr(obj, "__iter__") and not isinstance(obj, (list, tuple)):
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
            return raw, _read_events([to_plain(e) for e in items], granularity)
    raise ResponseFormatError(
        f"cannot read a {type(obj).__name__} as a transcription response; expected a dict, JSON "
        "text or bytes, a path to a .json file, an SDK response object, a list of stream events, "
        "or faster-whisper results"
    )
