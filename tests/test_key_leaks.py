"""The key never leaks from a session's errors, even rendered with every frame's local variables.

One test runs a keyed session through every failure a user meets — HTTP 401/422/429/5xx, a
broken SSE stream, an unreachable server, a wrong key, argument errors raised with the key in
hand, realtime refusals, drops, a failed reconnection and a server error event — and renders each
error as IPython's verbose mode, ``pytest -l`` and Sentry would: ``traceback.TracebackException(...,
capture_locals=True)`` over the whole chain of causes and contexts (suppressed ones included), and
plainly. It greps those, the errors' reprs and attributes, the reprs of every object involved, every
file written (cache entries, saved transcripts, exports) and the DEBUG logs of httpx, httpcore,
websockets, uvicorn (at its trace level, which prints ASGI scopes) and voxnb, for the key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from realtime_helpers import TcpProxy

import voxnb
from voxnb.api.retry import RetryPolicy
from voxnb.local.fake import FakeEngine
from voxnb.realtime.session import RealtimeSession
from voxnb.serve import RequestRecorder, ServerThread, create_app

LOGGERS = (
    "httpx",
    "httpcore",
    "websockets",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "voxnb",
)
NO_RETRY = RetryPolicy(max_retries=1, initial_backoff=0.01, jitter=0)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.name}: {record.getMessage()}\n{record.exc_text or ''}")
        if record.exc_info and not record.exc_text:
            self.texts.append(logging.Formatter().formatException(record.exc_info))


def chain(exc: BaseException) -> list[BaseException]:
    """The error and every cause and context, suppressed ones included."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
    return seen


