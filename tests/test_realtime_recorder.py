"""The Recorder's browser-kernel boundary, without a browser: messages in, trait updates out."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import voxnb
from voxnb.errors import ParameterError, RealtimeError
from voxnb.local.fake import FakeEngine
from voxnb.realtime.recorder import ACK_EVERY, Recorder, _background_loop


@pytest.fixture(scope="module")
def pcm():
    return voxnb.data.audio("two_voices").slice(0, 4.0).to_pcm16()


def expected_text(pcm: bytes) -> str:
    return FakeEngine().transcribe(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0)["text"]


def record(rec: Recorder, pcm: bytes, chunk: int = 3200) -> None:
    rec.handle_message({"type": "ready"})
    rec.handle_message(
        {"type": "start", "ctx_rate": 44100, "mode": "worklet", "track": {"sampleRate": 44100}}
    )
    for seq, i in enumerate(range(0, len(pcm), chunk)):
        rec.handle_message({"type": "chunk", "seq": seq, "level": 0.1}, [memoryview(pcm[i : i + chunk])])
    rec.handle_message({"type": "stop", "sent": -(-len(pcm) // chunk)})


def test_widget_ships_its_js_and_css_as_files():
    here = Path(voxnb.realtime.recorder.__file__).parent
    js = (here / "recorder.js").read_text()
    css = (here / "recorder.css").read_text()
    assert str(Recorder._esm) == js and str(Recorder._css) == css
    for cls in (
        "voxnb-recorder-start",
        "voxnb-recorder-stop",
        "voxnb-recorder-text",
        "voxnb-recorder-status",
    ):
        assert f'"{cls}"' in js
    assert ".voxnb-recorder-text" in css and ".voxnb-recorder-status" in css
    # the worklet reads the context's own rate and never assumes 48 kHz
    assert "ctx.sampleRate" in js and "48000" not in js


def test_take_with_in_process_engine(pcm):
    sent = []
    rec = Recorder(engine=FakeEngine())
    rec.send = lambda content, buffers=None: sent.append(content)  # what the browser would receive
    assert rec.status == "idle" and "offline engine" in rec.backend
    record(rec, pcm)
    transcript = rec.wait(timeout=30)
    assert rec.rendered and rec.status == "done"
    assert transcript.text.strip() == expected_text(pcm).strip()
    assert rec.text.strip() == transcript.text.strip()
    assert rec.audio.to_pcm16() == pcm and rec.seconds == pytest.approx(4.0)
    assert transcript.audio.to_pcm16() == pcm
    assert rec.capture["ctx_rate"] == 44100
    assert sent[0] == {"type": "started"}
    assert [m["seq"] for m in sent[1:]] == list(range(0, 40, ACK_EVERY))


def test_take_against_the_server_and_retranscribe(voxnb_server, pcm):
    rec = Recorder(base_url=voxnb_server)
    record(rec, pcm, chunk=1600)
    assert rec.transcript.text.strip() == expected_text(pcm).strip()
    assert rec.gaps == []
    # the batch endpoint of the same server re-transcribes the captured take
    assert rec.retranscribe().text.strip() == expected_text(pcm).strip()
    # the batch endpoint of the same system takes context_bias; the in-process engine shows it
    rec_local = Recorder(engine=FakeEngine())
    record(rec_local, pcm)
    first = rec_local.transcript.text.split()[0]
    term = first[0].upper() + "oxnbterm"  # the test engine swaps a word for a bias term of its initial
    biased = rec_local.retranscribe(context_bias=[term])
    assert term in biased.text and term not in rec_local.transcript.text
    assert biased.request.get("context_bias") == [term]


class GatedEngine(FakeEngine):
    """Holds its first take's final response until released, as a slow server finishing a long take."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.takes = 0

    def stream(self, pcm_chunks):
        self.takes += 1
        gated = self.takes == 1
        for event in super().stream(pcm_chunks):
            if gated and event.get("type") == "transcription.done":
                self.gate.wait(30)
            yield event


