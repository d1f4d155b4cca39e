"""Offline speaker labels: who spoke when, with no key and no network.

Speech regions come from the Silero VAD that faster-whisper bundles; windows of 1.5 s slide over
each region every 0.5 s, every window becomes a speaker embedding and the windows are clustered
(average linkage on cosine distance, cut at a distance threshold unless ``num_speakers`` is
given); each 10 ms of speech then takes the speaker of the nearest window centre. With two
speakers or more, pyannote's segmentation model (:mod:`voxnb.local.segmentation`) finds where
two voices overlap, and those stretches also go to the speaker their window resembles next most.

The embeddings come from CAM++ (:mod:`voxnb.local.campplus`, 3D-Speaker's model run with
onnxruntime); ``encoder="resemblyzer"`` uses the older numpy encoder
(:mod:`voxnb.local.voice_encoder`), which separates TTS voices but barely real ones.
Measured in ``benchmarks/diarize.py`` on real recordings (a two-speaker telephone call, dialogues
joined from real read speech) and on the bundled TTS dialogues. A speaker who talks for less
than about 2 s in all is folded into another; laughter and very short turns (under a second) are
often given to the wrong speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from voxnb.errors import ParameterError
from voxnb.local.engine import as_samples
from voxnb.local.vad import speech_regions

__all__ = ["ENCODERS", "Turn", "diarize", "label_segments"]

SR = 16000
WINDOW = 1.5  # seconds per embedding: long enough for a voice, short enough to sit inside one turn
STEP = 0.5  # a third of a window: turn edges to within a quarter second
MAX_SPEAKERS = 8
MIN_CHUNK = 0.6  # seconds: shorter windows' embeddings are noise; they follow the clusters, not shape them
MIN_TALK = 2.0  # seconds of speech a speaker needs before the count estimate believes in them
MAX_GAP = 0.3  # a pause shorter than this between one speaker's stretches is bridged (NIST's 0.3 s rule)
# cosine distance at which average linkage stops merging, per encoder. CAM++: the middle of the
# range (0.45-0.49) where every recording of benchmarks/diarize.py gets its count right
# (TTS samples, dialogues joined from real readers, the telephone call, single real speakers)
ENCODERS = {"campplus": 0.47, "resemblyzer": 0.35}


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker, in seconds."""

    start: float
    end: float
    speaker: str


@cache
def _encoder(name: str) -> Any:
    if name == "campplus":
        from voxnb.local.campplus import CamPlusEncoder

        return CamPlusEncoder()
    from voxnb.local.voice_encoder import VoiceEncoder

    return VoiceEncoder()


