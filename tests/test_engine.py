"""The embedded offline engine, voxnb.transcribe and Engine.stream, on the bundled TTS clips."""

from __future__ import annotations

import itertools
import math

import jiwer
import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

import voxnb
from voxnb.errors import AudioError, EngineError, ParameterError
from voxnb.local.engine import hotwords
from voxnb.local.protocol import TranscriptionEngine
from voxnb.local.stream import LocalAgreement

normalize = EnglishTextNormalizer()


def wer(name: str, text: str) -> float:
    return jiwer.wer(normalize(voxnb.data.reference(name)["text"]), normalize(text))


@pytest.fixture(scope="module")
def two_voices():
    return voxnb.data.audio("two_voices")


@pytest.fixture(scope="module")
def diarized(offline_engine, two_voices):
    """One full transcription (segments, words, speakers) shared by the shape tests."""
    return offline_engine.transcribe(two_voices.y, timestamps=["segment", "word"], diarize=True)


def test_engine_satisfies_the_protocol_and_names_its_model_honestly(offline_engine):
    assert isinstance(offline_engine, TranscriptionEngine)
    assert offline_engine.model == "faster-whisper-tiny.en (local)"
    assert offline_engine.can_chat is False


def test_response_is_mistral_shaped(diarized, two_voices):
    assert set(diarized) == {"model", "text", "language", "segments", "usage"}
    assert diarized["usage"]["prompt_audio_seconds"] == math.ceil(two_voices.duration)
    assert diarized["usage"]["completion_tokens"] > 0
    for segment in diarized["segments"]:
        assert segment["type"] == "transcription_segment"
        assert segment["speaker_id"] in {"speaker_1", "speaker_2"}
        assert 0 <= segment["start"] < segment["end"] <= two_voices.duration + 0.1
        assert segment["words"], segment
        for word in segment["words"]:
            assert set(word) == {"text", "start", "end", "score"}
            assert word["text"] == word["text"].strip() and word["text"]
            assert segment["start"] <= word["start"] <= word["end"] <= segment["end"]
    assert " ".join(s["text"] for s in diarized["segments"]) == diarized["text"]
    assert wer("two_voices", diarized["text"]) <= 0.1


def test_speakers_follow_the_reference_turns(diarized):
    reference = voxnb.data.reference("two_voices")["turns"]
    # each reference turn is one sentence, so each segment should sit inside one turn
    assert len(diarized["segments"]) == len(reference)
    mapping = {}
    for segment, turn in zip(diarized["segments"], reference):
        assert abs(segment["start"] - turn["start"]) < 0.35 and abs(segment["end"] - turn["end"]) < 0.35
        assert mapping.setdefault(turn["speaker"], segment["speaker_id"]) == segment["speaker_id"]
    assert len(set(mapping.values())) == 2


def test_transcript_reads_the_response_without_help(diarized):
    t = voxnb.Transcript.from_response(diarized, backend="local")
    assert list(t.speakers["speaker"]) == ["speaker_1", "speaker_2"]
    assert (t.words["timing"] == "api").all()
    assert t.words["score"].between(0, 1).all()
    assert len(t.words) == sum(len(s["words"]) for s in diarized["segments"])


def test_without_timestamps_segments_are_empty_as_in_mistral(offline_engine):
    y = voxnb.data.audio("words").y
    response = offline_engine.transcribe(y)
    assert response["segments"] == []
    assert wer("words", response["text"]) <= 0.1


def test_context_bias_fixes_a_proper_noun(offline_engine):
    y = voxnb.data.audio("words").y
    plain = offline_engine.transcribe(y)["text"]
    biased = offline_engine.transcribe(y, context_bias=voxnb.data.reference("words")["context_bias"])["text"]
    assert "Janis Joplin" not in plain  # tiny.en hears "Janice"
    assert "Janis Joplin" in biased


def test_hotwords_turn_underscores_into_spaces():
    assert hotwords(["Janis_Joplin", "Voxtral"]) == "Janis Joplin Voxtral"
    assert hotwords(None) is None and hotwords([]) is None


