"""Offline transcription on a Dask LocalCluster (2 workers × 1 thread) against one process.

Setup: 40 short recordings (the bundled bias set's 20 utterances, 3.5–5.9 s, and 20 four-second
clips of the bundled dialogue, one every two seconds), the offline engine (faster-whisper tiny.en, int8), default
options, no cache (``cache=False``): every run transcribes every file.

Baselines, in one run of this script, every configuration warmed first (engines loaded):

- one process: ``voxnb.transcribe_many(files)`` with the default engine (CTranslate2 threads =
  all cores);
- one process, one thread: the same with ``engine=Engine(cpu_threads=1)`` (what one Dask
  worker thread runs);
- cluster: ``voxnb.transcribe_many(files, executor=client)`` on ``LocalCluster(n_workers=2,
  threads_per_worker=1)`` with Dask's default configuration; each worker thread loads its engine
  once (with one CTranslate2 thread: Dask sets ``OMP_NUM_THREADS=1``), and voxnb undoes the cost
  of Dask's ``MALLOC_TRIM_THRESHOLD_`` in the worker (``voxnb.cluster._keep_large_buffers``);
- the same cluster with Dask's statistical profiler off
  (``distributed.worker.profile.enabled: False``): it samples every worker thread's stack every
  10 ms, which costs CPU next to a CPU-bound engine.

Each is repeated (``--repeats``) and the medians compared. Goal: cluster ≥ 1.8× one process on
2 cores. Per-task overhead: (a) Dask alone, no-op tasks through ``Client.map`` + ``as_completed``;
(b) voxnb's whole path (recipe, per-thread runner, cache-less item, Transcript back to the
client) with the deterministic fake engine on 0.05 s clips, on the cluster and in one process.
The machine's load average is printed with every measurement: other work on the machine slows
the cluster (two processes) more than one process.

Run: ``python benchmarks/cluster.py [--repeats 3] [--overhead-items 400]``
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import voxnb


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def short_files(directory: Path, n: int) -> list[str]:
    """The 20 bias utterances, then four-second clips of the dialogue every two seconds: n recordings."""
    files = [str(p) for p in sorted((Path(voxnb.data.__file__).parent / "bias" / "audio").glob("*.ogg"))]
    audio = voxnb.data.audio("dialogue")
    for start in np.arange(0.0, audio.duration - 4.0, 2.0):
        path = directory / f"dialogue_{start:04.1f}.flac"
        audio.slice(float(start), float(start) + 4.0).save(path)
        files.append(str(path))
    return files[:n]


def median_run(label: str, run, repeats: int, cpu) -> tuple[float, float]:
    """Median wall time and median CPU time (``cpu()`` before and after) of *repeats* runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu_before = cpu()
        seconds, result = timed(run)
        cpus.append(cpu() - cpu_before)
        assert not result.errors and len(result) == len(result.names), result.summary()
        walls.append(seconds)
        print(f"  {label}: {seconds:6.2f} s wall, {cpus[-1]:6.2f} s CPU ({load()})", flush=True)
    return statistics.median(walls), statistics.median(cpus)


def workers_cpu(client) -> float:
    """CPU seconds used so far by the worker processes and this one (which gathers the results)."""
    import psutil

    used = client.run(lambda: sum(psutil.Process().cpu_times()[:2]))
    return sum(used.values()) + time.process_time()


