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


def test_words_that_carry_their_spaces_are_joined_as_they_are(frame_path):
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


# -- hand-worked tables, on every path: Arrow strings (the fast paths), Python strings (the fast
# paths' other branch) and the general path (fast paths switched off, as the slow property tests do).
# The expected values are worked out by hand in the comments; the three paths must all give them.


@pytest.fixture(params=["arrow", "python-strings", "general"])
def frame_path(request):
    from unittest import mock

    import voxnb.frames as frames

    if request.param == "general":
        with (
            mock.patch.object(frames, "_layout_from_ascii_words", return_value=None),
            mock.patch.object(frames._AsciiTokens, "of", return_value=None),
            mock.patch.object(frames, "_trimmed_ascii", return_value=None),
        ):
            yield request.param
    elif request.param == "python-strings":
        frames._string_storage.cache_clear()
        with pd.option_context("mode.string_storage", "python"):
            yield request.param
        frames._string_storage.cache_clear()
    else:
        yield request.param


def _is_string(column) -> bool:
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.na_value is pd.NA


def test_segment_texts_are_stripped_counted_and_spread_into_words(frame_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                # 5 + 3 + 6 = 14 characters over 14 s: one second a character
                {"text": " Hello  big\tworld. ", "start": 10.0, "end": 24.0},
                {"text": "", "start": 24.0, "end": 25.0},
                {"text": "a", "start": 25.0, "end": 26.0},
                {"text": "\n\t x  y \r\n", "start": 26.0, "end": 28.0},
                {"text": "   ", "start": 28.0, "end": 29.0},
                # vertical tab and form feed split words too (3 + 2 + 4 = 9 characters over 9 s)
                {"text": "end\x0bof\x0cline", "start": 29.0, "end": 38.0},
                {"text": "no end", "start": 50.0},  # no end: its words have no times
            ],
        }
    )
    seg = t.segments
    assert seg["text"].tolist() == ["Hello  big\tworld.", "", "a", "x  y", "", "end\x0bof\x0cline", "no end"]
    assert seg["n_words"].tolist() == [3, 0, 1, 2, 0, 3, 2]
    assert seg["segment"].tolist() == list(range(7))
    assert seg["duration"].tolist()[:6] == [14.0, 1.0, 1.0, 2.0, 1.0, 9.0] and np.isnan(seg["duration"][6])
    assert _is_string(seg["text"]) and seg["n_words"].dtype == np.int64 and seg["segment"].dtype == np.int64
    assert seg["duration"].dtype == np.float64 and seg["score"].isna().all()

    w = t.words
    assert w["text"].tolist() == ["Hello", "big", "world.", "a", "x", "y", "end", "of", "line", "no", "end"]
    assert w["segment"].tolist() == [0, 0, 0, 2, 3, 3, 5, 5, 5, 6, 6]
    assert w["word"].tolist() == list(range(11))
    times = w[["start", "end"]].values.tolist()
    assert times[:9] == [
        [10.0, 15.0],
        [15.0, 18.0],
        [18.0, 24.0],
        [25.0, 26.0],
        [26.0, 27.0],
        [27.0, 28.0],
        [29.0, 32.0],
        [32.0, 34.0],
        [34.0, 38.0],
    ]
    assert np.isnan(times[9] + times[10]).all()
    assert w["timing"].tolist() == ["interpolated"] * 9 + ["none"] * 2
    assert list(w["timing"].cat.categories) == ["api", "aligned", "interpolated", "none"]
    assert _is_string(w["text"]) and w["word"].dtype == np.int64 and w["segment"].dtype == np.int64
    assert w["start"].dtype == np.float64 and w["score"].isna().all()


def test_information_separators_are_whitespace_as_python_says(frame_path):
    # \x1c-\x1f: str.strip and str.split treat them as spaces (Arrow's ASCII trim does not)
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "\x1c one\x1ftwo \x1d", "start": 0.0, "end": 6.0},  # 3 + 3 characters
                {"text": "\x1e", "start": 6.0, "end": 7.0},
            ],
        }
    )
    assert t.segments["text"].tolist() == ["one\x1ftwo", ""]
    assert t.segments["n_words"].tolist() == [2, 0]
    assert t.words["text"].tolist() == ["one", "two"]
    assert t.words[["start", "end"]].values.tolist() == [[0.0, 3.0], [3.0, 6.0]]


