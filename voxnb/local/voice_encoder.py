"""resemblyzer's speaker encoder, run in numpy: voice → 256-d unit embedding.

The network (a 3-layer LSTM over 40-band mel frames, then a linear layer, ReLU and L2
normalisation) and its preprocessing follow resemblyzer 0.1.4 (Apache-2.0, Resemble AI); the
weights ship beside this file as ``speaker_encoder.npz``, converted once from resemblyzer's
``pretrained.pt`` by ``scripts/convert_speaker_encoder.py``, which also checks that this forward
pass reproduces torch's embeddings. Running it in numpy keeps torch out of voxnb's dependencies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxnb.errors import ParameterError

SR = 16000
HOP = 160  # 10 ms mel frames
N_FFT = 400  # 25 ms windows
N_MELS = 40
PARTIAL_FRAMES = 160  # each partial embedding sees 1.6 s
TARGET_DBFS = -30.0
WEIGHTS = Path(__file__).with_name("speaker_encoder.npz")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


class VoiceEncoder:
    """Speaker embeddings from 16 kHz mono audio.

    Parameters
    ----------
    weights : path, optional
        An ``.npz`` written by ``scripts/convert_speaker_encoder.py``; defaults to the bundled one.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local import VoiceEncoder
    >>> enc = VoiceEncoder()
    >>> audio = voxnb.data.audio("two_voices")          # Ada, then Ben, then Ada again
    >>> ada, ben = enc.embed(audio.slice(0.3, 2.3).y), enc.embed(audio.slice(3.0, 6.0).y)
    >>> ada.shape
    (256,)
    >>> bool(ada @ enc.embed(audio.slice(6.5, 9.0).y) > ada @ ben)   # cosine similarity
    True
    """

    def __init__(self, weights: str | Path | None = None):
        try:
            with np.load(weights or WEIGHTS) as npz:
                self.layers = [
                    (npz[f"w_ih{i}"].astype(np.float32).T, npz[f"w_hh{i}"].astype(np.float32).T, npz[f"b{i}"])
                    for i in range(3)
                ]
                self.w_out = npz["w_out"].astype(np.float32).T
                self.b_out = npz["b_out"]
        except (OSError, ValueError, KeyError) as exc:
            raise ParameterError(
                f"could not read speaker encoder weights from {weights or WEIGHTS} "
                f"({type(exc).__name__}: {exc}); pass an .npz written by "
                "scripts/convert_speaker_encoder.py, or nothing for the bundled weights"
            ) from exc

    @staticmethod
    def normalize_volume(y: np.ndarray) -> np.ndarray:
        """Raise quiet audio to -30 dBFS RMS (never lower it), as resemblyzer's preprocessing does."""
        rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
        if rms <= 0:
            return y
        gain_db = TARGET_DBFS - 20 * np.log10(rms)
        return y * np.float32(10 ** (gain_db / 20)) if gain_db > 0 else y

    @staticmethod
    def mel(y: np.ndarray) -> np.ndarray:
        """(frames, 40) power mel spectrogram with 10 ms hop; frame *i* is centred at *i*·10 ms."""
        import librosa

        return (
            librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
            .astype(np.float32)
            .T
        )

    @staticmethod
    def partial_starts(n_frames: int, *, rate: float = 1.3, min_coverage: float = 0.75) -> list[int]:
        """First frames of the 1.6 s partial windows that cover *n_frames* (resemblyzer's rule)."""
        step = round(SR / rate / HOP)
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
        if len(starts) > 1 and (n_frames - starts[-1]) / PARTIAL_FRAMES < min_coverage:
            starts.pop()
        return starts

    def partial_mels(self, y: np.ndarray, **kwargs) -> np.ndarray:
        """(n, 160, 40) mel windows of one utterance, zero-padded as resemblyzer pads the audio."""
        n_frames = int(np.ceil((len(y) + 1) / HOP))
        starts = self.partial_starts(n_frames, **kwargs)
        need = (starts[-1] + PARTIAL_FRAMES) * HOP
        y = np.pad(y, (0, max(0, need - len(y))))
        mel = self.mel(y)
        return np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, 40) mel windows → (batch, 256) unit-norm embeddings."""
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return self._forward(mels)
        # 480 small matrix products in a row: BLAS threads only wait for each other (5x slower
        # on a busy 2-core machine), so run them on one
        with threadpool_limits(1, user_api="blas"):
            return self._forward(mels)

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        x = np.asarray(mels, dtype=np.float32)
        for w_ih, w_hh, b in self.layers:
            batch, steps, _ = x.shape
            gates_in = x @ w_ih + b  # the input part of every step at once
            h = np.zeros((batch, w_hh.shape[0]), np.float32)
            c = np.zeros_like(h)
            out = np.empty((batch, steps, h.shape[1]), np.float32)
            for t in range(steps):
                i, f, g, o = np.split(gates_in[:, t] + h @ w_hh, 4, axis=1)  # torch's gate order
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                out[:, t] = h
            x = out
        raw = np.maximum(h @ self.w_out + self.b_out, 0)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)

    def embed(self, y: np.ndarray) -> np.ndarray:
        """One unit embedding for an utterance: the normalised mean of its partial embeddings."""
        partials = self.forward(self.partial_mels(self.normalize_volume(np.asarray(y, np.float32))))
        mean = partials.mean(axis=0)
        return mean / np.linalg.norm(mean)
