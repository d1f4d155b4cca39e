"""Running ``voxnb serve`` for tests, benchmarks and notebooks: in a thread or as a subprocess."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from voxnb.errors import EngineError
from voxnb.serve.faults import RequestRecorder

__all__ = ["ServerProcess", "ServerThread"]


class ServerThread:
    """Run an app with uvicorn in a background thread on a free port (for tests and benchmarks).

    Examples
    --------
    >>> from voxnb.local.fake import FakeEngine
    >>> with ServerThread(create_app(FakeEngine())) as server:  # doctest: +SKIP
    ...     client = voxnb.Client(base_url=server.url)
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def recorder(self) -> RequestRecorder:
        return self.app.state.recorder

    def start(self) -> ServerThread:
        import uvicorn

        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
        # without it every response waits ~40 ms on Nagle + delayed ACK
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"voxnb-serve-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EngineError(f"voxnb serve did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class ServerProcess:
    """``python -m voxnb serve`` in a subprocess on a free loopback port, ready when entered.

    A process of its own, as a real server is (benchmarks measure the client without sharing
    its GIL). The key, if any, goes through the environment, not the command line.

    Parameters
    ----------
    engine : {"fake", "local", "auto"}
        The ``--engine``.
    faults : str, optional
        The ``--faults`` spec.
    api_key : str, optional
        Passed as ``$VOXNB_SERVE_API_KEY``.

    Examples
    --------
    >>> with ServerProcess(engine="fake", faults="latency:0.3") as server:  # doctest: +SKIP
    ...     voxnb.Client(base_url=server.url).transcribe("a.wav")
    """

    def __init__(
        self,
        *,
        engine: str = "fake",
        faults: str | None = None,
        api_key: str | None = None,
        dialect: str = "mistral",
        startup_timeout: float = 60.0,
    ):
        self.engine = engine
        self.faults = faults
        self.dialect = dialect
        self._api_key = api_key
        self.startup_timeout = startup_timeout
        self.url = ""
        self.output = ""
        self._process: Any = None

    def start(self) -> ServerProcess:
        import os
        import subprocess
        import sys

        import httpx

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "voxnb",
            "serve",
            "--port",
            str(port),
            "--engine",
            self.engine,
            "--log-level",
            "warning",
        ]
        if self.faults:
            command += ["--faults", self.faults]
        if self.dialect != "mistral":
            command += ["--dialect", self.dialect]
        env = {**os.environ, "VOXNB_SERVE_API_KEY": self._api_key or ""}
        self._process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                httpx.get(self.url + "/health", timeout=1)
                return self
            except httpx.TransportError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise EngineError(f"voxnb serve did not start: {self.output[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server; what it printed is then in :attr:`output`."""
        import subprocess

        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
            try:
                output = self._process.communicate(timeout=10)[0]
            except subprocess.TimeoutExpired:  # stuck in shutdown: do not leave it running
                self._process.kill()
                output = self._process.communicate()[0]
            self.output = output.decode("utf-8", "replace")
            self._process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
