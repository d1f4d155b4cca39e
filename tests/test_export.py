"""Every export is read back with the library (or a strict parser) that consumes it."""

from __future__ import annotations

import json
import re

import meeteval
import pandas as pd
import pytest

import voxnb
from voxnb import ParameterError, ResponseFormatError, Transcript

_SRT_CUE = re.compile(
    r"(?P<n>\d+)\n(?P<a>\d\d:\d\d:\d\d,\d\d\d) --> (?P<b>\d\d:\d\d:\d\d,\d\d\d)\n(?P<text>(?:[^\n]+\n)+)"
)
_VTT_CUE = re.compile(
    r"(?P<a>\d\d:\d\d:\d\d\.\d\d\d) --> (?P<b>\d\d:\d\d:\d\d\.\d\d\d)\n(?P<text>(?:[^\n]+\n)+)"
)


def _seconds(clock: str) -> float:
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    """A strict SubRip reader: numbered cues separated by exactly one blank line, nothing else."""
    blocks = text.split("\n\n") if text else []
    cues = []
    for i, block in enumerate(blocks, 1):
        m = _SRT_CUE.fullmatch(block if block.endswith("\n") else block + "\n")
        assert m, f"malformed SRT cue {i}: {block!r}"
        assert int(m["n"]) == i
        a, b = _seconds(m["a"]), _seconds(m["b"])
        assert a <= b
        cues.append((i, a, b, m["text"].rstrip("\n")))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """A strict WebVTT reader for what voxnb writes: header, blank line, timed cues."""
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in filter(None, text[len("WEBVTT\n\n") :].split("\n\n")):
        m = _VTT_CUE.fullmatch(block if block.endswith("\n") else block + "\n")
        assert m, f"malformed VTT cue: {block!r}"
        assert "-->" not in m["text"]
        cues.append((_seconds(m["a"]), _seconds(m["b"]), m["text"].rstrip("\n")))
    return cues


@pytest.fixture
def diarized(mistral_diarized) -> Transcript:
    return Transcript.from_response(mistral_diarized)


def test_srt(diarized, tmp_path):
    text = diarized.to_srt(path=tmp_path / "t.srt", max_chars=20)
    assert (tmp_path / "t.srt").read_text() == text
    cues = parse_srt(text)
    assert [(a, b) for _, a, b, _ in cues] == [(0.8, 3.1), (3.4, 6.0), (6.2, 7.0)]
    assert cues[0][3].startswith("[speaker_1] This week,")
    assert all(len(line) <= 20 for _, _, _, t in cues for line in t.split("\n")[1:])
    plain = parse_srt(diarized.to_srt(speakers=False, max_chars=None))
    assert plain[1][3] == "It was an opportunity to say thank you."


def test_srt_long_times_and_no_speakers():
    t = Transcript.from_response(
        {"text": "x", "segments": [{"text": "late", "start": 3725.4567, "end": 3730.0}]}
    )
    assert "01:02:05,457 --> 01:02:10,000" in t.to_srt()
    assert "[" not in t.to_srt()  # no speaker labels when nobody is labelled


def test_vtt_voice_tags_and_escaping(tmp_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [{"text": "Tom & Jerry <3", "start": 0, "end": 1, "speaker_id": "speaker_1"}],
        }
    )
    cues = parse_vtt(t.to_vtt(path=tmp_path / "t.vtt"))
    assert cues == [(0.0, 1.0, "<v speaker_1>Tom &amp; Jerry &lt;3</v>")]


def test_untimed_transcripts_are_refused_for_timed_formats():
    t = Transcript.from_response({"text": "no times here"})
    for export in (t.to_srt, t.to_vtt, t.to_rttm, t.to_textgrid):
        with pytest.raises(ParameterError, match="align"):
            export()
    assert t.to_seglst()[0]["start_time"] is None  # SegLST allows untimed segments


def test_empty_transcript_exports_nothing():
    t = Transcript.from_response({"text": "", "segments": []})
    assert t.to_srt() == "" and t.to_vtt() == "WEBVTT\n" and t.to_rttm() == ""


def test_textgrid_reads_back_with_praatio(tmp_path):
    from praatio import textgrid

    resp = {
        "text": "x",
        "segments": [
            {"text": "Hello there friend", "start": 0.0, "end": 2.0, "speaker_id": "A"},
            {"text": "overlapping", "start": 1.5, "end": 2.5, "speaker_id": "A"},  # overlaps A's own segment
            {"text": "Yes", "start": 1.0, "end": 1.8, "speaker_id": "B"},  # overlaps A across speakers
            {"text": "", "start": 3.0, "end": 3.5, "speaker_id": "B"},
            {"text": "instant", "start": 4.0, "end": 4.0, "speaker_id": "B"},
        ],
    }
    t = Transcript.from_response(resp)
    t.to_textgrid(tmp_path / "t.TextGrid")
    grid = textgrid.openTextgrid(str(tmp_path / "t.TextGrid"), includeEmptyIntervals=False)
    assert grid.tierNames == ("A - segments", "A - words", "B - segments", "B - words")
    a_segments = grid.getTier("A - segments").entries
    assert [e.label for e in a_segments] == ["Hello there friend", "overlapping"]
    assert a_segments[1].start == pytest.approx(2.0)  # trimmed to start where the previous ended
    assert [e.label for e in grid.getTier("B - segments").entries] == ["Yes"]
    assert [e.label for e in grid.getTier("A - words").entries][:3] == ["Hello", "there", "friend"]


