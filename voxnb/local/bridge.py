"""Run an engine's blocking ``stream()`` in a thread and talk to it from an event loop.

``TranscriptionEngine.stream(pcm_chunks)`` pulls chunks from a blocking iterable and yields
Mistral realtime events; decoding takes about a second per update on two cores. The
``voxnb serve`` endpoint and the in-process session both need it without ever blocking their
event loop, so this bridge owns the thread, a chunk queue it reads from, and an asyncio queue it
writes events to.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["EngineBridge"]

_END = object()


class EngineBridge:
    """One incremental transcription running in a worker thread.

    :meth:`feed` and :meth:`end` never block; :meth:`next_event` awaits the next event dict.
    An exception inside the engine becomes an ``error`` event (Mistral's shape), followed by
    the end of the stream, so callers always see the session finish.
    """

    def __init__(
        self,
        engine: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        positions: bool = False,
        **options: Any,
    ) -> None:
        self.engine = engine
        self.options = options  # the stream's options (context_bias, language), checked by the caller
        self.bytes_fed = 0
        #: with *positions*, a ``{"type": "voxnb.position", "bytes": n}`` event comes each time the
        #: engine takes a chunk: what it emits next is about the first n bytes, and everything it
        #: emitted before is about the audio before that chunk
        self.positions = positions
        self._chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._loop = loop or asyncio.get_running_loop()
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="voxnb-engine-stream", daemon=True)
        self._thread.start()

    def feed(self, pcm: bytes) -> None:
        """Queue s16le 16 kHz mono *pcm* for the engine."""
        if self._ended:
            raise RuntimeError("audio fed after end()")
        if pcm:
            self.bytes_fed += len(pcm)
            self._chunks.put(pcm)

    def end(self) -> None:
        """No more audio: the engine finishes and emits ``transcription.done``."""
        if not self._ended:
            self._ended = True
            self._chunks.put(_END)

    async def next_event(self) -> dict[str, Any] | None:
        """The next engine event, or None once the stream is over."""
        return await self._events.get()

    def _pcm_chunks(self) -> Iterator[bytes]:
        consumed = 0
        while (chunk := self._chunks.get()) is not _END:
            consumed += len(chunk)
            if self.positions:
                self._emit({"type": "voxnb.position", "bytes": consumed})
            yield chunk

    def _emit(self, event: dict[str, Any] | None) -> None:
        # the loop may have closed under us: the client is gone and nobody is listening
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    def _run(self) -> None:
        try:
            for event in self.engine.stream(self._pcm_chunks(), **self.options):
                self._emit(event)
        except Exception as exc:  # reported to the client as an error event, never swallowed
            self._emit({"type": "error", "error": {"message": f"engine failed: {exc}", "code": 500}})
        finally:
            self._emit(None)
