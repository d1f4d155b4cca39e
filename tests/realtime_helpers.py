"""Helpers for the realtime tests: the serve app on a free port, and a TCP proxy that can fail."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_app(engine: Any, api_key: str | None = None) -> Any:
    """``voxnb serve``'s app when it exists, else just its realtime routes."""
    try:
        from voxnb.local.server import create_app
    except ImportError:
        from starlette.applications import Starlette

        from voxnb.realtime.endpoint import realtime_routes

        return Starlette(routes=realtime_routes(engine, api_key=api_key))
    return create_app(engine, api_key=api_key)


@contextlib.contextmanager
def serve_app(engine: Any, *, api_key: str | None = None) -> Iterator[str]:
    """Run the app with uvicorn on 127.0.0.1 in a thread; yields its http:// base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(engine, api_key), host="127.0.0.1", port=port,
                                           log_level="warning", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class TcpProxy:
    """A TCP relay to *upstream* whose connections can be cut abruptly (no close frame)."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.connections = 0
        self._transports: list[asyncio.WriteTransport] = []
        self._refusing = False
        self._server: asyncio.base_events.Server | None = None
        self.url = ""

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.cut()
        self._server.close()

    def cut(self) -> None:
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    def refuse(self) -> None:
        self._refusing = True

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._transports += [writer.transport, up_writer.transport]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
