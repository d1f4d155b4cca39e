"""voxnb.Client / AsyncClient against `voxnb serve` over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np
import pytest

import voxnb
from voxnb.api.sse import TranscriptionDone, TranscriptionSegment, TranscriptionTextDelta
from voxnb.local.fake import FakeEngine


@pytest.fixture
def server(start_voxnb_server):
    return start_voxnb_server()


@pytest.fixture
def client(server):
    with voxnb.Client(base_url=server.url, dialect="mistral", api_key=None) as c:
        yield c


def test_the_exact_multipart_a_transcription_sends(server, tiny_wav):
    audio = tiny_wav(1, seconds=0.5)
    with voxnb.Client(base_url=server.url, dialect="mistral", api_key="k-123") as client:
        client.transcribe(
            audio, timestamps="segment", diarize=True, context_bias=["Joplin", "American_people"]
        )
    (record,) = server.recorder.requests
    assert (record.method, record.path) == ("POST", "/v1/audio/transcriptions")
    assert record.fields[:-1] == [
        ("model", "voxtral-mini-latest"),
        ("stream", "false"),
        ("diarize", "true"),
        ("timestamp_granularities", "segment"),
        ("context_bias", "Joplin"),
        ("context_bias", "American_people"),
    ]
    name, part = record.fields[-1]
    assert name == "file"
    assert part == {
        "filename": "audio.wav",
        "content_type": "audio/wav",
        "size": len(audio),
        "sha256": hashlib.sha256(audio).hexdigest(),
    }
    assert record.headers["authorization"] == "<redacted>"
    assert record.headers["accept"] == "application/json"


def test_openai_dialect_sends_bracketed_granularities_and_refuses_what_vllm_would_drop(server, tiny_wav):
    with voxnb.Client(base_url=server.url + "/v1", dialect="openai") as client:
        assert client.base_url == server.url
        # vLLM ignores context_bias and diarize, and gives Voxtral no timestamps: refused, not dropped
        with pytest.raises(voxnb.ParameterError, match="takes no context_bias here"):
            client.transcribe(tiny_wav(2), model="mistralai/Voxtral-Mini-3B-2507", context_bias=["Joplin"])
        with pytest.raises(voxnb.ParameterError, match="gives no timestamps"):
            client.transcribe(tiny_wav(2), model="mistralai/Voxtral-Mini-3B-2507", timestamps="segment")
        client.transcribe(tiny_wav(2), model="openai/whisper-large-v3", timestamps="segment")
        with pytest.raises(voxnb.ParameterError, match="only accepts uploaded audio"):
            client.transcribe("https://example.org/a.mp3", model="openai/whisper-large-v3")
    (record,) = server.recorder.requests
    names = [name for name, _ in record.fields]
    assert names == ["model", "response_format", "timestamp_granularities[]", "file"]


def test_transcript_records_provenance_and_content_derived_text(client, server, tiny_wav):
    audio = tiny_wav(3, seconds=1.2)
    t = client.transcribe(audio, timestamps="segment")
    expected = FakeEngine().transcribe(voxnb.Audio.load(audio).y, timestamps=["segment"])
    assert t.text == expected["text"] and t.text.strip()
    assert (t.backend, t.base_url, t.model) == ("mistral", server.url, "voxnb-deterministic-test-engine")
    assert t.request["model"] == "voxtral-mini-latest"
    assert t.request["timestamp_granularities"] == ["segment"]
    assert t.audio_sha256 == hashlib.sha256(audio).hexdigest()
    assert len(t.segments) == len(expected["segments"]) > 0
    assert client.transcribe(tiny_wav(4, seconds=1.2)).text != t.text


def test_every_kind_of_audio_input(client, tiny_wav, tmp_path):
    wav = tiny_wav(5, seconds=0.8)
    path = tmp_path / "clip.wav"
    path.write_bytes(wav)
    audio = voxnb.Audio.load(wav)
    reference = client.transcribe(path).text
    assert client.transcribe(str(path)).text == reference
    assert client.transcribe(wav).text == reference
    with open(path, "rb") as fh:
        assert client.transcribe(fh).text == reference
    from_audio = client.transcribe(audio)
    assert from_audio.text == reference and from_audio.audio is audio
    assert client.transcribe(audio.y, sr=16000).text == reference
    file_id = client.upload(path)
    assert client.transcribe(file_id).text == reference
    assert client.transcribe(client.signed_url(file_id, expiry=1)).text == reference


@pytest.mark.parametrize(
    ("bad", "error", "pattern"),
    [
        ("missing.wav", voxnb.AudioError, "does not exist"),
        (b"", voxnb.AudioError, "empty"),
        (b"this is not audio at all", voxnb.AudioError, "not a recognised audio file"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", voxnb.AudioError, "header cannot be read"),
        (np.zeros(1600, dtype="float32"), voxnb.ParameterError, "sr="),
        (12, voxnb.AudioError, "cannot transcribe a int"),
    ],
)
def test_bad_audio_and_parameters_cost_no_request(client, server, bad, error, pattern):
    with pytest.raises(error, match=pattern):
        client.transcribe(bad)
    with pytest.raises(voxnb.ParameterError, match="diarize must be True or False"):
        client.transcribe(b"RIFF", diarize="yes")
    with pytest.raises(voxnb.AudioError, match="silent"):
        client.transcribe(np.zeros(1600, dtype="float32"), sr=16000)
    assert len(server.recorder) == 0


def test_oversized_audio_is_refused_before_upload(client, server, tmp_path, monkeypatch):
    monkeypatch.setattr("voxnb.api.source.MAX_UPLOAD_BYTES", 1000)
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + bytes(2000))
    with pytest.raises(voxnb.AudioError, match=r"at most 0 MB per file.*[Ss]plit"):
        client.transcribe(big)
    assert len(server.recorder) == 0


def test_stream_yields_typed_events_then_the_transcript(client, server, tiny_wav):
    audio = tiny_wav(6, seconds=3.0)
    items = list(client.transcribe_stream(audio, timestamps="segment"))
    *events, transcript = items
    assert isinstance(transcript, voxnb.Transcript)
    assert isinstance(events[-1], TranscriptionDone)
    deltas = "".join(e.text for e in events if isinstance(e, TranscriptionTextDelta))
    segments = [e for e in events if isinstance(e, TranscriptionSegment)]
    assert deltas == transcript.text == client.transcribe(audio).text
    assert [(s.start, s.end) for s in segments] == list(
        zip(transcript.segments["start"], transcript.segments["end"])
    )
    stream_request = server.recorder.requests[0]
    assert stream_request.field_values("stream") == ["true"]
    assert stream_request.headers["accept"] == "text/event-stream"


def test_chat_sends_an_input_audio_part_and_returns_the_answer(client, server, tiny_wav):
    answer = client.chat(tiny_wav(7, seconds=0.5), "What is said?", temperature=0.2)
    assert "deterministic test engine" in answer and "What is said?" in answer
    body = server.recorder.requests[0].json
    assert body["model"] == "voxtral-small-latest" and body["temperature"] == 0.2
    audio_part, text_part = body["messages"][0]["content"]
    assert audio_part["type"] == "input_audio" and text_part == {"type": "text", "text": "What is said?"}
    with pytest.raises(voxnb.ParameterError, match="prompt"):
        client.chat(tiny_wav(7), "  ")


def test_chat_with_an_engine_that_cannot_chat_is_a_clear_400(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(FakeEngine(can_chat=False))
    with (
        voxnb.Client(base_url=server.url, dialect="mistral") as client,
        pytest.raises(voxnb.APIError) as info,
    ):
        client.chat(tiny_wav(8), "Summarise")
    assert info.value.status == 400 and "cannot answer prompts about audio" in str(info.value)


def test_sync_client_works_inside_a_running_event_loop(client, tiny_wav):
    """What Jupyter does: the kernel's loop is already running when a cell calls the sync API."""
    audio = tiny_wav(9, seconds=0.5)
    expected = client.transcribe(audio).text

    async def cell():
        return client.transcribe(audio).text, list(client.transcribe_stream(audio))[-1].text

    assert asyncio.run(cell()) == (expected, expected)


