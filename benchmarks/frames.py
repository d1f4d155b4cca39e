"""How fast a response becomes DataFrames.

Two synthetic responses, as JSON text:
  * 1,000,000 word entries returned as ``segments`` (Mistral's word granularity);
  * 20,000 diarized segments.

For each, the time of ``Transcript.from_response(text).words`` (and ``.segments``, ``.turns``, ``.speakers``)
is compared with two baselines on the same text:
  * ``pd.json_normalize(json.loads(text)["segments"])`` — what users write today;
  * the bare ``json.loads(text)`` — what building the response's dicts alone costs (voxnb decodes
    Mistral JSON text straight into typed segments with msgspec and parses ``raw`` on first look,
    so it can go below it).

Goals: ≥ 3× faster than json_normalize, ≤ 1.5× the bare json.loads. Prints medians, ratios and
the peak memory of each call: how much the resident set grows, measured in a fresh interpreter
(tracemalloc would count orjson's untouched arena as used).

The calls are timed in turns (one of each per round, ``--repeat`` rounds), so that a load that
comes and goes on a shared machine weighs on all of them alike; both the wall-clock and the CPU
time (``time.process_time``: what this process itself spent, less sensitive to other processes)
are reported, with the load average at the start and at the end.

Run: .venv/bin/python benchmarks/frames.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from voxnb import Transcript

VOCAB = [
    "the",
    "model",
    "heard",
    "Chicago,",
    "Joplin.",
    "and",
    "it",
    "was",
    "warm",
    "today?",
    "Voxtral",
    "notebook",
]


def word_response(n: int) -> str:
    rng = np.random.default_rng(0)
    starts = np.cumsum(rng.uniform(0.15, 0.45, n))
    picks = rng.integers(0, len(VOCAB), n)
    segments = [
        {
            "text": " " + VOCAB[k],
            "start": round(float(s), 3),
            "end": round(float(s) + 0.12, 3),
            "type": "transcription_segment",
        }
        for k, s in zip(picks.tolist(), starts.tolist())
    ]
    return json.dumps(
        {
            "model": "voxtral-mini-2602",
            "text": "",
            "language": None,
            "segments": segments,
            "usage": {"prompt_audio_seconds": int(starts[-1]) + 1},
        }
    )


def diarized_response(n: int) -> str:
    rng = np.random.default_rng(1)
    starts = np.cumsum(rng.uniform(1.0, 6.0, n))
    segments = [
        {
            "text": " " + " ".join(VOCAB[k] for k in rng.integers(0, len(VOCAB), int(rng.integers(3, 25)))),
            "start": round(float(s), 1),
            "end": round(float(s) + float(d), 1),
            "speaker_id": f"speaker_{int(sp)}",
            "type": "transcription_segment",
            "score": None,
        }
        for s, d, sp in zip(starts, rng.uniform(0.5, 5.0, n), rng.integers(1, 4, n))
    ]
    return json.dumps(
        {
            "model": "voxtral-mini-latest",
            "text": "",
            "language": None,
            "segments": segments,
            "usage": {"prompt_audio_seconds": int(starts[-1]) + 10},
        }
    )


CALLS = {
    "json.loads": "json.loads(text)",
    "pd.json_normalize": "pd.json_normalize(json.loads(text)['segments'])",
    "voxnb .words": "Transcript.from_response(text, granularity=granularity).words",
    "voxnb .segments": "Transcript.from_response(text, granularity=granularity).segments",
    "voxnb .turns": "Transcript.from_response(text, granularity=granularity).turns",
    "voxnb .speakers": "Transcript.from_response(text, granularity=granularity).speakers",
}


def median_seconds(text: str, granularity: str | None, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each call, the calls taking turns round after round."""
    scope = {"json": json, "pd": pd, "Transcript": Transcript, "text": text, "granularity": granularity}
    codes = {name: compile(call, name, "eval") for name, call in CALLS.items()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in CALLS}
    for _ in range(repeat):
        for name, code in codes.items():
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            eval(code, scope)
            times[name].append((time.perf_counter() - w0, time.process_time() - c0))
    return {
        name: (statistics.median(w for w, _ in ts), statistics.median(c for _, c in ts))
        for name, ts in times.items()
    }


def peak_rss_growth(call: str, path: str, granularity: str | None) -> float:
    """MiB the resident set grows during *call*, in a fresh interpreter that first reads the text.

    The kernel's high-water mark is reset after the text is read (Linux ``clear_refs``), so the
    transient buffers of reading the file do not hide the call's own peak.
    """
    code = (
        "import json, pandas as pd\n"
        "from voxnb import Transcript\n"
        f"text = open({path!r}).read(); granularity = {granularity!r}\n"
        "def status(key):\n"
        "    line = next(l for l in open('/proc/self/status') if l.startswith(key))\n"
        "    return int(line.split()[1]) / 1024\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "before = status('VmRSS:')\n"
        f"result = {call}\n"
        "print(status('VmHWM:') - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(name: str, text: str, granularity: str | None, repeat: int) -> None:
    load = os.getloadavg()[0]
    timings = median_seconds(text, granularity, repeat)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    try:
        peaks = {k: peak_rss_growth(call, f.name, granularity) for k, call in CALLS.items()}
    finally:
        os.unlink(f.name)
    print(
        f"\n{name}  ({len(text) / 2**20:.1f} MiB of JSON, median of {repeat}; "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    for k, (wall, cpu) in timings.items():
        print(f"  {k:20s} wall {wall:7.3f} s   cpu {cpu:7.3f} s   peak RSS +{peaks[k]:6.0f} MiB")
    for clock, i in (("wall", 0), ("cpu", 1)):
        loads, normalize = timings["json.loads"][i], timings["pd.json_normalize"][i]
        for k in ("voxnb .words", "voxnb .segments", "voxnb .turns", "voxnb .speakers"):
            sec = timings[k][i]
            print(
                f"  {clock:4s} {k:16s} {normalize / sec:5.1f}x faster than json_normalize (goal >= 3),"
                f" {sec / loads:4.2f}x json.loads (goal <= 1.5)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=20_000)
    args = parser.parse_args()
    run(f"{args.words:,} word entries as segments", word_response(args.words), "word", args.repeat)
    run(f"{args.segments:,} diarized segments", diarized_response(args.segments), None, args.repeat)


if __name__ == "__main__":
    main()
