"""The one transcription request contract: every option validated once, for every backend.

The HTTP client (Mistral's API, vLLM, ``voxnb serve``), the offline engine, ``voxnb serve`` itself,
realtime sessions and the bias lab's experiments all build a :class:`TranscriptionRequest`:

1. :meth:`TranscriptionRequest.create` checks every option on its own terms (types, ranges,
   combinations that no backend accepts) and refuses unknown options;
2. :meth:`TranscriptionRequest.resolve` checks it against what the chosen model can do
   (:mod:`voxnb.models`) and decides how each wish is met — which timestamps go on the wire, and
   whether word times come from the model (``words="api"``) or from forced alignment against the
   audio (``words="aligned"``, :func:`voxnb.align`);
3. the resolved request produces each dialect's wire form (:meth:`~TranscriptionRequest.form_fields`),
   the engine's arguments (:meth:`~TranscriptionRequest.engine_options`) and the record kept in
   :attr:`voxnb.Transcript.request` (:meth:`~TranscriptionRequest.record`), whose keys are the
   same whatever made the transcript.

Nothing is dropped silently: an option the model or protocol cannot honour is a
:class:`~voxnb.errors.ParameterError` naming the option and what to do instead.

Wire facts (``spec/mistral-api.md`` §1, §9): Mistral's list fields are repeated form parts under
their bare name (never ``name[]``, never comma-joined) and booleans are ``"true"``/``"false"``;
OpenAI-compatible servers (vLLM) take the bracketed ``timestamp_granularities[]`` and return
timestamps only in ``verbose_json``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypedDict

from voxnb.errors import ParameterError

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities

__all__ = [
    "AUDIO_ENCODINGS",
    "DIALECTS",
    "OPTIONS",
    "RECORDED_WHEN_SET",
    "TURN_DETECTION_FIELDS",
    "WORD_TIMINGS",
    "SpeakerReference",
    "TranscriptionOptions",
    "TranscriptionRequest",
    "bias_terms",
    "response_granularity",
]

#: the wire dialects: Mistral's protocol (Mistral's API, ``voxnb serve``) and OpenAI's (vLLM)
DIALECTS = ("mistral", "openai")
#: how word times may be obtained
WORD_TIMINGS = ("auto", "api", "aligned")
GRANULARITIES = ("segment", "word")
MAX_TEMPERATURE = 2.0
MAX_SPEAKERS = 64
MAX_TERM_CHARS = 200
#: realtime audio encodings (``mistralai`` 3.7 ``AudioEncoding``): PCM in four sample formats, G.711 µ-law and A-law
AUDIO_ENCODINGS = ("pcm_s16le", "pcm_s32le", "pcm_f16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
#: the realtime session's sample rate when none is given (what both dialects accept for pcm_s16le)
DEFAULT_SAMPLE_RATE = 16_000
SAMPLE_RATES = (8_000, 96_000)
#: ``TurnDetectionConfig`` of ``mistralai`` 3.7: fraction thresholds, then milliseconds
TURN_DETECTION_FIELDS = (
    "start_threshold",
    "eager_end_threshold",
    "end_threshold",
    "min_silence_ms",
    "end_timeout_ms",
)
#: Mistral's limits on known-speaker clips ("Up to 8 clips, 3 to 15 seconds each, with diarize")
MAX_SPEAKER_REFERENCES = 8
REFERENCE_SECONDS = (3.0, 15.0)
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
_SEPARATORS = re.compile(r"[\s,]+")
_LANGUAGE_NAMES = {
    "english": "en", "french": "fr", "german": "de", "spanish": "es", "italian": "it",
    "portuguese": "pt", "dutch": "nl", "russian": "ru", "chinese": "zh", "japanese": "ja",
    "korean": "ko", "arabic": "ar", "hindi": "hi", "polish": "pl", "turkish": "tr",
    "swedish": "sv", "ukrainian": "uk", "greek": "el", "czech": "cs", "danish": "da",
}  # fmt: skip


class TranscriptionOptions(TypedDict, total=False):
    """The transcription options every entry point takes as keywords (``**options``).

    model : str
        The model; by default the backend's (Mistral: ``voxtral-mini-latest``; offline: the
        embedded Whisper model).
    timestamps : {"segment", "word"} or list of them
        Which timestamps the transcript should have.
    words : {"auto", "api", "aligned"}
        Where word times come from: the model (``api``), forced alignment against the audio
        (``aligned``), or the model when it gives them and alignment otherwise (``auto``, the
        default whenever word timestamps are asked for). Implies ``timestamps`` with ``"word"``.
    diarize : bool
        Label speakers; implies segment timestamps.
    context_bias : list of str
        Words or phrases to favour.
    language : str
        Two-letter ISO-639-1 code of the speech.
    temperature : float
        Sampling temperature, 0 to 2.
    num_speakers : int
        The number of speakers when known (offline engine only; needs ``diarize=True``).
    target_streaming_delay_ms : int
        Realtime sessions only: the latency/accuracy trade-off.
    speaker_references : mapping of str → audio
        Known speakers: name → a reference clip (path, encoded bytes, :class:`voxnb.Audio` or
        ``(samples, sr)``) of 3 to 15 seconds, at most 8 of them; needs ``diarize=True``.
        Voxtral 3 names the matching speakers itself; the offline engine and ``voxnb serve``
        label their speaker clusters by the nearest reference voice.
    turn_detection : bool or mapping
        Realtime sessions of Voxtral 3 only: ``True`` for the server's defaults, or a mapping of
        ``start_threshold``, ``eager_end_threshold``, ``end_threshold`` (0 to 1),
        ``min_silence_ms`` and ``end_timeout_ms``; turns become segments of the live transcript.
        Not together with ``diarize``.
    encoding : str
        Realtime sessions only: how the PCM sent is encoded, one of ``pcm_s16le`` (the default),
        ``pcm_s32le``, ``pcm_f16le``, ``pcm_f32le``, ``pcm_mulaw``, ``pcm_alaw``.
    sample_rate : int
        Realtime sessions only: the sample rate of the PCM sent (default 16000).
    """

    model: str
    timestamps: str | list[str]
    words: str
    diarize: bool
    context_bias: list[str]
    language: str
    temperature: float
    num_speakers: int
    target_streaming_delay_ms: int
    speaker_references: Mapping[str, Any]
    turn_detection: bool | Mapping[str, Any]
    encoding: str
    sample_rate: int


#: every option a request takes, in the order records list them
OPTIONS = tuple(TranscriptionOptions.__annotations__)
#: options that came after the cache format was fixed: a record holds them only when they are set
RECORDED_WHEN_SET = ("speaker_references", "turn_detection", "encoding", "sample_rate")


def bias_terms(phrases: Iterable[str]) -> list[str]:
    """Turn words and phrases into ``context_bias`` terms that every model accepts.

    Voxtral 3 takes phrases as they are, but Voxtral 2 (``voxtral-mini-2602``, the model behind
    ``voxtral-mini-latest``) refuses whitespace and commas inside a term: a phrase is written
    with underscores instead. Duplicates are dropped, order is kept.

    Parameters
    ----------
    phrases : iterable of str
        Words or multi-word phrases, e.g. names and jargon expected in the audio.

    Returns
    -------
    list of str
        One term per phrase, whitespace and commas replaced by ``_``.

    Examples
    --------
    >>> import voxnb
    >>> voxnb.bias_terms(["Barack Obama", "Washington, D.C.", "Joplin"])
    ['Barack_Obama', 'Washington_D.C.', 'Joplin']
    """
    if isinstance(phrases, str):
        phrases = [phrases]
    if not isinstance(phrases, Iterable):
        raise ParameterError(
            f"bias_terms() takes a list of strings; got {type(phrases).__name__}", option="context_bias"
        )
    terms: list[str] = []
    for phrase in phrases:
        if not isinstance(phrase, str):
            raise ParameterError(
                f"bias_terms() takes strings; got {type(phrase).__name__} {phrase!r}", option="context_bias"
            )
        term = "_".join(part for part in _SEPARATORS.split(phrase) if part)
        if not term:
            raise ParameterError(
                f"bias_terms() got an empty phrase {phrase!r}; remove it from the list", option="context_bias"
            )
        if term not in terms:
            terms.append(term)
    return terms


# -- checks of single options ----------------------------------------------------------------------


def _model(model: Any) -> str | None:
    if model is None:
        return None
    if not isinstance(model, str) or not model.strip() or len(model) > 256 or model != model.strip():
        raise ParameterError(
            f"model must be a model name such as 'voxtral-mini-latest'; got {_short(model)}", option="model"
        )
    return model


def _granularities(timestamps: Any) -> tuple[str, ...]:
    if timestamps is None or timestamps is False:
        return ()
    given: list[Any]
    if isinstance(timestamps, str):
        given = [timestamps]
    elif isinstance(timestamps, (list, tuple, set, frozenset)):
        given = list(timestamps)
    else:
        given = [timestamps]
    unknown = [g for g in given if not isinstance(g, str) or g not in GRANULARITIES]
    if unknown:
        raise ParameterError(
            f"timestamps must be 'segment', 'word' or a list of them; got {_short(unknown[0])}",
            option="timestamps",
        )
    return tuple(g for g in GRANULARITIES if g in given)


def _words(words: Any) -> str | None:
    if words is None:
        return None
    if not isinstance(words, str) or words not in WORD_TIMINGS:
        raise ParameterError(
            f"words must be 'auto', 'api' (the model's word times) or 'aligned' (forced alignment "
            f"against the audio); got {_short(words)}",
            option="words",
        )
    return words


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False; got {_short(value)}", option=name)
    return value


def _bias(context_bias: Any) -> tuple[str, ...]:
    if context_bias is None:
        return ()
    if isinstance(context_bias, (bytes, Mapping)) or not isinstance(context_bias, (str, Iterable)):
        raise ParameterError(
            f"context_bias must be a list of words or phrases, e.g. ['Voxtral', 'Janis Joplin']; got "
            f"{_short(context_bias)}",
            option="context_bias",
        )
    terms = [context_bias] if isinstance(context_bias, str) else list(context_bias)
    for term in terms:
        if not isinstance(term, str):
            raise ParameterError(
                f"context_bias entries must be strings; got {_short(term)}; convert the list with "
                "voxnb.bias_terms([...])",
                option="context_bias",
            )
        if not term.strip():
            raise ParameterError("context_bias has an empty entry; remove it", option="context_bias")
        if "," in term:
            raise ParameterError(
                f"context_bias entry {term!r} holds a comma: give each term as its own entry "
                f"(a comma separates terms), or write it as {bias_terms([term])[0]!r}",
                option="context_bias",
            )
        if len(term) > MAX_TERM_CHARS:
            raise ParameterError(
                f"context_bias entry {term[:40]!r}... has {len(term)} characters; keep entries to names and "
                f"short phrases (at most {MAX_TERM_CHARS} characters)",
                option="context_bias",
            )
        if any(not c.isprintable() and not c.isspace() for c in term):
            raise ParameterError(
                f"context_bias entry {term!r} holds control characters; remove them", option="context_bias"
            )
    return tuple(dict.fromkeys(term.strip() for term in terms))


def _language(language: Any) -> str | None:
    if language is None:
        return None
    if isinstance(language, str) and _LANGUAGE_CODE.match(language):
        return language
    hint = ""
    if isinstance(language, str):
        code = _LANGUAGE_NAMES.get(language.strip().lower())
        if code is None and _LANGUAGE_CODE.match(language.strip().lower()):
            code = language.strip().lower()
        hint = f" (for {language!r} write {code!r})" if code else ""
    raise ParameterError(
        f"language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got {_short(language)}{hint}",
        option="language",
    )


def _temperature(temperature: Any) -> float | None:
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise ParameterError(
            f"temperature must be a number such as 0.0; got {_short(temperature)}", option="temperature"
        )
    value = float(temperature)
    if not math.isfinite(value) or not 0 <= value <= MAX_TEMPERATURE:
        raise ParameterError(
            f"temperature must be a finite number from 0 to {MAX_TEMPERATURE:g}; got {temperature!r}",
            option="temperature",
        )
    return value


def _whole(name: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise ParameterError(
            f"{name} must be a whole number from {low} to {high}; got {_short(value)}", option=name
        )
    return int(value)


@dataclass(frozen=True)
class SpeakerReference:
    """One known speaker's reference clip, checked (3 to 15 seconds of decodable audio).

    ``data`` is the encoded audio file sent (base64) to the API; ``sha256`` identifies it in
    :meth:`TranscriptionRequest.record` and the cache key, where the clip itself never goes.
    """

    name: str
    data: bytes = field(repr=False)
    sha256: str
    seconds: float

    @property
    def base64(self) -> str:
        """The clip as the API takes it: base64 of the audio file's bytes."""
        import base64

        return base64.b64encode(self.data).decode("ascii")

    @classmethod
    def from_clip(cls, name: Any, clip: Any) -> SpeakerReference:
        """Check *name* and read *clip* (a path, encoded bytes, a :class:`voxnb.Audio` or ``(samples, sr)``)."""
        import hashlib
        import os
        from pathlib import Path

        from voxnb.audio import Audio, as_audio
        from voxnb.errors import AudioError

        where = f"speaker_references[{name!r}]"
        if not isinstance(name, str) or not name.strip() or len(name) > 64 or name != name.strip():
            raise ParameterError(
                f"speaker_references names must be non-empty strings of at most 64 characters without "
                f"surrounding spaces, e.g. {{'Ada': 'ada.wav'}}; got {_short(name)}",
                option="speaker_references",
            )
        try:
            if isinstance(clip, (str, os.PathLike)):
                path = Path(clip).expanduser()
                if not path.is_file():
                    raise AudioError(f"the clip file {str(path)!r} does not exist; check the path")
                data = path.read_bytes()
                audio = Audio.load(data)
            elif isinstance(clip, (bytes, bytearray, memoryview)):
                data = bytes(clip)
                audio = Audio.load(data)
            else:
                audio = as_audio(clip)
                data = audio.to_wav()
        except (AudioError, OSError) as err:
            raise ParameterError(
                f"{where}: {err}; give a path, encoded audio bytes, a voxnb.Audio or (samples, sr)",
                option="speaker_references",
            ) from None
        low, high = REFERENCE_SECONDS
        if not low <= audio.duration <= high:
            raise ParameterError(
                f"{where} lasts {audio.duration:.2f} s; reference clips must last {low:g} to {high:g} "
                "seconds (Mistral's limit): cut one turn of that speaker, e.g. audio.slice(start, end)",
                option="speaker_references",
            )
        return cls(name, data, hashlib.sha256(data).hexdigest(), round(float(audio.duration), 3))