def _windows(regions: list[tuple[float, float]]) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Windows of WINDOW s every STEP s inside each region (the last one flush with its end), and
    the seconds of speech each window adds to its region (overlaps counted once)."""
    spans, new = [], []
    for start, end in regions:
        if end - start <= WINDOW:
            spans.append((start, end))
            new.append(end - start)
            continue
        starts = [*np.arange(start, end - WINDOW, STEP).tolist(), end - WINDOW]
        for i, s in enumerate(starts):
            spans.append((s, s + WINDOW))
            new.append(WINDOW if i == 0 else s - starts[i - 1])
    return spans, np.asarray(new, float)


def embed_chunks(samples: np.ndarray, chunks: list[tuple[float, float]]) -> np.ndarray:
    """(n_chunks, 256) resemblyzer unit embeddings; one mel spectrogram of the whole audio serves every chunk.

    Examples
    --------
    >>> import voxnb
    >>> embed_chunks(voxnb.data.audio("two_voices").y, [(0.3, 2.3), (3.0, 5.0)]).shape
    (2, 256)
    """
    from voxnb.local.voice_encoder import HOP, PARTIAL_FRAMES, SR

    encoder = _encoder("resemblyzer")
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


def _embed(name: str, samples: np.ndarray, spans: list[tuple[float, float]], bar: Any) -> np.ndarray:
    def done(seconds: float) -> None:
        bar.update(min(seconds, bar.total - bar.n))  # float sums in another order must not overshoot

    if name == "campplus":
        return _encoder(name).embed(samples, spans, on_batch=done)
    out = embed_chunks(samples, spans)
    done(sum(end - start for start, end in spans))
    return out


def cluster(
    embeddings: np.ndarray,
    *,
    num_speakers: int | None = None,
    durations: np.ndarray | None = None,
    threshold: float = ENCODERS["campplus"],
) -> np.ndarray:
    """Cluster labels 0..k-1 of unit embeddings, numbered in order of first appearance.

    Average linkage on cosine distance, cut into *num_speakers* clusters or, when that is not
    given, where the distance passes *threshold*. With *durations* (new seconds of speech per
    embedding), embeddings of windows shorter than MIN_CHUNK are too noisy to shape the clusters:
    they join the nearest cluster afterwards; and when the count is estimated, a cluster holding
    less than MIN_TALK seconds joins the cluster nearest to it.

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
    labels[long] = _cluster(embeddings[long], num_speakers, threshold)
    labels[~long] = np.argmax(embeddings[~long] @ _centroids(embeddings, labels).T, axis=1)
    if num_speakers is None:
        labels = _fold_small(embeddings, labels, durations)
    _, first = np.unique(labels, return_index=True)
    order = {label: rank for rank, label in enumerate(labels[np.sort(first)])}
    return np.array([order[label] for label in labels])


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit mean embedding of clusters 0..labels.max() (rows of absent clusters are zero)."""
    sums = np.zeros((labels.max() + 1, embeddings.shape[1]))
    np.add.at(sums, labels[labels >= 0], embeddings[labels >= 0])
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def _cluster(embeddings: np.ndarray, num_speakers: int | None, threshold: float) -> np.ndarray:
    """Average-linkage cosine clustering, labels 0..k-1; k given or cut at *threshold*."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    tree = linkage(np.clip(pdist(embeddings, metric="cosine"), 0, None), method="average")
    if num_speakers is not None:
        labels = fcluster(tree, t=min(num_speakers, len(embeddings)), criterion="maxclust")
    else:
        labels = fcluster(tree, t=threshold, criterion="distance")
        if labels.max() > MAX_SPEAKERS:
            labels = fcluster(tree, t=MAX_SPEAKERS, criterion="maxclust")
    return np.unique(labels, return_inverse=True)[1]


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Clusters with less than MIN_TALK seconds of speech join the cluster nearest to them."""
    labels = labels.copy()
    while len(present := np.unique(labels)) > 1:
        talk = np.array([durations[labels == k].sum() for k in present])
        if talk.min() >= MIN_TALK:
            break
        small = present[talk.argmin()]
        centroids = _centroids(embeddings, labels)
        others = [k for k in present if k != small]
        labels[labels == small] = others[int(np.argmax(centroids[others] @ centroids[small]))]
    return labels


def _frame_labels(
    regions: list[tuple[float, float]],
    spans: list[tuple[float, float]],
    labels: np.ndarray,
    *,
    n_frames: int,
    similarity: np.ndarray | None = None,
    overlap: np.ndarray | None = None,
) -> np.ndarray:
    """(n_frames, k) who talks in each 10 ms frame of the recording.

    Each frame of speech takes the label of the nearest window centre; where the probability of
    overlapped speech (*overlap*, one value per frame) passes one half, it also takes the speaker
    that window resembles next most (by *similarity*, windows by clusters).
    """
    centres = np.array([(start + end) / 2 for start, end in spans])
    active = np.zeros((n_frames, labels.max() + 1), bool)
    for start, end in regions:
        frames = np.arange(round(start * 100), min(round(end * 100), n_frames))
        inside = np.flatnonzero((centres >= start) & (centres <= end))
        if not len(frames) or not len(inside):
            continue
        nearest = inside[np.abs((frames[:, None] + 0.5) / 100 - centres[inside][None]).argmin(axis=1)]
        active[frames, labels[nearest]] = True
        if overlap is None or similarity is None or active.shape[1] < 2:
            continue
        both = overlap[frames] > 0.5
        others = similarity[nearest].copy()
        others[np.arange(len(frames)), labels[nearest]] = -np.inf
        active[frames[both], others[both].argmax(axis=1)] = True
    return active


def _turns(active: np.ndarray) -> list[Turn]:
    """Turns from a (frames, speakers) activity matrix of 10 ms frames; a silence shorter than
    MAX_GAP between two stretches of one speaker is bridged (not when someone else talks in it)."""
    silent = np.logical_not(active.any(axis=1))
    turns = []
    for k in range(active.shape[1]):
        edges = np.diff(np.concatenate([[0], active[:, k].astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs: list[list[int]] = []
        for start, end in zip(starts.tolist(), ends.tolist()):
            if runs and (start - runs[-1][1]) / 100 < MAX_GAP and silent[runs[-1][1] : start].all():
                runs[-1][1] = end
            else:
                runs.append([start, end])
        turns += [Turn(start / 100, end / 100, f"speaker_{k + 1}") for start, end in runs]
    return sorted(turns, key=lambda t: (t.start, t.speaker))


def diarize(
    samples: np.ndarray,
    *,
    num_speakers: int | None = None,
    encoder: str = "campplus",
    overlap: bool = True,
    progress: bool = True,
) -> list[Turn]:
    """Speaker turns of float32 mono 16 kHz *samples*.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono audio at 16 kHz.
    num_speakers : int, optional
        How many speakers there are; estimated (1 to 8) when not given.
    encoder : {"campplus", "resemblyzer"}
        The speaker-embedding model: CAM++ (default; works on real voices) or resemblyzer's
        encoder (the earlier default, kept for comparison).
    overlap : bool
        Find where two speakers talk at once (:mod:`voxnb.local.segmentation`) and give those
        stretches to both; with one speaker found, nothing is run for it.
    progress : bool
        Show a progress bar over audio seconds for recordings of a minute or more.

    Returns
    -------
    list of Turn
        Speech stretches labelled ``"speaker_1"``, ``"speaker_2"``... in order of first appearance,
        sorted by start; turns of different speakers overlap where both talk.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local.diarize import diarize
    >>> turns = diarize(voxnb.data.audio("two_voices").y)
    >>> sorted({t.speaker for t in turns})
    ['speaker_1', 'speaker_2']
    """
    if num_speakers is not None and num_speakers < 1:
        raise ParameterError(f"num_speakers must be at least 1, got {num_speakers}")
    if encoder not in ENCODERS:
        raise ParameterError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
    from voxnb.local.progress import audio_bar

    samples = as_samples(samples)
    regions = speech_regions(samples)
    if not regions:
        return []
    spans, new = _windows(regions)
    seconds = len(samples) / SR
    # the bar counts seconds of audio embedded, then the recording once more for the overlap pass
    with audio_bar(
        sum(end - start for start, end in spans) + seconds * overlap,
        progress=progress,
        desc="speakers",
        audio_seconds=seconds,
    ) as bar:
        embeddings = _embed(encoder, samples, spans, bar)
        labels = cluster(embeddings, num_speakers=num_speakers, durations=new, threshold=ENCODERS[encoder])
        n_frames = round(seconds * 100)
        if not overlap or labels.max() == 0:
            bar.update(bar.total - bar.n)
            return _turns(_frame_labels(regions, spans, labels, n_frames=n_frames))
        from voxnb.local.segmentation import chunk_count, overlap_probability

        per_chunk = seconds / chunk_count(len(samples))
        both = overlap_probability(
            samples, on_chunks=lambda n: bar.update(min(n * per_chunk, bar.total - bar.n))
        )
    similarity = embeddings @ _centroids(embeddings, labels).T
    return _turns(
        _frame_labels(regions, spans, labels, n_frames=n_frames, similarity=similarity, overlap=both)
    )


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