@pytest.mark.parametrize(
    ("kwargs", "samples", "error", "match"),
    [
        (
            {"language": "xx"},
            np.zeros(16000, np.float32),
            ParameterError,
            "does not transcribe language='xx'",
        ),
        ({}, np.zeros((2, 16000), np.float32), AudioError, "1-D"),
        ({}, np.zeros(0, np.float32), AudioError, "empty"),
        ({"timestamps": ["char"]}, np.zeros(16000, np.float32), ParameterError, "timestamps"),
        ({"num_speakers": 0}, np.zeros(16000, np.float32), ParameterError, "num_speakers"),
    ],
)
def test_bad_requests_are_clear_errors(offline_engine, kwargs, samples, error, match):
    with pytest.raises(error, match=match):
        offline_engine.transcribe(samples, **kwargs)


def test_unloadable_model_is_an_engine_error(tmp_path):
    from voxnb.local.engine import Engine

    with pytest.raises(EngineError, match="could not load"):
        Engine(tmp_path)  # an empty folder is no model


def test_transcribe_offline_in_one_line_and_announces_it(offline_engine, monkeypatch, capsys):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    path = voxnb.data.path("words")
    t = voxnb.transcribe(path, timestamps="word", context_bias=["Janis_Joplin", "Charleston"])
    announced = capsys.readouterr().err.strip().splitlines()
    assert announced == [
        "voxnb.transcribe: backend=local (no MISTRAL_API_KEY and no base_url), "
        "model=faster-whisper-tiny.en (local)"
    ]
    assert t.backend == "local" and t.model == offline_engine.model
    assert t.audio_sha256 == voxnb.Audio.load(path).sha256
    assert t.request["context_bias"] == ["Janis_Joplin", "Charleston"]
    assert t.text.startswith("Janis Joplin recorded")
    assert (t.words["timing"] == "api").all() and len(t.words) == 13


def test_transcribe_with_a_key_goes_to_the_server_over_http(
    offline_engine, start_voxnb_server, guarded_api_key, capsys
):
    server = start_voxnb_server(offline_engine)
    t = voxnb.transcribe(
        voxnb.data.path("words"), api_key=guarded_api_key, base_url=server.url, timestamps="segment"
    )
    assert f"backend=mistral at {server.url}" in capsys.readouterr().err
    assert t.backend == "mistral" and t.model == offline_engine.model
    assert wer("words", t.text) <= 0.1
    with pytest.raises(ParameterError, match="only works with the offline engine"):
        voxnb.transcribe(
            voxnb.data.path("words"),
            api_key=guarded_api_key,
            base_url=server.url,
            diarize=True,
            num_speakers=2,
        )


def test_transcribe_with_only_a_base_url_asks_the_server_its_dialect(
    offline_engine, start_voxnb_server, capsys, monkeypatch
):
    monkeypatch.setenv("MISTRAL_API_KEY", "an-unrelated-key")  # base_url= comes first, and gets no key
    server = start_voxnb_server(offline_engine)
    t = voxnb.transcribe(voxnb.data.path("words"), base_url=server.url, timestamps="segment")
    announced = capsys.readouterr().err
    assert f"backend=mistral at {server.url} (base_url= given)" in announced
    assert "voxnb serve speaking the mistral dialect" in announced
    assert t.backend == "mistral" and t.model == offline_engine.model
    assert all("authorization" not in r.headers for r in server.recorder.requests)
    assert wer("words", t.text) <= 0.1


def test_stream_commits_text_before_the_end_and_finishes_with_the_whole_response(offline_engine):
    pcm = voxnb.data.audio("words").to_pcm16()
    state = LocalAgreement(offline_engine, hop=2.0)
    early = []
    for i in range(0, len(pcm), 3201):  # odd sizes: a chunk may split a sample
        state.feed(pcm[i : i + 3201])
        if state.due:
            early += list(state.update())
    final = list(state.finish())
    events = early + final
    deltas = [e for e in events if e["type"] == "transcription.text.delta"]
    assert any(e["type"] == "transcription.text.delta" for e in early), "nothing was committed before the end"
    done = events[-1]
    assert done["type"] == "transcription.done" and done["model"] == offline_engine.model
    assert "".join(e["text"] for e in deltas) == done["text"]
    assert wer("words", done["text"]) <= 0.25
    assert done["usage"]["prompt_audio_seconds"] == math.ceil(len(pcm) / 32000)
    words = [w for s in done["segments"] for w in s["words"]]
    assert all(a["end"] <= b["start"] + 1e-6 for a, b in itertools.pairwise(words))


def test_engine_stream_over_an_iterator(offline_engine):
    pcm = voxnb.data.audio("words").to_pcm16()
    events = list(offline_engine.stream(pcm[i : i + 3200] for i in range(0, len(pcm), 3200)))
    assert [e["type"] for e in events][-1] == "transcription.done"
    assert wer("words", events[-1]["text"]) <= 0.25


