"""What an engine behind ``voxnb serve`` (and the ``local`` backend) must provide.

Engines answer in Mistral's shapes (``spec/mistral-api.md`` §2–§4) so that the server can send
their output verbatim and :meth:`voxnb.Transcript.from_response` needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TranscriptionEngine(Protocol):
    #: the model name reported in responses; says honestly what produced the text
    model: str
    #: whether :meth:`chat` can answer prompts about audio
    can_chat: bool

    def transcribe(
        self,
        samples: np.ndarray,
        *,
        timestamps: list[str] | None = None,
        diarize: bool = False,
        context_bias: list[str] | None = None,
        language: str | None = None,
        temperature: float | None = None,
        num_speakers: int | None = None,
    ) -> dict[str, Any]:
        """Transcribe float32 mono 16 kHz *samples* into a Mistral transcription response.

        Segments carry ``speaker_id`` when *diarize* is set; with ``"word"`` in *timestamps*
        each segment also carries a ``words`` list of ``{"text", "start", "end", "score"}``.
        """
        ...

    def stream(self, pcm_chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
        """Transcribe s16le mono 16 kHz chunks incrementally.

        Yields Mistral realtime events as dicts: ``transcription.text.delta`` (``text``) as text
        becomes stable, optionally ``transcription.segment``, and finally one
        ``transcription.done`` carrying a whole transcription response.
        """
        ...
