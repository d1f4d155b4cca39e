"""HTTP error responses → typed :class:`~voxnb.errors.VoxnbError` s.

Error bodies are parsed loosely (``spec/mistral-api.md`` §7): Mistral's gateway sends
``{"object": "error", "message": str | {"detail": [...]}, ...}``, older gateways
``{"message": ..., "request_id": ...}``, FastAPI ``{"detail": str | [...]}`` and vLLM
``{"error": {"message": ...}}``. Whatever the shape, the error carries the status, the
server's message flattened to text, and the request id.
"""

from __future__ import annotations

import json
from typing import Any

from voxnb.errors import APIError, AuthenticationError, RateLimitError, ServerError

__all__ = ["api_error", "error_message", "request_id_of"]

_REQUEST_ID_HEADERS = ("x-request-id", "mistral-correlation-id", "request-id", "x-kong-request-id")
_MAX_MESSAGE = 2000


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc") or [] if x != "body")
                msg = str(item.get("msg") or item.get("message") or item)
                parts.append(f"{loc}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _flatten_message(message: Any) -> str:
    if isinstance(message, dict):
        if "detail" in message:
            return _flatten_detail(message["detail"])
        if "message" in message:
            return _flatten_message(message["message"])
        return json.dumps(message, ensure_ascii=False)
    if isinstance(message, list):
        return _flatten_detail(message)
    return str(message)


def error_message(body: Any, *, fallback: str) -> str:
    """The human message inside an error body of any known shape."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if body.get(key) not in (None, "", [], {}):
                text = _flatten_message(body[key])
                return text[:_MAX_MESSAGE]
    if isinstance(body, str) and body.strip():
        return body.strip()[:_MAX_MESSAGE]
    return fallback


def request_id_of(headers: Any, body: Any = None) -> str | None:
    """The server's request id, from a response header or the error body."""
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name) if headers is not None else None
        if value:
            return str(value)
    if isinstance(body, dict) and body.get("request_id"):
        return str(body["request_id"])
    return None


def api_error(status: int, content: bytes, headers: Any, *, what: str) -> APIError:
    """Build the typed error for an HTTP error response.

    Parameters
    ----------
    status : int
        The HTTP status code (>= 400).
    content : bytes
        The response body.
    headers : mapping
        The response headers (case-insensitive lookup, as httpx gives them).
    what : str
        What was being done, e.g. ``"POST /v1/audio/transcriptions"``.

    Examples
    --------
    >>> err = api_error(429, b'{"message": "Too many requests"}', {"x-request-id": "r1"}, what="POST /v1/x")
    >>> type(err).__name__, err.status, err.request_id
    ('RateLimitError', 429, 'r1')
    """
    try:
        body: Any = json.loads(content) if content else None
    except ValueError:
        body = content.decode("utf-8", "replace")
    message = error_message(body, fallback=f"{what} failed with no message from the server")
    request_id = request_id_of(headers, body)
    if status in (401, 403):
        return AuthenticationError(
            f"{message}. The server refused the API key for {what}. The key comes from api_key= or "
            "the MISTRAL_API_KEY environment variable; check that it is set, current and allowed "
            "to use this model (console.mistral.ai → API keys), or that it matches `voxnb serve "
            "--api-key` for a local server",
            status=status,
            request_id=request_id,
        )
    if status == 429:
        return RateLimitError(
            f"{message}. Rate limited on {what} after every retry; lower concurrency= or wait a "
            "minute and run again (finished items are cached)",
            status=status,
            request_id=request_id,
        )
    if status >= 500:
        return ServerError(
            f"{message}. The server failed on {what} after every retry; try again later",
            status=status,
            request_id=request_id,
        )
    return APIError(f"{message} ({what})", status=status, request_id=request_id)
