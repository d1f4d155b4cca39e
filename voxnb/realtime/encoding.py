"""The realtime audio encodings: PCM in four sample formats and G.711 µ-law / A-law, both ways.

A realtime session says how its PCM is encoded (``audio_format.encoding`` and ``sample_rate``,
``mistralai`` 3.7's ``AudioEncoding``): ``pcm_s16le``, ``pcm_s32le``, ``pcm_f16le``,
``pcm_f32le``, ``pcm_mulaw``, ``pcm_alaw``. :func:`encode_pcm` writes samples in any of them (a
file streamed to a session set to µ-law is sent as µ-law); :class:`PcmDecoder` turns a stream
of appends back into the 16 kHz s16le an engine reads (what ``voxnb serve`` does with them),
resampling across chunk boundaries without seams (soxr's streaming resampler).

The G.711 codecs follow CPython's ``audioop`` (Sun's reference implementation: µ-law on the
14-bit, A-law on the 13-bit magnitude), vectorised; ``audioop`` itself is gone from Python 3.13.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxnb.errors import ParameterError
from voxnb.request import AUDIO_ENCODINGS, DEFAULT_SAMPLE_RATE

__all__ = ["SAMPLE_WIDTHS", "PcmDecoder", "decode_pcm", "encode_pcm", "sample_width"]

#: bytes per sample of each encoding
SAMPLE_WIDTHS = {
    "pcm_s16le": 2,
    "pcm_s32le": 4,
    "pcm_f16le": 2,
    "pcm_f32le": 4,
    "pcm_mulaw": 1,
    "pcm_alaw": 1,
}
assert tuple(SAMPLE_WIDTHS) == AUDIO_ENCODINGS

_ULAW_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_CLIP = 8159
_ULAW_BIAS = 0x84


def sample_width(encoding: str | None) -> int:
    """Bytes per sample of *encoding* (None: ``pcm_s16le``)."""
    try:
        return SAMPLE_WIDTHS[encoding or "pcm_s16le"]
    except KeyError:
        raise ParameterError(
            f"encoding must be one of {', '.join(SAMPLE_WIDTHS)}; got {encoding!r}", option="encoding"
        ) from None


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(samples, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _ulaw_encode(pcm: np.ndarray) -> np.ndarray:
    value = pcm.astype(np.int32) >> 2  # 14-bit
    negative = value < 0
    magnitude = np.minimum(np.where(negative, -value, value), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_END, magnitude, side="left")
    code = (np.minimum(segment, 7) << 4) | ((magnitude >> (np.minimum(segment, 7) + 1)) & 0xF)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)


def _alaw_encode(pcm: np.ndarray) -> np.ndarray:
    value = pcm.astype(np.int32) >> 3  # 13-bit
    negative = value < 0
    magnitude = np.where(negative, -value - 1, value)
    segment = np.searchsorted(_ALAW_END, magnitude, side="left")
    shift = np.where(segment < 2, 1, np.minimum(segment, 7))
    code = (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & 0xF)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ np.where(negative, 0x55, 0xD5)).astype(np.uint8)


def _ulaw_table() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((code & 0xF) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return np.where(code & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _alaw_table() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    t = (code & 0xF) << 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment >= 2, t << np.maximum(segment - 1, 0), t)
    return np.where(code & 0x80, t, -t).astype(np.int16)


_DECODE_TABLES = {"pcm_mulaw": _ulaw_table(), "pcm_alaw": _alaw_table()}


def encode_pcm(samples: Any, encoding: str | None) -> bytes:
    """Float samples (-1 to 1, mono) as *encoding*'s bytes (None: ``pcm_s16le``).

    Examples
    --------
    >>> encode_pcm(np.array([0.0, 0.5, -1.0], np.float32), "pcm_s16le").hex()
    '000000400080'
    >>> len(encode_pcm(np.zeros(160, np.float32), "pcm_mulaw"))
    160
    """
    encoding = encoding or "pcm_s16le"
    sample_width(encoding)
    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    if encoding == "pcm_f32le":
        return np.clip(y, -1.0, 1.0).astype("<f4").tobytes()
    if encoding == "pcm_f16le":
        return np.clip(y, -1.0, 1.0).astype("<f2").tobytes()
    pcm = _to_int16(y)
    if encoding == "pcm_s16le":
        return pcm.astype("<i2").tobytes()
    if encoding == "pcm_s32le":
        return (pcm.astype("<i4") << 16).tobytes()
    return (_ulaw_encode if encoding == "pcm_mulaw" else _alaw_encode)(pcm).tobytes()


def decode_pcm(data: bytes, encoding: str | None) -> np.ndarray:
    """*encoding*'s bytes as float32 samples (-1 to 1); the byte count must hold whole samples.

    Examples
    --------
    >>> decode_pcm(encode_pcm(np.array([0.25, -0.5], np.float32), "pcm_s32le"), "pcm_s32le")
    array([ 0.25, -0.5 ], dtype=float32)
    """
    encoding = encoding or "pcm_s16le"
    width = sample_width(encoding)
    if len(data) % width:
        raise ParameterError(
            f"{encoding} audio holds {width}-byte samples; got {len(data)} bytes (not a whole number of samples)",
            option="encoding",
        )
    if encoding == "pcm_f32le":
        return np.frombuffer(data, "<f4").astype(np.float32)
    if encoding == "pcm_f16le":
        return np.frombuffer(data, "<f2").astype(np.float32)
    if encoding == "pcm_s32le":
        return (np.frombuffer(data, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    if encoding == "pcm_s16le":
        pcm = np.frombuffer(data, "<i2")
    else:
        pcm = _DECODE_TABLES[encoding][np.frombuffer(data, np.uint8)]
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


class PcmDecoder:
    """A stream of appends in any encoding and rate → 16 kHz s16le for an engine.

    Parameters
    ----------
    encoding : str, optional
        The session's encoding (default ``pcm_s16le``).
    sample_rate : int, optional
        The session's rate (default 16000); other rates are resampled as a stream (soxr), so
        chunk boundaries leave no seam.

    Examples
    --------
    >>> decoder = PcmDecoder("pcm_mulaw", 8000)
    >>> out = decoder.feed(encode_pcm(np.zeros(800, np.float32), "pcm_mulaw")) + decoder.end()
    >>> len(out) // 2   # 0.1 s at 16 kHz
    1600
    """

    def __init__(self, encoding: str | None = None, sample_rate: int | None = None):
        self.encoding = encoding or "pcm_s16le"
        self.width = sample_width(self.encoding)
        self.sample_rate = int(sample_rate or DEFAULT_SAMPLE_RATE)
        self._stream: Any = None
        if self.sample_rate != DEFAULT_SAMPLE_RATE:
            import soxr

            self._stream = soxr.ResampleStream(self.sample_rate, DEFAULT_SAMPLE_RATE, 1, dtype="float32")

    @property
    def passthrough(self) -> bool:
        """Whether the appends already are 16 kHz s16le (nothing to convert)."""
        return self.encoding == "pcm_s16le" and self._stream is None

    def seconds(self, n_bytes: int) -> float:
        """Duration of *n_bytes* of this stream's audio."""
        return n_bytes / (self.width * self.sample_rate)

    def feed(self, data: bytes) -> bytes:
        """One append → 16 kHz s16le (possibly fewer samples while the resampler fills)."""
        if self.passthrough:
            decode_pcm(data, self.encoding)  # checks whole samples
            return bytes(data)
        samples = decode_pcm(data, self.encoding)
        if self._stream is not None:
            samples = self._stream.resample_chunk(samples)
        return _to_int16(samples).astype("<i2").tobytes()

    def end(self) -> bytes:
        """What the resampler still holds, at the end of the stream."""
        if self._stream is None:
            return b""
        return (
            _to_int16(self._stream.resample_chunk(np.zeros(0, np.float32), last=True)).astype("<i2").tobytes()
        )
