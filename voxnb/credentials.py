"""Where a server is and which key it gets: the API key held as a secret, base URLs made safe.

``$MISTRAL_API_KEY`` is read here and nowhere else, and only ever sent to Mistral's own API: a
key for another server (``voxnb serve --api-key``, a vLLM started with ``--api-key``) is given
with ``api_key=``. The key lives in a :class:`Secret`, whose repr, str and pickle never show it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from voxnb.errors import ParameterError

__all__ = [
    "MISTRAL_BASE_URL",
    "AuthHeaders",
    "Secret",
    "api_key_for",
    "clean_base_url",
    "forget_locals",
    "install_log_redaction",
    "mistral_key_in_environment",
    "redact",
    "secret_api_key",
]

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
        problem = _key_problem(value)
        if problem:
            del value  # a traceback rendered with its locals must not show even a malformed key
            raise ParameterError(problem, option="api_key")
        self._value = value or None

    @classmethod
    def wrap(cls, value: str | Secret | None) -> Secret | None:
        """*value* as a Secret (None stays None: "not given"); entry points call it first thing.

        Every function that takes ``api_key=`` rebinds it at once (``api_key = Secret.wrap(api_key)``),
        so that no frame a traceback shows with its local variables holds the key itself.
        """
        if value is None or isinstance(value, Secret):
            return value
        return cls(value)

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

    def headers(self) -> AuthHeaders:
        """The ``Authorization`` header as a mapping that reveals the key only when it is read."""
        return AuthHeaders(self)


def secret_api_key(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the ``api_key=`` argument is a :class:`Secret` before *fn*'s first line runs.

    A traceback rendered with local variables (IPython's verbose mode, ``pytest -l``, Sentry)
    shows every frame's arguments; with this, no frame of an entry point holds the key itself,
    whatever fails below it. A malformed key is dropped from the arguments before the error.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("api_key") is not None:
            try:
                kwargs["api_key"] = Secret.wrap(kwargs["api_key"])
            except ParameterError:
                del kwargs["api_key"]
                raise
        return fn(*args, **kwargs)

    return wrapper


def _key_problem(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        return f"api_key must be a string (the key itself); got a {type(value).__name__}"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "api_key holds whitespace or control characters; paste the key alone"
    return ""


class AuthHeaders(Mapping):
    """``{"Authorization": "Bearer <key>"}`` built at the moment it is read, with a repr that hides it.

    What a websocket handshake takes as extra headers: the dict that would otherwise sit in the
    connecting frame's locals (and in tracebacks rendered with them) never exists.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: Secret):
        self._secret = secret

    def __getitem__(self, name: str) -> str:
        if name != "Authorization" or not self._secret:
            raise KeyError(name)
        return f"Bearer {self._secret.reveal()}"

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",) if self._secret else ())

    def __len__(self) -> int:
        return 1 if self._secret else 0

    def __repr__(self) -> str:
        return f"AuthHeaders({_HIDDEN if self._secret else 'no key'})"


def forget_locals(exc: BaseException | None) -> None:
    """Clear the local variables of the finished frames in *exc*'s tracebacks (its causes included).

    Errors from httpx, httpcore and websockets carry frames whose locals hold the request as it
    went out, Authorization header included (h11's request event, websockets' handshake headers);
    a traceback rendered with locals (IPython's verbose mode, ``pytest -l``, Sentry) would print
    it. The type, message and line numbers stay.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


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


# -- logs ---------------------------------------------------------------------------------------

# A header that carries a credential, as loggers print it: ``Authorization: Bearer x`` (websockets'
# debug log), ``(b'authorization', b'Bearer x')`` (an ASGI scope in uvicorn's trace log),
# ``'x-api-key': 'x'`` (a dict), ``Sec-WebSocket-Protocol: realtime, x`` (browsers' way to send the key).
_CREDENTIAL_HEADER = re.compile(
    r"""(?ix)
    (?P<name>authorization|proxy-authorization|x-api-key|api[-_]key|cookie|set-cookie)
    (?P<sep>['"]?\s*[:=,]\s*(?:(?-i:b)?['"])?)
    (?P<scheme>(?:bearer|basic|token)\s+)?
    (?P<value>[^\s'",)\]}]+)
    """
)
_SUBPROTOCOL_KEY = re.compile(r"""(?i)(realtime['"]?\s*,\s*(?:(?-i:b)?['"])?)([^\s'",)\]}]+)""")
_BEARER = re.compile(r"""(?i)(\bbearer\s+)([^\s'",)\]}]+)""")
_REDACTED = "<redacted>"


def redact(text: str, *secrets: Secret | str | None) -> str:
    """*text* with every credential a log line may carry replaced by ``<redacted>``.

    Header values after ``Authorization``, ``x-api-key``, ``Cookie`` (in the forms HTTP logs, ASGI
    scopes and dicts print them), the key browsers send as the second websocket subprotocol, and
    any of *secrets* wherever they appear.

    Examples
    --------
    >>> redact("> Authorization: Bearer sk-123")
    '> Authorization: Bearer <redacted>'
    >>> redact("[(b'x-api-key', b'sk-123')]")
    "[(b'x-api-key', b'<redacted>')]"
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and value in text:
            text = text.replace(value, _REDACTED)
    lowered = text.lower()
    if any(word in lowered for word in ("auth", "key", "cookie")):
        text = _CREDENTIAL_HEADER.sub(
            lambda m: (
                f"{m['name']}{m['sep']}{m['scheme'] or ''}{_REDACTED}" if m["value"] != _REDACTED else m[0]
            ),
            text,
        )
    if "bearer" in lowered:
        text = _BEARER.sub(lambda m: m[1] + _REDACTED, text)
    if "realtime" in lowered:
        text = _SUBPROTOCOL_KEY.sub(lambda m: m[1] + _REDACTED, text)
    return text


_installed: list[Any] = []


def install_log_redaction(*secrets: Secret | str | None) -> None:
    """Make every log record of this process pass through :func:`redact` (and hide *secrets*).

    ``voxnb serve`` calls it: uvicorn's and websockets' debug and trace logs print request headers
    and ASGI scopes, wrong keys included. A record that mentions no credential is left untouched;
    one that does has its message replaced by the redacted text. Installing again only adds the
    new secrets.
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value and value not in _installed:
            _installed.append(value)
    if getattr(logging.getLogRecordFactory(), "_voxnb_redacting", False):
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken log call is not ours to fix; leave it to the handler
            return record
        clean = redact(message, *_installed)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), *_installed)
        return record

    factory._voxnb_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
