"""Server-sent events of streaming transcription (``spec/mistral-api.md`` §3 and §9).

Mistral sends ``event:``/``data:`` frames typed ``transcription.language``,
``transcription.text.delta``, ``transcription.segment`` and ``transcription.done``, and no
``[DONE]`` sentinel. vLLM sends ``data:`` frames of ``transcription.chunk`` objects ending with
``data: [DONE]``. Both become the same typed events here; unknown types are skipped, as the
spec asks for forward compatibility.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from voxnb.errors import ResponseFormatError

__all__ = [
    "StreamEvent",
    "TranscriptionDone",
    "TranscriptionLanguage",
    "TranscriptionSegment",
    "TranscriptionTextDelta",
    "iter_sse",
    "parse_event",
]


@dataclass(frozen=True)
class TranscriptionLanguage:
    """The language the server detected (``transcription.language``)."""

    language: str


@dataclass(frozen=True)
class TranscriptionTextDelta:
    """A new piece of text (``transcription.text.delta``); concatenate them for the live text."""

    text: str


@dataclass(frozen=True)
class TranscriptionSegment:
    """A finished segment with its times (``transcription.segment``)."""

    text: str
    start: float
    end: float
    speaker_id: str | None = None


@dataclass(frozen=True)
class TranscriptionDone:
    """The whole response (``transcription.done``); the stream ends after it."""

    response: dict[str, Any] = field(repr=False)

    @property
    def text(self) -> str:
        return str(self.response.get("text", ""))


StreamEvent = TranscriptionLanguage | TranscriptionTextDelta | TranscriptionSegment | TranscriptionDone


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str | None, str]]:
    """``(event name, data)`` for every frame of an SSE line stream."""
    event: str | None = None
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


def parse_event(event: str | None, data: str) -> StreamEvent | None:
    """One typed event from an SSE frame, or None for frames voxnb does not use.

    A vLLM ``transcription.chunk`` becomes a :class:`TranscriptionTextDelta`; its final
    ``[DONE]`` frame is returned as None and handled by the caller.

    Examples
    --------
    >>> parse_event("transcription.text.delta", '{"type": "transcription.text.delta", "text": " Hi"}')
    TranscriptionTextDelta(text=' Hi')
    """
    if data.strip() == "[DONE]":
        return None
    try:
        payload = json.loads(data)
    except ValueError as err:
        raise ResponseFormatError(
            f"the server sent a stream frame that is not JSON ({data[:80]!r}); is base_url a Voxtral "
            "transcription server?"
        ) from err
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type") or payload.get("object") or event
    if kind == "transcription.language":
        return TranscriptionLanguage(str(payload.get("audio_language") or payload.get("language") or ""))
    if kind == "transcription.text.delta":
        return TranscriptionTextDelta(str(payload.get("text", "")))
    if kind == "transcription.segment":
        try:
            start, end = float(payload["start"]), float(payload["end"])
        except (KeyError, TypeError, ValueError) as err:
            raise ResponseFormatError(
                f"the server sent a transcription.segment without numeric start and end ({data[:80]!r}); "
                "use transcribe() instead of streaming, or report it to the server's maintainers"
            ) from err
        return TranscriptionSegment(
            text=str(payload.get("text", "")), start=start, end=end, speaker_id=payload.get("speaker_id")
        )
    if kind == "transcription.done":
        return TranscriptionDone(payload)
    if kind == "transcription.chunk":
        choices = payload.get("choices") or [{}]
        content = (choices[0].get("delta") or {}).get("content")
        return TranscriptionTextDelta(str(content)) if content else None
    return None
