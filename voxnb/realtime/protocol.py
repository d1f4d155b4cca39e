"""The realtime transcription wire protocol, in its two dialects, as typed messages and events.

Mistral's cloud (``spec/mistral-api.md`` §4) and vLLM (§9) speak similar but different JSON over
a websocket. A :class:`Dialect` turns the same intentions (configure, send audio, finish) into
each one's messages and parses each one's events into the same event types, so that
:class:`~voxnb.realtime.RealtimeSession` and the ``voxnb serve`` endpoint never branch on the
server kind. Unknown event types parse into :class:`UnknownEvent` and are ignored by consumers,
as the Mistral SDK does.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from voxnb.errors import ParameterError, ResponseFormatError

if TYPE_CHECKING:
    from voxnb.request import TranscriptionRequest

__all__ = [
    "DIALECTS",
    "MAX_APPEND_BYTES",
    "MISTRAL",
    "SAMPLE_RATE",
    "VLLM",
    "Dialect",
    "Done",
    "ErrorEvent",
    "Event",
    "Language",
    "Disconnected",
    "Reconnected",
    "SegmentEvent",
    "SessionCreated",
    "SessionUpdated",
    "TextDelta",
    "TurnEvent",
    "UnknownEvent",
    "get_dialect",
    "split_pcm",
]

#: the largest decoded audio payload one append message may carry (Mistral's documented limit)
MAX_APPEND_BYTES = 262_144
#: the only rate both dialects accept for pcm_s16le mono
SAMPLE_RATE = 16_000
#: bytes per 16-bit mono sample; chunks are split on sample boundaries
SAMPLE_WIDTH = 2


# --------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """A server event. ``raw`` keeps the message as received."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    type: ClassVar[str] = "event"


@dataclass(frozen=True)
class SessionCreated(Event):
    """The server accepted the connection; ``session`` describes it (model, audio format...)."""

    session: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "session.created"


@dataclass(frozen=True)
class SessionUpdated(Event):
    """The server applied a ``session.update`` (Mistral only)."""

    session: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "session.updated"


@dataclass(frozen=True)
class Language(Event):
    """The detected language (Mistral only)."""

    language: str | None = None
    type: ClassVar[str] = "transcription.language"


@dataclass(frozen=True)
class TextDelta(Event):
    """A piece of committed text; the live transcript is the concatenation of all deltas."""

    text: str = ""
    type: ClassVar[str] = "transcription.text.delta"


@dataclass(frozen=True)
class SegmentEvent(Event):
    """A finished segment with times relative to the start of this connection's audio."""

    text: str = ""
    start: float | None = None
    end: float | None = None
    speaker_id: str | None = None
    type: ClassVar[str] = "transcription.segment"


@dataclass(frozen=True)
class Done(Event):
    """The end of a session: ``response`` is a whole transcription response (Mistral's shape)."""

    response: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "transcription.done"

    @property
    def text(self) -> str:
        return self.response.get("text") or ""


@dataclass(frozen=True)
class TurnEvent(Event):
    """Server turn detection (Voxtral 3 realtime): ``turn.start``, ``turn.eager_end``, ``turn.resume``, ``turn.end``.

    ``phase`` is the part after ``turn.``; ``time_s`` is the position in this connection's
    audio; ``end_reason`` (``"threshold"`` or ``"timeout"``) comes with ``turn.end``.
    """

    phase: str = ""
    time_s: float | None = None
    end_reason: str | None = None
    type: ClassVar[str] = "turn"


#: the turn events the API sends (``mistralai`` 3.7 ``TurnDetection*Event``)
TURN_PHASES = ("start", "eager_end", "resume", "end")


@dataclass(frozen=True)
class ErrorEvent(Event):
    """The server reported an error; ``message`` is flattened to text."""

    message: str = ""
    code: str | int | None = None
    type: ClassVar[str] = "error"


@dataclass(frozen=True)
class UnknownEvent(Event):
    """An event type this version of voxnb does not know; kept in ``raw`` and otherwise ignored."""

    type_name: str = ""
    type: ClassVar[str] = "unknown"


@dataclass(frozen=True)
class Disconnected(Event):
    """Not from a server: the socket dropped; the session is reconnecting.

    ``at`` is the position in the take (seconds of audio sent) where the connection stopped and
    ``reason`` why. Audio sent meanwhile is held and sent once a new session is open; a
    :class:`Reconnected` event follows (or the take fails with :class:`~voxnb.errors.RealtimeError`).
    """

    at: float = 0.0
    reason: str = ""
    type: ClassVar[str] = "voxnb.disconnected"


