"""Long offline jobs show a bar over audio seconds; progress=False turns it off."""

from __future__ import annotations

import numpy as np
import pytest

import voxnb
from voxnb.local.progress import MIN_SECONDS, audio_bar


@pytest.fixture(scope="module")
def minute():
    """A little over a minute of speech: the dialogue, a pause, the two voices."""
    pause = np.zeros(16000, np.float32)
    y = np.concatenate([voxnb.data.audio("dialogue").y, pause, voxnb.data.audio("two_voices").y])
    assert len(y) / 16000 >= MIN_SECONDS
    return voxnb.Audio.from_array(y, 16000)


def test_transcribe_and_align_show_a_bar_over_audio_seconds(offline_engine, minute, capsys):
    seconds = f"{minute.duration:.0f}/{minute.duration:.0f} s audio"
    response = offline_engine.transcribe(minute.y, timestamps=["segment"])
    err = capsys.readouterr().err
    assert "transcribing" in err and seconds in err
    t = voxnb.Transcript.from_response(response)
    aligned = voxnb.align(t, minute)
    err = capsys.readouterr().err
    assert "aligning" in err and "s audio" in err
    assert (aligned.words["timing"] == "aligned").all()


def test_progress_false_is_silent(offline_engine, minute, capsys):
    response = offline_engine.transcribe(minute.y, timestamps=["segment"], progress=False)
    voxnb.align(voxnb.Transcript.from_response(response), minute, progress=False)
    assert capsys.readouterr().err == ""


def test_short_audio_shows_no_bar(capsys):
    with audio_bar(MIN_SECONDS - 1, progress=True, desc="transcribing") as bar:
        bar.update(10)
    assert bar.disable and capsys.readouterr().err == ""
