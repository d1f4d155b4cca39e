"""``voxnb serve`` in the foreground: choose the engine, build the app, run uvicorn."""

from __future__ import annotations

import logging
from typing import Any

from voxnb.credentials import secret_api_key
from voxnb.errors import EngineError, ParameterError
from voxnb.serve.app import DEFAULT_MAX_BODY_BYTES, create_app
from voxnb.serve.limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE,
    check_seconds,
    uvicorn_config,
)

__all__ = ["load_engine", "serve"]

log = logging.getLogger("voxnb.serve")


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def load_engine(name: str = "auto") -> Any:
    """The engine for ``--engine``: ``local`` (offline faster-whisper), ``fake`` or ``auto``.

    ``auto`` takes the local engine when it can be loaded and the deterministic fake engine
    otherwise, and logs which one answers.

    Examples
    --------
    >>> load_engine("fake").model
    'voxnb-deterministic-test-engine'
    """
    if name not in ("auto", "local", "fake"):
        raise ParameterError(f"engine must be 'auto', 'local' or 'fake'; got {name!r}")
    if name in ("auto", "local"):
        try:
            from voxnb.local.engine import get_engine

            engine = get_engine()  # shared with in-process users of the local backend
        except Exception as err:
            if name == "local":
                raise EngineError(
                    f"the local engine could not be loaded ({type(err).__name__}: {err}); install it with "
                    "pip install 'voxnb[offline]', or run with --engine fake"
                ) from err
            log.warning(
                "local engine unavailable (%s: %s); answering with the deterministic fake engine",
                type(err).__name__,
                err,
            )
        else:
            log.info("engine: local (%s)", engine.model)
            return engine
    from voxnb.local.fake import FakeEngine

    fake = FakeEngine()
    log.info("engine: fake (%s) - deterministic code words, not speech recognition", fake.model)
    return fake


@secret_api_key
def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: str | Any = "auto",
    api_key: str | None = None,
    faults: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
    dialect: str = "mistral",
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    keep_alive: float = DEFAULT_KEEP_ALIVE,
) -> None:
    """Run ``voxnb serve`` in the foreground until interrupted (what ``voxnb serve`` calls).

    Parameters are the command's options: see ``voxnb serve --help``, :func:`create_app` and
    :func:`voxnb.serve.limits.uvicorn_config`. A slow client is cut off: a request head must
    arrive within *header_timeout* seconds, a body may not stall for *body_timeout*, and an idle
    keep-alive connection is closed after *keep_alive*.

    Examples
    --------
    >>> from voxnb.serve import serve
    >>> serve(port=8000, engine="fake", faults="429:0.1")  # doctest: +SKIP
    """
    import uvicorn

    if not isinstance(host, str) or not host:
        raise ParameterError(f"host must be an address such as '127.0.0.1'; got {host!r}", option="host")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError(f"port must be a whole number from 0 to 65535; got {port!r}", option="port")
    check_seconds("header_timeout", header_timeout)
    check_seconds("body_timeout", body_timeout)
    check_seconds("keep_alive", keep_alive)
    if log_level not in ("trace", "debug", "info", "warning", "error", "critical"):
        raise ParameterError(f"log_level must be debug, info, warning or error; got {log_level!r}")
    if not _is_loopback(host) and not api_key:
        log.warning("serving on %s without --api-key: anyone who can reach this address can use it", host)
    engine_obj = load_engine(engine) if isinstance(engine, str) else engine
    app = create_app(
        engine_obj,
        api_key=api_key,
        faults=faults,
        max_body_bytes=max_body_bytes,
        dialect=dialect,
        body_timeout=body_timeout,
    )
    log.info(
        "voxnb serve on http://%s:%d (%s dialect, model %s%s%s)",
        host,
        port,
        dialect,
        engine_obj.model,
        ", API key required" if api_key else "",
        f", faults {faults}" if faults else "",
    )
    config = uvicorn_config(
        app,
        header_timeout=header_timeout,
        keep_alive=keep_alive,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run()
