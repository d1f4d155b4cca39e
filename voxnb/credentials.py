"""Where a server is and which key it gets: the API key held as a secret, base URLs made safe.

``$MISTRAL_API_KEY`` is read here and nowhere else, and only ever sent to Mistral's own API: a
key for another server (``voxnb serve --api-key``, a vLLM started with ``--api-key``) is given
with ``api_key=``. The key lives in a :class:`Secret`, whose repr, str and pickle never show it.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from voxnb.errors import ParameterError

__all__ = ["MISTRAL_BASE_URL", "Secret", "api_key_for", "clean_base_url", "mistral_key_in_environment"]

#: Mistral's API
MISTRAL_BASE_URL = "https://api.mistral.ai"
_HIDDEN = "<hidden>"


class Secret:
    """Holds the API key so that printing, logging or pickling the holder never shows it.

    Examples
    --------
    >>> key = Secret("sk-123")
    >>> key, str(key), bool(key), key.reveal()
    (<hidden>, '<hidden>', True, 'sk-123')
    >>> key.scrub("Bearer sk-123")
    'Bearer <hidden>'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        if value is not None and not isinstance(value, str):
            raise ParameterError(
                f"api_key must be a string (the key itself); got a {type(value).__name__}", option="api_key"
            )
        if value is not None and any(c.isspace() or not c.isprintable() for c in value):
            raise ParameterError(
                "api_key holds whitespace or control characters; paste the key alone", option="api_key"
            )
        self._value = value or None

    def __repr__(self) -> str:
        return _HIDDEN if self._value else "None"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return self._value is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not picklable; create the client again in the other process")

    def reveal(self) -> str | None:
        """The key itself, for the one place that sends it."""
        return self._value

    def scrub(self, text: str) -> str:
        """*text* with every occurrence of the key replaced by ``<hidden>``."""
        return text.replace(self._value, _HIDDEN) if self._value and self._value in text else text


def mistral_key_in_environment() -> bool:
    """Whether ``$MISTRAL_API_KEY`` is set (to something non-empty)."""
    return bool(os.environ.get("MISTRAL_API_KEY"))


def api_key_for(base_url: str | None, api_key: str | Secret | None = None) -> Secret:
    """The key to send to *base_url*: ``api_key=`` when given, else ``$MISTRAL_API_KEY`` for Mistral's API.

    Examples
    --------
    >>> bool(api_key_for("http://127.0.0.1:8000"))  # the environment's key stays with Mistral
    False
    >>> api_key_for("http://127.0.0.1:8000", "serve-key").reveal()
    'serve-key'
    """
    if isinstance(api_key, Secret):
        return api_key
    if api_key is not None:
        return Secret(api_key)
    if base_url is None or clean_base_url(base_url) == MISTRAL_BASE_URL:
        return Secret(os.environ.get("MISTRAL_API_KEY") or None)
    return Secret(None)


def clean_base_url(base_url: Any) -> str:
    """The base URL without credentials, query or trailing ``/v1`` (paths start with /v1).

    A refused URL is never echoed with its user info (it may hold a key).

    Examples
    --------
    >>> clean_base_url("http://127.0.0.1:8000/v1/")
    'http://127.0.0.1:8000'
    >>> clean_base_url("ftp://user:secret@host")
    Traceback (most recent call last):
    ...
    voxnb.errors.ParameterError: base_url must be an http(s) URL such as 'https://api.mistral.ai'; got 'ftp://host'
    """
    if not isinstance(base_url, str):
        raise ParameterError(
            f"base_url must be a URL string such as {MISTRAL_BASE_URL!r}; got a {type(base_url).__name__}",
            option="base_url",
        )
    try:
        parts = urlsplit(base_url.strip())
        hostname, port = parts.hostname, parts.port
    except ValueError:  # a port out of range, brackets that do not close...
        parts, hostname, port = None, None, None
    if parts is None or parts.scheme not in ("http", "https") or not hostname:
        raise ParameterError(
            f"base_url must be an http(s) URL such as {MISTRAL_BASE_URL!r}; got {_without_credentials(base_url)!r}",
            option="base_url",
        )
    netloc = hostname if ":" not in hostname else f"[{hostname}]"
    if port:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _without_credentials(url: str) -> str:
    head, sep, rest = url.partition("://")
    if not sep:
        return url[:80]
    netloc, slash, path = rest.partition("/")
    netloc = netloc.rpartition("@")[2]
    return f"{head}://{netloc}{slash}{path}"[:80]
