"""Benchmark: ``Transcript.plot`` on hours of audio against librosa.display.

Draws a 3-hour 16 kHz signal with a 5,000-segment diarized transcript to a PNG two ways:

- voxnb: ``t.plot(audio)`` (waveform, mel spectrogram, speaker turns and words) then ``savefig``;
- baseline: ``librosa.display.waveshow(y)`` and ``librosa.display.specshow`` of the mel
  spectrogram of the full signal (librosa's defaults), on a figure of the same size, then ``savefig``.

Each run happens in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own; memory is
reported relative to the float32 signal (the signal itself included). Then, on the voxnb figure,
10-second windows at random places are re-rendered (``set_xlim`` + ``canvas.draw``), as a zoom
with an interactive backend does. Times are medians, as wall-clock and as the process's CPU time
(on a shared machine the latter is what an idle machine's wall-clock would be).

Usage::

    python benchmarks/plot.py                # 3 h, 5,000 segments (about two minutes)
    python benchmarks/plot.py --hours 0.25   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SR = 16000
ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_signal(seconds: float):
    """Speech-like test signal (noise bursts with a pitch, pauses), float32, built block by block."""
    import numpy as np

    n = int(seconds * SR)
    y = np.empty(n, dtype=np.float32)
    rng = np.random.default_rng(0)
    block = SR * 60
    for pos in range(0, n, block):
        m = min(block, n - pos)
        t = (pos + np.arange(m, dtype=np.float32)) / SR
        voiced = (np.sin(2 * np.pi * 0.37 * t) > -0.3).astype(np.float32)
        tone = np.sin(2 * np.pi * (150 + 50 * np.sin(2 * np.pi * 0.05 * t)) * t, dtype=np.float32)
        y[pos : pos + m] = voiced * (0.3 * tone + 0.05 * rng.standard_normal(m, dtype=np.float32))
    return y


def make_response(seconds: float, n_segments: int) -> dict:
    """A Mistral-shaped diarized response with word timestamps: 3 speakers, 6 words a segment."""
    bounds = [seconds * k / n_segments for k in range(n_segments + 1)]
    segments = []
    for k in range(n_segments):
        start, end = bounds[k] + 0.1, bounds[k + 1] - 0.1
        step = (end - start) / 6
        words = [
            {"text": f"w{k}_{j}", "start": start + j * step, "end": start + (j + 1) * step} for j in range(6)
        ]
        segments.append(
            {
                "text": " ".join(w["text"] for w in words),
                "start": start,
                "end": end,
                "speaker_id": f"speaker_{k % 3 + 1}",
                "words": words,
            }
        )
    return {"model": "benchmark", "text": " ".join(s["text"] for s in segments), "segments": segments}


def child_voxnb(hours: float, n_segments: int, repeat: int, zooms: int, out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import voxnb

    seconds = hours * 3600
    response = make_response(seconds, n_segments)
    # warm the imports (pandas, librosa's mel filters) as the baseline warms librosa and numba
    warm = voxnb.Transcript.from_response(make_response(60.0, 10))
    plt.close(warm.plot(voxnb.Audio.from_array(make_signal(60.0), SR)))
    rss0 = rss_mb()
    y = make_signal(seconds)
    signal_mb = y.nbytes / 2**20
    times, cpu_times = [], []
    fig = None
    for _ in range(repeat):
        if fig is not None:
            plt.close(fig)
        transcript = voxnb.Transcript.from_response(response)  # fresh: no cached DataFrames
        audio = voxnb.Audio.from_array(y, SR)  # fresh: no cached spectrogram (shares y, no copy)
        t0, c0 = time.perf_counter(), time.process_time()
        fig = transcript.plot(audio)
        fig.savefig(out, dpi=100)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    peak = peak_mb()
    rng = np.random.default_rng(1)
    zoom_times, zoom_cpu = [], []
    for start in rng.uniform(0, seconds - 10, size=zooms):
        t0, c0 = time.perf_counter(), time.process_time()
        fig.axes[0].set_xlim(start, start + 10)
        fig.canvas.draw()
        zoom_times.append(time.perf_counter() - t0)
        zoom_cpu.append(time.process_time() - c0)
    fig.savefig(out.with_name(out.stem + "-zoom.png"), dpi=100)
    return {
        "times": times,
        "cpu_times": cpu_times,
        "signal_mb": signal_mb,
        "rss_before_signal_mb": rss0,
        "peak_mb": peak,
        "zoom_times": zoom_times,
        "zoom_cpu": zoom_cpu,
    }


def child_librosa(hours: float, repeat: int, out: Path) -> dict:
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    warnings.simplefilter("ignore")
    seconds = hours * 3600
    librosa.feature.melspectrogram(y=make_signal(1.0), sr=SR)  # warm numba / imports
    rss0 = rss_mb()
    y = make_signal(seconds)
    times, cpu_times = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fig, (ax_wave, ax_spec) = plt.subplots(2, 1, sharex=True, figsize=(12, 5))
        librosa.display.waveshow(y, sr=SR, ax=ax_wave)
        mel = librosa.feature.melspectrogram(y=y, sr=SR)
        librosa.display.specshow(
            librosa.power_to_db(mel, ref=mel.max()), sr=SR, x_axis="time", y_axis="mel", ax=ax_spec
        )
        del mel
        fig.savefig(out, dpi=100)
        plt.close(fig)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return {
        "times": times,
        "cpu_times": cpu_times,
        "signal_mb": y.nbytes / 2**20,
        "rss_before_signal_mb": rss0,
        "peak_mb": peak_mb(),
    }


def run_child(which: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        which,
        "--hours",
        str(args.hours),
        "--segments",
        str(args.segments),
        "--zooms",
        str(args.zooms),
        "--out",
        str(args.out),
        "--repeat",
        str(args.repeat if which == "voxnb" else args.baseline_repeat),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{which} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--segments", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="voxnb full renders (median)")
    parser.add_argument("--baseline-repeat", type=int, default=1, help="librosa renders (median)")
    parser.add_argument("--zooms", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("/tmp/voxnb-benchmark-plot"))
    parser.add_argument("--no-baseline", action="store_true", help="skip librosa (no ratio printed)")
    parser.add_argument("--child", choices=["voxnb", "librosa"])
    args = parser.parse_args()
    if args.child:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.child == "voxnb":
            result = child_voxnb(args.hours, args.segments, args.repeat, args.zooms, args.out / "voxnb.png")
        else:
            result = child_librosa(args.hours, args.repeat, args.out / "librosa.png")
        print(json.dumps(result))
        return

    print(
        f"signal: {args.hours:g} h at {SR} Hz float32; transcript: {args.segments} segments, "
        f"{args.segments * 6} words; PNGs in {args.out}"
    )
    ours = run_child("voxnb", args)
    if args.no_baseline:
        print(
            f"voxnb full render {statistics.median(ours['times']):.2f} s "
            f"(CPU {statistics.median(ours['cpu_times']):.2f} s); peak memory "
            f"{(ours['peak_mb'] - ours['rss_before_signal_mb']) / ours['signal_mb']:.2f}x the signal; "
            f"10-second zoom {statistics.median(ours['zoom_times']):.3f} s "
            f"(CPU {statistics.median(ours['zoom_cpu']):.3f} s) (medians)"
        )
        return
    base = run_child("librosa", args)
    ours_t, base_t = statistics.median(ours["times"]), statistics.median(base["times"])
    ours_cpu, base_cpu = statistics.median(ours["cpu_times"]), statistics.median(base["cpu_times"])
    zoom, zoom_cpu = statistics.median(ours["zoom_times"]), statistics.median(ours["zoom_cpu"])
    signal = ours["signal_mb"]

    def memory(result: dict) -> float:
        return (result["peak_mb"] - result["rss_before_signal_mb"]) / result["signal_mb"]

    print(f"{'':34}{'voxnb t.plot':>14}{'librosa waveshow+specshow':>28}")
    print(f"{'full render to PNG (median, s)':34}{ours_t:>14.2f}{base_t:>28.2f}")
    print(f"{'  ... CPU time of the process (s)':34}{ours_cpu:>14.2f}{base_cpu:>28.2f}")
    print(
        f"{'peak RSS over signal+imports (MB)':34}{ours['peak_mb'] - ours['rss_before_signal_mb']:>14.0f}"
        f"{base['peak_mb'] - base['rss_before_signal_mb']:>28.0f}"
    )
    print(f"{'  ... / float32 signal size':34}{memory(ours):>14.2f}{memory(base):>28.2f}")
    print(f"float32 signal: {signal:.0f} MB")
    print(
        f"speed-up vs librosa (baseline time / voxnb time): {base_t / ours_t:.1f}x wall, "
        f"{base_cpu / ours_cpu:.1f}x CPU   (goal >= 10x)"
    )
    print(
        f"peak memory / float32 signal: voxnb {memory(ours):.2f}x, librosa {memory(base):.2f}x   (goal <= 2x)"
    )
    print(
        f"10-second zoom re-render, median of {len(ours['zoom_times'])}: {zoom:.3f} s wall, "
        f"{zoom_cpu:.3f} s CPU   (goal < 0.3 s)"
    )
    print(
        f"(load average while running: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
        "wall times grow with other processes' load, CPU times much less)"
    )


if __name__ == "__main__":
    main()
