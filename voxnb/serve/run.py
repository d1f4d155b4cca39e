"""``voxnb serve`` in the foreground: choose the engine, build the app, run uvicorn."""

from __future__ import annotations

import logging
from typing import Any

from voxnb.errors import EngineError, ParameterError
from voxnb.serve.app import DEFAULT_MAX_BODY_BYTES, create_app

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
) -> None:
    """Run ``voxnb serve`` in the foreground until interrupted (what ``voxnb serve`` calls).

    Parameters are the command's options: see ``voxnb serve --help`` and :func:`create_app`.

    Examples
    --------
    >>> from voxnb.serve import serve
    >>> serve(port=8000, engine="fake", faults="429:0.1")  # doctest: +SKIP
    """
    import uvicorn

    if not _is_loopback(host) and not api_key:
        log.warning("serving on %s without --api-key: anyone who can reach this address can use it", host)
    engine_obj = load_engine(engine) if isinstance(engine, str) else engine
    app = create_app(
        engine_obj, api_key=api_key, faults=faults, max_body_bytes=max_body_bytes, dialect=dialect
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
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)
