"""Realtime path costs: the kernel's work per recorder chunk, and a file at 10x real time.

Setup: ``python -m voxnb serve --engine fake`` in its own process on 127.0.0.1 (the deterministic
engine: its text depends on every 0.4 s window of samples, so one dropped or reordered byte
changes the words).

1. **Kernel-side cost per chunk**: a :class:`voxnb.Recorder` receives 100 ms chunks (3,200 bytes)
   exactly as its comm handler does (``handle_message``), at 5x real-time pace; measured from the
   call until the websocket send of that chunk's append message returns. Baselines in the same
   run: a bare ``websockets`` send of an already-encoded append message on an open socket (the
   floor), and the 2 ms goal. Also the share of it spent on the kernel's own thread (the comm
   handler; the rest runs on the recorder's background loop).
2. **A file at 10x real time**: the 45 s sample dialogue through ``transcribe_realtime(speed=10)``
   to the server; checks that nothing was dropped (captured audio == the file's PCM, and the
   server's text == the engine's batch text of the same PCM) and reports the wall time against
   the ideal (duration / 10).

Run: ``python benchmarks/realtime.py [--chunks 300] [--repeats 3] [--engine fake|local]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import numpy as np

import voxnb
from voxnb.local.fake import FakeEngine
from voxnb.realtime import session as session_module
from voxnb.realtime.protocol import MISTRAL
from voxnb.serve import ServerProcess


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def recorder_chunk_costs(url: str, pcm: bytes, n_chunks: int) -> tuple[list[float], list[float]]:
    """(receive -> websocket send) and (time on the comm handler's thread) per chunk, in seconds."""
    sent_at: list[float] = []
    original_send = session_module._WebsocketTransport.send

    async def timed_send(self, message):
        await original_send(self, message)
        if message["type"] == MISTRAL.append_type:
            sent_at.append(time.perf_counter())

    session_module._WebsocketTransport.send = timed_send
    try:
        rec = voxnb.Recorder(base_url=url)
        rec.send = lambda *args, **kwargs: None  # no browser: the acks go nowhere
        rec.handle_message({"type": "start", "ctx_rate": 48000, "mode": "worklet"})
        time.sleep(0.5)  # let the session connect, as it does while the user starts speaking
        received_at, handler = [], []
        step = 3200
        for seq in range(n_chunks):
            offset = (seq * step) % (len(pcm) - step)
            chunk = memoryview(pcm[offset : offset + step])
            t0 = time.perf_counter()
            rec.handle_message({"type": "chunk", "seq": seq, "level": 0.1}, [chunk])
            handler.append(time.perf_counter() - t0)
            received_at.append(t0)
            time.sleep(0.02)  # 5x real time
        rec.handle_message({"type": "stop", "sent": n_chunks})
        rec.wait(timeout=120)
    finally:
        session_module._WebsocketTransport.send = original_send
    assert len(sent_at) == n_chunks, f"{len(sent_at)} appends sent for {n_chunks} chunks"
    return [s - r for r, s in zip(received_at, sent_at)], handler


async def bare_send_costs(url: str, pcm: bytes, n: int) -> list[float]:
    from websockets.asyncio.client import connect

    message = json.dumps(MISTRAL.append(pcm[:3200])[0])
    costs = []
    async with connect(MISTRAL.url(url, None), compression=None, max_size=None) as ws:
        await ws.recv()
        for _ in range(n):
            t0 = time.perf_counter()
            await ws.send(message)
            costs.append(time.perf_counter() - t0)
            await asyncio.sleep(0.02)
        await ws.send(json.dumps({"type": "input_audio.end"}))
        async for _ in ws:
            pass
    return costs


def file_at_ten_times(url: str, engine: str) -> dict[str, float]:
    path = voxnb.data.path("dialogue")
    audio = voxnb.Audio.load(path)
    pcm = audio.to_pcm16()
    t0 = time.perf_counter()
    live = voxnb.transcribe_realtime(path, base_url=url, speed=10)
    deltas = sum(isinstance(item, str) for item in live)
    wall = time.perf_counter() - t0
    if engine == "fake":  # its text changes if any byte was dropped or reordered
        samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        expected = FakeEngine().transcribe(samples)["text"]
    else:  # a recogniser's text is no byte check: only the audio seconds the server counted
        expected = live.transcript.text
    return {
        "seconds": audio.duration,
        "wall": wall,
        "ideal": audio.duration / 10,
        "deltas": deltas,
        "audio_intact": float(live.audio.to_pcm16() == pcm),
        "text_intact": float(live.transcript.text.strip() == expected.strip()),
        "usage_seconds": float(live.transcript.usage.get("prompt_audio_seconds", float("nan"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--engine",
        choices=("fake", "local"),
        default="fake",
        help="the server's engine (local: the offline recogniser, much slower to finish)",
    )
    args = parser.parse_args()
    pcm = voxnb.data.audio("dialogue").to_pcm16()
    with ServerProcess(engine=args.engine) as server:
        medians, p95s, handler_medians, bare_medians = [], [], [], []
        for _ in range(args.repeats):
            costs, handler = recorder_chunk_costs(server.url, pcm, args.chunks)
            bare = asyncio.run(bare_send_costs(server.url, pcm, args.chunks))
            medians.append(statistics.median(costs))
            p95s.append(percentile(costs, 95))
            handler_medians.append(statistics.median(handler))
            bare_medians.append(statistics.median(bare))
        runs = [file_at_ten_times(server.url, args.engine) for _ in range(args.repeats)]

    median, p95 = statistics.median(medians), statistics.median(p95s)
    bare, handler = statistics.median(bare_medians), statistics.median(handler_medians)
    print(
        f"kernel-side cost per 100 ms chunk (receive -> websocket send), {args.chunks} chunks x {args.repeats} runs:"
    )
    print(
        f"  median {median * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms   (goal <= 2 ms median: "
        f"{median / 0.002:.2f}x the goal)"
    )
    print(
        f"  on the kernel's comm-handler thread: median {handler * 1e6:.0f} us "
        f"({handler / 0.1 * 100:.3f} % of the chunk's 100 ms)"
    )
    print(
        f"  baseline bare websockets send of a pre-encoded append: median {bare * 1e3:.3f} ms "
        f"-> recorder path is {median / bare:.1f}x the bare send"
    )
    wall = statistics.median(r["wall"] for r in runs)
    ideal = runs[0]["ideal"]
    # the server's count of audio seconds (rounded up) must cover the whole file, too
    intact = all(
        r["audio_intact"] and r["text_intact"] and r["usage_seconds"] == np.ceil(r["seconds"]) for r in runs
    )
    check = (
        "captured PCM, server text and audio seconds"
        if args.engine == "fake"
        else "captured PCM and the server's audio seconds"
    )
    print(
        f"file at 10x real time through voxnb serve --engine {args.engine} "
        f"({runs[0]['seconds']:.1f} s of audio, {args.repeats} runs):"
    )
    print(
        f"  wall median {wall:.2f} s vs ideal {ideal:.2f} s -> {wall / ideal:.2f}x the ideal; "
        f"{runs[0]['deltas']} live deltas; usage {runs[0]['usage_seconds']:.0f} s"
    )
    print(
        f"  audio dropped: {'none' if intact else 'YES'} ({check} "
        f"{'match' if intact else 'DO NOT match'} the file in every run)"
    )


if __name__ == "__main__":
    main()
