"""Today's realtime settings over real websockets: one test per setting, and the settings lock.

The server is ``voxnb serve``'s realtime endpoint over the deterministic engine (its text
depends only on the audio it receives, so "the server decoded this encoding right" is checkable
exactly), emulating what Voxtral 3's realtime model does: the delay, every encoding, turn
detection, diarization and known speakers, the lock on settings once audio has started.
What voxnb sends and what the server answers are also read with the ``mistralai`` SDK's models,
and the SDK's own realtime client runs a session on the server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import warnings

import numpy as np
import pytest
from speaker_helpers import OracleDiarizer, references

import voxnb
from voxnb.errors import ParameterError, RealtimeError
from voxnb.local.fake import FakeEngine
from voxnb.realtime.encoding import SAMPLE_WIDTHS, decode_pcm, encode_pcm
from voxnb.realtime.protocol import MISTRAL, SegmentEvent, SessionUpdated, TextDelta, TurnEvent
from voxnb.realtime.session import RealtimeSession
from voxnb.request import AUDIO_ENCODINGS, TranscriptionRequest

RT3 = "voxtral-mini-transcribe-realtime-3"
RT2 = "voxtral-mini-transcribe-realtime-2602"


@pytest.fixture(scope="module")
def two_voices():
    return voxnb.data.audio("two_voices")


def engine_text(samples: np.ndarray) -> str:
    """The deterministic engine's text for float samples, as the server receives them (16-bit)."""
    pcm = np.clip(np.rint(np.asarray(samples, np.float64) * 32768), -32768, 32767).astype("<i2")
    return FakeEngine().transcribe(pcm.astype(np.float32) / 32768.0)["text"]


async def stream(session: RealtimeSession, pcm: bytes, *, chunk: int = 3200) -> tuple[dict, list]:
    """Send *pcm* in chunks (whole samples), finish; the response and every event."""
    events = []

    async def read():
        async for event in session.events():
            events.append(event)

    reader = asyncio.create_task(read())
    await session.connect()
    step = chunk - chunk % session.width
    for i in range(0, len(pcm), step):
        await session.send_audio(pcm[i : i + step])
    response = await session.finish()
    await reader
    return response, events


def take(url: str, pcm: bytes, **options) -> tuple[dict, list]:
    return asyncio.run(stream(RealtimeSession(url, **options), pcm))


def ws_url(server: str, model: str = RT3) -> str:
    return server.replace("http", "ws") + f"/v1/audio/transcriptions/realtime?model={model}"


def append(pcm: bytes) -> str:
    return json.dumps({"type": "input_audio.append", "audio": base64.b64encode(pcm).decode()})


# -- the session.update: everything, once, before the audio -------------------------------------------


