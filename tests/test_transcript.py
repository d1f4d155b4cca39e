"""Transcript.from_response on every shape users hold, the DataFrame contract, save/load, concat."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest

import voxnb
from voxnb import ParameterError, ResponseFormatError, Transcript
from voxnb.frames import SEGMENT_COLUMNS, SPEAKER_COLUMNS, TURN_COLUMNS, WORD_COLUMNS


def check_contract(t: Transcript) -> None:
    """Every table has exactly the contract's columns and dtypes."""
    seg, words, turns, speakers = t.segments, t.words, t.turns, t.speakers
    assert list(seg.columns) == SEGMENT_COLUMNS
    assert list(words.columns) == WORD_COLUMNS
    assert list(turns.columns) == TURN_COLUMNS
    assert list(speakers.columns) == SPEAKER_COLUMNS
    for frame in (seg, words, turns):
        assert frame["text"].dtype == "string"
        assert isinstance(frame["speaker"].dtype, pd.CategoricalDtype)
    assert seg["segment"].tolist() == list(range(len(seg)))
    assert words["word"].tolist() == list(range(len(words)))
    assert isinstance(words["timing"].dtype, pd.CategoricalDtype)
    assert set(words["timing"].cat.categories) == {"api", "aligned", "interpolated", "none"}
    assert seg["n_words"].sum() == len(words)
    if len(words):
        assert words["segment"].between(0, len(seg) - 1).all()


# ---------------------------------------------------------------- Mistral in all its containers


def test_mistral_dict(mistral_diarized):
    t = Transcript.from_response(mistral_diarized, backend="mistral", request={"diarize": True})
    check_contract(t)
    assert t.source == "mistral"
    assert t.text == mistral_diarized["text"]
    assert t.model == "voxtral-mini-latest"
    assert t.language is None
    assert t.usage["request_count"] == 1  # unknown usage keys survive
    assert t.raw is mistral_diarized
    seg = t.segments
    assert seg["text"].tolist()[0] == "This week, I traveled to Chicago."
    assert seg["speaker"].tolist() == ["speaker_1", "speaker_1", "speaker_2"]
    assert seg["score"].isna().tolist() == [True, True, False]
    assert t.turns["n_segments"].tolist() == [2, 1]
    assert t.turns["text"][0] == "This week, I traveled to Chicago. It was an opportunity to say thank you."
    sp = t.speakers.set_index("speaker")
    assert sp.loc["speaker_1", "talk_time"] == pytest.approx(2.3 + 2.6)
    assert sp.loc["speaker_2", "turns"] == 1
    assert sp["share"].sum() == pytest.approx(1.0)
    assert (t.words["timing"] == "interpolated").all()
    assert t.duration == pytest.approx(7.0)


def test_mistral_json_text_bytes_and_path(mistral_diarized, tmp_path):
    text = json.dumps(mistral_diarized)
    path = tmp_path / "response.json"
    path.write_text(text)
    for obj in (text, text.encode(), path, str(path)):
        t = Transcript.from_response(obj)
        assert t.source == "mistral"
        assert t.raw == mistral_diarized
        pd.testing.assert_frame_equal(t.segments, Transcript.from_response(mistral_diarized).segments)


def test_mistral_without_timestamps_has_untimed_words():
    t = Transcript.from_response(
        {
            "model": "voxtral-mini-2507",
            "text": "Hello world, again.",
            "language": "en",
            "segments": [],
            "usage": {"prompt_audio_seconds": 3},
        }
    )
    check_contract(t)
    assert len(t.segments) == 1 and np.isnan(t.segments["start"][0])
    assert t.words["text"].tolist() == ["Hello", "world,", "again."]
    assert (t.words["timing"] == "none").all() and t.words["start"].isna().all()
    assert t.duration == 3.0  # from usage when nothing else says
    assert len(t.speakers) == 0


def test_word_granularity_entries_become_words_and_segments():
    words = [
        ("Hello", 0.0, 0.4),
        ("there.", 0.5, 0.9),
        ("How", 1.0, 1.2),
        ("are", 1.25, 1.4),
        ("you?", 1.45, 1.8),
        ("Fine", 3.5, 3.9),
    ]
    resp = {
        "model": "voxtral-mini-2602",
        "text": "Hello there. How are you? Fine",
        "segments": [{"text": w, "start": s, "end": e, "type": "transcription_segment"} for w, s, e in words],
    }
    for t in (
        Transcript.from_response(resp, granularity="word"),
        Transcript.from_response(resp, request={"timestamp_granularities": ["word"]}),
    ):
        check_contract(t)
        assert (t.words["timing"] == "api").all()
        assert t.words["text"].tolist() == [w for w, _, _ in words]
        # sentence ends and the long pause make three segments
        assert t.segments["text"].tolist() == ["Hello there.", "How are you?", "Fine"]
        assert t.segments["start"].tolist() == [0.0, 1.0, 3.5]
        assert t.words["segment"].tolist() == [0, 0, 1, 1, 1, 2]
    # without the hint the same entries are segments
    assert len(Transcript.from_response(resp).segments) == len(words)


def test_mixed_granularities_split_entries():
    resp = {
        "text": "Hello there.",
        "segments": [
            {"text": "Hello there.", "start": 0.0, "end": 0.9},
            {"text": "Hello", "start": 0.0, "end": 0.4},
            {"text": "there.", "start": 0.5, "end": 0.9},
        ],
    }
    t = Transcript.from_response(resp, request={"timestamp_granularities": ["segment", "word"]})
    assert len(t.segments) == 1
    assert t.words["text"].tolist() == ["Hello", "there."]
    assert (t.words["timing"] == "api").all()


def test_nested_words_in_mistral_segments():
    resp = {
        "model": "faster-whisper-tiny.en (local)",
        "text": " Hi Bob. Yes.",
        "segments": [
            {
                "text": " Hi Bob.",
                "start": 0.0,
                "end": 1.0,
                "speaker_id": "speaker_1",
                "words": [
                    {"text": " Hi", "start": 0.0, "end": 0.3, "score": 0.9},
                    {"text": " Bob.", "start": 0.4, "end": 1.0, "score": 0.8},
                ],
            },
            {
                "text": " Yes.",
                "start": 1.5,
                "end": 2.0,
                "speaker_id": "speaker_2",
                "words": [{"text": " Yes.", "start": 1.5, "end": 2.0, "score": 0.7}],
            },
        ],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    w = t.words
    assert w["text"].tolist() == ["Hi", "Bob.", "Yes."]
    assert w["speaker"].tolist() == ["speaker_1", "speaker_1", "speaker_2"]
    assert w["score"].tolist() == [0.9, 0.8, 0.7]
    assert (w["timing"] == "api").all()
    assert t.segments["n_words"].tolist() == [2, 1]
    # asking for word timestamps does not turn segments that carry their words into words
    for wanted in (["word"], ["segment", "word"]):
        u = Transcript.from_response(resp, request={"timestamp_granularities": wanted})
        assert u.words["text"].tolist() == ["Hi", "Bob.", "Yes."] and len(u.segments) == 2
        assert (u.words["timing"] == "api").all()


def test_sdk_objects():
    from mistralai.client import models

    resp = models.TranscriptionResponse.model_validate(
        {
            "model": "voxtral-mini-latest",
            "text": " Hi.",
            "language": None,
            "usage": {"prompt_audio_seconds": 1},
            "segments": [{"text": " Hi.", "start": 0.1, "end": 0.6, "speaker_id": "speaker_1"}],
            "type": "transcription.done",
            "brand_new_field": {"x": 1},
        }
    )
    t = Transcript.from_response(resp)
    assert t.source == "mistral-sdk"
    assert t.raw is resp
    assert t.segments["speaker"].tolist() == ["speaker_1"]
    assert t.to_dict()["raw"]["brand_new_field"] == {"x": 1}  # unknown fields kept

    events = [
        models.TranscriptionStreamEvents.model_validate({"event": e["type"], "data": e})
        for e in [
            {"type": "transcription.language", "audio_language": "en"},
            {"type": "transcription.text.delta", "text": " Yesterday it was"},
            {"type": "transcription.text.delta", "text": " warm."},
            {"type": "transcription.segment", "text": " Yesterday it was warm.", "start": 0.0, "end": 2.0},
        ]
    ]
    t = Transcript.from_response(events)
    assert t.source == "mistral-sse"
    assert t.text == " Yesterday it was warm."
    assert t.language == "en"
    assert t.segments["end"].tolist() == [2.0]


def test_sse_event_dicts_with_done():
    events = [
        {"type": "transcription.language", "audio_language": "fr"},
        {"type": "transcription.text.delta", "text": " Bonjour"},
        {
            "type": "transcription.segment",
            "text": " Bonjour tout le monde.",
            "start": 0.0,
            "end": 1.8,
            "speaker_id": None,
        },
        {
            "type": "transcription.done",
            "model": "voxtral-mini-latest",
            "text": " Bonjour tout le monde.",
            "language": "fr",
            "segments": [],
            "usage": {"prompt_audio_seconds": 2},
        },
        {"type": "transcription.future_event", "whatever": 1},
    ]
    t = Transcript.from_response(events)
    assert t.source == "mistral-sse"
    assert t.model == "voxtral-mini-latest"
    assert t.segments["text"].tolist() == ["Bonjour tout le monde."]  # segments from the stream
    assert t.usage == {"prompt_audio_seconds": 2}


def test_openai_verbose_json_with_top_level_words():
    resp = {
        "task": "transcribe",
        "language": "english",
        "duration": 4.0,
        "text": "One two. Three.",
        "segments": [
            {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": 2.0,
                "text": " One two.",
                "tokens": [1],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.0,
                "no_speech_prob": 0.01,
            },
            {
                "id": 1,
                "seek": 0,
                "start": 2.5,
                "end": 4.0,
                "text": " Three.",
                "tokens": [2],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.0,
                "no_speech_prob": 0.01,
            },
        ],
        "words": [
            {"word": "One", "start": 0.0, "end": 0.8},
            {"word": "two.", "start": 0.9, "end": 1.9},
            {"word": "Three.", "start": 2.6, "end": 3.9},
        ],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    assert t.source == "openai-verbose-json"
    assert t.duration == 4.0
    assert t.words["segment"].tolist() == [0, 0, 1]
    assert (t.words["timing"] == "api").all()


def test_vllm_json_and_stream():
    t = Transcript.from_response({"text": " Hello from vLLM.", "usage": {"type": "duration", "seconds": 3}})
    check_contract(t)
    assert t.source == "vllm-json" and t.duration == 3.0
    assert (t.words["timing"] == "none").all()
    chunks = [
        {
            "id": "x",
            "object": "transcription.chunk",
            "created": 1,
            "model": "mistralai/Voxtral-Mini-3B-2507",
            "choices": [{"delta": {"content": piece}, "finish_reason": None}],
        }
        for piece in (" Hel", "lo.")
    ]
    t = Transcript.from_response(chunks)
    assert t.source == "vllm-sse" and t.text == " Hello." and t.model == "mistralai/Voxtral-Mini-3B-2507"


def test_faster_whisper_results():
    from faster_whisper.transcribe import Segment, TranscriptionInfo, Word

    def segment(i, start, end, text, words):
        return Segment(
            id=i,
            seek=0,
            start=start,
            end=end,
            text=text,
            tokens=[],
            avg_logprob=-0.1,
            compression_ratio=1.0,
            no_speech_prob=0.0,
            temperature=0.0,
            words=[Word(start=s, end=e, word=w, probability=p) for w, s, e, p in words],
        )

    segments = [
        segment(0, 0.0, 1.0, " Janis Joplin", [(" Janis", 0.0, 0.4, 0.5), (" Joplin", 0.5, 1.0, 0.6)]),
        segment(1, 1.2, 2.0, " sang.", [(" sang.", 1.2, 2.0, 0.9)]),
    ]
    info = TranscriptionInfo(
        language="en",
        language_probability=1.0,
        duration=2.5,
        duration_after_vad=2.5,
        all_language_probs=None,
        transcription_options=None,
        vad_options=None,
    )
    for obj in ((iter(segments), info), segments):
        t = Transcript.from_response(obj)
        check_contract(t)
        assert t.source == "faster-whisper"
        assert t.text == " Janis Joplin sang."
        assert t.words["text"].tolist() == ["Janis", "Joplin", "sang."]
        assert t.words["score"].tolist() == [0.5, 0.6, 0.9]
    assert t.duration == 2.0
    assert Transcript.from_response((iter(segments), info)).duration == 2.5


def test_whisperx_json_with_missing_word_times():
    resp = {
        "language": "en",
        "segments": [
            {
                "start": 0.0,
                "end": 2.0,
                "text": " It costs 20 dollars.",
                "speaker": "SPEAKER_00",
                "words": [
                    {"word": "It", "start": 0.0, "end": 0.2, "score": 0.9, "speaker": "SPEAKER_00"},
                    {"word": "costs", "start": 0.3, "end": 0.7, "score": 0.8, "speaker": "SPEAKER_00"},
                    {"word": "20"},  # whisperX leaves numbers unaligned
                    {"word": "dollars.", "start": 1.2, "end": 2.0, "score": 0.7},
                ],
            }
        ],
        "word_segments": [],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    assert t.source == "whisperx"
    w = t.words
    # the unaligned number gets the gap between its neighbours, and says so
    assert w["timing"].tolist() == ["api", "api", "interpolated", "api"]
    assert (w["start"][2], w["end"][2]) == (0.7, 1.2)
    assert w["speaker"].tolist() == ["SPEAKER_00"] * 4  # the segment's speaker fills in


# ---------------------------------------------------------------- odd but valid input


def test_runs_of_untimed_words_share_their_gap():
    resp = {
        "segments": [
            {
                "start": 10.0,
                "end": 20.0,
                "text": "a 12 345 b 6",
                "words": [
                    {"word": "a", "start": 10.0, "end": 11.0},
                    {"word": "12"},
                    {"word": "345"},
                    {"word": "b", "start": 16.0, "end": 17.0},
                    {"word": "6"},
                ],
            },
            {"start": None, "end": None, "text": "x", "words": [{"word": "x"}]},
        ]
    }
    w = Transcript.from_response(resp).words
    assert w["start"].tolist()[:5] == [10.0, 11.0, 13.0, 16.0, 17.0]
    assert w["end"].tolist()[:5] == [11.0, 13.0, 16.0, 17.0, 20.0]
    assert w["timing"].tolist() == ["api", "interpolated", "interpolated", "api", "interpolated", "none"]


def test_unsorted_overlapping_zero_length_and_missing():
    resp = {
        "text": "",
        "segments": [
            {"text": "c", "start": 5.0, "end": 6.0, "speaker_id": "b"},
            {"text": "a b", "start": 0.0, "end": 2.0, "speaker_id": "a"},
            {"text": "overlap", "start": 1.0, "end": 3.0},
            {"text": "", "start": 3.0, "end": 3.0, "speaker_id": "a"},
            {"text": "nan", "start": None, "end": None, "speaker_id": "b"},
            {"text": "dot", "start": 4.0, "end": 4.0},
        ],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    assert t.segments["start"].tolist()[:5] == [0.0, 1.0, 3.0, 4.0, 5.0]
    assert np.isnan(t.segments["start"].iloc[-1])
    assert t.segments["text"].iloc[2] == ""  # empty text stays empty, it is known to be empty
    assert t.segments["speaker"].isna().tolist() == [False, True, False, True, False, False]
    zero = t.words[t.words["text"] == "dot"]
    assert zero["start"].iloc[0] == zero["end"].iloc[0] == 4.0
    assert t.text == ""  # the response's own text, even when empty
    assert Transcript.from_response({"segments": resp["segments"]}).text == "a b overlap dot c nan"
    assert t.turns["text"].tolist()[-1] == "c nan" and len(t.turns) == 5


def test_cjk_text_is_split_per_character():
    t = Transcript.from_response(
        {"text": "今日は晴れ。", "segments": [{"text": "今日は晴れ。", "start": 0, "end": 2.4}]}
    )
    assert t.words["text"].tolist() == ["今", "日", "は", "晴", "れ。"]
    assert t.words["end"].iloc[-1] == pytest.approx(2.4)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"text": "x", "segments": "nope"}, "segments"),
        ({"text": "x", "segments": [1, 2]}, "segments[0]"),
        ({"text": "x", "segments": [{"text": "a", "start": "zero", "end": 1}]}, "segments[0].start"),
        ({"text": "x", "segments": [{"text": 5, "start": 0, "end": 1}]}, "segments[0].text"),
        ({"text": 42}, "text"),
        ({"foo": 1}, "'text'"),
        ("{not json", "JSON"),
        ("/no/such/file.json", "existing .json file"),
        (3.5, "float"),
    ],
)
def test_malformed_responses_name_the_field(bad, field):
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response(bad)
    assert field in str(err.value)


