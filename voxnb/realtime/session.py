"""RealtimeSession: one realtime take over a websocket (Mistral or vLLM), or in process.

The websocket library is ``websockets`` (asyncio): it is what uvicorn already serves ``voxnb
serve``'s websocket routes with (one dependency for both ends), what Mistral's own SDK uses, and
it exposes the knobs this needs (upgrade headers for Bearer auth, open/close timeouts, frame size,
no compression for cheap sends, proxy off for loopback). httpx-ws would share the HTTP client's
configuration but adds wsproto and anyio underneath for no gain on a single long-lived socket.

A take may span several server sessions: when the socket drops, the session reconnects with
backoff for up to ``reconnect_timeout`` seconds (30 by default) while the audio sent meanwhile is
held (up to ``max_buffer_seconds``) and sent to the new session; every gap is recorded. Text
already committed and audio already captured are kept whatever happens.

The key reaches the handshake through :class:`~voxnb.credentials.AuthHeaders`, a mapping that
builds the header only when websockets reads it: no frame's locals hold it.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from voxnb.credentials import (
    MISTRAL_BASE_URL,
    Secret,
    api_key_for,
    clean_base_url,
    forget_locals,
    redact,
    secret_api_key,
)
from voxnb.errors import (
    AuthenticationError,
    MissingDependencyError,
    ParameterError,
    RealtimeError,
    TransportError,
    safe_repr,
)
from voxnb.models import DEFAULT_REALTIME_MODEL, ModelCapabilities, capabilities, openai_capabilities
from voxnb.realtime.encoding import PcmDecoder, sample_width
from voxnb.realtime.protocol import (
    MISTRAL,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    Dialect,
    Disconnected,
    Done,
    ErrorEvent,
    Event,
    Language,
    Reconnected,
    SegmentEvent,
    SessionCreated,
    TextDelta,
    TurnEvent,
    get_dialect,
)
from voxnb.request import TranscriptionRequest

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from voxnb.request import TranscriptionOptions

__all__ = ["DEFAULT_REALTIME_MODEL", "RealtimeSession"]

DEFAULT_BASE_URL = MISTRAL_BASE_URL
_BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH  # of the default format, pcm_s16le at 16 kHz
_END = object()


def _http_url(url: str) -> str:
    """*url* with a ws(s) scheme written as http(s), the form the key's owner is told by."""
    scheme, sep, rest = url.partition("://")
    return {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme) + sep + rest


