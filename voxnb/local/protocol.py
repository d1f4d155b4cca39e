"""What an engine behind ``voxnb serve`` (and the ``local`` backend) must provide.

Engines answer in Mistral's shapes (``spec/mistral-api.md`` §2–§4) so that the server can send
their output verbatim and :meth:`voxnb.Transcript.from_response` needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from voxnb.models import ModelCapabilities


@runtime_checkable
class TranscriptionEngine(Protocol):
    #: the model name reported in responses; says honestly what produced the text
    model: str
    #: whether :meth:`chat` can answer prompts about audio
    can_chat: bool

    @property
    def capabilities(self) -> ModelCapabilities:
        """What the engine can do (``voxnb.models.engine_capabilities``); requests are checked against it."""
        ...

    @property
    def stream_capabilities(self) -> ModelCapabilities:
        """What :meth:`stream` can do; realtime sessions are checked against it."""
        ...

    def transcribe(self, samples: np.ndarray, **options: Any) -> dict[str, Any]:
        """Transcribe float32 mono 16 kHz *samples* into a Mistral transcription response.

        *options* are the keywords of :meth:`voxnb.request.TranscriptionRequest.engine_options`
        (``timestamps``, ``diarize``, ``context_bias``, ``language``, ``temperature``,
        ``num_speakers``), checked with ``TranscriptionRequest.create(**options).resolve(self.capabilities)``.

        Segments carry ``speaker_id`` when *diarize* is set; with ``"word"`` in *timestamps*
        each segment also carries a ``words`` list of ``{"text", "start", "end", "score"}``.
        """
        ...

    def stream(self, pcm_chunks: Iterable[bytes], **options: Any) -> Iterator[dict[str, Any]]:
        """Transcribe s16le mono 16 kHz chunks incrementally.

        *options* are ``context_bias`` and ``language`` when :attr:`stream_capabilities` allows them.

        Yields Mistral realtime events as dicts: ``transcription.text.delta`` (``text``) as text
        becomes stable, optionally ``transcription.segment``, and finally one
        ``transcription.done`` carrying a whole transcription response.
        """
        ...
