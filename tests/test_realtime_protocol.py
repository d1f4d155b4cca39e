"""The realtime wire protocol: messages built and events parsed, in both dialects (spec §4, §9)."""

from __future__ import annotations

import base64
import json

import pytest

from voxnb.errors import ParameterError, ResponseFormatError
from voxnb.realtime.protocol import (
    MAX_APPEND_BYTES,
    MISTRAL,
    VLLM,
    Done,
    ErrorEvent,
    Language,
    SegmentEvent,
    SessionCreated,
    SessionUpdated,
    TextDelta,
    UnknownEvent,
    get_dialect,
    split_pcm,
)


def test_urls_follow_each_dialect():
    assert MISTRAL.url("https://api.mistral.ai", "voxtral-mini-transcribe-realtime-2602") == (
        "wss://api.mistral.ai/v1/audio/transcriptions/realtime?model=voxtral-mini-transcribe-realtime-2602"
    )
    assert (
        MISTRAL.url("http://127.0.0.1:8000/v1/", None)
        == "ws://127.0.0.1:8000/v1/audio/transcriptions/realtime"
    )
    # vLLM: no model in the URL (it goes in session.update)
    assert (
        VLLM.url("http://gpu:8000", "mistralai/Voxtral-Mini-4B-Realtime-2602") == "ws://gpu:8000/v1/realtime"
    )
    with pytest.raises(ParameterError, match="base_url"):
        MISTRAL.url("api.mistral.ai", None)


def _session(model, realtime=True, **options):
    from voxnb.models import capabilities, openai_capabilities
    from voxnb.request import TranscriptionRequest

    caps = capabilities(model) if "/" not in model else openai_capabilities(model, realtime=True)
    return TranscriptionRequest.create(model=model, **options).resolve(caps, realtime=realtime)


def test_mistral_client_messages():
    [update] = MISTRAL.configure(
        _session("voxtral-mini-transcribe-realtime-2602", target_streaming_delay_ms=480)
    )
    assert update == {
        "type": "session.update",
        "session": {
            "audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000},
            "target_streaming_delay_ms": 480,
        },
    }
    [update] = MISTRAL.configure(_session("voxtral-mini-transcribe-realtime-2602"))
    assert "target_streaming_delay_ms" not in update["session"]
    # every setting the request holds is sent: none is dropped on the way
    [update] = MISTRAL.configure(
        _session(
            "voxtral-mini-transcribe-realtime-3", context_bias=["Alder Creek"], language="fr", diarize=True
        )
    )
    assert update["session"]["context_bias"] == ["Alder Creek"] and update["session"]["language"] == "fr"
    assert update["session"]["diarize"] is True
    [append] = MISTRAL.append(b"\x01\x00\x02\x00")
    assert append == {"type": "input_audio.append", "audio": base64.b64encode(b"\x01\x00\x02\x00").decode()}
    # flush before end, so the last words are transcribed (client-python #357)
    assert [m["type"] for m in MISTRAL.finish()] == ["input_audio.flush", "input_audio.end"]


def test_vllm_client_messages():
    assert VLLM.configure(_session("mistralai/Voxtral-Mini-4B-Realtime-2602")) == [
        {"type": "session.update", "model": "mistralai/Voxtral-Mini-4B-Realtime-2602"},
        {"type": "input_audio_buffer.commit"},
    ]
    # vLLM's session takes the model only: a delay cannot be set there, so it is refused
    with pytest.raises(ParameterError, match="no streaming delay setting"):
        _session("mistralai/Voxtral-Mini-4B-Realtime-2602", target_streaming_delay_ms=480)
    assert VLLM.append(b"\0\0")[0]["type"] == "input_audio_buffer.append"
    assert VLLM.finish() == [{"type": "input_audio_buffer.commit", "final": True}]


