"""Audio for voxnb: decode once, hold one float32 copy, slice, play, export, summarise.

:class:`Audio` is what every other part of voxnb takes as sound: the backends upload
:meth:`Audio.to_wav` or stream :meth:`Audio.to_pcm16`, the offline engine reads :attr:`Audio.y`,
the plots draw :meth:`Audio.envelope` and :meth:`Audio.spectrogram`.

Decoding is block-wise (libsndfile through soundfile, resampling through soxr's streaming
resampler) into one preallocated array, so a three-hour file costs the decoded float32 signal and
a few megabytes, not the several full copies that ``librosa.load`` holds while it resamples.
Containers libsndfile cannot read (m4a, webm) take the same path after ffmpeg has converted them
to a temporary WAV.

Silence is not an error when loading: a silent file can be plotted, sliced and saved. Transcribing
it is pointless, so the backends call :meth:`Audio.check_audible`, which raises
:class:`~voxnb.errors.AudioError` for silent audio before any request is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from voxnb.errors import AudioError, MissingDependencyError, ParameterError, VoxnbError

__all__ = ["SILENCE_PEAK", "Audio", "as_audio", "check_encoded"]

#: Peak amplitude (full scale = 1.0) under which audio counts as silent: -80 dBFS, about three
#: steps of 16-bit PCM. Only digital silence and dither fall below it; quiet speech does not.
SILENCE_PEAK = 1e-4

# Decoding, resampling and conversion work on blocks of this many frames (~4 MB of float32),
# which bounds the temporary memory whatever the file's length.
_BLOCK_FRAMES = 1 << 20

# Longest excerpt :meth:`Audio.play` embeds in a notebook by default (a 16 kHz 16-bit WAV of ten
# minutes is ~19 MB, base64-encoded into the notebook file).
_PLAY_MAX_SECONDS = 600.0

# Longest audio whose notebook display embeds a player (as base64 WAV) without being asked.
_REPR_PLAYER_SECONDS = 60.0

# Frames averaged into one spectrogram column at most (see _spectrogram).
_SPEC_FRAMES_PER_COLUMN = 8

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


class Audio:
    """A decoded signal: float32 samples at a known sample rate.

    Build one with :meth:`Audio.load` (files, bytes, file objects, URLs) or
    :meth:`Audio.from_array`; every voxnb function that takes audio also accepts those inputs
    directly (see :func:`as_audio`).

    Parameters
    ----------
    y : np.ndarray
        float32 samples in [-1, 1]: shape ``(n,)`` for mono, ``(channels, n)`` otherwise.
        Used as is (no copy); prefer :meth:`from_array`, which validates and converts.
    sr : int
        Sample rate in Hz.
    source : str, optional
        Where the audio came from (a path or URL), shown in the repr.

    Attributes
    ----------
    y : np.ndarray
        The samples.
    sr : int
        The sample rate in Hz.
    source : str or None
        The path or URL it was loaded from.

    Examples
    --------
    >>> import numpy as np, voxnb
    >>> a = voxnb.Audio.from_array(np.zeros(16000, dtype="float32"), 16000)
    >>> a.duration
    1.0
    >>> a.slice(0.25, 0.75).duration
    0.5
    """

    __slots__ = ("_cache", "source", "sr", "y")

    def __init__(self, y: np.ndarray, sr: int, *, source: str | None = None):
        self.y = y
        self.sr = int(sr)
        self.source = source
        self._cache: dict[Any, Any] = {}  # what is derived from the samples: peak, sha256, mono, spectrograms

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        source: Source,
        *,
        sr: int | None = 16000,
        mono: bool = True,
        allow_truncated: bool = False,
    ) -> Audio:
        """Decode audio from a path, URL, bytes or a binary file object.

        wav, flac, ogg/vorbis/opus, mp3 and the other libsndfile formats are decoded in-process;
        other containers (m4a, webm, ...) are converted by ffmpeg, when it is installed, to a
        temporary WAV that is decoded the same way.

        Parameters
        ----------
        source : str, os.PathLike, bytes or file object
            A path, an ``http(s)://`` URL, the encoded file's bytes, or an open binary file.
        sr : int or None
            Sample rate to resample to (16 kHz, what Voxtral and Whisper expect); ``None``
            keeps the file's own rate.
        mono : bool
            Average the channels into one (the default); ``False`` keeps them, giving ``y`` of
            shape ``(channels, n)``.
        allow_truncated : bool
            Accept a file cut short (its header promises more audio than it holds) and keep what
            can be read, instead of raising.

        Returns
        -------
        Audio

        Raises
        ------
        AudioError
            The source cannot be found or decoded, holds no samples, or is truncated.

        Examples
        --------
        >>> a = voxnb.Audio.load("interview.flac")  # doctest: +SKIP
        >>> a.sr, round(a.duration, 1)  # doctest: +SKIP
        (16000, 63.2)
        """
        if sr is not None:
            sr = _check_rate(sr)
        for flag, value in (("mono", mono), ("allow_truncated", allow_truncated)):
            if not isinstance(value, bool):
                raise ParameterError(f"{flag}= is True or False; got {value!r}", option=flag)
        name, opened = _open_source(source)
        try:
            y, native_sr = _decode(opened, name, sr=sr, mono=mono, allow_truncated=allow_truncated)
        finally:
            if opened is not source and hasattr(opened, "close"):
                opened.close()
        audio = cls(y, sr or native_sr, source=name)
        audio._check_not_empty()
        audio._check_finite()
        return audio

    @classmethod
    def from_array(cls, y: Any, sr: int, *, mono: bool = True) -> Audio:
        """Wrap an array of samples.

        Parameters
        ----------
        y : array-like
            Samples: 1-D, or 2-D as ``(channels, n)`` (librosa's layout) or ``(n, channels)``
            (soundfile's layout, recognised when it has more rows than columns). Integer PCM is
            scaled to [-1, 1]; floats are taken as already in [-1, 1].
        sr : int
            Sample rate in Hz.
        mono : bool
            Average several channels into one (the default).

        Returns
        -------
        Audio

        Raises
        ------
        AudioError
            Empty, non-finite or wrongly shaped samples.
        ParameterError
            A sample rate that is not a positive integer.

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> pcm = (np.sin(np.linspace(0, 100, 8000)) * 20000).astype("int16")
        >>> voxnb.Audio.from_array(pcm, 8000).y.dtype
        dtype('float32')
        """
        sr = _check_rate(sr)
        if not isinstance(mono, bool):
            raise ParameterError(f"mono= is True or False; got {mono!r}", option="mono")
        try:
            arr = np.asarray(y)
        except (ValueError, TypeError) as err:  # ragged lists, objects numpy cannot hold
            raise AudioError(
                f"audio samples must be a 1-D or 2-D numeric array; this one cannot be made into one ({err})"
            ) from None
        if arr.dtype.kind not in "fiu" or arr.ndim not in (1, 2):
            raise AudioError(
                f"audio samples must be a 1-D or 2-D numeric array, got dtype {arr.dtype} with shape "
                f"{arr.shape}; pass mono samples as a 1-D array, or several channels as (channels, n)"
            )
        if arr.size == 0:
            raise AudioError(f"the audio holds no audio samples (shape {arr.shape}); pass a non-empty array")
        if arr.ndim == 2 and arr.shape[0] > arr.shape[1]:
            arr = arr.T  # (n, channels) as soundfile returns it
        arr = _to_float32(arr)
        if arr.ndim == 2 and (mono or arr.shape[0] == 1):
            arr = arr.mean(axis=0, dtype=np.float32) if arr.shape[0] > 1 else arr[0]
        audio = cls(np.ascontiguousarray(arr), sr)
        audio._check_finite()
        audio._check_not_empty()
        return audio

    # -- properties ---------------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.y.shape[-1])

    @property
    def channels(self) -> int:
        """Number of channels (1 for mono)."""
        return 1 if self.y.ndim == 1 else int(self.y.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sr

    @property
    def peak(self) -> float:
        """Largest absolute sample value (1.0 = full scale)."""
        if "peak" not in self._cache:
            self._cache["peak"] = float(
                max((np.abs(block).max(initial=0.0) for block in self._blocks()), default=0.0)
            )
        return self._cache["peak"]

    @property
    def is_silent(self) -> bool:
        """True when the peak amplitude is below :data:`SILENCE_PEAK` (-80 dBFS)."""
        return self.peak < SILENCE_PEAK

    @property
    def sha256(self) -> str:
        """SHA-256 of the decoded signal (sample rate and float32 samples), hex.

        The same sound gives the same hash whichever container or path it came from, which
        is what a transcription cache should be keyed on.
        """
        if "sha256" not in self._cache:
            digest = hashlib.sha256(struct.pack("<II", self.sr, self.channels))
            for block in self._blocks():
                digest.update(np.ascontiguousarray(block, dtype="<f4").data)
            self._cache["sha256"] = digest.hexdigest()
        return self._cache["sha256"]

    # -- operations ---------------------------------------------------------------------------

    def slice(self, start: float | None = None, end: float | None = None) -> Audio:
        """The excerpt between two times, sharing memory with this audio.

        Parameters
        ----------
        start, end : float, optional
            Seconds from the beginning of this audio; ``None`` means its start / end. Times past
            either edge are clipped to it.

        Returns
        -------
        Audio

        Raises
        ------
        ParameterError
            ``end`` before ``start``, or a window that lies wholly outside the audio.

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> a = voxnb.Audio.from_array(np.zeros(32000, dtype="float32"), 16000)
        >>> a.slice(1.5).duration
        0.5
        """
        i, j = self.sample_range(start, end)
        if j <= i:
            raise ParameterError(
                f"the window {_fmt_window(start, end)} holds no audio: this audio spans "
                f"0–{self.duration:.3f} s; pass start/end inside it"
            )
        return Audio(self.y[..., i:j], self.sr, source=self.source)

    def sample_range(self, start: float | None = None, end: float | None = None) -> tuple[int, int]:
        """Sample indices ``(i, j)`` of a time window, clipped to the audio.

        Parameters
        ----------
        start, end : float, optional
            Seconds from the beginning; ``None`` means the audio's start / end.

        Returns
        -------
        tuple of int
            ``y[..., i:j]`` is the window.

        Raises
        ------
        ParameterError
            ``end`` before ``start``, or a non-finite time.

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> a = voxnb.Audio.from_array(np.zeros(16000, dtype="float32"), 16000)
        >>> a.sample_range(0.25, 2.0)
        (4000, 16000)
        """
        for name, value in (("start", start), ("end", end)):
            if value is None:
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise ParameterError(f"{name}= is a number of seconds (or None); got {value!r}", option=name)
            if not np.isfinite(value):
                raise ParameterError(f"{name}={value!r} is not a finite number of seconds", option=name)
        if start is not None and end is not None and end < start:
            raise ParameterError(f"end={end} is before start={start}; swap them")
        n = self.n_samples
        i = 0 if start is None else int(np.clip(round(start * self.sr), 0, n))
        j = n if end is None else int(np.clip(round(end * self.sr), 0, n))
        return i, j

    def resample(self, sr: int) -> Audio:
        """This audio at another sample rate (itself when the rate already matches).

        Parameters
        ----------
        sr : int
            Target sample rate in Hz.

        Returns
        -------
        Audio

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> a = voxnb.Audio.from_array(np.zeros(16000, dtype="float32"), 16000)
        >>> a.resample(8000).n_samples
        8000
        """
        sr = _check_rate(sr)
        if sr == self.sr:
            return self
        return Audio(
            _resample_blocks(self._frames_blocks(), self.sr, sr, self.channels, self.n_samples),
            sr,
            source=self.source,
        )

    def check_audible(self) -> Audio:
        """Raise :class:`~voxnb.errors.AudioError` if the audio is silent; return it otherwise.

        Transcription backends call this before sending anything, so digital silence costs
        no request.

        Returns
        -------
        Audio
            ``self``, for chaining.

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> voxnb.Audio.from_array(np.zeros(160), 16000).check_audible()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        voxnb.errors.AudioError: the audio is silent
        """
        if self.is_silent:
            raise AudioError(_silent(self._label(), self.peak))
        return self

    def to_pcm16(self) -> bytes:
        """Samples as 16-bit little-endian PCM (channels interleaved), clipped to full scale.

        This is the ``pcm_s16le`` format realtime transcription streams.

        Returns
        -------
        bytes

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> pcm = voxnb.Audio.from_array(np.array([0.0, 0.5, -1.0], dtype="float32"), 16000).to_pcm16()
        >>> np.frombuffer(pcm, dtype="<i2").tolist()
        [0, 16384, -32768]
        """
        return self._pcm16_after(b"")

    def to_wav(self) -> bytes:
        """A lossless 16-bit PCM WAV file of this audio, as bytes (what the backends upload).

        Returns
        -------
        bytes

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> wav = voxnb.Audio.from_array(np.zeros(16000, dtype="float32"), 16000).to_wav()
        >>> wav[:4], len(wav)  # a 44-byte header, then two bytes a sample
        (b'RIFF', 32044)
        """
        size = self.n_samples * self.channels * 2
        block_align = self.channels * 2
        header = struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            36 + size,
            b"WAVE",
            b"fmt ",
            16,
            1,
            self.channels,
            self.sr,
            self.sr * block_align,
            block_align,
            16,
            b"data",
            size,
        )
        return self._pcm16_after(header)

    def _pcm16_after(self, header: bytes) -> bytes:
        """``header`` followed by the s16le samples, converted block by block into one buffer."""
        out = bytearray(len(header) + self.n_samples * self.channels * 2)
        out[: len(header)] = header
        pcm = np.frombuffer(out, dtype="<i2", offset=len(header))
        pos = 0
        for block in self._frames_blocks():
            flat = _float_to_pcm16(block).reshape(-1)
            pcm[pos : pos + flat.size] = flat
            pos += flat.size
        del pcm  # release the export of the buffer before it is copied out
        return bytes(out)

    def save(self, path: str | os.PathLike, *, subtype: str | None = None) -> Path:
        """Write the audio to a file; the format follows the extension (wav, flac, ogg, mp3...).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.
        subtype : str, optional
            A soundfile subtype, e.g. ``"FLOAT"`` for 32-bit float WAV; by default the
            format's own (16-bit PCM for wav and flac).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        AudioError
            The extension names no format libsndfile can write.

        Examples
        --------
        >>> audio.slice(60, 90).save("excerpt.flac")  # doctest: +SKIP
        PosixPath('excerpt.flac')
        """
        import soundfile as sf

        from voxnb._atomic import atomic_path

        path = Path(path) if isinstance(path, (str, os.PathLike)) and not isinstance(path, bytes) else path
        if not isinstance(path, Path):
            raise ParameterError(f"path must be a file path; got a {type(path).__name__}", option="path")
        fmt = path.suffix.lstrip(".").upper()
        fmt = {"OGA": "OGG", "OPUS": "OGG"}.get(fmt, fmt)
        if fmt not in sf.available_formats():
            raise AudioError(
                f"cannot write {path.name!r}: {path.suffix or 'no extension'} is not a format "
                f"libsndfile writes; use one of .wav, .flac, .ogg, .mp3"
            )
        if path.suffix.lower() == ".opus" and subtype is None:
            subtype = "OPUS"
        if subtype is not None and (
            not isinstance(subtype, str) or not sf.check_format(fmt, subtype.upper())
        ):
            known = ", ".join(sorted(sf.available_subtypes(fmt)))
            raise ParameterError(
                f"subtype={subtype!r} is not one {path.suffix} files can hold; use one of {known}",
                option="subtype",
            )
        try:
            with (
                atomic_path(path, suffix=path.suffix) as tmp,
                sf.SoundFile(tmp, "w", self.sr, self.channels, subtype=subtype, format=fmt) as f,
            ):
                for block in self._frames_blocks():
                    f.write(np.clip(block, -1.0, 1.0))
        except VoxnbError:
            raise
        except (sf.LibsndfileError, ValueError, TypeError) as err:
            raise AudioError(f"could not write {path}: {err}; try another format or subtype") from err
        return path

    def play(
        self, start: float | None = None, end: float | None = None, *, max_duration: float = _PLAY_MAX_SECONDS
    ) -> Any:
        """An IPython audio player for the whole audio or the window ``start``–``end``.

        Parameters
        ----------
        start, end : float, optional
            Window in seconds (default: everything).
        max_duration : float
            Longest excerpt to embed; the WAV is base64-encoded into the notebook, so hours of
            audio would bloat it. Raise this deliberately if you need to.

        Returns
        -------
        IPython.display.Audio

        Raises
        ------
        ParameterError
            The window is longer than ``max_duration`` or holds no audio.
        MissingDependencyError
            IPython is not installed.

        Examples
        --------
        >>> audio.play(12.0, 15.5)  # doctest: +SKIP
        """
        try:
            from IPython.display import Audio as IPythonAudio
        except ImportError as err:
            raise MissingDependencyError("ipython", "widgets", "Audio.play") from err
        if (
            isinstance(max_duration, bool)
            or not isinstance(max_duration, (int, float))
            or not 0 < max_duration < float("inf")
        ):
            raise ParameterError(f"max_duration= is a number of seconds above 0; got {max_duration!r}")
        excerpt = self if start is None and end is None else self.slice(start, end)
        if excerpt.duration > max_duration:
            raise ParameterError(
                f"the excerpt is {excerpt.duration:.0f} s long, more than max_duration={max_duration:.0f} s "
                "that would be embedded in the notebook; pass start= and end=, or raise max_duration"
            )
        return IPythonAudio(data=excerpt.to_wav())

    # -- analysis for the plots ----------------------------------------------------------------

    def envelope(
        self, n: int, *, start: float | None = None, end: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact min/max envelope of a window in ``n`` columns (one per pixel).

        Column ``k`` covers samples ``[i + floor(k*m/n), i + floor((k+1)*m/n))`` of the ``m``
        samples of the window; its min and max are the true extremes of those samples. When
        the window holds fewer samples than ``n`` every sample is its own column. Several
        channels are mixed down to mono first.

        Parameters
        ----------
        n : int
            Number of columns, normally the axes' width in pixels.
        start, end : float, optional
            Window in seconds (default: everything).

        Returns
        -------
        edges : np.ndarray
            ``k+1`` column edges in seconds (``k = min(n, m)``).
        lo, hi : np.ndarray
            ``k`` minima and maxima (float32).

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> a = voxnb.Audio.from_array(np.array([0.0, 1.0, -1.0, 0.5], dtype="float32"), 4)
        >>> edges, lo, hi = a.envelope(2)
        >>> edges.tolist(), lo.tolist(), hi.tolist()
        ([0.0, 0.5, 1.0], [0.0, -1.0], [1.0, 0.5])
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(
                f"n={n!r} columns: pass a positive number of columns (whole: the axes' width)"
            )
        i, j = self.sample_range(start, end)
        y = self._mono()[i:j]
        m = y.size
        if m == 0:
            empty = np.empty(0, dtype=np.float32)
            return np.array([i / self.sr]), empty, empty
        k = min(int(n), m)
        bounds = i + (np.arange(k + 1, dtype=np.int64) * m) // k
        starts = bounds[:-1] - i
        # reduceat over contiguous, non-empty runs: exact extremes without copying the signal
        lo = np.minimum.reduceat(y, starts)
        hi = np.maximum.reduceat(y, starts)
        return bounds / self.sr, lo, hi

    def spectrogram(
        self,
        *,
        kind: str = "mel",
        start: float | None = None,
        end: float | None = None,
        n_frames: int = 1200,
        n_mels: int = 80,
        n_fft: int = 512,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Power spectrogram in dB of a window, at most ``n_frames`` frames wide; cached.

        Only the window (plus half an FFT of context at each side) is analysed, in at most
        ``n_frames`` columns (one per pixel); a column wider than an FFT averages the power of
        up to 8 frames spread evenly over it. The cost follows the screen, not the file's
        length.

        Parameters
        ----------
        kind : {"mel", "linear"}
            Mel filterbank (``n_mels`` bands) or linear frequency bins.
        start, end : float, optional
            Window in seconds (default: everything).
        n_frames : int
            Most columns to compute (normally the axes' width in pixels).
        n_mels : int
            Mel bands for ``kind="mel"``.
        n_fft : int
            FFT size (512 = 32 ms at 16 kHz).

        Returns
        -------
        S_db : np.ndarray
            ``(bins, frames)`` float32 power in dB relative to the window's maximum.
        times : np.ndarray
            ``frames + 1`` frame edges in seconds.
        freqs : np.ndarray
            ``bins + 1`` band edges in Hz.

        Examples
        --------
        >>> import numpy as np, voxnb
        >>> t = np.arange(16000) / 16000
        >>> a = voxnb.Audio.from_array(np.sin(2 * np.pi * 1000 * t).astype("float32"), 16000)
        >>> s_db, times, freqs = a.spectrogram(kind="linear", n_frames=10)
        >>> s_db.shape, times.size
        ((257, 10), 11)
        >>> loudest = s_db.mean(axis=1).argmax()
        >>> bool(freqs[loudest] <= 1000 <= freqs[loudest + 1])
        True
        """
        _check_spectrogram_options(kind, n_mels, n_fft)
        if (
            isinstance(n_frames, (bool, np.bool_))
            or not isinstance(n_frames, (int, np.integer))
            or not 1 <= n_frames <= 100_000
        ):
            raise ParameterError(f"n_frames={n_frames!r}: pass a whole number of frames from 1 to 100000")
        i, j = self.sample_range(start, end)
        key = ("spectrogram", kind, i, j, int(n_frames), int(n_mels), int(n_fft))
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = _spectrogram(
                self._mono(),
                self.sr,
                i,
                j,
                kind=kind,
                n_frames=int(n_frames),
                n_mels=int(n_mels),
                n_fft=int(n_fft),
            )
            _trim_cache(self._cache)
        return cached

    # -- internals ------------------------------------------------------------------------------

    def _mono(self) -> np.ndarray:
        if self.y.ndim == 1:
            return self.y
        if "mono" not in self._cache:
            self._cache["mono"] = self.y.mean(axis=0, dtype=np.float32)
        return self._cache["mono"]

    def _blocks(self) -> Iterator[np.ndarray]:
        """The samples block by block along time (views, no copies)."""
        for pos in range(0, self.n_samples, _BLOCK_FRAMES):
            yield self.y[..., pos : pos + _BLOCK_FRAMES]

    def _frames_blocks(self) -> Iterator[np.ndarray]:
        """Blocks shaped ``(frames,)`` or ``(frames, channels)``, as soundfile and soxr take them."""
        for block in self._blocks():
            yield block if block.ndim == 1 else block.T

    def _check_finite(self) -> None:
        # block by block: a mask of the whole signal would cost a quarter of it
        if not all(np.isfinite(block).all() for block in self._blocks()):
            raise AudioError(_not_finite(self._label()))

    def _check_not_empty(self) -> None:
        if self.n_samples == 0:
            raise AudioError(f"{self._label()} holds no audio samples; check that the file is not empty")

    def _label(self) -> str:
        return repr(self.source) if self.source else "the audio"

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        layout = "mono" if self.channels == 1 else f"{self.channels} channels"
        origin = f", {self.source!r}" if self.source else ""
        return f"<Audio {self.duration:.2f} s, {self.sr} Hz, {layout}{origin}>"

    def _repr_html_(self) -> str:
        """The summary, with a player when the audio is short enough to embed."""
        import html

        summary = f"<code>{html.escape(repr(self))}</code>"
        if self.duration > _REPR_PLAYER_SECONDS:
            return f"{summary}<div>too long to embed here: play an excerpt with <code>.play(start, end)</code></div>"
        try:
            player = self.play()._repr_html_()
        except MissingDependencyError:
            return summary
        return f"{summary}{player}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Audio):
            return NotImplemented
        return self.sr == other.sr and self.y.shape == other.y.shape and bool(np.array_equal(self.y, other.y))

    __hash__ = None  # type: ignore[assignment]


def as_audio(obj: Any, *, sr: int | None = 16000) -> Audio:
    """Whatever the user passed as audio, as an :class:`Audio` at ``sr``.

    Parameters
    ----------
    obj : Audio, str, os.PathLike, bytes, file object or (array, sr) tuple
        An Audio, a path or URL, encoded bytes, an open binary file, or samples with their
        rate as ``(y, sr)``.
    sr : int or None
        Sample rate wanted (resampled when needed); ``None`` keeps the input's.

    Returns
    -------
    Audio

    Raises
    ------
    AudioError
        The input is not audio voxnb can read.

    Examples
    --------
    >>> import numpy as np
    >>> as_audio((np.zeros(8000, dtype="float32"), 8000)).sr
    16000
    """
    if isinstance(obj, Audio):
        return obj if sr is None else obj.resample(sr)
    if isinstance(obj, tuple) and len(obj) == 2 and not isinstance(obj[0], (str, bytes, os.PathLike)):
        y, native = obj
        audio = Audio.from_array(y, native)
        return audio if sr is None else audio.resample(sr)
    if isinstance(obj, np.ndarray):
        raise AudioError("a bare array has no sample rate; pass (y, sr) or voxnb.Audio.from_array(y, sr)")
    if isinstance(obj, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(obj, "read"):
        return Audio.load(obj, sr=sr)
    raise AudioError(
        f"cannot use a {type(obj).__name__} as audio; pass a path, URL, bytes, an open binary "
        "file, (samples, sr) or a voxnb.Audio"
    )


# -- decoding --------------------------------------------------------------------------------------


def _silent(label: str, peak: float) -> str:
    return (
        f"{label} is silent (peak amplitude {peak:.2g}, under -80 dBFS): there is nothing to transcribe; "
        "check the recording level or the input device"
    )


def _not_finite(label: str) -> str:
    return (
        f"{label} holds NaN or infinite values, which would be transcribed into made-up words; clean "
        "the samples first (np.nan_to_num(y)) or re-export the file"
    )


def _truncated(label: str, declared: float, read: float | None) -> str:
    found = "it ends before that" if read is None else f"only {read:.2f} s can be read"
    return (
        f"{label} is truncated: its header promises {declared:.2f} s but {found} (the file was probably "
        "cut off while being written or copied); re-export it, or load what is there with "
        "Audio.load(..., allow_truncated=True)"
    )


def check_encoded(data: bytes, label: str) -> None:
    """Refuse an encoded file that :meth:`Audio.load` would refuse or that holds nothing to transcribe.

    Made for checks before an upload, so it costs far less than decoding: the header, one read near
    the end that the header promises (truncation), and the samples from the start until the first
    audible one (silence). Floating-point files are read whole, since any sample may be NaN.
    Containers libsndfile does not read (m4a, webm) are left to the server.

    Raises
    ------
    AudioError
        An unreadable header, no samples, a truncated file, NaN or infinite samples, or silence.

    Examples
    --------
    >>> import numpy as np
    >>> check_encoded(Audio.from_array(np.zeros(1600, "float32"), 16000).to_wav(), "the take")
    Traceback (most recent call last):
    ...
    voxnb.errors.AudioError: the take is silent (peak amplitude 0, under -80 dBFS): there is nothing to transcribe; check the recording level or the input device
    """
    import soundfile as sf

    opened = io.BytesIO(data)
    try:
        f = sf.SoundFile(opened)
    except Exception as err:  # libsndfile raises several types for unreadable headers
        raise AudioError(
            f"{label} looks like audio but its header cannot be read ({err}); re-export the file or load "
            "it with voxnb.Audio.load() to see what is wrong"
        ) from None
    with f:
        declared = _declared_frames(f, opened)
        if f.frames == 0:
            raise AudioError(f"{label} holds no audio samples; re-export or re-record it")
        shortened = f.frames < declared * 0.99  # libsndfile shortens a truncated WAV to what is there
        if not shortened and declared:
            try:
                f.seek(max(0, int(declared * 0.99) - 1))
                shortened = len(f.read(1, dtype="float32")) == 0
            except (sf.LibsndfileError, RuntimeError):
                shortened = True
        if shortened:
            read = f.frames / f.samplerate if f.frames < declared else None
            raise AudioError(_truncated(label, declared / f.samplerate, read))
        try:
            f.seek(0)
            peak, every = 0.0, f.subtype in ("FLOAT", "DOUBLE")
            while len(block := f.read(1 << 16, dtype="float32", always_2d=True)):
                mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
                if every and not np.isfinite(mono).all():
                    raise AudioError(_not_finite(label))
                peak = max(peak, float(np.abs(mono).max(initial=0.0)))
                if peak >= SILENCE_PEAK and not every:
                    break
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(
                f"{label} is corrupt or truncated: decoding failed ({err}); re-export or re-download it"
            ) from None
    if peak < SILENCE_PEAK:
        raise AudioError(_silent(label, peak))


def _open_source(source: Source) -> tuple[str | None, Any]:
    """A name for messages and something soundfile can open (path or seekable binary file)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioError("the audio bytes are empty; pass the encoded file's content")
        return None, io.BytesIO(bytes(source))
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return source, io.BytesIO(_download(source))
    if isinstance(source, (str, os.PathLike)):
        path = existing_file(source)
        if path.stat().st_size == 0:
            raise AudioError(f"audio file {str(path)!r} is empty (0 bytes); re-export or re-record it")
        return str(path), path
    if hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            raise AudioError("the file object was opened in text mode; open the audio file with mode 'rb'")
        name = getattr(source, "name", None)
        name = str(name) if isinstance(name, (str, os.PathLike)) else None
        seekable = getattr(source, "seekable", lambda: False)()
        if not seekable:
            data = source.read()
            if not data:
                raise AudioError("the audio file object gave no bytes; is it at its end or empty?")
            return name, io.BytesIO(data)
        return name, source
    raise AudioError(
        f"cannot read audio from a {type(source).__name__}; pass a path, URL, bytes or an open binary file"
    )


def existing_file(source: str | os.PathLike) -> Path:
    """*source* as the path of an existing file, or an AudioError saying what is there instead."""
    path = Path(source).expanduser()
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError as err:  # a name too long, a path through a file...
        raise AudioError(
            f"audio file {str(path)[:200]!r} cannot be opened: {err.strerror}; check the path"
        ) from None
    if not is_file:
        what = "is a directory" if is_dir else "does not exist"
        raise AudioError(f"audio file {str(path)[:200]!r} {what}; check the path")
    return path


def _download(url: str) -> bytes:
    import httpx

    try:
        response = httpx.get(url, follow_redirects=True, timeout=60.0)
        response.raise_for_status()
    except (httpx.HTTPError, httpx.InvalidURL) as err:  # InvalidURL is not an HTTPError
        raise AudioError(
            f"could not download audio from {url}: {err}; check the URL and your connection"
        ) from err
    if not response.content:
        raise AudioError(f"{url} answered with no bytes; check the URL")
    return response.content


def _decode(
    opened: Any, name: str | None, *, sr: int | None, mono: bool, allow_truncated: bool
) -> tuple[np.ndarray, int]:
    import soundfile as sf

    label = repr(name) if name else "the audio"
    with contextlib.ExitStack() as cleanup:
        try:
            f = sf.SoundFile(opened)
        except sf.LibsndfileError as err:
            # libsndfile's own words: str(err) also quotes the path, which may hold any word
            if "malformed" in err.error_string.lower():
                raise AudioError(
                    f"{label} looks like a supported format but is malformed or truncated ({err}); "
                    "re-export or re-download it"
                ) from err
            opened = cleanup.enter_context(_converted_by_ffmpeg(opened, label, cause=err))
            f = sf.SoundFile(opened)
        with f:
            native_sr = f.samplerate
            declared = _declared_frames(f, opened)
            try:
                y, read = _read_all(f, sr=sr, mono=mono)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise AudioError(
                    f"{label} is corrupt or truncated: decoding failed after the start ({err}); "
                    "re-export or re-download it"
                ) from err
    if declared and read < declared * 0.99 and not allow_truncated:
        raise AudioError(_truncated(label, declared / native_sr, read / native_sr))
    return y, native_sr


@contextlib.contextmanager
def _converted_by_ffmpeg(opened: Any, label: str, *, cause: Exception) -> Iterator[Path]:
    """A temporary 16-bit WAV of a container libsndfile cannot read (m4a, webm, ...), made by ffmpeg.

    The WAV is then decoded like any other file, block by block into one array: the price of
    these formats is a temporary file, not several copies of the signal in memory.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(
            f"cannot decode {label}: it is not a format libsndfile reads (wav, flac, ogg, mp3, ...) "
            f"and ffmpeg, needed for m4a/webm/aac, is not installed. Install ffmpeg (apt-get install "
            f"ffmpeg / conda install ffmpeg) or convert the file to wav or flac. Decoder said: {cause}"
        ) from cause
    with tempfile.TemporaryDirectory(prefix="voxnb-") as tmp:
        if isinstance(opened, Path):
            encoded = opened
        else:
            encoded = Path(tmp) / "encoded"
            opened.seek(0)
            with open(encoded, "wb") as fh:
                shutil.copyfileobj(opened, fh)
        wav = Path(tmp) / "decoded.wav"
        # the first audio stream only, as 16-bit PCM (what ffmpeg-based decoders such as audioread
        # give); RF64 past WAV's 4 GB limit
        done = subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-i",
                str(encoded),
                "-map",
                "0:a:0",
                "-c:a",
                "pcm_s16le",
                "-rf64",
                "auto",
                str(wav),
            ],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            detail = lines[-1].removeprefix(f"{encoded}: ") if lines else f"exit status {done.returncode}"
            raise AudioError(
                f"cannot decode {label}: neither libsndfile ({cause}) nor ffmpeg ({detail}) reads it; "
                "is it really audio? Check the file, or convert it to wav or flac"
            ) from cause
        yield wav


def _declared_frames(f: Any, opened: Any) -> int:
    """Frames the file's header promises (libsndfile silently shortens truncated WAVs)."""
    if f.format in ("WAV", "WAVEX") and f.subtype.startswith(("PCM", "FLOAT", "DOUBLE")):
        data_bytes = _wav_data_chunk_size(opened)
        width = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
        if data_bytes and f.subtype in width:
            return data_bytes // (width[f.subtype] * f.channels)
        return 0
    return int(f.frames)


def _wav_data_chunk_size(opened: Any) -> int:
    """Size in bytes the RIFF ``data`` chunk declares, or 0 when unknown (streamed WAVs)."""
    with contextlib.ExitStack() as stack:
        if isinstance(opened, Path):
            fh = stack.enter_context(open(opened, "rb"))
        else:
            fh = opened
            stack.callback(fh.seek, fh.tell())  # libsndfile reads on from where it was
            fh.seek(0)
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return 0
        # chunk by chunk, seeking over the bodies: metadata chunks (cover art, iXML, bext) of any
        # size may come before the data
        while len(header := fh.read(8)) == 8:
            chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                # streaming writers leave 0 or 0xFFFFFFFF: the data then runs to the file's end
                return 0 if size in (0, 0xFFFFFFFF) else size
            fh.seek(size + (size & 1), os.SEEK_CUR)  # a chunk of odd size is followed by a pad byte
    return 0


def _read_all(f: Any, *, sr: int | None, mono: bool) -> tuple[np.ndarray, int]:
    """Decode block by block (downmixing and resampling on the way) into one array."""
    channels = 1 if mono else f.channels
    read = 0  # frames at the file's rate, for the truncation check

    def native_blocks() -> Iterator[np.ndarray]:
        nonlocal read
        while len(block := f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)):
            read += len(block)
            if mono:
                yield block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
            else:
                yield block

    expected = max(int(f.frames), 0)
    if sr is None or sr == f.samplerate:
        y = _collect(native_blocks(), expected, channels)
    else:
        y = _resample_blocks(native_blocks(), f.samplerate, sr, channels, expected)
    return y, read


def _resample_blocks(
    blocks: Iterator[np.ndarray], sr_in: int, sr_out: int, channels: int, expected_in: int
) -> np.ndarray:
    import soxr

    stream = soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality="HQ")

    def resampled() -> Iterator[np.ndarray]:
        for block in blocks:
            yield stream.resample_chunk(np.ascontiguousarray(block), last=False)
        yield stream.resample_chunk(np.zeros((0, channels) if channels > 1 else 0, np.float32), last=True)

    expected_out = int(np.ceil(expected_in * sr_out / sr_in))
    return _collect(resampled(), expected_out, channels)


