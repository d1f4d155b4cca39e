"""Running ``voxnb serve`` for tests, benchmarks and notebooks: in a thread or as a subprocess."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from voxnb.errors import EngineError, ParameterError
from voxnb.serve.faults import RequestRecorder
from voxnb.serve.limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE, uvicorn_config

__all__ = ["ServerProcess", "ServerThread"]


class ServerThread:
    """Run an app with uvicorn in a background thread on a free port (for tests and benchmarks).

    Examples
    --------
    >>> from voxnb.local.fake import FakeEngine
    >>> with ServerThread(create_app(FakeEngine())) as server:  # doctest: +SKIP
    ...     client = voxnb.Client(base_url=server.url)
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
    ):
        if not callable(app):
            raise ParameterError(f"ServerThread runs an ASGI app (voxnb.serve.create_app(...)); got {app!r}")
        self.app = app
        self.host = host
        self._port = port
        self.log_level = log_level
        self.header_timeout = header_timeout
        self.keep_alive = keep_alive
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
        config = uvicorn_config(
            self.app,
            header_timeout=self.header_timeout,
            keep_alive=self.keep_alive,
            log_level=self.log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
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
    port : int, optional
        The port (a free one by default); :meth:`restart` keeps it.
    args : list of str, optional
        More command-line options (``["--header-timeout", "2"]``).

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
        port: int | None = None,
        args: list[str] | None = None,
    ):
        self.engine = engine
        self.faults = faults
        self.dialect = dialect
        self.port = port
        self.args = list(args or [])
        self._api_key = api_key
        self.startup_timeout = startup_timeout
        self.url = ""
        self.output = ""
        self._process: Any = None

    def start(self) -> ServerProcess:
        import os
        import subprocess
        import sys
        import tempfile

        import httpx

        if self.port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        port = self.port
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
        command += self.args
        env = {**os.environ, "VOXNB_SERVE_API_KEY": self._api_key or ""}
        # to a file, not a pipe: a chatty server (--log-level debug) would block on a full pipe
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - read and closed by stop()
        self._process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
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

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL: no close frames, no goodbyes), as a crash would."""
        self.stop(kill=True)

    def restart(self) -> ServerProcess:
        """Start the server again on the same port."""
        self.stop()
        return self.start()

    def stop(self, *, kill: bool = False) -> None:
        """Terminate the server (or kill it); what it printed is then in :attr:`output`."""
        import subprocess

        if self._process is not None:
            if self._process.poll() is None:
                if kill:
                    self._process.kill()
                else:
                    self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # stuck in shutdown: do not leave it running
                self._process.kill()
                self._process.wait()
            self._log.seek(0)
            self.output += self._log.read().decode("utf-8", "replace")
            self._log.close()
            self._process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
