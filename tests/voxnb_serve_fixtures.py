"""Fixtures for tests that talk HTTP to ``voxnb serve``, and the suite-wide API-key leak guard.

Imported into ``conftest.py``. ``voxnb_server`` is a session-wide server (deterministic
engine, no key) yielding its base URL; ``start_voxnb_server`` starts servers with their own
options (key, faults, engine) for one test. Both listen on a free 127.0.0.1 port in a thread:
real sockets, real HTTP.

``TEST_API_KEY`` is random per session. When the session ends, ``_api_key_never_leaks`` fails
it if that key appears in any file written during the suite (its temporary directories, the
transcription cache, the working tree), in any log record, or in any test report (captured
output, logs, exception text).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "TEST_API_KEY",
    "InFlight",
    "_api_key_never_leaks",
    "guarded_api_key",
    "pytest_runtest_logreport",
    "start_voxnb_server",
    "tiny_wav",
    "voxnb_server",
]

TEST_API_KEY = f"voxnb-test-key-{secrets.token_hex(12)}"
_REPO = Path(__file__).resolve().parent.parent
_LEAKS: list[str] = []


class _KeyWatcher(logging.Handler):
    """Flags every log record whose message mentions the test key."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken log call is not this guard's business
            return
        if TEST_API_KEY in text or TEST_API_KEY in str(record.exc_text or ""):
            _LEAKS.append(f"log record from {record.name}: {text[:200].replace(TEST_API_KEY, '<KEY>')}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [report.longreprtext] + [content for _, content in report.sections]
    if any(TEST_API_KEY in text for text in texts):
        _LEAKS.append(f"test report of {report.nodeid} ({report.when})")


def _files_containing_key(roots: list[Path], since: float) -> list[str]:
    needle = TEST_API_KEY.encode()
    found = []
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = [d for d in subdirs if d not in (".git", ".venv", "node_modules")]
            for name in files:
                path = Path(directory, name)
                try:
                    stat = path.stat()
                    if stat.st_mtime >= since and stat.st_size <= 50 * 2**20 and needle in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    continue
    return found


@pytest.fixture(scope="session", autouse=True)
def _api_key_never_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    started = time.time() - 1
    cache_dir = tmp_path_factory.mktemp("voxnb-cache")
    previous_cache = os.environ.get("VOXNB_CACHE_DIR")
    os.environ["VOXNB_CACHE_DIR"] = str(cache_dir)  # tests never write the user's real cache
    watcher = _KeyWatcher(level=logging.DEBUG)
    logging.getLogger().addHandler(watcher)
    raised = {name: logging.getLogger(name).level for name in ("voxnb.api", "voxnb.serve", "httpx")}
    for name in raised:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in raised.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().removeHandler(watcher)
    if previous_cache is None:
        os.environ.pop("VOXNB_CACHE_DIR", None)
    else:
        os.environ["VOXNB_CACHE_DIR"] = previous_cache
    leaks = _LEAKS + [
        f"file {p}"
        for p in _files_containing_key([tmp_path_factory.getbasetemp(), cache_dir, _REPO], started)
    ]
    assert not leaks, "the test API key leaked into:\n" + "\n".join(leaks[:20])


@pytest.fixture(scope="session")
def guarded_api_key() -> str:
    """The session's API key for tests (random; guarded against leaks)."""
    return TEST_API_KEY


@pytest.fixture(scope="session")
def voxnb_server() -> Iterator[str]:
    """Base URL of a session-wide ``voxnb serve`` (deterministic engine, no key) on 127.0.0.1."""
    from voxnb.local.fake import FakeEngine
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    with ServerThread(create_app(FakeEngine(), recorder=RequestRecorder())) as server:
        yield server.url


@pytest.fixture
def start_voxnb_server() -> Iterator[Callable[..., Any]]:
    """Start ``voxnb serve`` apps for one test: ``start(engine=None, **create_app_options)``.

    Returns the running :class:`voxnb.serve.ServerThread` (``.url``, ``.recorder``,
    ``.app``); every server started is stopped after the test. Its recorder keeps every request
    (tests count them), unless ``recorder=`` says otherwise.
    """
    from voxnb.local.fake import FakeEngine
    from voxnb.serve import RequestRecorder, ServerThread, create_app

    servers: list[ServerThread] = []

    def start(engine: Any = None, **options: Any) -> ServerThread:
        options.setdefault("recorder", RequestRecorder())
        server = ServerThread(create_app(engine if engine is not None else FakeEngine(), **options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class InFlight:
    """ASGI middleware: how many transcription requests the server handled, and the most at once."""

    def __init__(self, app: Any):
        self.app = app
        self.now = self.most = self.total = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/audio/transcriptions":
            return await self.app(scope, receive, send)
        self.now += 1
        self.total += 1
        self.most = max(self.most, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def make_tiny_wav(seed: int, seconds: float = 0.05) -> bytes:
    """A short 16 kHz WAV of noise, different for every seed (the fake engine's text differs too)."""
    import numpy as np

    from voxnb.audio import Audio

    rng = np.random.default_rng(seed)
    return Audio.from_array(rng.uniform(-0.4, 0.4, int(16000 * seconds)).astype("float32"), 16000).to_wav()


@pytest.fixture(scope="session")
def tiny_wav() -> Callable[..., bytes]:
    """``tiny_wav(seed, seconds=0.05)`` → WAV bytes of distinct noise."""
    return make_tiny_wav