def _collect(blocks: Iterator[np.ndarray], expected: int, channels: int) -> np.ndarray:
    """Concatenate ``(frames[, channels])`` blocks into one ``(n,)``/``(channels, n)`` array.

    The output is allocated once at the expected size (grown geometrically only if the
    decoder delivers more), so the peak is one copy of the signal plus one block.
    """
    shape = (channels, max(expected, 1)) if channels > 1 else (max(expected, 1),)
    out = np.empty(shape, dtype=np.float32)
    pos = 0
    for block in blocks:
        n = len(block)
        if pos + n > out.shape[-1]:
            grown = np.empty((*out.shape[:-1], max(pos + n, int(out.shape[-1] * 1.5))), np.float32)
            grown[..., :pos] = out[..., :pos]
            out = grown
        out[..., pos : pos + n] = block.T if block.ndim == 2 else block
        pos += n
    if pos < out.shape[-1]:
        # a view would pin the whole buffer; copy only when the waste is worth it
        out = out[..., :pos].copy() if out.shape[-1] - pos > _BLOCK_FRAMES else out[..., :pos]
    return out


# -- helpers ---------------------------------------------------------------------------------------


#: the highest sample rate taken (studio audio goes to 768 kHz; above is a unit mistake, and
#: resampling to it would allocate without bound)
MAX_SAMPLE_RATE = 1_000_000


