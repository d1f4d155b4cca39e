"""Known-speaker fixtures shared by the realtime and speaker tests."""

from __future__ import annotations

import numpy as np

import voxnb
from voxnb.local.fake import FakeEngine


class OracleDiarizer(FakeEngine):
    """The deterministic engine, diarizing two_voices with its true turns (speaker_1 = Ada, speaker_2 = Ben)."""

    def transcribe(self, samples, **options):
        response = super().transcribe(samples, **options)
        if options.get("diarize"):
            turns = voxnb.data.turns("two_voices")
            response["segments"] = [
                {"text": t.text, "start": t.start, "end": t.end, "type": "transcription_segment",
                 "speaker_id": "speaker_1" if t.speaker == "Ada" else "speaker_2"}
                for t in turns.itertuples()
            ]  # fmt: skip
        return response


def ben_clip() -> voxnb.Audio:
    """Ben's voice (flite rms) from another recording: his two turns in three_voices, 5 s."""
    audio = voxnb.data.audio("three_voices")
    turns = voxnb.data.turns("three_voices")
    y = np.concatenate([audio.slice(t.start, t.end).y for t in turns.itertuples() if t.speaker == "Ben"])
    return voxnb.Audio.from_array(y, audio.sr)


def references() -> dict:
    """Ada and Ben of two_voices, as clips of the same voices from other recordings."""
    return {"Ada": voxnb.data.path("words_slt"), "Ben": ben_clip()}