def test_stream_reports_a_failing_source():
    from voxnb.local.stream import stream

    def broken():
        yield b"\x00\x00" * 1600
        raise OSError("microphone unplugged")

    with pytest.raises(OSError, match="unplugged"):
        list(stream(object(), broken()))


def test_words_decoded_from_silence_are_dropped(two_voices):
    from types import SimpleNamespace

    from faster_whisper.transcribe import Word

    from voxnb.local.engine import words_in_speech

    end = two_voices.duration
    samples = np.concatenate([two_voices.y, np.zeros(3 * 16000, np.float32)])
    spoken = Word(start=1.0, end=1.4, word=" hear", probability=0.9)
    invented = Word(start=end + 1.0, end=end + 1.6, word=" Thank you.", probability=0.6)
    segments = [
        SimpleNamespace(words=[spoken]),
        SimpleNamespace(words=[invented]),
        SimpleNamespace(words=None),
    ]
    assert words_in_speech(segments, samples) == [spoken]
    # no speech anywhere: a decode of silence keeps nothing (it used to keep everything)
    assert words_in_speech(segments, np.zeros(4 * 16000, np.float32)) == []


def test_decoder_failures_are_engine_errors_that_say_what_to_do(offline_engine):
    y = voxnb.data.audio("words").y
    with pytest.raises(EngineError, match=r"failed to decode .*beam_size >= 1") as caught:
        offline_engine.decode(y, words=False, beam_size=-3)  # CTranslate2 raises a bare TypeError
    assert isinstance(caught.value.__cause__, TypeError)
    assert "\n" not in str(caught.value)  # not CTranslate2's whole signature dump
    # the public entry points refuse such a value before it reaches the decoder
    with pytest.raises(ParameterError, match="beam_size must be at least 1"):
        list(offline_engine.stream(iter([]), beam_size=-3))
    with pytest.raises(ParameterError, match="beam_size must be at least 1"):
        voxnb.local.Engine(beam_size=0)


def test_speech_detection_checks_its_input():
    from voxnb.local.diarize import diarize
    from voxnb.local.vad import speech_regions

    with pytest.raises(AudioError, match="1-D"):
        speech_regions(np.zeros((2, 16000), np.float32))
    # float64 and integer PCM are converted instead of failing inside onnxruntime
    y = voxnb.data.audio("words").y
    assert speech_regions(y.astype(np.float64)) == speech_regions(y)
    assert speech_regions((y * 32767).astype(np.int16))
    assert diarize(y.astype(np.float64), num_speakers=1)


def test_cli_transcribe_prints_segments_and_saves_subtitles(offline_engine, tmp_path, capsys, monkeypatch):
    from voxnb.cli import main

    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    out = tmp_path / "words.srt"
    assert (
        main(
            [
                "transcribe",
                str(voxnb.data.path("words")),
                "--context-bias",
                "Janis_Joplin",
                "Charleston",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Janis Joplin recorded" in printed and f"1 files written to {out}" in printed
    assert out.read_text().startswith("1\n00:00:00,")
    assert main(["transcribe", str(voxnb.data.path("words")), "--formats", "docx"]) == 2
    assert "unknown format(s) ['docx']" in capsys.readouterr().err


def test_short_decode_encodes_only_the_buffer_and_hears_the_same_words(offline_engine, monkeypatch):
    from voxnb.local.stream import short_decode

    y = voxnb.data.audio("words").y
    shapes = []
    encode = offline_engine.whisper.encode
    monkeypatch.setattr(offline_engine.whisper, "encode", lambda f: shapes.append(f.shape) or encode(f))
    words = short_decode(offline_engine, y, hotwords="Janis Joplin Charleston")
    assert shapes == [(80, 100 * math.ceil((len(y) / 160 + 100) / 100))]  # not 3000 frames (30 s)
    text = "".join(w.word for w in words)
    assert wer("words", text) <= 0.1 and text.strip().startswith("Janis Joplin")
    assert all(0 <= w.start <= w.end <= len(y) / 16000 + 0.1 for w in words)


def test_stream_with_the_whole_engine_as_before(offline_engine):
    pcm = voxnb.data.audio("words").to_pcm16()
    events = list(offline_engine.stream((pcm[i : i + 3200] for i in range(0, len(pcm), 3200)), fast=False))
    assert wer("words", events[-1]["text"]) <= 0.25
