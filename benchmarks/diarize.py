"""Offline speaker labels on real and TTS recordings: DER (pyannote.metrics, no collar) and speaker counts.

Real material (tests/real_speech.py; provenance in tests/data/real/NOTICE.txt):
``know`` is a real two-speaker telephone call (reference from each speaker's own channel),
``know_trs`` the same call scored against its human Transcriber turns (coarse: pauses inside turns,
whole turns marked as overlap), ``frint`` French radio with music and a second voice heard for 1.6 s;
``real2``/``real3``/``real3b`` are dialogues joined from phrases of different real speakers (no real
three-speaker recording with labels exists in the registries); ``austen``/``jfk``/``cards`` are one
real speaker each (the count must be 1). TTS: the bundled voxnb.data samples. The speaker count is
always estimated (no num_speakers). ``stable`` checks that the same audio as an MP3 gives the same count.

    python benchmarks/diarize.py                       # CAM++ (default) and resemblyzer, this tree
    PYTHONPATH=/work/main python benchmarks/diarize.py --before   # the code before, for comparison
"""

from __future__ import annotations

import argparse
import inspect
import io
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true", help="the diarize() on PYTHONPATH, as it is")
    args = parser.parse_args()
    takes_encoder = "encoder" in inspect.signature(diarize).parameters
    encoders = [None] if args.before or not takes_encoder else ["campplus", "resemblyzer"]
    data = {name: make() for name, make in CASES.items()}
    for encoder in encoders:
        kwargs = {"encoder": encoder, "progress": False} if encoder else {}
        print(f"\n## encoder: {encoder or 'before'}\n")
        print("| recording | duration s | speakers ref | found | found (MP3) | DER | time s |")
        print("|---|---|---|---|---|---|---|")
        ders, right, stable = [], 0, 0
        for name, (y, ref) in data.items():
            start = time.perf_counter()
            turns = diarize(y, **kwargs)
            took = time.perf_counter() - start
            n_ref = len({t["speaker"] for t in ref})
            found = len({t.speaker for t in turns})
            found_mp3 = len({t.speaker for t in diarize(mp3_roundtrip(y), **kwargs)})
            der = rs.der(ref, turns)
            ders.append(der)
            right += found == n_ref
            stable += found == found_mp3
            print(
                f"| {name} | {len(y) / rs.SR:.1f} | {n_ref} | {found} | {found_mp3} | {der:.1%} | {took:.1f} |"
            )
        print(
            f"\ncount right {right}/{len(data)}, same count from MP3 {stable}/{len(data)}, mean DER {np.mean(ders):.1%}"
        )


if __name__ == "__main__":
    main()