def test_rttm_reads_back_with_pyannote_and_meeteval(diarized, tmp_path):
    path = tmp_path / "t.rttm"
    text = diarized.to_rttm(path, uri="my file")
    assert text.splitlines()[0] == "SPEAKER my_file 1 0.800 5.200 <NA> <NA> speaker_1 <NA> <NA>"
    from pyannote.database import util as database

    annotation = database.load_rttm(str(path))["my_file"]
    assert sorted(annotation.labels()) == ["speaker_1", "speaker_2"]
    assert annotation.label_duration("speaker_1") == pytest.approx(5.2)
    rttm = meeteval.io.RTTM.load(path)
    assert len(rttm) == 2


def test_seglst_reads_back_with_meeteval(diarized, tmp_path):
    path = tmp_path / "t.seglst.json"
    records = diarized.to_seglst(path, session_id="s1")
    assert json.loads(path.read_text()) == records
    seglst = meeteval.io.SegLST.load(path)
    assert [s["words"] for s in seglst] == [r["words"] for r in records]
    assert {s["speaker"] for s in seglst} == {"speaker_1", "speaker_2"}
    # the reference scored against itself: cpWER 0
    result = meeteval.wer.cpwer(seglst, seglst)
    assert result["s1"].error_rate == 0


def test_pyannote_annotation(diarized):
    annotation = diarized.to_pyannote(uri="call")
    assert annotation.uri == "call"
    assert annotation.label_duration("speaker_2") == pytest.approx(0.8)
    assert len(list(annotation.itertracks())) == 3


def test_exports_from_a_saved_transcript_match(diarized, tmp_path):
    loaded = voxnb.load_transcript(diarized.save(tmp_path / "t.json"))
    assert loaded.to_srt() == diarized.to_srt()
    assert loaded.to_vtt() == diarized.to_vtt()


def _one_segment(text: str, start: float = 0.0, end: float = 1.0, **extra) -> Transcript:
    return Transcript.from_response(
        {"text": text, "segments": [{"text": text, "start": start, "end": end, **extra}]}
    )


def test_vtt_escapes_every_character_that_would_start_markup():
    # WebVTT cue text: & and < must be escaped, and > too where it could close a tag (W3C §4.2.2)
    cues = parse_vtt(_one_segment("x -> y & a<b>c").to_vtt())
    assert cues == [(0.0, 1.0, "x -&gt; y &amp; a&lt;b&gt;c")]
    # a speaker name is escaped inside its voice tag as well
    cues = parse_vtt(_one_segment("hi", speaker_id="R&D <lead>").to_vtt())
    assert cues == [(0.0, 1.0, "<v R&amp;D &lt;lead&gt;>hi</v>")]


@pytest.mark.parametrize(
    ("seconds", "clock"),
    [
        (0.0004, "00:00:00,000"),  # under half a millisecond: down
        (0.0006, "00:00:00,001"),  # over half a millisecond: up
        (1.2344, "00:00:01,234"),
        (1.2346, "00:00:01,235"),
        (59.9996, "00:01:00,000"),  # rounding carries into the minutes
        (3599.9997, "01:00:00,000"),  # ... and into the hours
        (36000 + 61.5, "10:01:01,500"),
    ],
)
def test_srt_times_are_rounded_to_the_nearest_millisecond(seconds, clock):
    text = _one_segment("x", seconds, seconds + 1).to_srt()
    assert text.splitlines()[1].startswith(f"{clock} --> ")


def test_vtt_uses_a_dot_before_the_milliseconds():
    assert _one_segment("x", 61.0625, 62.5).to_vtt().splitlines()[2] == "00:01:01.062 --> 00:01:02.500"


def test_cues_are_numbered_in_time_order():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "second", "start": 2.0, "end": 3.0},
                {"text": "first", "start": 0.25, "end": 0.5},
                {"text": "   ", "start": 4.0, "end": 5.0},  # no words: no cue
            ],
        }
    )
    assert parse_srt(t.to_srt()) == [(1, 0.25, 0.5, "first"), (2, 2.0, 3.0, "second")]


def test_an_end_before_the_start_is_refused_not_clamped_into_a_cue():
    """Issue 11: a response whose times are reversed is refused, naming the entry (README, Errors)."""
    response = {"text": "x", "segments": [{"text": "first", "start": 0.5, "end": 0.25}]}
    with pytest.raises(ResponseFormatError, match=r"segments\[0\]\.end: 0\.25 is before its start 0\.5"):
        Transcript.from_response(response)


def test_speaker_labels_only_on_labelled_cues():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "one", "start": 0, "end": 1, "speaker_id": "A"},
                {"text": "two", "start": 1, "end": 2},
            ],
        }
    )
    assert [c[3] for c in parse_srt(t.to_srt())] == ["[A] one", "two"]
    assert [c[2] for c in parse_vtt(t.to_vtt())] == ["<v A>one</v>", "two"]
    assert [c[2] for c in parse_vtt(t.to_vtt(speakers=False))] == ["one", "two"]


def test_long_cues_wrap_at_max_chars_and_keep_every_word():
    words = "the quick brown fox jumps over the lazy dog again and again"
    (cue,) = parse_srt(_one_segment(words).to_srt(max_chars=16))
    lines = cue[3].split("\n")
    assert lines == ["the quick brown", "fox jumps over", "the lazy dog", "again and again"]
    (cue,) = parse_srt(_one_segment("  spaced\tout \n text ").to_srt(max_chars=None))
    assert cue[3] == "spaced out text"


def test_rttm_times_and_labels(tmp_path):
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "a", "start": 1.25, "end": 2.0, "speaker_id": "Dr Who"},
                {"text": "b", "start": 2.5, "end": 4.125, "speaker_id": "Dr Who"},
                {"text": "c", "start": 5.0, "end": 6.0},
            ],
        }
    )
    path = tmp_path / "deep" / "er" / "t.rttm"
    assert t.to_rttm(path).splitlines() == [
        "SPEAKER audio 1 1.250 2.875 <NA> <NA> Dr_Who <NA> <NA>",  # one turn of two segments
        "SPEAKER audio 1 5.000 1.000 <NA> <NA> unknown <NA> <NA>",
    ]
    assert path.read_text().count("\n") == 2