@dataclass(frozen=True)
class Reconnected(Event):
    """Not from a server: the socket dropped and a new session took over.

    ``at`` is the position in the take (seconds of audio sent) where the old connection stopped,
    ``offline`` the wall-clock seconds without a connection, ``in_flight`` the seconds of audio
    the old session had received after its last committed text (possibly never transcribed live;
    :meth:`voxnb.realtime.Recorder.retranscribe` covers them), ``reason`` why it dropped.
    """

    at: float = 0.0
    offline: float = 0.0
    in_flight: float = 0.0
    reason: str = ""
    type: ClassVar[str] = "voxnb.reconnected"

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "offline": self.offline, "in_flight": self.in_flight, "reason": self.reason}


def _error_message(value: Any) -> str:
    # Mistral: {"message": str | {"detail": ...}, "code": int}; vLLM: a bare string
    if isinstance(value, dict):
        message = value.get("message", value)
        if isinstance(message, dict):
            message = message.get("detail", message)
        return message if isinstance(message, str) else json.dumps(message)
    return str(value)


# ------------------------------------------------------------------------------------- dialects


@dataclass(frozen=True)
class Dialect:
    """How one server kind names things on the realtime websocket.

    Client messages are built as dicts (``json.dumps`` them to send); events are parsed with
    :meth:`parse`, which never raises on an unknown type.
    """

    name: str
    path: str
    append_type: str
    delta_type: str
    delta_field: str
    model_in_query: bool

    # --- client -> server
    def url(self, base_url: str, model: str | None) -> str:
        """The websocket URL for *base_url* (http(s) or ws(s)), with the model where it belongs."""
        parts = urlsplit(base_url.rstrip("/"))
        scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
        if scheme is None or not parts.netloc:
            raise ParameterError(
                f"base_url must look like 'https://host' or 'ws://host:port', got {base_url!r}"
            )
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            path = path[: -len("/v1")]
        query = urlencode({"model": model}) if (model and self.model_in_query) else ""
        return urlunsplit((scheme, parts.netloc, path + self.path, query, ""))

    def configure(self, request: TranscriptionRequest) -> list[dict[str, Any]]:
        """The messages that set the session up, sent right after ``session.created``.

        *request* is resolved against the model (:mod:`voxnb.request`), so every setting it holds
        is one the model takes, and each one is sent before any audio: none is dropped
        (:meth:`~voxnb.request.TranscriptionRequest.session_update`: audio format, delay,
        ``context_bias``, ``language``, ``diarize``, ``speaker_references``, ``turn_detection``).
        """
        if self is VLLM:
            if not request.model:
                raise ParameterError(
                    "the vLLM dialect needs model= (the served model's name)", option="model"
                )
            # vLLM generates only after a (non-final) commit
            return [{"type": "session.update", "model": request.model}, {"type": "input_audio_buffer.commit"}]
        return [{"type": "session.update", "session": request.session_update()}]

    def append(self, pcm: bytes, *, width: int = SAMPLE_WIDTH) -> list[dict[str, Any]]:
        """Append messages for *pcm* (samples of *width* bytes), each carrying at most
        :data:`MAX_APPEND_BYTES` decoded."""
        return [
            {"type": self.append_type, "audio": base64.b64encode(piece).decode("ascii")}
            for piece in split_pcm(pcm, width=width)
        ]

    def finish(self) -> list[dict[str, Any]]:
        """The messages that end the audio: flush first so the last words are transcribed."""
        if self is VLLM:
            return [{"type": "input_audio_buffer.commit", "final": True}]
        return [{"type": "input_audio.flush"}, {"type": "input_audio.end"}]

    # --- server -> client
    def parse(self, message: str | bytes | dict[str, Any]) -> Event:
        """Parse one server message into a typed event; unknown types become :class:`UnknownEvent`."""
        if isinstance(message, dict):
            data = message
        else:
            try:
                data = json.loads(message)
            except ValueError as exc:
                raise ResponseFormatError(
                    f"the realtime server sent a frame that is not JSON: {str(message)[:80]!r}"
                ) from exc
        if not isinstance(data, dict):
            raise ResponseFormatError(f"a realtime event must be a JSON object, got {type(data).__name__}")
        kind = data.get("type")
        if kind == "session.created":
            # vLLM puts id/created at the top level instead of a session object
            session = data.get("session") or {k: v for k, v in data.items() if k != "type"}
            return SessionCreated(raw=data, session=session)
        if kind == "session.updated":
            return SessionUpdated(raw=data, session=data.get("session") or {})
        if kind == self.delta_type:
            return TextDelta(raw=data, text=str(data.get(self.delta_field) or ""))
        if kind == "transcription.language":
            return Language(raw=data, language=data.get("audio_language"))
        if kind == "transcription.segment":
            return SegmentEvent(
                raw=data,
                text=str(data.get("text") or ""),
                start=data.get("start"),
                end=data.get("end"),
                speaker_id=data.get("speaker_id"),
            )
        if kind == "transcription.done":
            return Done(raw=data, response={k: v for k, v in data.items() if k != "type"})
        if kind == "error":
            error = data.get("error", data)
            code = error.get("code") if isinstance(error, dict) else data.get("code")
            return ErrorEvent(raw=data, message=_error_message(error), code=code)
        if isinstance(kind, str) and kind.startswith("turn.") and kind[5:] in TURN_PHASES:
            time_s = data.get("time_s")
            return TurnEvent(
                raw=data,
                phase=kind[5:],
                time_s=float(time_s) if isinstance(time_s, (int, float)) else None,
                end_reason=data.get("end_reason"),
            )
        return UnknownEvent(raw=data, type_name=str(kind))

    # --- server side (the ``voxnb serve`` endpoint speaks the same dialects)
    def event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Render an engine event (Mistral's shape) in this dialect; None when it has no equivalent."""
        kind = event.get("type")
        if self is MISTRAL or kind == "error":
            return event
        if kind == "transcription.text.delta":
            return {"type": "transcription.delta", "delta": event.get("text", "")}
        if kind == "transcription.done":
            return {
                "type": "transcription.done",
                "text": event.get("text", ""),
                "usage": event.get("usage") or {},
            }
        return None

    def error(self, message: str, code: str) -> dict[str, Any]:
        """An ``error`` event in this dialect's shape.

        vLLM names the error in ``code``; Mistral's ``code`` is an integer (``mistralai``'s
        ``RealtimeTranscriptionErrorDetail``), for which voxnb uses the HTTP status the same
        refusal would get (:data:`ERROR_CODES`).
        """
        if self is VLLM:
            return {"type": "error", "error": message, "code": code}
        return {"type": "error", "error": {"message": message, "code": ERROR_CODES.get(code, 400)}}


#: the integer codes of ``voxnb serve``'s errors in Mistral's dialect: HTTP statuses of the same refusals
ERROR_CODES = {
    "invalid_json": 400,
    "invalid_event": 400,
    "unknown_event": 400,
    "invalid_audio": 400,
    "model_not_validated": 400,
    "session_locked": 409,
    "audio_too_large": 413,
    "invalid_request": 422,
    "unsupported_audio_format": 422,
    "engine_error": 500,
}


def split_pcm(pcm: bytes, limit: int = MAX_APPEND_BYTES, *, width: int = SAMPLE_WIDTH) -> list[bytes]:
    """Split *pcm* into pieces of at most *limit* bytes on boundaries of *width*-byte samples (empty → [])."""
    if len(pcm) % width:
        raise ParameterError(
            f"the audio must hold whole {8 * width}-bit samples; got {len(pcm)} bytes, not a multiple of {width}"
        )
    limit -= limit % width
    view = memoryview(pcm)
    return [bytes(view[i : i + limit]) for i in range(0, len(pcm), limit)]


MISTRAL = Dialect(
    name="mistral",
    path="/v1/audio/transcriptions/realtime",
    append_type="input_audio.append",
    delta_type="transcription.text.delta",
    delta_field="text",
    model_in_query=True,
)
VLLM = Dialect(
    name="vllm",
    path="/v1/realtime",
    append_type="input_audio_buffer.append",
    delta_type="transcription.delta",
    delta_field="delta",
    model_in_query=False,
)
#: dialect names accepted by ``dialect=`` (``"openai"`` is the HTTP client's name for vLLM)
DIALECTS = {"mistral": MISTRAL, "vllm": VLLM, "openai": VLLM}


def get_dialect(dialect: str | Dialect) -> Dialect:
    """The :class:`Dialect` named *dialect* (``"mistral"``, ``"vllm"`` or ``"openai"``)."""
    if isinstance(dialect, Dialect):
        return dialect
    try:
        return DIALECTS[str(dialect).lower()]
    except KeyError:
        raise ParameterError(f"unknown realtime dialect {dialect!r}; use one of {sorted(DIALECTS)}") from None