def test_request_never_keeps_secrets():
    t = Transcript.from_response(
        {"text": "x"}, request={"model": "m", "api_key": "sk-secret", "Authorization": "Bearer sk-secret"}
    )
    assert t.request == {"model": "m"}
    assert "sk-secret" not in repr(t) and "sk-secret" not in json.dumps(t.to_dict())


# ---------------------------------------------------------------- save / load, with_words, concat


#: what a saved transcript, or a copy with new words, keeps
KEPT_ON_SAVE = ("raw", "source", "backend", "base_url", "model", "request", "audio_sha256", "created", "text")


def test_save_load_roundtrip(mistral_diarized, tmp_path):
    t = Transcript.from_response(
        mistral_diarized,
        backend="mistral",
        base_url="https://api.mistral.ai",
        request={"diarize": True, "timestamp_granularities": ["segment"]},
        audio_sha256="ab" * 32,
    )
    path = t.save(tmp_path / "sub" / "t.json")
    json.loads(path.read_text())  # readable JSON
    u = voxnb.load_transcript(path)
    for attr in KEPT_ON_SAVE:
        assert getattr(u, attr) == getattr(t, attr), attr
    for level in ("segments", "words", "turns", "speakers"):
        pd.testing.assert_frame_equal(getattr(u, level), getattr(t, level))


def test_save_load_faster_whisper_keeps_source_and_info(tmp_path):
    from faster_whisper.transcribe import Segment, TranscriptionInfo

    seg = Segment(
        id=0,
        seek=0,
        start=0.0,
        end=1.0,
        text=" Hi.",
        tokens=[],
        avg_logprob=0.0,
        compression_ratio=1.0,
        no_speech_prob=0.0,
        words=None,
        temperature=0.0,
    )
    info = TranscriptionInfo(
        language="en",
        language_probability=1.0,
        duration=1.5,
        duration_after_vad=1.5,
        all_language_probs=None,
        transcription_options=None,
        vad_options=None,
    )
    u = voxnb.load_transcript(Transcript.from_response(([seg], info)).save(tmp_path / "fw.json"))
    assert (u.source, u.language, u.duration, u.text) == ("faster-whisper", "en", 1.5, " Hi.")


def test_with_words_roundtrip(mistral_diarized, tmp_path):
    t = Transcript.from_response(mistral_diarized)
    words = t.words.copy()
    words["start"] += 0.01
    words["timing"] = "aligned"
    aligned = t.with_words(words)
    assert (aligned.words["timing"] == "aligned").all()
    assert (t.words["timing"] == "interpolated").all()  # the original is untouched
    u = voxnb.load_transcript(aligned.save(tmp_path / "a.json"))
    pd.testing.assert_frame_equal(u.words, aligned.words)
    with pytest.raises(ParameterError, match="segment"):
        t.with_words(words.assign(segment=99))
    with pytest.raises(ParameterError, match="timing"):
        t.with_words(words.assign(timing="guessed"))


def test_load_plain_response_file(mistral_diarized, tmp_path):
    p = tmp_path / "plain.json"
    p.write_text(json.dumps(mistral_diarized))
    assert voxnb.load_transcript(p).source == "mistral"
    with pytest.raises(ResponseFormatError, match="newer voxnb"):
        Transcript.from_dict({"format": "voxnb.transcript", "version": 99, "raw": {}})


def test_concat_adds_run_and_unions_speakers(mistral_diarized):
    a = Transcript.from_response(mistral_diarized)
    b = Transcript.from_response(
        {"text": "x", "segments": [{"text": "x", "start": 0, "end": 1, "speaker_id": "zed"}]}
    )
    both = voxnb.concat({"bias": a, "none": b})
    assert both["run"].tolist() == ["bias"] * 3 + ["none"]
    assert list(both["speaker"].cat.categories) == ["speaker_1", "speaker_2", "zed"]
    assert list(both.columns) == ["run", *SEGMENT_COLUMNS]
    with pytest.raises(ParameterError):
        voxnb.concat([a, b])


# ---------------------------------------------------------------- display


def test_repr_html_is_fast_and_escapes():
    n = 100_000
    resp = {
        "text": "",
        "segments": [
            {"text": f"<b>seg {i}</b>", "start": i, "end": i + 0.5, "speaker_id": f"s{i % 3}"}
            for i in range(n)
        ],
    }
    t = Transcript.from_response(resp, backend="local")
    page = t._repr_html_()
    assert "&lt;b&gt;seg 0&lt;/b&gt;" in page and "<b>seg 0" not in page
    assert f"{n - 8} more segments" in page
    assert "words" not in t.__dict__  # no DataFrame was built for the display


def test_the_summary_line_and_card_say_what_the_transcript_holds():
    response = {
        "model": "voxtral-mini-2602",
        "language": "en",
        "duration": 83.456,
        "text": " Hi <there> Bye",
        "segments": [
            {"text": " Hi <there>", "start": 0.5, "end": 1.25, "speaker_id": "A&B"},
            {"text": " Bye", "start": 1.5, "end": 2.0, "speaker_id": None},
        ],
    }
    t = Transcript.from_response(response, backend="mistral")
    # two segments, one named speaker (None is no speaker), the reported duration to a tenth
    assert repr(t) == (
        "<Transcript 2 segments, 1 speakers, 83.5 s; backend='mistral' model='voxtral-mini-2602' source='mistral'>"
    )
    head = "<table><thead><tr><th>#</th><th>time (s)</th><th>speaker</th><th>text</th></tr></thead><tbody>"
    card = (
        "<div class='voxnb-transcript'><div><b>source</b> mistral · <b>backend</b> mistral · <b>model</b> "
        "voxtral-mini-2602 · <b>language</b> en · <b>duration</b> 83.46 · <b>segments</b> 2 · <b>speakers</b> 1"
        " · A&amp;B</div>" + head
    )
    first = "<tr><td>0</td><td>0.50–1.25</td><td>A&amp;B</td><td style='text-align:left'>Hi &lt;there&gt;</td></tr>"
    second = "<tr><td>1</td><td>1.50–2.00</td><td></td><td style='text-align:left'>Bye</td></tr>"
    assert (
        t._repr_html_(max_rows=1)
        == card + first + "<tr><td colspan=4>… 1 more segments</td></tr></tbody></table></div>"
    )
    assert t._repr_html_(max_rows=2) == t._repr_html_() == card + first + second + "</tbody></table></div>"
    # what is unknown is left out of the card; an untimed segment shows a dash
    plain = Transcript.from_response({"text": "Hello."})
    assert repr(plain) == "<Transcript 1 segments, 0 speakers, ?; backend=None model=None source='mistral'>"
    assert plain._repr_html_() == (
        "<div class='voxnb-transcript'><div><b>source</b> mistral · <b>segments</b> 1 · <b>speakers</b> 0</div>"
        + head
        + "<tr><td>0</td><td>–</td><td></td><td style='text-align:left'>Hello.</td></tr></tbody></table></div>"
    )
    many = Transcript.from_response(
        {"segments": [{"text": "x", "start": i, "end": i + 1, "speaker_id": f"s{i:02d}"} for i in range(12)]}
    )
    # at most ten speakers are named on the card
    meta = many._repr_html_().split("</div>")[0]
    assert meta.endswith(" · s00, s01, s02, s03, s04, s05, s06, s07, s08, s09")


def test_dataclass_sanity():
    # the canonical reader columns stay plain data (cheap to pickle, no per-row objects)
    from voxnb.readers import read_response

    _, c = read_response({"text": "a", "segments": [{"text": "a", "start": 0, "end": 1}]})
    assert dataclasses.is_dataclass(c) and isinstance(c.segments.start, np.ndarray)


def test_dict_subclasses_and_ordered_entries_are_read():
    from collections import OrderedDict

    resp = {"text": "a", "segments": [OrderedDict(text="a", start=0.0, end=1.0)]}
    assert Transcript.from_response(resp).segments["end"].tolist() == [1.0]


def test_whisperx_word_segments_without_nested_words():
    resp = {
        "language": "en",
        "segments": [
            {"start": 0.0, "end": 1.0, "text": " Hi Ann."},
            {"start": 2.0, "end": 3.0, "text": " Bye."},
        ],
        "word_segments": [
            {"word": "Hi", "start": 0.0, "end": 0.4, "speaker": "A"},
            {"word": "Ann.", "start": 0.5, "end": 1.0},
            {"word": "Bye.", "start": 2.1, "end": 2.9},
        ],
    }
    t = Transcript.from_response(resp)
    assert t.source == "whisperx"
    assert t.words["segment"].tolist() == [0, 0, 1]  # tied to segments by time
    assert t.words["speaker"].tolist()[0] == "A" and (t.words["timing"] == "api").all()


def test_speakers_table_hand_worked():
    words = [f"w{i}" for i in range(15)]
    resp = {
        "text": "x",
        "segments": [
            {"text": " ".join(words[:10]), "start": 0.0, "end": 30.0, "speaker_id": "A"},
            {"text": " ".join(words[:6]), "start": 30.0, "end": 45.0, "speaker_id": "B"},
            {"text": "nobody knows who said this", "start": 46.0, "end": 49.0},
            {"text": " ".join(words[:5]), "start": 50.0, "end": 80.0, "speaker_id": "A"},
            {"text": "silent", "start": 90.0, "end": 90.0, "speaker_id": "C"},
        ],
    }
    sp = Transcript.from_response(resp).speakers
    assert sp["speaker"].tolist() == ["A", "B", "C"]  # order of first appearance
    assert sp["turns"].tolist() == [2, 1, 1]
    assert sp["talk_time"].tolist() == [60.0, 15.0, 0.0]
    assert sp["share"].tolist() == [0.8, 0.2, 0.0]  # of the 75 s spoken by known speakers
    assert sp["words"].tolist() == [15, 6, 1]
    # A: 15 words in one minute; B: 6 words in a quarter of a minute; C: no time, no rate
    assert sp["words_per_minute"].tolist()[:2] == [15.0, 24.0] and np.isnan(sp["words_per_minute"][2])
    assert sp["first_start"].tolist() == [0.0, 30.0, 90.0]
    assert sp["last_end"].tolist() == [80.0, 45.0, 90.0]


def test_words_belong_to_the_segment_holding_their_middle():
    resp = {
        "language": "en",
        "segments": [
            {"start": 1.0, "end": 2.0, "text": " a b"},
            {"start": 2.0, "end": 3.0, "text": " c d"},
        ],
        "word_segments": [
            {"word": "early", "start": 0.7, "end": 1.1},  # before every segment: the first one
            {"word": "a", "start": 1.2, "end": 1.5},
            {"word": "inside", "start": 1.9, "end": 2.05},  # middle 1.975: still the first segment
            {"word": "across", "start": 1.8, "end": 2.4},  # starts in the first, middle 2.1 in the second
            {"word": "d", "start": 2.5, "end": 2.9},
            {"word": "late", "start": 3.5, "end": 3.9},  # after every segment: the last one
        ],
    }
    t = Transcript.from_response(resp)
    assert dict(zip(t.words["text"], t.words["segment"])) == {
        "early": 0,
        "a": 0,
        "inside": 0,
        "across": 1,
        "d": 1,
        "late": 1,
    }
    assert t.segments["n_words"].tolist() == [3, 3]


