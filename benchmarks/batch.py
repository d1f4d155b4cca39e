"""Batch transcription throughput: ``transcribe_many`` (concurrency 16) against one-by-one calls.

Setup: ``python -m voxnb serve --engine fake --faults latency:0.3`` in its own process on
127.0.0.1 (300 ms per request standing in for the network and model time of a real API, and a
process of its own as a real server has); 200 short WAV files.

Baselines, all against the same server in one run:

- sequential: ``client.transcribe(path)`` for one file after another;
- the ``mistralai`` SDK called sequentially (only when it is installed);
- cached re-run: ``transcribe_many`` again over a warm cache, which must send zero requests.

The concurrent run is repeated (``--repeats``) and its median is compared with the
sequential baseline. Goal: at least 12x faster than sequential.

Run: ``python benchmarks/batch.py [--files 200] [--latency 0.3] [--concurrency 16]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import voxnb
from voxnb.serve import ServerProcess


def write_files(directory: Path, n: int, seconds: float) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = directory / f"clip{i:03d}.wav"
        samples = rng.uniform(-0.3, 0.3, int(16000 * seconds)).astype("float32")
        voxnb.Audio.from_array(samples, 16000).save(path)
        paths.append(path)
    return paths


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def sdk_sequential(url: str, paths: list[Path]) -> float | None:
    """The mistralai SDK, one file after another (None when the SDK is not installed)."""
    try:
        from mistralai.client import Mistral  # SDK 3.x
    except ImportError:
        try:
            from mistralai import Mistral  # SDK 2.x
        except ImportError:
            return None
    sdk = Mistral(api_key="benchmark-key-not-secret", server_url=url)

    def run():
        for path in paths:
            sdk.audio.transcriptions.complete(
                model="voxtral-mini-latest", file={"content": path.read_bytes(), "file_name": path.name}
            )

    return timed(run)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each file")
    parser.add_argument("--latency", type=float, default=0.3, help="injected server latency per request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the concurrent batch (median taken)")
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(engine="fake", faults=f"latency:{args.latency}") as server,
    ):
        url = server.url
        paths = write_files(Path(tmp), args.files, args.seconds)
        with voxnb.Client(base_url=url) as client:
            client.transcribe(paths[0])  # warm up the connection pool and imports

            sequential, texts = timed(lambda: [client.transcribe(p).text for p in paths])

            concurrent_runs = []
            for _ in range(args.repeats):
                seconds, result = timed(
                    lambda: client.transcribe_many(
                        paths, concurrency=args.concurrency, cache=False, progress=False
                    )
                )
                assert not result.errors and [result[str(p)].text for p in paths] == texts
                concurrent_runs.append(seconds)
            concurrent = statistics.median(concurrent_runs)

            cache_dir = Path(tmp) / "cache"
            client.transcribe_many(paths, concurrency=args.concurrency, cache=cache_dir, progress=False)
            before = client.requests_sent
            cached, rerun = timed(
                lambda: client.transcribe_many(
                    paths, concurrency=args.concurrency, cache=cache_dir, progress=False
                )
            )
            cached_requests = client.requests_sent - before
            assert len(rerun) == len(paths) and rerun.requests == cached_requests
        sdk = sdk_sequential(url, paths)

    n = args.files
    print(f"{n} files of {args.seconds:g} s, server latency {args.latency * 1000:.0f} ms per request")
    print(f"  sequential client.transcribe      {sequential:7.2f} s  ({sequential / n * 1000:.0f} ms/file)")
    if sdk is not None:
        print(f"  mistralai SDK, sequential         {sdk:7.2f} s  ({sdk / n * 1000:.0f} ms/file)")
    else:
        print("  mistralai SDK, sequential         not installed (pip install mistralai to compare)")
    print(
        f"  transcribe_many concurrency={args.concurrency:<3d}  {concurrent:7.2f} s  median of "
        f"{args.repeats}: {', '.join(f'{s:.2f}' for s in concurrent_runs)}"
    )
    print(f"  cached re-run                     {cached:7.2f} s  requests sent: {cached_requests}")
    ratio = sequential / concurrent
    print(f"speed-up vs sequential client.transcribe: {ratio:.1f}x (goal >= 12x)")
    if sdk is not None:
        print(f"speed-up vs sequential mistralai SDK:     {sdk / concurrent:.1f}x")
    print(f"cached re-run vs sequential: {sequential / cached:.0f}x faster, {cached_requests} requests")
    return 0 if ratio >= 12 and cached_requests == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
