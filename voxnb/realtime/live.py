"""transcribe_realtime: stream a source through a realtime session, watch the text, keep the take.

The source is paced PCM (an async iterator of bytes, a file played at real-time pace, or the
kernel machine's microphone); the result is the live text as it is committed, and at the end a
:class:`~voxnb.Transcript` whose ``.audio`` is exactly the audio that was sent, ready to plot and
to re-transcribe with the batch endpoint (which, unlike a realtime session, takes
``context_bias``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

from voxnb.backend import Backend, resolve_backend
from voxnb.backend import announce as announce_line
from voxnb.credentials import secret_api_key
from voxnb.errors import MissingDependencyError, ParameterError, RealtimeError, TransportError, safe_repr
from voxnb.realtime.encoding import decode_pcm, encode_pcm, sample_width
from voxnb.realtime.protocol import SAMPLE_RATE, SAMPLE_WIDTH, Reconnected, TextDelta, TurnEvent
from voxnb.realtime.session import RealtimeSession

__all__ = [
    "LiveTranscription",
    "ThreadedChunks",
    "microphone",
    "pace",
    "realtime_backend",
    "session_for",
    "transcribe_realtime",
]

_DONE = object()


# --------------------------------------------------------------------------------------- target


@secret_api_key
def realtime_backend(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    dialect: str | None = None,
    engine: Any = None,
    model: str | None = None,
    announce: bool = True,
    entry: str = "voxnb.realtime",
) -> Backend:
    """The backend of a realtime take, chosen as every entry point chooses (:func:`voxnb.backend.resolve_backend`).

    The offline engine is loaded here when it is the choice, and a server whose dialect is not
    given is asked (``GET /v1/models``) so that the session speaks its protocol; the choice is
    announced in one line.
    """
    http_url = None if base_url is None else _http_url(base_url)
    chosen = resolve_backend(api_key=api_key, base_url=http_url, dialect=dialect, engine=engine)
    if chosen.is_local and chosen.engine is None:
        from voxnb.local.engine import get_engine

        chosen = replace(chosen, engine=get_engine(model))
    note = ""
    if not chosen.is_local and chosen.dialect is None:
        from voxnb.api.client import Client

        with Client(**chosen.client_options()) as client:
            try:
                client.detect()
                name, found, note = client.backend, client.dialect, client.dialect_note
            except TransportError:  # not up yet: the take will say so; meanwhile speak the default protocol
                name, found = "mistral", "mistral"
                note = "the server did not answer GET /v1/models; assuming Mistral's protocol"
            chosen = replace(chosen, name=name, dialect=found)
    if announce:
        where = "" if chosen.base_url else ", in this process (no key needed)"
        details = f"dialect={chosen.dialect or 'engine'}{where}" + (f"; {note}" if note else "")
        shown = model or (chosen.engine.model if chosen.engine is not None else None)
        announce_line(entry, chosen, model=shown, details=details)
    return chosen


def _http_url(url: str) -> str:
    scheme, sep, rest = str(url).partition("://")
    return {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme) + sep + rest


def session_for(backend: Backend, **options: Any) -> RealtimeSession:
    """A :class:`RealtimeSession` on *backend* with *options* (the session's settings and transcription options)."""
    if backend.engine is not None:
        options.pop("model", None)  # the engine is the model
        return RealtimeSession(engine=backend.engine, **options)
    dialect = "vllm" if backend.dialect == "openai" else "mistral"
    return RealtimeSession(backend.base_url, api_key=backend.key, dialect=dialect, **options)


# --------------------------------------------------------------------------------------- sources


async def pace(
    pcm: bytes,
    *,
    speed: float | None = 1.0,
    chunk_ms: int = 100,
    width: int = SAMPLE_WIDTH,
    sample_rate: int = SAMPLE_RATE,
) -> AsyncIterator[bytes]:
    """Yield *pcm* (mono, *width*-byte samples at *sample_rate*; s16le 16 kHz by default) in
    ``chunk_ms`` chunks at ``speed`` × real time.

    ``speed=None`` sends as fast as the session takes it. The schedule is absolute, so a slow
    send is caught up rather than accumulated.

    Examples
    --------
    >>> import asyncio
    >>> async def sizes():
    ...     return [len(chunk) async for chunk in pace(bytes(8000), speed=None)]
    >>> asyncio.run(sizes())
    [3200, 3200, 1600]
    """
    if speed is not None and speed <= 0:
        raise ParameterError(f"speed must be positive (or None for no pacing), got {speed}")
    step = max(1, sample_rate * chunk_ms // 1000) * width
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, offset in enumerate(range(0, len(pcm), step)):
        if speed is not None:
            delay = start + i * chunk_ms / 1000 / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        yield pcm[offset : offset + step]


class ThreadedChunks:
    """PCM chunks handed over from another thread (an audio callback, a comm handler), iterated
    asynchronously on *loop*; ``put(None)`` ends the iteration. ``put`` never blocks."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, pcm: bytes | None) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, pcm)

    def __aiter__(self) -> ThreadedChunks:
        return self

    async def __anext__(self) -> bytes:
        pcm = await self.queue.get()
        if pcm is None:
            raise StopAsyncIteration
        return pcm


async def microphone(*, device: Any = None, chunk_ms: int = 100) -> AsyncIterator[bytes]:
    """The kernel machine's microphone as 16 kHz s16le chunks (via ``sounddevice``).

    Runs until the consumer stops iterating (``LiveTranscription.stop()`` does). For a browser's
    microphone, use :class:`voxnb.Recorder` instead.

    Examples
    --------
    >>> live = voxnb.transcribe_realtime(microphone())      # same as transcribe_realtime("microphone")  # doctest: +SKIP
    >>> for text in live:                                   # doctest: +SKIP
    ...     print(text, end="")
    """
    try:
        import sounddevice
    except ImportError:
        raise MissingDependencyError(
            "sounddevice", "widgets", "recording from the kernel's microphone"
        ) from None
    except OSError as exc:  # the wheel is there but the PortAudio library is not
        raise RealtimeError(
            f"recording from the kernel's microphone needs the PortAudio library ({exc}): install it "
            "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio), or record "
            "in the browser with voxnb.Recorder()"
        ) from None
    chunks = ThreadedChunks(asyncio.get_running_loop())

    def on_audio(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        chunks.put(bytes(indata))

    stream = sounddevice.RawInputStream(
        samplerate=SAMPLE_RATE,
        channels=1,
        dtype="int16",
        device=device,
        blocksize=SAMPLE_RATE * chunk_ms // 1000,
        callback=on_audio,
    )
    with stream:
        async for chunk in chunks:
            yield chunk


def _as_chunks(
    source: Any, *, speed: float | None, chunk_ms: int, encoding: str | None, sample_rate: int | None
) -> tuple[AsyncIterable[bytes], Any]:
    """The source as an async iterable of PCM chunks in the session's format, and the Audio it
    came from when known."""
    rate = sample_rate or SAMPLE_RATE
    if isinstance(source, str) and source == "microphone":
        if (encoding or "pcm_s16le") != "pcm_s16le" or rate != SAMPLE_RATE:
            raise ParameterError(
                f"the microphone gives pcm_s16le at {SAMPLE_RATE} Hz; drop encoding= and sample_rate=",
                option="encoding",
            )
        return microphone(chunk_ms=chunk_ms), None
    if hasattr(source, "__aiter__"):
        return source, None
    from voxnb.audio import as_audio

    audio = as_audio(source, sr=SAMPLE_RATE)
    pcm = encode_pcm(audio.resample(rate).y, encoding)
    return pace(pcm, speed=speed, chunk_ms=chunk_ms, width=sample_width(encoding), sample_rate=rate), audio


def _check_pace(speed: Any, chunk_ms: Any) -> None:
    if speed is not None and (
        isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0 < speed < float("inf")
    ):
        raise ParameterError(
            f"speed must be a positive number (or None for no pacing); got {speed!r}", option="speed"
        )
    if isinstance(chunk_ms, bool) or not isinstance(chunk_ms, int) or not 10 <= chunk_ms <= 5000:
        raise ParameterError(
            f"chunk_ms must be a whole number of milliseconds from 10 to 5000; got {chunk_ms!r}",
            option="chunk_ms",
        )


# ------------------------------------------------------------------------------------- the take


def pcm_seconds(pcm: bytes | bytearray, encoding: str | None = None, sample_rate: int | None = None) -> float:
    """Duration of mono *pcm* in *encoding* at *sample_rate* (default s16le, 16 kHz)."""
    return len(pcm) / (sample_width(encoding) * (sample_rate or SAMPLE_RATE))


def pcm_audio(pcm: bytes | bytearray, encoding: str | None = None, sample_rate: int | None = None) -> Any:
    """Mono *pcm* in *encoding* at *sample_rate* (default s16le, 16 kHz) as a :class:`~voxnb.Audio`."""
    from voxnb.audio import Audio

    return Audio.from_array(decode_pcm(bytes(pcm), encoding), sample_rate or SAMPLE_RATE)


class LiveTranscription:
    """A realtime take in progress; iterate it (``async for`` or ``for``) to get the live text.

    Iteration yields text deltas (``str``) as the server commits them, and finally the
    :class:`~voxnb.Transcript` of the whole take. Afterwards :attr:`transcript`, :attr:`audio`
    and :attr:`gaps` hold the results. :meth:`stop` ends the source early (flushing, so the last
    words still arrive).
    """

    def __init__(
        self,
        source: Any,
        *,
        backend: Backend,
        speed: float | None = 1.0,
        chunk_ms: int = 100,
        on_event: Any = None,
        **session_options: Any,
    ):
        _check_pace(speed, chunk_ms)
        self.backend = backend
        self.chunk_ms = chunk_ms
        self.on_event = on_event
        # made now, so that a setting the model refuses fails before any audio is captured
        self.session = session_for(backend, **session_options)
        self._format = (self.session.request.encoding, self.session.request.sample_rate)
        self._chunks, self._source_audio = _as_chunks(
            source, speed=speed, chunk_ms=chunk_ms, encoding=self._format[0], sample_rate=self._format[1]
        )
        self._captured = bytearray()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        #: the finished take (after iteration)
        self.transcript: Any = None
        #: reconnections during the take (:class:`~voxnb.realtime.protocol.Reconnected`)
        self.gaps: list[Reconnected] = []
        self.text = ""

    @safe_repr
    def __repr__(self) -> str:
        state = "done" if self.transcript is not None else "running"
        return f"<LiveTranscription {state}, {self.seconds:.1f} s sent, {self.backend!r}>"

    @property
    def seconds(self) -> float:
        return pcm_seconds(self._captured, *self._format)

    @property
    def audio(self) -> Any:
        """Everything that was sent, as a :class:`~voxnb.Audio` at the session's rate (never lost on a drop)."""
        return pcm_audio(self._captured, *self._format)

    def stop(self) -> None:
        """End the take after the chunk being sent; the session flushes and finishes.

        Safe to call from any thread (a widget callback, a signal handler).
        """
        self._stop_requested = True
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the take's loop already closed: it is over
                self._loop.call_soon_threadsafe(self._stopped.set)

    # --- async iteration
    def __aiter__(self) -> AsyncIterator[Any]:
        return self._run()

    async def _send_all(self, session: RealtimeSession) -> dict[str, Any]:
        chunks = aiter(self._chunks)
        assert self._stopped is not None  # set by _run before the sender starts
        stopped = asyncio.ensure_future(self._stopped.wait())
        next_chunk: asyncio.Future[bytes] | None = None
        try:
            while not self._stop_requested:
                # a quiet source (a muted microphone) must not keep stop() waiting for its next chunk
                next_chunk = asyncio.ensure_future(anext(chunks))
                await asyncio.wait({next_chunk, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not next_chunk.done():
                    break
                try:
                    chunk = next_chunk.result()
                except StopAsyncIteration:
                    break
                self._captured += chunk
                await session.send_audio(bytes(chunk))
        finally:
            # stopped, failed or cancelled: release the source (a microphone stays open otherwise)
            stopped.cancel()
            if next_chunk is not None and not next_chunk.done():
                next_chunk.cancel()
                await asyncio.wait({next_chunk})  # let the source unwind before closing it
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        return await session.finish()

    async def _run(self) -> AsyncIterator[Any]:
        from voxnb.transcript import Transcript

        self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
        if self._stop_requested:
            self._stopped.set()
        session = self.session
        await session.connect()
        sender = asyncio.create_task(self._send_all(session))

        def on_sender_done(task: asyncio.Task[Any]) -> None:
            # a failing source or send must end the event loop below, not leave it waiting
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                session.interrupt(failure)

        sender.add_done_callback(on_sender_done)
        try:
            async for event in session.events():
                if self.on_event is not None:
                    self.on_event(event)
                if isinstance(event, TextDelta) and event.text:
                    self.text += event.text
                    yield event.text
                elif isinstance(event, TurnEvent) and event.phase == "end" and self.text.strip():
                    # the server's turn ends a line of the live transcript (and a segment of the take)
                    if not self.text.endswith("\n"):
                        self.text += "\n"
                        yield "\n"
                elif isinstance(event, Reconnected):
                    self.gaps.append(event)
            response = await sender
        finally:
            if not sender.done():
                sender.cancel()
                await asyncio.wait({sender})  # its clean-up releases the source
            await session.close()
        audio = self.audio
        self.transcript = Transcript.from_response(
            response,
            backend=self.backend.name,
            base_url=self.backend.base_url,
            model=response.get("model") or session.model,
            request=session.request.record(),
            audio=audio,
        )
        yield self.transcript

    # --- sync iteration (scripts, or a notebook cell without ``async for``)
    def __iter__(self) -> Iterator[Any]:
        items: queue.Queue[Any] = queue.Queue()

        async def pump() -> None:
            try:
                async for item in self:
                    items.put(item)
            except BaseException as exc:  # re-raised in the caller's thread
                items.put(exc)
            finally:
                items.put(_DONE)

        thread = threading.Thread(target=asyncio.run, args=(pump(),), name="voxnb-live", daemon=True)
        thread.start()
        try:
            while (item := items.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if thread.is_alive():  # the caller left the loop early
                self.stop()
                thread.join(timeout=5)

    def retranscribe(self, **options: Any) -> Any:
        """Transcribe the whole take again with the batch endpoint, e.g. with ``context_bias=[...]``."""
        from voxnb.backend import transcribe

        return transcribe(self.audio, backend=self.backend, quiet=True, **options)


@secret_api_key
def transcribe_realtime(
    source: Any,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    dialect: str | None = None,
    engine: Any = None,
    speed: float | None = 1.0,
    chunk_ms: int = 100,
    **session_options: Any,
) -> LiveTranscription:
    """Transcribe a live source; iterate the result for text deltas, then the Transcript.

    Parameters
    ----------
    source : async iterable of bytes, audio, or "microphone"
        PCM s16le 16 kHz mono chunks (paced by their producer); or anything
        :func:`voxnb.audio.as_audio` reads (a path, bytes, an Audio...), streamed at ``speed`` ×
        real time; or ``"microphone"`` for the kernel machine's microphone (``sounddevice``).
    base_url, api_key, model, dialect, engine
        Where to transcribe, chosen as :func:`voxnb.transcribe` chooses: ``engine=`` runs in
        process; ``base_url=`` is a server (Mistral, vLLM, or ``voxnb serve``; its dialect is
        asked of it unless ``dialect=`` says it); otherwise Mistral when a key is set, else the
        offline engine in process. The choice is announced in one line.
    speed : float or None
        Pace for file sources: 1.0 is real time, 10 is ten times faster, None as fast as possible.
    chunk_ms : int
        Chunk length for file and microphone sources.
    **session_options
        Passed to :class:`~voxnb.realtime.RealtimeSession`: the transcription options a
        realtime model takes (``target_streaming_delay_ms``; ``encoding`` and ``sample_rate``,
        in which a file source is then sent; and ``context_bias``, ``language``, ``diarize``,
        ``speaker_references``, ``turn_detection`` on models that have them),
        ``max_reconnects`` and timeouts. With ``turn_detection``, each turn the server reports
        ends a line of the live text and a segment of the transcript.

    Returns
    -------
    LiveTranscription

    Examples
    --------
    >>> import voxnb
    >>> live = voxnb.transcribe_realtime(voxnb.data.path("two_voices"), speed=10)  # doctest: +SKIP
    >>> async for item in live:  # doctest: +SKIP
    ...     print(item if isinstance(item, str) else "\\n--- done", end="")
    >>> live.transcript.segments  # doctest: +SKIP
    >>> live.retranscribe(context_bias=["Voxtral"]).text  # doctest: +SKIP
    """
    _check_pace(speed, chunk_ms)  # before the server is asked anything
    chosen = realtime_backend(base_url=base_url, api_key=api_key, dialect=dialect, engine=engine, model=model)
    return LiveTranscription(
        source, backend=chosen, speed=speed, chunk_ms=chunk_ms, model=model, **session_options
    )
