"""Transcription request parameters: validation before any byte is sent, and the wire form.

The wire facts follow ``spec/mistral-api.md`` §1: list fields are repeated form parts under
their bare name (never ``name[]``, never comma-joined), booleans are ``"true"``/``"false"``.
The ``openai`` dialect (vLLM and other OpenAI-compatible servers, §9) uses the bracketed
``timestamp_granularities[]`` alias and ignores diarization and context bias, which are dropped
here with a warning rather than silently.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["BIAS_TERM", "DIALECTS", "LANGUAGE_CODE", "MAX_CONTEXT_BIAS", "TranscriptionParams", "bias_terms"]

DIALECTS = ("mistral", "openai")
#: the API's limits on ``context_bias`` and ``language`` (``voxnb serve`` enforces the same)
MAX_CONTEXT_BIAS = 100
BIAS_TERM = re.compile(r"^[^,\s]+$")
LANGUAGE_CODE = re.compile(r"^\w{2}$")
_GRANULARITIES = ("segment", "word")
_SEPARATORS = re.compile(r"[\s,]+")


def bias_terms(phrases: Iterable[str]) -> list[str]:
    """Turn words and phrases into valid ``context_bias`` terms.

    Current Voxtral models accept each term only without whitespace or commas; a phrase is
    written with underscores instead. Duplicates are dropped, order is kept.

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
    terms: list[str] = []
    for phrase in phrases:
        if not isinstance(phrase, str):
            raise ParameterError(f"bias_terms() takes strings; got {type(phrase).__name__} {phrase!r}")
        term = "_".join(part for part in _SEPARATORS.split(phrase) if part)
        if not term:
            raise ParameterError(f"bias_terms() got an empty phrase {phrase!r}; remove it from the list")
        if term not in terms:
            terms.append(term)
    return terms


def _as_granularities(timestamps: Any) -> tuple[str, ...]:
    if timestamps is None or timestamps is False:
        return ()
    if isinstance(timestamps, str):
        timestamps = [timestamps]
    try:
        given = list(timestamps)
    except TypeError:
        raise ParameterError(
            f"timestamps must be 'segment', 'word' or a list of them; got {timestamps!r}"
        ) from None
    unknown = [g for g in given if g not in _GRANULARITIES]
    if unknown:
        raise ParameterError(f"timestamps must be 'segment', 'word' or a list of them; got {unknown[0]!r}")
    return tuple(g for g in _GRANULARITIES if g in given)


def _as_bias(context_bias: Any) -> tuple[str, ...]:
    if context_bias is None:
        return ()
    if isinstance(context_bias, str):
        context_bias = [context_bias]
    terms = list(context_bias)
    if len(terms) > MAX_CONTEXT_BIAS:
        raise ParameterError(
            f"context_bias has {len(terms)} entries; the API accepts at most {MAX_CONTEXT_BIAS}. "
            "Keep the terms most likely to be misrecognised."
        )
    for term in terms:
        if not isinstance(term, str) or not BIAS_TERM.match(term):
            fixed = bias_terms([term]) if isinstance(term, str) and term.strip(" ,") else None
            hint = (
                f"write it as {fixed[0]!r}, or convert the whole list with voxnb.bias_terms([...])"
                if fixed
                else "remove it"
            )
            raise ParameterError(
                f"context_bias entry {term!r} is not a single term: current models refuse whitespace "
                f"and commas inside a term; {hint}"
            )
    return tuple(dict.fromkeys(terms))


