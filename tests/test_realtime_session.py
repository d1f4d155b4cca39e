"""RealtimeSession and transcribe_realtime over real websockets on 127.0.0.1, in both dialects.

The server is the realtime endpoint of ``voxnb serve`` over the deterministic engine, whose
streamed text equals its batch text for the same audio: so "nothing lost" is checkable exactly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import numpy as np
import pytest
import websockets  # noqa: F401 - declared in voxnb[serve]: missing, the module fails to import
from realtime_helpers import TcpProxy

import voxnb
from voxnb.errors import AuthenticationError, RealtimeError, TransportError
from voxnb.local.fake import FakeEngine
from voxnb.realtime.protocol import MAX_APPEND_BYTES, Done, Reconnected, TextDelta
from voxnb.realtime.session import RealtimeSession


@pytest.fixture(scope="module")
def take():
    """Seven seconds of the bundled two-voice sample as s16le PCM, and its float samples."""
    audio = voxnb.data.audio("two_voices").slice(0, 7.0)
    return audio.to_pcm16(), audio


@pytest.fixture
def server(voxnb_server):
    """``voxnb serve`` over the deterministic engine (the suite's shared server)."""
    return voxnb_server


def batch_text(pcm: bytes) -> str:
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
    return FakeEngine().transcribe(samples)["text"]


async def stream_take(
    session: RealtimeSession, pcm: bytes, *, chunk: int = 3200, pause: float = 0.0, at_half=None
) -> tuple[dict, list]:
    events = []

    async def read():
        async for event in session.events():
            events.append(event)

    reader = asyncio.create_task(read())
    for i in range(0, len(pcm), chunk):
        if at_half is not None and i >= len(pcm) // 2:
            await at_half()
            at_half = None
        await session.send_audio(pcm[i : i + chunk])
        if pause:
            await asyncio.sleep(pause)
    response = await session.finish()
    await reader
    return response, events


def take_through(url: str, pcm: bytes, **options) -> tuple[dict, list]:
    """Stream *pcm* through a new session on *url*; the response and every event."""

    async def main():
        async with RealtimeSession(url, **options) as session:
            return await stream_take(session, pcm)

    return asyncio.run(main())


@pytest.mark.parametrize("dialect", ["mistral", "vllm"])
def test_streamed_take_matches_batch_text(server, take, dialect):
    pcm, _ = take
    response, events = take_through(server, pcm, dialect=dialect, model="any-model")
    expected = batch_text(pcm)
    assert expected.strip()  # the fixture is speech, not silence
    assert response["text"] == expected
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert deltas == expected  # the live text is the final text
    assert isinstance(events[-1], Done)
    assert response["realtime"] == {"sessions": 1, "gaps": []}
    if dialect == "mistral":
        assert response["model"] == FakeEngine.model
        assert response["usage"]["prompt_audio_seconds"] == 7


def test_in_process_engine_session(take):
    pcm, _ = take

    async def main():
        async with RealtimeSession(engine=FakeEngine()) as session:
            return await stream_take(session, pcm, chunk=16000)

    response, _ = asyncio.run(main())
    assert response["text"] == batch_text(pcm)


def test_large_sends_are_split_under_the_limit(server, take):
    pcm, _ = take
    big = pcm * 3  # 672 kB in one send_audio call: must reach the server as several appends

    async def main():
        async with RealtimeSession(server) as session:
            await session.send_audio(big)
            return await session.finish()

    assert len(big) > 2 * MAX_APPEND_BYTES
    # the endpoint refuses an append over the limit with an error event, which would raise here
    assert asyncio.run(main())["text"] == batch_text(big)


def test_oversized_append_gets_an_error_event_from_the_server(server):
    async def main():
        from websockets.asyncio.client import connect

        url = server.replace("http", "ws") + "/v1/audio/transcriptions/realtime"
        async with connect(url, max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            pcm = bytes(MAX_APPEND_BYTES + 2)
            await ws.send(json.dumps({"type": "input_audio.append", "audio": base64.b64encode(pcm).decode()}))
            return json.loads(await ws.recv())

    event = asyncio.run(main())
    assert event["type"] == "error" and event["error"]["code"] == 413
    assert "262144" in event["error"]["message"]


class BrokenEngine(FakeEngine):
    """Fails after the first second of audio, as a crashing model would."""

    def stream(self, pcm_chunks):
        received = 0
        for chunk in pcm_chunks:
            received += len(chunk)
            if received > 32000:
                raise RuntimeError("CUDA out of memory (simulated)")
        yield from ()


def test_error_event_raises_realtime_error_with_server_message(start_voxnb_server, take):
    pcm, _ = take
    with pytest.raises(RealtimeError, match="CUDA out of memory"):
        take_through(start_voxnb_server(BrokenEngine()).url, pcm)


def test_no_reconnection_after_the_engine_reported_an_error(take):
    pcm, _ = take

    async def main():
        session = RealtimeSession(engine=BrokenEngine())
        await session.connect()
        await session.send_audio(pcm[:64000])
        with pytest.raises(RealtimeError, match="CUDA out of memory"):
            async for _ in session.events():
                pass
        await asyncio.sleep(0.3)  # a reconnection would have been made by now
        await session.close()
        return session

    session = asyncio.run(main())
    assert len(session.parts) == 1 and session.gaps == []


def test_a_frame_that_is_not_json_fails_the_take_at_once():
    from websockets.asyncio.server import serve

    from voxnb.errors import ResponseFormatError

    async def handler(ws):
        await ws.send(json.dumps({"type": "session.created", "session": {"model": "m"}}))
        await ws.send("<html>proxy error</html>")
        await ws.wait_closed()

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            session = RealtimeSession(f"http://127.0.0.1:{port}", finish_timeout=10)
            await session.connect()
            await asyncio.sleep(0.1)
            with pytest.raises(ResponseFormatError, match="not JSON"):
                await session.finish()  # raised at once, not a timeout waiting for a done
            await session.close()

    asyncio.run(main())


def test_dropped_socket_reconnects_and_loses_nothing_committed(server, take):
    pcm, _ = take
    committed_before_drop = []

    async def main():
        async with TcpProxy(server) as proxy:
            session = RealtimeSession(proxy.url, max_reconnects=10)
            await session.connect()

            async def cut():
                await asyncio.sleep(0.3)  # let the deltas of the first half arrive
                committed_before_drop.append(session.text)
                proxy.cut()  # a network failure: no close frame

            result = await stream_take(session, pcm, pause=0.01, at_half=cut)
            return result, proxy.connections

    (response, events), connections = asyncio.run(main())
    assert connections == 2
    gaps = [e for e in events if isinstance(e, Reconnected)]
    assert len(gaps) == 1 and response["realtime"]["sessions"] == 2
    gap = response["realtime"]["gaps"][0]
    assert 2.5 < gap["at"] <= 3.6 and gap["offline"] >= 0 and gap["reason"]
    before = committed_before_drop[0].strip()
    assert len(before.split()) >= 4
    assert response["text"].startswith(before)  # committed text survived the drop
    # every byte was sent to a server: the second session got exactly the rest of the take
    assert response["text"].split()[len(before.split()) :]  # and transcribed after the gap


def test_reconnect_gives_up_with_a_clear_error(server, take):
    pcm, _ = take

    async def main():
        async with TcpProxy(server) as proxy:
            session = RealtimeSession(proxy.url, max_reconnects=2)
            await session.connect()
            await session.send_audio(pcm[:32000])
            proxy.refuse()  # the server is gone for good
            proxy.cut()
            await asyncio.sleep(0.2)
            await session.send_audio(pcm[32000:64000])
            await session.finish()

    with pytest.raises(RealtimeError, match=r"attempts to reconnect failed.*re-transcribe"):
        asyncio.run(main())


def test_wrong_key_is_refused_and_never_echoed(start_voxnb_server, guarded_api_key, take):
    pcm, _ = take
    locked_server = start_voxnb_server(api_key=guarded_api_key).url

    async def run(key):
        async with RealtimeSession(locked_server, api_key=key) as session:
            await session.send_audio(pcm[:32000])
            return await session.finish()

    with pytest.raises(AuthenticationError) as info:
        asyncio.run(run("sk-wrong-key-abcdef"))
    assert "sk-wrong-key-abcdef" not in str(info.value)
    assert "sk-wrong" not in repr(RealtimeSession(locked_server, api_key="sk-wrong-key-abcdef"))
    assert asyncio.run(run(guarded_api_key))["text"] == batch_text(pcm[:32000])


def test_debug_logs_never_show_the_key(start_voxnb_server, guarded_api_key, caplog):
    url = start_voxnb_server(api_key=guarded_api_key).url

    async def main():
        async with RealtimeSession(url, api_key=guarded_api_key) as session:
            await session.send_audio(bytes(3200))
            await session.finish()

    with caplog.at_level(logging.DEBUG, logger="websockets"):
        asyncio.run(main())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "Authorization: Bearer <redacted>" in text  # the handshake was logged, without the key
    assert guarded_api_key not in text


def test_unreachable_server_is_a_transport_error():
    async def main():
        async with RealtimeSession("http://127.0.0.1:9", open_timeout=2):
            pass

    with pytest.raises(TransportError, match="could not reach"):
        asyncio.run(main())


def test_transcribe_realtime_from_a_file_yields_deltas_then_transcript(server, take, tmp_path):
    pcm, audio = take
    path = audio.save(tmp_path / "take.wav")

    async def main():
        items = []
        async for item in voxnb.transcribe_realtime(path, base_url=server, speed=None):
            items.append(item)
        return items

    items = asyncio.run(main())
    *deltas, transcript = items
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(transcript, voxnb.Transcript)
    sent = voxnb.Audio.load(path).to_pcm16()
    assert transcript.text.strip() == batch_text(sent).strip() == "".join(deltas).strip()
    assert transcript.backend == "mistral" and transcript.raw["realtime"]["sessions"] == 1
    # the take's audio is kept, sample for sample
    assert transcript.audio.to_pcm16() == sent
    np.testing.assert_allclose(np.frombuffer(sent, "<i2"), np.frombuffer(pcm, "<i2"), atol=1)


def test_transcribe_realtime_paces_and_iterates_synchronously(server, take):
    pcm, _ = take
    short = pcm[: 2 * 32000]

    async def chunks():
        for i in range(0, len(short), 3200):
            yield short[i : i + 3200]

    live = voxnb.transcribe_realtime(chunks(), base_url=server, dialect="vllm", model="voxtral")
    items = list(live)  # sync iteration runs the take on a helper thread
    assert isinstance(items[-1], voxnb.Transcript)
    assert live.transcript.text.strip() == batch_text(short).strip()
    assert live.seconds == pytest.approx(2.0)


def test_stop_ends_a_take_early_and_keeps_what_was_sent(server, take):
    pcm, _ = take

    async def main():
        live = voxnb.transcribe_realtime(pcm_wav(pcm), base_url=server, speed=20)
        async for item in live:
            if isinstance(item, str):
                live.stop()
        return live

    live = asyncio.run(main())
    assert 0 < live.seconds < 7.0
    assert live.transcript.text.strip() == batch_text(live.audio.to_pcm16()).strip()


def test_a_failed_take_releases_its_source_at_once(take):
    pcm, _ = take
    state = {"sent": 0, "closed": False}

    async def endless():  # a live source (a microphone) that only its consumer can end
        try:
            while True:
                await asyncio.sleep(0.005)
                state["sent"] += 1
                yield pcm[:3200]
        finally:
            state["closed"] = True

    async def main():
        live = voxnb.transcribe_realtime(endless(), engine=BrokenEngine())
        with pytest.raises(RealtimeError, match="CUDA out of memory"):
            async for _ in live:
                pass
        return state["closed"]  # asked before asyncio.run's own clean-up of generators

    assert asyncio.run(main()) and state["sent"] > 10


def pcm_wav(pcm: bytes):
    from voxnb.audio import Audio

    return Audio.from_array(np.frombuffer(pcm, "<i2"), 16000)


def test_microphone_source_uses_sounddevice(monkeypatch, server, take):
    import sys
    import threading
    import types

    pcm, _ = take
    opened = {}

    class FakeStream:  # stands in for the PortAudio device: delivers the take in 100 ms blocks
        def __init__(self, *, samplerate, channels, dtype, device, blocksize, callback):
            opened.update(samplerate=samplerate, channels=channels, dtype=dtype, blocksize=blocksize)
            self.callback = callback
            self.running = True

        def __enter__(self):
            def run():
                for i in range(0, 32000 * 2, 3200):
                    if not self.running:
                        return
                    self.callback(pcm[i : i + 3200], 1600, None, None)
                    threading.Event().wait(0.005)

            threading.Thread(target=run, daemon=True).start()
            return self

        def __exit__(self, *exc):
            self.running = False

    monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(RawInputStream=FakeStream))

    async def main():
        live = voxnb.transcribe_realtime("microphone", base_url=server)
        async for item in live:
            if isinstance(item, str) and live.seconds >= 1.9:
                live.stop()
        return live

    live = asyncio.run(main())
    assert opened == {"samplerate": 16000, "channels": 1, "dtype": "int16", "blocksize": 1600}
    assert live.seconds >= 1.9
    assert live.transcript.text.strip() == batch_text(live.audio.to_pcm16()).strip()


@pytest.mark.slow
def test_offline_engine_behind_voxnb_serve_hears_the_words(start_voxnb_server):
    """A real recogniser: the streamed take's final text holds the spoken words."""
    from voxnb.local.engine import get_engine

    engine = get_engine()  # a declared dependency (voxnb[offline]): failing to load it is a failure
    url = start_voxnb_server(engine).url
    clip = voxnb.data.audio("two_voices").slice(0, 6.6)  # "Can you hear me clearly on the recording? ..."
    live = voxnb.transcribe_realtime(clip, base_url=url, speed=None)
    items = list(live)
    deltas = [item for item in items if isinstance(item, str)]
    text = live.transcript.text.lower()
    assert len(deltas) >= 2  # committed piece by piece, not in one block at the end
    assert sum(word in text for word in ["hear", "clearly", "recording", "sound", "fine", "room"]) >= 5, text
    assert live.transcript.model == engine.model and live.transcript.segments.shape[0] >= 1
    assert live.transcript.segments["end"].max() <= clip.duration + 0.5


def test_microphone_without_sounddevice_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if not installed

    async def main():
        async for _ in voxnb.realtime.microphone():
            pass

    with pytest.raises(voxnb.MissingDependencyError, match=r"voxnb\[widgets\]"):
        asyncio.run(main())


def test_finishing_without_audio_gives_an_empty_take(server):
    async def main():
        session = RealtimeSession(server)
        return await session.finish()  # never connected, never sent: still a valid response

    response = asyncio.run(main())
    assert response["text"].strip() == "" and response["realtime"]["sessions"] == 1


class ChattyEngine(FakeEngine):
    """Also emits an event type this voxnb does not know, as a newer server might."""

    def stream(self, pcm_chunks):
        yield {"type": "transcription.future_feature", "detail": {"x": 1}}
        yield from super().stream(pcm_chunks)


def test_unknown_server_events_are_ignored(start_voxnb_server, take):
    pcm, _ = take
    response, events = take_through(start_voxnb_server(ChattyEngine()).url, pcm)
    from voxnb.realtime.protocol import UnknownEvent

    assert [e.type_name for e in events if isinstance(e, UnknownEvent)] == ["transcription.future_feature"]
    assert response["text"] == batch_text(pcm)


@pytest.mark.network_key
def test_mistral_realtime_with_a_real_key():
    """Opt-in: the real Mistral realtime endpoint (needs MISTRAL_API_KEY and the internet)."""
    import os

    if not os.environ.get("MISTRAL_API_KEY"):
        pytest.skip("MISTRAL_API_KEY is not set (opt-in test against api.mistral.ai)")
    clip = voxnb.data.audio("two_voices").slice(0, 6.6)
    live = voxnb.transcribe_realtime(clip, speed=4, target_streaming_delay_ms=480)
    list(live)
    text = live.transcript.text.lower()
    assert sum(word in text for word in ["hear", "clearly", "recording", "sound", "fine", "room"]) >= 5, text
