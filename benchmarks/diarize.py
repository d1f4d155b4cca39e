"""Offline speaker labels on real and TTS recordings: DER (pyannote.metrics, no collar), speaker counts, RTF.

Real material (tests/real_speech.py; provenance in tests/data/real/NOTICE.txt):
``know`` is a real two-speaker telephone call (reference from each speaker's own channel),
``know_trs`` the same call scored against its human Transcriber turns (coarse: pauses inside turns,
whole turns marked as overlap), ``frint`` French radio with music and a second voice heard for 1.6 s;
``real2``/``real3``/``real3b`` are dialogues joined from phrases of different real speakers (no real
three-speaker recording with labels exists in the registries); ``austen``/``jfk``/``cards`` are one
real speaker each (the count must be 1). TTS: the bundled voxnb.data samples. The speaker count is
always estimated (no num_speakers). ``MP3`` is the count found from the same audio as an MP3.
RTF is compute seconds over audio seconds (median over the recordings; baseline: real time = 1.0).

    python benchmarks/diarize.py                       # this tree: CAM++ with and without overlap, resemblyzer
    python benchmarks/diarize.py --before /work/main   # also the code of another tree (e.g. main before
                                                       # this change), run in a subprocess, and the RTF ratio
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import real_speech as rs

import voxnb
from voxnb.local.diarize import diarize


def tts(name: str):
    return voxnb.data.audio(name).y, voxnb.data.reference(name)["turns"]


CASES = {
    "know": rs.know,
    "know_trs": rs.know_trs,
    "frint": rs.frint,
    "real2": lambda: rs.join_speakers(["austen_reader", "jfk"]),
    "real3": lambda: rs.join_speakers(["austen_reader", "jfk", "cards_speaker"]),
    "real3b": lambda: rs.join_speakers(["cards_speaker", "jfk", "austen_reader"], seed=1),
    "austen": lambda: rs.one_speaker("austen_reader"),
    "jfk": lambda: rs.one_speaker("jfk"),
    "cards": lambda: rs.one_speaker("cards_speaker"),
    "two_voices": lambda: tts("two_voices"),
    "three_voices": lambda: tts("three_voices"),
    "dialogue": lambda: tts("dialogue"),
}


def mp3_roundtrip(y: np.ndarray) -> np.ndarray:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, rs.SR, format="MP3")
    buf.seek(0)
    return sf.read(buf, dtype="float32")[0]


def configurations() -> dict[str, dict]:
    """The diarize() options measured, by name; the code of an older tree takes fewer of them."""
    takes = inspect.signature(diarize).parameters
    if "encoder" not in takes:
        return {"default": {}}
    out = {"campplus": {"encoder": "campplus", "progress": False}}
    if "overlap" in takes:
        out["campplus, overlap=False"] = {**out["campplus"], "overlap": False}
    out["resemblyzer"] = {"encoder": "resemblyzer", "progress": False}
    return out


def measure(data: dict, options: dict) -> list[dict]:
    rows = []
    for name, (y, ref) in data.items():
        diarize(y[: rs.SR], **options)  # models loaded before the clock starts
        start = time.perf_counter()
        turns = diarize(y, **options)
        took = time.perf_counter() - start
        rows.append(
            {
                "recording": name,
                "seconds": len(y) / rs.SR,
                "speakers": len({t["speaker"] for t in ref}),
                "found": len({t.speaker for t in turns}),
                "found_mp3": len({t.speaker for t in diarize(mp3_roundtrip(y), **options)}),
                "der": rs.der(ref, turns),
                "rtf": took / (len(y) / rs.SR),
            }
        )
    return rows


def report(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}\n")
    print("| recording | duration s | speakers ref | found | found (MP3) | DER | RTF |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['recording']} | {r['seconds']:.1f} | {r['speakers']} | {r['found']} | {r['found_mp3']} "
            f"| {r['der']:.1%} | {r['rtf']:.3f} |"
        )
    right = sum(r["found"] == r["speakers"] for r in rows)
    stable = sum(r["found"] == r["found_mp3"] for r in rows)
    print(
        f"\ncount right {right}/{len(rows)}, same count from MP3 {stable}/{len(rows)}, "
        f"mean DER {np.mean([r['der'] for r in rows]):.1%}, median RTF {np.median([r['rtf'] for r in rows]):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="TREE", help="also measure the voxnb of this source tree")
    parser.add_argument("--json", action="store_true", help="print the first configuration's rows as JSON")
    args = parser.parse_args()
    data = {name: make() for name, make in CASES.items()}
    configs = configurations()
    if args.json:
        print(json.dumps(measure(data, next(iter(configs.values())))))
        return
    results = {name: measure(data, options) for name, options in configs.items()}
    for name, rows in results.items():
        report(f"this tree: {name}", rows)
    if args.before:
        env = {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())}
        done = subprocess.run(
            [sys.executable, __file__, "--json"], env=env, capture_output=True, text=True, check=True
        )
        before = json.loads(done.stdout.strip().splitlines()[-1])
        report(f"before: {args.before}", before)
        ours = np.median([r["rtf"] for r in next(iter(results.values()))])
        theirs = np.median([r["rtf"] for r in before])
        print(f"\nmedian RTF ratio this tree / before: {ours / theirs:.2f} (baseline: {args.before})")


if __name__ == "__main__":
    main()
