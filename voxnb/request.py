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
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypedDict

from voxnb.errors import ParameterError

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities

__all__ = [
    "DIALECTS",
    "OPTIONS",
    "WORD_TIMINGS",
    "TranscriptionOptions",
    "TranscriptionRequest",
    "bias_terms",
]

#: the wire dialects: Mistral's protocol (Mistral's API, ``voxnb serve``) and OpenAI's (vLLM)
DIALECTS = ("mistral", "openai")
#: how word times may be obtained
WORD_TIMINGS = ("auto", "api", "aligned")
GRANULARITIES = ("segment", "word")
MAX_TEMPERATURE = 2.0
MAX_SPEAKERS = 64
MAX_TERM_CHARS = 200
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


#: every option a request takes, in the order records list them
OPTIONS = tuple(TranscriptionOptions.__annotations__)


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
            f"bias_terms() takes a list of strings; got a {type(phrases).__name__}", option="context_bias"
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
        if (
            dialect == "mistral"
            and diarize
            and not _wire_bool("stream", get("stream"))
            and granularities != ["segment"]
        ):
            raise ParameterError(
                "Assertion failed, When diarize is set to True and streaming is disabled, the timestamp "
                f"granularity must be set to ['segment'], got {granularities}",
                option="timestamps",
            )
        options: dict[str, Any] = {
            "model": get("model"),
            "timestamps": granularities or None,
            # a server gives the model's own word times: it has nothing to align them with for the client
            "words": "api" if "word" in granularities else None,
            "diarize": diarize,
            "context_bias": getlist("context_bias") or None,
            "language": get("language"),
            "temperature": _wire_number("temperature", get("temperature")),
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
        return replace(self, model=name, words=words, resolved=True)

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
        word times were made (``"api"``, ``"aligned"`` or None).

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
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TranscriptionRequest:
        """The request a :meth:`record` describes (e.g. a transcript's, to run it again).

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
            if f.name == "resolved" or value in (None, (), False):
                continue
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