def test_seglst_fields():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": " hi ", "start": 0.5, "end": 1.5, "speaker_id": "A B"},
                {"text": "", "start": 2, "end": 3},
            ],
        }
    )
    assert t.to_seglst(session_id="s") == [
        {"session_id": "s", "speaker": "A_B", "start_time": 0.5, "end_time": 1.5, "words": "hi"},
        {"session_id": "s", "speaker": "unknown", "start_time": 2.0, "end_time": 3.0, "words": ""},
    ]


def test_textgrid_spans_the_whole_transcript_and_drops_untimed_rows():
    t = Transcript.from_response(
        {
            "text": "x",
            "duration": 9.5,
            "segments": [{"text": "late words", "start": 7.0, "end": 8.0}, {"text": "no time"}],
        }
    )
    grid = t.to_textgrid()
    assert grid.tierNames == ("transcript - segments", "transcript - words")
    tier = grid.getTier("transcript - segments")
    assert (tier.minTimestamp, tier.maxTimestamp) == (0, 9.5)
    assert [(e.start, e.end, e.label) for e in tier.entries] == [(7.0, 8.0, "late words")]
    words = grid.getTier("transcript - words").entries
    # spread by character count, 4 of 9 for "late": 7 + 4/9 s, at praat's 4 decimals
    assert [(e.start, e.end, e.label) for e in words] == [(7.0, 7.4444, "late"), (7.4444, 8.0, "words")]


def test_pyannote_segments_labels_and_zero_length_ones_dropped():
    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "a", "start": 0.5, "end": 1.5, "speaker_id": "A"},
                {"text": "b", "start": 1.0, "end": 2.0, "speaker_id": "B"},
                {"text": "c", "start": 2.5, "end": 2.5, "speaker_id": "A"},
                {"text": "d", "start": 3.0, "end": 4.0},
            ],
        }
    )
    annotation = t.to_pyannote()
    assert annotation.uri == "audio"
    tracks = [(s.start, s.end, label) for s, _, label in annotation.itertracks(yield_label=True)]
    assert tracks == [(0.5, 1.5, "A"), (1.0, 2.0, "B"), (3.0, 4.0, "unknown")]
    assert annotation.label_duration("A") == 1.0


def test_textgrid_tiers_per_speaker_and_their_end(tmp_path):
    from praatio import textgrid

    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "one two", "start": 0.0, "end": 1.0, "speaker_id": "A"},
                {"text": "three", "start": 1.0, "end": 2.5, "speaker_id": "B"},
            ],
        }
    )
    grid = t.to_textgrid(tmp_path / "sub" / "t.TextGrid")
    assert grid.tierNames == ("A - segments", "A - words", "B - segments", "B - words")
    assert {grid.getTier(name).maxTimestamp for name in grid.tierNames} == {2.5}  # the last end, no duration
    back = textgrid.openTextgrid(str(tmp_path / "sub" / "t.TextGrid"), includeEmptyIntervals=False)
    assert [(e.start, e.end, e.label) for e in back.getTier("A - words").entries] == [
        (0.0, 0.5, "one"),  # 3 of the 6 letters
        (0.5, 1.0, "two"),
    ]
    assert [(e.start, e.end, e.label) for e in back.getTier("B - segments").entries] == [(1.0, 2.5, "three")]
    written = (tmp_path / "sub" / "t.TextGrid").read_text()
    assert written.startswith('File type = "ooTextFile"') and "item [4]:" in written  # praat's long format


@pytest.mark.parametrize("fmt", ["SRT", "WebVTT", "TextGrid", "RTTM", "pyannote"])
def test_an_untimed_transcript_is_refused_naming_the_format(fmt):
    t = Transcript.from_response({"text": "no times here"})
    export = {
        "SRT": t.to_srt,
        "WebVTT": t.to_vtt,
        "TextGrid": t.to_textgrid,
        "RTTM": t.to_rttm,
        "pyannote": t.to_pyannote,
    }[fmt]
    with pytest.raises(
        ParameterError, match=f"^{fmt} needs segment times and this transcript has none; ask for"
    ):
        export()


def test_pyannote_missing_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyannote.core", None)  # as if not installed
    with pytest.raises(
        voxnb.MissingDependencyError,
        match=r"^to_pyannote\(\) needs the package 'pyannote.core', which is not installed; install it with: "
        r"pip install pyannote.core$",
    ):
        _one_segment("x").to_pyannote()


def test_vtt_defaults_wrap_at_42_characters_and_label_speakers(tmp_path):
    text = "one two three four five six seven eight nine ten eleven twelve"
    t = _one_segment(text, speaker_id="A")
    written = t.to_vtt(tmp_path / "t.vtt")
    assert (tmp_path / "t.vtt").read_text() == written
    (cue,) = parse_vtt(written)
    assert cue[2] == "<v A>one two three four five six seven eight\nnine ten eleven twelve</v>"
    assert len("one two three four five six seven eight nine") == 44  # one word more would not fit


