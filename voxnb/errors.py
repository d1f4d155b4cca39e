"""The voxnb exception hierarchy.

Every error voxnb raises on purpose is a :class:`VoxnbError`. Each message says what was
wrong and what to do about it; tracebacks from deep inside httpx, librosa or the engine
are caught at the boundary and re-raised as one of these, chained with ``from``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = [
    "VoxnbError",
    "ParameterError",
    "ResponseFormatError",
    "AudioError",
    "MissingDependencyError",
    "EngineError",
    "APIError",
    "AuthenticationError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "RealtimeError",
]


class VoxnbError(Exception):
    """Base class of every error voxnb raises on purpose."""


def safe_repr(method: Callable[[Any], str]) -> Callable[[Any], str]:
    """Decorator for ``__repr__``: an object whose ``__init__`` refused an argument still has a repr.

    A traceback rendered with its frames' locals (IPython's verbose mode, ``pytest -l``, Sentry)
    calls repr() on ``self`` of the constructor that raised; that must describe it, not fail.
    """

    @functools.wraps(method)
    def wrapper(self: Any) -> str:
        try:
            return method(self)
        except AttributeError:
            return f"<{type(self).__name__}: not created>"

    return wrapper


class ParameterError(VoxnbError, ValueError):
    """A parameter is invalid, or the chosen model cannot honour it; raised before any request is sent.

    Attributes
    ----------
    option : str or None
        The option at fault (``"diarize"``, ``"context_bias"``...), when one is.
    unsupported : bool
        True when the value is valid but the model or protocol cannot honour it (``voxnb serve``
        answers those with 400, like Mistral's API; invalid values with 422).
    """

    def __init__(self, message: str = "", *, option: str | None = None, unsupported: bool = False):
        super().__init__(message)
        self.option = option
        self.unsupported = unsupported


class ResponseFormatError(VoxnbError, ValueError):
    """A response (or saved transcript) does not have the shape voxnb expects."""


class AudioError(VoxnbError, ValueError):
    """Audio could not be read, is empty, truncated or silent."""


class MissingDependencyError(VoxnbError, ImportError):
    """An optional dependency is needed for this feature and is not installed."""

    def __init__(self, package: str, extra: str | None, feature: str):
        self.package = package
        self.extra = extra
        target = f"'voxnb[{extra}]'" if extra else package
        super().__init__(
            f"{feature} needs the package {package!r}, which is not installed; "
            f"install it with: pip install {target}"
        )


class EngineError(VoxnbError):
    """The embedded offline engine failed or cannot do what was asked."""


class APIError(VoxnbError):
    """An HTTP error answered by a transcription server.

    Attributes
    ----------
    status : int or None
        The HTTP status code.
    message : str
        The server's message, flattened to text.
    request_id : str or None
        The server's request id, when it sent one; quote it to support.
    """

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None):
        self.status = status
        self.message = message
        self.request_id = request_id
        parts = [f"HTTP {status}" if status is not None else "request failed", message]
        if request_id:
            parts.append(f"(request id {request_id})")
        super().__init__(": ".join(parts[:2]) + (" " + parts[2] if len(parts) > 2 else ""))


class AuthenticationError(APIError):
    """401/403: the API key is missing, wrong or lacks permission."""


class RateLimitError(APIError):
    """429 after every retry was spent."""


class ServerError(APIError):
    """5xx after every retry was spent."""


class TransportError(VoxnbError):
    """The server could not be reached (connection refused, timeout, dropped stream)."""


class RealtimeError(VoxnbError):
    """A realtime session failed or the server sent an ``error`` event."""
