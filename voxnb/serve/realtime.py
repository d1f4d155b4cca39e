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
import collections
import hmac
import json
import time
import uuid
from dataclasses import replace
from typing import Any

import numpy as np

from voxnb.credentials import Secret, secret_api_key
from voxnb.errors import ParameterError
from voxnb.local.bridge import EngineBridge
from voxnb.models import ModelCapabilities, capabilities
from voxnb.realtime.encoding import PcmDecoder
from voxnb.realtime.protocol import MAX_APPEND_BYTES, MISTRAL, SAMPLE_RATE, SAMPLE_WIDTH, VLLM, Dialect
from voxnb.request import AUDIO_ENCODINGS, SAMPLE_RATES, TranscriptionRequest
from voxnb.serve.turns import DEFAULTS as TURN_DEFAULTS
from voxnb.serve.turns import PauseTurns

__all__ = ["realtime_routes", "served_stream"]

_PIECE = SAMPLE_RATE * SAMPLE_WIDTH // 10  # 100 ms of the engine's 16 kHz s16le


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
    takes no ``context_bias``, ``diarize`` or turn detection), within what the engine can do; any
    other name gets the engine's own streaming capabilities. Either way the endpoint adds what
    it emulates around the engine: every audio encoding and sample rate (converted to the
    engine's 16 kHz s16le), turn detection by pauses, and diarization and known speakers at the
    end of the take (the engine's file transcription over the whole take).
    """
    engine_caps = engine.stream_capabilities
    offline = engine.capabilities
    emulated: dict[str, Any] = {"encodings": AUDIO_ENCODINGS, "sample_rates": SAMPLE_RATES}
    known = capabilities(model) if model else None
    if known is None or not known.known or not known.realtime:
        caps = engine_caps if model is None else engine_caps.named(model)
        return replace(
            caps,
            turn_detection=True,
            diarize=offline.diarize,
            speaker_references=offline.speaker_references,
            **emulated,
        )
    return replace(
        known,
        diarize=known.diarize and offline.diarize,
        speaker_references=known.speaker_references and offline.speaker_references,
        context_bias=known.context_bias if engine_caps.context_bias else None,
        languages=engine_caps.languages if known.languages is None else known.languages,
        **emulated,
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
    """One client socket: reads its messages, feeds the engine, forwards the engine's events.

    What the endpoint emulates around the engine (Mistral's dialect):

    - the settings lock: a ``session.update`` after the first audio gets Mistral's error event
      ("Session fields cannot be changed after audio has started");
    - every encoding and sample rate, converted to the engine's 16 kHz s16le as it arrives;
    - ``target_streaming_delay_ms``, honoured in audio time: a piece of text is held until that
      much audio has arrived after the audio it was made from (at least; the engine's own
      schedule may add to it), and the value applied is echoed in ``session.updated``;
    - turn detection by pauses (:mod:`voxnb.serve.turns`), each turn event released after the
      text of the audio before it;
    - diarization and known speakers at the end of the take: the engine's file transcription of
      the whole take, sent as ``transcription.segment`` events with speakers, then in
      ``transcription.done``.
    """

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
        self.decoder: PcmDecoder | None = None
        self.turns: PauseTurns | None = None
        self.take = bytearray()  # 16 kHz s16le, kept when the end of the take needs it (diarize)
        self.received = 0  # 16 kHz s16le bytes given to the engine
        self.reading = 0  # the engine's text now comes from the audio up to here (bytes)
        self.finished = 0  # bytes of audio the engine has emitted everything about
        self.held: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()  # (release at, event)
        self.turn_events: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()

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
        """The session as Mistral echoes it (``mistralai``'s ``RealtimeTranscriptionSession``)."""
        request = self.request
        turn_detection = None
        if request.turn_detection is not None:
            turn_detection = {**TURN_DEFAULTS, **dict(request.turn_detection)}
        return {
            "request_id": uuid.uuid4().hex,
            "model": getattr(self.engine, "model", "local"),
            "audio_format": {
                "encoding": request.encoding or "pcm_s16le",
                "sample_rate": request.sample_rate or SAMPLE_RATE,
            },
            # the delay applied (None: the engine's own schedule, no hold)
            "target_streaming_delay_ms": request.target_streaming_delay_ms,
            "diarize": request.diarize,
            "context_bias": list(request.context_bias),
            "language": request.language,
            "speaker_references": [ref.name for ref in request.speaker_references],
            "turn_detection": turn_detection,
        }

    @property
    def _audio_started(self) -> bool:
        return self.decoder is not None

    def _start(self) -> EngineBridge:
        if self.bridge is None:
            options: dict[str, Any] = {
                "context_bias": list(self.request.context_bias) or None,
                "language": self.request.language,
            }
            self.bridge = EngineBridge(
                self.engine, positions=True, **{k: v for k, v in options.items() if v is not None}
            )
            self.forwarder = asyncio.create_task(self._forward(self.bridge))
        return self.bridge

    def _delay_bytes(self) -> int:
        delay = self.request.target_streaming_delay_ms or 0
        return delay * SAMPLE_RATE * SAMPLE_WIDTH // 1000

    async def _release(self, *, everything: bool = False) -> None:
        """Send the held events that are due, in order (turn events after the text before them)."""
        while self.turn_events and (everything or self.turn_events[0][0] <= self.finished):
            at, event = self.turn_events.popleft()
            self.held.append((at + self._delay_bytes(), event))
        while self.held and (everything or self.held[0][0] <= self.received):
            await self._send_event(self.held.popleft()[1])

    async def _send_event(self, event: dict[str, Any]) -> None:
        rendered = self.dialect.event(event)
        if rendered is not None:
            await self.send(rendered)

    async def _forward(self, bridge: EngineBridge) -> None:
        from starlette.websockets import WebSocketDisconnect

        try:
            while (event := await bridge.next_event()) is not None:
                kind = event.get("type")
                if kind == "voxnb.position":  # the engine took the next chunk: it is done with the last
                    self.finished, self.reading = self.reading, event["bytes"]
                elif kind == "transcription.done":
                    await self._release(everything=True)
                    await self._done(event)
                elif kind == "error":
                    await self._send_event(event)
                else:  # text: held until the delay's worth of audio has arrived after its audio
                    self.held.append((self.reading + self._delay_bytes(), event))
                await self._release()
        except (WebSocketDisconnect, RuntimeError):  # the client left; the engine thread ends on its own
            pass

    async def _done(self, done: dict[str, Any]) -> None:
        """The end of the take: diarized (and named) over the whole take when the session asked."""
        if self.request.diarize and self.dialect is MISTRAL:
            from starlette.concurrency import run_in_threadpool

            from voxnb.local.speaker_names import apply_to_response, name_speakers

            samples = np.frombuffer(bytes(self.take), "<i2").astype(np.float32) / 32768.0
            options = {**self.request.engine_options(), "timestamps": ["segment"], "diarize": True}
            try:
                diarized = await run_in_threadpool(self.engine.transcribe, samples, **options)
                if self.request.speaker_references:
                    found = await run_in_threadpool(
                        name_speakers,
                        samples,
                        diarized.get("segments") or [],
                        self.request.speaker_references,
                    )
                    diarized = apply_to_response(diarized, found.names)
            except Exception as exc:  # reported as Mistral reports failures: an error event
                await self.error(f"diarization failed: {exc}", "engine_error")
                return
            for segment in diarized.get("segments") or []:
                await self.send(
                    {
                        "type": "transcription.segment",
                        **{k: segment.get(k) for k in ("text", "start", "end", "speaker_id")},
                    }
                )
            done = {**diarized, "type": "transcription.done"}
        await self._send_event(done)

    async def _finish(self) -> None:
        bridge = self._start()
        if self.decoder is not None:
            await self._feed(self.decoder.end())
        if self.turns is not None:
            self._queue_turns(self.turns.end())
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
        if self._audio_started:
            # Mistral's own words; the settings lock when the first audio chunk arrives
            await self.error("Session fields cannot be changed after audio has started", "session_locked")
            return
        try:
            given = TranscriptionRequest.from_session(data.get("session") or {})
            merged = {**self.request.options(), **given.options(), "model": self.capabilities.name}
            self.request = TranscriptionRequest.create(**merged).resolve(self.capabilities, realtime=True)
        except ParameterError as err:
            await self.error(str(err), "invalid_request")
            return
        await self.send({"type": "session.updated", "session": self._session()})

    async def _append(self, audio: Any) -> None:
        if self.dialect is VLLM and not self.model_validated:
            await self.error("send session.update with a model before audio", "model_not_validated")
            return
        encoding = self.request.encoding or "pcm_s16le"
        try:
            raw = base64.b64decode(audio or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            await self.error(f"append 'audio' must be base64 of {encoding} bytes", "invalid_audio")
            return
        if len(raw) > MAX_APPEND_BYTES:
            await self.error(
                f"an append message may carry at most {MAX_APPEND_BYTES} decoded bytes, "
                f"got {len(raw)}; split the audio",
                "audio_too_large",
            )
            return
        if self.decoder is None:
            self.decoder = PcmDecoder(self.request.encoding, self.request.sample_rate)
            if self.request.turn_detection is not None:
                self.turns = PauseTurns(dict(self.request.turn_detection))
        if len(raw) % self.decoder.width:
            await self.error(
                f"{encoding} audio must hold whole {8 * self.decoder.width}-bit samples "
                f"(got {len(raw)} bytes)",
                "invalid_audio",
            )
            return
        await self._feed(self.decoder.feed(raw))

    async def _feed(self, pcm: bytes) -> None:
        """16 kHz s16le to the engine, to the turn detector and (when needed) to the take."""
        bridge = self._start()
        if not pcm:
            return
        if self.request.diarize:
            self.take += pcm
        if self.turns is not None:
            self._queue_turns(self.turns.feed(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0))
        self.received += len(pcm)
        # in pieces of 100 ms, so that the engine's text is placed (and held for the delay) that finely
        for i in range(0, len(pcm), _PIECE):
            bridge.feed(pcm[i : i + _PIECE])
        await self._release()

    def _queue_turns(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.turn_events.append((round(event["time_s"] * SAMPLE_RATE) * SAMPLE_WIDTH, event))