class _RedactingLogger(logging.LoggerAdapter):
    """websockets' logger, minus credentials: its debug log prints every handshake header."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            try:
                text = str(msg) % args if args else str(msg)
            except (TypeError, ValueError):
                text = f"{msg} {args}"
            super().log(level, "%s", redact(text), **kwargs)


_WS_LOGGER = _RedactingLogger(logging.getLogger("websockets.client"), {})


def _positive(name: str, value: Any, *, allow_none: bool = False, whole: bool = False) -> Any:
    if value is None and allow_none:
        return None
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
        what = "a whole number" if whole else "a number of seconds"
        raise ParameterError(f"{name} must be {what} above 0; got {value!r}", option=name)
    return value


class _Dropped(Exception):
    """The transport closed without the session having finished."""


# ----------------------------------------------------------------------------------- transports


class _WebsocketTransport:
    def __init__(self, ws: Any):
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise _Dropped(_close_reason(exc)) from exc

    async def recv(self) -> str | dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        try:
            return await self.ws.recv()
        except ConnectionClosed as exc:
            raise _Dropped(_close_reason(exc)) from exc

    async def close(self) -> None:
        await self.ws.close(code=1000)

    def abort(self) -> None:
        self.ws.transport.abort()


def _close_reason(exc: Any) -> str:
    close = exc.rcvd or exc.sent
    if close is None:
        return "connection lost without a close frame"
    return f"closed with code {close.code}" + (f" ({close.reason})" if close.reason else "")


class _EngineTransport:
    """The same conversation with an engine in this process (no socket, no server)."""

    def __init__(self, engine: Any, options: dict[str, Any], decoder: PcmDecoder):
        from voxnb.local.bridge import EngineBridge

        self.engine = engine
        self.bridge = EngineBridge(engine, **options)
        self.decoder = decoder  # the session's encoding and rate → the engine's 16 kHz s16le
        self.greeted = False

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == MISTRAL.append_type:
            self.bridge.feed(self.decoder.feed(base64.b64decode(message["audio"])))
        elif kind == "input_audio.end":
            self.bridge.feed(self.decoder.end())
            self.bridge.end()

    async def recv(self) -> dict[str, Any]:
        if not self.greeted:
            self.greeted = True
            return {"type": "session.created", "session": {"model": getattr(self.engine, "model", "local")}}
        event = await self.bridge.next_event()
        if event is None:
            raise _Dropped("the engine stream ended")
        return event

    async def close(self) -> None:
        self.bridge.end()

    def abort(self) -> None:
        self.bridge.end()


# -------------------------------------------------------------------------------------- a take


@dataclass
class _Part:
    """What one server session received and committed."""

    audio_start: int  # byte offset of this session's first audio in the take
    bytes_sent: int = 0
    bytes_at_last_delta: int = 0
    text: list[str] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    language: str | None = None
    done: dict[str, Any] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    error: ErrorEvent | None = None
    drop_reason: str | None = None
    #: segments made of the server's turns (turn.start … turn.end and the text in between)
    turns: list[dict[str, Any]] = field(default_factory=list)
    turn_start: float | None = None
    turn_text_from: int = 0  # index in ``text`` where the open turn's text begins

    def observe(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
            self.bytes_at_last_delta = self.bytes_sent
        elif isinstance(event, TurnEvent):
            self._turn(event)
        elif isinstance(event, SegmentEvent):
            self.segments.append(
                {"text": event.text, "start": event.start, "end": event.end, "speaker_id": event.speaker_id}
            )
        elif isinstance(event, Language):
            self.language = event.language
        elif isinstance(event, Done):
            self.done = event.response
            self.ended.set()
        elif isinstance(event, ErrorEvent):
            self.error = event
            self.ended.set()

    def _turn(self, event: TurnEvent) -> None:
        if event.phase == "start" and self.turn_start is None:
            self.turn_start = event.time_s
        elif event.phase == "end":
            text = "".join(self.text[self.turn_text_from :])
            if text.strip():
                start = self.turn_start if self.turn_start is not None else event.time_s
                self.turns.append({"text": text, "start": start, "end": event.time_s})
            self.turn_text_from = len(self.text)
            self.turn_start = None

    def timed_segments(self, seconds: float) -> list[dict[str, Any]]:
        """The session's segments: the server's, else its segment events, else its turns (plus the
        text after the last turn, up to *seconds*, the audio this session received)."""
        segments = (self.done or {}).get("segments") or self.segments
        if segments or not self.turns:
            return list(segments)
        tail = "".join(self.text[self.turn_text_from :])
        if not tail.strip():
            return list(self.turns)
        start = self.turn_start if self.turn_start is not None else self.turns[-1]["end"]
        return [*self.turns, {"text": tail, "start": start, "end": max(seconds, start or 0.0)}]

    @property
    def committed_text(self) -> str:
        return (self.done or {}).get("text") or "".join(self.text)


class RealtimeSession:
    """One realtime transcription take: send PCM, read typed events, finish.

    Parameters
    ----------
    base_url : str, optional
        The server: ``https://api.mistral.ai`` (the default), a vLLM server, or ``voxnb serve``
        (``http://127.0.0.1:8000``); http(s) and ws(s) schemes are both accepted.
    api_key : str, optional
        Sent as ``Authorization: Bearer``; defaults to ``MISTRAL_API_KEY`` when talking to
        Mistral. Never shown in a repr, message or log.
    model : str, optional
        Defaults to ``voxtral-mini-transcribe-realtime-2602`` on Mistral; vLLM needs the served
        model's name.
    dialect : {"mistral", "vllm"}
        The wire dialect; ``"openai"`` is accepted as a synonym of ``"vllm"``.
    engine : TranscriptionEngine, optional
        Transcribe in this process with *engine* instead of connecting anywhere.
    reconnect_timeout : float
        How long a dropped connection is retried (with backoff) before the take fails: 30 s by
        default, so a take rides out a server restart or a Wi-Fi hand-over.
    max_reconnects : int, optional
        Also give up after this many failed attempts in a row (None: only the time limit counts).
    max_buffer_seconds : float
        Audio held while the connection is down (120 s by default, 3.8 MB); past it the take fails
        with :class:`~voxnb.errors.RealtimeError` (what was captured stays with the caller).
    open_timeout, finish_timeout : float
        Seconds to wait for ``session.created``, and for ``transcription.done`` after finishing.
    **options
        Transcription options the model takes in a realtime session (checked by the request
        contract, :mod:`voxnb.request`, against the model's capabilities):
        ``target_streaming_delay_ms`` (Mistral's latency/accuracy trade-off), ``encoding`` and
        ``sample_rate`` (the PCM :meth:`send_audio` takes), and on models that take them
        ``context_bias``, ``language``, ``diarize``, ``speaker_references`` and
        ``turn_detection``. They are sent before the first audio; :meth:`update` changes them
        until then, and refuses afterwards (the server locks them at the first audio chunk).

    Notes
    -----
    Audio is mono PCM, by default s16le at 16 kHz (``encoding=`` and ``sample_rate=`` say
    otherwise). :meth:`send_audio` splits it so that no append message carries more than 256 KiB.
    :meth:`finish` flushes before ending so the last words arrive. Turn events
    (:class:`~voxnb.realtime.protocol.TurnEvent`), when the session asked for them, close the
    segments of the take's transcript.

    Examples
    --------
    >>> async def run(chunks):  # doctest: +SKIP
    ...     async with RealtimeSession("http://127.0.0.1:8000") as session:
    ...         for chunk in chunks:
    ...             await session.send_audio(chunk)
    ...         response = await session.finish()
    ...     return response["text"]
    """

    @secret_api_key
    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | Secret | None = None,
        dialect: str | Dialect = "mistral",
        engine: Any = None,
        reconnect_timeout: float = 30.0,
        max_reconnects: int | None = None,
        max_buffer_seconds: float = 120.0,
        open_timeout: float = 10.0,
        finish_timeout: float = 120.0,
        **options: Unpack[TranscriptionOptions],
    ):
        self.dialect = get_dialect(dialect)
        self.engine = engine
        if engine is not None and base_url is not None:
            raise ParameterError("give either engine= (in process) or base_url= (a server), not both")
        self.base_url = None if engine is not None else (base_url or DEFAULT_BASE_URL)
        # checked now (not at the first connect), and shown in messages without its credentials
        self._shown_url = (
            None
            if self.base_url is None
            else clean_base_url(_http_url(self.base_url) if isinstance(self.base_url, str) else self.base_url)
        )
        self._key = Secret(None) if self.base_url is None else api_key_for(_http_url(self.base_url), api_key)
        #: the session's settings, checked against what the model does in realtime
        self.request = TranscriptionRequest.create(**options).resolve(
            self._capabilities(options.get("model")), realtime=True
        )
        self.model = self.request.model
        self.target_streaming_delay_ms = self.request.target_streaming_delay_ms
        self._format_changed()
        self.reconnect_timeout = float(_positive("reconnect_timeout", reconnect_timeout))
        self.max_reconnects = _positive("max_reconnects", max_reconnects, allow_none=True, whole=True)
        self.max_buffer_seconds = float(_positive("max_buffer_seconds", max_buffer_seconds))
        self.open_timeout = float(_positive("open_timeout", open_timeout))
        self.finish_timeout = float(_positive("finish_timeout", finish_timeout))
        #: one entry per server session of this take
        self.parts: list[_Part] = []
        #: every reconnection, as :class:`~voxnb.realtime.protocol.Reconnected` events
        self.gaps: list[Reconnected] = []
        self.bytes_sent = 0
        self._transport: Any = None
        self._receiver: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._backlog: collections.deque[bytes] = collections.deque()
        self._backlog_bytes = 0
        self._lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self._finishing = False
        self._closed = False
        self._healer: asyncio.Task[None] | None = None

    def _format_changed(self) -> None:
        #: bytes per sample and per second of the PCM this session sends (its encoding and rate)
        self.width = sample_width(self.request.encoding)
        self.bytes_per_second = self.width * (self.request.sample_rate or SAMPLE_RATE)

    def _capabilities(self, model: str | None) -> ModelCapabilities:
        if self.engine is not None:
            return self.engine.stream_capabilities
        if self.dialect is MISTRAL:
            return capabilities(model or DEFAULT_REALTIME_MODEL, realtime=True)
        if not model:
            raise ParameterError(
                "the vLLM dialect needs model= (the name the server was started with, e.g. "
                "'mistralai/Voxtral-Mini-4B-Realtime-2602')",
                option="model",
            )
        return openai_capabilities(model, realtime=True)

    @safe_repr
    def __repr__(self) -> str:
        where = f"engine={self.model!r}" if self.engine is not None else f"{self._shown_url!r}"
        return (
            f"RealtimeSession({where}, dialect={self.dialect.name!r}, model={self.model!r}, "
            f"sessions={len(self.parts)}, seconds_sent={self.seconds_sent:.1f})"
        )

    # --------------------------------------------------------------------------- public API
    @property
    def seconds_sent(self) -> float:
        return self.bytes_sent / self.bytes_per_second

    @property
    def text(self) -> str:
        """The text committed so far, across reconnections."""
        return " ".join(t for t in (p.committed_text.strip() for p in self.parts) if t)

    async def __aenter__(self) -> RealtimeSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the first server session (waits for ``session.created``)."""
        async with self._lock:
            if self._transport is None:
                await self._open()

    async def update(self, **options: Unpack[TranscriptionOptions]) -> None:
        """Change the session's settings, before any audio has been sent.

        The options are merged into the session's and checked by the request contract, then
        sent (``session.update``). The server locks a session's settings at its first audio
        chunk, so once audio was sent this is refused here, before the server would refuse it
        with an ``error`` event.

        Raises
        ------
        ParameterError
            After the first audio chunk, for a change of model, or for a setting the model
            does not take.

        Examples
        --------
        >>> async with RealtimeSession("http://127.0.0.1:8000") as session:  # doctest: +SKIP
        ...     await session.update(context_bias=["Voxtral"])
        ...     await session.send_audio(pcm)
        """
        option = next(iter(options), "options")
        if self.bytes_sent or self._backlog:
            raise ParameterError(
                f"cannot change {option}= now: a realtime session's settings are fixed from its first audio "
                f"chunk ({self.seconds_sent:.1f} s were sent; Mistral answers 'Session fields cannot be "
                "changed after audio has started'). Give the settings when opening the session, or finish "
                "this take and start a new session",
                option=option,
            )
        if options.get("model", self.model) != self.model:
            raise ParameterError(
                "a session's model is chosen when it connects: open a new RealtimeSession(model=...)",
                option="model",
            )
        async with self._lock:
            merged = {**self.request.options(), **options}
            self.request = TranscriptionRequest.create(**merged).resolve(
                self._capabilities(self.model), realtime=True
            )
            self.target_streaming_delay_ms = self.request.target_streaming_delay_ms
            self._format_changed()
            if self._transport is None:
                return
            if self.engine is not None:
                # the engine's stream took its options when it started: start it again (no audio yet)
                if self._receiver is not None:
                    self._receiver.cancel()
                await self._transport.close()
                self.parts.pop()
                self._transport = None
                await self._open()
                return
            try:
                for message in self.dialect.configure(self.request):
                    await self._transport.send(message)
            except _Dropped as exc:
                self.parts[-1].drop_reason = str(exc)

    async def send_audio(self, pcm: bytes) -> None:
        """Send PCM in the session's encoding (default s16le, 16 kHz, mono); while the connection is
        down the audio is held and sent later.

        Raises
        ------
        RealtimeError
            The connection could not be restored within ``reconnect_timeout``, or more than
            ``max_buffer_seconds`` of audio waited for it.
        """
        self._raise_failure()
        if not isinstance(pcm, (bytes, bytearray, memoryview)):
            raise ParameterError(
                f"send_audio() takes PCM bytes ({self.request.encoding or 'pcm_s16le'}); got a "
                f"{type(pcm).__name__}",
                option="pcm",
            )
        if len(pcm) % self.width:
            raise ParameterError(
                f"{self.request.encoding or 'pcm_s16le'} audio must hold whole {8 * self.width}-bit samples; "
                f"got {len(pcm)} bytes"
            )
        if not pcm:
            return
        self._backlog.append(bytes(pcm))
        self._backlog_bytes += len(pcm)
        if self._backlog_bytes > self.max_buffer_seconds * self.bytes_per_second:
            self._failure = RealtimeError(
                f"{self._backlog_bytes / self.bytes_per_second:.0f} s of audio are waiting for the connection "
                f"({self._down_reason()}), more than max_buffer_seconds={self.max_buffer_seconds:g}; the take "
                "stops here. Everything captured is kept (rec.audio, live.audio): re-transcribe it with the "
                "batch endpoint"
            )
            await self._events.put(self._failure)
            raise self._failure
        if self._healing:
            return  # held; the reconnection sends it
        async with self._lock:
            await self._drain()

    async def finish(self) -> dict[str, Any]:
        """Flush, end the audio, wait for ``transcription.done``; return the take's response.

        A connection that is down is restored first and the held audio sent. The response is
        Mistral's transcription shape, merged over every server session of the take (segment times
        shifted to the take's clock), with ``realtime`` metadata (sessions, gaps) added.
        """
        self._finishing = True
        while True:
            if self._healer is not None:
                await asyncio.wait({self._healer})
            self._raise_failure()
            async with self._lock:
                if not self.parts:
                    await self._open()
                await self._drain()
                part = self.parts[-1]
                if part.drop_reason is None and not self._backlog:
                    try:
                        for message in self.dialect.finish():
                            await self._transport.send(message)
                        await asyncio.wait_for(part.ended.wait(), self.finish_timeout)
                    except _Dropped as exc:
                        part.drop_reason = part.drop_reason or str(exc)
                    except asyncio.TimeoutError:
                        raise RealtimeError(
                            f"no transcription.done within {self.finish_timeout:.0f} s after the end of "
                            "the audio; raise finish_timeout= for long takes on a slow server"
                        ) from None
                self._raise_failure()
                if part.error is not None:
                    self._raise_server_error(part.error)
                if part.done is not None:
                    break
                if part.drop_reason is None:  # the receiver is recording why it ended
                    await self._wait_dropped()
                self._start_healer()
        await self._events.put(_END)
        await self.close()
        return self.response()

    async def close(self) -> None:
        """Close the socket (code 1000); captured results stay readable."""
        self._closed = True
        if self._healer is not None and not self._healer.done():
            self._healer.cancel()
        if self._transport is not None:
            with contextlib.suppress(Exception):  # already gone: closing is best effort by nature
                await self._transport.close()
        if self._receiver is not None and not self._receiver.done():
            self._receiver.cancel()

    def abort(self) -> None:
        """Drop the connection abruptly (tests and benchmarks use this to simulate a network cut)."""
        if self._transport is not None:
            self._transport.abort()

    def interrupt(self, exc: BaseException) -> None:
        """Make :meth:`events` raise *exc* (a failed audio source ends the take's event loop)."""
        self._events.put_nowait(exc)

    def __aiter__(self) -> Any:
        return self.events()

    async def events(self) -> Any:
        """Typed events as they arrive, ending after the final ``transcription.done``.

        A server ``error`` event raises :class:`~voxnb.errors.RealtimeError` carrying its message.
        Unknown events are yielded as :class:`~voxnb.realtime.protocol.UnknownEvent`; skip them.
        """
        while True:
            item = await self._events.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, ErrorEvent):
                self._raise_server_error(item)
            yield item

    def response(self) -> dict[str, Any]:
        """The take so far as one Mistral transcription response (see :meth:`finish`)."""
        return merge_parts(self.parts, self.gaps, model=self.model, bytes_per_second=self.bytes_per_second)

    # ------------------------------------------------------------------------------- internals
    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    @staticmethod
    def _raise_server_error(event: ErrorEvent) -> None:
        code = f" (code {event.code})" if event.code is not None else ""
        raise RealtimeError(f"the realtime server reported an error{code}: {event.message}")

    async def _open(self, timeout: float | None = None) -> None:
        timeout = self.open_timeout if timeout is None else timeout
        transport = await self._connect_transport(timeout)
        try:
            await self._start_session(transport, timeout)
        except BaseException:
            with contextlib.suppress(Exception):  # a half-open session is of no use: free the socket
                await transport.close()
            raise
        part = _Part(audio_start=self.bytes_sent)
        self.parts.append(part)
        self._transport = transport
        self._receiver = asyncio.create_task(self._receive(transport, part))

    async def _start_session(self, transport: Any, timeout: float) -> None:
        """Wait for ``session.created`` and configure the session."""
        try:
            first = self.dialect.parse(await asyncio.wait_for(transport.recv(), timeout))
        except (asyncio.TimeoutError, _Dropped) as exc:
            raise TransportError(
                f"the realtime server at {self._where()} did not start a session "
                f"({exc or 'timed out'}); check the URL and the dialect"
            ) from None
        if isinstance(first, ErrorEvent):
            self._raise_server_error(first)
        if not isinstance(first, SessionCreated):
            raise RealtimeError(f"expected session.created first, got {first.raw.get('type')!r}")
        if self.engine is None:
            for message in self.dialect.configure(self.request):
                await transport.send(message)

    async def _connect_transport(self, timeout: float) -> Any:
        if self.engine is not None:
            options = {
                "context_bias": list(self.request.context_bias) or None,
                "language": self.request.language,
            }
            return _EngineTransport(
                self.engine,
                {k: v for k, v in options.items() if v is not None},
                PcmDecoder(self.request.encoding, self.request.sample_rate),
            )
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException
        except ImportError:
            raise MissingDependencyError("websockets", "widgets", "realtime transcription") from None
        assert self.base_url is not None  # a session without an engine has a server
        url = self.dialect.url(self.base_url, self.model)
        loopback = urlsplit(url).hostname in {"127.0.0.1", "localhost", "::1"}
        try:
            ws = await connect(
                url,
                additional_headers=self._key.headers(),  # built when read: no dict holds the key
                open_timeout=timeout,
                compression=None,
                max_size=None,
                proxy=None if loopback else True,
                logger=_WS_LOGGER,
            )
        except InvalidStatus as exc:
            forget_locals(exc)  # websockets' handshake frames hold the request headers
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthenticationError(
                    f"the realtime server at {self._where()} refused the key; set MISTRAL_API_KEY "
                    "or pass api_key= (for voxnb serve: the --api-key it was started with)",
                    status=status,
                ) from None
            raise TransportError(
                f"the realtime server at {self._where()} answered HTTP {status} "
                "instead of a websocket; check base_url and dialect="
            ) from None
        except (OSError, asyncio.TimeoutError, InvalidURI, WebSocketException) as exc:
            forget_locals(exc)
            raise TransportError(
                f"could not reach the realtime server at {self._where()}: "
                f"{type(exc).__name__}: {exc}; is it running?"
            ) from None
        return _WebsocketTransport(ws)

    def _where(self) -> str:
        return self.dialect.url(self._shown_url, None) if self._shown_url else "in process"

    async def _receive(self, transport: Any, part: _Part) -> None:
        try:
            while True:
                event = self.dialect.parse(await transport.recv())
                part.observe(event)
                await self._events.put(event)
                if isinstance(event, Done):
                    return
        except _Dropped as exc:
            if part.done is None:
                part.drop_reason = part.drop_reason or str(exc)
                part.ended.set()
                # reconnect even when no audio is being sent, so gaps show up promptly; not after
                # the server reported an error: it said why it closed, and the take ends with it
                if not self._closed and part.error is None:
                    self._start_healer()
        except Exception as exc:  # e.g. a non-JSON frame: nothing more can be read from this session
            self._failure = exc  # the next send or finish raises it, rather than waiting for a done
            part.ended.set()
            await self._events.put(exc)

    @property
    def _healing(self) -> bool:
        return self._healer is not None and not self._healer.done()

    def _start_healer(self) -> None:
        """Reconnect in the background (once: a running reconnection covers later drops too)."""
        if not self._healing and not self._closed and self._failure is None:
            self._healer = asyncio.create_task(self._heal())

    def _down_reason(self) -> str:
        part = self.parts[-1] if self.parts else None
        return f"down since: {part.drop_reason}" if part is not None and part.drop_reason else "connecting"

    async def _heal(self) -> None:
        """Reconnect after drops, with backoff, then send the audio held meanwhile."""
        try:
            while self.parts and self.parts[-1].drop_reason is not None and not self._closed:
                part = self.parts[-1]
                await self._events.put(
                    Disconnected(
                        at=(part.audio_start + part.bytes_sent) / self.bytes_per_second,
                        reason=part.drop_reason or "",
                    )
                )
                await self._reconnect(part)
                async with self._lock:
                    await self._drain()  # a drop here leaves the new part dropped: the loop goes on
        except Exception as exc:  # recorded; the next send or finish raises it
            self._failure = self._failure or exc
            await self._events.put(exc)

    async def _drain(self) -> None:
        """Send the held audio, in order; stops (keeping it) when the connection is down."""
        while self._backlog:
            self._raise_failure()
            part = self.parts[-1] if self.parts else None
            if part is None:
                await self._open()
                continue
            if part.drop_reason is not None:
                self._start_healer()
                return
            pcm = self._backlog[0]
            try:
                for message in self.dialect.append(pcm, width=self.width):
                    await self._transport.send(message)
            except _Dropped as exc:
                part.drop_reason = part.drop_reason or str(exc)
                self._start_healer()
                return  # the whole chunk goes to the next session
            self._backlog.popleft()
            self._backlog_bytes -= len(pcm)
            part.bytes_sent += len(pcm)
            self.bytes_sent += len(pcm)

    async def _wait_dropped(self) -> None:
        # the receiver notices a drop a moment after a failed send; let it record the reason
        if self._receiver is not None:
            await asyncio.wait([self._receiver], timeout=1.0)

    async def _reconnect(self, part: _Part) -> None:
        """Open a new session, retrying with backoff (0.25 s doubling to 2 s, jittered) until
        ``reconnect_timeout`` has passed; then record the gap."""
        lost_at = time.monotonic()
        deadline = lost_at + self.reconnect_timeout
        delay, attempt = 0.25, 0
        while True:
            attempt += 1
            try:
                async with self._lock:
                    if self._closed:
                        return
                    await self._open(max(0.5, min(self.open_timeout, deadline - time.monotonic())))
                break
            except TransportError as exc:
                left = deadline - time.monotonic()
                if left <= 0 or (self.max_reconnects is not None and attempt >= self.max_reconnects):
                    self._failure = RealtimeError(
                        f"the realtime connection dropped ({part.drop_reason}) and {attempt} attempts to "
                        f"reconnect failed over {time.monotonic() - lost_at:.1f} s (the last: {exc}); "
                        f"{self.seconds_sent:.1f} s of audio had been sent and the captured audio is kept: "
                        "re-transcribe it with the batch endpoint, or raise reconnect_timeout="
                    )
                    raise self._failure from None
                await asyncio.sleep(min(delay * random.uniform(1.0, 1.5), left))
                delay = min(delay * 2, 2.0)
        gap = Reconnected(
            at=(part.audio_start + part.bytes_sent) / self.bytes_per_second,
            offline=time.monotonic() - lost_at,
            in_flight=(part.bytes_sent - part.bytes_at_last_delta) / self.bytes_per_second,
            reason=part.drop_reason or "",
        )
        self.gaps.append(gap)
        await self._events.put(gap)


def _shifted(item: dict[str, Any], offset: float) -> dict[str, Any]:
    return {**item, **{k: item[k] + offset for k in ("start", "end") if item.get(k) is not None}}


def merge_parts(
    parts: list[_Part],
    gaps: list[Reconnected],
    *,
    model: str | None,
    bytes_per_second: int = _BYTES_PER_SECOND,
) -> dict[str, Any]:
    """One Mistral transcription response from the server sessions of a take.

    A single finished session passes through unchanged (plus ``realtime`` metadata, and its
    turns as segments when the server sent turn events but no segments); otherwise texts are
    joined, segment times shifted to the take's clock, and a session that dropped before
    ``transcription.done`` contributes the text it had committed (one segment spanning its audio
    when the others have segments).
    """
    meta = {"sessions": len(parts), "gaps": [gap.as_dict() for gap in gaps]}
    if len(parts) == 1 and parts[0].done is not None:
        only, done = parts[0], parts[0].done
        timed_only = only.timed_segments(only.bytes_sent / bytes_per_second)
        return {**done, **({"segments": timed_only} if timed_only else {}), "realtime": meta}
    texts: list[str] = []
    segments: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    language, model_seen = None, None
    timed = [p.timed_segments(p.bytes_sent / bytes_per_second) for p in parts]
    any_segments = any(timed)
    for part, part_segments in zip(parts, timed):
        offset = part.audio_start / bytes_per_second
        done = part.done or {}
        language = language or done.get("language") or part.language
        model_seen = model_seen or done.get("model")
        text = part.committed_text.strip()
        if text:
            texts.append(text)
        if not part_segments and text and any_segments:
            part_segments = [{"text": text, "start": 0.0, "end": part.bytes_sent / bytes_per_second}]
        for segment in part_segments:
            shifted = dict(segment)
            if shifted.get("words"):
                shifted["words"] = [_shifted(word, offset) for word in shifted["words"]]
            segments.append(_shifted(shifted, offset))
        for key, value in (done.get("usage") or {}).items():
            if isinstance(value, (int, float)):
                usage[key] = usage.get(key, 0) + value
    response: dict[str, Any] = {
        "model": model_seen or model,
        "text": " ".join(texts),
        "language": language,
        "segments": segments,
        "usage": usage,
        "realtime": meta,
    }
    return response
