"""Build tests/data/asterisk_{en,fr}.ogg: real human speech with reference text and prompt times.

The recordings are Asterisk's core voice prompts, shipped by Debian (CC-BY-SA-3.0: English read
by Allison Smith, Canadian French by June Wallack; see tests/data/asterisk_NOTICE.txt)::

    apt-get install -y asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav \\
        asterisk-core-sounds-en asterisk-core-sounds-fr
    python scripts/make_real_speech_fixture.py

The same eight prompts in both languages are joined with 0.6 s pauses (telephone audio, 8 kHz,
resampled to 16 kHz); each prompt's start and end in the joined file are written beside it.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

SR = 16000
GAP = 0.6
OUT = Path(__file__).resolve().parents[1] / "tests" / "data"
SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
VOICES = {"en": "en_US_f_Allison", "fr": "fr_CA_f_June"}
PROMPTS = (
    "agent-loginok",
    "check-number-dial-again",
    "conf-onlyperson",
    "conf-placeintoconf",
    "cannot-complete-as-dialed",
    "conf-leaderhasleft",
    "all-circuits-busy-now",
    "conf-extended",
)


def texts(language: str) -> dict[str, str]:
    with gzip.open(
        DOCS / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz", "rt"
    ) as lines:
        pairs = [line.split(":", 1) for line in lines if ":" in line and not line.startswith(";")]
    return {key.strip(): value.strip() for key, value in pairs}


def main() -> None:
    for language, voice in VOICES.items():
        known = texts(language)
        pieces, turns, t = [], [], 0.0
        for name in PROMPTS:
            y, _ = librosa.load(SOUNDS / voice / f"{name}.wav", sr=SR)
            y, _ = librosa.effects.trim(y, top_db=40)
            if pieces:
                pieces.append(np.zeros(int(GAP * SR), np.float32))
                t += GAP
            pieces.append(y)
            turns.append(
                {"prompt": name, "start": round(t, 3), "end": round(t + len(y) / SR, 3), "text": known[name]}
            )
            t += len(y) / SR
        audio = OUT / f"asterisk_{language}.ogg"
        tmp = audio.with_name(f".{audio.name}.tmp")
        sf.write(tmp, np.concatenate(pieces), SR, format="OGG", subtype="VORBIS")
        os.replace(tmp, audio)
        reference = {"audio": audio.name, "language": language, "voice": voice, "turns": turns,
                     "text": " ".join(turn["text"] for turn in turns)}  # fmt: skip
        tmp = OUT / f".asterisk_{language}.json.tmp"
        tmp.write_text(json.dumps(reference, ensure_ascii=False, indent=1) + "\n")
        os.replace(tmp, OUT / f"asterisk_{language}.json")
        print(audio, f"{t:.1f} s")


if __name__ == "__main__":
    main()
