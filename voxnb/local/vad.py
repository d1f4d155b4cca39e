"""Where there is speech: the Silero VAD that faster-whisper bundles (an ONNX model, no download)."""

from __future__ import annotations

import numpy as np

from voxnb.errors import EngineError, MissingDependencyError, VoxnbError
from voxnb.local.engine import as_samples

__all__ = ["speech_regions"]

SR = 16000


def speech_regions(
    samples: np.ndarray, *, min_silence: float = 0.15, pad: float = 0.03, min_speech: float = 0.15
) -> list[tuple[float, float]]:
    """Speech stretches ``(start, end)`` in seconds of float32 mono 16 kHz *samples*.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono audio at 16 kHz.
    min_silence : float
        Shorter pauses do not split a stretch.
    pad : float
        Seconds added on each side of a stretch.
    min_speech : float
        Shorter stretches are dropped.

    Examples
    --------
    >>> import voxnb
    >>> regions = speech_regions(voxnb.data.audio("two_voices").y)
    >>> len(regions) >= 5
    True
    """
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        raise MissingDependencyError("faster-whisper", "offline", "speech detection (Silero VAD)") from None

    options = VadOptions(
        min_silence_duration_ms=round(min_silence * 1000),
        speech_pad_ms=round(pad * 1000),
        min_speech_duration_ms=round(min_speech * 1000),
    )
    try:
        regions = get_speech_timestamps(as_samples(samples), options)
    except VoxnbError:
        raise
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EngineError(
            f"speech detection (Silero VAD) failed ({type(exc).__name__}: {exc}); "
            "reinstall the offline extra: pip install 'voxnb[offline]'"
        ) from exc
    return [(r["start"] / SR, r["end"] / SR) for r in regions]
