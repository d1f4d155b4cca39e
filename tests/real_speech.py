"""Real human recordings with speaker references, for tests/test_diarize.py and benchmarks/diarize.py.

Two kinds (provenance and licences in tests/data/real/NOTICE.txt):

* ``know``: a real two-speaker telephone call (Debian's ``transcriber`` examples, fetched by
  scripts/fetch_real_speech.py). Its reference comes from each speaker's own channel (speech found
  by Silero VAD per channel, pauses under 0.3 s bridged); :func:`know_trs` gives the human
  Transcriber turns instead, which are coarser (pauses inside turns, whole turns marked as overlap).
* ``join_speakers``: dialogues joined from phrases of different real speakers (LibriVox reader,
  JFK, a CMU speaker). No real recording of three or more speakers with speaker labels was found in
  the package registries, so these are built; the speaker of every phrase is exact by construction,
  and where speech starts and ends comes from Silero VAD on each clean phrase.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "data" / "real"
SR = 16000
ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> np.ndarray:
    import librosa
    import soundfile as sf

    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    return librosa.resample(y, orig_sr=sr, target_sr=SR) if sr != SR else y


def utterances(speaker: str) -> list[np.ndarray]:
    """The bundled utterances of ``"austen_reader"``, ``"cards_speaker"`` or ``"jfk"``."""
    ref = json.loads((HERE / "real.json").read_text())
    return [_load(HERE / f"{name}.flac") for name, item in ref.items() if item["speaker"] == speaker]


def speech_parts(y: np.ndarray, *, min_pause: float = 0.3) -> list[tuple[float, float]]:
    """Speech stretches of one speaker's clean audio (Silero VAD; pauses under *min_pause* bridged)."""
    from voxnb.local.vad import speech_regions

    return speech_regions(y, min_silence=min_pause, pad=0.05)


def phrases(y: np.ndarray, *, max_len: float = 4.0) -> list[np.ndarray]:
    """Pieces of up to *max_len* s cut at pauses, so that turns have natural edges."""
    pieces, current = [], None
    for start, end in speech_parts(y, min_pause=0.2):
        if current is not None and end - current[0] <= max_len:
            current[1] = end
            continue
        if current is not None:
            pieces.append(current)
        current = [start, end]
    if current is not None:
        pieces.append(current)
    return [y[round(a * SR) : round(b * SR)] for a, b in pieces if b - a > 0.4]


def join_speakers(speakers: list[str], *, seed: int = 0) -> tuple[np.ndarray, list[dict]]:
    """A dialogue: phrases of *speakers* in turn (pauses of 0.2-0.6 s), levelled to one loudness.

    Returns the samples and reference turns ``{"speaker", "start", "end"}``.
    """
    rng = np.random.default_rng(seed)
    pools = {s: [p for u in utterances(s) for p in phrases(u)] for s in speakers}
    pieces, turns, t = [np.zeros(int(0.3 * SR), np.float32)], [], 0.3
    while any(pools.values()):
        for speaker in speakers:
            if not pools[speaker]:
                continue
            piece = pools[speaker].pop(0)
            piece = (piece * 0.05 / (np.sqrt(np.mean(piece**2)) + 1e-9)).astype(np.float32)
            turns += [{"speaker": speaker, "start": t + a, "end": t + b} for a, b in speech_parts(piece)]
            gap = np.zeros(int(rng.uniform(0.2, 0.6) * SR), np.float32)
            pieces += [piece, gap]
            t += (len(piece) + len(gap)) / SR
    return np.concatenate(pieces), turns


def one_speaker(speaker: str) -> tuple[np.ndarray, list[dict]]:
    """A speaker's utterances one after another with 0.5 s pauses, and their reference turns."""
    y = np.concatenate([np.concatenate([u, np.zeros(SR // 2, np.float32)]) for u in utterances(speaker)])
    return y, [{"speaker": speaker, "start": a, "end": b} for a, b in speech_parts(y)]


def _fetched() -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from fetch_real_speech import FILES, folder

    out = folder()
    if not all((out / name).exists() for name in FILES):
        raise FileNotFoundError(
            f"the Debian transcriber examples are not in {out}: run "
            "'python scripts/fetch_real_speech.py' (make test does) after 'apt-get update'"
        )
    return out


def know() -> tuple[np.ndarray, list[dict]]:
    """The telephone call mixed to mono, with the per-channel reference turns."""
    import librosa
    import soundfile as sf

    path = _fetched() / "know.sph"
    stereo, sr = sf.read(path, dtype="float32")
    turns = []
    for channel, speaker in ((0, "spk2"), (1, "spk1")):  # names as in know.trs
        y = librosa.resample(stereo[:, channel], orig_sr=sr, target_sr=SR)
        turns += [{"speaker": speaker, "start": a, "end": b} for a, b in speech_parts(y)]
    return _load(path), sorted(turns, key=lambda t: t["start"])


def _trs(path: Path) -> list[dict]:
    """Turns of a Transcriber .trs file; an overlapped turn gives one turn per speaker."""
    turns = []
    for match in re.finditer(r"<Turn ([^>]*)>", path.read_text(encoding="latin-1")):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        for speaker in attrs.get("speaker", "").split():
            turns.append(
                {"speaker": speaker, "start": float(attrs["startTime"]), "end": float(attrs["endTime"])}
            )
    return turns


def know_trs() -> tuple[np.ndarray, list[dict]]:
    """The telephone call with the human Transcriber turns as reference."""
    return _load(_fetched() / "know.sph"), _trs(_fetched() / "know.trs")


def frint() -> tuple[np.ndarray, list[dict]]:
    """French radio (20 s; a news reader, 1.6 s of a second voice, music from 4.7 to 9.6 s)."""
    return _load(_fetched() / "frint980428.wav"), _trs(_fetched() / "frint980428.trs")


def der(reference: list[dict], turns: list) -> float:
    """DER (pyannote.metrics, no collar) of *turns* (objects with start/end/speaker) over the reference's extent."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for i, t in enumerate(reference):
        ref[Segment(t["start"], t["end"]), i] = t["speaker"]
    for i, t in enumerate(turns):
        hyp[Segment(t.start, t.end), i] = t.speaker
    return DiarizationErrorRate()(ref, hyp, uem=ref.get_timeline().extent())
