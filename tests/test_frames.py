"""Properties of the DataFrames on random segment lists (hypothesis), and the word tokenizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


@pytest.mark.slow  # 4-6 s each: mutation runs leave them out (the unit tests must notice)
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
        # long runs of spaces take the strip's slower way (past its few vector steps)
        "text": st.tuples(
            st.sampled_from(["", " ", "  ", "\n", "      "]), ascii_word, st.sampled_from(["", " ", "\t" * 6])
        ).map("".join),
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


@pytest.mark.slow  # 4-6 s each: mutation runs leave them out (the unit tests must notice)
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


@pytest.mark.slow  # 4-6 s each: mutation runs leave them out (the unit tests must notice)
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
    with (
        mock.patch.object(frames._AsciiTokens, "of", return_value=None),
        mock.patch.object(frames, "_trimmed_ascii", return_value=None),
    ):
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


def _words_response(entries):
    return Transcript.from_response(
        {"text": "x", "segments": [{"text": w, "start": a, "end": b, **extra} for w, a, b, extra in entries]},
        request={"timestamp_granularities": ["word"]},
    )


def test_bare_words_are_grouped_at_sentence_ends_long_pauses_and_speaker_changes():
    a, b = {"speaker_id": "A"}, {"speaker_id": "B"}
    t = _words_response(
        [
            ("there.", 0.5, 0.9, a),  # given out of order: sorted by time first
            ("Hello", 0.0, 0.4, a),
            ("How", 1.0, 1.2, a),
            ("are", 1.3, 1.5, a),
            ("you", 2.6, 2.8, a),  # 1.1 s after "are": a new segment
            ("fine", 2.9, 3.25, b),  # another speaker: a new segment
            ("thanks", 4.25, 4.5, b),  # exactly 1.0 s after "fine": the same segment
        ]
    )
    seg = t.segments
    assert seg["text"].tolist() == ["Hello there.", "How are", "you", "fine thanks"]
    assert seg["start"].tolist() == [0.0, 1.0, 2.6, 2.9]
    assert seg["end"].tolist() == [0.9, 1.5, 2.8, 4.5]
    assert seg["speaker"].tolist() == ["A", "A", "A", "B"]
    assert seg["n_words"].tolist() == [2, 2, 1, 2] and seg["score"].isna().all()
    assert seg["score"].dtype == np.float64 and seg["start"].dtype == np.float64
    assert t.words["text"].tolist() == ["Hello", "there.", "How", "are", "you", "fine", "thanks"]
    assert t.words["segment"].tolist() == [0, 0, 1, 1, 2, 3, 3]
    assert (t.words["timing"] == "api").all()
    assert t.turns[["speaker", "start", "end", "n_segments"]].values.tolist() == [
        ["A", 0.0, 2.8, 3],
        ["B", 2.9, 4.5, 1],
    ]
    assert t.turns["text"].tolist() == ["Hello there. How are you", "fine thanks"]


def test_words_that_carry_their_spaces_are_joined_as_they_are():
    t = _words_response(
        [(" Hi", 0.0, 0.2, {}), (",", 0.2, 0.25, {}), (" you", 0.3, 0.5, {}), ("!", 0.5, 0.6, {})]
    )
    assert t.segments["text"].tolist() == ["Hi, you!"]
    assert t.words["text"].tolist() == ["Hi", ",", "you", "!"]


def test_a_word_holding_a_nul_still_ends_its_sentence_by_its_last_character():
    t = _words_response([("a\x00b.", 0.0, 0.5, {}), ("next", 0.6, 1.0, {})])
    assert t.segments["text"].tolist() == ["a\x00b.", "next"]


def test_turns_merge_consecutive_unknown_speakers_and_skip_empty_texts():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "one", "start": 0.0, "end": 1.0},
                {"text": "", "start": 1.0, "end": 1.5},
                {"text": "two", "start": 2.0, "end": 3.0},
                {"text": "three", "start": 3.0, "end": 4.0, "speaker_id": "A"},
                {"text": "four", "start": 5.0, "end": 5.0, "speaker_id": "A"},  # no length at all
            ],
        }
    )
    turns = t.turns
    assert turns["turn"].tolist() == [0, 1]
    assert turns["speaker"].isna().tolist() == [True, False]
    assert turns["text"].tolist() == ["one two", "three four"]
    assert turns["start"].tolist() == [0.0, 3.0] and turns["end"].tolist() == [3.0, 5.0]
    assert turns["n_segments"].tolist() == [3, 2]
    assert t.segments["duration"].tolist() == [1.0, 0.5, 1.0, 1.0, 0.0]  # never negative
    # (an end before its start is refused when the response is read: see test_bad_inputs.py)


def test_an_empty_transcript_has_empty_tables_of_the_right_types():
    t = Transcript.from_response({"text": "", "segments": []})
    assert len(t.segments) == len(t.words) == len(t.turns) == len(t.speakers) == 0
    assert t.turns["turn"].dtype == np.int64 and t.turns["n_segments"].dtype == np.int64
    assert str(t.turns["text"].dtype) == "string" and t.turns["start"].dtype == float
    assert str(t.turns["speaker"].dtype) == "category"


def test_text_without_segments_is_one_untimed_segment():
    t = Transcript.from_response({"text": "  just the text  "})
    assert t.segments["text"].tolist() == ["just the text"]
    assert t.segments[["start", "end"]].isna().all().all()
    assert t.words["text"].tolist() == ["just", "the", "text"] and (t.words["timing"] == "none").all()
    assert Transcript.from_response({"text": "   "}).segments.empty


def test_untimed_words_between_timed_ones_share_the_gap_by_characters():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {
                    "text": "at 12 34 go",
                    "start": 0.0,
                    "end": 10.0,
                    "words": [
                        {"text": "at", "start": 1.0, "end": 2.0},
                        {"text": "12"},
                        {"text": "345"},
                        {"text": "go", "start": 7.0, "end": 8.0},
                    ],
                },
                {"text": "99", "words": [{"text": "99"}]},  # an untimed segment: its words stay untimed
            ],
        }
    )
    w = t.words
    # the gap 2.0-7.0 split 2:3 between "12" and "345"
    assert w[["start", "end"]].values.tolist()[:4] == [[1.0, 2.0], [2.0, 4.0], [4.0, 7.0], [7.0, 8.0]]
    assert w["timing"].tolist() == ["api", "interpolated", "interpolated", "api", "none"]
    assert np.isnan(w["start"][4])


def test_untimed_words_at_a_segments_edges_reach_its_start_and_end():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {
                    "text": "ab c d",
                    "start": 0.0,
                    "end": 6.0,
                    "words": [{"text": "ab"}, {"text": "c", "start": 2.0, "end": 3.0}, {"text": "d"}],
                }
            ],
        }
    )
    assert t.words[["start", "end"]].values.tolist() == [[0.0, 2.0], [2.0, 3.0], [3.0, 6.0]]


def test_text_without_spaces_is_spread_character_by_character():
    t = Transcript.from_response({"text": "x", "segments": [{"text": "今日は。", "start": 3.0, "end": 6.0}]})
    assert t.words["text"].tolist() == ["今", "日", "は。"]
    # "は。" is two characters of four: half the segment
    assert t.words[["start", "end"]].values.tolist() == [[3.0, 3.75], [3.75, 4.5], [4.5, 6.0]]


def test_sentence_ends_take_the_fast_path_for_texts_without_nul(monkeypatch):
    from voxnb import frames

    assert frames._ends_sentence([".", "a", "b!", ""]).tolist() == [True, False, True, False]
    # the fast path reads the code points; only the plain fallback would consult the set
    monkeypatch.setattr(frames, "_SENTENCE_END", frozenset())
    assert frames._ends_sentence([".", "a", "b!", ""]).tolist() == [True, False, True, False]
    assert frames._ends_sentence(["a.", "\x00"]).tolist() == [False, False]  # a NUL: the fallback


def test_the_first_fifty_words_decide_whether_words_carry_their_spaces():
    t = _words_response([*(("a", i, i + 0.5, {}) for i in range(50)), (" b", 50, 50.5, {})])
    assert t.segments["text"].tolist() == [" ".join(["a"] * 50) + "  b"]


def test_a_word_centred_on_a_boundary_and_untimed_words_are_tied_by_rule():
    resp = {
        "task": "transcribe",
        "segments": [{"start": 0.0, "end": 1.0, "text": " a"}, {"start": 1.0, "end": 2.0, "text": " b c"}],
        "words": [
            {"word": "a", "start": 0.2, "end": 0.6},
            {"word": "b", "start": 0.8, "end": 1.2},  # middle exactly 1.0: the segment starting there
            {"word": "c", "start": 1.5, "end": 1.9},
            {"word": "?"},  # no times at all: the first segment
        ],
    }
    t = Transcript.from_response(resp)
    assert t.words["text"].tolist() == ["a", "?", "b", "c"]
    assert t.words["segment"].tolist() == [0, 0, 1, 1]
    # the untimed word fills the rest of its segment after "a"
    assert t.words[["start", "end"]].values.tolist()[1] == [0.6, 1.0]


def _one_segment_words(words, start=0.0, end=10.0):
    return Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " ".join(w["text"] for w in words), "start": start, "end": end, "words": words}
            ],
        }
    )


def test_untimed_runs_are_filled_by_character_weights():
    t = _one_segment_words(
        [
            {"text": "go", "start": 0.0, "end": 1.0},
            {"text": "a"},
            {"text": "bcd"},
            {"text": "efgh"},
            {"text": "stop", "start": 9.0, "end": 10.0},
        ]
    )
    # a run of three untimed words shares 1.0-9.0 as 1:3:4 by their letters
    assert t.words[["start", "end"]].values.tolist()[1:4] == [[1.0, 2.0], [2.0, 5.0], [5.0, 9.0]]
    two = _one_segment_words([{"text": "go", "start": 0.0, "end": 2.0}, {"text": "ab"}, {"text": "cd"}])
    assert two.words[["start", "end"]].values.tolist()[1:] == [[2.0, 6.0], [6.0, 10.0]]


def test_a_word_with_a_start_but_no_end_is_untimed_and_refilled():
    t = _one_segment_words(
        [
            {"text": "a", "start": 0.0, "end": 1.0},
            {"text": "b", "start": 1.5},
            {"text": "c", "start": 3.0, "end": 4.0},
        ],
        end=4.0,
    )
    assert t.words[["start", "end"]].values.tolist()[1] == [1.0, 3.0]
    assert t.words["timing"].tolist() == ["api", "interpolated", "api"]


def test_a_run_without_a_time_on_one_side_stays_untimed_and_later_runs_are_still_filled():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {
                    "text": "a b",
                    "start": 0.0,
                    "words": [{"text": "a", "start": 0.0, "end": 1.0}, {"text": "b"}],
                },
                {
                    "text": "c d",
                    "start": 5.0,
                    "end": 7.0,
                    "words": [{"text": "c"}, {"text": "d", "start": 6.0, "end": 7.0}],
                },
            ],
        }
    )
    w = t.words
    assert w["timing"].tolist() == ["api", "none", "interpolated", "api"]
    assert np.isnan(w["start"][1]) and np.isnan(w["end"][1])  # no end for its segment: nothing to share
    # "c" starts its segment: it gets the segment's start, not the previous segment's last end
    assert w[["start", "end"]].values.tolist()[2] == [5.0, 6.0]


def test_turn_texts_join_alike_on_arrow_and_python_strings():
    from voxnb.frames import _joined_runs

    texts = ["a", "", None, "b c", "d", ""]
    bounds = np.array([0, 1, 4, 6])
    arrow = _joined_runs(pd.Series(pd.array(texts, dtype=pd.StringDtype("pyarrow"))), bounds)
    python = _joined_runs(pd.Series(pd.array(texts, dtype=pd.StringDtype("python"))), bounds)
    assert list(arrow) == list(python) == ["a", "b c", "d"]
