"""Offline speaker labels (experimental): who spoke when, with no key and no network.

Speech regions come from the Silero VAD that faster-whisper bundles; each region is cut into
chunks of at most two seconds, every chunk becomes a voice embedding
(:class:`voxnb.local.voice_encoder.VoiceEncoder`, resemblyzer's encoder run in numpy) and the
chunks are clustered (average linkage on cosine distance). Give ``num_speakers`` when you
know it: estimating the count is the fragile part. Overlapping speech is not handled, and a
change of speaker without a pause of about 0.15 s may be missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from voxnb.errors import ParameterError
from voxnb.local.engine import as_samples
from voxnb.local.vad import speech_regions
from voxnb.local.voice_encoder import HOP, PARTIAL_FRAMES, SR, VoiceEncoder

__all__ = ["Turn", "diarize", "label_segments"]

MAX_CHUNK = 2.0  # seconds of speech per embedding: long enough for a voice, short enough for one turn
MIN_SILHOUETTE = 0.4  # below it one voice is assumed (single TTS voices reach 0.31, pairs 0.54+)
MAX_SPEAKERS = 8
MIN_CHUNK = 0.6  # seconds: shorter chunks' embeddings are noise; they follow the clusters, not shape them
MIN_TALK = 2.0  # seconds of speech a speaker needs before the count estimate believes in them


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker, in seconds."""

    start: float
    end: float
    speaker: str


@cache
def _encoder() -> VoiceEncoder:
    return VoiceEncoder()