def test_openai_verbose_json_segments_words_and_metadata_are_all_read():
    resp = {
        "task": "transcribe",
        "model": "whisper-1",
        "language": "english",
        "duration": 6.5,
        "text": " Well then we start now",
        "segments": [
            {"id": 0, "start": 0.0, "end": 2.0, "text": " Well then", "speaker": "A", "score": 0.5},
            {"id": 1, "start": 2.5, "end": 6.0, "text": " we start now", "speaker": "B"},
        ],
        "words": [
            {"word": "Well", "start": 0.0, "end": 0.9, "probability": 0.9},
            {"word": "then", "start": 1.0, "end": 1.8, "probability": 0.8},
            {"word": "we", "start": 2.5, "end": 3.0, "probability": 0.7},
            {"word": "start", "start": 3.1, "end": 4.0},
            {"word": "now", "start": 4.2, "end": 6.0, "probability": 0.6},
        ],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    assert (t.source, t.model, t.language, t.duration) == ("openai-verbose-json", "whisper-1", "english", 6.5)
    assert t.text == " Well then we start now"
    seg = t.segments
    # the backend's segments, not ones rebuilt from the words (which would make one sentence)
    assert seg["text"].tolist() == ["Well then", "we start now"]
    assert seg["start"].tolist() == [0.0, 2.5] and seg["end"].tolist() == [2.0, 6.0]
    assert seg["speaker"].tolist() == ["A", "B"]
    assert seg["score"].tolist()[0] == 0.5 and np.isnan(seg["score"][1])
    words = t.words
    assert words["text"].tolist() == ["Well", "then", "we", "start", "now"]
    assert words["segment"].tolist() == [0, 0, 1, 1, 1]
    assert words["speaker"].tolist() == ["A", "A", "B", "B", "B"]
    np.testing.assert_array_equal(words["score"], [0.9, 0.8, 0.7, np.nan, 0.6])
    assert words["end"].tolist() == [0.9, 1.8, 3.0, 4.0, 6.0]


def test_openai_verbose_json_with_words_nested_in_segments():
    resp = {
        "task": "transcribe",
        "language": "english",
        "text": " Hi there",
        "segments": [
            {
                "start": 0.0,
                "end": 1.0,
                "text": " Hi there",
                "words": [
                    {"word": " Hi", "start": 0.0, "end": 0.4, "probability": 0.5},
                    {"word": " there", "start": 0.5, "end": 1.0, "probability": 0.25},
                ],
            }
        ],
    }
    t = Transcript.from_response(resp)
    assert t.source == "openai-verbose-json"
    assert t.words["text"].tolist() == ["Hi", "there"] and t.words["score"].tolist() == [0.5, 0.25]
    assert t.words["start"].tolist() == [0.0, 0.5] and (t.words["timing"] == "api").all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segments": {"start": 0}}, r"^segments: expected a list of objects, got dict"),
        (
            {"segments": [{"start": 0, "end": 1, "text": "x"}, 7]},
            r"^segments\[1\]: expected an object, got int",
        ),
        (
            {"segments": [{"start": "zero", "end": 1, "text": "x"}]},
            r"^segments\[0\]\.start: expected a number",
        ),
        (
            {"words": [{"word": "a", "start": 0, "end": 1}, {"word": "b", "start": 1, "end": "two"}]},
            r"^words\[1\]\.end",
        ),
        ({"words": [{"word": 5, "start": 0, "end": 1}]}, r"^words\[0\]\.word: expected a string, got 5"),
    ],
)
def test_openai_verbose_json_errors_say_where(change, message):
    resp = {"task": "transcribe", "language": "english", "text": "x", "segments": [], **change}
    with pytest.raises(voxnb.ResponseFormatError, match=message):
        Transcript.from_response(resp)


def test_concat_every_level_keeps_values_and_says_what_is_wrong(mistral_diarized):
    a = Transcript.from_response(mistral_diarized)
    b = Transcript.from_response(
        {"text": "x", "segments": [{"text": "x y", "start": 0, "end": 1, "speaker_id": "zed"}]}
    )
    for level, n_a, n_b in [
        ("segments", 3, 1),
        ("turns", 2, 1),
        ("speakers", 2, 1),
        ("words", len(a.words), 2),
    ]:
        both = voxnb.concat({"none": b, "bias": a}, level=level)
        assert both["run"].tolist() == ["none"] * n_b + ["bias"] * n_a, level
        assert list(both["run"].cat.categories) == ["none", "bias"]  # the dict's order
        assert both["speaker"].tolist() == [*getattr(b, level)["speaker"], *getattr(a, level)["speaker"]]
        assert list(both["speaker"].cat.categories) == ["zed", "speaker_1", "speaker_2"]
    with pytest.raises(
        ParameterError, match=r"^level must be 'segments', 'words', 'turns' or 'speakers', got 'word'$"
    ):
        voxnb.concat({"a": a}, level="word")
    with pytest.raises(ParameterError, match=r"^concat\(\) takes a dict of name -> Transcript"):
        voxnb.concat({"a": a, "b": "not a transcript"})
    with pytest.raises(ParameterError, match=r"^concat\(\) needs at least one transcript$"):
        voxnb.concat({})


def test_whisperx_segments_with_speakers_and_scored_words():
    resp = {
        "language": "fr",
        "segments": [
            {
                "start": 0.5,
                "end": 2.0,
                "text": " Bonjour à tous.",
                "speaker": "SPEAKER_01",
                "words": [
                    {"word": "Bonjour", "start": 0.5, "end": 1.0, "score": 0.9, "speaker": "SPEAKER_01"},
                    {"word": "à", "start": 1.1, "end": 1.2, "score": 0.8, "speaker": "SPEAKER_01"},
                    {"word": "tous.", "start": 1.3, "end": 2.0, "score": 0.7, "speaker": "SPEAKER_00"},
                ],
            },
            {
                "start": 3.0,
                "end": 3.5,
                "text": " Merci.",
                "speaker": "SPEAKER_00",
                "words": [{"word": "Merci."}],
            },
        ],
    }
    t = Transcript.from_response(resp)
    check_contract(t)
    assert (t.source, t.language) == ("whisperx", "fr")
    assert t.segments["text"].tolist() == ["Bonjour à tous.", "Merci."]
    assert t.segments["speaker"].tolist() == ["SPEAKER_01", "SPEAKER_00"]
    words = t.words
    assert words["text"].tolist() == ["Bonjour", "à", "tous.", "Merci."]
    assert words["speaker"].tolist() == ["SPEAKER_01", "SPEAKER_01", "SPEAKER_00", "SPEAKER_00"]
    np.testing.assert_array_equal(words["score"], [0.9, 0.8, 0.7, np.nan])
    assert words["segment"].tolist() == [0, 0, 0, 1]
    # whisperX leaves some words untimed: they get their segment's free time
    assert words["timing"].tolist() == ["api", "api", "api", "interpolated"]
    assert (words["start"][3], words["end"][3]) == (3.0, 3.5)


_SHAPES = {
    "whisperx": {
        "language": "en",
        "segments": [{"start": 0.0, "end": 1.0, "text": " Hi.", "speaker": "S1"}],
        "word_segments": [{"word": "Hi.", "start": 0.1, "end": 0.9, "score": 0.5}],
    },
    "openai-verbose-json": {
        "task": "transcribe",
        "language": "english",
        "duration": 2.0,
        "text": " Hi you",
        "segments": [{"start": 0.0, "end": 2.0, "text": " Hi you"}],
        "words": [{"word": "Hi", "start": 0.0, "end": 0.5}, {"word": "you", "start": 1.0, "end": 2.0}],
    },
    "vllm-json": {"text": " Hello.", "model": "m", "usage": {"type": "duration", "seconds": 3}},
    "mistral-sse": [
        {"type": "transcription.language", "audio_language": "en"},
        {"type": "transcription.text.delta", "text": " Hi"},
        {"type": "transcription.segment", "text": " Hi", "start": 0.0, "end": 0.5},
    ],
}


@pytest.mark.parametrize("source", list(_SHAPES))
def test_a_saved_transcript_of_every_shape_loads_back_the_same(source, tmp_path):
    t = Transcript.from_response(_SHAPES[source])
    assert t.source == source
    u = voxnb.load_transcript(t.save(tmp_path / "t.json"))
    assert (u.source, u.text, u.language, u.model, u.duration) == (
        t.source,
        t.text,
        t.language,
        t.model,
        t.duration,
    )
    for level in ("segments", "words", "turns", "speakers"):
        pd.testing.assert_frame_equal(getattr(u, level), getattr(t, level))


def test_a_saved_word_granularity_response_is_read_as_words_again(tmp_path):
    resp = {
        "text": "Hi you.",
        "segments": [{"text": "Hi", "start": 0.0, "end": 0.4}, {"text": "you.", "start": 0.5, "end": 1.0}],
    }
    t = Transcript.from_response(resp, request={"timestamp_granularities": ["word"]})
    assert t.words["timing"].tolist() == ["api", "api"] and t.segments["text"].tolist() == ["Hi you."]
    u = voxnb.load_transcript(t.save(tmp_path / "w.json"))
    pd.testing.assert_frame_equal(u.words, t.words)
    pd.testing.assert_frame_equal(u.segments, t.segments)


def test_a_saved_faster_whisper_result_without_info_loads_back(tmp_path):
    from faster_whisper.transcribe import Segment, Word

    seg = Segment(
        id=0, seek=0, start=0.0, end=1.0, text=" Hi.", tokens=[], avg_logprob=0.0, compression_ratio=1.0,
        no_speech_prob=0.0, words=[Word(start=0.1, end=0.9, word=" Hi.", probability=0.75)], temperature=0.0,
    )  # fmt: skip
    t = Transcript.from_response([seg])
    u = voxnb.load_transcript(t.save(tmp_path / "fw.json"))
    assert (u.source, u.text, u.duration) == ("faster-whisper", " Hi.", 1.0)
    pd.testing.assert_frame_equal(u.words, t.words)
    assert u.words["score"].tolist() == [0.75]


def test_with_words_copies_everything_else_and_normalises_the_table(mistral_diarized):
    import numpy as np

    t = Transcript.from_response(
        mistral_diarized,
        backend="mistral",
        base_url="https://x",
        request={"diarize": True},
        audio_sha256="ab" * 32,
    )
    words = t.words.iloc[[2, 0, 1]].reset_index(drop=True)  # any row order and index
    words = words.assign(word=[7, 8, 9], start=words["start"].round(1), timing="aligned")
    words["speaker"] = words["speaker"].astype(object)
    words.loc[0, "speaker"] = None
    words["text"] = words["text"].astype(object)
    words["score"] = [1, 0, 1]  # integers
    new = t.with_words(words)
    for attr in KEPT_ON_SAVE:
        assert getattr(new, attr) == getattr(t, attr), attr
    w = new.words
    assert w["word"].tolist() == [0, 1, 2]
    assert str(w["text"].dtype) == "string" and w["score"].dtype == np.float64
    assert w["speaker"].isna().tolist() == [True, False, False]
    assert list(w["speaker"].cat.categories) == ["speaker_1", "speaker_2"]
    assert list(w["timing"].cat.categories) == ["api", "aligned", "interpolated", "none"]
    assert w["segment"].dtype == np.int64 and w["start"].dtype == np.float64
    again = new.with_words(new.words)  # a copy of a copy keeps the override
    pd.testing.assert_frame_equal(again.words, w)
    pd.testing.assert_frame_equal(new._copy().words, w)
    with pytest.raises(ParameterError, match=r"^with_words\(\) needs the columns .*; missing \['timing'\]$"):
        t.with_words(words.drop(columns="timing"))
    with pytest.raises(
        ParameterError, match=r"^with_words\(\): 'segment' must index this transcript's 3 segments$"
    ):
        t.with_words(words.assign(segment=-1))
    with pytest.raises(
        ParameterError, match=r"^with_words\(\): timing must be one of \[.*\], got \['guess'\]$"
    ):
        t.with_words(words.assign(timing="guess"))
    assert len(t.with_words(words.iloc[:0]).words) == 0


def test_the_saved_file_and_what_refuses_to_load(mistral_diarized, tmp_path):
    t = Transcript.from_response(mistral_diarized, backend="mistral", request={"language": "en"})
    path = t.save(tmp_path / "deep" / "er" / "t.json")
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]  # written through a temporary file
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"], data["source"], data["backend"]) == (
        "voxnb.transcript",
        1,
        "mistral",
        "mistral",
    )
    assert data["request"] == {"language": "en"} and "words" not in data
    assert "\n " in path.read_text()  # indented, for people
    t2 = Transcript.from_response({"text": "café", "segments": []})
    assert "café" in t2.save(tmp_path / "c.json").read_text(encoding="utf-8")  # not \\u escaped
    with pytest.raises(
        voxnb.ResponseFormatError, match=r'^not a saved voxnb transcript \(no "format": "voxnb.transcript"\)'
    ):
        Transcript.from_dict({**data, "format": "other"})
    with pytest.raises(voxnb.ResponseFormatError, match=r"^not a saved voxnb transcript"):
        Transcript.from_dict([data])
    with pytest.raises(
        voxnb.ResponseFormatError, match=r"saved by a newer voxnb \(format version 2\); upgrade voxnb$"
    ):
        Transcript.from_dict({**data, "version": 2})
    old = Transcript.from_dict({k: v for k, v in data.items() if k not in ("version", "created")})
    assert old.text == t.text and old.created  # a file without version or date still loads


def test_vllm_json_fields():
    t = Transcript.from_response(
        {"text": " Hi.", "model": "voxtral", "language": "en", "usage": {"type": "duration", "seconds": 2.5}}
    )
    assert (t.source, t.text, t.model, t.language, t.duration) == ("vllm-json", " Hi.", "voxtral", "en", 2.5)
    assert t.usage == {"type": "duration", "seconds": 2.5}
    assert t.segments["text"].tolist() == ["Hi."] and t.segments["start"].isna().all()
    # the reader takes a duration only from usage counted in seconds
    from voxnb.readers import read_response

    def canonical(usage):
        return read_response({"text": " Hi.", "usage": usage}, source="vllm-json")[1]

    assert canonical({"type": "duration", "seconds": 4}).duration == 4.0
    assert canonical({"type": "tokens", "seconds": 9}).duration is None
    assert canonical({"type": "tokens"}).usage == {"type": "tokens"}
    # malformed fields are refused, named (issue 11), not dropped silently
    with pytest.raises(ResponseFormatError, match=r"usage\.seconds: expected a number of seconds, got '\?'"):
        canonical({"type": "duration", "seconds": "?"})
    with pytest.raises(ResponseFormatError, match="usage: expected an object or null, got 'lots'"):
        canonical("lots")
    assert (canonical(None).model, canonical(None).language) == (None, None)


def test_mixed_granularities_keep_every_field_of_words_and_segments():
    resp = {
        "text": "Hi you. Bye.",
        "segments": [
            {"text": " Hi you.", "start": 0.0, "end": 1.0, "speaker_id": "A", "score": 0.5},
            {"text": " Hi", "start": 0.0, "end": 0.3, "speaker_id": "A", "score": 0.9},
            {"text": "", "start": 0.35, "end": 0.4},  # no text: a (empty) word, not a segment
            {"text": " you.", "start": 0.5, "end": 1.0, "speaker_id": "B"},
            {"text": " Bye.", "start": 2.0, "end": 2.5},
            {"text": "See you soon.", "start": 3.0, "end": 4.0},
        ],
    }
    t = Transcript.from_response(resp, request={"timestamp_granularities": ["segment", "word"]})
    seg = t.segments
    assert seg["text"].tolist() == ["Hi you.", "See you soon."]
    assert seg["score"].tolist()[0] == 0.5 and seg["speaker"].isna().tolist() == [False, True]
    w = t.words
    assert w["text"].tolist() == ["Hi", "", "you.", "Bye."]
    assert w["segment"].tolist() == [0, 0, 0, 0]  # "Bye." at 2.0-2.5: after segment 0, before segment 1
    assert w["score"].tolist()[0] == 0.9
    assert w["speaker"].tolist() == ["A", "A", "B", "A"]  # own speaker, else the segment's
    assert w["start"].tolist() == [0.0, 0.35, 0.5, 2.0]


