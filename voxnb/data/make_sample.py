"""Regenerate voxnb's bundled sample audio from Debian's TTS voices.

Run it from anywhere (it writes next to itself)::

    apt-get install -y espeak-ng flite festival festvox-us-slt-hts sox
    python -m voxnb.data.make_sample

Every utterance is synthesised on its own, trimmed to its first and last audible sample and
joined with known gaps, so the reference times written beside the audio are exact by
construction: speaker turns for the dialogues, word boundaries for the word-by-word clip.
A faint seeded noise floor keeps the silence from being digital zeros, which no real recording has.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from voxnb._atomic import atomic_path, write_atomic

SR = 16000
HERE = Path(__file__).resolve().parent
NOISE_DBFS = -58.0
TRIM_DB = -40.0  # below the clip's peak: what counts as silence when trimming

# name -> (command, level relative to full scale); three voices a listener tells apart at once
VOICES = {
    "slt": ("festival:cmu_us_slt_arctic_hts", 0.45),  # US female (HTS)
    "kal": ("flite:kal16", 0.55),  # US male (diphone)
    "awb": ("flite:awb", 0.5),  # Scottish male (clustergen)
    "rms": ("flite:rms", 0.5),  # US male (clustergen)
    "espeak": ("espeak-ng:en-us", 0.4),  # US male (formant)
}

# (speaker label, voice, text, gap in seconds *before* this turn)
DIALOGUE = [
    (
        "Ada",
        "slt",
        "Good morning everyone. Today we try Voxtral, the speech model from Mistral, inside a Jupyter notebook.",
        0.4,
    ),
    (
        "Ben",
        "kal",
        "Great. I brought a recording of Janis Joplin talking about her first concert in Port Arthur.",
        0.7,
    ),
    ("Cal", "awb", "Before we start, is the microphone on the laptop switched on?", 0.5),
    (
        "Ada",
        "slt",
        "It is on. We will transcribe the clip and compare every word with the reference text.",
        0.6,
    ),
    ("Ben", "kal", "I bet the tiny model spells Joplin and Voxtral wrong.", 0.35),
    ("Cal", "awb", "Then we add them to the context bias list and run it again on Tuesday.", 0.8),
    ("Ada", "slt", "Perfect. Let us meet in Charleston Hall at nine thirty.", 0.45),
    ("Ben", "kal", "I will bring the pandas tables and the plots.", 0.6),
    ("Cal", "awb", "And I will ask Professor Okafor to join us from Nairobi.", 0.3),
    ("Ada", "slt", "Wonderful. See you all on Tuesday morning.", 0.55),
]

TWO_VOICES = [
    ("Ada", "slt", "Can you hear me clearly on the recording?", 0.3),
    ("Ben", "rms", "Yes, the sound is fine on my side of the room.", 0.6),
    ("Ada", "slt", "Good, then please read the first paragraph aloud.", 0.4),
    ("Ben", "rms", "The library opens at eight and closes late on Fridays.", 0.7),
    ("Ada", "slt", "Thank you, that was very clear.", 0.5),
]

THREE_VOICES = [
    ("Ada", "slt", "Shall we start with the weather report?", 0.3),
    ("Ben", "rms", "It will rain in the morning and clear up after lunch.", 0.5),
    ("Dan", "espeak", "The wind comes from the west at twenty miles an hour.", 0.6),
    ("Ada", "slt", "And what about the weekend?", 0.4),
    ("Dan", "espeak", "Sunny on Saturday, with a cold night.", 0.7),
    ("Ben", "rms", "Sunday looks cloudy but dry.", 0.5),
]

# word-by-word fixtures: name -> (voice, text, gap before each word, context_bias)
WORD_FIXTURES = {
    "words": (
        "kal",
        "Janis Joplin recorded her second album in Charleston on a cold Tuesday morning",
        [0.25, 0.05, 0.18, 0.08, 0.3, 0.12, 0.06, 0.22, 0.1, 0.15, 0.04, 0.2, 0.09],
        ["Janis_Joplin", "Charleston"],
    ),
    # a second voice and sentence, kept apart to check the aligner's settings on unseen audio
    "words_slt": (
        "slt",
        "Professor Okafor flew from Nairobi to Boston with the whole team last Friday",
        [0.3, 0.07, 0.12, 0.2, 0.05, 0.15, 0.1, 0.08, 0.25, 0.06, 0.16, 0.11, 0.13],
        ["Okafor", "Nairobi"],
    ),
}

SAMPLES = {
    "dialogue": {
        "turns": DIALOGUE,
        "format": "OGG",
        "context_bias": [
            "Voxtral",
            "Mistral",
            "Jupyter",
            "Janis_Joplin",
            "Port_Arthur",
            "Charleston",
            "Okafor",
            "Nairobi",
        ],
    },
    "two_voices": {"turns": TWO_VOICES, "format": "OGG", "context_bias": []},
    "three_voices": {"turns": THREE_VOICES, "format": "OGG", "context_bias": []},
}


def synthesise(voice: str, text: str, tmp: Path) -> np.ndarray:
    """One utterance as float32 16 kHz mono, trimmed to its audible part and levelled."""
    engine_voice, level = VOICES[voice]
    engine, name = engine_voice.split(":", 1)
    raw, wav = tmp / "raw.wav", tmp / "utt.wav"
    if engine == "flite":
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(raw)], check=True)
    elif engine == "festival":
        subprocess.run(
            ["text2wave", "-eval", f"(voice_{name})", "-o", str(raw)], input=text.encode(), check=True
        )
    else:
        subprocess.run(["espeak-ng", "-v", name, "-s", "160", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(wav)], check=True)
    y, _ = sf.read(wav, dtype="float32")
    return trim(y) * (level / max(np.abs(y).max(), 1e-9))


def trim(y: np.ndarray) -> np.ndarray:
    """Cut leading and trailing samples quieter than TRIM_DB below the peak."""
    loud = np.flatnonzero(np.abs(y) > np.abs(y).max() * 10 ** (TRIM_DB / 20))
    return y[loud[0] : loud[-1] + 1]


def join(clips: list[np.ndarray], gaps: list[float], *, tail: float = 0.5, seed: int = 0):
    """Concatenate *clips*, each preceded by its gap; return audio and (start, end) per clip."""
    pieces, spans, t = [], [], 0
    for clip, gap in zip(clips, gaps):
        pad = round(gap * SR)
        pieces += [np.zeros(pad, np.float32), clip]
        spans.append(((t + pad) / SR, (t + pad + len(clip)) / SR))
        t += pad + len(clip)
    pieces.append(np.zeros(round(tail * SR), np.float32))
    y = np.concatenate(pieces)
    noise = np.random.default_rng(seed).standard_normal(len(y)).astype(np.float32)
    return y + noise * 10 ** (NOISE_DBFS / 20), spans


def make_dialogue(name: str, spec: dict, tmp: Path) -> None:
    turns = spec["turns"]
    clips = [synthesise(voice, text, tmp) for _, voice, text, _ in turns]
    y, spans = join(clips, [gap for *_, gap in turns])
    audio = HERE / f"{name}.ogg"
    with atomic_path(audio, suffix=audio.suffix) as tmp:
        sf.write(tmp, y, SR, format=spec["format"], subtype="VORBIS")
    reference = {
        "audio": audio.name,
        "duration": round(len(y) / SR, 4),
        "text": " ".join(text for _, _, text, _ in turns),
        "context_bias": spec["context_bias"],
        "voices": {speaker: VOICES[voice][0] for speaker, voice, _, _ in turns},
        "turns": [
            {"speaker": speaker, "start": round(s, 4), "end": round(e, 4), "text": text}
            for (speaker, _, text, _), (s, e) in zip(turns, spans)
        ],
        "made_by": "voxnb/data/make_sample.py",
    }
    write_atomic(HERE / f"{name}.json", json.dumps(reference, indent=1) + "\n")


def make_words(name: str, tmp: Path) -> None:
    voice, text, gaps, context_bias = WORD_FIXTURES[name]
    words = text.split()
    clips = [synthesise(voice, word, tmp) for word in words]
    y, spans = join(clips, gaps[: len(words)], seed=len(name))
    audio = HERE / f"{name}.flac"
    with atomic_path(audio, suffix=audio.suffix) as tmp:
        sf.write(tmp, y, SR, format="FLAC", subtype="PCM_16")
    reference = {
        "audio": audio.name,
        "duration": round(len(y) / SR, 4),
        "text": text,
        "context_bias": context_bias,
        "voices": {"Ben": VOICES[voice][0]},
        "turns": [
            {"speaker": "Ben", "start": round(spans[0][0], 4), "end": round(spans[-1][1], 4), "text": text}
        ],
        "words": [{"text": w, "start": round(s, 4), "end": round(e, 4)} for w, (s, e) in zip(words, spans)],
        "made_by": "voxnb/data/make_sample.py (each word synthesised alone, joined with known gaps)",
    }
    write_atomic(HERE / f"{name}.json", json.dumps(reference, indent=1) + "\n")


def main() -> None:
    for tool in ("flite", "text2wave", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} not found: apt-get install -y espeak-ng flite festival festvox-us-slt-hts sox"
            )
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in SAMPLES.items():
            make_dialogue(name, spec, Path(tmp))
        for name in WORD_FIXTURES:
            make_words(name, Path(tmp))
    for path in sorted(HERE.glob("*.[of][gl]*")):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
