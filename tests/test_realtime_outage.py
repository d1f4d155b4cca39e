"""Realtime takes ride out the network: a killed server, a refusing one, a buffer that fills up.

With default settings a take survives a drop of well over 10 s: the session reconnects with
backoff for 30 s, the audio captured meanwhile is held and sent to the new session, and the gap is
recorded in the transcript. The deterministic engine streams exactly its batch text, so "the text
after the gap is there" is checked word for word.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import numpy as np
import pytest
from realtime_helpers import TcpProxy

import voxnb
from voxnb.errors import RealtimeError
from voxnb.local.fake import FakeEngine
from voxnb.realtime.protocol import SAMPLE_RATE, Disconnected, Reconnected, TextDelta
from voxnb.realtime.session import RealtimeSession
from voxnb.serve import ServerProcess

BYTES_PER_SECOND = SAMPLE_RATE * 2


def batch_text(pcm: bytes) -> str:
    return FakeEngine().transcribe(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0)["text"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Twenty seconds of the bundled dialogue, as a file and as PCM."""
    audio = voxnb.data.audio("dialogue").slice(0, 20.0)
    path = tmp_path_factory.mktemp("outage") / "twenty.wav"
    audio.save(path)
    return path, voxnb.Audio.load(path).to_pcm16()


@pytest.mark.slow
def test_a_server_killed_and_restarted_5_s_later_loses_no_captured_audio(speech):
    path, pcm = speech
    server = ServerProcess(engine="fake").start()
    timeline: dict[str, float] = {}

    def outage() -> None:
        time.sleep(6.0)
        server.kill()  # SIGKILL: no close frame, the socket just dies
        timeline["killed"] = time.monotonic()
        time.sleep(5.0)
        server.start()  # the same port
        timeline["back"] = time.monotonic()

    items: list[tuple[float, object]] = []
    try:
        live = voxnb.transcribe_realtime(path, base_url=server.url, speed=1.0)  # default settings
        killer = threading.Thread(target=outage)
        killer.start()
        for item in live:
            items.append((time.monotonic(), item))
        killer.join()
    finally:
        server.stop()
    transcript = live.transcript
    deltas_after = [item for at, item in items if isinstance(item, str) and at > timeline["back"]]
    gap = transcript.raw["realtime"]["gaps"]
    # 0 captured audio lost: what the take holds is the source, sample for sample, and all of it was sent
    assert live.audio.to_pcm16() == pcm and live.session.bytes_sent == len(pcm)
    # the gap is recorded in the transcript, where it happened and for how long
    assert len(live.gaps) == 1 and len(gap) == 1 and transcript.raw["realtime"]["sessions"] == 2
    assert 5.0 <= gap[0]["offline"] < 15 and 4.0 < gap[0]["at"] < 9.0 and gap[0]["reason"]
    # the text after the gap: the second session heard exactly the rest of the take
    rest = batch_text(pcm[round(gap[0]["at"] * BYTES_PER_SECOND) :])
    assert deltas_after and rest and transcript.text.endswith(rest)
    print(
        f"\noutage: offline {gap[0]['offline']:.1f} s at {gap[0]['at']:.1f} s of the take; "
        f"{len(pcm) / BYTES_PER_SECOND:.1f} s captured, {live.session.bytes_sent / BYTES_PER_SECOND:.1f} s sent; "
        f"{gap[0]['in_flight']:.1f} s sent to the killed server after its last words; "
        f"{len(rest.split())} words after the gap"
    )


