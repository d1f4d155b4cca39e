"""`voxnb serve`: Mistral's fields and validation errors, SSE, files, auth, limits, faults, CLI."""

from __future__ import annotations

import json

import httpx
import pytest

import voxnb
from voxnb.cli import build_parser
from voxnb.local.fake import FakeEngine
from voxnb.serve import FaultPlan, ServerProcess, load_engine

TRANSCRIPTIONS = "/v1/audio/transcriptions"


def post(url, wav, *, fields=(), **kwargs):
    """A multipart POST with explicit (name, value) parts, so tests control repetition exactly."""
    with httpx.Client(base_url=url, timeout=60) as http:  # undecodable audio goes through ffmpeg: slow
        return http.post(
            TRANSCRIPTIONS,
            data=None,
            files=[*((k, (None, v)) for k, v in fields), ("file", ("a.wav", wav, "audio/wav"))],
            **kwargs,
        )


def test_json_response_has_mistrals_shape(voxnb_server, tiny_wav):
    response = post(voxnb_server, tiny_wav(1, seconds=1.0), fields=[("model", "voxtral-mini-latest")])
    assert response.status_code == 200 and response.headers["x-request-id"]
    body = response.json()
    assert set(body) >= {"model", "text", "language", "segments", "usage"}
    assert body["model"] == "voxnb-deterministic-test-engine" and body["language"] == "en"
    assert body["segments"] == [] and body["text"].strip()
    assert body["usage"]["prompt_audio_seconds"] == 1


def test_diarize_without_segment_granularity_is_mistrals_422(voxnb_server, tiny_wav):
    """Bracketed names are ignored as by the real API, so this is the diarize assertion error."""
    response = post(
        voxnb_server,
        tiny_wav(2),
        fields=[("model", "m"), ("diarize", "true"), ("timestamp_granularities[]", "segment")],
    )
    assert response.status_code == 422
    body = response.json()
    assert body["object"] == "error" and body["raw_status_code"] == 422
    assert body["message"]["detail"][0]["msg"] == (
        "Assertion failed, When diarize is set to True and streaming is disabled, the timestamp "
        "granularity must be set to ['segment'], got []"
    )
    ok = post(
        voxnb_server,
        tiny_wav(2, seconds=1.0),
        fields=[("model", "m"), ("diarize", "true"), ("timestamp_granularities", "segment")],
    )
    assert ok.status_code == 200 and ok.json()["segments"][0]["speaker_id"] == "speaker_1"


@pytest.mark.parametrize(
    ("fields", "location", "msg"),
    [
        ([], "model", "Field required"),
        # voxtral-mini-latest is Voxtral 2: single-token terms (the served model's rules apply)
        (
            [("model", "voxtral-mini-latest"), ("context_bias", "two words")],
            "context_bias",
            "not a single term",
        ),
        (
            [("model", "m"), ("timestamp_granularities", "sentence")],
            "timestamp_granularities",
            "'segment', 'word'",
        ),
        ([("model", "m"), ("language", "eng")], "language", "two-letter ISO-639-1 code"),
        ([("model", "m"), ("temperature", "warm")], "temperature", "must be a number"),
        ([("model", "m"), ("diarize", "maybe")], "diarize", "'true' or 'false'"),
        ([("model", "m"), ("file_id", "x")], "file", "Exactly one of file, file_url, file_id"),
    ],
)
def test_field_validation_errors(voxnb_server, tiny_wav, fields, location, msg):
    response = post(voxnb_server, tiny_wav(3), fields=fields)
    assert response.status_code == 422
    (detail,) = response.json()["message"]["detail"]
    assert detail["loc"] == ["body", location] and msg in detail["msg"]


def test_context_bias_over_100_and_language_with_timestamps(voxnb_server, tiny_wav):
    many = [("context_bias", f"t{i}") for i in range(101)]
    too_many = post(voxnb_server, tiny_wav(4), fields=[("model", "voxtral-mini-latest"), *many])
    assert too_many.status_code == 422 and "accepts at most 100" in too_many.text
    both = post(
        voxnb_server,
        tiny_wav(4),
        fields=[("model", "voxtral-mini-latest"), ("language", "en"), ("timestamp_granularities", "segment")],
    )
    assert both.status_code == 422 and "drop language=" in both.text
    # the engine itself takes both: a model name the table does not know gets the engine's rules
    alone = post(
        voxnb_server,
        tiny_wav(4),
        fields=[("model", "m"), ("language", "en"), ("timestamp_granularities", "segment")],
    )
    assert alone.status_code == 200


def test_a_voxtral_3_model_refuses_word_timestamps_with_400_as_mistral_does(voxnb_server, tiny_wav):
    fields = [("model", "voxtral-mini-transcribe-3"), ("timestamp_granularities", "word")]
    response = post(voxnb_server, tiny_wav(4), fields=fields)
    assert response.status_code == 400 and "gives no word timestamps" in response.json()["message"]
    chat = post(voxnb_server, tiny_wav(4), fields=[("model", "voxtral-small-latest")])
    assert chat.status_code == 400 and "chat model" in chat.json()["message"]


