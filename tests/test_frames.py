"""Properties of the DataFrames on random segment lists (hypothesis), and the word tokenizer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxnb import Transcript
from voxnb.frames import tokenize

words = st.text(alphabet="abcxyzÉé,.!?'-今日", min_size=1, max_size=8)
segment = st.fixed_dictionaries(
    {
        "text": st.lists(words, min_size=0, max_size=6).map(" ".join),
        "start": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        "length": st.floats(0, 10, allow_nan=False),
        "speaker_id": st.one_of(st.none(), st.sampled_from(["speaker_1", "speaker_2", "speaker_3"])),
    }
)


def _response(raw_segments):
    segments = []
    for s in raw_segments:
        start = s["start"]
        segments.append(
            {
                "text": s["text"],
                "start": start,
                "end": None if start is None else start + s["length"],
                "speaker_id": s["speaker_id"],
            }
        )
    return {"model": "m", "text": " ".join(s["text"] for s in segments), "segments": segments}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment, max_size=25))
def test_frame_invariants(raw_segments):
    t = Transcript.from_response(_response(raw_segments))
    seg, w = t.segments, t.words

    # segments are sorted by start (untimed ones last) and words count up
    starts = seg["start"].to_numpy()
    timed = starts[~np.isnan(starts)]
    assert (np.diff(timed) >= 0).all()
    assert np.isnan(starts[len(timed) :]).all()
    assert seg["n_words"].sum() == len(w)
    assert (seg["n_words"].to_numpy() == np.bincount(w["segment"], minlength=len(seg))).all()
    assert seg["n_words"].tolist() == [len(tokenize(text)) for text in seg["text"]]

    # every word lies within its segment, words are sorted within and across segments
    seg_times = seg[["segment", "start", "end"]].rename(columns={"start": "start_seg", "end": "end_seg"})
    joined = w.merge(seg_times, on="segment", how="left")
    has_times = joined["start_seg"].notna()
    assert (joined.loc[has_times, "start"] >= joined.loc[has_times, "start_seg"] - 1e-9).all()
    assert (joined.loc[has_times, "end"] <= joined.loc[has_times, "end_seg"] + 1e-9).all()
    assert (joined.loc[has_times, "timing"] == "interpolated").all()
    assert (joined.loc[~has_times, "timing"] == "none").all()
    assert (np.diff(w["segment"].to_numpy()) >= 0).all()
    for _, group in w[has_times.to_numpy()].groupby("segment"):
        assert (np.diff(group["start"].to_numpy()) >= -1e-9).all()
        assert (group["end"].to_numpy() >= group["start"].to_numpy() - 1e-9).all()

    # words inherit their segment's speaker
    assert (
        w["speaker"].astype(object).fillna("?").to_numpy()
        == seg["speaker"].astype(object).fillna("?").to_numpy()[w["segment"].to_numpy()]
    ).all()

    # speakers' talk time sums to the duration of the segments that have a speaker
    labelled = seg[seg["speaker"].notna()]
    sp = t.speakers
    assert sp["talk_time"].fillna(0).sum() == pytest.approx(labelled["duration"].fillna(0).sum())
    assert sp["words"].sum() == labelled["n_words"].sum()
    assert sp["turns"].sum() == t.turns["speaker"].notna().sum()
    if sp["talk_time"].sum() > 0:
        assert sp["share"].sum() == pytest.approx(1.0)

    # turns partition the segments
    assert t.turns["n_segments"].sum() == len(seg)
    assert not (
        t.turns["speaker"].astype(object).fillna("?").iloc[1:].to_numpy()
        == t.turns["speaker"].astype(object).fillna("?").iloc[:-1].to_numpy()
    ).any()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello, world!", ["Hello,", "world!"]),
        ("  spaced   out  ", ["spaced", "out"]),
        ("l'homme — au 3,5 km…", ["l'homme", "—", "au", "3,5", "km…"]),
        ("日本語です。", ["日", "本", "語", "で", "す。"]),
        ("Voxtral は速い", ["Voxtral", "は", "速", "い"]),
        ("안녕하세요 세계", ["안녕하세요", "세계"]),
        ("", []),
    ],
)
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_interpolation_spreads_by_characters():
    t = Transcript.from_response(
        {"text": "a bbb", "segments": [{"text": "a bbb", "start": 10.0, "end": 14.0}]}
    )
    assert t.words[["start", "end"]].values.tolist() == [[10.0, 11.0], [11.0, 14.0]]


def test_sentence_ends_fast_path_and_odd_texts():
    from voxnb.frames import _ends_sentence

    texts = ["a.", "", "b", "c?", "今日は。", "x\x00", "…"]
    assert _ends_sentence(texts).tolist() == [True, False, False, True, True, False, True]
    assert _ends_sentence(texts[:5]).tolist() == [True, False, False, True, True]
    assert _ends_sentence([]).tolist() == []


# -- the fast paths (ASCII text on one byte buffer) give exactly what the general path gives ----------

ascii_word = st.text(alphabet="abcXYZ09,.!?'-\t\x1c", min_size=0, max_size=6)
ascii_entry = st.fixed_dictionaries(
    {
        "text": st.tuples(st.sampled_from(["", " ", "  ", "\n"]), ascii_word).map("".join),
        "start": st.floats(0, 50, allow_nan=False),
        "length": st.floats(0, 3, allow_nan=False),
    }
)


def _tables(t):
    return t.segments, t.words, t.turns, t.speakers


def _same_tables(fast, slow):
    import pandas.testing as pdt

    for a, b in zip(_tables(fast), _tables(slow)):
        pdt.assert_frame_equal(a, b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ascii_entry, min_size=1, max_size=30), st.booleans())
def test_word_entries_on_the_fast_path_match_the_general_path(entries, speakers):
    from unittest import mock

    import voxnb.frames as frames

    segments = [
        {"text": e["text"], "start": e["start"], "end": e["start"] + e["length"]}
        | ({"speaker_id": f"speaker_{i % 2}"} if speakers else {})
        for i, e in enumerate(entries)
    ]
    response = {"text": "", "segments": segments}
    fast = Transcript.from_response(response, granularity="word")
    with mock.patch.object(frames, "_layout_from_ascii_words", return_value=None):
        slow = Transcript.from_response(response, granularity="word")
        _same_tables(fast, slow)  # inside: the tables are made on first use


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(ascii_word, max_size=6).map(" ".join), min_size=1, max_size=20))
def test_segment_text_on_the_fast_path_matches_the_general_path(texts):
    from unittest import mock

    import voxnb.frames as frames

    response = {
        "text": "",
        "segments": [{"text": t, "start": float(i), "end": i + 0.9} for i, t in enumerate(texts)],
    }
    fast = Transcript.from_response(response)
    assert fast.segments["n_words"].tolist() == [len(t.split()) for t in fast.segments["text"]]
    with mock.patch.object(frames._AsciiTokens, "of", return_value=None):
        slow = Transcript.from_response(response)
        _same_tables(fast, slow)


def test_the_fast_paths_are_taken_for_ascii_text_and_left_for_other_scripts():
    import voxnb.frames as frames
    from voxnb.readers import read_response

    words = [{"text": " Hello", "start": 0.0, "end": 0.4}, {"text": " world.", "start": 0.5, "end": 0.9}]
    _, canonical = read_response({"text": "", "segments": words}, granularity="word")
    assert frames._layout_from_ascii_words(canonical.words) is not None
    _, canonical = read_response({"text": "", "segments": [dict(words[0], text=" 今日")]}, granularity="word")
    assert frames._layout_from_ascii_words(canonical.words) is None
    assert frames._AsciiTokens.of(["a b", "c"]).counts.tolist() == [2, 1]
    assert frames._AsciiTokens.of(["é"]) is None