def noop(x: int) -> int:
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--overhead-items", type=int, default=400)
    args = parser.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster, as_completed

    from voxnb.local.engine import Engine
    from voxnb.local.fake import FakeEngine

    with tempfile.TemporaryDirectory() as tmp:
        files = short_files(Path(tmp), args.files)
        audio_seconds = sum(voxnb.Audio.load(f).duration for f in files)
        print(f"{len(files)} files, {audio_seconds:.0f} s of audio, {os.cpu_count()} cores; {load()}")
        quiet = {"cache": False, "progress": False, "quiet": True}

        voxnb.transcribe_many(files[:2], **quiet)  # load the default engine
        one, one_cpu = median_run(
            "one process", lambda: voxnb.transcribe_many(files, **quiet), args.repeats, time.process_time
        )
        single = Engine(cpu_threads=1)
        one_thread, one_thread_cpu = median_run(
            "one process, 1 thread",
            lambda: voxnb.transcribe_many(files, engine=single, **quiet),
            args.repeats,
            time.process_time,
        )

        cold_started = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
            ) as cluster,
            Client(cluster) as client,
        ):
            started_in = time.perf_counter() - cold_started
            cold, _ = timed(lambda: voxnb.transcribe_many(files, executor=client, **quiet))
            print(f"  cluster, cold (start {started_in:.1f} s + engines + run): {started_in + cold:.2f} s")
            on_cluster, cluster_cpu = median_run(
                "cluster 2x1",
                lambda: voxnb.transcribe_many(files, executor=client, **quiet),
                args.repeats,
                lambda: workers_cpu(client),
            )
            sample = voxnb.transcribe_many(files, executor=client, **{**quiet, "cache": Path(tmp) / "cache"})
            returned = statistics.median(len(pickle.dumps(t)) for t in sample.values())
            entry = statistics.median(p.stat().st_size for p in (Path(tmp) / "cache").rglob("*.json"))
            print(f"  a Transcript sent back: {returned / 1000:.1f} kB; a cache entry: {entry / 1000:.1f} kB")

            # per-task overhead (a): Dask alone
            n = args.overhead_items
            client.gather(client.map(noop, range(50), pure=False))  # warm the connections

            def dask_alone():
                futures = client.map(noop, range(n), pure=False)
                for _ in as_completed(futures):
                    pass

            dask_task = statistics.median(timed(dask_alone)[0] for _ in range(args.repeats)) / n

            # per-task overhead (b): voxnb's path with an engine that does (almost) nothing
            rng = np.random.default_rng(0)
            clips = {
                f"clip{i}": voxnb.Audio.from_array(
                    rng.uniform(-0.3, 0.3, 800).astype("float32"), 16000
                ).to_wav()
                for i in range(n)
            }
            fake = FakeEngine()
            voxnb.transcribe_many(dict(list(clips.items())[:4]), engine=fake, executor=client, **quiet)
            voxnb_task = (
                statistics.median(
                    timed(lambda: voxnb.transcribe_many(clips, engine=fake, executor=client, **quiet))[0]
                    for _ in range(args.repeats)
                )
                / n
            )
        # the same cluster without Dask's statistical profiler (it samples every worker thread's
        # stack every 10 ms; with a CPU-bound engine on 2 busy cores that costs CPU)
        with (
            dask.config.set({"distributed.worker.profile.enabled": False}),
            LocalCluster(
                n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
            ) as cluster,
            Client(cluster) as client,
        ):
            voxnb.transcribe_many(files[:4], executor=client, **quiet)  # load the engines
            no_profiler, no_profiler_cpu = median_run(
                "cluster 2x1, profiler off",
                lambda: voxnb.transcribe_many(files, executor=client, **quiet),
                args.repeats,
                lambda: workers_cpu(client),
            )
        voxnb_here = (
            statistics.median(
                timed(lambda: voxnb.transcribe_many(clips, engine=fake, **quiet))[0]
                for _ in range(args.repeats)
            )
            / n
        )

    n_files = len(files)
    print()
    print(
        f"| configuration | median wall time, {n_files} files | speed-up over one process "
        "| over one single-threaded process | CPU s per file |"
    )
    print("| --- | --- | --- | --- | --- |")
    for label, wall, cpu in (
        ("one process (engine on all cores)", one, one_cpu),
        ("one process, 1 CTranslate2 thread", one_thread, one_thread_cpu),
        ("LocalCluster 2 workers × 1 thread", on_cluster, cluster_cpu),
        ("the same, Dask's profiler off", no_profiler, no_profiler_cpu),
    ):
        print(
            f"| {label} | {wall:.2f} s | {one / wall:.2f}× | {one_thread / wall:.2f}× | {cpu / n_files:.3f} |"
        )
    print()
    print("| per-task overhead (median wall time per task, both workers busy) | ms |")
    print("| --- | --- |")
    print(f"| Dask alone: no-op tasks, Client.map + as_completed | {dask_task * 1000:.2f} |")
    print(f"| voxnb on the cluster: fake engine, 0.05 s clips, no cache | {voxnb_task * 1000:.2f} |")
    print(f"| voxnb in one process: the same items | {voxnb_here * 1000:.2f} |")
    print(
        f"\none file: {audio_seconds / n_files:.1f} s of audio; the cluster spends "
        f"{cluster_cpu / one_thread_cpu:.2f}× the CPU of one single-threaded process on the same files; "
        f"{load()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
