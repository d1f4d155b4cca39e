"""Benchmark: ``voxnb.Audio.load`` against ``librosa.load`` on a long file (decode + resample).

Writes a 20-minute 44.1 kHz stereo 16-bit WAV (about 200 MB) to a temporary folder, then loads it
to 16 kHz mono both ways, each in a fresh subprocess so that its peak RSS is its own. Prints the
median time of three runs and the peak memory over the process's start, relative to the decoded
float32 output. ``--format m4a`` encodes the signal to AAC with ffmpeg first, which measures the
path of the containers libsndfile cannot read (ffmpeg for both; librosa through audioread).

Usage::

    python benchmarks/audio.py [--minutes 20] [--format m4a]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import librosa, numpy, soundfile, soxr  # imported before measuring, for both
import voxnb.audio
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
start = rss()
t0 = time.perf_counter()
if sys.argv[1] == "voxnb":
    y = voxnb.audio.Audio.load(sys.argv[2]).y
else:
    y, _ = librosa.load(sys.argv[2], sr=16000)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - start
print(json.dumps({"seconds": seconds, "peak_mb": peak, "output_mb": y.nbytes / 2**20}))
"""


def write_wav(path: Path, minutes: float) -> None:
    import numpy as np
    import soundfile as sf

    sr = 44100
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sr, 2, subtype="PCM_16") as f:
        for _ in range(int(minutes)):
            f.write((rng.standard_normal((sr * 60, 2)) * 0.1).astype(np.float32))


def encode_m4a(wav: Path) -> Path:
    m4a = wav.with_suffix(".m4a")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(m4a),
        ],
        check=True,
    )
    wav.unlink()
    return m4a


def run(which: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, which, str(path)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=["wav", "m4a"], default="wav")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        write_wav(path, args.minutes)
        container = "16-bit WAV"
        if args.format == "m4a":
            path, container = encode_m4a(path), "AAC m4a (128 kbit/s)"
        print(
            f"{args.minutes:g} min, 44.1 kHz stereo {container} ({path.stat().st_size / 2**20:.0f} MB) "
            "-> 16 kHz mono float32"
        )
        results = {w: [run(w, path) for _ in range(args.repeat)] for w in ("voxnb", "librosa")}
    summary = {}
    for which, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        summary[which] = (seconds, peak, runs[0]["output_mb"])
        print(
            f"{which:8} {seconds:6.2f} s   peak {peak:6.0f} MB = {peak / runs[0]['output_mb']:.2f}x the output"
        )
    ours, base = summary["voxnb"], summary["librosa"]
    print(
        f"speed-up vs librosa.load: {base[0] / ours[0]:.1f}x; peak memory ratio librosa/voxnb: {base[1] / ours[1]:.1f}x"
    )


if __name__ == "__main__":
    main()