def test_textgrid_file_is_contiguous_and_exact_to_a_tenth_of_a_millisecond(tmp_path):
    from praatio import textgrid

    t = Transcript.from_response(
        {
            "text": "x",
            "segments": [
                {"text": "", "start": 0.0, "end": 0.2},  # empty: dropped, and the next one still kept
                {"text": "tick", "start": 0.0, "end": 0.0001},  # 0.1 ms: the shortest kept
                {"text": "tock", "start": 0.5, "end": 0.500099},  # shorter: dropped
                {"text": "late", "start": 0.123456, "end": 0.654321},
            ],
        }
    )
    path = tmp_path / "a" / "b" / "t.TextGrid"
    t.to_textgrid(path)
    back = textgrid.openTextgrid(str(path), includeEmptyIntervals=True)
    entries = [(e.start, e.end, e.label) for e in back.getTier("transcript - segments").entries]
    # blank intervals fill the gaps, as praat needs; times at 4 decimals
    assert entries[:3] == [(0.0, 0.0001, "tick"), (0.0001, 0.1235, ""), (0.1235, 0.6543, "late")]
    # the tiers end at the last end as given (under a second), after a blank sliver
    assert entries[3:] == [(0.6543, 0.654321, "")]
    assert back.getTier("transcript - segments").maxTimestamp == 0.654321


def test_srt_and_rttm_written_to_new_folders(tmp_path):
    t = _one_segment("x", 0.0, 1.0, speaker_id="A")
    assert (tmp_path / "n" / "e" / "w.srt").parent.exists() is False
    assert t.to_srt(tmp_path / "n" / "e" / "w.srt") == (tmp_path / "n" / "e" / "w.srt").read_text()
    records = t.to_seglst(tmp_path / "s" / "e" / "g.json")
    assert json.loads((tmp_path / "s" / "e" / "g.json").read_text(encoding="utf-8")) == records


def test_the_transcript_methods_pass_their_defaults_and_paths_through(tmp_path):
    from voxnb import export

    long = "one two three four five six seven eight nine ten eleven twelve"
    t = _one_segment(long, 0.5, 2.0, speaker_id="A")
    assert t.to_srt() == export.to_srt(t, speakers=True, max_chars=42)
    # wrapped at 42 (39 characters fit, 44 would not), then labelled
    assert t.to_srt().splitlines()[2:] == [
        "[A] one two three four five six seven eight",
        "nine ten eleven twelve",
    ]
    assert t.to_vtt() == export.to_vtt(t, speakers=True, max_chars=42) and "<v A>" in t.to_vtt()
    assert t.to_srt(speakers=False, max_chars=None).splitlines()[2] == long
    assert t.to_vtt(speakers=False, max_chars=None).splitlines()[3] == long
    assert t.to_rttm().startswith("SPEAKER audio 1 0.500 1.500 ")
    assert t.to_rttm(uri="x").startswith("SPEAKER x 1 ")
    assert t.to_seglst()[0]["session_id"] == "audio" and t.to_seglst(session_id="s")[0]["session_id"] == "s"
    assert t.to_pyannote().uri == "audio" and t.to_pyannote(uri="u").uri == "u"
    for name, ext in (("to_srt", "srt"), ("to_vtt", "vtt"), ("to_rttm", "rttm"), ("to_seglst", "json")):
        getattr(t, name)(tmp_path / f"t.{ext}")
        assert (tmp_path / f"t.{ext}").stat().st_size > 0, name
    t.to_textgrid(tmp_path / "t.TextGrid")
    assert (tmp_path / "t.TextGrid").read_text().startswith('File type = "ooTextFile"')


def test_subtitles_regroup_long_segments_by_length_and_duration(tmp_path):
    from voxnb.export import SUBTITLE_STYLE

    text = (
        "Good morning everyone, and welcome to the seminar. Our guest today is Dr. Okafor, who came "
        "from Lagos to talk about rare words in speech recognition. She will speak for twenty minutes, "
        "then we take questions."
    )
    tokens = text.split()
    step = 22.0 / len(tokens)
    words = [{"text": w, "start": i * step, "end": (i + 0.8) * step} for i, w in enumerate(tokens)]
    t = Transcript.from_response(
        {"text": text, "segments": [{"text": text, "start": 0.0, "end": 22.0, "words": words}]}
    )
    cues = parse_srt(t.to_srt(tmp_path / "t.srt", **SUBTITLE_STYLE))
    assert len(cues) >= 4
    for _, a, b, body in cues:
        lines = body.split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines), body
        assert b - a <= 7.0 + 1e-6
        assert not lines[-1].endswith(" Dr.") and not lines[0].endswith(" Dr.")
    assert " ".join(" ".join(body.split("\n")) for *_, body in cues) == text
    assert [a for _, a, _, _ in cues] == sorted(a for _, a, _, _ in cues)
    assert cues[0][3] == "Good morning everyone,\nand welcome to the seminar."  # a sentence, cut at its comma
    vtt = parse_vtt(t.to_vtt(max_chars=42, max_lines=2, max_duration=7.0))
    assert [(a, b) for a, b, _ in vtt] == [(a, b) for _, a, b, _ in cues]
    # without max_lines / max_duration a segment is one cue, as before
    assert len(parse_srt(t.to_srt())) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_lines": 0}, "max_lines= is a whole number of lines, at least 1 (or None); got 0"),
        ({"max_lines": True}, "max_lines= is a whole number of lines, at least 1 (or None); got True"),
        ({"max_lines": 1.0}, "max_lines= is a whole number of lines, at least 1 (or None); got 1.0"),
        ({"max_duration": 0}, "max_duration= is a number of seconds above 0 (or None); got 0"),
        ({"max_duration": float("inf")}, "max_duration= is a number of seconds above 0 (or None); got inf"),
        ({"max_duration": True}, "max_duration= is a number of seconds above 0 (or None); got True"),
        ({"max_duration": "7"}, "max_duration= is a number of seconds above 0 (or None); got '7'"),
        ({"speakers": None}, "speakers= is True or False; got None"),
        ({"max_chars": 0}, "max_chars= is a whole number of characters per line, at least 1 (or None for no "
                           "wrapping); got 0"),
        ({"max_chars": False}, "max_chars= is a whole number of characters per line, at least 1 (or None for no "
                               "wrapping); got False"),
        ({"max_chars": 4.0}, "max_chars= is a whole number of characters per line, at least 1 (or None for no "
                             "wrapping); got 4.0"),
    ],
)  # fmt: skip
def test_cue_options_are_refused_word_for_word(options, message):
    t = _one_segment("x")
    for write in (t.to_srt, t.to_vtt):
        with pytest.raises(ParameterError) as err:
            write(**options)
        assert str(err.value) == message
        if "speakers" in options or "max_chars" in options:
            assert err.value.option == next(iter(options))
    # the smallest values allowed
    assert t.to_srt(max_lines=1, max_duration=0.001, max_chars=1).splitlines()[2] == "x"