def test_faster_whisper_segments_without_words_or_info():
    from faster_whisper.transcribe import Segment

    segments = [
        Segment(id=i, seek=0, start=s, end=e, text=x, tokens=[], avg_logprob=0.0, compression_ratio=1.0,
                no_speech_prob=0.0, words=None, temperature=0.0)
        for i, (s, e, x) in enumerate([(0.0, 1.5, " Hello"), (2.0, 3.0, " again.")])
    ]  # fmt: skip
    t = Transcript.from_response(segments)
    assert (t.source, t.text, t.language) == ("faster-whisper", " Hello again.", None)
    assert t.segments["text"].tolist() == ["Hello", "again."]
    assert t.segments["end"].tolist() == [1.5, 3.0] and t.segments["score"].isna().all()
    assert t.words["timing"].tolist() == ["interpolated", "interpolated"]  # no word times: spread
    assert t.duration == 3.0


# ---------------------------------------------------------------- Mistral JSON text, decoded fast

FAST_CASES = {
    "diarized": {
        "model": "voxtral-mini-latest",
        "text": " Hi there. Bonjour.",
        "language": None,
        "segments": [
            {
                "text": " Hi there.",
                "start": 0,
                "end": 1.5,
                "speaker_id": "speaker_1",
                "type": "x",
                "score": None,
            },
            {"text": "  ", "start": 1.5, "end": 2, "speaker_id": "", "score": 0.5},
            {"text": "\tBonjour,\nça va ?  ", "start": 2.5, "end": 4, "speaker_id": "speaker_2"},
            {"text": "a\x1cb ", "start": 4, "end": 5, "speaker_id": "speaker_2"},
            {"text": None, "start": None, "end": None},
        ],
        "usage": {"prompt_audio_seconds": 5},
    },
    "unordered, speaker key": {
        "segments": [
            {"text": "b c", "start": 3, "end": 4, "speaker": "B"},
            {"text": " a", "start": 1, "end": 2, "speaker": "A"},
        ]
    },
    "no segments": {"text": " Just text.", "segments": None},
}


@pytest.mark.parametrize("name", sorted(FAST_CASES))
@pytest.mark.parametrize("granularity", [None, "segment", "word"])
def test_mistral_json_text_reads_like_the_parsed_response(name, granularity):
    response = FAST_CASES[name]
    text = json.dumps(response)
    fast = voxnb.Transcript.from_response(text, granularity=granularity)
    assert type(fast._raw).__name__ == "RawJSON"  # decoded straight into columns
    general = voxnb.Transcript.from_response(response, granularity=granularity)
    for table in ("segments", "words", "turns", "speakers"):
        pd.testing.assert_frame_equal(getattr(fast, table), getattr(general, table))
    assert fast.text == general.text and fast.duration == general.duration
    assert fast.raw == response and fast.to_dict()["raw"] == response


def test_segment_texts_are_stripped_and_counted_like_python():
    texts = [" Hi there. ", "", "  ", "\tBonjour,\nça va ?", "x\x0by\x0cz", "a\x1cb ", "one  two   three"]
    t = voxnb.Transcript.from_response(
        json.dumps({"segments": [{"text": x, "start": i, "end": i + 1} for i, x in enumerate(texts)]})
    )
    assert t.segments["text"].tolist() == [x.strip() for x in texts]
    assert t.segments["n_words"].tolist() == [len(x.split()) for x in texts]
    assert t.words["text"].tolist() == " ".join(texts).split()


@pytest.mark.parametrize(
    "segment",
    [
        {"text": "a", "start": -1, "end": 1},
        {"text": "a", "start": 2, "end": 1},
        {"text": "a", "start": True, "end": 1},
        {"text": "a", "start": 0, "end": 1, "speaker_id": False},
        {"text": 3, "start": 0, "end": 1},
        {"text": "a", "start": 0, "end": 1e11},
    ],
)
def test_mistral_json_text_is_refused_with_the_general_readers_message(segment):
    response = {"text": "a", "segments": [{"text": "ok", "start": 0, "end": 1}, segment]}
    with pytest.raises(ResponseFormatError) as parsed:
        voxnb.Transcript.from_response(response)
    with pytest.raises(ResponseFormatError) as text:
        voxnb.Transcript.from_response(json.dumps(response))
    assert str(text.value) == str(parsed.value) and "segments[1]." in str(text.value)


def test_other_shapes_in_json_text_take_the_general_reader():
    numbered = {"text": "a", "segments": [{"text": "a", "start": 0, "end": 1, "speaker_id": 0}]}
    nested = {"text": "a", "segments": [{"text": "a", "start": 0, "end": 1, "words": [
        {"text": "a", "start": 0, "end": 1}]}]}  # fmt: skip
    for response in (numbered, nested):
        t = voxnb.Transcript.from_response(json.dumps(response))
        assert t.raw == response
        pd.testing.assert_frame_equal(t.words, voxnb.Transcript.from_response(response).words)
    assert voxnb.Transcript.from_response(json.dumps(numbered)).segments["speaker"].tolist() == ["0"]


#: JSON texts of every shape the readers know, and texts no reader takes: the fast path must read
#: each exactly as the general reader reads the parsed dict, or leave it to that reader
SHAPES = {
    "mistral, every top field": {
        "model": "voxtral-mini-2507",
        "language": "fr",
        "text": " Bonjour. Ça va ?",
        "segments": [
            {"text": " Bonjour.", "start": 0.0, "end": 0.9, "speaker_id": "speaker_1", "score": 0.8},
            {"text": " Ça va ?", "start": 1.0, "end": 2.0, "speaker_id": "speaker_2", "score": 0.6},
        ],
        "usage": {"prompt_audio_seconds": 2, "prompt_tokens": 5, "total_tokens": 9},
    },
    "mistral, a duration": {
        "text": "Hi.",
        "duration": 3.5,
        "segments": [{"text": "Hi.", "start": 0, "end": 1, "type": "transcription_segment"}],
    },
    "mistral, usage in seconds beside segments": {
        "text": "Hi.",
        "segments": [{"text": "Hi.", "start": 0.5, "end": 1.5}],
        "usage": {"type": "duration", "seconds": 7},
    },
    "mistral, only text": {"text": " Just text."},
    "mistral, segments null": {"text": " Just text.", "segments": None, "model": "m"},
    "mistral, only segments": {"segments": [{"text": "a", "start": 0, "end": 1, "speaker": "A"}]},
    "vllm json": {"text": " Hi.", "model": "voxtral", "usage": {"type": "duration", "seconds": 2.5}},
    "vllm json, empty segments": {
        "text": " Hi.",
        "segments": [],
        "usage": {"type": "duration", "seconds": 2},
    },
    "usage in tokens, no segments": {"text": " Hi.", "usage": {"type": "tokens", "total_tokens": 3}},
    "whisperx, nested words": {
        "segments": [
            {
                "text": " Hi you",
                "start": 0.0,
                "end": 1.0,
                "words": [
                    {"word": "Hi", "start": 0.0, "end": 0.4, "score": 0.9},
                    {"word": "you", "start": 0.5, "end": 1.0, "score": 0.8},
                ],
            },
        ],
        "language": "en",
    },
    "whisperx, word_segments only": {
        "segments": [{"text": " Hi you", "start": 0.0, "end": 1.0}],
        "word_segments": [
            {"word": "Hi", "start": 0.0, "end": 0.4, "score": 0.9},
            {"word": "you", "start": 0.5, "end": 1.0, "score": 0.8},
        ],
    },
    "openai verbose_json": {
        "task": "transcribe",
        "language": "english",
        "duration": 1.25,
        "text": "Hi you",
        "segments": [
            {
                "id": 0,
                "seek": 0,
                "start": 0.0,
                "end": 1.2,
                "text": " Hi you",
                "tokens": [1, 2],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.1,
                "no_speech_prob": 0.01,
            },
        ],
        "words": [{"word": "Hi", "start": 0.0, "end": 0.4}, {"word": "you", "start": 0.5, "end": 1.2}],
    },
    "openai verbose_json, task and text only": {
        "task": "transcribe",
        "language": "english",
        "duration": 1.5,
        "text": "Hi",
    },
    "openai verbose_json, words without task": {
        "text": "Hi",
        "duration": 1.0,
        "words": [{"word": "Hi", "start": 0.0, "end": 0.5}],
    },
    "faster-whisper-like dicts": {
        "text": "Hi",
        "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": "Hi", "avg_logprob": -0.3}],
    },
    "faster-whisper-like dicts, avg_logprob only": {
        "segments": [{"start": 0.0, "end": 1.0, "text": "Hi", "avg_logprob": -0.3}],
    },
    "realtime event": {"type": "transcription.text.delta", "text": "Hi"},
    "realtime segment event": {"type": "transcription.segment", "text": " Hi", "start": 0.0, "end": 0.5},
    "realtime done event": {
        "type": "transcription.done",
        "text": " Hi",
        "segments": [{"text": " Hi", "start": 0.0, "end": 0.5}],
        "usage": {"prompt_audio_seconds": 1},
    },
    "neither text nor segments": {"model": "voxtral", "language": "en"},
}


def _read_or_refusal(response, granularity):
    try:
        t = Transcript.from_response(response, granularity=granularity)
    except ResponseFormatError as err:
        return "refused: " + str(err)
    fields = (t.source, t.text, t.language, t.model, t.duration, t.usage)
    return fields, t.segments, t.words, t.raw


@pytest.mark.parametrize("granularity", [None, "segment", "word"])
def test_json_text_of_every_shape_reads_like_its_parsed_dict(granularity):
    for name, response in SHAPES.items():
        text = json.dumps(response)
        parsed = _read_or_refusal(json.loads(text), granularity)
        fast = _read_or_refusal(text, granularity)
        if isinstance(parsed, str):
            assert fast == parsed, name
            continue
        assert fast[0] == parsed[0], name
        pd.testing.assert_frame_equal(fast[1], parsed[1], obj=f"{name}: segments")
        pd.testing.assert_frame_equal(fast[2], parsed[2], obj=f"{name}: words")
        assert fast[3] == response, name
    # the shapes read as themselves, each field where the response put it
    mistral = Transcript.from_response(json.dumps(SHAPES["mistral, every top field"]))
    assert (mistral.source, mistral.model, mistral.language) == ("mistral", "voxtral-mini-2507", "fr")
    assert mistral.usage == {"prompt_audio_seconds": 2, "prompt_tokens": 5, "total_tokens": 9}
    assert Transcript.from_response(json.dumps(SHAPES["mistral, a duration"])).duration == 3.5
    for name, source in [
        ("realtime event", "mistral-sse"),
        ("realtime segment event", "mistral-sse"),
        ("realtime done event", "mistral"),
        ("vllm json", "vllm-json"),
        ("whisperx, word_segments only", "whisperx"),
        ("openai verbose_json, task and text only", "openai-verbose-json"),
        ("openai verbose_json, words without task", "openai-verbose-json"),
        ("faster-whisper-like dicts", "openai-verbose-json"),
    ]:
        assert Transcript.from_response(json.dumps(SHAPES[name])).source == source, name
    whisperx = Transcript.from_response(json.dumps(SHAPES["whisperx, word_segments only"]))
    assert whisperx.words[["text", "score"]].values.tolist() == [["Hi", 0.9], ["you", 0.8]]
    with pytest.raises(ResponseFormatError, match="does not look like a transcription response"):
        Transcript.from_response(json.dumps(SHAPES["neither text nor segments"]))


def test_read_response_parses_text_unless_told_to_defer_and_reads_it_as_the_source_given():
    from voxnb.readers import RawJSON, read_response

    response = {"text": "Hi.", "segments": [{"text": "Hi.", "start": 0, "end": 1}]}
    raw, c = read_response(json.dumps(response))  # defer_raw is off by default: raw is parsed
    assert (raw, c.source) == (response, "mistral")
    raw, c = read_response(json.dumps(response), defer_raw=True)
    assert (type(raw), raw.parse(), c.source) == (RawJSON, response, "mistral")
    raw, c = read_response(json.dumps(response), source="mistral-sdk", defer_raw=True)
    assert (raw, c.source) == (response, "mistral-sdk")  # a saved SDK response stays one


def test_a_changed_buffer_does_not_change_the_transcript_read_from_it():
    response = {"text": "Hi.", "segments": [{"text": "Hi.", "start": 0, "end": 1}]}
    for container in (bytearray, lambda b: memoryview(bytearray(b))):
        buffer = container(json.dumps(response).encode())
        t = Transcript.from_response(buffer)
        buffer[:] = b" " * len(buffer)  # the caller reuses its buffer
        assert (t.raw, t.text, t.segments["end"].tolist()) == (response, "Hi.", [1.0])


def test_a_path_that_is_no_regular_file_is_refused_unread():
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response(os.devnull)  # a device: reading it would give b"" (or block, for a pipe)
    assert str(err.value).startswith(f"{os.devnull!r} is neither JSON text nor an existing .json file")


def test_lists_that_are_no_stream_and_streams_past_other_objects():
    from mistralai.client.models import TranscriptionStreamEvents, TranscriptionStreamSegmentDelta

    from voxnb.readers import read_response

    assert read_response([])[1].text == ""  # an empty stream: an empty text, not an unknown one
    # objects with .data but no .event (arrays: audio chunks passed by mistake) are no SDK events
    with pytest.raises(ResponseFormatError, match=r"^cannot read a list as a transcription response"):
        Transcript.from_response([np.zeros(3), np.zeros(3)])
    # a dict with text but no start is no segment
    with pytest.raises(ResponseFormatError, match=r"^a list of objects that are neither segments"):
        Transcript.from_response([{"text": "Hi"}])
    # granularity reaches the events, whichever way the stream is recognised
    segment = {"text": " Hi you", "start": 0.0, "end": 1.0, "type": "transcription.segment"}
    sdk = [
        TranscriptionStreamEvents(
            event="transcription.segment", data=TranscriptionStreamSegmentDelta(**segment)
        )
    ]
    after_session = [{"type": "session.created"}, segment]  # a realtime session's first event
    for events in (sdk, after_session):
        t = Transcript.from_response(events, granularity="word")
        assert (t.source, t.words[["text", "timing"]].values.tolist()) == ("mistral-sse", [["Hi you", "api"]])
        assert Transcript.from_response(events).words["timing"].tolist() == ["interpolated", "interpolated"]
    # vLLM chunks found past a first object that is none
    chunk = {"object": "transcription.chunk", "choices": [{"delta": {"content": "Hi"}}]}
    t = Transcript.from_response([{"object": "ping"}, chunk])
    assert (t.source, t.text) == ("vllm-sse", "Hi")