def test_text_in_other_scripts_is_spread_by_characters_too(frame_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " Élan  vital ", "start": 0.0, "end": 9.0},  # 4 + 5 characters
                {"text": "à\tbientôt", "start": 9.0, "end": 17.0},  # 1 + 7
            ],
        }
    )
    assert t.segments["text"].tolist() == ["Élan  vital", "à\tbientôt"]
    assert t.segments["n_words"].tolist() == [2, 2]
    assert t.words["text"].tolist() == ["Élan", "vital", "à", "bientôt"]
    assert t.words[["start", "end"]].values.tolist() == [[0.0, 4.0], [4.0, 9.0], [9.0, 10.0], [10.0, 17.0]]


def _bare_words(entries):
    """A transcript of bare word entries (text, start, end, speaker or None), as the word granularity gives."""
    segments = [
        {"text": text, "start": a, "end": b} | ({"speaker_id": who} if who else {})
        for text, a, b, who in entries
    ]
    return Transcript.from_response({"text": "", "segments": segments}, granularity="word")


def test_bare_words_carrying_their_spaces_are_stripped_and_joined(frame_path):
    t = _bare_words(
        [
            (" So", 0.0, 0.5, None),
            ("      far", 0.5, 1.0, None),  # more leading spaces than the strip's few vector steps
            (",", 1.0, 1.125, None),
            (" ok?", 1.25, 1.5, None),  # a sentence end
            ("", 1.5, 1.625, None),  # empty, right after the "?": no sentence end of its own
            (" \t a\x0b", 1.625, 1.75, None),
            ("        ", 1.75, 1.875, None),  # only spaces
            (" end.      ", 3.0, 3.5, None),  # 1.125 s after the last word: a new segment anyway
            ("       ", 5.0, 5.5, None),  # a segment of its own, without any text
        ]
    )
    seg = t.segments
    assert seg["text"].tolist() == ["So      far, ok?", "a", "end.", ""]
    assert seg["start"].tolist() == [0.0, 1.5, 3.0, 5.0] and seg["end"].tolist() == [1.5, 1.875, 3.5, 5.5]
    assert seg["n_words"].tolist() == [4, 3, 1, 1]
    assert _is_string(seg["text"]) and seg["n_words"].dtype == np.int64
    w = t.words
    assert w["text"].tolist() == ["So", "far", ",", "ok?", "", "a", "", "end.", ""]
    assert w["segment"].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 3]
    assert (w["timing"] == "api").all() and w["speaker"].isna().all()
    assert _is_string(w["text"])


def test_bare_words_break_at_one_character_sentence_ends_pauses_and_speakers(frame_path):
    t = _bare_words(
        [
            ("?", 0.0, 0.25, "A"),  # a one-character word, first in the buffer, ends a sentence
            ("b", 0.5, 0.75, "A"),
            ("c", 1.75, 2.0, "A"),  # exactly 1.0 s after "b": the same segment
            ("d", 2.0, 2.25, "B"),  # another speaker
            ("", 2.25, 2.5, "B"),  # an empty last word
        ]
    )
    seg = t.segments
    assert seg["text"].tolist() == ["?", "b c", "d"]
    assert seg[["start", "end", "duration"]].values.tolist() == [
        [0.0, 0.25, 0.25],
        [0.5, 2.0, 1.5],
        [2.0, 2.5, 0.5],
    ]
    assert seg["speaker"].tolist() == ["A", "A", "B"] and seg["n_words"].tolist() == [1, 2, 2]
    assert seg["score"].dtype == np.float64 and seg["score"].isna().all()
    w = t.words
    assert w["text"].tolist() == ["?", "b", "c", "d", ""]
    assert w["segment"].tolist() == [0, 1, 1, 2, 2] and w["speaker"].tolist() == ["A", "A", "A", "B", "B"]
    turns = t.turns
    assert turns[["speaker", "start", "end", "text", "n_segments"]].values.tolist() == [
        ["A", 0.0, 2.0, "? b c", 2],
        ["B", 2.0, 2.5, "d", 1],
    ]
    # A talks 0.25 + 1.5 = 1.75 s of 2.25 s, 3 words: 3 / (1.75 / 60) words a minute; B 0.5 s, 2 words
    sp = t.speakers
    assert sp["speaker"].tolist() == ["A", "B"] and sp["turns"].tolist() == [1, 1]
    assert sp["talk_time"].tolist() == [1.75, 0.5] and sp["words"].tolist() == [3, 2]
    assert sp["share"].tolist() == pytest.approx([7 / 9, 2 / 9])
    assert sp["words_per_minute"].tolist() == pytest.approx([180 / 1.75, 240.0])
    assert sp["first_start"].tolist() == [0.0, 2.0] and sp["last_end"].tolist() == [2.0, 2.5]