def test_names_and_inputs_of_the_other_formats_are_refused_word_for_word():
    t = _one_segment("x")
    for uri in ("", "  ", 5):
        for write in (t.to_rttm, t.to_pyannote):
            with pytest.raises(ParameterError) as err:
                write(uri=uri)
            assert str(err.value) == f"uri= is a non-empty name such as 'meeting1'; got {uri!r}"
            assert err.value.option == "uri"
    for session_id in ("", 5):
        with pytest.raises(ParameterError) as err:
            t.to_seglst(session_id=session_id)
        assert str(err.value) == f"session_id= is a non-empty name such as 'meeting1'; got {session_id!r}"
    from voxnb import export

    for fmt, write in [("SRT", export.to_srt), ("WebVTT", export.to_vtt), ("TextGrid", export.to_textgrid),
                       ("RTTM", export.to_rttm), ("SegLST", export.to_seglst), ("pyannote", export.to_pyannote)]:  # fmt: skip
        with pytest.raises(ParameterError) as err:
            write({"text": "x"})
        assert str(err.value) == (
            f"{fmt} export takes a voxnb.Transcript (e.g. voxnb.Transcript.from_response(...)); got a dict"
        )
    untimed = Transcript.from_response({"text": "x y"})
    with pytest.raises(ParameterError) as err:
        untimed.to_rttm()
    assert str(err.value) == (
        "RTTM needs segment times and this transcript has none; ask for timestamps (timestamps='segment') "
        "or give it times with t.align(audio)"
    )


def test_rttm_seglst_and_pyannote_labels_hand_worked():
    t = Transcript.from_response(
        {
            "segments": [
                {"text": "one", "start": 0.0, "end": 1.25, "speaker_id": "Dr  Who"},
                {"text": "two", "start": 1.5, "end": 1.5},  # no speaker, no length
                {"text": "", "start": 2.0, "end": 2.5},
            ]
        }
    )
    # a speaker's spaces would split RTTM's fields: they become underscores; no speaker is "unknown"
    assert t.to_rttm(uri="my call").splitlines() == [
        "SPEAKER my_call 1 0.000 1.250 <NA> <NA> Dr_Who <NA> <NA>",
        "SPEAKER my_call 1 1.500 1.000 <NA> <NA> unknown <NA> <NA>",
    ]
    assert t.to_seglst(session_id="s 1") == [
        {"session_id": "s 1", "speaker": "Dr_Who", "start_time": 0.0, "end_time": 1.25, "words": "one"},
        {"session_id": "s 1", "speaker": "unknown", "start_time": 1.5, "end_time": 1.5, "words": "two"},
        {"session_id": "s 1", "speaker": "unknown", "start_time": 2.0, "end_time": 2.5, "words": ""},
    ]
    annotation = t.to_pyannote(uri="my call")
    # a zero-length segment is no speech; pyannote keeps the uri as given
    assert annotation.uri == "my call"
    assert [(s.start, s.end, label) for s, _, label in annotation.itertracks(yield_label=True)] == [
        (0.0, 1.25, "Dr_Who"),
        (2.0, 2.5, "unknown"),
    ]


def test_textgrid_tier_entries_hand_worked():
    t = Transcript.from_response(
        {
            "duration": 9.5,
            "segments": [
                {"text": "a", "start": 0.0, "end": 1.0},
                {"text": "b", "start": 0.5, "end": 1.5},  # overlaps a: starts where a ended
                {"text": "c", "start": 1.5, "end": 1.50005},  # under a tenth of a millisecond: dropped
                {"text": "e", "start": 2.0, "end": 2.00012345},  # rounded to a tenth of a millisecond
                {"text": " ", "start": 3.0, "end": 4.0},  # no text: dropped
                {"text": "f", "start": 5.0, "end": 6.0},
            ],
        }
    )
    grid = t.to_textgrid()
    assert list(grid.tierNames) == ["transcript - segments", "transcript - words"]
    tier = grid.getTier("transcript - segments")
    assert [tuple(e) for e in tier.entries] == [
        (0.0, 1.0, "a"),
        (1.0, 1.5, "b"),
        (2.0, 2.0001, "e"),
        (5.0, 6.0, "f"),
    ]
    assert (tier.minTimestamp, tier.maxTimestamp) == (0, 9.5)  # the reported duration
    # without a duration, the last end
    short = Transcript.from_response({"segments": [{"text": "a", "start": 0.0, "end": 1.25}]})
    assert short.to_textgrid().getTier("transcript - words").maxTimestamp == 1.25


def test_textgrid_word_tier_drops_untimed_and_unnamed_words_and_trims_at_the_rounded_end():
    t = Transcript.from_response({"segments": [{"text": "a b c d", "start": 0.0, "end": 3.0}]})
    words = t.words.assign(timing="aligned")
    words["start"] = [0.0, 1.0, 2.0, 2.5]
    words["end"] = [1.23456, 1.23468, float("nan"), 3.0]  # b ends under 0.1 ms after a's rounded end
    words["text"] = pd.array(["a", "b", "c", pd.NA], dtype="string")  # d has no text
    tier = t.with_words(words).to_textgrid().getTier("transcript - words")
    # a is rounded to 1.2346; b, trimmed to start there, is a sliver; c has no end; d no text
    assert [tuple(e) for e in tier.entries] == [(0.0, 1.2346, "a")]
    words["end"] = [1.23456, 1.5, 2.2, 3.0]
    tier = t.with_words(words).to_textgrid().getTier("transcript - words")
    assert [tuple(e) for e in tier.entries] == [(0.0, 1.2346, "a"), (1.2346, 1.5, "b"), (2.0, 2.2, "c")]


