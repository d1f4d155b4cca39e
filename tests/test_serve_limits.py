"""``voxnb serve`` is bounded: slow clients are cut off, memory stays flat, uploads have a quota,
and no log line of the server process shows a key, right or wrong.

The process tests start ``python -m voxnb serve`` (:class:`voxnb.serve.ServerProcess`) and talk
to it over raw sockets where a well-behaved client would not do what is tested.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

import voxnb
from voxnb.local.fake import FakeEngine
from voxnb.serve import ServerProcess, ServerThread, create_app
from voxnb.serve.app import DEFAULT_RECORDED


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def hold(port: int, *, dribble: bool, limit: float) -> bool:
    """Open a connection that sends a request head one byte at a time (or nothing): whether the
    server closed it before this client gave up after *limit* seconds."""
    head = b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 500
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.25)
        i = 0
        while time.monotonic() - began < limit:
            try:
                if dribble:
                    sock.send(head[i % len(head) : i % len(head) + 1])
                    i += 1
                if sock.recv(1024) == b"":
                    return True
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


@pytest.mark.slow
def test_twenty_slow_loris_connections_are_closed_in_time_while_others_are_served(tiny_wav):
    timeout = 2.0
    with ServerProcess(engine="fake", args=["--header-timeout", str(timeout)]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        # the clients give up before uvicorn's own 5 s idle timeout would close a silent one: only the
        # header timeout closes them all in time (a dribbled head of 500 bytes would take 2 minutes)
        closed: list[bool] = []
        threads = [
            threading.Thread(
                target=lambda d=(i % 2 == 0): closed.append(hold(port, dribble=d, limit=timeout + 2.5))
            )
            for i in range(20)
        ]
        for thread in threads:
            thread.start()
        answered, began = [], time.monotonic()
        with voxnb.Client(base_url=server.url, dialect="mistral") as client:
            while time.monotonic() - began < timeout + 1:
                answered.append(client.transcribe(tiny_wav(len(answered))).text)
        for thread in threads:
            thread.join()
    assert closed == [True] * 20  # cut off by the server, not held
    assert len(answered) >= 5 and all(answered)  # and the server answered all along


def test_a_stalled_body_is_answered_408_and_closed():
    with ServerThread(create_app(FakeEngine(), body_timeout=1.0)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(5)
            sock.sendall(
                b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                b"boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"
            )
            answer = b""
            while chunk := sock.recv(65536):  # a server that held the connection: TimeoutError
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 408") and b"no byte of the request body" in answer


def test_an_idle_keep_alive_connection_is_closed():
    with ServerThread(create_app(FakeEngine()), keep_alive=1.0) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(3)  # under uvicorn's own 5 s: a server that ignored keep_alive= times this out
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b"}"):  # the whole response: headers, then the JSON body
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            assert sock.recv(65536) == b""  # the server hung up


def test_the_default_recorder_keeps_only_the_latest_requests(tiny_wav):
    app = create_app(FakeEngine())
    with ServerThread(app) as server, httpx.Client() as client:
        for _ in range(DEFAULT_RECORDED + 20):
            client.get(server.url + "/v1/models").raise_for_status()
    assert len(app.state.recorder) == DEFAULT_RECORDED
    assert len(create_app(FakeEngine(), recorder=False).state.recorder.requests) == 0


def test_uploads_are_checked_and_limited_and_delete_frees_room(tiny_wav):
    with ServerThread(create_app(FakeEngine(), max_files=2, max_stored_bytes=10**6)) as server:
        url = server.url + "/v1/files"
        ids = [httpx.post(url, files={"file": ("a.wav", tiny_wav(i))}).json()["id"] for i in range(2)]
        full = httpx.post(url, files={"file": ("a.wav", tiny_wav(3))})
        assert full.status_code == 400 and "at most 2 files" in full.json()["message"]
        assert httpx.delete(f"{url}/{ids[0]}").json() == {"id": ids[0], "object": "file", "deleted": True}
        assert httpx.post(url, files={"file": ("a.wav", tiny_wav(3))}).status_code == 200
        big = httpx.post(url, files={"file": ("a.wav", tiny_wav(4, seconds=40.0))})  # 1.3 MB: over the bytes
        assert big.status_code == 400 and "MB" in big.json()["message"]
        batch = httpx.post(url, data={"purpose": "batch"}, files={"file": ("b.jsonl", b'{"a": 1}\n')})
        assert batch.status_code == 400  # still full: two files held


@pytest.mark.slow
def test_memory_stays_flat_over_2000_requests_with_100_bias_terms(tiny_wav):
    bias = [f"term_{i:03d}_with_some_length" for i in range(100)]
    with ServerProcess(engine="fake") as server, httpx.Client(timeout=30) as client:
        start = rss_mb(server.pid)
        for i in range(2000):
            answer = client.post(
                server.url + "/v1/audio/transcriptions",
                data={"model": "voxtral-mini-latest", "context_bias": bias},
                files={"file": ("a.wav", tiny_wav(i % 50, seconds=0.5))},
            )
            assert answer.status_code == 200
            if i == 99:
                warm = rss_mb(server.pid)
        end = rss_mb(server.pid)
    print(f"\nserver RSS: {start:.1f} MB at start, {warm:.1f} MB after 100 requests, {end:.1f} MB after 2000")
    assert end - start < 10 and end - warm < 3


def test_a_debug_logging_server_prints_no_key(guarded_api_key, tiny_wav):
    """``voxnb serve --log-level debug``: handshake headers, ASGI scopes and errors are logged,
    keys are not — the right one, a wrong one, in a header or as a websocket subprotocol."""
    from websockets.sync.client import connect

    wrong = "sk-wrong-" + guarded_api_key[::-1]
    with ServerProcess(engine="fake", api_key=guarded_api_key, args=["--log-level", "debug"]) as server:
        for key in (guarded_api_key, wrong):
            with voxnb.Client(base_url=server.url, api_key=key, dialect="mistral") as client:
                try:
                    client.transcribe(tiny_wav(1))
                except voxnb.AuthenticationError:
                    assert key == wrong
            ws = server.url.replace("http", "ws", 1) + "/v1/audio/transcriptions/realtime"
            for headers, protocols in (({"Authorization": f"Bearer {key}"}, None), ({}, ["realtime", key])):
                try:
                    with connect(ws, additional_headers=headers, subprotocols=protocols) as socket_:
                        socket_.recv(timeout=5)
                except Exception:  # the wrong key is refused at the handshake
                    assert key == wrong
    output = server.output
    assert (
        "authorization: Bearer <redacted>" in output and "realtime, <redacted>" in output
    )  # headers were logged
    assert guarded_api_key not in output and guarded_api_key[::-1] not in output