def test_the_first_fifty_words_decide_the_joiner_on_every_path(frame_path):
    t = _bare_words([*(("a", i, i + 0.5, None) for i in range(50)), (" b", 50, 50.5, None)])
    assert t.segments["text"].tolist() == [" ".join(["a"] * 50) + "  b"]
    assert t.words["text"].tolist() == ["a"] * 50 + ["b"]


def test_speakers_turns_and_segments_of_a_small_meeting_worked_by_hand(frame_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "one two", "start": 0.0, "end": 0.25, "speaker_id": "Zoe"},
                {"text": "three", "start": 0.25, "end": 0.5, "speaker_id": "Zoe"},
                {"text": "four five six", "start": 0.5, "end": 0.75, "speaker_id": "Adam"},
                {"text": "seven", "start": 0.75, "end": 1.0},
                {"text": "eight", "start": 1.0, "end": 1.0, "speaker_id": "Zoe"},  # no length
                {"text": "nine", "start": 2.0, "speaker_id": "Mia"},  # no end: no talk time known
            ],
        }
    )
    # speakers in order of first appearance (not alphabetical)
    assert list(t.segments["speaker"].cat.categories) == ["Zoe", "Adam", "Mia"]
    turns = t.turns
    assert turns["speaker"].tolist()[:2] == ["Zoe", "Adam"] and pd.isna(turns["speaker"][2])
    assert turns["speaker"].tolist()[3:] == ["Zoe", "Mia"]
    assert turns["text"].tolist() == ["one two three", "four five six", "seven", "eight", "nine"]
    assert turns["n_segments"].tolist() == [2, 1, 1, 1, 1] and turns["turn"].tolist() == [0, 1, 2, 3, 4]
    assert turns["start"].tolist() == [0.0, 0.5, 0.75, 1.0, 2.0]
    assert turns["end"].tolist()[:4] == [0.5, 0.75, 1.0, 1.0] and np.isnan(turns["end"][4])
    assert turns["turn"].dtype == np.int64 and turns["n_segments"].dtype == np.int64
    assert (
        turns["start"].dtype == np.float64 and turns["end"].dtype == np.float64 and _is_string(turns["text"])
    )

    # Zoe: 0.25 + 0.25 + 0 s, 2 + 1 + 1 words, two turns (the unknown speaker's turn between);
    # Adam: 0.25 s, 3 words; Mia: no end, so no talk time, share or rate. Total 0.75 s.
    sp = t.speakers
    assert sp["speaker"].tolist() == ["Zoe", "Adam", "Mia"]
    assert list(sp["speaker"].cat.categories) == ["Zoe", "Adam", "Mia"]
    assert sp["turns"].tolist() == [2, 1, 1] and sp["words"].tolist() == [4, 3, 1]
    assert sp["talk_time"].tolist()[:2] == [0.5, 0.25] and np.isnan(sp["talk_time"][2])
    assert sp["share"].tolist()[:2] == pytest.approx([2 / 3, 1 / 3]) and np.isnan(sp["share"][2])
    # 4 words in half a second: 480 a minute; 3 in a quarter: 720
    assert sp["words_per_minute"].tolist()[:2] == pytest.approx([480.0, 720.0])
    assert np.isnan(sp["words_per_minute"][2])
    assert sp["first_start"].tolist() == [0.0, 0.5, 2.0]
    assert sp["last_end"].tolist()[:2] == [1.0, 0.75] and np.isnan(sp["last_end"][2])
    assert sp["turns"].dtype == np.int64 and sp["words"].dtype == np.int64
    assert sp["talk_time"].dtype == np.float64 and sp["share"].dtype == np.float64