def test_a_duration_limit_alone_cuts_cues_and_a_cue_of_exactly_the_limit_fits():
    from voxnb import export

    t = Transcript.from_response(
        {"segments": [{"text": "one two three four", "start": 0.0, "end": 4.0, "words": [
            {"text": w, "start": s, "end": s + 1.0} for w, s in (("one", 0.0), ("two", 1.0), ("three", 2.0), ("four", 3.0))
        ]}]}
    )  # fmt: skip
    # two seconds at most, lines of 42 characters (the default) and no line limit
    assert [(c[1], c[2], c[3]) for c in parse_srt(t.to_srt(max_duration=2.0))] == [
        (0.0, 2.0, "one two"),
        (2.0, 4.0, "three four"),
    ]
    words = [("one", 0.0, 1.0), ("two", 1.0, 2.0)]
    assert export.regroup(words, max_duration=2.0) == [words]  # exactly the limit: one cue
    assert export.regroup(words, max_duration=1.99) == [[words[0]], [words[1]]]
    # the module's functions name the recording "audio" by default
    assert export.to_pyannote(t).uri == "audio" and export.to_rttm(t).split()[1] == "audio"
    assert export.to_seglst(t)[0]["session_id"] == "audio"


def test_an_empty_transcript_makes_an_empty_textgrid_of_a_millisecond():
    grid = Transcript.from_response({"text": ""}).to_textgrid()
    tier = grid.getTier("transcript - segments")
    assert (list(tier.entries), tier.minTimestamp, tier.maxTimestamp) == ([], 0, 0.001)


def _texts_of(cues):
    return [[w[0] for w in cue] for cue in cues]


def test_regroup_weighs_pauses_commas_sentence_ends_and_short_cues_by_hand():
    """Hand-worked costs: each cue costs 4, a cue of one or two words 2 more (unless it is the
    whole segment); a cut earns 3 after a sentence end, 1.5 after a comma, plus the pause (at
    most 1 s). Fewest cues first, then the cheapest cuts."""
    from voxnb.export import regroup

    def timed(spec):  # (text, start, end)
        return [(text, float(start), float(end)) for text, start, end in spec]

    # 7 words, at most 4 a cue (12 characters, one line): [3, 4] or [4, 3]. The gap before w4
    # is 0.6 s (cut after 4: 8 - 0.6 = 7.4) against 0.1 s before w3 (8 - 0.1 = 7.9), though w3
    # itself lasts long: a pause is measured from one word's end to the next one's start
    words = timed([("w0", 0, 0.4), ("w1", 0.5, 0.9), ("w2", 1.0, 1.4), ("w3", 1.5, 2.4), ("w4", 3.0, 3.2),
                   ("w5", 3.3, 3.7), ("w6", 3.8, 4.2)])  # fmt: skip
    assert _texts_of(regroup(words, max_chars=12, max_lines=1)) == [
        ["w0", "w1", "w2", "w3"],
        ["w4", "w5", "w6"],
    ]
    # a comma (1.5 + a 0 s gap) against a plain cut at a 1.8 s pause, counted as 1 s at most: [4, 3]
    words = timed([("w0", 0, 0.4), ("w1", 0.5, 0.9), ("w2", 1.0, 1.4), ("w3,", 3.2, 3.6), ("w4", 3.6, 4.0),
                   ("w5", 4.1, 4.5), ("w6", 4.6, 5.0)])  # fmt: skip
    assert _texts_of(regroup(words, max_chars=12, max_lines=1)) == [
        ["w0", "w1", "w2", "w3,"],
        ["w4", "w5", "w6"],
    ]
    # a sentence end after two words (4 + 2 - 3.1 + 4 = 6.9) loses to a comma after three
    # (4 - 1.6 + 4 = 6.4): the short cue costs more than the sentence end earns
    words = timed([("Aa", 0, 0.4), ("bb.", 0.5, 0.9), ("Cc,", 1.0, 1.4), ("dd", 1.5, 1.9), ("ee", 2.0, 2.4),
                   ("ff", 2.5, 2.9)])  # fmt: skip
    assert _texts_of(regroup(words, max_chars=13, max_lines=1)) == [["Aa", "bb.", "Cc,"], ["dd", "ee", "ff"]]


def test_regroup_edges():
    from voxnb.export import regroup

    assert regroup([]) == [] and regroup([], max_duration=1.0) == []
    pair = [("aa", 0.0, 1.0), ("bb", 1.0, 2.0)]
    assert _texts_of(regroup(pair, max_chars=3, max_lines=1)) == [
        ["aa"],
        ["bb"],
    ]  # two that do not fit together
    # a word longer than a line is a cue of its own, not lost
    long = [("aa", 0.0, 1.0), ("abcdef", 1.0, 2.0), ("bb", 2.0, 3.0)]
    assert _texts_of(regroup(long, max_chars=3, max_lines=1)) == [["aa"], ["abcdef"], ["bb"]]