def _speaker_references(value: Any) -> tuple[SpeakerReference, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"speaker_references must map each known speaker's name to a reference clip, e.g. "
            f"{{'Ada': 'ada.wav', 'Ben': 'ben.wav'}}; got {_short(value)}",
            option="speaker_references",
        )
    if not value:
        return ()
    if len(value) > MAX_SPEAKER_REFERENCES:
        raise ParameterError(
            f"At most {MAX_SPEAKER_REFERENCES} speaker references are supported, got {len(value)}; keep "
            "the speakers you most need named",
            option="speaker_references",
        )
    return tuple(
        clip if isinstance(clip, SpeakerReference) else SpeakerReference.from_clip(name, clip)
        for name, clip in value.items()
    )


def _turn_detection(value: Any) -> tuple[tuple[str, Any], ...] | None:
    """``True`` → ``()`` (the server's defaults); a mapping → its checked fields in a fixed order."""
    if value is None or value is False:
        return None
    if value is True:
        return ()
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"turn_detection must be True (the server's defaults) or a mapping such as "
            f"{{'min_silence_ms': 400, 'end_timeout_ms': 1500}}; got {_short(value)}",
            option="turn_detection",
        )
    unknown = sorted(set(value) - set(TURN_DETECTION_FIELDS))
    if unknown:
        raise ParameterError(
            f"turn_detection has unknown field(s) {unknown}; the fields are {', '.join(TURN_DETECTION_FIELDS)}",
            option="turn_detection",
        )
    out = []
    for key in TURN_DETECTION_FIELDS:
        given = value.get(key)
        if given is None:
            continue
        if key.endswith("_ms"):
            number: Any = _whole(f"turn_detection[{key!r}]", given, 0, 600_000)
        else:
            number = _fraction(f"turn_detection[{key!r}]", given)
        out.append((key, number))
    return tuple(out)