def test_undecodable_audio_and_wrong_content_type_are_400(voxnb_server):
    response = post(voxnb_server, b"RIFF....WAVEgarbage", fields=[("model", "m")])
    assert response.status_code == 400 and "Could not decode the audio" in response.json()["message"]
    with httpx.Client(base_url=voxnb_server) as http:
        response = http.post(TRANSCRIPTIONS, json={"model": "m"})
    assert response.status_code == 400 and "multipart/form-data" in response.json()["message"]


def test_sse_frames_have_event_and_data_lines_and_no_done_sentinel(voxnb_server, tiny_wav):
    response = post(
        voxnb_server,
        tiny_wav(5, seconds=3.0),
        fields=[("model", "m"), ("stream", "true"), ("timestamp_granularities", "segment")],
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    kinds = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        kinds.append(event_line[7:])
        assert json.loads(data_line[6:])["type"] == kinds[-1]
    assert kinds[-1] == "transcription.done" and "[DONE]" not in response.text
    assert {"transcription.text.delta", "transcription.segment"} <= set(kinds)


def test_api_key_is_required_when_configured(start_voxnb_server, tiny_wav, guarded_api_key):
    server = start_voxnb_server(api_key=guarded_api_key)
    fields = [("model", "m")]
    assert post(server.url, tiny_wav(6), fields=fields).status_code == 401
    assert (
        post(server.url, tiny_wav(6), fields=fields, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    ok = post(server.url, tiny_wav(6), fields=fields, headers={"Authorization": f"Bearer {guarded_api_key}"})
    assert ok.status_code == 200
    assert (
        post(server.url, tiny_wav(6), fields=fields, headers={"x-api-key": guarded_api_key}).status_code
        == 200
    )
    assert httpx.get(server.url + "/health").status_code == 200  # liveness needs no key
    assert all(r.headers.get("authorization", "<redacted>") == "<redacted>" for r in server.recorder.requests)


def test_request_bodies_are_size_limited(start_voxnb_server, tiny_wav):
    server = start_voxnb_server(max_body_bytes=20_000)
    assert post(server.url, tiny_wav(7, seconds=0.1), fields=[("model", "m")]).status_code == 200
    too_big = post(server.url, tiny_wav(7, seconds=2.0), fields=[("model", "m")])
    assert too_big.status_code == 413 and "limit of 20000 bytes" in too_big.json()["message"]

    def chunked():  # no Content-Length: the limit is enforced while reading
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
        for _ in range(10):
            yield bytes(5000)

    response = httpx.post(
        server.url + TRANSCRIPTIONS,
        content=chunked(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413


def test_files_signed_urls_and_file_url_rules(voxnb_server, tiny_wav):
    wav = tiny_wav(8, seconds=0.5)
    with httpx.Client(base_url=voxnb_server) as http:
        uploaded = http.post(
            "/v1/files", data={"purpose": "audio"}, files={"file": ("a.wav", wav, "audio/wav")}
        )
        assert uploaded.status_code == 200
        meta = uploaded.json()
        assert meta["object"] == "file" and meta["bytes"] == len(wav) and meta["purpose"] == "audio"
        url = http.get(f"/v1/files/{meta['id']}/url", params={"expiry": 2}).json()["url"]
        assert http.get(url).content == wav
        assert http.get(url.replace("sig=", "sig=0")).status_code == 403
        assert http.get(f"/v1/files/{meta['id']}/url", params={"expiry": 500}).status_code == 422
        by_id = http.post(TRANSCRIPTIONS, data={"model": "m", "file_id": meta["id"]})
        external = http.post(TRANSCRIPTIONS, data={"model": "m", "file_url": "https://example.org/a.mp3"})
        unknown = http.post(
            TRANSCRIPTIONS, data={"model": "m", "file_id": "00000000-0000-0000-0000-000000000000"}
        )
    assert by_id.status_code == 200 and by_id.json()["text"]
    assert external.status_code == 400 and "does not download" in external.json()["message"]
    assert unknown.status_code == 404


def test_models_route_names_the_engine(voxnb_server):
    data = httpx.get(voxnb_server + "/v1/models").json()["data"]
    assert [m["id"] for m in data] == ["voxnb-deterministic-test-engine"]


def test_fault_spec_parsing():
    plan = FaultPlan.parse("429:0.2, 500:0.1,latency:0.3,retry-after:2,cut:0.5,seed:1")
    assert plan.statuses == {429: 0.2, 500: 0.1} and plan.latency == 0.3
    assert plan.retry_after == 2 and plan.cut == 0.5 and plan.seed == 1
    draws = [plan.draw_status() for _ in range(4000)]
    assert 0.17 < draws.count(429) / 4000 < 0.23 and 0.08 < draws.count(500) / 4000 < 0.12
    assert FaultPlan.parse(None).draw_status() is None
    for bad in ("429", "429:2", "200:0.1", "jitter:1", "600:0.5,500:0.6"):
        with pytest.raises(voxnb.ParameterError):
            FaultPlan.parse(bad)


def test_fake_engine_is_deterministic_content_derived_and_streams_the_same_text(tiny_wav):
    engine = FakeEngine()
    audio = voxnb.Audio.load(tiny_wav(9, seconds=2.0))
    one = engine.transcribe(audio.y, timestamps=["segment", "word"])
    assert one == engine.transcribe(audio.y, timestamps=["segment", "word"])
    assert one["text"] != engine.transcribe(voxnb.Audio.load(tiny_wav(10, seconds=2.0)).y)["text"]
    assert engine.transcribe(audio.y * 0)["text"] == ""  # silence: no words
    words = [w["text"] for s in one["segments"] for w in s["words"]]
    assert " ".join(words) == one["text"].strip()
    pcm = audio.to_pcm16()
    events = list(engine.stream(pcm[i : i + 3200] for i in range(0, len(pcm), 3200)))
    assert "".join(e["text"] for e in events[:-1]) == events[-1]["text"] == one["text"]
    assert (
        list(engine.stream(pcm[i : i + 1001] for i in range(0, len(pcm), 1001))) == events
    )  # chunking is irrelevant
    biased = engine.transcribe(audio.y, context_bias=[w.capitalize() + "Term" for w in words[:1]])
    assert biased["text"].split()[0] == words[0].capitalize() + "Term"


def test_engine_choice(caplog):
    caplog.set_level("INFO", logger="voxnb.serve")
    assert load_engine("fake").model == "voxnb-deterministic-test-engine"
    assert "engine: fake" in caplog.text
    with pytest.raises(voxnb.ParameterError):
        load_engine("whisper")


def test_cli_parser_has_serve_with_its_options():
    args = build_parser().parse_args(["serve", "--port", "9", "--engine", "fake", "--faults", "429:0.5"])
    assert (args.command, args.port, args.engine, args.faults, args.host) == (
        "serve",
        9,
        "fake",
        "429:0.5",
        "127.0.0.1",
    )
    assert callable(args.run)


@pytest.mark.slow
def test_python_m_voxnb_serve_answers_over_http(tiny_wav, guarded_api_key):
    # the key travels as $VOXNB_SERVE_API_KEY, not on the command line where ps shows it
    server = ServerProcess(engine="fake", api_key=guarded_api_key)
    with server:
        with voxnb.Client(base_url=server.url, api_key=guarded_api_key) as client:
            assert client.transcribe(tiny_wav(11, seconds=0.5)).model == "voxnb-deterministic-test-engine"
        assert post(server.url, tiny_wav(11), fields=[("model", "m")]).status_code == 401
    assert guarded_api_key not in server.output


def test_the_mistralai_sdk_and_voxnb_send_the_same_fields(start_voxnb_server, tiny_wav):
    """The official SDK works against `voxnb serve`, and voxnb's multipart matches the SDK's."""
    from mistralai import client as client_module

    server = start_voxnb_server()
    wav = tiny_wav(12, seconds=1.0)
    options = {"timestamp_granularities": ["segment"], "diarize": True, "context_bias": ["Joplin", "Jupyter"]}
    sdk = client_module.Mistral(api_key="sdk-key-not-secret", server_url=server.url)
    sdk_answer = sdk.audio.transcriptions.complete(
        model="voxtral-mini-latest", file={"content": wav, "file_name": "a.wav"}, **options
    )
    with voxnb.Client(base_url=server.url) as client:
        ours = client.transcribe(wav, timestamps="segment", diarize=True, context_bias=["Joplin", "Jupyter"])
    sdk_request, our_request = server.recorder.matching("/v1/audio/transcriptions")

    def parts(record):
        return sorted((name, value if name != "file" else value["sha256"]) for name, value in record.fields)

    assert parts(our_request) == parts(sdk_request)
    assert sdk_answer.text == ours.text and sdk_answer.segments[0].speaker_id == "speaker_1"


@pytest.mark.slow
def test_voxnb_serve_with_the_offline_engine_transcribes_real_speech(start_voxnb_server):
    """The classroom setup: no key, the local engine behind Mistral's protocol."""
    from voxnb.data import audio as sample_audio

    engine = load_engine("local")
    assert engine.model != FakeEngine.model
    server = start_voxnb_server(engine)
    speech = sample_audio("words").slice(0, 6.0)
    with voxnb.Client(base_url=server.url) as client:
        t = client.transcribe(speech, timestamps="segment")
    assert t.model == engine.model and len(t.text.split()) >= 3 and len(t.segments) >= 1
    assert float(t.segments["end"].max()) <= 6.5
