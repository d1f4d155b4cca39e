"""voxnb's bundled sample audio: small English TTS dialogues with exact reference times.

Made by :mod:`voxnb.data.make_sample` from Debian's TTS voices (festival, flite, espeak-ng);
every utterance was synthesised on its own and joined with known gaps, so the reference times
are exact by construction.

========================  ===================================================================
name                      what it is
========================  ===================================================================
``"dialogue"``            ~45 s, three voices, proper nouns tiny.en misspells without
                          ``context_bias`` (Voxtral, Jupyter, Janis Joplin, Okafor...)
``"two_voices"``          ~16 s, two voices taking turns (speaker-labelling fixture)
``"three_voices"``        ~17 s, three voices taking turns (speaker-labelling fixture)
``"words"``               ~8 s, one voice, each word synthesised alone: exact word boundaries
                          (forced-alignment fixture)
``"words_slt"``           the same with another voice and sentence (held out when tuning)
========================  ===================================================================

Examples
--------
>>> import voxnb
>>> path = voxnb.data.path("dialogue")
>>> ref = voxnb.data.reference("dialogue")
>>> ref["text"][:30], ref["context_bias"][:3]
('Good morning everyone. Today w', ['Voxtral', 'Mistral', 'Jupyter'])
>>> voxnb.data.turns("dialogue").head(2)          # doctest: +SKIP
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from voxnb.errors import ParameterError

HERE = Path(__file__).resolve().parent
NAMES = ("dialogue", "two_voices", "three_voices", "words", "words_slt")

__all__ = ["NAMES", "audio", "path", "reference", "rttm", "turns", "words"]


def _check(name: str) -> str:
    if name not in NAMES:
        raise ParameterError(f"no bundled sample named {name!r}; choose one of {', '.join(NAMES)}")
    return name


@cache
def _reference(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{_check(name)}.json").read_text())


def reference(name: str = "dialogue") -> dict[str, Any]:
    """The sample's reference: ``text``, ``context_bias``, ``voices``, ``turns`` (and ``words``).

    Turns are dicts ``{"speaker", "start", "end", "text"}`` in seconds; the ``"words"`` sample
    also lists every word with its exact ``start`` and ``end``.

    Examples
    --------
    >>> import voxnb
    >>> voxnb.data.reference("two_voices")["turns"][0]["speaker"]
    'Ada'
    """
    return json.loads(json.dumps(_reference(name)))  # a copy the caller may change


def path(name: str = "dialogue") -> Path:
    """Path of the sample's audio file (16 kHz mono, Ogg Vorbis or FLAC).

    Examples
    --------
    >>> import voxnb
    >>> voxnb.data.path("words").name
    'words.flac'
    """
    return HERE / _reference(name)["audio"]


def audio(name: str = "dialogue"):
    """The sample as a :class:`voxnb.Audio`.

    Examples
    --------
    >>> import voxnb
    >>> audio = voxnb.data.audio("two_voices")
    >>> audio.sr, round(audio.duration, 1)
    (16000, 15.8)
    """
    from voxnb.audio import Audio

    return Audio.load(path(name))


def turns(name: str = "dialogue"):
    """Reference speaker turns as a DataFrame (``speaker``, ``start``, ``end``, ``text``).

    Examples
    --------
    >>> import voxnb
    >>> list(voxnb.data.turns("two_voices").columns)
    ['speaker', 'start', 'end', 'text']
    """
    import pandas as pd

    frame = pd.DataFrame(_reference(name)["turns"])
    return frame.astype({"speaker": "category", "text": "string"})


def words(name: str = "words"):
    """Reference word boundaries as a DataFrame (``text``, ``start``, ``end``).

    Only ``"words"`` and ``"words_slt"`` have them.

    Examples
    --------
    >>> import voxnb
    >>> voxnb.data.words("words")["text"].iloc[0]
    'Janis'
    """
    import pandas as pd

    ref = _reference(name)
    if "words" not in ref:
        raise ParameterError(f"the sample {name!r} has no word boundaries; use voxnb.data.words('words')")
    return pd.DataFrame(ref["words"]).astype({"text": "string"})


def rttm(name: str = "dialogue") -> str:
    """Reference speaker turns in RTTM, the format diarization scorers read.

    Examples
    --------
    >>> import voxnb
    >>> voxnb.data.rttm("two_voices").splitlines()[0]
    'SPEAKER two_voices 1 0.300 2.065 <NA> <NA> Ada <NA> <NA>'
    """
    return "".join(
        f"SPEAKER {name} 1 {t['start']:.3f} {t['end'] - t['start']:.3f} <NA> <NA> {t['speaker']} <NA> <NA>\n"
        for t in _reference(name)["turns"]
    )
