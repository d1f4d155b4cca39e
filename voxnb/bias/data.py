"""Items for biasing experiments: the LibriSpeech biasing-list TSV format and the bundled TTS set.

The LibriSpeech biasing benchmark (``facebookresearch/fbai-speech: is21_deep_bias/ref/``) ships one
TSV per split and list size, with four tab-separated columns: utterance id, lowercased reference,
the rare words present in the reference (JSON list) and the utterance's biasing list (JSON list,
the rare words plus N distractors). :func:`read_biasing_tsv` reads it; with ``audio_dir`` pointing
at a LibriSpeech split (``<speaker>/<chapter>/<utt>.flac``) the items can be transcribed.

The bundled set (:func:`load_bundled`) is 20 short English TTS utterances rich in rare proper
nouns, made with Debian's espeak-ng and flite voices by ``voxnb/data/bias/make_bias_set.py``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from voxnb.errors import ParameterError

__all__ = ["BUNDLED_DIR", "BiasItem", "bundled_distractors", "load_bundled", "read_biasing_tsv"]

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "data" / "bias"


@dataclass(frozen=True)
class BiasItem:
    """One utterance of a biasing experiment.

    Attributes
    ----------
    name : str
        Utterance id.
    audio : str, Path, Audio or None
        What to transcribe (anything ``voxnb.audio.as_audio`` accepts); None for score-only use.
    reference : str
        The reference transcript.
    rare_words : tuple of str
        The terms of the reference a bias list should contain (the "oracle" list).
    biasing_list : tuple of str
        A fixed biasing list given with the data (the benchmark's fourth column), if any.
    block : str or None
        A grouping for the blockwise bootstrap (speaker, recording).
    """

    name: str
    audio: Any
    reference: str
    rare_words: tuple[str, ...] = ()
    biasing_list: tuple[str, ...] = ()
    block: str | None = None
    meta: dict = field(default_factory=dict, compare=False)

    @classmethod
    def coerce(cls, obj: Any, index: int) -> BiasItem:
        """Accept a BiasItem, a mapping, or a tuple ``(audio, reference[, rare_words])``."""
        if isinstance(obj, BiasItem):
            return obj
        if isinstance(obj, dict):
            data = dict(obj)
            unknown = set(data) - {
                "name",
                "id",
                "audio",
                "reference",
                "text",
                "rare_words",
                "biasing_list",
                "block",
            }
            if unknown:
                raise ParameterError(f"item {index}: unknown keys {sorted(unknown)}")
            name = data.get("name", data.get("id"))
            reference = data.get("reference", data.get("text"))
            audio, rare, listed, block = (
                data.get(k) for k in ("audio", "rare_words", "biasing_list", "block")
            )
        elif isinstance(obj, (tuple, list)) and 2 <= len(obj) <= 3:
            audio, reference, rare = (*obj, ())[:3]
            name = listed = block = None
        else:
            raise ParameterError(
                f"item {index}: give a BiasItem, a dict with audio/reference/rare_words, "
                f"or a tuple (audio, reference, rare_words); got {type(obj).__name__}"
            )
        if not isinstance(reference, str):
            raise ParameterError(f"item {index}: the reference must be a string")
        if name is None:
            name = Path(audio).stem if isinstance(audio, (str, Path)) else f"item{index}"
        what = f"item {index}: rare_words / biasing_list"
        return cls(str(name), audio, reference, term_tuple(rare, what), term_tuple(listed, what),
                   None if block is None else str(block))  # fmt: skip


def term_tuple(value: Any, what: str) -> tuple[str, ...]:
    """*value* (None, or a collection of strings other than one string) as a tuple of terms."""
    if value is None:
        return ()
    if not isinstance(value, (str, bytes)) and isinstance(value, Iterable):
        value = tuple(value)
        if all(map(isinstance, value, repeat(str))):  # map: this runs for every list of a corpus
            return value
    raise ParameterError(f"{what} must be a list of strings")


def read_biasing_tsv(path: str | Path, *, audio_dir: str | Path | None = None) -> list[BiasItem]:
    """Read a LibriSpeech biasing-list TSV (``test-clean.biasing_100.tsv`` and its siblings).

    Parameters
    ----------
    path : str or Path
        The TSV: utterance id, reference, rare words (JSON), biasing list (JSON).
    audio_dir : str or Path, optional
        A LibriSpeech split directory; each item's audio is then
        ``<audio_dir>/<speaker>/<chapter>/<utterance id>.flac``. Without it, ``audio`` is None.

    Returns
    -------
    list of BiasItem
        ``block`` is the speaker id, for the blockwise bootstrap.

    Examples
    --------
    >>> import tempfile, os
    >>> row = '1089-134686-0000\\the hoped there would be stew\\t["stew"]\\t["stew", "quillara"]\\n'
    >>> with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
    ...     _ = f.write(row)
    >>> items = read_biasing_tsv(f.name); os.unlink(f.name)
    >>> items[0].rare_words, items[0].biasing_list, items[0].block
    (('stew',), ('stew', 'quillara'), '1089')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"read_biasing_tsv() takes the path of a TSV file; got a {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            f"no biasing TSV at {path}; download it from facebookresearch/fbai-speech (is21_deep_bias/ref)"
        )
    items = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                raise ParameterError(f"{path}:{line_no}: expected 4 tab-separated columns, found {len(cols)}")
            try:
                rare = json.loads(cols[2])
                listed = json.loads(cols[3]) if len(cols) > 3 else rare
            except json.JSONDecodeError as exc:
                raise ParameterError(f"{path}:{line_no}: the word lists must be JSON lists ({exc})") from None
            utt = cols[0]
            speaker, chapter = [*utt.split("-"), "", ""][:2]
            audio = Path(audio_dir) / speaker / chapter / f"{utt}.flac" if audio_dir is not None else None
            what = f"{path}:{line_no}: the word lists"
            items.append(
                BiasItem(utt, audio, cols[1], term_tuple(rare, what), term_tuple(listed, what), speaker)
            )
    return items


