"""A deterministic transcription engine for tests, benchmarks and demos without a model.

It does not recognise speech and says so: its model name is
``voxnb-deterministic-test-engine``. Its "words" are code words (``alpha``, ``bravo``, …,
``nine``) chosen by hashing each 0.4 s window of the 16-bit samples, so the output depends on
the audio content — different audio gives different text, the same audio the same text, in
batch and in streaming alike — and silent windows give no word.

Other options act in documented, checkable ways: ``context_bias`` replaces a code word with
the first bias term starting with the same letter; ``diarize`` labels segments by their
zero-crossing rate (above or below the median), not by a speaker model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities

__all__ = ["FakeEngine"]

SAMPLE_RATE = 16000
WINDOW_SECONDS = 0.4
SILENCE_RMS = 1e-3
WORDS_PER_SEGMENT = 6
_VOCABULARY = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)


class FakeEngine:
    """The deterministic engine behind ``voxnb serve --engine fake``.

    Parameters
    ----------
    can_chat : bool
        Whether :meth:`chat` answers (with an honest description, not an understanding of
        the audio); ``False`` makes the server refuse chat requests as an engine without chat.

    Examples
    --------
    >>> import numpy as np
    >>> from voxnb.local.fake import FakeEngine
    >>> rng = np.random.default_rng(0)
    >>> FakeEngine().transcribe(rng.uniform(-0.5, 0.5, 16000).astype("float32"))["text"]
    ' three golf oscar'
    """

    model = "voxnb-deterministic-test-engine"
    #: no shared state: the server may call it from several threads at once
    thread_safe = True

    def __init__(self, *, can_chat: bool = True):
        self.can_chat = can_chat

    def __repr__(self) -> str:
        return f"FakeEngine(model={self.model!r}: deterministic code words, not speech recognition)"

    # -- the words -----------------------------------------------------------------------------

    @staticmethod
    def _window_word(window: np.ndarray) -> str | None:
        if window.size == 0 or float(np.sqrt(np.mean(window.astype(np.float64) ** 2))) < SILENCE_RMS:
            return None
        pcm = np.rint(np.clip(window, -1.0, 1.0) * 32767).astype("<i2")
        digest = hashlib.sha256(pcm.tobytes()).digest()
        return _VOCABULARY[int.from_bytes(digest[:4], "little") % len(_VOCABULARY)]

    @staticmethod
    def _biased(word: str, context_bias: list[str] | None) -> str:
        for term in context_bias or ():
            if term[:1].lower() == word[:1]:
                return term
        return word

    def _words(
        self, samples: np.ndarray, context_bias: list[str] | None
    ) -> list[tuple[str, float, float, np.ndarray]]:
        step = int(WINDOW_SECONDS * SAMPLE_RATE)
        words = []
        for i in range(0, len(samples), step):
            window = samples[i : i + step]
            word = self._window_word(window)
            if word is not None:
                start, end = i / SAMPLE_RATE, (i + len(window)) / SAMPLE_RATE
                words.append((self._biased(word, context_bias), round(start, 3), round(end, 3), window))
        return words

    # -- the protocol --------------------------------------------------------------------------

    @property
    def capabilities(self) -> ModelCapabilities:
        """Everything the offline engine can do, in any language (it does not listen anyway)."""
        from voxnb.models import engine_capabilities

        return engine_capabilities(self.model, languages=None)

    @property
    def stream_capabilities(self) -> ModelCapabilities:
        """What :meth:`stream` can do: code words, with ``context_bias`` applied as in batch."""
        from voxnb.models import engine_capabilities

        return engine_capabilities(self.model, languages=None, streaming=True)

    def transcribe(self, samples: np.ndarray, **options: Any) -> dict[str, Any]:
        """A Mistral-shaped transcription response of *samples* (float32 mono 16 kHz).

        *options* are the transcription options, checked by the request contract
        (:class:`voxnb.request.TranscriptionRequest`) against :attr:`capabilities`.
        """
        from voxnb.request import TranscriptionRequest

        request = TranscriptionRequest.create(**options).resolve(self.capabilities)
        timestamps, diarize, language = list(request.wire_timestamps), request.diarize, request.language
        context_bias, num_speakers = list(request.context_bias), request.num_speakers
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        words = self._words(samples, context_bias)
        text = "".join(f" {w}" for w, *_ in words)
        segments: list[dict[str, Any]] = []
        if timestamps or diarize:
            groups = _group(words)
            speakers = _speakers(groups, num_speakers) if diarize else [None] * len(groups)
            for group, speaker in zip(groups, speakers):
                segment: dict[str, Any] = {
                    "text": "".join(f" {w}" for w, *_ in group),
                    "start": group[0][1],
                    "end": group[-1][2],
                    "speaker_id": speaker,
                    "type": "transcription_segment",
                }
                if "word" in timestamps:
                    segment["words"] = [
                        {"text": w, "start": s, "end": e, "score": 1.0} for w, s, e, _ in group
                    ]
                segments.append(segment)
        duration = len(samples) / SAMPLE_RATE
        return {
            "model": self.model,
            "text": text,
            # like Mistral: no language when timestamps or diarization were requested
            "language": None if (timestamps or diarize) else (language or "en"),
            "segments": segments,
            "usage": {
                "prompt_audio_seconds": math.ceil(duration),
                "prompt_tokens": 0,
                "completion_tokens": len(words),
                "total_tokens": len(words),
            },
            "type": "transcription.done",
        }

    def stream(
        self,
        pcm_chunks: Iterable[bytes],
        *,
        context_bias: list[str] | None = None,
        language: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Realtime events over s16le 16 kHz chunks: one text delta per finished window, then done."""
        bias = list(context_bias or [])
        step_bytes = int(WINDOW_SECONDS * SAMPLE_RATE) * 2
        received = bytearray()
        read = 0  # bytes of *received* already turned into words
        for chunk in pcm_chunks:
            received += chunk
            while len(received) - read >= step_bytes:
                yield from self._delta(received[read : read + step_bytes], bias)
                read += step_bytes
        if len(received) - read >= 2:
            yield from self._delta(received[read:], bias)
        yield self.transcribe(_samples(received), context_bias=bias or None, language=language)

    def _delta(self, pcm: bytes | bytearray, bias: list[str]) -> Iterator[dict[str, Any]]:
        word = self._window_word(_samples(pcm))
        if word is not None:
            yield {"type": "transcription.text.delta", "text": f" {self._biased(word, bias)}"}

    def chat(self, samples: np.ndarray, prompt: str) -> str:
        """An honest answer: this engine cannot understand audio; it reports what it computed."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        text = self.transcribe(samples)["text"].strip()
        return (
            f"[{self.model}] I am a deterministic test engine and do not understand audio. "
            f"The audio lasts {len(samples) / SAMPLE_RATE:.2f} s; my code-word transcription is "
            f"{text!r}. Your prompt was {prompt!r}."
        )


def _samples(pcm: bytes | bytearray) -> np.ndarray:
    """float32 samples of s16le bytes (an odd trailing byte is dropped)."""
    return np.frombuffer(bytes(pcm[: len(pcm) // 2 * 2]), "<i2").astype(np.float32) / 32768.0


def _group(
    words: list[tuple[str, float, float, np.ndarray]],
) -> list[list[tuple[str, float, float, np.ndarray]]]:
    """Consecutive windows with words form a segment (split at silence and every few words)."""
    groups: list[list[Any]] = []
    for word in words:
        current = groups[-1] if groups else None
        if current and current[-1][2] >= word[1] - 1e-9 and len(current) < WORDS_PER_SEGMENT:
            current.append(word)
        else:
            groups.append([word])
    return groups


def _speakers(groups: list[list[Any]], num_speakers: int | None) -> list[str]:
    if num_speakers == 1 or not groups:
        return ["speaker_1"] * len(groups)
    rates = []
    for group in groups:
        signal = np.concatenate([w[3] for w in group])
        rates.append(float(np.mean(np.abs(np.diff(np.signbit(signal).astype(np.int8))))))
    median = float(np.median(rates))
    return ["speaker_2" if rate > median else "speaker_1" for rate in rates]