@pytest.mark.parametrize("other", ["y", 0])  # labels only, or numbered speakers too
def test_a_speaker_label_no_file_can_hold_is_named_by_its_entry(other):
    segments = [{"text": "a", "start": 0, "end": 1, "speaker_id": s} for s in (None, "x", other, "\ud800")]
    with pytest.raises(ResponseFormatError, match=r"^segments\[3\]\.speaker_id: holds '\\ud800'"):
        voxnb.Transcript.from_response({"segments": segments})


@pytest.mark.parametrize(
    ("resp", "message"),
    [
        ({"word_segments": [], "segments": {"start": 0}}, "segments: expected a list of objects, got dict"),
        (
            {"word_segments": [], "segments": [{"start": "x", "end": 1, "text": "a"}]},
            "segments[0].start: expected a number or null, got 'x'",
        ),
        (
            {"segments": [{"start": 0, "end": 1, "text": "a", "words": "a"}], "word_segments": []},
            "segments[0].words: expected a list of objects, got str",
        ),
        (
            {"segments": [{"start": 0, "end": 1, "text": "a b", "words": [{"word": "a"}, {"word": "b", "end": True}]}],
             "word_segments": []},
            "segments[].words[1].end: expected a number or null, got True",
        ),
        ({"segments": [], "word_segments": [3]}, "word_segments[0]: expected an object, got int"),
        (
            {"segments": [], "word_segments": [{"word": "a", "start": 0, "end": -1}]},
            "word_segments[0].end: expected seconds from the start of the audio, 0 or more, got -1",
        ),
    ],
)  # fmt: skip
def test_whisperx_errors_name_the_entry(resp, message):
    # each message names the list and entry as they are in whisperX's JSON
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response(resp)
    assert str(err.value) == message


def test_whisperx_speaker_labels_under_either_name():
    # whisperX writes "speaker"; a segment or word carrying only "speaker_id" is read too, and
    # where both are given whisperX's own name wins
    resp = {
        "segments": [
            {"start": 0.0, "end": 1.0, "text": " Hi.", "speaker_id": "S2"},
            {"start": 1.0, "end": 2.0, "text": " Yo.", "speaker_id": "S3"},
        ],
        "word_segments": [
            {"word": "Hi.", "start": 0.1, "end": 0.9, "speaker": "A", "speaker_id": "B"},
            {"word": "Yo.", "start": 1.1, "end": 1.9, "speaker_id": "C"},
        ],
    }
    t = Transcript.from_response(resp)
    assert t.source == "whisperx"
    assert t.segments["speaker"].tolist() == ["S2", "S3"]
    # "speaker" is the words' column (the second word has none: it takes its segment's)
    assert t.words["speaker"].tolist() == ["A", "S3"]
    both = {"segments": [{"start": 0.0, "end": 1.0, "text": " Hi.", "speaker": "A", "speaker_id": "B"}],
            "word_segments": [{"word": "Hi.", "start": 0.1, "end": 0.9}]}  # fmt: skip
    assert Transcript.from_response(both).segments["speaker"].tolist() == ["A"]


def test_vllm_stream_chunks_every_field():
    # vLLM's transcription stream: chunks under "object" (or "type"); a choice may carry no
    # delta or no content; the last usage sent is kept, the first model named
    chunks = [
        {"object": "transcription.chunk", "model": "m1", "choices": [{"delta": {"content": " Hel"}}]},
        {"type": "transcription.chunk", "choices": [{"delta": {"content": "lo"}}, {"delta": {}}], "usage": {"n": 1}},
        {"object": "transcription.chunk", "model": "m2", "choices": [{"finish_reason": "stop"}], "usage": {"n": 5}},
        {"object": "transcription.chunk", "choices": [{"delta": {"content": "."}}], "usage": None},
    ]  # fmt: skip
    t = Transcript.from_response(chunks)
    assert (t.source, t.text, t.model, t.usage) == ("vllm-sse", " Hello.", "m1", {"n": 5})
    # "type" alone marks a chunk too
    typed = Transcript.from_response(
        [{"type": "transcription.chunk", "choices": [{"delta": {"content": "Hi"}}]}]
    )
    assert (typed.source, typed.text, typed.model, typed.usage) == ("vllm-sse", "Hi", None, None)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [{"object": "transcription.chunk", "choices": []}, 3],
            "events[1]: expected an object, got int",
        ),
        (
            [{"object": "transcription.chunk", "choices": []}, {"object": "transcription.chunk", "choices": "x"}],
            "events[1].choices: expected a list of objects, got str",
        ),
        (
            [{"object": "transcription.chunk", "choices": [{"delta": {"content": "a"}}, {"delta": {"content": 5}}]}],
            "events[0].choices[1].delta.content: expected a string, got 5",
        ),
        ([{"object": "transcription.chunk", "choices": [], "usage": 3}], "usage: expected an object or null, got 3"),
        ([{"object": "transcription.chunk", "choices": [], "model": 7}], "model: expected a model name or null, got 7"),
        (
            [{"type": "transcription.language", "audio_language": 5}],
            "audio_language: expected a language code or null, got 5",
        ),
        (
            [{"object": "transcription.chunk", "choices": [{"delta": {"content": "a\ud800"}}]}],
            "events[0].choices[].delta.content: holds '\\ud800', a lone surrogate (the text was decoded wrongly "
            "upstream); decode the response as UTF-8 before passing it",
        ),
    ],
)  # fmt: skip
def test_stream_event_errors_name_the_event(events, message):
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response(events)
    assert str(err.value) == message


def test_mistral_stream_segments_come_from_done_else_from_the_segment_events():
    streamed = [
        {"type": "transcription.language", "audio_language": "fr"},
        {"type": "transcription.text.delta", "text": " Bonjour."},
        {"type": "transcription.segment", "text": " Bonjour.", "start": 0.0, "end": 1.0},
        {"type": "transcription.text.delta", "text": " Salut."},
        {"type": "transcription.segment", "text": " Salut.", "start": 1.5, "end": 2.0},
    ]
    done = {"type": "transcription.done", "text": " Bonjour. Salut.", "model": "voxtral"}
    # done without segments: the segment events are the segments
    t = Transcript.from_response([*streamed, done])
    assert t.segments[["start", "end", "text"]].values.tolist() == [
        [0.0, 1.0, "Bonjour."],
        [1.5, 2.0, "Salut."],
    ]
    assert (t.text, t.model, t.language) == (" Bonjour. Salut.", "voxtral", "fr")
    # done with its own segments: those win, and its language over the language event's
    final = {**done, "language": "en", "segments": [{"text": " Bonjour. Salut.", "start": 0.0, "end": 2.0}]}
    t = Transcript.from_response([*streamed, final])
    assert t.segments[["start", "end", "text"]].values.tolist() == [[0.0, 2.0, "Bonjour. Salut."]]
    assert t.language == "en"
    # no done event (the stream was cut): the deltas are the text
    t = Transcript.from_response(streamed[:4])
    assert (t.text, t.model) == (" Bonjour. Salut.", None)
    assert t.segments["text"].tolist() == ["Bonjour."]


def test_faster_whisper_shaped_results_with_speakers_and_their_errors():
    from collections import namedtuple

    # faster-whisper's results after a diarization step: segments carrying a speaker label
    Seg = namedtuple("Seg", "start end text speaker")
    Info = namedtuple("Info", "language duration")
    t = Transcript.from_response(([Seg(0.0, 1.0, " Hi.", "A"), Seg(1.0, 2.0, " Yo.", None)], Info("en", 2.5)))
    assert (t.source, t.text, t.language, t.duration) == ("faster-whisper", " Hi. Yo.", "en", 2.5)
    assert t.segments["speaker"].astype(object).fillna("none").tolist() == ["A", "none"]
    Labelled = namedtuple("Labelled", "start end text speaker_id")
    assert Transcript.from_response([Labelled(0.0, 1.0, " Hi.", "B")]).segments["speaker"].tolist() == ["B"]

    def refused(obj):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response(obj)
        return str(err.value)

    assert (
        refused(([Seg(0.0, 1.0, " Hi.", None), 3], Info("en", 1.0)))
        == "segments[1]: expected an object, got int"
    )
    assert refused([Seg("x", 1.0, " Hi.", None)]) == "segments[0].start: expected a number or null, got 'x'"
    assert (
        refused(([Seg(0.0, 1.0, " Hi.", None)], Info(5, 1.0)))
        == "language: expected a language code or null, got 5"
    )

    class Listed(list):  # has a language, but is no object once made plain
        language = "en"

    assert refused(([], Listed([1, 2]))) == "faster-whisper info: expected an object, got [1, 2]"
    long = refused(([], Listed(range(200))))  # cut short: the whole value would flood the message
    assert len(long) == 200 and long.startswith("faster-whisper info: expected an object, got [0, 1, 2, ")


def test_openai_verbose_json_keys_either_name_and_nested_word_errors():
    resp = {
        "task": "transcribe",
        "text": " Hi you",
        "segments": [{"start": 0.0, "end": 2.0, "text": " Hi you", "speaker_id": "S1"}],
        # words under the other names some servers use: text for word, score for probability
        "words": [{"text": "Hi", "start": 0.0, "end": 0.5, "score": 0.25}, {"text": "you", "start": 1.0, "end": 2.0}],
    }  # fmt: skip
    t = Transcript.from_response(resp)
    assert t.segments["speaker"].tolist() == ["S1"]
    assert t.words["text"].tolist() == ["Hi", "you"]
    np.testing.assert_array_equal(t.words["score"], [0.25, np.nan])
    both = {**resp, "segments": [{**resp["segments"][0], "speaker": "A"}]}
    assert Transcript.from_response(both).segments["speaker"].tolist() == ["A"]  # OpenAI's own name first

    def refused(change):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({**resp, **change})
        return str(err.value)

    assert refused({"words": "Hi you"}) == "words: expected a list of objects, got str"
    nested = {"start": 0.0, "end": 2.0, "text": " Hi", "words": [{"word": "Hi", "start": "0"}]}
    assert (
        refused({"words": None, "segments": [nested]})
        == "segments[].words[0].start: expected a number or null, got '0'"
    )
    assert (
        refused({"words": None, "segments": [{**nested, "words": 5}]})
        == "segments[0].words: expected a list of objects, got int"
    )


def test_mistral_stream_edge_cases():
    segment = {"type": "transcription.segment", "text": " Hi there", "start": 0.0, "end": 1.0}
    # a done event without text: the text is empty, not rebuilt from the segments
    t = Transcript.from_response([segment, {"type": "transcription.done"}])
    assert t.text == "" and t.segments["text"].tolist() == ["Hi there"]
    # word granularity applies to the streamed segments too: each is then a word
    words = [{**segment, "text": " Hi", "end": 0.4}, {**segment, "text": " there", "start": 0.5}]
    t = Transcript.from_response([*({**w} for w in words), {"type": "transcription.done", "text": " Hi there"}],
                                 granularity="word")  # fmt: skip
    assert t.words[["text", "start", "end", "timing"]].values.tolist() == [
        ["Hi", 0.0, 0.4, "api"],
        ["there", 0.5, 1.0, "api"],
    ]
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response([{"type": "transcription.text.delta", "text": 5}])
    assert str(err.value) == "events(transcription.text.delta)[0].text: expected a string, got 5"


def test_to_plain_makes_json_data_of_every_container():
    import datetime
    from collections import namedtuple

    from pydantic import BaseModel, Field

    from voxnb.readers import to_plain

    Point = namedtuple("Point", "x y")
    # a named tuple is an object with fields, not a list
    assert to_plain([Point(1, np.float32(2.5)), (3, np.arange(2))]) == [{"x": 1, "y": 2.5}, [3, [0, 1]]]

    class Stamp(BaseModel):  # an SDK-style model: serialised by alias, in JSON's types
        audio_start: float = Field(alias="audioStart")
        at: datetime.date

    assert to_plain({"m": Stamp(audioStart=1.5, at=datetime.date(2026, 1, 2))}) == {
        "m": {"audioStart": 1.5, "at": "2026-01-02"}
    }

    class Broken:
        def model_dump(self, **kwargs):
            raise ValueError("nope")

    with pytest.raises(ResponseFormatError) as err:
        to_plain(Broken())
    assert str(err.value) == "cannot read a Broken: its model_dump() failed (ValueError: nope)"
    with pytest.raises(ResponseFormatError) as err:
        to_plain({"a": {1, 2}})
    assert str(err.value) == (
        "cannot read a set as part of a transcription response; "
        "pass the response as a dict, JSON text, an SDK object or a list of stream events"
    )


@pytest.mark.parametrize(
    ("source", "raw"),
    [
        # each raw, read without its saved source, would be taken for another shape (Mistral)
        ("whisperx", {"segments": [{"start": 0.0, "end": 1.0, "text": " Hi.", "speaker": "A"}]}),
        ("openai-verbose-json", {"text": " Hi.", "segments": [{"start": 0.0, "end": 1.0, "text": " Hi."}]}),
        ("vllm-json", {"text": " Hi.", "usage": {"type": "tokens"}}),
        ("mistral-sdk", {"text": " Hi.", "segments": [{"start": 0.0, "end": 1.0, "text": " Hi."}]}),
        # ... and this one for OpenAI's (it has top-level words and a duration)
        ("mistral", {"text": " Hi.", "duration": 1.0, "words": [{"word": "Hi."}], "segments": [{"text": " Hi."}]}),
    ],
)  # fmt: skip
def test_a_saved_transcript_is_read_as_the_shape_it_names(source, raw):
    data = {"format": "voxnb.transcript", "version": 1, "source": source, "raw": raw}
    t = Transcript.from_dict(data)
    assert (t.source, t.text.strip()) == (source, "Hi.")
    assert t.segments["text"].tolist() == ["Hi."]


