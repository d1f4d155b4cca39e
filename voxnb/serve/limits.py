"""How ``voxnb serve`` stays bounded: time limits for slow clients, and the uvicorn settings.

uvicorn closes idle keep-alive connections but gives a request head all the time in the world:
a client that dribbles header bytes (slow loris), or opens a socket and sends nothing, holds a
connection forever. :func:`http_protocol` is uvicorn's h11 protocol with a deadline on every
request head; the body's pace is bounded in the app (see ``voxnb.serve.app``: no body byte for
``body_timeout`` seconds answers 408). :func:`uvicorn_config` is the one place both the command
and the test harness take their settings from.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from voxnb.errors import ParameterError

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_KEEP_ALIVE",
    "DEFAULT_LIMIT_CONCURRENCY",
    "check_seconds",
    "http_protocol",
    "uvicorn_config",
]

log = logging.getLogger("voxnb.serve")

#: seconds a client has to send a whole request head (from its first byte, or from connecting)
DEFAULT_HEADER_TIMEOUT = 10.0
#: seconds without a byte of a request body before the request is answered 408 and closed
DEFAULT_BODY_TIMEOUT = 30.0
#: seconds an idle keep-alive connection stays open
DEFAULT_KEEP_ALIVE = 5.0
#: connections and requests in progress at once; past it new requests are answered 503
DEFAULT_LIMIT_CONCURRENCY = 512


def check_seconds(name: str, value: Any) -> float:
    """*value* as a positive, finite number of seconds (a day at most), or a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86_400:
        raise ParameterError(f"{name} is in seconds, above 0 and at most a day; got {value!r}", option=name)
    return float(value)


def http_protocol(header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request head takes over *header_timeout* s.

    The clock starts when the connection opens, and again with the first byte of each later
    request on a kept-alive connection (uvicorn's keep-alive timer covers the wait before it).
    A websocket upgrade hands the connection over to the websocket protocol, timer cancelled.

    Examples
    --------
    >>> http_protocol(5.0).__name__
    'BoundedH11Protocol'
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    header_timeout = check_seconds("header_timeout", header_timeout)

    class BoundedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                if self._head_timer is None:  # the first bytes of a new request head
                    self._arm_head_timer()
            else:
                self._cancel_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._cancel_head_timer()  # the keep-alive timer watches the wait for the next request

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._cancel_head_timer()
            super().handle_websocket_upgrade(event)

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
                log.info("closing %s: no complete request head within %g s", client, header_timeout)
                self.transport.close()

    return BoundedH11Protocol


def uvicorn_config(
    app: Any,
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive: float = DEFAULT_KEEP_ALIVE,
    limit_concurrency: int | None = DEFAULT_LIMIT_CONCURRENCY,
    **settings: Any,
) -> Any:
    """A ``uvicorn.Config`` for *app* with voxnb serve's bounds; *settings* are passed through.

    Examples
    --------
    >>> from voxnb.local.fake import FakeEngine
    >>> from voxnb.serve import create_app
    >>> uvicorn_config(create_app(FakeEngine()), port=8001).timeout_keep_alive
    5
    """
    import uvicorn

    keep_alive = check_seconds("keep_alive", keep_alive)
    if limit_concurrency is not None and (
        isinstance(limit_concurrency, bool) or not isinstance(limit_concurrency, int) or limit_concurrency < 1
    ):
        raise ParameterError(
            f"limit_concurrency is a whole number of connections, at least 1; got {limit_concurrency!r}",
            option="limit_concurrency",
        )
    return uvicorn.Config(
        app,
        http=http_protocol(header_timeout),
        timeout_keep_alive=max(1, round(keep_alive)),
        limit_concurrency=limit_concurrency,
        h11_max_incomplete_event_size=16 * 1024,  # a request head larger than 16 KB is refused
        **settings,
    )