def test_every_setting_goes_in_one_session_update_read_by_the_sdk_models(voxnb_server, two_voices):
    from mistralai.client.models import (
        RealtimeTranscriptionSessionUpdated,
        RealtimeTranscriptionSessionUpdateMessage,
    )

    options = dict(
        model=RT3,
        target_streaming_delay_ms=480,
        context_bias=["Ada Lovelace", "Tango"],
        language="en",
        encoding="pcm_f32le",
        sample_rate=16000,
        turn_detection={"min_silence_ms": 300, "end_timeout_ms": 1500},
    )
    session = RealtimeSession(voxnb_server, **options)
    [message] = MISTRAL.configure(session.request)
    sdk = RealtimeTranscriptionSessionUpdateMessage.model_validate(message)
    assert sdk.model_dump(mode="json", by_alias=True, exclude_unset=True) == message
    assert message["session"] == {
        "audio_format": {"encoding": "pcm_f32le", "sample_rate": 16000},
        "target_streaming_delay_ms": 480,
        "context_bias": ["Ada Lovelace", "Tango"],
        "language": "en",
        "turn_detection": {"min_silence_ms": 300, "end_timeout_ms": 1500},
    }
    pcm = encode_pcm(two_voices.slice(0, 3).y, "pcm_f32le")
    _, events = asyncio.run(stream(session, pcm))
    updated = [e for e in events if isinstance(e, SessionUpdated)]
    assert len(updated) == 1  # one update, answered before any text: it came before the audio
    assert events.index(updated[0]) < min(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    echo = RealtimeTranscriptionSessionUpdated.model_validate(updated[0].raw).session
    assert echo.audio_format.encoding == "pcm_f32le" and echo.target_streaming_delay_ms == 480
    assert echo.context_bias == ["Ada Lovelace", "Tango"] and echo.language == "en"
    assert echo.turn_detection.min_silence_ms == 300 and echo.turn_detection.end_timeout_ms == 1500
    assert echo.turn_detection.start_threshold == 0.5  # the defaults filled in


def test_the_sdks_realtime_client_reads_every_event_of_a_voxnb_serve_session(voxnb_server, two_voices):
    from mistralai.client import Mistral
    from mistralai.client.models import AudioFormat
    from mistralai.extra.realtime.connection import UnknownRealtimeEvent

    pcm = two_voices.to_pcm16()

    async def main():
        client = Mistral(api_key="unused", server_url=voxnb_server)
        connection = await client.audio.realtime.connect(
            model=RT3, audio_format=AudioFormat(encoding="pcm_s16le", sample_rate=16000),
            target_streaming_delay_ms=160, turn_detection={"min_silence_ms": 300}, context_bias=["Tango"],
        )  # fmt: skip
        for i in range(0, len(pcm), 32000):
            await connection.send_audio(pcm[i : i + 32000])
        await connection.flush_audio()
        await connection.end_audio()
        received, stream = [], connection.events()
        try:
            async for event in stream:
                received.append(event)
                if getattr(event, "type", None) == "transcription.done":
                    break
        finally:
            await stream.aclose()  # closed here, not by the garbage collector
            await connection.close()
        return received

    events = asyncio.run(main())
    kinds = {type(e).__name__ for e in events}
    assert not [e for e in events if isinstance(e, UnknownRealtimeEvent)], [
        e for e in events if isinstance(e, UnknownRealtimeEvent)
    ][:2]
    assert {"TurnDetectionStartEvent", "TurnDetectionEndEvent", "TranscriptionStreamTextDelta"} <= kinds
    assert type(events[-1]).__name__ == "TranscriptionStreamDone"


# -- one test per setting -----------------------------------------------------------------------


def test_the_streaming_delay_is_honoured_in_audio_time(voxnb_server, two_voices):
    from websockets.asyncio.client import connect

    speech = two_voices.slice(0.3, 6.0).to_pcm16()
    first, rest = speech[: 16000 * 2 * 12 // 10], speech[16000 * 2 * 12 // 10 :]  # 1.2 s, then the rest

    async def texts_after_first_part(delay: int) -> tuple[int, int, dict]:
        async with connect(ws_url(voxnb_server), max_size=None) as ws:
            await ws.recv()  # session.created
            await ws.send(
                json.dumps({"type": "session.update", "session": {"target_streaming_delay_ms": delay}})
            )
            echo = json.loads(await ws.recv())
            await ws.send(append(first))
            early = await _count_deltas(ws, seconds=0.8)
            await ws.send(append(rest))
            later = await _count_deltas(ws, seconds=0.8)
            return early, later, echo

    early, later, echo = asyncio.run(texts_after_first_part(2400))
    assert echo["session"]["target_streaming_delay_ms"] == 2400
    assert early == 0 and later > 0  # nothing of the first 1.2 s before 2.4 s more had arrived
    early_fast, _, _ = asyncio.run(texts_after_first_part(80))
    assert early_fast > 0
    with pytest.raises(ParameterError, match="multiples of 80"):
        RealtimeSession(voxnb_server, model=RT2, target_streaming_delay_ms=100)
    assert (
        RealtimeSession(voxnb_server, model=RT3, target_streaming_delay_ms=100).target_streaming_delay_ms
        == 100
    )


async def _count_deltas(ws, *, seconds: float) -> int:
    count = 0
    try:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            count += event["type"] == "transcription.text.delta"
    except asyncio.TimeoutError:
        return count


@pytest.mark.parametrize("encoding", AUDIO_ENCODINGS)
def test_each_encoding_reaches_the_engine_as_the_audio_it_encodes(voxnb_server, two_voices, encoding):
    audio = two_voices.slice(0, 4.0)
    encoded = encode_pcm(audio.y, encoding)
    assert len(encoded) == len(audio.y) * SAMPLE_WIDTHS[encoding]
    response, _ = take(voxnb_server, encoded, model=RT3, encoding=encoding)
    assert response["text"] == engine_text(decode_pcm(encoded, encoding))
    if encoding in ("pcm_s16le", "pcm_s32le", "pcm_f32le"):  # lossless for 16-bit audio
        assert response["text"] == engine_text(audio.y)


def test_telephone_audio_at_8_khz_is_resampled_for_the_engine(voxnb_server, two_voices):
    audio = two_voices.slice(0, 4.0).resample(8000)
    encoded = encode_pcm(audio.y, "pcm_mulaw")
    response, _ = take(voxnb_server, encoded, model=RT3, encoding="pcm_mulaw", sample_rate=8000)
    assert response["usage"]["prompt_audio_seconds"] == 4  # 32,000 bytes of µ-law at 8 kHz are 4 s
    assert response["text"].strip()


def test_the_g711_codecs_match_cpythons_audioop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # CPython's own codecs; from Python 3.13 the audioop-lts port (a dev dependency)
    pcm = np.arange(-32768, 32768, dtype="<i2").tobytes()
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    assert encode_pcm(samples, "pcm_mulaw") == audioop.lin2ulaw(pcm, 2)
    assert encode_pcm(samples, "pcm_alaw") == audioop.lin2alaw(pcm, 2)
    codes = bytes(range(256))
    for encoding, reference in (("pcm_mulaw", audioop.ulaw2lin), ("pcm_alaw", audioop.alaw2lin)):
        expected = np.frombuffer(reference(codes, 2), "<i2").astype(np.float32) / 32768
        assert np.array_equal(decode_pcm(codes, encoding), expected)
    with pytest.raises(ParameterError, match="whole number of samples"):
        decode_pcm(b"\x00\x01\x02", "pcm_s16le")


def test_context_bias_phrases_and_language_reach_the_session(voxnb_server, two_voices):
    pcm = two_voices.slice(0, 3.0).to_pcm16()
    plain, _ = take(voxnb_server, pcm, model=RT3)
    first = plain["text"].split()[0]
    phrase = f"{first[0].upper()}xyz Phrase"  # the test engine swaps words for terms of their initial
    biased, events = take(voxnb_server, pcm, model=RT3, context_bias=[phrase], language="en")
    assert phrase in biased["text"] and phrase not in plain["text"]
    echo = next(e for e in events if isinstance(e, SessionUpdated)).session
    assert echo["language"] == "en" and echo["context_bias"] == [phrase]
    with pytest.raises(ParameterError, match="takes no language"):
        RealtimeSession(voxnb_server, model=RT2, language="en")
    with pytest.raises(ParameterError, match="context_bias"):
        RealtimeSession(voxnb_server, model=RT2, context_bias=["Tango"])


def test_diarized_realtime_segments_keep_their_speakers(voxnb_server, two_voices):
    live = voxnb.transcribe_realtime(two_voices, base_url=voxnb_server, model=RT3, diarize=True, speed=None)
    events = []
    live.on_event = events.append
    items = list(live)
    transcript = items[-1]
    segments = [e for e in events if isinstance(e, SegmentEvent)]
    assert segments and all(e.speaker_id for e in segments)
    table = transcript.segments
    assert table["speaker"].notna().all() and len(transcript.speakers) == 2
    assert table["speaker"].astype(str).tolist() == [e.speaker_id for e in segments]
    assert transcript.request["diarize"] is True
    with pytest.raises(ParameterError, match="cannot label speakers"):
        RealtimeSession(voxnb_server, model=RT2, diarize=True)


def test_known_speakers_name_the_realtime_speakers(start_voxnb_server, two_voices):
    server = start_voxnb_server(engine=OracleDiarizer())
    session = RealtimeSession(server.url, model=RT3, diarize=True, speaker_references=references())
    [message] = MISTRAL.configure(session.request)
    clips = message["session"]["speaker_references"]
    assert set(clips) == {"Ada", "Ben"}
    assert base64.b64decode(clips["Ada"]) == voxnb.data.path("words_slt").read_bytes()  # the file, as base64
    response, events = asyncio.run(stream(session, two_voices.to_pcm16()))
    assert next(e for e in events if isinstance(e, SessionUpdated)).session["speaker_references"] == [
        "Ada",
        "Ben",
    ]
    assert [s["speaker_id"] for s in response["segments"]] == ["Ada", "Ben", "Ada", "Ben", "Ada"]
    assert (
        session.request.record()["speaker_references"]["Ada"] == session.request.speaker_references[0].sha256
    )


def test_turn_events_become_segment_boundaries_of_the_live_transcript(voxnb_server, two_voices):
    live = voxnb.transcribe_realtime(
        two_voices, base_url=voxnb_server, model=RT3, turn_detection={"min_silence_ms": 300}, speed=None
    )
    events = []
    live.on_event = events.append
    items = list(live)
    transcript = items[-1]
    turns = [e for e in events if isinstance(e, TurnEvent)]
    assert [e.phase for e in turns if e.phase in ("start", "end")] == ["start", "end"] * 5
    assert live.text.count("\n") == 5 and "\n" in items  # each turn ends a line of the live text
    truth = voxnb.data.turns("two_voices")
    segments = transcript.segments.head(5)
    assert np.allclose(segments["start"], truth["start"], atol=0.05)
    assert np.allclose(segments["end"], truth["end"], atol=0.05)
    lines = [line for line in live.text.split("\n") if line.strip()]
    assert [s.strip() for s in transcript.segments["text"].head(5)] == [line.strip() for line in lines[:5]]
    with pytest.raises(ParameterError, match="Diarization is not compatible with turn detection"):
        RealtimeSession(voxnb_server, model=RT3, diarize=True, turn_detection=True)
    with pytest.raises(ParameterError, match="only supported on the realtime"):
        voxnb.Client(base_url=voxnb_server, dialect="mistral").prepare(
            model="voxtral-mini-transcribe-3", turn_detection=True
        )
    with pytest.raises(ParameterError, match="no turn detection"):
        RealtimeSession(voxnb_server, model=RT2, turn_detection=True)


def test_an_in_process_session_converts_encodings_too(two_voices):
    audio = two_voices.slice(0, 3.0)
    encoded = encode_pcm(audio.y, "pcm_alaw")
    response, _ = asyncio.run(stream(RealtimeSession(engine=FakeEngine(), encoding="pcm_alaw"), encoded))
    assert response["text"] == engine_text(decode_pcm(encoded, "pcm_alaw"))


# -- the lock ------------------------------------------------------------------------------------


def test_a_setting_change_after_audio_is_refused_by_voxnb_and_by_the_server(voxnb_server, two_voices):
    from mistralai.client.models import RealtimeTranscriptionError
    from mistralai.extra.realtime.connection import parse_realtime_event
    from websockets.asyncio.client import connect

    pcm = two_voices.slice(0, 2.0).to_pcm16()

    async def with_session():
        session = RealtimeSession(voxnb_server, model=RT3)
        await session.connect()
        await session.update(context_bias=["Tango"])  # before the audio: allowed, and sent
        await session.send_audio(pcm[:32000])
        with pytest.raises(ParameterError, match="fixed from its first audio chunk") as info:
            await session.update(language="en")
        await session.send_audio(pcm[32000:])
        response = await session.finish()
        return info.value, response, session

    refused, response, session = asyncio.run(with_session())
    assert refused.option == "language" and session.request.context_bias == ("Tango",)
    assert response["text"]  # the take went on, with the settings it had

    async def raw():
        async with connect(ws_url(voxnb_server), max_size=None) as ws:
            await ws.recv()
            await ws.send(append(pcm[:3200]))
            await ws.send(json.dumps({"type": "session.update", "session": {"language": "en"}}))
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "error":
                    return event

    error = asyncio.run(raw())
    assert error["error"]["message"] == "Session fields cannot be changed after audio has started"
    assert isinstance(parse_realtime_event(error), RealtimeTranscriptionError)


def test_a_server_error_event_is_surfaced_with_the_servers_message(voxnb_server, two_voices):
    # a model voxnb does not know is taken to be Voxtral 3 (no cap on context_bias); this server's
    # engine takes at most 100 terms, and says so in an error event after the session.update
    terms = [f"Term{k}" for k in range(101)]
    assert TranscriptionRequest.create(context_bias=terms).context_bias

    async def main():
        session = RealtimeSession(voxnb_server, model="my-realtime-model", context_bias=terms)
        await session.connect()
        await session.send_audio(two_voices.slice(0, 0.5).to_pcm16())
        await session.finish()

    with pytest.raises(RealtimeError, match="accepts at most 100") as info:
        asyncio.run(main())
    assert "the realtime server reported an error (code 422)" in str(info.value)


def test_the_recorder_refuses_a_format_the_browser_does_not_send(voxnb_server):
    with pytest.raises(ParameterError, match="the browser records pcm_s16le"):
        voxnb.Recorder(base_url=voxnb_server, encoding="pcm_mulaw")