def _fraction(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or not 0 <= float(value) <= 1
    ):
        raise ParameterError(
            f"{name} must be a number from 0 to 1; got {_short(value)}", option="turn_detection"
        )
    return float(value)


def _encoding(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in AUDIO_ENCODINGS:
        hint = ""
        if isinstance(value, str) and f"pcm_{value.lower()}" in AUDIO_ENCODINGS:
            hint = f" (write {'pcm_' + value.lower()!r})"
        raise ParameterError(
            f"encoding must be one of {', '.join(AUDIO_ENCODINGS)}; got {_short(value)}{hint}",
            option="encoding",
        )
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the request -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptionRequest:
    """One transcription request, validated (never the API key, never the audio).

    Build it with :meth:`create`; resolve it against a model with :meth:`resolve`.

    Attributes
    ----------
    model : str or None
        The model asked for (None until resolved: the backend's default).
    timestamps : tuple of str
        The timestamps the transcript should have (``diarize`` implies ``"segment"``).
    words : {"auto", "api", "aligned"} or None
        How word times are obtained; None when no word timestamps are asked for. A resolved
        request says ``"api"`` or ``"aligned"``.
    diarize, context_bias, language, temperature, num_speakers, target_streaming_delay_ms
        As given, checked.
    speaker_references : tuple of SpeakerReference
        Known speakers' clips, checked (3 to 15 s each, at most 8).
    turn_detection : tuple of (field, value) pairs, or None
        None when off; ``()`` for the server's defaults.
    encoding, sample_rate : str or None, int or None
        The realtime audio format (None: ``pcm_s16le`` at 16 kHz).
    resolved : bool
        Whether :meth:`resolve` has checked it against a model.

    Examples
    --------
    >>> from voxnb.models import capabilities
    >>> request = TranscriptionRequest.create(timestamps=["segment", "word"], diarize=True)
    >>> resolved = request.resolve(capabilities("voxtral-mini-transcribe-3"))
    >>> resolved.wire_timestamps, resolved.words
    (('segment',), 'aligned')
    """

    model: str | None = None
    timestamps: tuple[str, ...] = ()
    words: str | None = None
    diarize: bool = False
    context_bias: tuple[str, ...] = ()
    language: str | None = None
    temperature: float | None = None
    num_speakers: int | None = None
    target_streaming_delay_ms: int | None = None
    speaker_references: tuple[SpeakerReference, ...] = ()
    turn_detection: tuple[tuple[str, Any], ...] | None = None
    encoding: str | None = None
    sample_rate: int | None = None
    resolved: bool = False

    # -- building ----------------------------------------------------------------------------------

    @classmethod
    def create(cls, **options: Any) -> TranscriptionRequest:
        """Check every option on its own terms; unknown options are refused.

        Raises
        ------
        ParameterError
            Naming the option, what was wrong and what to do.

        Examples
        --------
        >>> TranscriptionRequest.create(diarize=True).timestamps
        ('segment',)
        >>> TranscriptionRequest.create(language="english")
        Traceback (most recent call last):
        ...
        voxnb.errors.ParameterError: language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got 'english' (for 'english' write 'en')
        """
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ParameterError(
                f"unknown transcription option(s) {unknown}; the options are {', '.join(OPTIONS)}",
                option=unknown[0],
            )
        timestamps = set(_granularities(options.get("timestamps")))
        words = _words(options.get("words"))
        diarize = _flag("diarize", options.get("diarize", False))
        num_speakers = _whole("num_speakers", options.get("num_speakers"), 1, MAX_SPEAKERS)
        if words is not None:
            timestamps.add("word")
        elif "word" in timestamps:
            words = "auto"
        if diarize:
            timestamps.add("segment")
        if num_speakers is not None and not diarize:
            raise ParameterError(
                "num_speakers= needs diarize=True: it tells the speaker labelling how many voices to find",
                option="num_speakers",
            )
        references = _speaker_references(options.get("speaker_references"))
        if references and not diarize:
            raise ParameterError(
                "speaker_references= needs diarize=True: the references name the speakers diarization "
                "finds (Mistral: 'When enabled, diarize must be true')",
                option="speaker_references",
            )
        turn_detection = _turn_detection(options.get("turn_detection"))
        if turn_detection is not None and diarize:
            raise ParameterError(
                "Diarization is not compatible with turn detection (Mistral's realtime API refuses both "
                "together): drop diarize= or turn_detection=",
                option="turn_detection",
            )
        return cls(
            model=_model(options.get("model")),
            timestamps=tuple(g for g in GRANULARITIES if g in timestamps),
            words=words,
            diarize=diarize,
            context_bias=_bias(options.get("context_bias")),
            language=_language(options.get("language")),
            temperature=_temperature(options.get("temperature")),
            num_speakers=num_speakers,
            target_streaming_delay_ms=_whole(
                "target_streaming_delay_ms", options.get("target_streaming_delay_ms"), 80, 2400
            ),
            speaker_references=references,
            turn_detection=turn_detection,
            encoding=_encoding(options.get("encoding")),
            sample_rate=_whole("sample_rate", options.get("sample_rate"), *SAMPLE_RATES),
        )

    @classmethod
    def from_form(cls, form: Mapping[str, Any] | Any, *, dialect: str = "mistral") -> TranscriptionRequest:
        """The request a multipart form carries (what ``voxnb serve`` receives), checked like any other.

        *form* has ``get(name)`` and ``getlist(name)`` (starlette's ``FormData``) or is a plain
        mapping of name to value or list of values. Strings are read as the wire writes them,
        and the wire's own rules apply: Mistral reads only the bare ``timestamp_granularities``
        (``name[]`` is ignored, as by Mistral's API) and refuses ``diarize`` unless the
        granularities are exactly ``["segment"]`` (outside streaming); OpenAI's dialect reads
        the bracketed ``timestamp_granularities[]``.

        Examples
        --------
        >>> form = {"model": "voxtral-mini-latest", "diarize": "true", "timestamp_granularities": ["segment"]}
        >>> TranscriptionRequest.from_form(form).diarize
        True
        """

        def getlist(name: str) -> list[Any]:
            if hasattr(form, "getlist"):
                return list(form.getlist(name))
            value = form.get(name)
            return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]

        def get(name: str) -> Any:
            values = getlist(name)
            return values[-1] if values else None

        granularities = getlist(
            "timestamp_granularities" if dialect == "mistral" else "timestamp_granularities[]"
        )
        diarize = _wire_bool("diarize", get("diarize"))
        if dialect == "mistral" and not _wire_bool("stream", get("stream")):
            _check_wire_diarize(diarize, granularities)
        references = get("speaker_references")
        options: dict[str, Any] = {
            "model": get("model"),
            "timestamps": granularities or None,
            # a server gives the model's own word times: it has nothing to align them with for the client
            "words": "api" if "word" in granularities else None,
            "diarize": diarize,
            "context_bias": getlist("context_bias") or None,
            "language": get("language"),
            "temperature": _wire_number("temperature", get("temperature")),
            "speaker_references": None if references is None else _wire_references(references),
        }
        return cls.create(**{k: v for k, v in options.items() if v is not None})

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, model: str | None = None) -> TranscriptionRequest:
        """The request a JSON body carries (a batch job's line, :meth:`json_body`), checked like any other.

        The audio fields (``file_url``, ``file_id``) are the caller's to read; any other field
        that is not a transcription option is refused, as are values of the wrong JSON type.
        *model* is the job's model (a line may repeat it, but not contradict it).

        Examples
        --------
        >>> body = {"file_id": "f", "diarize": True, "timestamp_granularities": ["segment"]}
        >>> TranscriptionRequest.from_body(body, model="voxtral-mini-transcribe-3").diarize
        True
        """
        if not isinstance(body, Mapping):
            raise ParameterError(f"a request body must be a JSON object; got {_short(body)}", option="body")
        allowed = {"model", "file_url", "file_id", "stream", *_BODY_FIELDS}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ParameterError(
                f"unknown field(s) {unknown} in the request body; the transcription fields are "
                f"{', '.join(sorted(allowed))}",
                option=unknown[0],
            )
        if body.get("stream") not in (None, False):
            raise ParameterError(
                "a batch request cannot stream: drop 'stream' or set it to false", option="stream"
            )
        line_model = body.get("model")
        if line_model is not None and model is not None and line_model != model:
            raise ParameterError(
                f"the body names model {line_model!r} but the job runs {model!r}; a job runs one model",
                option="model",
            )
        for name, kinds in _BODY_FIELDS.items():
            value = body.get(name)
            if value is not None and (
                not isinstance(value, kinds) or (kinds is not bool and isinstance(value, bool))
            ):
                raise ParameterError(
                    f"{name} in the request body must be JSON {_BODY_TYPE_NAMES[name]}; got {_short(value)}",
                    option=name,
                )
        granularities = list(body.get("timestamp_granularities") or [])
        diarize = bool(body.get("diarize", False))
        _check_wire_diarize(diarize, granularities)
        references = body.get("speaker_references")
        options = {
            "model": model or line_model,
            "timestamps": granularities or None,
            "words": "api" if "word" in granularities else None,
            "diarize": diarize,
            "context_bias": body.get("context_bias") or None,
            "language": body.get("language"),
            "temperature": body.get("temperature"),
            "speaker_references": None if references is None else _wire_references(references),
        }
        return cls.create(**{k: v for k, v in options.items() if v is not None})

    @classmethod
    def from_session(cls, session: Mapping[str, Any], *, model: str | None = None) -> TranscriptionRequest:
        """The settings a realtime ``session.update`` carries (Mistral's dialect), checked.

        Examples
        --------
        >>> session = {"audio_format": {"encoding": "pcm_alaw", "sample_rate": 8000}, "turn_detection": {}}
        >>> request = TranscriptionRequest.from_session(session)
        >>> request.encoding, request.sample_rate, request.turn_detection
        ('pcm_alaw', 8000, ())
        """
        if not isinstance(session, Mapping):
            raise ParameterError(f"session must be a JSON object; got {_short(session)}", option="session")
        audio_format = session.get("audio_format") or {}
        if not isinstance(audio_format, Mapping):
            raise ParameterError(
                f"audio_format must be an object {{encoding, sample_rate}}; got {_short(audio_format)}",
                option="encoding",
            )
        references = session.get("speaker_references")
        turn_detection = session.get("turn_detection")
        options = {
            "model": model,
            "target_streaming_delay_ms": session.get("target_streaming_delay_ms"),
            "context_bias": session.get("context_bias"),
            "language": session.get("language"),
            "diarize": session.get("diarize"),
            "speaker_references": None if references is None else _wire_references(references),
            # an empty object asks for the defaults
            "turn_detection": (turn_detection or True)
            if isinstance(turn_detection, Mapping)
            else turn_detection,
            "encoding": audio_format.get("encoding"),
            "sample_rate": audio_format.get("sample_rate"),
        }
        return cls.create(**{k: v for k, v in options.items() if v is not None})

    # -- against a model ---------------------------------------------------------------------------

    def resolve(self, model: ModelCapabilities, *, realtime: bool = False) -> TranscriptionRequest:
        """This request for *model*: refused where the model cannot honour it, else decided.

        Parameters
        ----------
        model : voxnb.models.ModelCapabilities
            What the model (behind its protocol) can do.
        realtime : bool
            Whether the request opens a realtime session rather than transcribing a file.

        Returns
        -------
        TranscriptionRequest
            With ``model`` set, ``words`` decided (``"api"`` or ``"aligned"``) and ``resolved``.

        Raises
        ------
        ParameterError
            For the first option the model cannot honour, saying what to do instead.
        """
        name = model.name
        if realtime and not model.realtime:
            raise _unsupported(
                "model", f"{name} is not a realtime model; use e.g. 'voxtral-mini-transcribe-realtime-2602'"
            )
        if not realtime and not model.offline:
            kind = "a chat model" if model.family == "chat" else "a realtime model"
            raise _unsupported(
                "model",
                f"{name} is {kind}: the transcription endpoint refuses it; use e.g. 'voxtral-mini-latest' "
                "or 'voxtral-mini-transcribe-3'",
            )
        if self.diarize and not model.diarize:
            raise _unsupported(
                "diarize",
                f"{name} cannot label speakers here"
                + (
                    " (vLLM's transcription endpoint has no diarization)"
                    if model.family == "vllm"
                    else " (realtime diarization came with Voxtral 3)"
                    if model.realtime
                    else ""
                )
                + "; drop diarize=, or use Mistral's API, `voxnb serve` or the offline backend",
            )
        words = self.words
        # a diarized realtime session labels its segments itself: the implied "segment" asks nothing
        asked = [g for g in self.timestamps if not (realtime and self.diarize and g == "segment")]
        if realtime and asked:
            raise _unsupported(
                "timestamps",
                f"realtime sessions give no timestamps (got timestamps={asked}); drop timestamps=, then "
                "align the finished take with voxnb.align(transcript, transcript.audio)",
            )
        if "segment" in self.timestamps and not model.segment_timestamps and not realtime:
            raise _unsupported(
                "timestamps",
                f"{name} gives no timestamps on this server (vLLM answers Voxtral with text only); drop "
                "timestamps= and diarize=, or use Mistral's API, `voxnb serve` or the offline backend",
            )
        if "word" in self.timestamps:
            if words == "api" and not model.word_timestamps:
                raise _unsupported(
                    "words",
                    f"{name} gives no word timestamps (Voxtral 3 answers 400 to 'word'); use words='aligned' "
                    "(forced alignment against the audio) or a model that has them, such as 'voxtral-mini-2602'",
                )
            if words == "api" and self.diarize and not model.word_timestamps_with_diarize:
                raise _unsupported(
                    "words",
                    f"{name} gives word timestamps only without diarization (the API wants exactly "
                    "['segment'] with diarize=True); use words='aligned' or drop diarize=",
                )
            if words == "auto":
                api = model.word_timestamps and (model.word_timestamps_with_diarize or not self.diarize)
                words = "api" if api else "aligned"
            if words == "aligned" and not model.segment_timestamps:
                raise _unsupported(
                    "words",
                    f"aligned word times need segment times to align within, and {name} gives none here",
                )
        self._check_bias(model)
        if realtime and self.temperature is not None:
            raise _unsupported(
                "temperature",
                "realtime sessions take no temperature (the model decodes greedily); drop temperature=",
            )
        if self.language is not None:
            if model.languages == ():
                raise _unsupported(
                    "language",
                    f"{name} takes no language= (it detects the language itself); drop language=",
                )
            if model.languages is not None and self.language not in model.languages:
                raise ParameterError(
                    option="language",
                    message=f"{name} does not transcribe language={self.language!r}; it knows "
                    f"{', '.join(model.languages)}"
                    + (
                        " (offline, a multilingual model is chosen with model=)"
                        if model.family == "local"
                        else ""
                    ),
                )
            if self.timestamps and not model.language_with_timestamps and not realtime:
                raise ParameterError(
                    option="language",
                    message=f"language={self.language!r} cannot be combined with timestamps={list(self.timestamps)} "
                    f"(or diarize=) on {name}: the API documents them as incompatible and answers with "
                    "empty text. Either drop language= and let the model detect it, or drop timestamps= "
                    "(and diarize=).",
                )
        if self.num_speakers is not None and not model.num_speakers:
            raise _unsupported(
                "num_speakers",
                f"num_speakers= only works with the offline engine; {name} finds the number of speakers "
                "itself: drop num_speakers=",
            )
        delay = self.target_streaming_delay_ms
        if delay is not None:
            if not realtime:
                raise _unsupported(
                    "target_streaming_delay_ms",
                    "target_streaming_delay_ms= applies to realtime sessions only; drop it for file transcription",
                )
            if not model.streaming_delay:
                raise _unsupported(
                    "target_streaming_delay_ms",
                    f"{name} has no streaming delay setting (the offline engine commits on its own "
                    "schedule); drop target_streaming_delay_ms=",
                )
            ranges = " or ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in model.streaming_delay)
            allowed = any(a <= delay <= b for a, b in model.streaming_delay)
            if model.family == "voxtral-2" and delay != 2400 and delay % 80:
                allowed = False
                ranges = "multiples of 80 from 80 to 1200, or 2400"
            if not allowed:
                raise ParameterError(
                    option="target_streaming_delay_ms",
                    message=f"target_streaming_delay_ms={delay} is not accepted by {name}: use {ranges} (ms)",
                )
        self._check_realtime_settings(model, realtime)
        return replace(self, model=name, words=words, resolved=True)

    def _check_realtime_settings(self, model: ModelCapabilities, realtime: bool) -> None:
        """Known speakers, turn detection and the audio format, against the model and the mode."""
        name = model.name
        if self.speaker_references and not model.speaker_references:
            raise _unsupported(
                "speaker_references",
                f"{name} cannot name speakers from reference clips (Voxtral 3, its realtime model, `voxnb "
                "serve` and the offline engine can); drop speaker_references= and rename the speakers "
                "afterwards with transcript.rename_speakers({'speaker_1': 'Ada'})",
            )
        if self.turn_detection is not None:
            if not realtime:
                raise _unsupported(
                    "turn_detection",
                    "turn_detection is only supported on the realtime transcription endpoint; drop it for "
                    "file transcription (diarize=True splits a file by speaker)",
                )
            if not model.turn_detection:
                raise _unsupported(
                    "turn_detection",
                    f"{name} has no turn detection (it came with Voxtral 3's realtime model, "
                    "'voxtral-mini-transcribe-realtime-3'); drop turn_detection=",
                )
        for option, value in (("encoding", self.encoding), ("sample_rate", self.sample_rate)):
            if value is not None and not realtime:
                raise _unsupported(
                    option,
                    f"{option}= describes the PCM of a realtime session; a file's own header says how it "
                    f"is encoded: drop {option}=",
                )
        if self.encoding is not None and self.encoding not in model.encodings:
            raise _unsupported(
                "encoding",
                f"{name} takes {', '.join(model.encodings) or 'no audio format setting'} on this server, not "
                f"encoding={self.encoding!r}; convert the audio (voxnb.Audio.to_pcm16()) or send pcm_s16le",
            )
        low, high = model.sample_rates
        if self.sample_rate is not None and not low <= self.sample_rate <= high:
            accepted = f"{low} Hz" if low == high else f"{low} to {high} Hz"
            raise _unsupported(
                "sample_rate",
                f"{name} takes audio at {accepted} on this server, not sample_rate={self.sample_rate}; "
                "resample it (voxnb.Audio.resample) or drop sample_rate=",
            )

    def _check_bias(self, model: ModelCapabilities) -> None:
        if not self.context_bias:
            return
        name = model.name
        if model.context_bias is None:
            where = " (vLLM ignores it)" if model.family == "vllm" else ""
            raise _unsupported(
                "context_bias",
                f"{name} takes no context_bias here{where}; drop context_bias=, or use Mistral's API "
                "(voxtral-mini-latest or Voxtral 3), `voxnb serve` or the offline backend",
            )
        if model.max_context_bias is not None and len(self.context_bias) > model.max_context_bias:
            raise ParameterError(
                option="context_bias",
                message=f"context_bias has {len(self.context_bias)} entries; {name} accepts at most "
                f"{model.max_context_bias}. Keep the terms most likely to be misrecognised.",
            )
        if model.context_bias == "token":
            for term in self.context_bias:
                if any(c.isspace() for c in term):
                    raise ParameterError(
                        option="context_bias",
                        message=f"context_bias entry {term!r} is not a single term: {name} refuses whitespace inside "
                        f"a term; write it as {bias_terms([term])[0]!r}, convert the whole list with "
                        "voxnb.bias_terms([...]), or use a Voxtral 3 model, which takes phrases",
                    )

    # -- what it produces --------------------------------------------------------------------------

    @property
    def wire_timestamps(self) -> tuple[str, ...]:
        """The timestamp granularities asked of the backend (word only when the model gives them)."""
        if self.words == "aligned":
            return tuple(g for g in self.timestamps if g != "word") or ("segment",)
        return self.timestamps

    @property
    def align_words(self) -> bool:
        """Whether word times are made by forced alignment after the response arrives."""
        return self.words == "aligned"

    def record(self) -> dict[str, Any]:
        """What :attr:`voxnb.Transcript.request` keeps: every option, the same keys for every backend.

        ``timestamp_granularities`` is what was asked of the backend; ``words`` says how the
        word times were made (``"api"``, ``"aligned"`` or None). Known speakers are recorded
        as name → sha256 of the clip (never the audio). The options that came later
        (``speaker_references``, ``turn_detection``, ``encoding``, ``sample_rate``) appear only
        when set, so that transcription-cache entries made before them stay valid.

        Examples
        --------
        >>> sorted(TranscriptionRequest.create().record())  # doctest: +NORMALIZE_WHITESPACE
        ['context_bias', 'diarize', 'language', 'model', 'num_speakers', 'target_streaming_delay_ms',
         'temperature', 'timestamp_granularities', 'words']
        """
        return {
            "model": self.model,
            "timestamp_granularities": list(self.wire_timestamps),
            "words": self.words,
            "diarize": self.diarize,
            "context_bias": list(self.context_bias),
            "language": self.language,
            "temperature": self.temperature,
            "num_speakers": self.num_speakers,
            "target_streaming_delay_ms": self.target_streaming_delay_ms,
            **self._later_record(),
        }

    def _later_record(self) -> dict[str, Any]:
        later: dict[str, Any] = {}
        if self.speaker_references:
            later["speaker_references"] = {ref.name: ref.sha256 for ref in self.speaker_references}
        if self.turn_detection is not None:
            later["turn_detection"] = dict(self.turn_detection)
        if self.encoding is not None:
            later["encoding"] = self.encoding
        if self.sample_rate is not None:
            later["sample_rate"] = self.sample_rate
        return later

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TranscriptionRequest:
        """The request a :meth:`record` describes (e.g. a transcript's, to run it again).

        A record holds the hashes of known speakers' clips, not the clips: give them again as
        ``speaker_references=`` to repeat such a request.

        Examples
        --------
        >>> request = TranscriptionRequest.create(timestamps="segment", context_bias=["Joplin"])
        >>> TranscriptionRequest.from_record(request.record()) == request
        True
        """
        options = {
            "model": record.get("model"),
            "timestamps": record.get("timestamp_granularities") or None,
            "words": record.get("words"),
            "diarize": bool(record.get("diarize", False)),
            "context_bias": record.get("context_bias") or None,
            "language": record.get("language"),
            "temperature": record.get("temperature"),
            "num_speakers": record.get("num_speakers"),
            "target_streaming_delay_ms": record.get("target_streaming_delay_ms"),
            "turn_detection": record.get("turn_detection"),
            "encoding": record.get("encoding"),
            "sample_rate": record.get("sample_rate"),
        }
        # words="aligned" puts "word" back among the timestamps the record lists as sent
        return cls.create(**{k: v for k, v in options.items() if v is not None})

    def options(self) -> dict[str, Any]:
        """The options as keywords that :meth:`create` turns back into this request.

        Examples
        --------
        >>> TranscriptionRequest.create(diarize=True).options()
        {'timestamps': ['segment'], 'diarize': True}
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            empty = value is False or (value == () and f.name != "turn_detection")
            if f.name == "resolved" or value is None or empty:
                continue
            if f.name == "speaker_references":
                value = {ref.name: ref for ref in value}
            elif f.name == "turn_detection":
                value = dict(value) or True
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def form_fields(self, dialect: str = "mistral", *, stream: bool = False) -> dict[str, str | list[str]]:
        """Multipart form fields (without the audio part) in *dialect*'s wire form.

        A list value becomes one repeated part per item under the same name.

        Examples
        --------
        >>> from voxnb.models import capabilities
        >>> request = TranscriptionRequest.create(diarize=True, context_bias=["Joplin"])
        >>> request.resolve(capabilities("voxtral-mini-latest")).form_fields()
        {'model': 'voxtral-mini-latest', 'stream': 'false', 'diarize': 'true', 'timestamp_granularities': ['segment'], 'context_bias': ['Joplin']}
        """
        self._require_resolved()
        if dialect not in DIALECTS:
            raise ParameterError(f"dialect must be one of {DIALECTS}; got {dialect!r}", option="dialect")
        assert self.model is not None
        fields_: dict[str, str | list[str]] = {"model": self.model}
        wire = list(self.wire_timestamps)
        if dialect == "mistral":
            fields_["stream"] = "true" if stream else "false"
            fields_["diarize"] = "true" if self.diarize else "false"
            if wire:
                fields_["timestamp_granularities"] = wire
            if self.context_bias:
                fields_["context_bias"] = list(self.context_bias)
        else:
            if stream:
                fields_["stream"] = "true"
            if wire:
                fields_["response_format"] = "verbose_json"  # timestamps come only in verbose_json
                fields_["timestamp_granularities[]"] = wire
        if self.language is not None:
            fields_["language"] = self.language
        if self.temperature is not None:
            fields_["temperature"] = repr(self.temperature)
        return fields_

    def json_parts(self) -> list[tuple[str, tuple[None, str, str]]]:
        """The multipart parts that hold JSON (Mistral's ``speaker_references``), as httpx ``files=``.

        One part, no filename, ``Content-Type: application/json``, holding ``{name: base64 audio}``:
        how the ``mistralai`` SDK sends the field (``MultipartFormMetadata(json=True)``).

        Examples
        --------
        >>> TranscriptionRequest.create().json_parts()
        []
        """
        import json

        if not self.speaker_references:
            return []
        clips = {ref.name: ref.base64 for ref in self.speaker_references}
        return [("speaker_references", (None, json.dumps(clips, separators=(",", ":")), "application/json"))]

    def json_body(self) -> dict[str, Any]:
        """The request as a JSON body in Mistral's dialect: what one line of a batch job carries.

        The model is not in it (a batch job runs one model, named on the job) and neither is
        the audio (the caller adds ``file_id`` or ``file_url``). Lists are JSON arrays,
        ``diarize`` a JSON boolean, ``speaker_references`` an object of name → base64 audio;
        the field names are those of ``mistralai``'s ``AudioTranscriptionRequest``.

        Examples
        --------
        >>> from voxnb.models import capabilities
        >>> request = TranscriptionRequest.create(diarize=True, context_bias=["Joplin"], language=None)
        >>> request.resolve(capabilities("voxtral-mini-transcribe-3")).json_body()
        {'diarize': True, 'timestamp_granularities': ['segment'], 'context_bias': ['Joplin']}
        """
        self._require_resolved()
        body: dict[str, Any] = {"diarize": self.diarize}
        if self.wire_timestamps:
            body["timestamp_granularities"] = list(self.wire_timestamps)
        if self.context_bias:
            body["context_bias"] = list(self.context_bias)
        if self.language is not None:
            body["language"] = self.language
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.speaker_references:
            body["speaker_references"] = {ref.name: ref.base64 for ref in self.speaker_references}
        return body

    def session_update(self) -> dict[str, Any]:
        """The ``session`` object of a realtime ``session.update`` (Mistral's dialect).

        Every setting the request holds is in it (none is dropped); ``turn_detection=True`` is
        sent as ``{}``, which the API reads as its defaults. Field names are those of
        ``mistralai``'s ``RealtimeTranscriptionSessionUpdatePayload``.

        Examples
        --------
        >>> from voxnb.models import capabilities
        >>> realtime = capabilities("voxtral-mini-transcribe-realtime-3")
        >>> request = TranscriptionRequest.create(turn_detection={"min_silence_ms": 400}, encoding="pcm_mulaw",
        ...                                       sample_rate=8000)
        >>> request.resolve(realtime, realtime=True).session_update()
        {'audio_format': {'encoding': 'pcm_mulaw', 'sample_rate': 8000}, 'turn_detection': {'min_silence_ms': 400}}
        """
        self._require_resolved()
        session: dict[str, Any] = {
            "audio_format": {
                "encoding": self.encoding or AUDIO_ENCODINGS[0],
                "sample_rate": self.sample_rate or DEFAULT_SAMPLE_RATE,
            }
        }
        if self.target_streaming_delay_ms is not None:
            session["target_streaming_delay_ms"] = self.target_streaming_delay_ms
        if self.context_bias:
            session["context_bias"] = list(self.context_bias)
        if self.language is not None:
            session["language"] = self.language
        if self.diarize:
            session["diarize"] = True
        if self.speaker_references:
            session["speaker_references"] = {ref.name: ref.base64 for ref in self.speaker_references}
        if self.turn_detection is not None:
            session["turn_detection"] = dict(self.turn_detection)
        return session

    def engine_options(self) -> dict[str, Any]:
        """The keyword arguments of an engine's ``transcribe`` (``voxnb.local.protocol``).

        Examples
        --------
        >>> from voxnb.models import engine_capabilities
        >>> local = engine_capabilities("tiny", languages=("en",))
        >>> TranscriptionRequest.create(diarize=True, num_speakers=2).resolve(local).engine_options()
        {'timestamps': ['segment'], 'diarize': True, 'context_bias': None, 'language': None, 'temperature': None, 'num_speakers': 2}
        """
        self._require_resolved()
        return {
            "timestamps": list(self.wire_timestamps) or None,
            "diarize": self.diarize,
            "context_bias": list(self.context_bias) or None,
            "language": self.language,
            "temperature": self.temperature,
            "num_speakers": self.num_speakers,
        }

    def _require_resolved(self) -> None:
        if not self.resolved:
            raise ParameterError("resolve the request against a model first (TranscriptionRequest.resolve)")


#: the transcription fields of a JSON body and their JSON types
_BODY_FIELDS: dict[str, Any] = {
    "timestamp_granularities": list,
    "diarize": bool,
    "context_bias": list,
    "language": str,
    "temperature": (int, float),
    "speaker_references": dict,
}
_BODY_TYPE_NAMES = {
    "timestamp_granularities": "array of strings",
    "diarize": "true or false",
    "context_bias": "array of strings",
    "language": "string",
    "temperature": "number",
    "speaker_references": "object of name → base64 audio",
}


def _check_wire_diarize(diarize: bool | None, granularities: list[Any]) -> None:
    """Mistral's rule outside streaming: diarize needs exactly ``["segment"]`` timestamps."""
    if diarize and granularities != ["segment"]:
        raise ParameterError(
            "Assertion failed, When diarize is set to True and streaming is disabled, the timestamp "
            f"granularity must be set to ['segment'], got {granularities}",
            option="timestamps",
        )


def _wire_references(value: Any) -> dict[str, bytes]:
    """``speaker_references`` as the wire carries it (JSON text or object of base64) → name → clip bytes."""
    import base64
    import binascii
    import json

    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            raise ParameterError(
                "speaker_references must be a JSON object of name → base64 audio", option="speaker_references"
            ) from None
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"speaker_references must be a JSON object of name → base64 audio; got {_short(value)}",
            option="speaker_references",
        )
    clips = {}
    for name, encoded in value.items():
        try:
            clips[name] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ParameterError(
                f"speaker_references[{name!r}] must be base64 of an audio file", option="speaker_references"
            ) from None
    return clips


def response_granularity(backend: str, timestamps: Iterable[str]) -> str | None:
    """How the words sit in a *backend*'s response asked for *timestamps* (for ``Transcript.from_response``).

    The offline engine nests words inside its segments whatever was asked; Mistral's API asked
    for word timestamps alone sends one word per segment.

    Examples
    --------
    >>> response_granularity("local", ["word"]), response_granularity("mistral", ["word"])
    ('segment', 'word')
    >>> response_granularity("mistral", ["segment", "word"]) is None
    True
    """
    if backend == "local":
        return "segment"
    return "word" if tuple(timestamps) == ("word",) else None


def _unsupported(option: str, message: str) -> ParameterError:
    return ParameterError(message, option=option, unsupported=True)


def _wire_bool(name: str, value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ParameterError(f"{name} must be 'true' or 'false' on the wire; got {_short(value)}", option=name)


def _wire_number(name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number; got {_short(value)}", option=name) from None
