"""Realtime transcription: protocol (Mistral and vLLM dialects), sessions, the recorder widget.

Names are imported on first use, so ``import voxnb.realtime`` loads neither websockets nor
anywidget.
"""

from __future__ import annotations

from voxnb._lazy import attach

_EXPORTS = {
    "RealtimeSession": "session",
    "transcribe_realtime": "live",
    "LiveTranscription": "live",
    "microphone": "live",
    "Recorder": "recorder",
    "protocol": "",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
