"""Forced word alignment against the word-by-word fixtures whose boundaries are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

import voxnb
from voxnb.errors import ParameterError
from voxnb.local.align import snap_to_sound, sound_edges


def segment_only(name: str) -> voxnb.Transcript:
    """The sample's reference text with segment times as Voxtral gives them (0.1 s, no words)."""
    ref = voxnb.data.reference(name)
    segments = [
        {"text": t["text"], "start": math.floor(t["start"] * 10) / 10, "end": math.ceil(t["end"] * 10) / 10}
        for t in ref["turns"]
    ]
    return voxnb.Transcript.from_response(
        {
            "model": "voxtral-mini-transcribe-3",
            "text": ref["text"],
            "language": "en",
            "segments": segments,
            "usage": {},
        }
    )


def boundary_errors(words, name: str) -> np.ndarray:
    truth = voxnb.data.words(name)
    assert list(words["text"]) == list(truth["text"])
    return np.abs(words[["start", "end"]].to_numpy(float) - truth[["start", "end"]].to_numpy(float)).ravel()


@pytest.mark.parametrize("name", ["words", "words_slt"])
def test_aligned_boundaries_are_close_to_the_truth(offline_engine, name):
    t = segment_only(name)
    before = boundary_errors(t.words, name)
    assert set(t.words["timing"]) == {"interpolated"}
    aligned = voxnb.align(t, voxnb.data.path(name))
    errors = boundary_errors(aligned.words, name)
    assert set(aligned.words["timing"]) == {"aligned"}
    assert np.median(errors) <= 0.06  # the goal; measured about 0.01 s
    assert np.mean(errors <= 0.1) >= 0.55
    assert np.median(errors) < np.median(before) / 3  # far better than spreading by characters
    starts, ends = aligned.words["start"].to_numpy(), aligned.words["end"].to_numpy()
    assert (ends >= starts).all() and (starts[1:] >= ends[:-1] - 1e-9).all()


def test_transcript_align_method_uses_its_audio(offline_engine):
    t = segment_only("two_voices")
    aligned = t.align(voxnb.data.audio("two_voices"))
    assert set(aligned.words["timing"]) == {"aligned"}
    first = aligned.words.groupby("segment")["start"].min().to_numpy()
    truth = voxnb.data.turns("two_voices")["start"].to_numpy()
    assert np.median(np.abs(first - truth)) <= 0.05  # turn starts: connected speech, exact reference
    assert aligned.segments["text"].tolist() == t.segments["text"].tolist()


def test_without_segment_times_words_stay_interpolated(offline_engine):
    t = voxnb.Transcript.from_response({"text": "Hello there.", "usage": {"type": "duration", "seconds": 2}})
    with pytest.warns(UserWarning, match="no segment has usable times"):
        same = voxnb.align(t, voxnb.data.path("words"))
    assert list(same.words["timing"]) == list(t.words["timing"])


def test_languages_no_model_knows_fall_back_with_a_warning(offline_engine):
    # French is aligned by the packaged multilingual model (tests/test_languages.py)
    t = segment_only("words")
    t_xx = voxnb.Transcript.from_response({**t.raw, "language": "xx"})
    with pytest.warns(UserWarning, match="does not transcribe language='xx'"):
        fallback = voxnb.align(t_xx, voxnb.data.path("words"))
    assert set(fallback.words["timing"]) == {"interpolated"}


def test_align_wants_a_transcript():
    with pytest.raises(ParameterError, match=r"needs a voxnb\.Transcript"):
        voxnb.align({"text": "hi"}, voxnb.data.path("words"))


def test_snapping_moves_boundaries_onto_sound_edges():
    sr = 16000
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1e-4, 3 * sr).astype(np.float32)
    y[int(0.50 * sr) : int(1.00 * sr)] += 0.3 * np.sin(np.arange(int(0.5 * sr)) * 0.2)
    y[int(1.30 * sr) : int(2.00 * sr)] += 0.3 * np.sin(np.arange(int(0.7 * sr)) * 0.3)
    onsets, offsets = sound_edges(y)
    np.testing.assert_allclose(onsets, [0.5, 1.3], atol=0.011)
    np.testing.assert_allclose(offsets, [1.0, 2.0], atol=0.011)
    # the aligner's habit: words touch, the pause goes to the first word, the first word starts early
    snapped = snap_to_sound(np.array([[0.3, 1.2], [1.2, 2.1]]), onsets, offsets)
    np.testing.assert_allclose(snapped, [[0.5, 1.0], [1.3, 2.0]], atol=0.011)
    # nothing within reach and no silence inside the word: unchanged
    np.testing.assert_allclose(snap_to_sound(np.array([[0.75, 0.78]]), onsets, offsets), [[0.75, 0.78]])