@pytest.mark.parametrize("size", [0, 2, MAX_APPEND_BYTES, MAX_APPEND_BYTES + 2, 3 * MAX_APPEND_BYTES + 1000])
def test_append_never_exceeds_the_size_limit(size):
    pcm = bytes(range(256)) * (size // 256) + bytes(size % 256)
    messages = MISTRAL.append(pcm)
    decoded = [base64.b64decode(m["audio"]) for m in messages]
    assert all(0 < len(d) <= MAX_APPEND_BYTES and len(d) % 2 == 0 for d in decoded)
    assert b"".join(decoded) == pcm  # nothing lost, nothing reordered
    assert len(messages) == -(-size // MAX_APPEND_BYTES)


def test_odd_pcm_is_refused():
    with pytest.raises(ParameterError, match="16-bit samples"):
        split_pcm(b"\0\0\0")


def test_parse_mistral_events():
    created = MISTRAL.parse(
        json.dumps(
            {
                "type": "session.created",
                "session": {
                    "request_id": "r",
                    "model": "voxtral",
                    "audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000},
                    "target_streaming_delay_ms": None,
                },
            }
        )
    )
    assert isinstance(created, SessionCreated) and created.session["model"] == "voxtral"
    assert isinstance(MISTRAL.parse({"type": "session.updated", "session": {}}), SessionUpdated)
    assert MISTRAL.parse({"type": "transcription.language", "audio_language": "fr"}) == Language(
        language="fr"
    )
    assert MISTRAL.parse({"type": "transcription.text.delta", "text": " Hello"}) == TextDelta(text=" Hello")
    segment = MISTRAL.parse({"type": "transcription.segment", "text": "Hi", "start": 0.5, "end": 1.0})
    assert segment == SegmentEvent(text="Hi", start=0.5, end=1.0, speaker_id=None)
    done = MISTRAL.parse(
        b'{"type":"transcription.done","model":"m","text":"Hi","language":"en",'
        b'"segments":[],"usage":{"prompt_audio_seconds":2}}'
    )
    assert isinstance(done, Done) and done.text == "Hi" and "type" not in done.response
    assert done.response["usage"] == {"prompt_audio_seconds": 2}


def test_parse_mistral_errors_string_or_detail():
    plain = MISTRAL.parse({"type": "error", "error": {"message": "Invalid model", "code": 1500}})
    assert plain == ErrorEvent(message="Invalid model", code=1500)
    detail = MISTRAL.parse({"type": "error", "error": {"message": {"detail": "audio too large"}, "code": 3}})
    assert detail.message == "audio too large"


def test_parse_vllm_events():
    created = VLLM.parse({"type": "session.created", "id": "sess-1", "created": 1700000000})
    assert isinstance(created, SessionCreated) and created.session["id"] == "sess-1"
    assert VLLM.parse({"type": "transcription.delta", "delta": " world"}) == TextDelta(text=" world")
    done = VLLM.parse(
        {
            "type": "transcription.done",
            "text": "hello world",
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )
    assert isinstance(done, Done) and done.text == "hello world"
    error = VLLM.parse({"type": "error", "error": "model not validated", "code": "model_not_validated"})
    assert error == ErrorEvent(message="model not validated", code="model_not_validated")


def test_unknown_events_are_kept_not_raised():
    event = MISTRAL.parse({"type": "transcription.future_thing", "x": 1})
    assert isinstance(event, UnknownEvent) and event.type_name == "transcription.future_thing"
    assert event.raw == {"type": "transcription.future_thing", "x": 1}
    # the other dialect's delta is unknown here, not misread
    assert isinstance(VLLM.parse({"type": "transcription.text.delta", "text": "x"}), UnknownEvent)


def test_malformed_frames_raise_a_clear_error():
    with pytest.raises(ResponseFormatError, match="not JSON"):
        MISTRAL.parse("<html>")
    with pytest.raises(ResponseFormatError, match="JSON object"):
        MISTRAL.parse("[1, 2]")


def test_server_side_rendering_in_vllm_dialect():
    assert VLLM.event({"type": "transcription.text.delta", "text": " a"}) == {
        "type": "transcription.delta",
        "delta": " a",
    }
    assert VLLM.event({"type": "transcription.language", "audio_language": "en"}) is None
    assert VLLM.event({"type": "transcription.done", "text": "a", "segments": [], "usage": {"x": 1}}) == {
        "type": "transcription.done",
        "text": "a",
        "usage": {"x": 1},
    }
    assert VLLM.error("bad", "invalid_audio") == {"type": "error", "error": "bad", "code": "invalid_audio"}
    assert MISTRAL.error("bad", "invalid_audio") == {
        "type": "error",
        "error": {"message": "bad", "code": 400},  # Mistral's code is an integer (mistralai's model)
    }
    # what the server renders, the client parses back
    for dialect in (MISTRAL, VLLM):
        assert dialect.parse(dialect.event({"type": "transcription.text.delta", "text": " a"})) == TextDelta(
            text=" a"
        )
        assert dialect.parse(dialect.error("bad", "x")).message == "bad"


def test_dialect_names():
    assert get_dialect("openai") is VLLM and get_dialect("Mistral") is MISTRAL
    with pytest.raises(ParameterError, match="dialect"):
        get_dialect("grpc")
