"""Incremental transcription for the realtime path: re-decode a sliding window, commit what is stable.

Whisper is not a streaming model, so :func:`stream` keeps the audio not yet committed in a
buffer and re-decodes it every ``hop`` seconds of new audio. A word is committed (sent as a
``transcription.text.delta``) once two consecutive decodes agree on it and on everything
before it — the LocalAgreement-2 policy of Macháček et al. (2023, *Turning Whisper into
Real-Time Transcription System*) — or at once when the new audio holds no more speech (the
utterance has ended). Committed audio is cut from the buffer at sentence ends, and the
committed text before the buffer is given to the decoder as its prompt.

Each decode encodes only the buffer's length, not a padded 30 s window (:func:`short_decode`),
which makes it 4 times cheaper; that pays for a 0.5 s hop. On 2 cores with tiny.en the median
delay from a word's end to its commit is about 1 s with the decoder busy a third of real
time (``benchmarks/engine.py --only stream``).
"""

from __future__ import annotations

import math
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from voxnb.errors import ParameterError
from voxnb.local.engine import (
    MIN_SEGMENT,
    SAMPLE_RATE,
    hotwords,
    segment_of,
    sentence_groups,
    sentences,
    words_in_speech,
)
from voxnb.local.loops import find_loop

if TYPE_CHECKING:
    from voxnb.local.engine import Engine

__all__ = ["LocalAgreement", "stream"]

PROMPT_CHARS = 200  # committed text given to the decoder as context
GUARD = 0.3  # seconds: a word ending this close to the buffer's end may still be being spoken
# seconds of audio heard after a word that make one decode enough to commit it: off by default,
# since on the benchmark's speech it raised WER (18.3 -> 19.2 %) for no shorter median delay
SETTLE = math.inf
KEEP = 1.0  # seconds: sentences ending this far back are cut from the buffer
ENCODER_MARGIN = 100  # mel frames (1 s) of padding the short encoder sees after the audio
MAX_TOKENS_PER_SECOND = 8  # more text than speech holds is a loop: the decode stops there
_END = object()


