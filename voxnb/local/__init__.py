"""The embedded offline engine: faster-whisper, forced word alignment, offline speakers, streaming.

Every name is imported on first use (faster-whisper loads only when an engine is made).
"""

from __future__ import annotations

from voxnb._lazy import attach

_EXPORTS = {
    "Engine": "engine",
    "get_engine": "engine",
    "VoiceEncoder": "voice_encoder",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