def test_a_speaker_known_only_from_words_has_no_row_of_its_own(frame_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {
                    "text": "a b",
                    "start": 0.0,
                    "end": 1.0,
                    "speaker_id": "Zoe",
                    "words": [
                        {"text": "a", "start": 0.0, "end": 0.5, "speaker_id": "Mia"},
                        {"text": "b", "start": 0.5, "end": 1.0},
                    ],
                }
            ],
        }
    )
    assert t.words["speaker"].tolist() == ["Mia", "Zoe"]  # b inherits its segment's speaker
    assert list(t.segments["speaker"].cat.categories) == ["Zoe", "Mia"]
    sp = t.speakers
    assert sp["speaker"].tolist() == ["Zoe"] and list(sp["speaker"].cat.categories) == ["Zoe", "Mia"]
    assert sp[["turns", "talk_time", "share", "words", "words_per_minute"]].values.tolist() == [
        [1, 1.0, 1.0, 2, 120.0]
    ]


def test_the_empty_tables_have_every_column_and_type(frame_path):
    t = Transcript.from_response({"text": "", "segments": []})
    assert list(t.turns.columns) == ["turn", "speaker", "start", "end", "text", "n_segments"]
    assert list(t.segments.columns) == [
        "segment",
        "start",
        "end",
        "duration",
        "text",
        "speaker",
        "score",
        "n_words",
    ]
    assert t.turns["end"].dtype == np.float64 and t.turns["start"].dtype == np.float64
    assert t.segments["n_words"].dtype == np.int64 and t.words["word"].dtype == np.int64


def test_segments_count_the_words_of_a_words_table_given_later():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "a b", "start": 0.0, "end": 1.0},
                {"text": "c", "start": 1.0, "end": 2.0},
                {"text": "d", "start": 2.0, "end": 3.0},
            ],
        }
    )
    words = t.words
    # the aligner kept three words, all in the first two segments: the last segment has none
    aligned = t.with_words(words[words["segment"] < 2].assign(segment=[0, 1, 1]))
    assert aligned.segments["n_words"].tolist() == [1, 2, 0]
    assert aligned.segments["n_words"].dtype == np.int64
    none = t.with_words(words.iloc[:0])
    assert none.segments["n_words"].tolist() == [0, 0, 0] and none.segments["n_words"].dtype == np.int64


def test_trimmed_ascii_strips_and_counts_in_arrow_buffers():
    from voxnb.frames import _trimmed_ascii

    column, counts = _trimmed_ascii([" a  b ", "", "c", "\td\ne\x0bf ", "   ", "gh"])
    assert list(column) == ["a  b", "", "c", "d\ne\x0bf", "", "gh"]
    assert counts.tolist() == [2, 0, 1, 3, 0, 1] and counts.dtype == np.int64
    assert _is_string(pd.Series(column))
    column, counts = _trimmed_ascii(["x y z", "w"])  # no control characters: only spaces split
    assert list(column) == ["x y z", "w"] and counts.tolist() == [3, 1]
    column, counts = _trimmed_ascii(["", " "])  # no text at all
    assert list(column) == ["", ""] and counts.tolist() == [0, 0]
    assert _trimmed_ascii([]) is not None
    # left to the general path: non-ASCII text, and the separators Arrow does not trim
    assert _trimmed_ascii(["a", "é"]) is None
    for separator in "\x1c\x1d\x1e\x1f":
        assert _trimmed_ascii(["a", f"b{separator}"]) is None


def test_trimmed_ascii_is_for_arrow_strings_only():
    import voxnb.frames as frames

    frames._string_storage.cache_clear()
    try:
        with pd.option_context("mode.string_storage", "python"):
            assert frames._trimmed_ascii(["a b"]) is None
    finally:
        frames._string_storage.cache_clear()