def _check_rate(sr: Any) -> int:
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 0 < sr <= MAX_SAMPLE_RATE:
        raise ParameterError(
            f"sample rate sr={sr!r} must be a positive integer number of Hz up to {MAX_SAMPLE_RATE}, e.g. 16000",
            option="sr",
        )
    return int(sr)


def _check_spectrogram_options(kind: str, n_mels: int, n_fft: int) -> None:
    if kind not in ("mel", "linear"):
        raise ParameterError(f"kind={kind!r}: use 'mel' or 'linear'")
    for name, value, most in (("n_mels", n_mels, 1024), ("n_fft", n_fft, 1 << 16)):
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, np.integer))
            or not 1 <= value <= most
        ):
            raise ParameterError(
                f"{name}={value!r}: pass a whole number from 1 to {most} (the defaults are n_mels=80, n_fft=512)"
            )


def _to_float32(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False)
    half = float(2 ** (8 * arr.dtype.itemsize - 1))
    out = arr.astype(np.float32)  # the one copy; scaled in place
    if arr.dtype.kind == "u":  # unsigned PCM is centred on half scale
        out -= half
    out /= half
    return out


def _float_to_pcm16(block: np.ndarray) -> np.ndarray:
    scaled = np.multiply(block, 32768.0, dtype=np.float32)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return np.rint(scaled, out=scaled).astype("<i2")


