"""The API key never appears in a repr, exception, log, cache entry or saved transcript.

Besides these direct checks, ``_api_key_never_leaks`` (tests/voxnb_serve_fixtures.py) scans
every file written and every log record and test report of the whole suite for the key.
"""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest

import voxnb
from voxnb.api.retry import RetryPolicy


def test_key_absent_from_reprs_and_not_picklable(guarded_api_key, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", guarded_api_key)
    for client in (voxnb.Client(), voxnb.AsyncClient(), voxnb.Client(api_key=guarded_api_key)):
        shown = repr(client) + str(client) + repr(vars(client)) + repr(getattr(client, "_async", None))
        assert guarded_api_key not in shown and "api_key=set" in repr(client)
        with pytest.raises(TypeError, match="not picklable"):
            pickle.dumps(client)


def test_key_absent_from_everything_a_keyed_session_produces(
    start_voxnb_server, tiny_wav, guarded_api_key, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    server = start_voxnb_server(api_key=guarded_api_key, faults="500:0.5,seed:1")
    retry = RetryPolicy(max_retries=8, initial_backoff=0.001)
    with voxnb.Client(base_url=server.url, api_key=guarded_api_key, retry=retry) as client:
        batch = client.transcribe_many(
            {f"n{i}": tiny_wav(i) for i in range(6)}, cache=tmp_path / "cache", progress=False
        )
        transcript = client.transcribe(tiny_wav(9), timestamps="segment")
        streamed = list(client.transcribe_stream(tiny_wav(9)))[-1]
    saved = transcript.save(tmp_path / "t.json")
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 6
    texts = [
        repr(batch),
        repr(batch.to_frame()),
        repr(transcript),
        repr(transcript.request),
        repr(streamed.request),
        caplog.text,
        written.decode("utf-8", "replace"),
        saved.read_text(),
    ]
    texts += [repr(r) for r in server.recorder.requests]
    assert "retrying" in caplog.text  # the retries were logged, without the key
    assert all(guarded_api_key not in text for text in texts)


def test_key_absent_from_errors_and_tracebacks(start_voxnb_server, tiny_wav, guarded_api_key):
    server = start_voxnb_server(api_key=guarded_api_key[::-1])
    client = voxnb.Client(base_url=server.url, api_key=guarded_api_key, retry=RetryPolicy(max_retries=0))
    with client, pytest.raises(voxnb.AuthenticationError) as info:
        client.transcribe(tiny_wav(1))
    rendered = "".join(traceback.format_exception(info.value))
    assert guarded_api_key not in rendered and guarded_api_key not in repr(info.value.args)


def test_an_echoed_key_is_scrubbed_from_server_messages(guarded_api_key):
    """A misbehaving server that reflects the Authorization header must not put the key in an error."""
    from voxnb.api.client import AsyncClient
    from voxnb.api.errors import api_error

    client = AsyncClient(api_key=guarded_api_key, base_url="http://127.0.0.1:9")
    body = f'{{"message": "bad header Bearer {guarded_api_key}"}}'.encode()
    err = client._scrubbed(api_error(400, body, {}, what="POST x"))
    assert (
        guarded_api_key not in str(err) and guarded_api_key not in err.message and "<hidden>" in err.message
    )
