"""Known speakers offline: label speaker clusters by the nearest reference voice.

Voxtral 3 names known speakers itself when it is given reference clips (``speaker_references``).
Offline, and in ``voxnb serve``, the same clips name the clusters diarization found: every
cluster's speech and every clip become voice embeddings (:func:`voxnb.local.diarize.embed_chunks`,
resemblyzer's encoder run in numpy), each cluster is paired with at most one clip and each clip
with at most one cluster so that the summed cosine similarity is largest, and a pair below
:data:`MIN_SIMILARITY` is left unnamed (``speaker_2`` stays ``speaker_2``). The similarity of
each named pair is kept (the transcript's speakers table shows it).

On the bundled voices, a speaker against a clip of the same voice from another recording scores
0.90–0.97, against other voices 0.47–0.75.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from voxnb.request import SpeakerReference

__all__ = ["MIN_SIMILARITY", "SpeakerNames", "apply_to_response", "name_speakers"]

#: the least cosine similarity at which a cluster takes a reference's name
MIN_SIMILARITY = 0.8
SR = 16_000


@dataclass(frozen=True)
class SpeakerNames:
    """Which cluster got which name, and how alike the voices were.

    Attributes
    ----------
    names : dict of str → str
        Cluster label (``speaker_1``) → reference name, for the clusters that were named.
    similarity : dict of str → float
        Reference name → cosine similarity between its clip and the cluster it named.
    scores : dict of (str, str) → float
        Every (cluster, reference name) similarity, for inspection.
    """

    names: dict[str, str]
    similarity: dict[str, float]
    scores: dict[tuple[str, str], float]


def _voice(samples: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray | None:
    """One unit embedding for the speech in *spans*, each chunk weighted by its length."""
    from voxnb.local.diarize import embed_chunks

    duration = len(samples) / SR
    spans = [(max(0.0, a), min(duration, b)) for a, b in spans]
    spans = [(a, b) for a, b in spans if b - a >= 0.1]
    if not spans:
        return None
    embeddings = embed_chunks(samples, spans)
    weights = np.array([b - a for a, b in spans])[:, None]
    mean = (embeddings * weights).sum(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def name_speakers(
    samples: np.ndarray,
    segments: Sequence[Mapping[str, Any]],
    references: Sequence[SpeakerReference],
    *,
    min_similarity: float = MIN_SIMILARITY,
) -> SpeakerNames:
    """Name the speaker clusters of *segments* by the nearest reference voice.

    Parameters
    ----------
    samples : numpy.ndarray
        The recording, float32 mono at 16 kHz.
    segments : sequence of mappings
        Mistral-shaped segments with ``start``, ``end`` and ``speaker_id``.
    references : sequence of voxnb.request.SpeakerReference
        The known speakers' clips (checked by the request contract).
    min_similarity : float
        A cluster less alike than this to every free reference keeps its label.

    Returns
    -------
    SpeakerNames

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.request import SpeakerReference
    >>> audio = voxnb.data.audio("two_voices")
    >>> segments = [{"start": t.start, "end": t.end, "speaker_id": "speaker_1" if t.speaker == "Ada" else "speaker_2"}
    ...             for t in voxnb.data.turns("two_voices").itertuples()]
    >>> ada = SpeakerReference.from_clip("Ada", voxnb.data.path("words_slt"))   # the same voice, another recording
    >>> found = name_speakers(audio.y, segments, [ada])
    >>> found.names, round(found.similarity["Ada"], 2) > 0.8
    ({'speaker_1': 'Ada'}, True)
    """
    from scipy.optimize import linear_sum_assignment

    from voxnb.audio import Audio

    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    spans: dict[str, list[tuple[float, float]]] = {}
    for segment in segments:
        speaker, start, end = segment.get("speaker_id"), segment.get("start"), segment.get("end")
        if speaker is not None and start is not None and end is not None:
            spans.setdefault(str(speaker), []).append((float(start), float(end)))
    clusters = {
        label: voice
        for label, voice in ((k, _voice(samples, v)) for k, v in spans.items())
        if voice is not None
    }
    refs = {}
    for ref in references:
        clip = Audio.load(ref.data, sr=SR).y
        voice = _voice(clip, [(0.0, len(clip) / SR)])
        if voice is not None:
            refs[ref.name] = voice
    if not clusters or not refs:
        return SpeakerNames({}, {}, {})
    labels, names = list(clusters), list(refs)
    scores = np.stack([clusters[k] for k in labels]) @ np.stack([refs[n] for n in names]).T
    rows, cols = linear_sum_assignment(-scores)
    named = {labels[r]: names[c] for r, c in zip(rows, cols) if scores[r, c] >= min_similarity}
    similarity = {names[c]: round(float(scores[r, c]), 4) for r, c in zip(rows, cols) if labels[r] in named}
    every = {
        (labels[r], names[c]): round(float(scores[r, c]), 4)
        for r in range(len(labels))
        for c in range(len(names))
    }
    return SpeakerNames(named, similarity, every)


def apply_to_response(response: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """*response* (Mistral's shape) with each named cluster's ``speaker_id`` replaced by its name.

    Examples
    --------
    >>> apply_to_response({"segments": [{"text": "Hi", "speaker_id": "speaker_1"}]}, {"speaker_1": "Ada"})
    {'segments': [{'text': 'Hi', 'speaker_id': 'Ada'}]}
    """
    if not names:
        return response
    segments = [
        {**segment, "speaker_id": names.get(segment.get("speaker_id"), segment.get("speaker_id"))}
        for segment in response.get("segments") or []
    ]
    return {**response, "segments": segments}