def _fmt_window(start: float | None, end: float | None) -> str:
    a = "start" if start is None else f"{start:g}"
    b = "end" if end is None else f"{end:g}"
    return f"{a}–{b} s"


def _trim_cache(cache: dict[Any, Any], keep: int = 16) -> None:
    """Keep only the most recent spectrogram windows (dicts remember insertion order)."""
    keys = [k for k in cache if isinstance(k, tuple) and k[0] == "spectrogram"]
    for k in keys[:-keep]:
        del cache[k]


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    with warnings.catch_warnings():
        # short windows get a short FFT, whose lowest mel bands hold no bin: they stay at the floor
        warnings.filterwarnings("ignore", "Empty filters", UserWarning)
        basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=sr / 2).astype(np.float32)
    edges = librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2)
    # band k is centred on edges[k+1]; draw it between the midpoints to its neighbours
    centres = edges[1:-1]
    bounds = np.concatenate([[0.0], (centres[:-1] + centres[1:]) / 2, [sr / 2]])
    return basis, bounds


def _spectrogram(
    y: np.ndarray, sr: int, i: int, j: int, *, kind: str, n_frames: int, n_mels: int, n_fft: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = j - i
    n_fft = min(n_fft, max(16, 1 << int(np.floor(np.log2(max(m, 16))))))
    columns = max(1, min(n_frames, m // max(1, n_fft // 4)))
    width = m / columns  # samples per column (fractional: columns tile the window exactly)
    # Each column averages the power of up to _SPEC_FRAMES_PER_COLUMN frames spread evenly over
    # it: wide columns are summarised, not represented by one 32 ms frame, at a cost bounded by
    # the screen, not by the window's length.
    per_column = int(np.clip(np.ceil(width / n_fft), 1, _SPEC_FRAMES_PER_COLUMN))
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    # every frame of the file as a zero-copy view; only the frames picked below are copied
    all_frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)
    if kind == "mel":
        basis, freq_edges = _mel_basis(sr, n_fft, n_mels)
    else:
        basis = None
        bin_hz = sr / n_fft
        freq_edges = np.concatenate([[0.0], (np.arange(n_fft // 2) + 0.5) * bin_hz, [sr / 2]])
    power = np.empty((columns, len(freq_edges) - 1), dtype=np.float32)
    step = max(1, (1 << 22) // (per_column * n_fft))  # columns per batch: ~16 MB of frames
    for c0 in range(0, columns, step):
        cols = np.arange(c0, min(columns, c0 + step))
        centres = i + (cols[:, None] + (np.arange(per_column)[None, :] + 0.5) / per_column) * width
        # frames centred on their times; at the file's edges they are shifted inside it
        first = np.clip(np.rint(centres).astype(np.int64).reshape(-1) - n_fft // 2, 0, y.size - n_fft)
        frames = all_frames[first] * window
        spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        if basis is not None:
            spec = spec @ basis.T
        power[cols] = spec.reshape(len(cols), per_column, -1).mean(axis=1)
    ref = float(power.max()) or 1.0
    s_db = 10.0 * np.log10(np.maximum(power.T, ref * 1e-10) / ref)
    time_edges = (i + np.arange(columns + 1) * width) / sr
    return s_db.astype(np.float32), time_edges, np.asarray(freq_edges, dtype=np.float64)
