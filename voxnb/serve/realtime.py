"""The realtime websocket routes of ``voxnb serve``, over an engine's incremental ``stream()``.

``/v1/audio/transcriptions/realtime`` speaks Mistral's dialect and ``/v1/realtime`` vLLM's
(``spec/mistral-api.md`` §4, §9), so the recorder and :class:`~voxnb.realtime.RealtimeSession`
work with no key, and both dialects are exercised over real sockets in the tests. The engine
decodes in a worker thread (:class:`~voxnb.local.bridge.EngineBridge`); the event loop only
moves bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
import uuid
from dataclasses import replace
from typing import Any

from voxnb.credentials import Secret, secret_api_key
from voxnb.errors import ParameterError
from voxnb.local.bridge import EngineBridge
from voxnb.models import ModelCapabilities, capabilities
from voxnb.realtime.protocol import MAX_APPEND_BYTES, MISTRAL, SAMPLE_RATE, VLLM, Dialect
from voxnb.request import TranscriptionRequest

__all__ = ["realtime_routes", "served_stream"]


@secret_api_key
def realtime_routes(engine: Any, *, api_key: str | None = None) -> list[Any]:
    """Starlette ``WebSocketRoute``\\ s for both realtime dialects over *engine*.

    Parameters
    ----------
    engine : TranscriptionEngine
        Anything with ``model`` and ``stream(pcm_chunks)`` (see ``voxnb.local.protocol``).
    api_key : str, optional
        When set, a client must send ``Authorization: Bearer <key>`` (or, as browsers do, the
        subprotocols ``["realtime", "<key>"]``); others are refused before the handshake.

    Examples
    --------
    >>> from starlette.applications import Starlette
    >>> from voxnb.local.fake import FakeEngine  # doctest: +SKIP
    >>> app = Starlette(routes=realtime_routes(FakeEngine()))  # doctest: +SKIP
    """
    from starlette.routing import WebSocketRoute

    async def mistral(websocket: Any) -> None:
        await _RealtimeConnection(websocket, engine, MISTRAL, api_key).run()

    async def vllm(websocket: Any) -> None:
        await _RealtimeConnection(websocket, engine, VLLM, api_key).run()

    return [WebSocketRoute(MISTRAL.path, mistral), WebSocketRoute(VLLM.path, vllm)]


def served_stream(engine: Any, model: str | None) -> ModelCapabilities:
    """What a realtime session naming *model* gets from *engine*.

    A realtime model Mistral's table knows is emulated with that model's refusals (the 2602 model
    takes no ``context_bias`` or ``diarize``), within what the engine's stream can do; any other
    name gets the engine's own streaming capabilities.
    """
    engine_caps = engine.stream_capabilities
    known = capabilities(model) if model else None
    if known is None or not known.known or not known.realtime:
        return engine_caps if model is None else engine_caps.named(model)
    return replace(
        known,
        diarize=known.diarize and engine_caps.diarize,
        context_bias=known.context_bias if engine_caps.context_bias else None,
        languages=engine_caps.languages if known.languages is None else known.languages,
    )


def _authorized(websocket: Any, api_key: Secret | str | None) -> bool:
    if not api_key:
        return True
    if isinstance(api_key, Secret):
        api_key = api_key.reveal() or ""
    header = websocket.headers.get("authorization", "")
    offered = header[7:] if header.lower().startswith("bearer ") else ""
    protocols = websocket.scope.get("subprotocols") or []
    if not offered and len(protocols) >= 2 and protocols[0] == "realtime":
        offered = protocols[1]
    return hmac.compare_digest(offered.encode("utf-8", "surrogateescape"), api_key.encode())


class _RealtimeConnection:
    """One client socket: reads its messages, feeds the engine, forwards the engine's events."""

    def __init__(self, websocket: Any, engine: Any, dialect: Dialect, api_key: str | None):
        self.websocket = websocket
        self.engine = engine
        model = websocket.query_params.get("model") if dialect is MISTRAL else None
        self.capabilities = served_stream(engine, model)
        #: the session's settings, checked by the request contract (defaults until session.update)
        self.request = TranscriptionRequest().resolve(self.capabilities, realtime=True)
        self.dialect = dialect
        self.api_key = api_key
        self.bridge: EngineBridge | None = None
        self.forwarder: asyncio.Task[None] | None = None
        self.model_validated = dialect is MISTRAL  # vLLM insists on session.update{model} first
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(message))

    async def error(self, message: str, code: str) -> None:
        await self.send(self.dialect.error(message, code))

    async def run(self) -> None:
        from starlette.websockets import WebSocketDisconnect

        if not _authorized(self.websocket, self.api_key):
            await self.websocket.close(code=1008)  # before accept: the client sees HTTP 403
            return
        protocols = self.websocket.scope.get("subprotocols") or []
        await self.websocket.accept(subprotocol="realtime" if "realtime" in protocols else None)
        try:
            await self.send(self._created())
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is None:
                    await self.error(
                        "audio must be sent as base64 inside JSON append messages, not as binary frames",
                        "invalid_event",
                    )
                    continue
                if await self._handle(message["text"]):
                    await self._finish()
                    await self.websocket.close(code=1000)
                    break
        except WebSocketDisconnect:
            pass
        finally:
            if self.bridge is not None:
                self.bridge.end()  # lets the engine thread finish when the client vanished
            if self.forwarder is not None and not self.forwarder.done():
                self.forwarder.cancel()

    def _created(self) -> dict[str, Any]:
        if self.dialect is VLLM:
            return {"type": "session.created", "id": f"sess-{uuid.uuid4().hex}", "created": int(time.time())}
        return {"type": "session.created", "session": self._session()}

    def _session(self) -> dict[str, Any]:
        return {
            "request_id": uuid.uuid4().hex,
            "model": getattr(self.engine, "model", "local"),
            "audio_format": {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE},
            "target_streaming_delay_ms": None,
            "context_bias": list(self.request.context_bias),
            "language": self.request.language,
        }

    def _start(self) -> EngineBridge:
        if self.bridge is None:
            options = {
                "context_bias": list(self.request.context_bias) or None,
                "language": self.request.language,
            }
            self.bridge = EngineBridge(self.engine, **{k: v for k, v in options.items() if v is not None})
            self.forwarder = asyncio.create_task(self._forward(self.bridge))
        return self.bridge

    async def _forward(self, bridge: EngineBridge) -> None:
        from starlette.websockets import WebSocketDisconnect

        try:
            while (event := await bridge.next_event()) is not None:
                rendered = self.dialect.event(event)
                if rendered is not None:
                    await self.send(rendered)
        except (WebSocketDisconnect, RuntimeError):  # the client left; the engine thread ends on its own
            pass

    async def _finish(self) -> None:
        bridge = self._start()
        bridge.end()
        assert self.forwarder is not None
        await self.forwarder

    async def _handle(self, text: str) -> bool:
        """Act on one client message; True when the audio has ended."""
        try:
            data = json.loads(text)
            kind = data["type"]
        except (ValueError, TypeError, KeyError, RecursionError):
            await self.error(f"not a JSON message with a 'type': {text[:80]!r}", "invalid_json")
            return False
        if kind == "session.update":
            await self._update(data)
        elif kind == self.dialect.append_type:
            await self._append(data.get("audio"))
        elif kind == "input_audio.flush" and self.dialect is MISTRAL:
            pass  # the engine decodes as audio arrives; nothing is held back to flush
        elif kind == "input_audio.end" and self.dialect is MISTRAL:
            return True
        elif kind == "input_audio_buffer.commit" and self.dialect is VLLM:
            if not self.model_validated:
                await self.error("send session.update with a model before committing", "model_not_validated")
                return False
            self._start()
            return bool(data.get("final"))
        else:
            await self.error(
                f"unknown event type {kind!r} for the {self.dialect.name} dialect", "unknown_event"
            )
        return False

    async def _update(self, data: dict[str, Any]) -> None:
        if self.dialect is VLLM:
            if not data.get("model"):
                await self.error("session.update needs a model", "invalid_event")
                return
            self.model_validated = True
            return
        if self.bridge is not None and self.bridge.bytes_fed:
            await self.error("session settings are locked once audio has started", "session_locked")
            return
        session = data.get("session") or {}
        audio_format = session.get("audio_format") if isinstance(session, dict) else None
        if not isinstance(session, dict) or not isinstance(audio_format or {}, dict):
            await self.error(
                "session.update needs a 'session' object (audio_format an object too)", "invalid_event"
            )
            return
        audio_format = audio_format or {}
        if audio_format and (audio_format.get("encoding"), audio_format.get("sample_rate")) != (
            "pcm_s16le",
            SAMPLE_RATE,
        ):
            await self.error(
                f"this server takes pcm_s16le at {SAMPLE_RATE} Hz only, got {audio_format}",
                "unsupported_audio_format",
            )
            return
        settings = {k: session[k] for k in ("target_streaming_delay_ms", "context_bias", "language", "diarize")
                    if session.get(k) is not None}  # fmt: skip
        try:
            self.request = TranscriptionRequest.create(model=self.capabilities.name, **settings).resolve(
                self.capabilities, realtime=True
            )
        except ParameterError as err:
            await self.error(str(err), "invalid_request")
            return
        # the local engine commits on its own schedule (its hop), so a requested delay is not
        # applied; session.updated says so with null rather than echoing the request
        await self.send({"type": "session.updated", "session": self._session()})

    async def _append(self, audio: Any) -> None:
        if self.dialect is VLLM and not self.model_validated:
            await self.error("send session.update with a model before audio", "model_not_validated")
            return
        try:
            pcm = base64.b64decode(audio or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            await self.error("append 'audio' must be base64 of PCM s16le bytes", "invalid_audio")
            return
        if len(pcm) > MAX_APPEND_BYTES:
            await self.error(
                f"an append message may carry at most {MAX_APPEND_BYTES} decoded bytes, "
                f"got {len(pcm)}; split the audio",
                "audio_too_large",
            )
            return
        if len(pcm) % 2:
            await self.error(
                "PCM s16le audio must hold whole 16-bit samples (odd byte count)", "invalid_audio"
            )
            return
        self._start().feed(pcm)
