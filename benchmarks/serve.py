"""``voxnb serve`` stays bounded: memory over many requests, and slow clients cut off.

Setup: ``python -m voxnb serve --engine fake`` in its own process on 127.0.0.1 (started here with
plain ``subprocess``, so the same script measures any voxnb checkout: run it with
``PYTHONPATH=<other checkout>`` for a baseline). Two measurements:

- memory: the server's resident set size (``/proc/<pid>/status``, Linux) at start, after a
  warm-up of 100 requests, and after ``--requests`` transcription requests each carrying 100
  ``context_bias`` terms (the most a request may have) and a 0.5 s WAV; what counts is the
  growth per request after warm-up (a server that keeps what it was sent grows linearly);
- slow loris: ``--loris`` connections that send a request head one byte every 0.5 s (and as
  many that send nothing), while a normal request is timed every 0.2 s; reports when each slow
  connection was closed by the server, and the normal requests' latencies (median, max).

Run: ``python benchmarks/serve.py [--requests 2000] [--loris 20] [--header-timeout 5]``

Measured (2 busy cores): this branch's server grows +0.0 MB over requests 100–2000 (RSS 51.0 MB
after warm-up, 7.6 MB above its idle start); main's grew +42.7 MB (about 23 KB a request, kept by
its unbounded request recorder). 40 slow connections were all closed 5.0 s after they opened,
while /health kept answering in 1.6 ms (median) and 14 ms at worst.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "voxnb",
        "serve",
        "--engine",
        "fake",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    # from a neutral folder: `python -m` puts the working directory first, and PYTHONPATH must decide
    process = subprocess.Popen(
        [*command, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir()
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("voxnb serve did not start")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS (this measurement needs Linux)")


def wav(seconds: float = 0.5) -> bytes:
    import voxnb

    samples = np.random.default_rng(0).uniform(-0.3, 0.3, int(16000 * seconds)).astype("float32")
    return voxnb.Audio.from_array(samples, 16000).to_wav()


def memory(n_requests: int) -> dict[str, float]:
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}/v1/audio/transcriptions"
    data = {
        "model": "voxtral-mini-latest",
        "context_bias": [f"term_{i:03d}_with_some_length" for i in range(100)],
    }
    files = {"file": ("a.wav", wav(), "audio/wav")}
    try:
        readings = {"start": rss_mb(server.pid)}
        with httpx.Client(timeout=30) as client:
            for i in range(n_requests):
                answer = client.post(url, data=data, files=files)
                answer.raise_for_status()
                if i + 1 == 100:
                    readings["after 100 (warm)"] = rss_mb(server.pid)
        readings[f"after {n_requests}"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    return readings


def slow_loris(n: int, header_timeout: float) -> dict[str, float]:
    port = free_port()
    server = start_server(port, "--header-timeout", str(header_timeout))
    closed_after: list[float] = []
    stop = threading.Event()

    def loris(send_anything: bool) -> None:
        head = b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
        sock = socket.create_connection(("127.0.0.1", port))
        sock.settimeout(0.5)
        began = time.monotonic()
        try:
            for i in range(10_000):
                if send_anything:
                    sock.send(head[i % len(head) : i % len(head) + 1])
                try:
                    if sock.recv(1024) == b"":
                        break  # closed by the server
                except TimeoutError:
                    continue
                except ConnectionResetError:
                    break
                if stop.is_set():
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sock.close()
        closed_after.append(time.monotonic() - began)

    threads = [threading.Thread(target=loris, args=(i % 2 == 0,), daemon=True) for i in range(2 * n)]
    latencies: list[float] = []
    failures = 0
    try:
        for thread in threads:
            thread.start()
        began = time.monotonic()
        with httpx.Client(timeout=10) as client:
            while time.monotonic() - began < header_timeout + 3:
                t0 = time.perf_counter()
                try:
                    client.get(f"http://127.0.0.1:{port}/health").raise_for_status()
                    latencies.append(time.perf_counter() - t0)
                except httpx.HTTPError:
                    failures += 1
                time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(5)
    finally:
        server.terminate()
        server.wait(10)
    return {
        "slow connections": 2 * n,
        "closed by the server": len(closed_after),
        "closed after, max (s)": max(closed_after, default=float("nan")),
        "normal requests": len(latencies) + failures,
        "normal requests failed": failures,
        "normal latency median (ms)": 1000 * statistics.median(latencies),
        "normal latency max (ms)": 1000 * max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--loris", type=int, default=20)
    parser.add_argument("--header-timeout", type=float, default=5.0)
    args = parser.parse_args()
    readings = memory(args.requests)
    print("memory of the server process (RSS, MB):")
    for label, value in readings.items():
        print(f"  {label:<22} {value:8.1f}")
    warm, last = readings["after 100 (warm)"], readings[f"after {args.requests}"]
    print(
        f"  growth after warm-up: {last - warm:+.1f} MB ({1024 * (last - warm) / (args.requests - 100):+.2f} KB/request)"
    )
    print(f"  growth from the start: {last - readings['start']:+.1f} MB")
    print(
        f"\nslow loris ({args.loris} dribbling + {args.loris} silent connections, header timeout {args.header_timeout:g} s):"
    )
    for label, value in slow_loris(args.loris, args.header_timeout).items():
        print(f"  {label:<28} {value:10.2f}" if isinstance(value, float) else f"  {label:<28} {value:10d}")


if __name__ == "__main__":
    main()
