"""The typed wire form of a Mistral transcription response, for :mod:`msgspec` to decode into.

Decoding JSON text straight into these structs makes no dict per segment and checks every type
in C: a 20,000-segment response decodes in about a third of the time ``orjson`` takes to build
its dicts. Anything these types do not describe (another response shape, a value of the wrong
type, nested words) makes :func:`decode` fail, and :mod:`voxnb.readers` then reads the text the
general way, which also says what is wrong.

Segments are tried as the narrow forms Mistral sends first (word entries: ``text, start, end,
type``; diarized segments add ``speaker_id, score``), which forbid any other key: the reader then
knows which fields no segment has without reading them one by one, a pass over a million
entries each. A key outside them fails the narrow form at once (on the first segment that has
it), and the next form is tried.

No ``from __future__ import annotations`` here: msgspec reads the annotations as types.
"""

from typing import Any

import msgspec

__all__ = ["decode", "column", "UNSET", "Error"]

UNSET = msgspec.UNSET
#: what :func:`decode` raises for text these types do not describe (RecursionError: deep nesting,
#: UnicodeDecodeError (a ValueError): bytes that are not UTF-8)
Error = (msgspec.MsgspecError, ValueError, RecursionError)

_WORD = [("start", float | None, None), ("end", float | None, None), ("text", str | None, None)]
_DIARIZED = [*_WORD, ("speaker_id", str | None, None), ("score", float | None, None)]
_SEGMENT = [
    *_DIARIZED,
    # numbered speakers (integers) are read the general way, which turns them into labels
    ("speaker", str | None, None),
    # present only to be noticed: segments with words, or OpenAI's fields, are another shape
    ("words", Any, None),
    ("seek", Any, UNSET),
    ("avg_logprob", Any, UNSET),
]
_TOP = [
    ("text", Any, UNSET),
    ("model", Any, None),
    ("language", Any, None),
    ("usage", Any, None),
    ("duration", Any, None),
    # present only to be noticed: keys that make the response another shape
    ("task", Any, UNSET),
    ("word_segments", Any, UNSET),
    ("words", Any, UNSET),
    ("type", Any, UNSET),
]


def _decoder(fields: list, *, narrow: bool):
    # gc=False: decoded JSON holds no reference cycles, and a million structs need no tracking
    segment = msgspec.defstruct(
        "Segment",
        [*fields, ("type", Any, None)] if narrow else fields,
        gc=False,
        forbid_unknown_fields=narrow,
    )
    segments = list[segment] | msgspec.UnsetType | None  # type: ignore[valid-type]
    response = msgspec.defstruct("Response", [("segments", segments, UNSET), *_TOP], gc=False)
    return frozenset(name for name, _, _ in fields), msgspec.json.Decoder(response).decode


_DECODERS = [
    _decoder(_WORD, narrow=True),
    _decoder(_DIARIZED, narrow=True),
    _decoder(_SEGMENT, narrow=False),
]


# one comprehension per field: Python specialises ``s.start`` to a slot load, twice as fast as
# ``map(attrgetter("start"), segments)``
_COLUMNS = {
    "start": lambda segments: [s.start for s in segments],
    "end": lambda segments: [s.end for s in segments],
    "text": lambda segments: [s.text for s in segments],
    "speaker_id": lambda segments: [s.speaker_id for s in segments],
    "speaker": lambda segments: [s.speaker for s in segments],
    "score": lambda segments: [s.score for s in segments],
    "words": lambda segments: [s.words for s in segments],
}


def column(segments: list, key: str) -> list:
    """The values of field *key* of decoded *segments*, in order."""
    return _COLUMNS[key](segments)


def decode(data: str | bytes) -> tuple[Any, frozenset[str]]:
    """The response decoded, and the segment fields it may hold (the others no segment has)."""
    for fields, decoder in _DECODERS[:-1]:
        try:
            return decoder(data), fields
        except msgspec.ValidationError:
            continue
    fields, decoder = _DECODERS[-1]
    return decoder(data), fields
