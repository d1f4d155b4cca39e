"""Every export is read back with the library (or a strict parser) that consumes it."""

from __future__ import annotations

import json
import re

import pytest

import voxnb
from voxnb import ParameterError, Transcript

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
    database = pytest.importorskip("pyannote.database.util")
    annotation = database.load_rttm(str(path))["my_file"]
    assert sorted(annotation.labels()) == ["speaker_1", "speaker_2"]
    assert annotation.label_duration("speaker_1") == pytest.approx(5.2)
    meeteval = pytest.importorskip("meeteval")
    rttm = meeteval.io.RTTM.load(path)
    assert len(rttm) == 2


def test_seglst_reads_back_with_meeteval(diarized, tmp_path):
    meeteval = pytest.importorskip("meeteval")
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
    pytest.importorskip("pyannote.core")
    annotation = diarized.to_pyannote(uri="call")
    assert annotation.uri == "call"
    assert annotation.label_duration("speaker_2") == pytest.approx(0.8)
    assert len(list(annotation.itertracks())) == 3


def test_exports_from_a_saved_transcript_match(diarized, tmp_path):
    loaded = voxnb.load_transcript(diarized.save(tmp_path / "t.json"))
    assert loaded.to_srt() == diarized.to_srt()
    assert loaded.to_vtt() == diarized.to_vtt()


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