def test_saved_faster_whisper_segments_and_word_granularity_streams_load_back(tmp_path):
    from faster_whisper.transcribe import Segment

    two = [
        Segment(id=i, seek=0, start=s, end=s + 1.0, text=x, tokens=[], avg_logprob=0.0, compression_ratio=1.0,
                no_speech_prob=0.0, words=None, temperature=0.0)
        for i, (s, x) in enumerate([(0.0, " Hi."), (1.0, " Yo.")])
    ]  # fmt: skip
    t = Transcript.from_response(two)  # two segments, no info: not taken for (segments, info)
    u = voxnb.load_transcript(t.save(tmp_path / "fw.json"))
    assert (u.source, u.text) == ("faster-whisper", " Hi. Yo.")
    pd.testing.assert_frame_equal(u.segments, t.segments)
    events = [
        {"type": "transcription.segment", "text": " Hi", "start": 0.0, "end": 0.4},
        {"type": "transcription.segment", "text": " there.", "start": 0.5, "end": 1.0},
    ]
    t = Transcript.from_response(events, granularity="word")
    assert t.source == "mistral-sse" and t.words["timing"].tolist() == ["api", "api"]
    u = voxnb.load_transcript(t.save(tmp_path / "sse.json"))
    pd.testing.assert_frame_equal(u.words, t.words)
    assert u.segments["text"].tolist() == ["Hi there."]


def test_mistral_segments_with_nested_words_errors_name_the_entry():
    word = {"text": "Hi", "start": 0.0, "end": 0.5}
    good = {"text": " Hi", "start": 0.0, "end": 0.5, "words": [word]}

    def refused(segments):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({"text": " Hi", "segments": segments})
        return str(err.value)

    assert refused([good, {**good, "words": [word, {**word, "end": "1"}]}]) == (
        "segments[].words[2].end: expected a number or null, got '1'"
    )  # the words are counted over every segment: the third word
    assert (
        refused([good, {**good, "words": {"a": 1}}])
        == "segments[1].words: expected a list of objects, got dict"
    )
    assert refused([good, {**good, "start": [0]}]) == "segments[1].start: expected a number or null, got [0]"


@pytest.mark.parametrize(
    "resp",
    [
        {"text": " Hi", "segments": [{"start": 0.0, "end": 1.0, "text": " Hi", "seek": 0}]},
        {"text": " Hi", "segments": [{"start": 0.0, "end": 1.0, "text": " Hi", "avg_logprob": -0.2}]},
        {"text": " Hi", "duration": 1.0, "words": [{"word": "Hi", "start": 0.0, "end": 1.0}]},
    ],
)
def test_each_mark_of_openai_verbose_json_is_enough(resp):
    # no "task" field (some OpenAI-compatible servers leave it out): one of Whisper's segment
    # fields, or top-level words with a duration, tells the shape
    assert Transcript.from_response(resp).source == "openai-verbose-json"


def test_mistral_word_and_mixed_granularity_errors_name_the_entry():
    def refused(segments, granularity):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({"text": "a b", "segments": segments}, granularity=granularity)
        return str(err.value)

    ok = {"text": "a", "start": 0.0, "end": 0.5}
    assert (
        refused([ok, {"text": "b", "start": "x"}], "word")
        == "segments[1].start: expected a number or null, got 'x'"
    )
    # mixed: entries of several words are segments, the others words; each list is checked
    assert refused([{"text": "a b", "start": 0.0, "end": True}, ok], "mixed") == (
        "segments[0].end: expected a number or null, got True"
    )
    assert refused([{"text": "a", "score": "high"}, {"text": "a b", "start": 0.0, "end": 1.0}], "mixed") == (
        "segments[0].score: expected a number or null, got 'high'"
    )


def test_with_words_refuses_each_bad_column_saying_what_to_do():
    t = Transcript.from_response(
        {"segments": [{"text": "a b", "start": 0.0, "end": 1.0}, {"text": "c", "start": 1.0, "end": 2.0}]}
    )
    words = t.words

    def refused(table):
        with pytest.raises(ParameterError) as err:
            t.with_words(table)
        return str(err.value)

    assert refused(words.to_dict()) == "with_words() takes a DataFrame like t.words; got a dict"
    assert (
        refused(words.assign(segment=0.0))
        == "with_words(): 'segment' must hold whole numbers (segment indices)"
    )
    assert (
        refused(words.assign(segment=[0, 1, 2]))
        == "with_words(): 'segment' must index this transcript's 2 segments"
    )
    assert (
        refused(words.assign(segment=[0, -1, 1]))
        == "with_words(): 'segment' must index this transcript's 2 segments"
    )
    for col in ("start", "end", "score"):
        wrong = f"with_words(): '{col}' must hold numbers (NaN where unknown)"
        assert refused(words.assign(**{col: "1"})) == wrong
        assert refused(words.assign(**{col: True})) == wrong
    assert refused(words.assign(start=[0.0, -0.5, 1.0])) == (
        "with_words(): start of word 1 is -0.5; times are seconds from the start of the audio, 0 or more"
    )
    assert refused(words.assign(end=[0.5, 1.0, np.inf])).startswith("with_words(): end of word 2 is inf; ")
    assert refused(words.assign(end=[0.5, 1.0, 2e10])).startswith(
        "with_words(): end of word 2 is 20000000000.0; "
    )
    assert refused(words.assign(start=[0.0, 0.7, 1.0], end=[0.5, 0.6, 2.0])) == (
        "with_words(): word 1 ends before it starts"
    )
    assert (
        refused(words.assign(score=[0.5, -np.inf, 1.0]))
        == "with_words(): 'score' must be finite (NaN where unknown)"
    )
    for col in ("text", "speaker"):
        assert refused(words.assign(**{col: pd.Series(["a", 5, "c"], dtype=object)})) == (
            f"with_words(): '{col}' must hold strings (NA where unknown); got 5"
        )
        assert refused(words.assign(**{col: pd.Series(["a", "b\ud800", "c"], dtype=object)})) == (
            f"with_words(): '{col}' holds a lone surrogate (text decoded wrongly upstream); clean it first, "
            "e.g. s.encode('utf-8', 'replace').decode()"
        )
    # the edges are allowed: time 0 and the largest time, a word of no length, the last segment
    from voxnb.readers import MAX_SECONDS

    edge = t.with_words(
        words.assign(start=[0.0, 0.5, MAX_SECONDS], end=[0.0, 0.5, MAX_SECONDS], segment=[0, 0, 1])
    )
    assert edge.words["start"].tolist() == [0.0, 0.5, MAX_SECONDS] and edge.words["segment"].tolist() == [
        0,
        0,
        1,
    ]


_SAVED = {"format": "voxnb.transcript", "version": 1, "source": "mistral", "raw": {"text": "Hi."}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "1"}, "saved transcript: version must be a whole number, got '1'"),
        ({"version": True}, "saved transcript: version must be a whole number, got True"),
        ({"raw": None, "text": "Hi."}, None),  # None stands for: the raw key removed below
        *(
            ({name: 5}, f"saved transcript: {name} must be a string, got 5")
            for name in ("source", "granularity", "backend", "base_url", "model", "audio_sha256", "created")
        ),
        ({"request": [1]}, "saved transcript: request must be an object, got [1]"),
        ({"speaker_names": ["A"]}, "saved transcript: speaker_names must map labels to names, got ['A']"),
        ({"speaker_names": {"A": 1}}, "saved transcript: speaker_names must map labels to names, got {'A': 1}"),
        *(
            ({"speaker_similarity": bad}, f"saved transcript: speaker_similarity must map speakers to numbers, got {bad!r}")
            for bad in ([0.5], {"A": "high"}, {"A": True}, {"A": float("inf")})
        ),
        ({"words": [1]}, "saved transcript: words must hold the lists "
                         "['segment', 'start', 'end', 'text', 'speaker', 'score', 'timing']; the file is damaged"),
    ],
)  # fmt: skip
def test_a_damaged_saved_transcript_is_refused_naming_the_field(change, message):
    data = {**_SAVED, **change}
    if message is None:
        del data["raw"]
        message = "saved transcript: the 'raw' response is missing; the file is damaged"
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_dict(data)
    assert str(err.value) == message


def test_saved_words_are_checked_column_by_column():
    t = Transcript.from_response({"segments": [{"text": "a b", "start": 0.0, "end": 1.0}]})
    saved = t.with_words(t.words.assign(timing="aligned")).to_dict()
    words = saved["words"]
    assert words == {
        "segment": [0, 0],
        "start": [0.0, 0.5],
        "end": [0.5, 1.0],
        "text": ["a", "b"],
        "speaker": [None, None],
        "score": [None, None],
        "timing": ["aligned", "aligned"],
    }

    def refused(**change):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_dict({**saved, "words": {**words, **change}})
        return str(err.value)

    assert refused(start=[0.0]) == "saved transcript: the words columns differ in length; the file is damaged"
    assert (
        refused(segment=[0, True])
        == "saved transcript: words.segment must hold whole numbers; the file is damaged"
    )
    assert (
        refused(segment=[0, 0.0])
        == "saved transcript: words.segment must hold whole numbers; the file is damaged"
    )
    assert (
        refused(timing=["aligned", 1])
        == "saved transcript: words.timing must hold strings; the file is damaged"
    )
    assert refused(end=[0.5, "1"]) == "words[1].end: expected a number or null, got '1'"
    assert (
        refused(start=[0.0, -1])
        == "words[1].start: expected seconds from the start of the audio, 0 or more, got -1"
    )
    assert refused(text=["a", 2]) == "words[1].text: expected a string, got 2"
    assert refused(speaker=["a", 2.5]) == "words[1].speaker: expected a speaker label (a string), got 2.5"
    assert refused(score=[0.5, "x"]) == "words[1].score: expected a number or null, got 'x'"
    back = Transcript.from_dict({**saved, "words": {**words, "score": [0.5, None]}})
    assert back.words["score"].tolist()[0] == 0.5 and back.words["timing"].tolist() == ["aligned", "aligned"]


def test_what_json_cannot_hold_is_refused_before_saving(tmp_path):
    def refused(t):
        with pytest.raises(ResponseFormatError) as err:
            t.save(tmp_path / "t.json")
        assert not (tmp_path / "t.json").exists()
        return str(err.value)

    nan = Transcript.from_response(
        {"text": "Hi", "segments": [{"text": "Hi", "start": float("nan"), "end": 1.0}]}
    )
    assert refused(nan) == (
        "cannot save this transcript: raw.segments[0].start is not a finite number, which JSON cannot store; "
        "replace it with None (null) in t.raw or the request, then save again. Nothing was written"
    )
    assert refused(
        Transcript.from_response({"text": "Hi"}, request={"temperature": float("inf")})
    ).startswith("cannot save this transcript: request.temperature is not a finite number")
    assert refused(Transcript.from_response({"text": "Hi"}, request={"terms": {"a"}})) == (
        "cannot save this transcript: cannot read a set as part of a transcription response; pass the response "
        "as a dict, JSON text, an SDK object or a list of stream events; nothing was written"
    )
    # read back as a float by JSON readers: 2**70 + 1 would come back as 2**70
    assert refused(Transcript.from_response({"text": "Hi", "id": 2**70 + 1})) == (
        "cannot save this transcript: the file would not read back exactly (integers past 64 bits, "
        "keys that are not strings...); nothing was written"
    )
    deep: dict = {"text": "Hi"}
    for _ in range(5000):
        deep = {"x": deep}
    assert refused(Transcript.from_response({"text": "Hi", "extra": deep})) == (
        "cannot save this transcript: its raw response is nested too deeply for JSON; keep the "
        "response elsewhere, or save a copy with a flatter raw (Transcript.from_response(...))"
    )


def test_rename_speakers_refusals_word_for_word(mistral_diarized):
    t = Transcript.from_response(mistral_diarized)

    def refused(names, transcript=t, **options):
        with pytest.raises(ParameterError) as err:
            transcript.rename_speakers(names, **options)
        return str(err.value)

    wrong = "rename_speakers() takes a dict of current label → name, e.g. {'speaker_1': 'Ada'}"
    assert refused([("speaker_1", "Ada")]) == wrong and refused({1: "Ada"}) == wrong
    assert refused({"speaker_1": "Ada", "speaker_9": "Bo"}) == (
        "rename_speakers(): no speaker 'speaker_9' in this transcript; its speakers are ['speaker_1', 'speaker_2']"
    )
    assert refused({"speaker_1": "Ada"}, Transcript.from_response({"text": "Hi."})) == (
        "rename_speakers(): no speaker 'speaker_1' in this transcript; its speakers are none (it was not diarized)"
    )
    for name in (" Ada", "Ada ", "", "  ", 5):
        assert refused({"speaker_1": name}) == (
            f"rename_speakers(): names must be non-empty strings without surrounding spaces; got {name!r}"
        )
    assert refused({"speaker_1": "speaker_2"}) == (  # the name another speaker keeps
        "rename_speakers() would give two speakers the name 'speaker_2'; pass merge=True if they are one person, "
        "or choose distinct names"
    )
    three = Transcript.from_response(
        {
            "segments": [
                {"text": "x", "start": float(i), "end": i + 1.0, "speaker_id": s} for i, s in enumerate("ABC")
            ]
        }
    )
    assert refused({"B": "C"}, three).startswith("rename_speakers() would give two speakers the name 'C'; ")
    assert refused({"speaker_1": "Bo", "speaker_2": "Bo"}) == (
        "rename_speakers() would give two speakers the name 'Bo'; pass merge=True if they are one person, "
        "or choose distinct names"
    )


def test_renames_remember_the_original_labels_and_similarities(mistral_diarized):
    t = Transcript.from_response(mistral_diarized)
    ada = t.rename_speakers({"speaker_1": "Ada"}, similarity={"Ada": 0.75})
    assert (ada.speaker_names, ada.speaker_similarity) == ({"speaker_1": "Ada"}, {"Ada": 0.75})
    assert ada.speakers["similarity"].tolist()[0] == 0.75 and np.isnan(ada.speakers["similarity"].tolist()[1])
    assert (t.speaker_names, t.speaker_similarity) == ({}, {})  # the original is unchanged
    # renamed again: the names map from the labels the transcript was made with; similarities follow
    zoe = ada.rename_speakers({"Ada": "Zoe", "speaker_2": "Ben"}, similarity={"Ben": 1})
    assert zoe.speaker_names == {"speaker_1": "Zoe", "speaker_2": "Ben"}
    assert (
        zoe.speaker_similarity == {"Zoe": 0.75, "Ben": 1.0} and type(zoe.speaker_similarity["Ben"]) is float
    )
    assert zoe.speaker_order == {"Zoe": "speaker_1", "Ben": "speaker_2"}
    # a name given back is no rename any more
    back = zoe.rename_speakers({"Zoe": "speaker_1"})
    assert back.speaker_similarity == {"speaker_1": 0.75, "Ben": 1.0}  # Ben's, not renamed, is kept
    assert back.speaker_names == {"speaker_2": "Ben"} and back.segments["speaker"].tolist() == [
        "speaker_1",
        "speaker_1",
        "Ben",
    ]
    # a words table set by with_words is renamed too, its other columns kept
    words = t.words.assign(timing="aligned")
    words.loc[0, "speaker"] = None
    named = t.with_words(words).rename_speakers({"speaker_2": "Ben"})
    assert named.words["speaker"].astype(object).fillna("-").tolist() == [
        "-",
        *["speaker_1"] * (len(words) - 3),
        "Ben",
        "Ben",
    ]
    assert (named.words["timing"] == "aligned").all()


