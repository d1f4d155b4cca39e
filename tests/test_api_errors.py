"""HTTP errors → typed VoxnbErrors, and what is retried (over real sockets to `voxnb serve`)."""

from __future__ import annotations

import gc
import socket
import threading

import httpx
import pytest

import voxnb
from voxnb.api.errors import api_error
from voxnb.api.retry import RetryPolicy

FAST = RetryPolicy(max_retries=3, initial_backoff=0.001, jitter=0.0)


def client_for(server, **options):
    options.setdefault("retry", FAST)
    return voxnb.Client(base_url=server.url, dialect="mistral", **options)


@pytest.mark.parametrize(
    ("status", "error_type", "retried"),
    [
        (400, voxnb.APIError, False),
        (401, voxnb.AuthenticationError, False),
        (403, voxnb.AuthenticationError, False),
        (404, voxnb.APIError, False),
        (422, voxnb.APIError, False),
        (429, voxnb.RateLimitError, True),
        (500, voxnb.ServerError, True),
        (502, voxnb.ServerError, True),
        (503, voxnb.ServerError, True),
        (504, voxnb.ServerError, True),
    ],
)
def test_every_status_maps_to_its_error_and_only_429_and_5xx_are_retried(
    start_voxnb_server, tiny_wav, status, error_type, retried
):
    server = start_voxnb_server(faults=f"{status}:1.0")
    with client_for(server) as client, pytest.raises(error_type) as info:
        client.transcribe(tiny_wav(1))
    err = info.value
    assert type(err) is error_type
    assert err.status == status
    assert "injected fault" in err.message
    assert err.request_id and len(err.request_id) == 32
    assert err.request_id in str(err)
    assert len(server.recorder) == (1 + FAST.max_retries if retried else 1)
    if status in (401, 403):
        assert "MISTRAL_API_KEY" in str(err)


def test_wrong_key_against_a_keyed_server(start_voxnb_server, tiny_wav, guarded_api_key):
    server = start_voxnb_server(api_key=guarded_api_key)
    with (
        client_for(server, api_key="not-the-key") as client,
        pytest.raises(voxnb.AuthenticationError) as info,
    ):
        client.transcribe(tiny_wav(2))
    assert info.value.status == 401 and "Unauthorized" in str(info.value)
    with client_for(server, api_key=guarded_api_key) as client:
        assert client.transcribe(tiny_wav(2)).model == "voxnb-deterministic-test-engine"


def test_server_validation_errors_come_back_flattened(start_voxnb_server, tiny_wav):
    """A 422 whose message is a detail list (spec §7) reads as text, with the field named."""
    server = start_voxnb_server()
    with httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/audio/transcriptions",
            data={"model": "m", "language": "english"},
            files={"file": ("a.wav", tiny_wav(3), "audio/wav")},
        )
    err = api_error(response.status_code, response.content, response.headers, what="POST x")
    assert err.status == 422 and "language: language must be a two-letter ISO-639-1 code" in err.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"object":"error","message":"Invalid model: voxtral-small-latest","type":"invalid_model","code":"1500"}',
            "Invalid model: voxtral-small-latest",
        ),
        (
            b'{"object":"error","message":{"detail":[{"type":"assertion_error","loc":[],"msg":"Assertion failed, x"}]}}',
            "Assertion failed, x",
        ),
        (b'{"detail":"Unauthorized"}', "Unauthorized"),
        (b'{"detail":[{"loc":["body","file"],"msg":"Field required"}]}', "file: Field required"),
        (
            b'{"error":{"message":"Currently do not support verbose_json","type":"BadRequestError","code":400}}',
            "Currently do not support verbose_json",
        ),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (b"", "POST x failed with no message from the server"),
    ],
)
def test_every_known_error_body_shape_is_read(body, message):
    err = api_error(400, body, {"x-request-id": "abc"}, what="POST x")
    assert err.message.startswith(message) and err.request_id == "abc"


def test_request_id_from_the_body_when_no_header():
    err = api_error(401, b'{"message":"Unauthorized","request_id":"f00d"}', {}, what="POST x")
    assert err.request_id == "f00d"


def test_retry_after_longer_than_allowed_ends_the_retries(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="503:1.0,retry-after:3600")
    with client_for(server) as client, pytest.raises(voxnb.ServerError, match="wait 3600 s"):
        client.transcribe(tiny_wav(5))
    assert len(server.recorder) == 1


def test_timeouts_are_retried_then_reported(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="latency:1.0")
    policy = RetryPolicy(max_retries=1, initial_backoff=0.0, jitter=0.0)
    with client_for(server, retry=policy, timeout=0.2) as client, pytest.raises(voxnb.TransportError) as info:
        client.transcribe(tiny_wav(6))
    assert "timed out" in str(info.value) and "timeout=" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.TimeoutException)
    assert len(server.recorder) == 2


def test_connection_refused_is_retried_then_reported(tiny_wav):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket closes
    client = voxnb.Client(base_url=f"http://127.0.0.1:{port}", dialect="mistral", retry=FAST)
    with pytest.raises(voxnb.TransportError, match="could not reach"):
        client.transcribe(tiny_wav(0))
    assert client.requests_sent == 1 + FAST.max_retries


def test_a_connection_cut_mid_answer_is_told_from_an_unreachable_server(tiny_wav):
    """A server that answers half a body and hangs up was reached: the error says the connection broke."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answered = []

    def serve() -> None:
        while len(answered) < 1 + FAST.max_retries:
            conn, _ = listener.accept()
            with conn:
                conn.recv(1 << 20)
                conn.sendall(
                    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"te'
                )
                answered.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = voxnb.Client(base_url=f"http://127.0.0.1:{port}", dialect="mistral", retry=FAST)
    with pytest.raises(
        voxnb.TransportError, match=r"connection to .* broke during POST /v1/audio/transcriptions"
    ):
        client.transcribe(tiny_wav(0))
    assert client.requests_sent == len(answered) == 1 + FAST.max_retries  # retried, as a drop may be brief
    listener.close()


def test_stream_is_retried_before_its_first_event(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="500:0.5,seed:3")
    with client_for(server, retry=RetryPolicy(max_retries=20, initial_backoff=0.001)) as client:
        for seed in range(6):
            assert isinstance(list(client.transcribe_stream(tiny_wav(seed)))[-1], voxnb.Transcript)
    assert len(server.recorder.matching(status=500)) > 0


def test_stream_broken_after_its_first_event_is_not_retried(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(faults="cut:1.0")
    with client_for(server) as client:
        events = client.transcribe_stream(tiny_wav(7, seconds=1.0))
        first = next(events)
        assert first is not None
        with pytest.raises(voxnb.TransportError, match=r"without transcription\.done"):
            list(events)
    assert len(server.recorder) == 1


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_malformed_stream_segment_is_a_response_format_error(tiny_wav):
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from voxnb.serve import ServerThread

    async def transcriptions(request):
        async def frames():
            yield 'event: transcription.text.delta\ndata: {"type": "transcription.text.delta", "text": " hi"}\n\n'
            yield 'event: transcription.segment\ndata: {"type": "transcription.segment", "text": " hi"}\n\n'

        return StreamingResponse(frames(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/audio/transcriptions", transcriptions, methods=["POST"])])
    with ServerThread(app) as server, client_for(server) as client:
        received = []
        with pytest.raises(voxnb.ResponseFormatError, match="without numeric start and end"):
            for item in client.transcribe_stream(tiny_wav(1)):
                received.append(item)
    assert [item.text for item in received] == [" hi"]
    gc.collect()  # the abandoned response stream is finalised cleanly (no unraisable error from httpcore)
