"""Long offline jobs show a bar over audio seconds; progress=False turns it off."""

from __future__ import annotations

import pytest

import voxnb
from voxnb.local.progress import MIN_SECONDS, audio_bar


@pytest.fixture
def past_threshold(monkeypatch):
    """Speech longer than the bar's threshold: the two voices (16 s), the threshold lowered to 10 s.

    Lowered so that the engine decodes 16 s rather than a minute; the threshold itself is
    checked at its real value below."""
    monkeypatch.setattr("voxnb.local.progress.MIN_SECONDS", 10.0)
    return voxnb.data.audio("two_voices")


def test_transcribe_and_align_show_a_bar_over_audio_seconds(offline_engine, past_threshold, capsys):
    seconds = f"{past_threshold.duration:.0f}/{past_threshold.duration:.0f} s audio"
    response = offline_engine.transcribe(past_threshold.y, timestamps=["segment"])
    err = capsys.readouterr().err
    assert "transcribing" in err and seconds in err
    t = voxnb.Transcript.from_response(response)
    aligned = voxnb.align(t, past_threshold)
    err = capsys.readouterr().err
    assert "aligning" in err and "s audio" in err
    assert (aligned.words["timing"] == "aligned").all()


def test_progress_false_is_silent(offline_engine, past_threshold, capsys):
    response = offline_engine.transcribe(past_threshold.y, timestamps=["segment"], progress=False)
    voxnb.align(voxnb.Transcript.from_response(response), past_threshold, progress=False)
    assert capsys.readouterr().err == ""


def test_short_audio_shows_no_bar(capsys):
    with audio_bar(MIN_SECONDS - 1, progress=True, desc="transcribing") as bar:
        bar.update(10)
    assert bar.disable and capsys.readouterr().err == ""