def test_a_take_still_finishing_never_touches_the_next_one(pcm):
    engine = GatedEngine()
    rec = Recorder(engine=engine)
    rec.send = lambda *args, **kwargs: None
    record(rec, pcm)  # take 1: Stop pressed, its final words held back
    first = rec._live
    assert rec.status == "finishing"
    second_pcm = pcm[: len(pcm) // 2]
    record(rec, second_pcm)  # Start again at once (the button is enabled after Stop)
    second = rec.wait(timeout=30)
    assert rec.status == "done" and second.audio.to_pcm16() == second_pcm
    engine.gate.set()  # take 1 finishes now, after take 2
    deadline = time.monotonic() + 30
    while first.transcript is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.transcript is not None and first.transcript.text != second.text
    loop = _background_loop()
    for _ in range(3):  # let take 1's recorder task run to its end
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.01), loop).result(timeout=5)
    assert (
        rec.status == "done" and rec.text.strip() == second.text.strip() == expected_text(second_pcm).strip()
    )
    assert rec.transcript is second and rec.audio.to_pcm16() == second_pcm


def test_chunk_handling_never_blocks_even_when_the_take_is_stuck(pcm):
    # the comm handler only appends and hands over: with the takes' event loop frozen, every
    # message is still handled at once, and the take then completes with every chunk
    rec = Recorder(engine=FakeEngine())
    sent = []
    rec.send = lambda content, buffers=None: sent.append(content)
    loop = _background_loop()
    frozen, release = threading.Event(), threading.Event()

    def freeze():
        frozen.set()
        release.wait(30)

    loop.call_soon_threadsafe(freeze)
    assert frozen.wait(10)
    try:
        record(rec, pcm)
        assert rec.status == "finishing" and rec.seconds == pytest.approx(4.0)
        assert sent[0] == {"type": "started"} and len(sent) == 1 + -(-40 // ACK_EVERY)
    finally:
        release.set()
    assert rec.wait(timeout=30).audio.to_pcm16() == pcm
    assert rec.text.strip() == expected_text(pcm).strip()


def test_boundary_errors_are_clear(pcm):
    rec = Recorder(engine=FakeEngine())
    with pytest.raises(RealtimeError, match=r"nothing recorded yet.*Content-Security-Policy allows blob:"):
        _ = rec.transcript  # never rendered: the message says why the widget may be missing
    rec.handle_message({"type": "ready"})
    with pytest.raises(RealtimeError, match=r"press Start, speak, then press Stop$"):
        _ = rec.audio
    with pytest.raises(ParameterError, match="unknown recorder message"):
        rec.handle_message({"type": "bogus"})
    rec.handle_message({"type": "start"})
    with pytest.raises(ParameterError, match="binary buffer"):
        rec.handle_message({"type": "chunk", "seq": 0}, [])
    with pytest.raises(RealtimeError, match="still recording"):
        _ = rec.transcript
    rec.handle_message({"type": "error", "message": "Microphone permission was denied."})
    assert rec.status == "error" and "denied" in rec.message
    with pytest.raises(ParameterError, match="chunk_ms"):
        Recorder(engine=FakeEngine(), chunk_ms=5)


def test_failed_connection_keeps_the_audio(pcm):
    rec = Recorder(base_url="http://127.0.0.1:9", open_timeout=1)
    record(rec, pcm)
    with pytest.raises(voxnb.TransportError, match="could not reach"):
        rec.wait(timeout=30)
    assert rec.status == "error" and "rec.audio" in rec.message
    assert rec.audio.to_pcm16() == pcm  # nothing captured is lost


def run_resampler(samples: np.ndarray, in_rate: int, tmp_path: Path) -> np.ndarray:
    """Run recorder.js's resampler under Node on float32 *samples*; returns the 16 kHz int16 output."""
    import shutil
    import subprocess

    node = shutil.which("node")
    assert node is not None, "node is not installed (as root, `make test` installs the Debian package nodejs)"
    js = (Path(voxnb.realtime.recorder.__file__).parent / "recorder.js").read_text()
    resampler = js[js.index("class Pcm16Resampler") : js.index("function mixToMono")]
    samples.astype("<f4").tofile(tmp_path / "in.f32")
    script = (
        resampler
        + f"""
const fs = require("fs");
const raw = fs.readFileSync({str(tmp_path / "in.f32")!r});
const x = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
const out = [];
const rs = new Pcm16Resampler({in_rate}, 16000, 1600, (ab) => out.push(Buffer.from(ab)));
for (let i = 0; i < x.length; i += 128) rs.push(x.subarray(i, i + 128));  // render quanta
rs.end();
fs.writeFileSync({str(tmp_path / "out.s16")!r}, Buffer.concat(out));
"""
    )
    (tmp_path / "run.js").write_text(script)
    subprocess.run([node, str(tmp_path / "run.js")], check=True, timeout=60)
    return np.fromfile(tmp_path / "out.s16", "<i2").astype(np.float64) / 32768.0


@pytest.mark.parametrize("in_rate", [44100, 48000])
def test_browser_resampler_keeps_speech_and_rejects_aliases(in_rate, tmp_path):
    import soxr

    speech = voxnb.data.audio("two_voices").slice(0, 3.0).y.astype(np.float64)
    captured = soxr.resample(speech, 16000, in_rate, quality="VHQ")  # what the microphone delivers
    out = run_resampler(captured, in_rate, tmp_path)
    assert abs(len(out) - len(speech)) <= 2  # no samples lost or invented, no offset at the start
    n = min(len(out), len(speech)) - 40
    ncc = float(out[:n] @ speech[:n] / (np.linalg.norm(out[:n]) * np.linalg.norm(speech[:n])))
    assert ncc > 0.99
    # a 10 kHz tone is above the 8 kHz Nyquist of 16 kHz: a proper low-pass removes it, a box
    # filter or plain decimation would fold it down to 6 kHz
    t = np.arange(in_rate) / in_rate
    tone = run_resampler(0.5 * np.sin(2 * np.pi * 10_000 * t), in_rate, tmp_path)
    assert np.sqrt(np.mean(tone[100:-100] ** 2)) < 0.01 * 0.5 / np.sqrt(2)


def test_take_in_the_vllm_dialect(voxnb_server, pcm):
    with pytest.raises(ParameterError, match="model="):
        Recorder(base_url=voxnb_server, dialect="vllm")
    rec = Recorder(base_url=voxnb_server, dialect="vllm", model="mistralai/Voxtral-Mini-4B-Realtime-2602")
    record(rec, pcm)
    transcript = rec.wait(timeout=30)
    assert (
        transcript.backend == "openai-compatible"
        and transcript.request["model"] == "mistralai/Voxtral-Mini-4B-Realtime-2602"
    )
    assert transcript.text.strip() == expected_text(pcm).strip()


def test_dropped_connection_mid_take_is_recorded_and_loses_no_audio(voxnb_server, pcm):
    import asyncio

    from realtime_helpers import TcpProxy

    from voxnb.realtime.recorder import _background_loop

    loop = _background_loop()
    proxy = TcpProxy(voxnb_server)
    asyncio.run_coroutine_threadsafe(proxy.__aenter__(), loop).result(timeout=10)
    try:
        rec = Recorder(base_url=proxy.url, dialect="mistral")
        rec.send = lambda *args, **kwargs: None
        rec.handle_message({"type": "start", "ctx_rate": 44100, "mode": "worklet"})
        half = len(pcm) // 2 // 3200 * 3200
        for seq, i in enumerate(range(0, half, 3200)):
            rec.handle_message({"type": "chunk", "seq": seq}, [pcm[i : i + 3200]])
        deadline = time.monotonic() + 10
        while not rec._live.text and time.monotonic() < deadline:  # the first words came back
            time.sleep(0.05)
        committed = rec._live.text.strip()
        loop.call_soon_threadsafe(proxy.cut)
        time.sleep(0.3)
        for seq, i in enumerate(range(half, len(pcm), 3200), start=half // 3200):
            rec.handle_message({"type": "chunk", "seq": seq}, [pcm[i : i + 3200]])
        rec.handle_message({"type": "stop"})
        transcript = rec.wait(timeout=30)
    finally:
        asyncio.run_coroutine_threadsafe(proxy.__aexit__(None, None, None), loop).result(timeout=10)
    assert committed and transcript.text.strip().startswith(committed)
    assert len(rec.gaps) == 1 and transcript.raw["realtime"]["sessions"] == 2
    assert transcript.raw["realtime"]["gaps"][0]["reason"]
    assert rec.audio.to_pcm16() == pcm  # every captured chunk kept, across the drop
    assert proxy.connections == 2