def test_arrow_bytes_and_offsets_of_a_slice():
    import pyarrow as pa

    from voxnb.frames import _arrow_bytes, _arrow_offsets

    array = pa.array(["ab", "cde", "", "f"], type=pa.large_string()).slice(1, 2)  # "cde", ""
    assert _arrow_offsets(array).tolist() == [2, 5, 5]
    assert _arrow_bytes(array).tobytes() == b"cde" and _arrow_bytes(array).dtype == np.uint8
    assert _arrow_bytes(pa.array(["", ""], type=pa.large_string())).tolist() == []
    empty = _arrow_bytes(pa.array([], type=pa.large_string()))
    assert empty.tolist() == [] and empty.dtype == np.uint8


def test_turn_texts_join_runs_of_several_texts_in_any_storage():
    import pyarrow as pa

    from voxnb.frames import _joined_runs

    texts = ["a", "b c", "", "d", None, "e"]
    bounds = np.array([0, 2, 6])
    expected = ["a b c", "d e"]
    for dtype in (pd.StringDtype("pyarrow"), pd.StringDtype("python"), object):
        assert list(_joined_runs(pd.Series(texts, dtype=dtype), bounds)) == expected
    # Arrow strings in several chunks (as a concatenation leaves them)
    chunked = pd.Series(pd.array(pa.chunked_array([texts[:3], texts[3:]]), dtype=pd.StringDtype("pyarrow")))
    assert list(_joined_runs(chunked, bounds)) == expected


def test_bare_words_with_information_separators_strip_as_python_does(frame_path):
    t = _bare_words(
        [
            (" x\x1c", 0.0, 0.25, None),
            ("\x1d\x1d y", 0.25, 0.5, None),
            ("      v", 0.5, 0.75, None),  # more spaces than the strip's vector steps
            (" z.\x1f", 0.75, 1.0, None),
            ("\x1c" * 6, 1.0, 1.25, None),
            (" w", 1.25, 1.5, None),
        ]
    )
    assert t.segments["text"].tolist() == ["x\x1c\x1d\x1d y      v z.", "w"]
    assert t.segments["n_words"].tolist() == [4, 2]
    assert t.words["text"].tolist() == ["x", "y", "v", "z.", "", "w"]
    assert t.words["segment"].tolist() == [0, 0, 0, 0, 1, 1]
    assert _is_string(t.words["text"]) and _is_string(t.segments["text"])


@pytest.mark.parametrize("after", [" ", "\t", "\x0b", "\x1f", "  \n"])
def test_a_sentence_end_followed_by_the_words_own_spaces_still_ends_its_segment(frame_path, after):
    # (the general path once looked at the last character before stripping: "z. " ended nothing)
    t = _bare_words([(" z." + after, 0.0, 0.5, None), (" w", 0.5, 1.0, None)])
    assert t.segments["text"].tolist() == ["z.", "w"]
    assert t.words["segment"].tolist() == [0, 1]


@pytest.mark.parametrize(
    "given, expected",
    [
        ([(0.0, 5.0, "long"), (0.0, 3.0, "short")], ["short", "long"]),  # one start: the shorter first
        ([(5.0, 6.0, "late"), (1.0, 7.0, "early")], ["early", "late"]),  # later in the list, earlier in time
        ([(0.0, 1.0, "a"), (1.0, 2.0, "b"), (1.0, 2.0, "c")], ["a", "b", "c"]),  # a tie keeps the given order
    ],
)
def test_segments_are_sorted_by_start_then_end(frame_path, given, expected):
    t = Transcript.from_response(
        {"text": "x", "segments": [{"text": x, "start": a, "end": b} for a, b, x in given]}
    )
    assert t.segments["text"].tolist() == expected
    assert t.words["text"].tolist() == expected and t.words["segment"].tolist() == list(range(len(given)))


def test_words_of_segments_given_out_of_order_keep_their_own_order(frame_path):
    # twenty words a segment: enough for an unstable sort to shuffle words of one segment
    late = [f"a{i}" for i in range(20)]
    early = [f"b{i}" for i in range(20)]
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " ".join(ws), "start": s, "end": s + 10.0, "words": [{"text": w} for w in ws]}
                for ws, s in ((late, 10.0), (early, 0.0))
            ],
        }
    )
    assert t.words["text"].tolist() == early + late
    assert t.words["segment"].tolist() == [0] * 20 + [1] * 20


