"""``voxnb serve``: Mistral's transcription protocol (HTTP, SSE, files, chat, realtime) over a local engine.

- :mod:`voxnb.serve.app`: the ASGI app and its HTTP routes;
- :mod:`voxnb.serve.realtime`: the realtime websocket routes (Mistral and vLLM dialects);
- :mod:`voxnb.serve.faults`: injected faults and the request recorder, for tests;
- :mod:`voxnb.serve.harness`: the server in a thread or a subprocess, for tests and benchmarks;
- :mod:`voxnb.serve.run`: the engine choice and the foreground server behind the command.

Every name is imported on first use (starlette and uvicorn load only when a server is made).
"""

from __future__ import annotations

from voxnb._lazy import attach

_EXPORTS = {
    "create_app": "app",
    "DEFAULT_MAX_BODY_BYTES": "app",
    "realtime_routes": "realtime",
    "FaultPlan": "faults",
    "RecordedRequest": "faults",
    "RequestRecorder": "faults",
    "ServerThread": "harness",
    "ServerProcess": "harness",
    "load_engine": "run",
    "serve": "run",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