def test_single_events_and_unknown_objects():
    # one stream event on its own is read as a stream; a done event is a whole response
    t = Transcript.from_response({"type": "transcription.text.delta", "text": " Hi"})
    assert (t.source, t.text) == ("mistral-sse", " Hi")
    done = Transcript.from_response({"type": "transcription.done", "text": " Hi", "segments": []})
    assert (done.source, done.text) == ("mistral", " Hi")
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response({k: 1 for k in "jihgfedcba"})
    assert str(err.value) == (
        "this does not look like a transcription response: expected an object with 'text' and/or 'segments', "
        "got keys ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']"
    )


def test_whisperx_shapes_without_word_segments_or_with_other_key_names():
    # whisperX leaves a word it cannot align (a number) without times or score: the next word's
    # score still tells the shape
    resp = {
        "segments": [
            {"start": 0.0, "end": 1.0, "text": " 2024 arrived", "words": [{"word": "2024"}, {"word": "arrived", "start": 0.5, "end": 1.0, "score": 0.5}]}
        ]
    }  # fmt: skip
    t = Transcript.from_response(resp)
    assert t.source == "whisperx" and t.words["score"].tolist()[1] == 0.5
    # word segments may say "text" for the word and "speaker_id" for the speaker
    other = {
        "segments": [{"start": 0.0, "end": 1.0, "text": " Hi."}],
        "word_segments": [{"text": "Hi.", "start": 0.1, "end": 0.9, "speaker_id": "B"}],
    }
    t = Transcript.from_response(other)
    assert t.words[["text", "speaker"]].values.tolist() == [["Hi.", "B"]]


def test_faster_whisper_word_errors_name_the_entry():
    from collections import namedtuple

    Seg = namedtuple("Seg", "start end text words")
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response([Seg(0.0, 1.0, " Hi", [{"word": " Hi", "start": "0"}])])
    assert str(err.value) == "segments[].words[0].start: expected a number or null, got '0'"


def test_top_level_fields_are_refused_word_for_word():
    for field, what in (("text", "a string"), ("language", "a language code"), ("model", "a model name")):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({"text": "x", field: 5})
        assert str(err.value) == f"{field}: expected {what} or null, got 5"
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response({"text": "x", "usage": "lots"})
    assert str(err.value) == "usage: expected an object or null, got 'lots'"


def test_speaker_and_text_columns_of_every_kind():
    class Label(str):  # a str subclass (an enum-like label from some SDK) is read as plain text
        pass

    t = Transcript.from_response(
        {
            "segments": [
                {"start": 0.0, "end": 1.0, "text": None, "speaker_id": ""},
                {"start": 1.0, "end": 2.0, "text": Label("Hi"), "speaker_id": "A"},
            ]
        }
    )
    # a null text is empty, an empty speaker is no speaker
    assert t.segments["text"].tolist() == ["", "Hi"] and type(t.segments["text"].tolist()[1]) is str
    assert t.segments["speaker"].astype(object).fillna("-").tolist() == ["-", "A"]
    # numbered speakers are labels; with them, empty and null still mean no speaker
    numbered = Transcript.from_response(
        {"segments": [{"start": float(i), "end": i + 1.0, "text": "x", "speaker_id": s} for i, s in enumerate([0, "", None, 1])]}
    )  # fmt: skip
    assert numbered.segments["speaker"].astype(object).fillna("-").tolist() == ["0", "-", "-", "1"]
    no_text = Transcript.from_response({"segments": [{"start": 0.0, "end": 1.0}]})
    assert no_text.segments["text"].tolist() == [""]

    def refused(segments):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({"segments": segments})
        return str(err.value)

    surrogate = "holds '\\ud800', a lone surrogate (the text was decoded wrongly upstream); decode the response as UTF-8 before passing it"  # fmt: skip
    seg = {"start": 0.0, "end": 1.0, "text": "x"}
    assert refused([seg, {**seg, "speaker_id": "A\ud800"}]) == f"segments[1].speaker_id: {surrogate}"
    assert (
        refused([{**seg, "speaker_id": 1}, {**seg, "speaker_id": "\ud800"}])
        == f"segments[1].speaker_id: {surrogate}"
    )
    assert refused([seg, {**seg, "text": "\ud800"}]) == f"segments[1].text: {surrogate}"
    assert refused([{**seg, "speaker_id": 1}, {**seg, "speaker_id": True}]) == (
        "segments[1].speaker_id: expected a speaker label (a string), got True"
    )


def test_nested_words_speaker_keys_and_empty_word_lists():
    seg = {"start": 0.0, "end": 1.0, "text": "Hi you"}
    words = [{"text": "Hi", "start": 0.0, "end": 0.4, "speaker_id": "B"}, {"text": "you", "start": 0.5, "end": 1.0, "speaker_id": "C"}]  # fmt: skip
    t = Transcript.from_response({"segments": [{**seg, "words": words}]})
    assert t.words["speaker"].tolist() == ["B", "C"]  # words may say speaker_id ...
    both = [{**words[0], "speaker": "A"}, words[1]]
    t = Transcript.from_response({"segments": [{**seg, "words": both}]})
    assert t.words["speaker"].astype(object).fillna("-").tolist() == ["A", "-"]  # ... speaker comes first
    # segments whose word lists are all empty carry no words: a word-granularity response stays one
    entries = [{"text": "Hi", "start": 0.0, "end": 0.4, "words": []}, {"text": "you", "start": 0.5, "end": 1.0, "words": []}]  # fmt: skip
    t = Transcript.from_response({"text": "Hi you", "segments": entries}, granularity="word")
    assert t.words[["text", "timing"]].values.tolist() == [["Hi", "api"], ["you", "api"]]
    assert t.segments["text"].tolist() == ["Hi you"]


def test_times_and_numbers_at_their_limits():
    from voxnb.readers import MAX_SECONDS

    def refused(segments):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response({"segments": segments})
        return str(err.value)

    seg = {"start": 0.0, "end": 1.0, "text": "a"}
    # scores are any finite number (log-probabilities are negative); times are 0 to MAX_SECONDS
    t = Transcript.from_response(
        {
            "segments": [
                {**seg, "score": -0.25},
                {**seg, "start": MAX_SECONDS, "end": MAX_SECONDS, "score": 2e10},
            ]
        }
    )
    assert t.segments["score"].tolist() == [-0.25, 2e10] and t.segments["end"].tolist() == [1.0, MAX_SECONDS]
    assert refused([seg, {**seg, "start": -1}]) == (
        "segments[1].start: expected seconds from the start of the audio, 0 or more, got -1"
    )
    assert refused([{**seg, "end": MAX_SECONDS * 2}]) == (
        "segments[0].end: expected seconds from the start of the audio, 0 or more, got 20000000000.0"
    )
    assert (
        refused([seg, {**seg, "score": float("-inf")}])
        == "segments[1].score: expected a finite number, got -inf"
    )
    assert refused([{**seg, "score": None}, {**seg, "score": 10**400}]) == (
        f"segments[1].score: {10**400!r} is too large to be a number"
    )
    largest = int(1e308)  # converts to a float: the next one is the one too large
    assert refused([{**seg, "score": largest}, {**seg, "score": 10**400}]).startswith("segments[1].score: ")
    # an end up to a millisecond before its start is float rounding, kept; further is refused
    assert Transcript.from_response({"segments": [{**seg, "start": 1.0, "end": 0.999}]}).segments[
        "end"
    ].tolist() == [0.999]
    assert refused([seg, {**seg, "start": 1.0, "end": 0.5}]) == (
        "segments[1].end: 0.5 is before its start 1.0; the response's times are reversed, so it cannot be "
        "trusted (re-request it, or fix the entry)"
    )


def test_the_reported_duration_and_top_level_text_are_checked():
    from voxnb.readers import MAX_SECONDS

    for given, duration in ((0, 0.0), (0.5, 0.5), ("12.50", 12.5), (MAX_SECONDS, MAX_SECONDS)):
        assert Transcript.from_response({"text": "x", "duration": given}).duration == duration

    def refused(response):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response(response)
        return str(err.value)

    for bad in (-1, MAX_SECONDS * 2):
        assert (
            refused({"text": "x", "duration": bad}) == f"duration: expected seconds, 0 or more, got {bad!r}"
        )
    for bad in (True, [1], "abc"):
        assert (
            refused({"text": "x", "duration": bad}) == f"duration: expected a number of seconds, got {bad!r}"
        )
    assert refused({"text": "x\ud800"}) == (
        "text: holds '\\ud800', a lone surrogate (the text was decoded wrongly upstream); decode the response "
        "as UTF-8 before passing it"
    )


def test_text_paths_and_granularity_given_to_from_response(tmp_path):
    # JSON text may start with blanks, and be an array (of stream events)
    assert Transcript.from_response('  \n{"text": "Hi"}').text == "Hi"
    events = Transcript.from_response('[{"type": "transcription.text.delta", "text": "Hi"}]')
    assert (events.source, events.text) == ("mistral-sse", "Hi")
    assert Transcript.from_response({"text": "Hi"}, granularity="segment").text == "Hi"

    def refused(obj, **options):
        with pytest.raises(ResponseFormatError) as err:
            Transcript.from_response(obj, **options)
        return str(err.value)

    assert refused({"text": "Hi"}, granularity="words") == (
        "granularity must be 'segment', 'word' or None, got 'words'"
    )
    tail = " is neither JSON text nor an existing .json file one can read; pass the response itself or the path of a saved response"  # fmt: skip
    assert refused(str(tmp_path)) == repr(str(tmp_path)) + tail  # a folder
    assert refused("x" * 5000) == repr("x" * 80) + tail  # a name too long for the system: cut short


def test_provenance_request_and_windows_are_refused_word_for_word(tmp_path):
    def refused(call, *args, **kwargs):
        with pytest.raises(ParameterError) as err:
            call(*args, **kwargs)
        return err.value

    for name in ("backend", "base_url", "model", "audio_sha256"):
        err = refused(Transcript.from_response, {"text": "x"}, **{name: 5})
        assert (str(err), err.option) == (f"{name}= must be a string or None; got a int", name)
    err = refused(Transcript.from_response, {"text": "x"}, audio=b"RIFF")
    assert str(err) == "audio= must be a voxnb.Audio (e.g. voxnb.Audio.load(path)); got a bytes"
    assert err.option == "audio"
    assert str(refused(Transcript.from_response, {"text": "x"}, request=[("model", "m")])) == (
        "request= must be a dict of request parameters, got list"
    )
    # every spelling of a secret is dropped from the record; the rest is kept
    secrets = {k: "s" for k in ("API-Key", "apikey", "KEY", "token", "Bearer", "password", "secret")}
    assert Transcript.from_response({"text": "x"}, request={**secrets, "temperature": 0}).request == {
        "temperature": 0
    }
    t = Transcript.from_response({"text": "x", "segments": [{"text": "x", "start": 0.0, "end": 1.0}]})
    for start, end, message in [
        (True, None, "start= is a finite number of seconds (or None); got True"),
        ("1", None, "start= is a finite number of seconds (or None); got '1'"),
        (None, float("nan"), "end= is a finite number of seconds (or None); got nan"),
        (2, 2, "end=2 is not after start=2; swap them"),
        (3.5, 1, "end=1 is not after start=3.5; swap them"),
    ]:
        err = refused(t.compare, t, start=start, end=end)
        assert str(err) == message
        if "finite" in message:
            assert err.option == message.partition("=")[0]
    # load_transcript's own refusals
    assert (
        str(refused(voxnb.load_transcript, b"t.json")) == "load_transcript() takes a file path; got a bytes"
    )
    assert str(refused(voxnb.load_transcript, tmp_path / "none.json")) == (
        f"no such file: {tmp_path / 'none.json'}; check the path (t.save(path) writes one)"
    )
    assert str(refused(voxnb.load_transcript, tmp_path)) == (
        f"no such file: {tmp_path}; check the path (t.save(path) writes one)"
    )


def test_requested_word_timestamps_decide_how_entries_are_read():
    entries = {"text": "Hi you", "segments": [{"text": "Hi", "start": 0.0, "end": 0.4}, {"text": "Hi you", "start": 0.0, "end": 1.0}]}  # fmt: skip

    def read(request):
        t = Transcript.from_response(entries, request=request)
        return len(t.segments), t.words["timing"].tolist()

    # word timestamps alone: every entry is a word; with segment timestamps too: mixed; else segments
    assert read({"timestamp_granularities": ["word"]}) == (1, ["api", "api"])
    assert read({"timestamps": "word"}) == (1, ["api", "api"])
    assert read({"timestamp_granularities": ["segment", "word"]}) == (1, ["api"])
    assert read({"timestamp_granularities": ["segment"]}) == (
        2,
        ["interpolated", "interpolated", "interpolated"],
    )
    assert read({"timestamp_granularities": []}) == (2, ["interpolated", "interpolated", "interpolated"])


def test_duration_falls_back_in_order():
    seg = {"text": "Hi you", "start": 0.5, "end": 2.0}
    # the reported duration first, then the kept audio's
    assert Transcript.from_response({"duration": 9.0, "segments": [seg]}).duration == 9.0
    audio = voxnb.Audio.from_array(np.zeros(8000, dtype=np.float32), 16000)
    assert Transcript.from_response({"segments": [seg]}, audio=audio).duration == 0.5
    # then the last end: a segment's, or a word's when the backend timed words past the segments
    assert (
        Transcript.from_response(
            {"segments": [seg, {"text": "x", "start": 1.0, "end": float("nan")}]}
        ).duration
        == 2.0
    )
    nested = {
        **seg,
        "words": [{"text": "Hi", "start": 0.5, "end": 1.0}, {"text": "you", "start": 1.5, "end": 2.5}],
    }
    assert Transcript.from_response({"segments": [nested]}).duration == 2.5
    # then the billed seconds; else unknown
    assert Transcript.from_response({"text": "Hi", "usage": {"prompt_audio_seconds": 3}}).duration == 3.0
    assert (
        Transcript.from_response(
            {"text": "Hi", "usage": {"prompt_audio_seconds": 0, "seconds": 4.5}}
        ).duration
        == 4.5
    )
    assert Transcript.from_response({"text": "Hi", "usage": {"seconds": "4"}}).duration is None
    assert Transcript.from_response({"text": "Hi"}).duration is None
    # the text is the response's, else the segments' joined, skipping empty ones
    no_text = Transcript.from_response({"segments": [{"text": "a", "start": 0, "end": 1}, {"text": "", "start": 1, "end": 2}, {"text": "b", "start": 2, "end": 3}]})  # fmt: skip
    assert no_text.text == "a b"


