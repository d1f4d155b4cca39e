"""RealtimeSession: one realtime take over a websocket (Mistral or vLLM), or in process.

The websocket library is ``websockets`` (asyncio): it is what uvicorn already serves ``voxnb
serve``'s websocket routes with (one dependency for both ends), what Mistral's own SDK uses, and
it exposes the knobs this needs (upgrade headers for Bearer auth, open/close timeouts, frame size,
no compression for cheap sends, proxy off for loopback). httpx-ws would share the HTTP client's
configuration but adds wsproto and anyio underneath for no gain on a single long-lived socket.

A take may span several server sessions: when the socket drops, the session reconnects, keeps
streaming, and records the gap; text already committed and audio already captured are kept.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from voxnb.credentials import MISTRAL_BASE_URL, Secret, api_key_for
from voxnb.errors import (
    AuthenticationError,
    MissingDependencyError,
    ParameterError,
    RealtimeError,
    TransportError,
)
from voxnb.models import DEFAULT_REALTIME_MODEL, ModelCapabilities, capabilities, openai_capabilities
from voxnb.realtime.protocol import (
    MISTRAL,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    Dialect,
    Done,
    ErrorEvent,
    Event,
    Language,
    Reconnected,
    SegmentEvent,
    SessionCreated,
    TextDelta,
    get_dialect,
)
from voxnb.request import TranscriptionRequest

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from voxnb.request import TranscriptionOptions

__all__ = ["DEFAULT_REALTIME_MODEL", "RealtimeSession"]

DEFAULT_BASE_URL = MISTRAL_BASE_URL
_BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
_END = object()


def _http_url(url: str) -> str:
    """*url* with a ws(s) scheme written as http(s), the form the key's owner is told by."""
    scheme, sep, rest = url.partition("://")
    return {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme) + sep + rest