def test_async_client_mirrors_the_sync_one(server, tiny_wav):
    audio = tiny_wav(10, seconds=0.5)

    async def main():
        async with voxnb.AsyncClient(base_url=server.url, dialect="mistral") as client:
            many = await asyncio.gather(*(client.transcribe(audio) for _ in range(4)))
            streamed = [item async for item in client.transcribe_stream(audio)]
            return many, streamed[-1], client.requests_sent

    many, streamed, sent = asyncio.run(main())
    assert len({t.text for t in many}) == 1 and streamed.text == many[0].text
    assert sent == 5
    public = {name for name in dir(voxnb.AsyncClient) if not name.startswith("_")} - {"aclose"}
    assert public <= set(dir(voxnb.Client))


def test_missing_key_for_mistral_is_explained_before_sending(monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    client = voxnb.Client()
    with pytest.raises(voxnb.AuthenticationError, match="MISTRAL_API_KEY"):
        client.transcribe("https://example.org/a.mp3")
    assert client.requests_sent == 0


def test_a_misspelt_option_is_a_parameter_error_naming_the_options(client, server, tiny_wav):
    with pytest.raises(voxnb.ParameterError, match=r"\['timestamp'\].*timestamps"):
        list(client.transcribe_stream(tiny_wav(1), timestamp="segment"))
    with pytest.raises(voxnb.ParameterError, match=r"\['timestamp'\].*timestamps"):
        client.transcribe_many([tiny_wav(1)], timestamp="segment")
    with pytest.raises(voxnb.ParameterError, match=r"\['timestamp'\].*timestamps"):
        client.transcribe(tiny_wav(1), timestamp="segment")
    assert len(server.recorder) == 0


@pytest.fixture
def vllm_like_server():
    """A stand-in for vLLM's transcription endpoint (spec §9 shapes), on a real socket."""
    import json as json_module

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from voxnb.serve import RequestRecorder, ServerThread

    recorder = RequestRecorder()

    async def transcriptions(request):
        from voxnb.serve import RecordedRequest

        form = await request.form()
        recorder.add(
            RecordedRequest(
                "POST",
                request.url.path,
                {},
                [(k, v if isinstance(v, str) else "<file>") for k, v in form.multi_items()],
            )
        )
        if form.get("stream") != "true":
            return JSONResponse(
                {"text": " Bonjour tout le monde.", "usage": {"type": "duration", "seconds": 2}}
            )

        async def chunks():
            for piece in (" Bonjour", " tout le", " monde."):
                chunk = {
                    "id": "trsc-1",
                    "object": "transcription.chunk",
                    "created": 0,
                    "model": "m",
                    "choices": [{"delta": {"content": piece}, "finish_reason": None}],
                }
                yield f"data: {json_module.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/audio/transcriptions", transcriptions, methods=["POST"])])
    app.state.recorder = recorder
    with ServerThread(app) as server:
        yield server


