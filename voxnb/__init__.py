"""voxnb: speech transcription as data in Jupyter.

Audio goes in, a :class:`Transcript` comes out (from Mistral's Voxtral API, a self-hosted vLLM
serving Voxtral, or the embedded offline engine), and from it pandas DataFrames, plots aligned
with the audio, exports and context_bias metrics.

Every public name is imported on first use, so ``import voxnb`` loads no heavy library.
"""

from __future__ import annotations

from voxnb._lazy import attach

__version__ = "0.1.0"

# public name -> submodule that defines it ("" = the submodule itself)
_EXPORTS = {
    # errors
    "VoxnbError": "errors",
    "ParameterError": "errors",
    "ResponseFormatError": "errors",
    "AudioError": "errors",
    "MissingDependencyError": "errors",
    "EngineError": "errors",
    "APIError": "errors",
    "AuthenticationError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "TransportError": "errors",
    "RealtimeError": "errors",
    "Audio": "audio",
    # the result type
    "Transcript": "transcript",
    "load_transcript": "transcript",
    "concat": "transcript",
    "diff": "differences",
    # talking to Voxtral over HTTP
    "Client": "api.client",
    "AsyncClient": "api.client",
    "bias_terms": "request",
    # realtime
    "transcribe_realtime": "realtime.live",
    "RealtimeSession": "realtime.session",
    "Recorder": "realtime.recorder",
    # one call, any backend; word times from the audio
    "transcribe": "backend",
    "transcribe_many": "backend",
    "align": "local.align",
    # settings
    "set_options": "config",
    "get_option": "config",
    "align_many": "backend",
    # submodules
    "errors": "",
    "plot": "",
    "display": "",
    "bias": "",
    "data": "",
    "local": "",
    "realtime": "",
    "serve": "",
    "models": "",
    "request": "",
    "config": "",
    "corpus": "",
    "cluster": "",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
