"""Text normalisation for scoring: one function applied alike to references, hypotheses and bias terms.

The normalisers themselves come from the maintained ``whisper-normalizer`` package (Whisper's
English and basic normalisers), not from a copy. Scoring tokenises the result on whitespace
only, as the LibriSpeech biasing scorer does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from voxnb.errors import MissingDependencyError, ParameterError

__all__ = ["NORMALIZERS", "normalize", "normalize_term", "normalizer_name", "resolve_normalizer"]

#: the named modes :func:`normalize` accepts
NORMALIZERS = ("whisper-en", "basic", None)

Normalizer = str | None | Callable[[str], str]

_SPACES = re.compile(r"\s+")


@functools.cache
def _whisper(mode: str) -> Callable[[str], str]:
    try:
        if mode == "whisper-en":
            from whisper_normalizer.english import EnglishTextNormalizer

            return EnglishTextNormalizer()
        from whisper_normalizer.basic import BasicTextNormalizer

        return BasicTextNormalizer()
    except ImportError:
        raise MissingDependencyError("whisper-normalizer", "bias", f"the {mode!r} normaliser") from None


def _whitespace_only(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _checked(normalizer: Callable[[str], str], text: str) -> str:
    out = normalizer(text)
    if not isinstance(out, str):
        raise ParameterError(
            f"the normalizer {normalizer_name(normalizer)} returned {type(out).__name__}, not str; "
            "a normalizer takes a text and returns the normalised text"
        )
    return out


def resolve_normalizer(normalizer: Normalizer) -> Callable[[str], str]:
    """Return the callable behind a normaliser name (or the callable itself).

    Parameters
    ----------
    normalizer : {"whisper-en", "basic", None} or callable
        ``"whisper-en"``: Whisper's ``EnglishTextNormalizer`` (lowercase, no punctuation or
        diacritics, numbers as digits, American spelling, "Dr" → "doctor", fillers dropped).
        ``"basic"``: Whisper's ``BasicTextNormalizer`` (lowercase, symbols removed, diacritics
        kept). ``None``: whitespace collapsed, nothing else. A callable ``str -> str`` is used as is
        (a result that is not a string raises :class:`~voxnb.errors.ParameterError`).

    Examples
    --------
    >>> resolve_normalizer("basic")("Zoë, hello!")
    'zoë hello'
    """
    if callable(normalizer):
        return functools.partial(_checked, normalizer)
    if normalizer is None:
        return _whitespace_only
    if normalizer in ("whisper-en", "basic"):
        whisper = _whisper(normalizer)
        return lambda text: _whitespace_only(whisper(text))
    raise ParameterError(
        f"unknown normalizer {normalizer!r}; use one of 'whisper-en', 'basic', None, or a function str -> str"
    )


def normalizer_name(normalizer: Normalizer) -> str:
    """A label for results: the mode's name, ``"none"``, or the callable's qualified name.

    Examples
    --------
    >>> normalizer_name(None), normalizer_name("basic"), normalizer_name(str.lower)
    ('none', 'basic', 'str.lower')
    """
    if normalizer is None:
        return "none"
    if isinstance(normalizer, str):
        return normalizer
    return getattr(normalizer, "__qualname__", None) or type(normalizer).__name__


def normalize(text: str, mode: Normalizer = "whisper-en") -> str:
    """Normalise *text* for scoring.

    Parameters
    ----------
    text : str
        A reference, a hypothesis or a bias term.
    mode : {"whisper-en", "basic", None} or callable, default "whisper-en"
        See :func:`resolve_normalizer`.

    Returns
    -------
    str
        Space-separated tokens, no leading or trailing space.

    Examples
    --------
    >>> normalize("Dr. Quillara met Zoë in St. Ives!")
    'doctor quillara met zoe in saint ives'
    >>> normalize("Dr. Quillara met Zoë in St. Ives!", mode="basic")
    'dr quillara met zoë in st ives'
    """
    if text is None:
        return ""
    return resolve_normalizer(mode)(str(text))


def normalize_term(term: str, mode: Normalizer = "whisper-en") -> str:
    """Normalise a bias term: underscores join words in ``context_bias``, so they become spaces.

    Examples
    --------
    >>> normalize_term("Janis_Joplin")
    'janis joplin'
    """
    return normalize(str(term).replace("_", " "), mode)