def without_this_file(exc: BaseException) -> BaseException:
    """*exc* with the frames of this test module dropped from its traceback: they hold the key
    as a notebook cell that typed it would; what is checked is every frame below them."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return exc.with_traceback(tb)


def renderings(exc: BaseException) -> list[str]:
    texts = [repr(exc), str(exc), repr(exc.args), repr(vars(exc))]
    for e in chain(exc):
        without_this_file(e)
        texts.append("".join(traceback.format_exception(e)))
        texts.append("".join(traceback.TracebackException.from_exception(e, capture_locals=True).format()))
    return texts


def failing(call: Any) -> BaseException:
    try:
        call()
    except Exception as exc:  # every failure is what this test collects
        return exc
    raise AssertionError(f"{call} did not fail")


def test_a_canary_key_in_a_local_would_be_found(guarded_api_key):
    """The renderer sees locals: a frame holding the key is caught (the test below could fail)."""

    namespace: dict[str, Any] = {}
    exec(compile("def leaky(key):\n    raise ValueError('unrelated')\n", "<a library>", "exec"), namespace)
    texts = renderings(failing(lambda: namespace["leaky"](guarded_api_key)))
    assert any(guarded_api_key in t for t in texts)


def test_no_rendering_of_any_session_error_holds_the_key(guarded_api_key, tiny_wav, tmp_path):
    key = guarded_api_key
    capture = Capture()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    servers = {
        "ok": ServerThread(
            create_app(FakeEngine(), api_key=key, recorder=RequestRecorder()), log_level="trace"
        ),
        "422": ServerThread(create_app(FakeEngine(), api_key=key, faults="422:1"), log_level="trace"),
        "429": ServerThread(create_app(FakeEngine(), api_key=key, faults="429:1"), log_level="trace"),
        "500": ServerThread(create_app(FakeEngine(), api_key=key, faults="500:1"), log_level="trace"),
        "cut": ServerThread(create_app(FakeEngine(), api_key=key, faults="cut:1"), log_level="trace"),
    }
    for server in servers.values():
        server.start()
    for name in LOGGERS:  # after uvicorn configured its loggers (it replaces their handlers)
        logging.getLogger(name).setLevel(1)
        logging.getLogger(name).addHandler(capture)
    errors: list[BaseException] = []
    objects: list[Any] = []
    audio = tmp_path / "a.wav"
    audio.write_bytes(tiny_wav(3, seconds=1.0))
    try:
        ok = servers["ok"].url

        def client(url: str, **options: Any) -> voxnb.Client:
            made = voxnb.Client(base_url=url, api_key=key, dialect="mistral", retry=NO_RETRY, **options)
            objects.append(made)
            return made

        # what works, so that logs of successful requests are grepped too
        with client(ok) as c:
            objects.append(c.transcribe(audio, timestamps="segment"))
            objects.append(list(c.transcribe_stream(audio))[-1])
            objects.append(c.transcribe_many({"a": audio}, cache=tmp_path / "cache", progress=False))
            file_id = c.upload(audio)
            objects.append(c.signed_url(file_id))
            objects.append(c.chat(audio, "who speaks?"))
            errors.append(failing(lambda: c.signed_url("no-such-file")))  # 404
        for status in ("422", "429", "500"):
            with client(servers[status].url) as c:
                errors.append(failing(lambda c=c: c.transcribe(audio)))
        with client(servers["cut"].url) as c:
            errors.append(failing(lambda: list(c.transcribe_stream(audio))))
        with voxnb.Client(base_url=ok, api_key="sk-wrong-" + key[::-1], retry=NO_RETRY) as wrong:
            errors.append(failing(lambda: wrong.transcribe(audio)))
        with client("http://127.0.0.1:9", connect_timeout=2) as down:
            errors.append(failing(lambda: down.transcribe(audio)))
        # the key in hand while something else is wrong
        errors.append(failing(lambda: voxnb.Client(api_key=key, timeout="soon")))
        errors.append(failing(lambda: voxnb.Client(api_key=key, base_url="ftp://x")))
        errors.append(failing(lambda: voxnb.transcribe(tmp_path / "missing.wav", api_key=key, base_url=ok)))
        errors.append(failing(lambda: voxnb.transcribe(audio, api_key=key, base_url=ok, language="english")))
        errors.append(failing(lambda: RealtimeSession(ok, api_key=key, reconnect_timeout=0)))
        errors.append(failing(lambda: voxnb.serve.create_app(FakeEngine(), api_key=key, dialect="grpc")))
        errors.append(failing(lambda: voxnb.transcribe_realtime(audio, base_url=ok, api_key=key, speed=0)))
        errors += asyncio.run(realtime_failures(ok, key, objects))
        t = objects[1]
        t.save(tmp_path / "t.json")
        t.to_srt(tmp_path / "t.srt")
        t.to_seglst(tmp_path / "t.seglst.json")
        objects += [servers["ok"].recorder.requests, repr(servers["ok"].app.state.files)]
    finally:
        for name, level in levels.items():
            logging.getLogger(name).removeHandler(capture)
            logging.getLogger(name).setLevel(level)
        for server in servers.values():
            server.stop()

    kinds = {type(e).__name__ for e in errors}
    assert {"AuthenticationError", "APIError", "RateLimitError", "ServerError", "TransportError",
            "ParameterError", "AudioError", "RealtimeError"} <= kinds, kinds  # fmt: skip
    texts = [text for e in errors for text in renderings(e)]
    texts += [repr(o) for o in objects] + [json.dumps(o.to_dict()) for o in objects if hasattr(o, "to_dict")]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in Path(tmp_path).rglob("*") if p.is_file()]
    texts += capture.texts
    assert any("capture_locals" not in t and "Traceback" in t for t in texts)  # the renderings are there
    assert any("Bearer <redacted>" in t for t in capture.texts)  # the handshake and scopes were logged
    assert sum(1 for t in capture.texts if t.startswith(("uvicorn", "httpcore", "websockets"))) > 20
    print(f"\nleak test: {len(errors)} errors ({len(kinds)} kinds), {len(texts)} texts grepped "
          f"({len(capture.texts)} log records)")  # fmt: skip
    places = [
        t[max(0, t.index(key) - 600) : t.index(key) + 100].replace(key, "<KEY>") for t in texts if key in t
    ]
    assert places == [], f"the key appears in {len(places)} of {len(texts)} texts:\n" + "\n-----\n".join(
        places
    )


async def realtime_failures(url: str, key: str, objects: list[Any]) -> list[BaseException]:
    """Realtime: a take through a dropped connection, then each way a take fails."""
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, 16000 * 2).astype("float32")
    pcm = voxnb.Audio.from_array(noise, 16000).to_pcm16()
    errors: list[BaseException] = []

    async def attempt(make: Any) -> None:
        try:
            await make()
        except Exception as exc:  # collected
            errors.append(exc)

    async with TcpProxy(url) as proxy:
        session = RealtimeSession(proxy.url, api_key=key)
        objects.append(session)
        await session.connect()
        await session.send_audio(pcm[:32000])
        proxy.cut()
        await session.send_audio(pcm[32000:])
        objects.append(await session.finish())
        assert session.gaps  # the drop was ridden out

    async def wrong_key() -> None:
        async with RealtimeSession(url, api_key="sk-wrong-" + key[::-1]):
            pass

    async def unreachable() -> None:
        async with RealtimeSession("http://127.0.0.1:9", api_key=key, open_timeout=2):
            pass

    async def gone_for_good() -> None:
        async with TcpProxy(url) as proxy:
            session = RealtimeSession(proxy.url, api_key=key, reconnect_timeout=1.0)
            await session.connect()
            await session.send_audio(pcm[:16000])
            proxy.refuse()
            proxy.cut()
            await asyncio.sleep(0.2)
            await session.send_audio(pcm[16000:32000])
            await session.finish()

    async def server_error() -> None:
        async with RealtimeSession(url, api_key=key) as session:
            await session._transport.send({"type": "input_audio.append", "audio": "%%%"})
            async for _ in session.events():
                pass

    async def not_a_websocket() -> None:  # the right key, refused at the handshake (HTTP 403/404)
        async with RealtimeSession(url + "/no/such/route", api_key=key):
            pass

    for make in (wrong_key, unreachable, gone_for_good, server_error, not_a_websocket):
        await attempt(make)
    return errors