def test_texts_and_speakers_ending_in_nul_keep_it_when_reordered(frame_path):
    t = _bare_words([("b\x00", 1.0, 1.5, None), ("a", 0.0, 0.5, None)])  # given out of order
    assert t.words["text"].tolist() == ["a", "b\x00"]
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "a", "start": 0.0, "end": 1.0, "speaker_id": "A\x00", "words": [{"text": "a"}]},
            ],
        }
    )
    assert t.words["speaker"].tolist() == ["A\x00"]


def test_a_bare_word_with_a_start_but_no_end_gets_the_gap(frame_path):
    t = _bare_words([("a", 0.0, 0.5, None), ("b", 1.0, None, None), ("c.", 1.5, 2.0, None)])
    assert t.segments["text"].tolist() == ["a b c."]
    assert t.words[["start", "end"]].values.tolist() == [[0.0, 0.5], [0.5, 1.5], [1.5, 2.0]]
    assert t.words["timing"].tolist() == ["api", "interpolated", "api"]


def test_partly_labelled_words_split_at_each_change_of_speaker(frame_path):
    t = _bare_words([("a", 0.0, 0.5, "A"), ("b", 0.5, 1.0, None), ("c", 1.0, 1.5, "A"), ("d", 1.5, 2.0, "A")])
    assert t.segments["text"].tolist() == ["a", "b", "c d"]
    assert t.segments["speaker"].tolist()[::2] == ["A", "A"] and pd.isna(t.segments["speaker"][1])
    assert t.words["speaker"].tolist()[::2] == ["A", "A"] and pd.isna(t.words["speaker"][1])


def test_ascii_word_entries_take_the_fast_path_only_when_it_applies():
    from unittest import mock

    import voxnb.frames as frames
    from voxnb.readers import read_response

    def canonical(entries):
        segments = [
            {"text": x, "start": a, "end": b} | ({"speaker_id": s} if s else {}) for x, a, b, s in entries
        ]
        return read_response({"text": "", "segments": segments}, granularity="word")[1]

    labelled = canonical([("Hi.", 0.0, 0.5, "A"), ("Yes", 0.5, 1.0, "B"), ("no", 3.0, 3.5, "B")])
    assert frames._layout_from_ascii_words(labelled.words).n_segments == 3
    # layout() takes it without grouping words the general way
    with mock.patch.object(frames, "_segments_from_words", side_effect=AssertionError("general path")):
        assert frames.layout(labelled).n_segments == 3
    partly = canonical([("a", 0.0, 0.5, "A"), ("b", 0.5, 1.0, None), ("c", 1.0, 1.5, "A")])  # one unknown
    assert frames._layout_from_ascii_words(partly.words) is None
    untimed = canonical([("a", 0.0, 0.5, None), ("b", 0.5, None, None)])
    assert frames._layout_from_ascii_words(untimed.words) is None


def test_a_single_empty_word_is_one_empty_segment(frame_path):
    t = _bare_words([("", 0.0, 0.5, None)])
    assert t.segments["text"].tolist() == [""] and t.segments["n_words"].tolist() == [1]
    assert t.words["text"].tolist() == [""] and t.words["segment"].tolist() == [0]


def test_overlapping_bare_words_stay_in_the_segment_they_were_grouped_into(frame_path):
    # "b" lies inside "a."'s time; the middle of "a." (5.0) falls after "b" starts, but the
    # sentence end put "a." in a segment of its own
    t = _bare_words([("a.", 0.0, 10.0, None), ("b", 1.0, 2.0, None)])
    assert t.segments["text"].tolist() == ["a.", "b"]
    assert t.words["text"].tolist() == ["a.", "b"] and t.words["segment"].tolist() == [0, 1]
    assert t.segments["n_words"].tolist() == [1, 1]


def test_of_the_bytes_under_33_only_the_four_separators_leave_the_fast_path():
    from voxnb.frames import _trimmed_ascii

    for byte in range(33):  # with a tab in every text: the fast path looks for separators
        text = f"\t{chr(byte)}a b{chr(byte)}c{chr(byte)}"
        fast = _trimmed_ascii([text])
        if 0x1C <= byte <= 0x1F:
            assert fast is None, byte
        else:
            stripped, counts = fast
            assert (stripped[0], counts[0]) == (text.strip(), len(text.split())), byte