class _RedactingLogger(logging.LoggerAdapter):
    """websockets' logger, minus the key: its debug log prints every handshake header."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) >= 2 and str(args[0]).lower() == "authorization":
            args = (args[0], "Bearer <redacted>", *args[2:])
        super().log(level, msg, *args, **kwargs)


_WS_LOGGER = _RedactingLogger(logging.getLogger("websockets.client"), {})


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

    def __init__(self, engine: Any, options: dict[str, Any]):
        from voxnb.local.bridge import EngineBridge

        self.engine = engine
        self.bridge = EngineBridge(engine, **options)
        self.greeted = False

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == MISTRAL.append_type:
            self.bridge.feed(base64.b64decode(message["audio"]))
        elif kind == "input_audio.end":
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

    def observe(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
            self.bytes_at_last_delta = self.bytes_sent
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
    max_reconnects : int
        Consecutive failed attempts tolerated when a dropped socket is reopened.
    open_timeout, finish_timeout : float
        Seconds to wait for ``session.created``, and for ``transcription.done`` after finishing.
    **options
        Transcription options the model takes in a realtime session (checked by the request
        contract, :mod:`voxnb.request`, against the model's capabilities):
        ``target_streaming_delay_ms`` (Mistral's latency/accuracy trade-off), and on models that
        take them ``context_bias``, ``language`` and ``diarize``. They are sent before the first
        audio.

    Notes
    -----
    Audio is PCM s16le, mono, 16 kHz. :meth:`send_audio` splits it so that no append message
    carries more than 256 KiB. :meth:`finish` flushes before ending so the last words arrive.

    Examples
    --------
    >>> async def run(chunks):  # doctest: +SKIP
    ...     async with RealtimeSession("http://127.0.0.1:8000") as session:
    ...         for chunk in chunks:
    ...             await session.send_audio(chunk)
    ...         response = await session.finish()
    ...     return response["text"]
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | Secret | None = None,
        dialect: str | Dialect = "mistral",
        engine: Any = None,
        max_reconnects: int = 5,
        open_timeout: float = 10.0,
        finish_timeout: float = 120.0,
        **options: Unpack[TranscriptionOptions],
    ):
        self.dialect = get_dialect(dialect)
        self.engine = engine
        if engine is not None and base_url is not None:
            raise ParameterError("give either engine= (in process) or base_url= (a server), not both")
        self.base_url = None if engine is not None else (base_url or DEFAULT_BASE_URL)
        self._key = Secret(None) if self.base_url is None else api_key_for(_http_url(self.base_url), api_key)
        #: the session's settings, checked against what the model does in realtime
        self.request = TranscriptionRequest.create(**options).resolve(
            self._capabilities(options.get("model")), realtime=True
        )
        self.model = self.request.model
        self.target_streaming_delay_ms = self.request.target_streaming_delay_ms
        self.max_reconnects = max_reconnects
        self.open_timeout = open_timeout
        self.finish_timeout = finish_timeout
        #: one entry per server session of this take
        self.parts: list[_Part] = []
        #: every reconnection, as :class:`~voxnb.realtime.protocol.Reconnected` events
        self.gaps: list[Reconnected] = []
        self.bytes_sent = 0
        self._transport: Any = None
        self._receiver: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._backlog: collections.deque[bytes] = collections.deque()
        self._lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self._finishing = False
        self._closed = False
        self._healer: asyncio.Task[None] | None = None

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

    def __repr__(self) -> str:
        where = f"engine={self.model!r}" if self.engine is not None else f"{self.base_url!r}"
        return (
            f"RealtimeSession({where}, dialect={self.dialect.name!r}, model={self.model!r}, "
            f"sessions={len(self.parts)}, seconds_sent={self.seconds_sent:.1f})"
        )

    # --------------------------------------------------------------------------- public API
    @property
    def seconds_sent(self) -> float:
        return self.bytes_sent / _BYTES_PER_SECOND

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

    async def send_audio(self, pcm: bytes) -> None:
        """Send PCM s16le 16 kHz mono; reconnects first if the socket dropped."""
        self._raise_failure()
        if len(pcm) % SAMPLE_WIDTH:
            raise ParameterError(f"PCM s16le audio must hold whole 16-bit samples; got {len(pcm)} bytes")
        if not pcm:
            return
        async with self._lock:
            self._backlog.append(bytes(pcm))
            await self._drain()

    async def finish(self) -> dict[str, Any]:
        """Flush, end the audio, wait for ``transcription.done``; return the take's response.

        The response is Mistral's transcription shape, merged over every server session of the
        take (segment times shifted to the take's clock), with ``realtime`` metadata (sessions,
        gaps) added.
        """
        async with self._lock:
            self._finishing = True
            if not self.parts:
                await self._open()
            await self._drain()
            while True:
                part = self.parts[-1]
                if part.drop_reason is None:
                    try:
                        for message in self.dialect.finish():
                            await self._transport.send(message)
                        await asyncio.wait_for(part.ended.wait(), self.finish_timeout)
                    except _Dropped as exc:
                        part.drop_reason = str(exc)
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
                await self._wait_dropped()
                await self._reconnect(part)
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
        return merge_parts(self.parts, self.gaps, model=self.model)

    # ------------------------------------------------------------------------------- internals
    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    @staticmethod
    def _raise_server_error(event: ErrorEvent) -> None:
        code = f" (code {event.code})" if event.code is not None else ""
        raise RealtimeError(f"the realtime server reported an error{code}: {event.message}")

    async def _open(self) -> None:
        transport = await self._connect_transport()
        try:
            await self._start_session(transport)
        except BaseException:
            with contextlib.suppress(Exception):  # a half-open session is of no use: free the socket
                await transport.close()
            raise
        part = _Part(audio_start=self.bytes_sent)
        self.parts.append(part)
        self._transport = transport
        self._receiver = asyncio.create_task(self._receive(transport, part))

    async def _start_session(self, transport: Any) -> None:
        """Wait for ``session.created`` and configure the session."""
        try:
            first = self.dialect.parse(await asyncio.wait_for(transport.recv(), self.open_timeout))
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

    async def _connect_transport(self) -> Any:
        if self.engine is not None:
            options = {
                "context_bias": list(self.request.context_bias) or None,
                "language": self.request.language,
            }
            return _EngineTransport(self.engine, {k: v for k, v in options.items() if v is not None})
        try:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException
        except ImportError:
            raise MissingDependencyError("websockets", "widgets", "realtime transcription") from None
        assert self.base_url is not None  # a session without an engine has a server
        url = self.dialect.url(self.base_url, self.model)
        headers = {"Authorization": f"Bearer {self._key.reveal()}"} if self._key else {}
        loopback = urlsplit(url).hostname in {"127.0.0.1", "localhost", "::1"}
        try:
            ws = await connect(
                url,
                additional_headers=headers,
                open_timeout=self.open_timeout,
                compression=None,
                max_size=None,
                proxy=None if loopback else True,
                logger=_WS_LOGGER,
            )
        except InvalidStatus as exc:
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
            raise TransportError(
                f"could not reach the realtime server at {self._where()}: "
                f"{type(exc).__name__}: {exc}; is it running?"
            ) from None
        return _WebsocketTransport(ws)

    def _where(self) -> str:
        return self.dialect.url(self.base_url, None) if self.base_url else "in process"

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
                part.drop_reason = str(exc)
                part.ended.set()
                # reconnect even when no audio is being sent, so gaps show up promptly; not after
                # the server reported an error: it said why it closed, and the take ends with it
                if not self._closed and not self._finishing and part.error is None:
                    self._healer = asyncio.create_task(self._heal(part))
        except Exception as exc:  # e.g. a non-JSON frame: nothing more can be read from this session
            self._failure = exc  # the next send or finish raises it, rather than waiting for a done
            part.ended.set()
            await self._events.put(exc)

    async def _heal(self, part: _Part) -> None:
        async with self._lock:
            if self.parts[-1] is part and not self._closed:
                try:
                    await self._reconnect(part)
                except Exception as exc:  # recorded; the next send or finish raises it
                    self._failure = exc
                    await self._events.put(exc)

    async def _drain(self) -> None:
        while self._backlog:
            self._raise_failure()
            part = self.parts[-1] if self.parts else None
            if part is None:
                await self._open()
                continue
            if part.drop_reason is not None:
                await self._reconnect(part)
                continue
            pcm = self._backlog[0]
            try:
                for message in self.dialect.append(pcm):
                    await self._transport.send(message)
            except _Dropped as exc:
                part.drop_reason = part.drop_reason or str(exc)
                continue  # the whole chunk goes to the next session
            self._backlog.popleft()
            part.bytes_sent += len(pcm)
            self.bytes_sent += len(pcm)

    async def _wait_dropped(self) -> None:
        # the receiver notices a drop a moment after a failed send; let it record the reason
        if self._receiver is not None:
            await asyncio.wait([self._receiver], timeout=1.0)

    async def _reconnect(self, part: _Part) -> None:
        lost_at = time.monotonic()
        delay = 0.1
        for attempt in range(1, self.max_reconnects + 1):
            try:
                await self._open()
                break
            except (TransportError, RealtimeError):
                if attempt == self.max_reconnects:
                    self._failure = RealtimeError(
                        f"the realtime connection dropped ({part.drop_reason}) and {attempt} attempts to "
                        f"reconnect failed; {self.seconds_sent:.1f} s of audio had been sent and the "
                        "captured audio is kept: re-transcribe it with the batch endpoint"
                    )
                    raise self._failure from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        gap = Reconnected(
            at=(part.audio_start + part.bytes_sent) / _BYTES_PER_SECOND,
            offline=time.monotonic() - lost_at,
            in_flight=(part.bytes_sent - part.bytes_at_last_delta) / _BYTES_PER_SECOND,
            reason=part.drop_reason or "",
        )
        self.gaps.append(gap)
        await self._events.put(gap)


def _shifted(item: dict[str, Any], offset: float) -> dict[str, Any]:
    return {**item, **{k: item[k] + offset for k in ("start", "end") if item.get(k) is not None}}


def merge_parts(parts: list[_Part], gaps: list[Reconnected], *, model: str | None) -> dict[str, Any]:
    """One Mistral transcription response from the server sessions of a take.

    A single finished session passes through unchanged (plus ``realtime`` metadata); otherwise
    texts are joined, segment times shifted to the take's clock, and a session that dropped before
    ``transcription.done`` contributes the text it had committed (one segment spanning its audio
    when the others have segments).
    """
    meta = {"sessions": len(parts), "gaps": [gap.as_dict() for gap in gaps]}
    if len(parts) == 1 and parts[0].done is not None:
        return {**parts[0].done, "realtime": meta}
    texts: list[str] = []
    segments: list[dict[str, Any]] = []
    usage: dict[str, Any] = {}
    language, model_seen = None, None
    any_segments = any(p.segments or (p.done or {}).get("segments") for p in parts)
    for part in parts:
        offset = part.audio_start / _BYTES_PER_SECOND
        done = part.done or {}
        language = language or done.get("language") or part.language
        model_seen = model_seen or done.get("model")
        text = part.committed_text.strip()
        if text:
            texts.append(text)
        part_segments = done.get("segments") or part.segments
        if not part_segments and text and any_segments:
            part_segments = [{"text": text, "start": 0.0, "end": part.bytes_sent / _BYTES_PER_SECOND}]
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