def test_regroup_tie_breaks_initials_and_short_last_cues_by_hand():
    from voxnb.export import regroup

    def even(texts, gaps):  # words of 0.4 s, each after the gap given before it
        out, t = [], 0.0
        for text, gap in zip(texts, gaps):
            t += gap
            out.append((text, t, t + 0.4))
            t += 0.4
        return out

    # a short last cue costs 2 more than it earns by a 0.5 s pause: [3, 3], not [4, 2]
    words = even(["w0", "w1", "w2", "w3", "w4", "w5"], [0, 0.1, 0.1, 0.1, 0.5, 0.1])
    assert _texts_of(regroup(words, max_chars=11, max_lines=1)) == [["w0", "w1", "w2"], ["w3", "w4", "w5"]]
    # three words, two a cue: both ways have two short cues; the comma decides: [2, 1]
    words = even(["aa", "bb,", "cc"], [0, 0.1, 0.1])
    assert _texts_of(regroup(words, max_chars=6, max_lines=1)) == [["aa", "bb,"], ["cc"]]
    # an initial ends a sentence before a pause (0.3 s or more): 4 + 2 - (3 + 1) + 4 = 6.0 beats
    # a comma after three words (4 - 1.6 + 4 = 6.4)
    words = even(["Aa", "N.", "Cc,", "dd", "ee", "ff"], [0, 0.1, 1.0, 0.1, 0.1, 0.1])
    assert _texts_of(regroup(words, max_chars=13, max_lines=1)) == [["Aa", "N."], ["Cc,", "dd", "ee", "ff"]]
    # a sentence end with no pause (3) beats a comma before a 1 s pause (2.5): [3, 4]
    words = even(["w0", "w1", "End.", "Aa,", "w4", "w5", "w6"], [0, 0.1, 0.1, 0.0, 1.0, 0.1, 0.1])
    assert _texts_of(regroup(words, max_chars=14, max_lines=1)) == [
        ["w0", "w1", "End."],
        ["Aa,", "w4", "w5", "w6"],
    ]
    # equally good cuts: the first one (the later cue is the longer)
    words = even([f"w{i}" for i in range(7)], [0] + [0.1] * 6)
    assert _texts_of(regroup(words, max_chars=11, max_lines=1)) == [
        ["w0", "w1", "w2"],
        ["w3", "w4", "w5", "w6"],
    ]


def test_the_module_writers_defaults():
    from voxnb import export

    text = "x" * 20 + " " + "y" * 22 + " " + "z" * 19  # the first two words make 43
    t = Transcript.from_response({"segments": [{"text": text, "start": 0.0, "end": 1.0, "speaker_id": "A"}]})
    assert export.to_vtt(t).splitlines()[3:5] == ["<v A>" + "x" * 20, "y" * 22 + " " + "z" * 19 + "</v>"]
    assert export.to_srt(t).splitlines()[2:4] == ["[A] " + "x" * 20, "y" * 22 + " " + "z" * 19]


def test_the_seglst_file_and_untimed_segments(tmp_path):
    t = Transcript.from_response(
        {"segments": [{"text": "Ça va", "start": 0.5, "end": 1.0, "speaker_id": "A"}]}
    )
    t.to_seglst(tmp_path / "s.json")
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == (
        '[\n {\n  "session_id": "audio",\n  "speaker": "A",\n  "start_time": 0.5,\n  "end_time": 1.0,\n'
        '  "words": "Ça va"\n }\n]'
    )
    untimed = Transcript.from_response({"text": "Hi."}).to_seglst()
    assert untimed == [
        {"session_id": "audio", "speaker": "unknown", "start_time": None, "end_time": None, "words": "Hi."}
    ]


def test_rttm_leaves_out_turns_without_an_end_and_keeps_short_ones():
    t = Transcript.from_response(
        {"segments": [{"text": "a", "start": 0.0, "end": 0.25, "speaker_id": "A"}, {"text": "b", "start": 2.0, "speaker_id": "B"}]}
    )  # fmt: skip
    assert t.to_rttm() == "SPEAKER audio 1 0.000 0.250 <NA> <NA> A <NA> <NA>\n"


def test_regrouped_cues_keep_the_segments_edges_and_untimed_segments_are_left_out():
    words = [("one", 0.5, 1.0), ("two", 1.0, 2.0), ("three", 2.0, 3.0), ("four", 3.0, 3.5)]
    t = Transcript.from_response(
        {"segments": [
            {"text": "one two three four", "start": 0.0, "end": 4.0, "words": [{"text": w, "start": s, "end": e} for w, s, e in words]},
            {"text": "later", "start": 5.0},  # no end: not a cue
        ]}
    )  # fmt: skip
    # at most 2 s a cue: [one two] and [three four]; the first starts where the segment does, the
    # last ends where it does, and the cut is at the words' own times
    assert [(c[1], c[2], c[3]) for c in parse_srt(t.to_srt(max_duration=2.0))] == [
        (0.0, 2.0, "one two"),
        (2.0, 4.0, "three four"),
    ]


def _two_lines(text: str, max_chars: int) -> list[str]:
    """The lines of the one cue a segment without words becomes, at most two of *max_chars*."""
    body = parse_srt(_one_segment(text).to_srt(max_chars=max_chars, max_lines=2))[0][3]
    return body.split("\n")


@pytest.mark.parametrize(
    ("text", "max_chars", "lines"),
    [
        # lines as even as they can be: "We met Dr." would be one character more even, but a
        # line ending in an abbreviation costs twelve
        ("We met Dr. Okafor at the station", 25, ["We met Dr. Okafor", "at the station"]),
        # after a sentence end, even at the cost of eight characters of balance ("Thank you. Next"
        # is even); the cut after "Next" is the longest that fits, as textwrap would cut
        ("Thank you. Next question please", 20, ["Thank you.", "Next question please"]),
        ("Is it true? I asked her twice", 17, ["Is it true?", "I asked her twice"]),
        # "Inc." may end a sentence: before a capital it does, and the line may end there (a
        # first line of exactly max_chars, as "Next question please" above is a second line of it)
        ("He works at Acme Inc. Then he left", 21, ["He works at Acme Inc.", "Then he left"]),
        # "It was late." would leave 22 characters for the second line: too long for 21
        ("It was late. We went home and slept", 21, ["It was late. We", "went home and slept"]),
        ("Yes. No. Maybe so, who knows", 19, ["Yes. No. Maybe so,", "who knows"]),
        # an initial before a name is not a sentence end: the name stays with it
        ("She called J. Smith at the station", 20, ["She called J. Smith", "at the station"]),
    ],
)
def test_two_lines_are_balanced_and_cut_after_a_clause_not_after_an_abbreviation(text, max_chars, lines):
    assert _two_lines(text, max_chars) == lines
    assert all(len(line) <= max_chars for line in lines)