@dataclass(frozen=True)
class TranscriptionParams:
    """Validated parameters of one transcription request (never the API key).

    Build with :meth:`create`, which checks everything the API would refuse, so that a bad
    request costs no upload.
    """

    model: str
    timestamps: tuple[str, ...] = ()
    diarize: bool = False
    context_bias: tuple[str, ...] = ()
    language: str | None = None
    temperature: float | None = None
    dialect: str = "mistral"

    @classmethod
    def create(
        cls,
        *,
        model: str,
        timestamps: Any = None,
        diarize: bool = False,
        context_bias: Any = None,
        language: str | None = None,
        temperature: float | None = None,
        dialect: str = "mistral",
    ) -> TranscriptionParams:
        if dialect not in DIALECTS:
            raise ParameterError(f"dialect must be one of {DIALECTS}; got {dialect!r}")
        if not isinstance(model, str) or not model.strip():
            raise ParameterError(f"model must be a model name such as 'voxtral-mini-latest'; got {model!r}")
        if not isinstance(diarize, bool):
            raise ParameterError(f"diarize must be True or False; got {diarize!r}")
        granularities = _as_granularities(timestamps)
        bias = _as_bias(context_bias)
        if language is not None and (not isinstance(language, str) or not LANGUAGE_CODE.match(language)):
            raise ParameterError(
                f"language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got {language!r}"
            )
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
                raise ParameterError(f"temperature must be a number such as 0.0; got {temperature!r}")
            if not math.isfinite(temperature) or temperature < 0:
                raise ParameterError(f"temperature must be a finite number >= 0; got {temperature!r}")
            temperature = float(temperature)

        if dialect == "openai":
            dropped = [name for name, value in (("diarize", diarize), ("context_bias", bias)) if value]
            if dropped:
                warnings.warn(
                    f"the openai dialect (vLLM) ignores {' and '.join(dropped)}; not sending "
                    f"{'them' if len(dropped) > 1 else 'it'}. Use the mistral dialect for "
                    "diarization and context bias.",
                    UserWarning,
                    stacklevel=3,
                )
            diarize, bias = False, ()

        if diarize and granularities != ("segment",):
            raise ParameterError(
                "diarize=True needs segment timestamps and only those: the API refuses diarization "
                f"otherwise (got timestamps={list(granularities) or None}). "
                "Pass timestamps='segment' together with diarize=True."
            )
        if language is not None and granularities:
            raise ParameterError(
                f"language={language!r} cannot be combined with timestamps={list(granularities)}: the "
                "API documents them as incompatible (it answers with empty text). Either drop "
                "language= and let the model detect it, or drop timestamps= (and diarize=)."
            )
        return cls(
            model=model,
            timestamps=granularities,
            diarize=diarize,
            context_bias=bias,
            language=language,
            temperature=temperature,
            dialect=dialect,
        )

    def to_dict(self) -> dict[str, Any]:
        """The parameters as recorded on a Transcript and hashed into cache keys."""
        return {
            "model": self.model,
            "timestamp_granularities": list(self.timestamps),
            "diarize": self.diarize,
            "context_bias": list(self.context_bias),
            "language": self.language,
            "temperature": self.temperature,
            "dialect": self.dialect,
        }

    def form_fields(self, *, stream: bool = False) -> dict[str, str | list[str]]:
        """Multipart form fields (without the audio part) in this dialect's wire form.

        A list value becomes one repeated part per item under the same name.
        """
        fields: dict[str, str | list[str]] = {"model": self.model}
        if self.dialect == "mistral":
            fields["stream"] = _wire_bool(stream)
            fields["diarize"] = _wire_bool(self.diarize)
            if self.timestamps:
                fields["timestamp_granularities"] = list(self.timestamps)
            if self.context_bias:
                fields["context_bias"] = list(self.context_bias)
        else:
            if stream:
                fields["stream"] = "true"
            if self.timestamps:
                # OpenAI-compatible servers only return timestamps in verbose_json
                fields["response_format"] = "verbose_json"
                fields["timestamp_granularities[]"] = list(self.timestamps)
        if self.language is not None:
            fields["language"] = self.language
        if self.temperature is not None:
            fields["temperature"] = repr(self.temperature)
        return fields


def _wire_bool(value: bool) -> str:
    return "true" if value else "false"