def test_the_recorder_says_reconnecting_and_keeps_recording(voxnb_server):
    from voxnb.realtime.recorder import Recorder, _background_loop

    pcm = voxnb.data.audio("two_voices").slice(0, 6.0).to_pcm16()
    loop = _background_loop()
    proxy = TcpProxy(voxnb_server)
    asyncio.run_coroutine_threadsafe(proxy.__aenter__(), loop).result(timeout=10)
    messages: list[str] = []
    try:
        rec = Recorder(base_url=proxy.url, dialect="mistral")
        rec.send = lambda *args, **kwargs: None
        rec.observe(lambda change: messages.append(change["new"]), names="message")
        rec.handle_message({"type": "start", "ctx_rate": 48000, "mode": "worklet"})
        chunks = [pcm[i : i + 3200] for i in range(0, len(pcm), 3200)]
        for seq, chunk in enumerate(chunks[:30]):
            rec.handle_message({"type": "chunk", "seq": seq}, [chunk])
        time.sleep(0.5)
        loop.call_soon_threadsafe(proxy.refuse)
        loop.call_soon_threadsafe(proxy.cut)  # the network is gone for a while
        for seq, chunk in enumerate(chunks[30:], start=30):  # recording goes on meanwhile
            rec.handle_message({"type": "chunk", "seq": seq}, [chunk])
            time.sleep(0.05)
        offline_message = rec.message
        loop.call_soon_threadsafe(proxy.accept)
        rec.handle_message({"type": "stop"})
        transcript = rec.wait(timeout=60)
    finally:
        asyncio.run_coroutine_threadsafe(proxy.__aexit__(None, None, None), loop).result(timeout=10)
    assert "reconnecting…" in offline_message
    assert any("reconnected after" in m for m in messages) and rec.status == "done"
    assert rec.audio.to_pcm16() == pcm and len(rec.gaps) == 1
    assert transcript.raw["realtime"]["sessions"] == 2


def take_through_outage(url: str, pcm: bytes, *, down_for: float, **options) -> tuple[RealtimeSession, list]:
    """Stream *pcm* in 100 ms chunks at 10x speed; the network goes down at a third for *down_for* s."""
    events: list = []

    async def main() -> RealtimeSession:
        async with TcpProxy(url) as proxy:
            session = RealtimeSession(proxy.url, **options)
            await session.connect()
            reader = asyncio.create_task(collect(session))
            cut_at = len(pcm) // 3 // 3200 * 3200
            try:
                for i in range(0, len(pcm), 3200):
                    if i == cut_at:
                        proxy.refuse()
                        proxy.cut()
                        asyncio.get_running_loop().call_later(down_for, proxy.accept)
                    await session.send_audio(pcm[i : i + 3200])
                    await asyncio.sleep(0.01)
                await session.finish()
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)  # it ends with the take's error too
                await session.close()
            return session

    async def collect(session: RealtimeSession) -> None:
        async for event in session.events():
            events.append(event)

    return asyncio.run(main()), events


def test_audio_sent_while_offline_is_held_and_sent_after_reconnecting(voxnb_server):
    pcm = voxnb.data.audio("two_voices").slice(0, 6.0).to_pcm16()
    session, events = take_through_outage(voxnb_server, pcm, down_for=2.0)
    kinds = [type(e) for e in events]
    assert (
        Disconnected in kinds
        and Reconnected in kinds
        and kinds.index(Disconnected) < kinds.index(Reconnected)
    )
    gap = session.gaps[0]
    assert gap.offline >= 1.5 and session.bytes_sent == len(pcm)
    # the new session got every byte from where the old one stopped, the held ones first
    second = batch_text(pcm[round(gap.at * BYTES_PER_SECOND) :])
    assert session.response()["text"].endswith(second)
    assert any(isinstance(e, TextDelta) for e in events[kinds.index(Reconnected) :])


def test_past_the_buffer_the_take_fails_clearly_and_the_caller_keeps_the_audio(voxnb_server):
    pcm = voxnb.data.audio("two_voices").slice(0, 6.0).to_pcm16()
    with pytest.raises(RealtimeError, match=r"more than max_buffer_seconds=1.*captured is kept"):
        take_through_outage(voxnb_server, pcm, down_for=30.0, max_buffer_seconds=1.0)


def test_past_the_reconnect_budget_the_take_fails_clearly(voxnb_server):
    pcm = voxnb.data.audio("two_voices").slice(0, 6.0).to_pcm16()
    # the server stays down for a minute: a take that ignored the budget would reconnect after it
    # and succeed; this one gives up, and only once the budget is spent
    with pytest.raises(
        RealtimeError, match=r"attempts to reconnect failed over .*raise reconnect_timeout"
    ) as info:
        take_through_outage(voxnb_server, pcm, down_for=60.0, reconnect_timeout=1.5)
    attempts, span = re.search(
        r"and (\d+) attempts to reconnect failed over ([\d.]+) s", str(info.value)
    ).groups()
    assert int(attempts) >= 2 and float(span) >= 1.5