@pytest.mark.parametrize(
    ("text", "max_chars", "lines"),
    [
        # balanced (0) against a comma twelve characters off (12 - 12): a tie, the first cut wins
        ("We all went home, sadly", 17, ["We all went", "home, sadly"]),
        # an exclamation mark two thirds of a line early (12 - 12) against the even cut (0)
        ("Wait! Is it you or them", 17, ["Wait!", "Is it you or them"]),
        # "approx." four characters off (4 + 12) against "seventeen" sixteen off (16)
        ("It took approx. seventeen more days", 25, ["It took approx.", "seventeen more days"]),
    ],
)
def test_a_clause_end_is_worth_exactly_twelve_characters_and_ties_go_to_the_first_cut(text, max_chars, lines):
    assert _two_lines(text, max_chars) == lines


def test_regrouped_cues_keep_the_segment_s_edges_and_half_timed_segments_are_left_out():
    words = [
        ("Hello", 0.5, 0.9),
        ("there.", 1.0, 1.4),
        ("How", 2.6, 2.8),
        ("are", 2.8, 3.0),
        ("you?", 3.0, 3.5),
    ]
    text = "Hello there. How are you?"
    t = Transcript.from_response(
        {
            "text": text + " half",
            "segments": [
                {
                    "text": text,
                    "start": 0.0,
                    "end": 4.0,
                    "words": [dict(zip(("text", "start", "end"), w)) for w in words],
                },
                {"text": "half", "start": 5.0, "end": None},  # a start and no end: not a timed segment
            ],
        }
    )
    # the first cue starts where the segment does (0.0, not its first word's 0.5) and the last
    # ends where it does (4.0, not 3.5); inner cut points are the words' own times
    assert [(a, b, body) for _, a, b, body in parse_srt(t.to_srt(max_chars=13, max_lines=1))] == [
        (0.0, 1.4, "Hello there."),
        (2.6, 4.0, "How are you?"),
    ]


def test_a_sentence_end_before_a_second_of_silence_pays_for_a_cue_of_its_own():
    """Hand-worked: a cue costs 4 and a cut after a sentence end earns 3 plus the pause (1 s at
    most), so such a cut costs nothing and the silence is not bridged, though fewer cues fit."""
    from voxnb.export import regroup

    def sentence(words, start):  # words of 0.3 s, 0.05 s apart
        return [(w, start + 0.35 * k, start + 0.35 * k + 0.3) for k, w in enumerate(words)]

    words = (
        sentence(["I", "saw", "it."], 0.0)  # ends at 1.0, then 1 s of silence
        + sentence(["We", "ran", "home."], 2.0)  # ends at 3.0, then 0.2 s
        + sentence(["It", "was", "late."], 3.2)  # ends at 4.2, then 1 s
        + sentence(["So", "we", "slept."], 5.2)
    )
    # two cues of 3.0 s cut at the short pause: (4 - 3.2) + 4 = 4.8; three cut at both long
    # silences: (4 - 4) + (4 - 4) + 4 = 4.0
    assert _texts_of(regroup(words, max_duration=3.5)) == [
        ["I", "saw", "it."],
        ["We", "ran", "home.", "It", "was", "late."],
        ["So", "we", "slept."],
    ]


def _aligned(text: str, times: list[tuple[float, float]]) -> Transcript:
    """One segment of *text* (0 to 4 s) whose words were aligned at *times* (NaN: not placed)."""
    t = _one_segment(text, 0.0, 4.0)
    words = t.words.copy()
    assert len(words) == len(times)
    words["start"] = [s for s, _ in times]
    words["end"] = [e for _, e in times]
    return t.with_words(words)


def test_words_alignment_could_not_place_stay_in_the_regrouped_cues():
    nan = float("nan")
    # "uh" has no end and "well" no start: each rides with the word before it; "so", first,
    # with the word after it. The cut stays at the placed words' 1.2 s pause
    t = _aligned(
        "so we went uh home well then",
        [(nan, nan), (0.1, 0.4), (0.5, 0.8), (0.9, nan), (2.0, 2.3), (nan, 2.6), (2.7, 3.0)],
    )
    assert [(a, b, body) for _, a, b, body in parse_srt(t.to_srt(max_duration=2.0))] == [
        (0.0, 0.8, "so we went uh"),
        (2.0, 4.0, "home well then"),
    ]
    # a word without text (a table made by hand) adds nothing to its cue, not "nan" or "<NA>"
    t = _aligned("one two three", [(0.0, 0.5), (0.6, 1.0), (2.5, 3.0)])
    words = t.words.copy()
    words["text"] = pd.array(["one", pd.NA, "three"], dtype="string")
    assert [c[3] for c in parse_srt(t.with_words(words).to_srt(max_duration=2.0))] == ["one", "three"]
    # nothing placed: the segment's own text, in two balanced lines as without regrouping
    t = _aligned("It was late. We went home and slept", [(nan, nan)] * 8)
    (cue,) = parse_srt(t.to_srt(max_chars=21, max_lines=2))
    assert cue[1:] == (0.0, 4.0, "It was late. We\nwent home and slept")
