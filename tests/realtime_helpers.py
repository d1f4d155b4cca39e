"""A TCP proxy for the realtime tests whose connections can be cut like a failing network."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit


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

    def accept(self) -> None:
        """Relay new connections again (after :meth:`refuse`): the server is back."""
        self._refusing = False

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