def short_decode(engine: Engine, samples: np.ndarray, *, prompt: str = "", hotwords: str | None = None,
                 language: str | None = None) -> list:  # fmt: skip
    """Greedy Whisper decode of a short buffer with the encoder run on the buffer's length only.

    faster-whisper pads every window to 30 s before encoding, and encoding is most of a
    tiny.en decode on a CPU (0.5 of 0.8 CPU-seconds for an 8 s buffer). CTranslate2 encodes
    shorter inputs too (the positional embedding is cut), 5-8 times faster; Whisper then
    decodes them about as well. Returns faster-whisper ``Word`` objects, times from the buffer's start.
    """
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import Word, get_suppressed_tokens, merge_punctuations

    whisper = engine.whisper
    tokenizer = Tokenizer(
        whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language=language or "en"
    )
    mel = whisper.feature_extractor(samples)
    frames = min(mel.shape[-1], whisper.feature_extractor.nb_max_frames)
    context = min(whisper.feature_extractor.nb_max_frames, -(-(frames + ENCODER_MARGIN) // 100) * 100)
    features = np.zeros((mel.shape[0], context), np.float32)
    features[:, :frames] = mel[:, :frames]
    previous = (
        whisper.hf_tokenizer.encode(" " + prompt.strip(), add_special_tokens=False).ids if prompt else []
    )
    start = whisper.get_prompt(tokenizer, previous, without_timestamps=True, hotwords=hotwords)
    seconds = len(samples) / SAMPLE_RATE
    with engine.lock:
        encoded = whisper.encode(features)
        result = whisper.model.generate(
            encoded,
            [start],
            beam_size=1,
            max_length=min(whisper.max_length, len(start) + int(seconds * MAX_TOKENS_PER_SECOND) + 8),
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        if not tokens:
            return []
        alignment = whisper.find_alignment(tokenizer, [tokens], encoded, frames)[0]
    merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    return [
        Word(
            start=float(a["start"]), end=float(a["end"]), word=a["word"], probability=float(a["probability"])
        )
        for a in alignment
        if a["word"]
    ]


def _key(word: str) -> str:
    """What two hypotheses must share for a word to count as the same word."""
    return re.sub(r"[^\w']", "", word.lower())


class LocalAgreement:
    """The state of one incremental transcription; feed audio, call :meth:`update`, then :meth:`finish`.

    Parameters
    ----------
    engine : Engine
        The loaded offline engine.
    hop : float
        Seconds of new audio between two decodes.
    max_buffer : float
        Past this many seconds of uncommitted audio the buffer is cut at the last committed
        word even without a sentence end.
    max_delay : float
        A word that ended this many seconds ago is committed even if two decodes have not
        agreed on it yet (tiny models churn), which bounds the delay.
    settle : float
        A word followed by this many seconds of heard audio is committed from one decode
        (default: never; two decodes must agree). At the end of an utterance (the new audio
        holds no speech) one decode commits everything, and silence is not decoded at all.
    context_bias, language : optional
        As for :meth:`Engine.transcribe`.
    beam_size : int
        Decoder beam; greedy (1) keeps the delay down.
    fast : bool
        Encode only the buffer's length (:func:`short_decode`) instead of a padded 30 s window;
        a decode that loops falls back to the whole engine. Greedy decoding only.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local.engine import get_engine
    >>> state = LocalAgreement(get_engine(), hop=1.0)
    >>> pcm = voxnb.data.audio("words").to_pcm16()
    >>> events = []
    >>> for i in range(0, len(pcm), 3200):                        # 100 ms chunks
    ...     state.feed(pcm[i : i + 3200])
    ...     if state.due:
    ...         events += state.update()
    >>> events += state.finish()
    >>> events[-1]["type"]
    'transcription.done'
    """

    def __init__(
        self,
        engine: Engine,
        *,
        hop: float = 0.5,
        max_buffer: float = 15.0,
        max_delay: float = 5.0,
        settle: float = SETTLE,
        context_bias: list[str] | None = None,
        language: str | None = None,
        beam_size: int = 1,
        fast: bool = True,
    ):
        if hop <= 0 or max_buffer <= hop or max_delay <= hop:
            raise ParameterError(
                f"need 0 < hop < max_buffer and hop < max_delay, got hop={hop}, "
                f"max_buffer={max_buffer}, max_delay={max_delay}"
            )
        if beam_size < 1:
            raise ParameterError(f"beam_size must be at least 1 (1 is greedy decoding), got {beam_size}")
        route = getattr(engine, "for_language", None)  # English-only models hand other languages on
        self.engine = route(language) if route else engine
        self.hop, self.max_buffer, self.max_delay, self.settle = hop, max_buffer, max_delay, settle
        self.context_bias, self.language, self.beam_size = context_bias, language, beam_size
        self.fast = fast and beam_size == 1
        self.buffer = np.zeros(0, np.float32)
        self.offset = 0.0  # seconds of audio cut from the buffer's front
        self.fed = 0  # samples received
        self.since_decode = 0  # samples received since the last decode
        self.committed: list = []  # faster-whisper Words with absolute times
        self.hypothesis: list = []  # the last decode's words after the committed ones
        self.segment_start = 0  # index in committed of the first word of the open sentence
        self._odd = b""  # a byte left over when a chunk split a sample

    @property
    def committed_end(self) -> float:
        return float(self.committed[-1].end) if self.committed else 0.0

    def feed(self, pcm: bytes) -> None:
        """Append s16le mono 16 kHz bytes."""
        data = self._odd + bytes(pcm)
        cut = len(data) - len(data) % 2
        self._odd = data[cut:]
        samples = np.frombuffer(data[:cut], dtype="<i2").astype(np.float32) / 32768.0
        self.buffer = np.concatenate([self.buffer, samples])
        self.fed += len(samples)
        self.since_decode += len(samples)

    @property
    def due(self) -> bool:
        return self.since_decode >= self.hop * SAMPLE_RATE

    def _decode(self) -> list:
        """Words of the buffer (absolute times) that come after what is committed."""
        self.since_decode = 0
        if len(self.buffer) < SAMPLE_RATE // 10:
            return []
        before = [w.word for w in self.committed if w.end <= self.offset + 0.01]
        prompt = "".join(before)[-PROMPT_CHARS:].strip()
        found = []
        if self.fast:
            found = short_decode(
                self.engine,
                self.buffer,
                prompt=prompt,
                hotwords=hotwords(self.context_bias),
                language=self.language,
            )
        if not self.fast or find_loop([w.word for w in found], [(w.start, w.end) for w in found]) is not None:
            # the whole engine: 30 s encoder windows, and the repairs of loops and copied bias terms
            segments, _ = self.engine.decode(
                self.buffer,
                words=True,
                context_bias=self.context_bias,
                language=self.language,
                beam_size=self.beam_size,
                prompt=prompt,
                temperature=0.0,  # no fallback: audio cut mid-word would trigger re-decodes at higher temperatures
            )
            found = [w for s in segments for w in (s.words or [])]
        # words decoded from silence (a prompt invites "Thank you for joining us." loops) go
        words = [
            replace(w, start=w.start + self.offset, end=w.end + self.offset)
            for w in words_in_speech([SimpleNamespace(words=found)], self.buffer)
        ]
        words = [w for w in words if (w.start + w.end) / 2 > self.committed_end]
        # the decoder may repeat the last committed words from the buffer's front: drop the repeat
        tail = [_key(w.word) for w in self.committed[-5:]]
        for n in range(min(len(tail), len(words)), 0, -1):
            if [_key(w.word) for w in words[:n]] == tail[-n:]:
                return words[n:]
        return words

    def _commit(self, words: list) -> Iterator[dict[str, Any]]:
        if not words:
            return
        text = "".join(w.word for w in words)
        self.committed += words
        yield {
            "type": "transcription.text.delta",
            "text": text.lstrip() if len(self.committed) == len(words) else text,
        }
        yield from self._close_sentences()

    def _close_sentences(self, *, final: bool = False) -> Iterator[dict[str, Any]]:
        """Send the sentences that later words can no longer change as ``transcription.segment``.

        A sentence's end depends on the word after it, and a segment shorter than 0.3 s joins
        a neighbour (:func:`~voxnb.local.engine.sentences`), so the open sentence stays open,
        and so does the one before it while the open one is that short.
        """
        groups = sentence_groups(self.committed[self.segment_start :])
        if not final and groups:
            last = groups[-1]
            groups = groups[: -1 if last[-1].end - last[0].start >= MIN_SEGMENT else -2]
        for group in groups:
            self.segment_start += len(group)
            segment = segment_of(group)
            yield {
                "type": "transcription.segment",
                "text": segment["text"],
                "start": segment["start"],
                "end": segment["end"],
                "speaker_id": None,
            }

    def _trim(self) -> None:
        """Cut committed sentences off the buffer's front (and, past ``max_buffer``, committed words)."""
        buffer_end = self.offset + len(self.buffer) / SAMPLE_RATE
        closed = [w.end for w in self.committed[: self.segment_start] if w.end <= buffer_end - KEEP]
        cut = closed[-1] if closed else self.offset
        if buffer_end - self.offset > self.max_buffer and self.committed:
            cut = max(cut, self.committed_end)
        drop = int((cut - self.offset) * SAMPLE_RATE)
        if drop > 0:
            self.buffer = self.buffer[drop:]
            self.offset += drop / SAMPLE_RATE

    def _speech_in_new_audio(self) -> bool:
        from voxnb.local.vad import speech_regions

        new = self.buffer[-self.since_decode :] if self.since_decode else self.buffer[:0]
        return len(new) >= SAMPLE_RATE // 10 and bool(speech_regions(new))

    def update(self) -> Iterator[dict[str, Any]]:
        """Decode the buffer and commit the words that are stable.

        Stable: this decode and the previous one agree on it (LocalAgreement-2), or one decode
        heard ``settle`` seconds after it, or the utterance has ended, or it is older than
        ``max_delay``.
        """
        speaking = self._speech_in_new_audio()
        if not speaking and not self.hypothesis:  # silence, nothing pending: nothing to decode
            self.since_decode = 0
            self._trim()
            return
        words = self._decode()
        buffer_end = self.offset + len(self.buffer) / SAMPLE_RATE
        settled = buffer_end - GUARD
        agreed = 0
        for old, new in zip(self.hypothesis, words):
            if _key(old.word) != _key(new.word) or new.end > settled:
                break
            agreed += 1
        # one decode is enough for words heard long enough ago, and for all at an utterance's end
        heard = buffer_end - (GUARD if not speaking else self.settle)
        # a churning decoder may not agree for long: words older than max_delay are committed as heard now
        oldest = buffer_end - self.max_delay
        while agreed < len(words) and words[agreed].end <= max(heard, oldest):
            agreed += 1
        self.hypothesis = words[agreed:]
        yield from self._commit(words[:agreed])
        self._trim()

    def finish(self) -> Iterator[dict[str, Any]]:
        """The end of the audio: commit everything left and close with ``transcription.done``."""
        if self.since_decode or not self.hypothesis:
            yield from self._commit(self._decode())
        else:
            yield from self._commit(self.hypothesis)
        self.hypothesis = []
        yield from self._close_sentences(final=True)
        segments = sentences(self.committed)
        for segment in segments:
            for w in segment["words"]:
                w["text"] = w["text"].strip()
        text = "".join(w.word for w in self.committed).strip()
        yield {
            "type": "transcription.done",
            "model": self.engine.model,
            "text": text,
            "language": self.language or "en",
            "segments": segments,
            "usage": {
                "prompt_audio_seconds": math.ceil(self.fed / SAMPLE_RATE),
                "prompt_tokens": 0,
                "completion_tokens": len(self.committed),
                "total_tokens": len(self.committed),
            },
        }


def stream(engine: Engine, pcm_chunks: Iterable[bytes], **options: Any) -> Iterator[dict[str, Any]]:
    """Transcribe s16le mono 16 kHz chunks as they arrive, yielding Mistral realtime events.

    Parameters
    ----------
    engine : Engine
        The loaded offline engine.
    pcm_chunks : iterable of bytes
        Audio as it arrives (any chunk size); the iteration may block between chunks.
    **options
        ``hop``, ``max_buffer``, ``max_delay``, ``context_bias``, ``language``, ``beam_size``: see
        :class:`LocalAgreement`.

    Yields
    ------
    dict
        ``transcription.text.delta`` (``text``) as words become stable, ``transcription.segment``
        at each sentence end, and one final ``transcription.done`` with the whole response.

    Examples
    --------
    >>> import voxnb
    >>> from voxnb.local.engine import get_engine
    >>> pcm = voxnb.data.audio("two_voices").to_pcm16()
    >>> chunks = (pcm[i : i + 3200] for i in range(0, len(pcm), 3200))   # 100 ms each
    >>> for event in get_engine().stream(chunks):                           # doctest: +SKIP
    ...     print(event["type"], event.get("text"))
    """
    state = LocalAgreement(engine, **options)
    for batch in _drained(pcm_chunks):
        for chunk in batch:
            state.feed(chunk)
        if state.due:
            yield from state.update()
    yield from state.finish()


def _drained(pcm_chunks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The chunks in batches of everything that arrived during the previous decode.

    A reader thread pulls from *pcm_chunks*, so when decoding is slower than real time the next
    decode takes all the audio that piled up instead of falling further and further behind.
    """
    inbox: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for chunk in pcm_chunks:
                inbox.put(chunk)
        except Exception as exc:  # re-raised in the consumer's thread
            inbox.put(exc)
        finally:
            inbox.put(_END)

    threading.Thread(target=read, name="voxnb-stream-reader", daemon=True).start()
    while True:
        batch = [inbox.get()]
        while not inbox.empty():
            batch.append(inbox.get_nowait())
        ended = batch[-1] is _END  # the reader's last item: nothing comes after it
        if ended:
            batch.pop()
        if batch and isinstance(batch[-1], Exception):  # the reader's error comes just before its end
            raise batch[-1]
        if batch:
            yield batch
        if ended:
            return
