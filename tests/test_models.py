"""The capability table, checked against what Mistral's documentation and SDK and vLLM's code say.

Each row below is written from the sources named in voxnb/models.py ("Migrate from Voxtral 2",
"Specs and limits", "Diarize speakers", "Bias context and vocabulary", the mistralai 3.7 models,
vLLM's serving code), one fact per field, so that a changed capability shows up as the fact it
contradicts.
"""

from __future__ import annotations

import dataclasses

import pytest

from voxnb.models import (
    DEFAULT_MODEL,
    DEFAULT_REALTIME_MODEL,
    VOXTRAL_2_LANGUAGES,
    ModelCapabilities,
    capabilities,
    engine_capabilities,
    openai_capabilities,
)

PCM = ("pcm_s16le", "pcm_s32le", "pcm_f16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
#: Mistral's realtime delay: multiples of 80 from 80 to 1200 ms, or 2400 (the open-weights card)
DELAYS = ((80, 1200), (2400, 2400))


def _fields(caps: ModelCapabilities) -> dict:
    return dataclasses.asdict(caps)


#: every field of a model answering Mistral's file transcription endpoint, by family
VOXTRAL_1 = {
    "family": "voxtral-1",
    "offline": True,
    "realtime": False,
    "segment_timestamps": True,
    "word_timestamps": True,
    "diarize": False,  # speakers came with Voxtral 2
    "word_timestamps_with_diarize": False,
    "context_bias": None,
    "max_context_bias": None,
    "languages": ("en", "es", "fr", "pt", "hi", "de", "nl", "it"),
    "language_with_timestamps": False,
    "num_speakers": False,
    "streaming_delay": (),
    "speaker_references": False,
    "turn_detection": False,
    "encodings": (),
    "sample_rates": (8000, 96000),
    "known": True,
}
VOXTRAL_2 = {
    **VOXTRAL_1,
    "family": "voxtral-2",
    "diarize": True,
    # "up to 100 single words or phrases without spaces" (Bias context and vocabulary)
    "context_bias": "token",
    "max_context_bias": 100,
    "languages": ("en", "zh", "hi", "es", "ar", "fr", "pt", "ru", "de", "ja", "ko", "it", "nl"),
}
VOXTRAL_3 = {
    **VOXTRAL_2,
    "family": "voxtral-3",
    "word_timestamps": False,  # 'word' is a 400 (Migrate from Voxtral 2)
    "context_bias": "phrase",
    "max_context_bias": None,
    "languages": None,
    "speaker_references": True,
}
REALTIME_2 = {
    **VOXTRAL_1,
    "family": "voxtral-2",
    "offline": False,
    "realtime": True,
    "segment_timestamps": False,
    "word_timestamps": False,
    "languages": (),  # the session detects the language itself
    "streaming_delay": DELAYS,
    "encodings": PCM,
}
REALTIME_3 = {
    **REALTIME_2,
    "family": "voxtral-3",
    "diarize": True,
    "context_bias": "phrase",
    "languages": None,
    "speaker_references": True,
    "turn_detection": True,
}
CHAT = {
    **VOXTRAL_1,
    "family": "chat",
    "offline": False,
    "segment_timestamps": False,
    "word_timestamps": False,
    "languages": None,
}

TABLE = {
    "voxtral-mini-2507": VOXTRAL_1,
    "voxtral-mini-2602": VOXTRAL_2,
    "voxtral-mini-latest": VOXTRAL_2,
    "voxtral-mini-transcribe-3-0": VOXTRAL_3,
    "voxtral-mini-transcribe-3": VOXTRAL_3,
    "voxtral-mini-transcribe-latest": VOXTRAL_3,
    "voxtral-small-transcribe-3-0": VOXTRAL_3,
    "voxtral-small-transcribe-3": VOXTRAL_3,
    "voxtral-small-transcribe-latest": VOXTRAL_3,
    "voxtral-mini-transcribe-realtime-2602": REALTIME_2,
    "voxtral-mini-transcribe-realtime-3-0": REALTIME_3,
    "voxtral-mini-transcribe-realtime-3": REALTIME_3,
    "voxtral-mini-transcribe-realtime-latest": REALTIME_3,
    "voxtral-small-latest": CHAT,
    "voxtral-small-2507": CHAT,
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_known_model_has_its_documented_capabilities_under_its_own_name(name):
    assert _fields(capabilities(name)) == {"name": name, **TABLE[name]}
    # asking for a realtime session does not change what a known name is
    assert capabilities(name, realtime=True) == capabilities(name)


def test_the_defaults_are_voxtral_2_and_its_realtime_model():
    assert DEFAULT_MODEL == "voxtral-mini-latest" and capabilities(DEFAULT_MODEL).family == "voxtral-2"
    assert DEFAULT_REALTIME_MODEL == "voxtral-mini-transcribe-realtime-2602"
    assert capabilities(DEFAULT_REALTIME_MODEL).realtime
    assert VOXTRAL_2["languages"] == VOXTRAL_2_LANGUAGES


def test_modes():
    assert capabilities("voxtral-mini-latest").mode == "offline"
    assert capabilities("voxtral-mini-transcribe-realtime-3").mode == "realtime"
    assert capabilities("voxtral-small-latest").mode == "offline"  # neither: not realtime
    # a model with both endpoints is offline first
    assert openai_capabilities("m").mode == "offline"
    assert dataclasses.replace(capabilities("voxtral-mini-latest"), realtime=True).mode == "offline"


def test_unknown_names_are_assumed_to_be_the_current_generation():
    unknown = capabilities("voxtral-mini-transcribe-4")
    assert _fields(unknown) == {**VOXTRAL_3, "name": "voxtral-mini-transcribe-4", "known": False}
    live = capabilities("Voxtral-Realtime-Next")  # the name says realtime, in any case
    assert _fields(live) == {**REALTIME_3, "name": "Voxtral-Realtime-Next", "known": False}
    asked = capabilities("my-fine-tune", realtime=True)  # a realtime session asks for it
    assert _fields(asked) == {**REALTIME_3, "name": "my-fine-tune", "known": False}


def test_vllm_gives_voxtral_text_only_and_whisper_timestamps():
    common = {
        "family": "vllm",
        "diarize": False,
        "word_timestamps_with_diarize": True,
        "context_bias": None,
        "max_context_bias": None,
        "languages": None,
        "language_with_timestamps": True,
        "num_speakers": False,
        "streaming_delay": (),
        "speaker_references": False,
        "turn_detection": False,
        "sample_rates": (16000, 16000),
        "known": True,
    }
    assert _fields(openai_capabilities("mistralai/Voxtral-Mini-3B-2507")) == {
        **common,
        "name": "mistralai/Voxtral-Mini-3B-2507",
        "offline": True,
        "realtime": False,
        "segment_timestamps": False,
        "word_timestamps": False,
        "encodings": (),
    }
    assert _fields(openai_capabilities("openai/whisper-large-v3")) == {
        **common,
        "name": "openai/whisper-large-v3",
        "offline": True,
        "realtime": False,
        "segment_timestamps": True,
        "word_timestamps": True,
        "encodings": (),
    }
    # the realtime websocket: 16 kHz s16le PCM and the model name, nothing else
    assert _fields(openai_capabilities("openai/whisper-large-v3", realtime=True)) == {
        **common,
        "name": "openai/whisper-large-v3",
        "offline": False,
        "realtime": True,
        "segment_timestamps": False,
        "word_timestamps": True,
        "encodings": ("pcm_s16le",),
    }


def test_an_engine_in_this_process():
    batch = engine_capabilities("tiny (local)", languages=("en",))
    assert _fields(batch) == {
        "name": "tiny (local)",
        "family": "local",
        "offline": True,
        "realtime": False,
        "segment_timestamps": True,
        "word_timestamps": True,
        "diarize": True,
        "word_timestamps_with_diarize": True,
        "context_bias": "phrase",
        # whisper's prompt holds about 224 tokens
        "max_context_bias": 100,
        "languages": ("en",),
        "language_with_timestamps": True,
        "num_speakers": True,
        "streaming_delay": (),
        "speaker_references": True,
        "turn_detection": False,
        "encodings": (),
        "sample_rates": (8000, 96000),
        "known": True,
    }
    assert not engine_capabilities("e", languages=None, word_timestamps=False).word_timestamps
    assert engine_capabilities("e", languages=None).languages is None
    stream = engine_capabilities("tiny (local)", languages=("en", "fr"), streaming=True)
    assert _fields(stream) == {
        "name": "tiny (local)",
        "family": "local",
        "offline": False,
        "realtime": True,
        "segment_timestamps": False,
        "word_timestamps": False,
        "diarize": False,
        "word_timestamps_with_diarize": False,
        "context_bias": "phrase",
        "max_context_bias": 100,
        "languages": ("en", "fr"),
        "language_with_timestamps": False,
        "num_speakers": False,
        "streaming_delay": (),
        "speaker_references": False,
        "turn_detection": False,
        "encodings": PCM,  # converted to the engine's 16 kHz s16le
        "sample_rates": (8000, 96000),
        "known": True,
    }


def test_named_is_an_alias_with_the_same_capabilities():
    base = capabilities("voxtral-mini-2602")
    alias = base.named("my-alias")
    assert alias.name == "my-alias" and dataclasses.replace(alias, name=base.name) == base
    assert base.name == "voxtral-mini-2602"  # the original is unchanged