def test_containers_of_a_response():
    data = b'{"text": "Hi"}'
    for container in (bytearray(data), memoryview(data)):
        t = Transcript.from_response(container)
        assert (t.text, t.raw) == ("Hi", {"text": "Hi"})
    events = [
        {"type": "transcription.text.delta", "text": "Hi"},
        {"type": "transcription.text.delta", "text": " you"},
    ]
    t = Transcript.from_response(e for e in events)  # a generator is read once, kept as a list
    assert (t.source, t.text, t.raw) == ("mistral-sse", "Hi you", events)
    empty = Transcript.from_response([])
    assert (empty.source, empty.text, empty.raw, len(empty.segments)) == ("empty", "", [], 0)
    # one segment event on its own, asked for word timestamps, is a word
    one = Transcript.from_response(
        {"type": "transcription.segment", "text": " Hi", "start": 0.0, "end": 0.5}, granularity="word"
    )
    assert one.words[["text", "timing"]].values.tolist() == [["Hi", "api"]]


def test_audio_views_say_what_they_need():
    t = Transcript.from_response({"text": "x", "segments": [{"text": "x", "start": 0.0, "end": 1.0}]})
    for view in (t.plot, t.show, t.align):
        with pytest.raises(ParameterError) as err:
            view()
        assert (
            str(err.value) == "this transcript keeps no audio: pass it, e.g. t.plot(voxnb.Audio.load(path))"
        )
    with pytest.raises(ParameterError) as err:
        t.compare("x y")
    assert str(err.value) == "compare() takes another Transcript; got a str"
    with pytest.raises(ParameterError) as err:
        t.plot(voxnb.Audio.from_array(np.zeros(1600, dtype=np.float32), 16000), start=1, end=0.5)
    assert str(err.value) == "end=0.5 is not after start=1; swap them"


def test_with_words_takes_any_index_and_numeric_dtype():
    t = Transcript.from_response({"segments": [{"text": "a b", "start": 0.0, "end": 1.0}]})
    words = t.words.assign(timing="aligned", segment=t.words["segment"].astype("int32"))
    words.index = [10, 20]
    # a nullable float column with a missing time: NaN, not an error
    words["start"] = pd.array([0.0, None], dtype="Float64")
    new = t.with_words(words).words
    assert list(new.columns) == WORD_COLUMNS and new.index.tolist() == [0, 1]
    assert new["segment"].dtype == np.int64 and new["start"].dtype == np.float64
    assert new["start"].tolist()[0] == 0.0 and np.isnan(new["start"].tolist()[1])
    # a saved words table: an end before 0 is refused as a damaged file, not as a bad argument
    saved = t.with_words(t.words.assign(timing="aligned")).to_dict()
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_dict({**saved, "words": {**saved["words"], "end": [0.5, -1]}})
    assert str(err.value) == "words[1].end: expected seconds from the start of the audio, 0 or more, got -1"


def test_a_rename_reaches_the_backends_own_word_speakers():
    words = [{"text": "Hi", "start": 0.0, "end": 0.4, "speaker": "A"}, {"text": "you", "start": 0.5, "end": 1.0, "speaker": "B"}]  # fmt: skip
    t = Transcript.from_response({"segments": [{"text": "Hi you", "start": 0.0, "end": 1.0, "speaker_id": "A", "words": words}]})  # fmt: skip
    named = t.rename_speakers({"B": "Ben"})
    assert named.words["speaker"].tolist() == ["A", "Ben"] and named.segments["speaker"].tolist() == ["A"]


def test_copies_keep_the_provenance_and_concat_numbers_rows_afresh():
    saved = {
        "format": "voxnb.transcript", "version": 1, "source": "mistral", "granularity": "word",
        "model": "asked-for", "created": "2020-01-02T03:04:05+00:00",
        "raw": {"model": "answered", "segments": [{"text": "Hi", "start": 0.0, "end": 0.5}, {"text": "you", "start": 0.6, "end": 1.0}]},
    }  # fmt: skip
    t = Transcript.from_dict(saved)
    copy = t.with_words(t.words.assign(timing="aligned"))
    assert (copy.model, copy.created, copy.to_dict()["granularity"]) == (
        "asked-for",
        "2020-01-02T03:04:05+00:00",
        "word",
    )
    both = voxnb.concat({"a": t, "b": copy}, level="words")
    assert both.index.tolist() == [0, 1, 2, 3]


def test_loading_saving_and_copying_details(tmp_path):
    with pytest.raises(ParameterError) as err:
        voxnb.load_transcript(5)
    assert (str(err.value), err.value.option) == ("load_transcript() takes a file path; got a int", "path")
    with pytest.raises(ParameterError) as err:
        voxnb.load_transcript("t\0.json")
    assert str(err.value) == "cannot read t\0.json: embedded null byte"
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_dict({"text": "Hi"})
    assert str(err.value) == (
        'not a saved voxnb transcript (no "format": "voxnb.transcript"); use Transcript.from_response() for a raw response'
    )
    # the saved text: indented by one space, non-ASCII kept as is
    lines = Transcript.from_response({"text": "Ça"}).to_json().splitlines()
    assert lines[:2] == ["{", ' "format": "voxnb.transcript",'] and ' "text": "Ça"' in "".join(lines)
    # a raw field JSON readers refuse (a lone surrogate outside the texts voxnb reads) is caught before writing
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response({"text": "Hi", "id": "a\ud800"}).save(tmp_path / "t.json")
    assert str(err.value).startswith(
        "cannot save this transcript: the file would not read back (the response is not valid JSON: "
    )
    assert str(err.value).endswith("); nothing was written") and not (tmp_path / "t.json").exists()
    # a copy keeps the audio
    audio = voxnb.Audio.from_array(np.zeros(1600, dtype=np.float32), 16000)
    t = Transcript.from_response({"segments": [{"text": "a", "start": 0.0, "end": 0.1}]}, audio=audio)
    assert t.with_words(t.words).audio is audio
    # subtitles wrap at 42 characters by default
    text = "x" * 20 + " " + "y" * 22 + " " + "z" * 19  # the first two words make 43
    one = Transcript.from_response({"segments": [{"text": text, "start": 0.0, "end": 1.0}]})
    assert one.to_vtt().splitlines()[3:5] == ["x" * 20, "y" * 22 + " " + "z" * 19]
    assert one.to_srt().splitlines()[2:4] == ["x" * 20, "y" * 22 + " " + "z" * 19]


def test_names_similarities_and_the_asked_model_survive_saving(mistral_diarized, tmp_path):
    t = Transcript.from_response(mistral_diarized, model="asked-for")
    # two speakers merged into one person, with a similarity: both come back from the file
    named = t.rename_speakers({"speaker_1": "Ada", "speaker_2": "Ada"}, merge=True, similarity={"Ada": 0.5})
    back = voxnb.load_transcript(named.save(tmp_path / "t.json"))
    assert back.model == "asked-for" and back.speaker_names == {"speaker_1": "Ada", "speaker_2": "Ada"}
    assert back.segments["speaker"].tolist() == ["Ada", "Ada", "Ada"]
    assert back.speaker_similarity == {"Ada": 0.5} and type(back.speaker_similarity["Ada"]) is float
    saved = named.to_dict()
    saved["speaker_similarity"] = {"Ada": 1}  # an integer similarity is read as a float
    assert Transcript.from_dict(saved).speaker_similarity == {"Ada": 1.0}


def test_the_saved_words_and_dates_and_the_segment_table(tmp_path):
    saved = {
        "format": "voxnb.transcript", "version": 1, "source": "mistral", "created": "2020-01-02T03:04:05+00:00",
        "raw": {"segments": [{"text": "a b", "start": 0.0, "end": 1.0}]},
    }  # fmt: skip
    t = Transcript.from_dict(saved)
    assert t.to_dict()["created"] == "2020-01-02T03:04:05+00:00"
    words = t.words.assign(timing="aligned", score=[0.5, np.nan], start=[0.0, np.nan], end=[0.5, np.nan])
    words["text"] = pd.array(["a", pd.NA], dtype="string")
    w = t.with_words(words).to_dict()["words"]
    # what is unknown is null in the file (JSON has no NaN), the rest as it is
    assert (w["start"], w["end"], w["score"], w["text"]) == (
        [0.0, None],
        [0.5, None],
        [0.5, None],
        ["a", None],
    )
    # the table a notebook shows: one row per segment, this transcript's
    audio = voxnb.Audio.from_array(np.zeros(16000, dtype=np.float32), 16000)
    table = t.show(audio, page_size=7)
    assert (table.total, table.page_size, [r["text"] for r in table.rows]) == (1, 7, ["a b"])


def test_the_views_pass_the_window_options_and_audio_through():
    import matplotlib.pyplot as plt

    t = Transcript.from_response({"segments": [{"text": "a b", "start": 0.0, "end": 1.0}]})
    audio = voxnb.Audio.from_array(np.zeros(32000, dtype=np.float32), 16000)
    fig = t.plot(audio, start=0.25, end=0.75, width=5.0)
    assert fig.axes[0].get_xlim() == (0.25, 0.75) and fig.get_figwidth() == 5.0
    plt.close(fig)
    kept = Transcript.from_response({"segments": [{"text": "a b", "start": 0.0, "end": 1.0}]}, audio=audio)
    fig = kept.plot(start=0.5)  # the kept audio, from 0.5 s to its end
    assert fig.axes[0].get_xlim() == (0.5, 2.0)
    plt.close(fig)
    # compare draws over the audio given, else over the kept audio (its length sets the axis)
    longer = voxnb.Audio.from_array(np.zeros(48000, dtype=np.float32), 16000)
    for fig, seconds in ((kept.compare(t, longer), 3.0), (kept.compare(t), 2.0)):
        assert max(ax.get_xlim()[1] for ax in fig.axes) == seconds
        plt.close(fig)


def test_lists_of_every_kind():
    from pydantic import BaseModel

    # a list of segments: their text joined; word timestamps make each a word
    segs = [{"text": "Hi", "start": 0.0, "end": 0.4}, {"text": "you", "start": 0.5, "end": 1.0}]
    t = Transcript.from_response(segs)
    assert (t.source, t.text, len(t.segments)) == ("segments", "Hi you", 2)
    assert Transcript.from_response(segs, granularity="word").words["timing"].tolist() == ["api", "api"]
    # events found past a first object that is none: read as a stream
    t = Transcript.from_response([{"id": 1}, {"type": "transcription.text.delta", "text": "Hi"}])
    assert (t.source, t.text) == ("mistral-sse", "Hi")

    class Event(BaseModel):  # SDK event models (no .data/.event wrapper)
        type: str
        text: str

    t = Transcript.from_response([Event(type="transcription.text.delta", text="Yo")])
    assert (t.source, t.text) == ("mistral-sse", "Yo")
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response([{"id": 1}, {"object": "list"}])
    assert str(err.value) == (
        "a list of objects that are neither segments ({text, start, end}) nor transcription events "
        "({type: 'transcription.…'}); pass the response object itself"
    )
    with pytest.raises(ResponseFormatError) as err:
        Transcript.from_response(3.5)
    assert str(err.value) == (
        "cannot read a float as a transcription response; expected a dict, JSON text or bytes, a path to a "
        ".json file, an SDK response object, a list of stream events, or faster-whisper results"
    )


def test_provenance_is_kept_as_given():
    from collections import namedtuple

    t = Transcript.from_response(
        {"text": "Hi"}, backend="b", base_url="http://127.0.0.1:9/v1", audio_sha256="ab" * 32
    )
    assert (t.backend, t.base_url, t.audio_sha256) == ("b", "http://127.0.0.1:9/v1", "ab" * 32)
    assert t.created.endswith("+00:00")  # a UTC time, said so
    # faster-whisper-shaped segments carrying both labels: "speaker" first
    Seg = namedtuple("Seg", "start end text speaker speaker_id")
    assert Transcript.from_response([Seg(0.0, 1.0, " Hi", "A", "B")]).segments["speaker"].tolist() == ["A"]


def test_transcript_align_hands_itself_the_audio_given_and_the_options_to_voxnb_align():
    from voxnb.errors import EngineError

    class UnloadableEngine:  # the options reach voxnb.align: this engine, not the shared one
        def for_language(self, language):
            raise EngineError(f"no {language} model here")

    t = Transcript.from_response({"language": "fr", "segments": [{"text": "a b", "start": 0.0, "end": 1.0}]})
    audio = voxnb.Audio.from_array(np.zeros(16000, dtype=np.float32), 16000)
    with pytest.warns(UserWarning, match="^no fr model here; the words keep interpolated times$"):
        same = t.align(audio, engine=UnloadableEngine())
    assert same is not t and same.words.equals(t.words)
    with pytest.raises(ParameterError, match="this transcript keeps no audio"):
        t.align(engine=UnloadableEngine())


def test_segment_objects_with_both_speaker_fields_take_speaker_as_whisperx_does():
    # a diarization step that adds "speaker" to faster-whisper's segments (as whisperX's
    # assign_word_speakers does) wins over a "speaker_id" the objects already carried
    @dataclasses.dataclass
    class DiarizedSegment:
        start: float
        end: float
        text: str
        speaker: str
        speaker_id: str

    t = Transcript.from_response([DiarizedSegment(0.0, 1.0, " Hi.", "SPEAKER_01", "s0")])
    assert (t.source, t.segments["speaker"].tolist()) == ("faster-whisper", ["SPEAKER_01"])
    whisperx = Transcript.from_response(
        {"segments": [{"start": 0.0, "end": 1.0, "text": " Hi.", "speaker": "SPEAKER_01", "speaker_id": "s0"}],
         "word_segments": []}
    )  # fmt: skip
    assert (whisperx.source, whisperx.segments["speaker"].tolist()) == ("whisperx", ["SPEAKER_01"])