def test_openai_dialect_reads_vllm_json_and_streams(vllm_like_server, tiny_wav):
    with voxnb.Client(base_url=vllm_like_server.url, dialect="openai") as client:
        t = client.transcribe(tiny_wav(1), model="mistralai/Voxtral-Mini-3B-2507", language="fr")
        items = list(client.transcribe_stream(tiny_wav(1), model="mistralai/Voxtral-Mini-3B-2507"))
    assert (t.text, t.source, t.backend, t.duration) == (
        " Bonjour tout le monde.",
        "vllm-json",
        "openai-compatible",
        2.0,
    )
    assert [e.text for e in items if isinstance(e, TranscriptionTextDelta)] == [
        " Bonjour",
        " tout le",
        " monde.",
    ]
    assert isinstance(items[-2], TranscriptionDone) and items[-1].text == " Bonjour tout le monde."
    first, streamed = vllm_like_server.recorder.requests
    assert first.fields == [
        ("model", "mistralai/Voxtral-Mini-3B-2507"),
        ("language", "fr"),
        ("file", "<file>"),
    ]
    assert ("stream", "true") in streamed.fields


def test_voxnb_transcribe_reuses_one_client_per_configuration(
    start_voxnb_server, tiny_wav, guarded_api_key, monkeypatch
):
    from voxnb import backend

    server = start_voxnb_server(api_key=guarded_api_key)
    first = voxnb.transcribe(tiny_wav(1), base_url=server.url, api_key=guarded_api_key, quiet=True)
    second = voxnb.transcribe(tiny_wav(2), base_url=server.url, api_key=guarded_api_key, quiet=True)
    assert first.text != second.text and len(server.recorder.matching(status=200)) == 3  # 2 + the dialect
    chosen = backend.resolve_backend(base_url=server.url, api_key=guarded_api_key)
    client = backend._client(chosen)
    assert backend._client(backend.resolve_backend(base_url=server.url, api_key=guarded_api_key)) is client
    assert client.requests_sent == 2  # both calls went through the one client (and its connections)
    # the cache tells configurations apart without showing the key; another key means another client
    assert guarded_api_key not in repr(backend._clients.__dict__)
    assert backend._client(backend.resolve_backend(base_url=server.url, api_key="another-key")) is not client
    with pytest.raises(voxnb.AuthenticationError):
        voxnb.transcribe(tiny_wav(1), base_url=server.url, api_key="another-key", quiet=True)
    # the environment's key is Mistral's: it is not sent to this server
    monkeypatch.setenv("MISTRAL_API_KEY", guarded_api_key)
    with pytest.raises(voxnb.AuthenticationError):
        voxnb.transcribe(tiny_wav(1), base_url=server.url, quiet=True)
