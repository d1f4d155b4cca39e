"""Regenerate the bundled context_bias set: synthetic English speech rich in rare proper nouns.

Run from anywhere (Debian: ``apt-get install -y espeak-ng flite sox``)::

    python voxnb/data/bias/make_bias_set.py

It reads ``sentences.tsv`` (id, voice, reference, rare words as JSON, optional spoken form)
and writes ``audio/<id>.ogg`` (16 kHz mono Ogg Vorbis at the lowest quality setting, so the
whole set stays a few hundred KB). The spoken form, when given, is what the TTS voice reads:
spelled the way it should sound, since the voices mispronounce some names as written;
the reference keeps the real spelling, which is what the recogniser must produce.

Voices: ``espeak:<name>`` runs ``espeak-ng -v <name>``; ``flite:<name>`` runs ``flite -voice <name>``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def synthesize(voice: str, text: str, out_wav: Path) -> None:
    engine, _, name = voice.partition(":")
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", name, "-s", "150", "-w", str(out_wav), text]
    elif engine == "flite":
        cmd = ["flite", "-voice", name, "-t", text, "-o", str(out_wav)]
    else:
        raise SystemExit(f"unknown voice {voice!r}: use espeak:<name> or flite:<name>")
    subprocess.run(cmd, check=True, capture_output=True)


def encode(in_wav: Path, out_ogg: Path) -> None:
    # 16 kHz mono, a little silence on both ends (recognisers clip words that start at sample 0)
    subprocess.run(
        ["sox", str(in_wav), "-r", "16000", "-c", "1", "-C", "-1", str(out_ogg), "pad", "0.25", "0.35"],
        check=True,
        capture_output=True,
    )


def main() -> int:
    audio_dir = HERE / "audio"
    audio_dir.mkdir(exist_ok=True)
    with open(HERE / "sentences.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            wav = Path(tmp) / f"{row['id']}.wav"
            synthesize(row["voice"], row.get("spoken") or row["reference"], wav)
            encode(wav, audio_dir / f"{row['id']}.ogg")
    total = sum(p.stat().st_size for p in audio_dir.glob("*.ogg"))
    print(f"wrote {len(rows)} files to {audio_dir} ({total / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