def load_bundled() -> list[BiasItem]:
    """The bundled set: 20 TTS utterances rich in rare proper nouns (16 kHz mono Ogg Vorbis).

    Each item's ``rare_words`` are ``context_bias`` terms (multi-word terms joined by ``_``);
    ``block`` is the TTS voice, ``meta["spoken"]`` what the voice was given to read.

    Examples
    --------
    >>> items = load_bundled()
    >>> len(items), items[0].rare_words
    (20, ('Janis_Joplin', 'Sausalito'))
    """
    with open(BUNDLED_DIR / "sentences.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        BiasItem(
            r["id"],
            BUNDLED_DIR / "audio" / f"{r['id']}.ogg",
            r["reference"],
            tuple(json.loads(r["rare_words"])),
            block=r["voice"],
            meta={"spoken": r["spoken"] or r["reference"]},
        )
        for r in rows
    ]


def bundled_distractors() -> list[str]:
    """The bundled distractor pool: rare names and terms that occur in none of the bundled utterances.

    Examples
    --------
    >>> pool = bundled_distractors()
    >>> len(pool) >= 60, all(" " not in t for t in pool)  # context_bias terms: phrases joined by _
    (True, True)
    """
    text = (BUNDLED_DIR / "distractors.txt").read_text(encoding="utf-8")
    return [t.strip() for t in text.splitlines() if t.strip()]


def as_items(items: Sequence[Any]) -> list[BiasItem]:
    """Coerce each element (see :meth:`BiasItem.coerce`) and check that names are unique."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise ParameterError(
            f"items must be a list of BiasItem (or dicts, or (name, audio, reference) tuples); got a {type(items).__name__}"
        )
    out = [BiasItem.coerce(obj, k) for k, obj in enumerate(items)]
    seen: set[str] = set()
    for it in out:
        if it.name in seen:
            raise ParameterError(f"two items are named {it.name!r}; give each item a unique name")
        seen.add(it.name)
    if not out:
        raise ParameterError("an experiment needs at least one item")
    return out