def _chunks(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Each region cut into equal pieces no longer than MAX_CHUNK."""
    out = []
    for start, end in regions:
        n = max(1, int(np.ceil((end - start) / MAX_CHUNK)))
        edges = np.linspace(start, end, n + 1)
        out += list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    return out


def embed_chunks(samples: np.ndarray, chunks: list[tuple[float, float]]) -> np.ndarray:
    """(n_chunks, 256) unit embeddings; one mel spectrogram of the whole audio serves every chunk.

    Examples
    --------
    >>> import voxnb
    >>> embed_chunks(voxnb.data.audio("two_voices").y, [(0.3, 2.3), (3.0, 5.0)]).shape
    (2, 256)
    """
    encoder = _encoder()
    mel = encoder.mel(encoder.normalize_volume(samples))
    windows: list[np.ndarray] = []
    owner: list[int] = []
    for i, (start, end) in enumerate(chunks):
        first, last = round(start * SR / HOP), max(round(end * SR / HOP), round(start * SR / HOP) + 1)
        frames = mel[first:last]
        for s in encoder.partial_starts(len(frames)):
            window = frames[s : s + PARTIAL_FRAMES]
            windows.append(np.pad(window, ((0, PARTIAL_FRAMES - len(window)), (0, 0))))
            owner.append(i)
    partials = encoder.forward(np.stack(windows))
    sums = np.zeros((len(chunks), partials.shape[1]), np.float32)
    np.add.at(sums, np.asarray(owner), partials)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a square distance matrix (0 where a cluster has one member)."""
    scores = []
    for i, own in enumerate(labels):
        same = labels == own
        if same.sum() < 2:
            scores.append(0.0)
            continue
        a = distances[i, same].sum() / (same.sum() - 1)
        b = min(distances[i, labels == other].mean() for other in set(labels.tolist()) - {own})
        scores.append((b - a) / max(a, b, 1e-12))
    return float(np.mean(scores))


def cluster(
    embeddings: np.ndarray, *, num_speakers: int | None = None, durations: np.ndarray | None = None
) -> np.ndarray:
    """Cluster labels 0..k-1, numbered in order of first appearance.

    With *durations* (seconds of speech per embedding), embeddings of chunks shorter than
    MIN_CHUNK are too noisy to shape the clusters: they join the nearest cluster afterwards, and
    when the count is estimated every speaker must hold MIN_TALK seconds of speech.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]])
    >>> cluster(e / np.linalg.norm(e, axis=1, keepdims=True), num_speakers=2).tolist()
    [0, 0, 1, 1]
    """
    n = len(embeddings)
    if n == 1 or num_speakers == 1:
        return np.zeros(n, dtype=int)
    durations = np.full(n, MIN_TALK, float) if durations is None else np.asarray(durations, float)
    long = durations >= MIN_CHUNK
    if long.sum() < 2:
        long[:] = True
    labels = np.full(n, -1)
    labels[long] = _cluster(embeddings[long], durations[long], num_speakers)
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    labels[~long] = np.argmax(embeddings[~long] @ centroids.T, axis=1)
    _, first = np.unique(labels, return_index=True)
    order = {label: rank for rank, label in enumerate(labels[np.sort(first)])}
    return np.array([order[label] for label in labels])


def _cluster(embeddings: np.ndarray, durations: np.ndarray, num_speakers: int | None) -> np.ndarray:
    """Average-linkage cosine clustering, labels 0..k-1; k given or chosen by silhouette."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    n = len(embeddings)
    condensed = np.clip(pdist(embeddings, metric="cosine"), 0, None)
    tree = linkage(condensed, method="average")
    if num_speakers is not None:
        return fcluster(tree, t=min(num_speakers, n), criterion="maxclust") - 1
    distances = squareform(condensed)
    best, labels = MIN_SILHOUETTE, np.ones(n, dtype=int)
    for k in range(2, min(MAX_SPEAKERS, n - 1) + 1):
        candidate = fcluster(tree, t=k, criterion="maxclust")
        talk = np.bincount(candidate, weights=durations)[1:]
        if len(set(candidate.tolist())) < 2 or talk.min() < MIN_TALK:
            continue
        score = _silhouette(distances, candidate)
        if score > best:
            best, labels = score, candidate
    return labels - 1


def diarize(samples: np.ndarray, *, num_speakers: int | None = None) -> list[Turn]:
    """Speaker turns of float32 mono 16 kHz *samples*.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono audio at 16 kHz.
    num_speakers : int, optional
        How many speakers there are; estimated (by silhouette, 1 to 8) when not given.

    Returns
    -------
    list of Turn
        Speech stretches labelled ``"speaker_1"``, ``"speaker_2"``... in order of first appearance.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local.diarize import diarize
    >>> turns = diarize(voxnb.data.audio("two_voices").y, num_speakers=2)
    >>> turns[0].speaker
    'speaker_1'
    """
    if num_speakers is not None and num_speakers < 1:
        raise ParameterError(f"num_speakers must be at least 1, got {num_speakers}")
    samples = as_samples(samples)
    chunks = _chunks(speech_regions(samples))
    if not chunks:
        return []
    durations = np.array([end - start for start, end in chunks])
    labels = cluster(embed_chunks(samples, chunks), num_speakers=num_speakers, durations=durations)
    turns: list[Turn] = []
    for (start, end), label in zip(chunks, labels.tolist()):
        speaker = f"speaker_{label + 1}"
        if turns and turns[-1].speaker == speaker and start - turns[-1].end < 0.5:
            turns[-1] = Turn(turns[-1].start, end, speaker)
        else:
            turns.append(Turn(start, end, speaker))
    return turns


def _speaker_at(start: float, end: float, turns: list[Turn]) -> str | None:
    """The speaker overlapping [start, end] most, else the one whose turn is nearest."""
    if not turns:
        return None
    overlap = np.array([min(end, t.end) - max(start, t.start) for t in turns])
    if overlap.max() > 0:
        return turns[int(overlap.argmax())].speaker
    distance = np.array([max(t.start - end, start - t.end) for t in turns])
    return turns[int(distance.argmin())].speaker


def _runs(labels: list) -> list[tuple[int, int]]:
    """(first, last + 1) index ranges of consecutive equal labels."""
    edges = [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
    return list(zip([0, *edges], [*edges, len(labels)]))


def label_segments(
    segments: list[dict[str, Any]], turns: list[Turn], *, min_words: int = 2
) -> list[dict[str, Any]]:
    """Give each Mistral-shaped segment a ``speaker_id``; split segments whose words change speaker.

    A run of fewer than *min_words* words is too short to trust and keeps its neighbour's speaker.
    Word texts are joined as they are, so they should keep Whisper's leading spaces.

    Examples
    --------
    >>> label_segments([{"text": "Hi there.", "start": 0.0, "end": 1.0}], [Turn(0.0, 1.2, "speaker_1")])
    [{'text': 'Hi there.', 'start': 0.0, 'end': 1.0, 'speaker_id': 'speaker_1'}]
    """
    out = []
    for segment in segments:
        words = segment.get("words") or []
        if not words:
            out.append({**segment, "speaker_id": _speaker_at(segment["start"], segment["end"], turns)})
            continue
        speakers = [_speaker_at(w["start"], w["end"], turns) for w in words]
        runs = _runs(speakers)
        if len(runs) > 1:
            for k, (first, last) in enumerate(runs):
                if last - first < min_words:  # too short to trust: the neighbour's speaker
                    neighbour = runs[k - 1] if k > 0 else runs[k + 1]
                    speakers[first:last] = [speakers[neighbour[0]]] * (last - first)
            runs = _runs(speakers)
        if len(runs) == 1:
            out.append({**segment, "speaker_id": speakers[0]})
            continue
        for first, last in runs:
            part = words[first:last]
            out.append(
                {
                    **segment,
                    "text": "".join(w["text"] for w in part).strip(),
                    "start": part[0]["start"],
                    "end": part[-1]["end"],
                    "words": part,
                    "speaker_id": speakers[first],
                }
            )
    return out
