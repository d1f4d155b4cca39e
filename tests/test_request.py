"""The request contract: options checked once, against the model's capabilities, with the fix in the message."""

from __future__ import annotations

import pytest

import voxnb
from voxnb.errors import ParameterError
from voxnb.models import capabilities, engine_capabilities, openai_capabilities
from voxnb.request import OPTIONS, RECORDED_WHEN_SET, TranscriptionRequest

VOXTRAL_2 = capabilities("voxtral-mini-latest")
VOXTRAL_3 = capabilities("voxtral-mini-transcribe-3")
LOCAL = engine_capabilities("faster-whisper-tiny.en (local)", languages=("en",))
VLLM_VOXTRAL = openai_capabilities("mistralai/Voxtral-Mini-3B-2507")


def resolve(caps=VOXTRAL_2, **options):
    return TranscriptionRequest.create(**options).resolve(caps)


def refused(caps=VOXTRAL_2, **options) -> ParameterError:
    with pytest.raises(ParameterError) as info:
        resolve(caps, **options)
    return info.value


def test_bias_terms_joins_phrases_with_underscores_and_drops_duplicates():
    assert voxnb.bias_terms(["Barack Obama", "Washington, D.C.", " Joplin ", "Barack  Obama"]) == [
        "Barack_Obama",
        "Washington_D.C.",
        "Joplin",
    ]
    assert voxnb.bias_terms("American people") == ["American_people"]
    with pytest.raises(voxnb.ParameterError, match="empty phrase"):
        voxnb.bias_terms(["ok", " , "])


@pytest.mark.parametrize("term", ["Barack Obama", "tab\there"])
def test_voxtral_2_refuses_whitespace_in_a_term_with_the_fix(term):
    error = refused(context_bias=["fine", term])
    message = str(error)
    assert repr(term) in message and "bias_terms" in message and error.option == "context_bias"
    assert (
        repr(voxnb.bias_terms([term])[0]) in message and not error.unsupported
    )  # a value its schema refuses: 422


def test_voxtral_3_and_the_offline_engine_take_phrases():
    assert resolve(VOXTRAL_3, context_bias=["Alder Creek Design"]).context_bias == ("Alder Creek Design",)
    assert resolve(LOCAL, context_bias=["Janis Joplin"]).context_bias == ("Janis Joplin",)


def test_a_comma_inside_a_term_is_refused_everywhere():
    for caps in (VOXTRAL_2, VOXTRAL_3, LOCAL):
        with pytest.raises(ParameterError, match="holds a comma"):
            resolve(caps, context_bias=["a,b"])


def test_context_bias_limit_follows_the_model():
    assert len(resolve(context_bias=[f"t{i}" for i in range(100)]).context_bias) == 100
    assert "101 entries" in str(refused(context_bias=[f"t{i}" for i in range(101)]))
    assert "at most 100" in str(refused(LOCAL, context_bias=[f"t {i}" for i in range(122)]))
    assert len(resolve(VOXTRAL_3, context_bias=[f"t{i}" for i in range(150)]).context_bias) == 150


def test_diarize_implies_segment_timestamps_and_voxtral_2_word_times_then_come_from_alignment():
    request = resolve(diarize=True)
    assert request.timestamps == ("segment",) and request.wire_timestamps == ("segment",)
    both = resolve(diarize=True, timestamps=["segment", "word"])
    assert both.words == "aligned" and both.wire_timestamps == ("segment",)
    assert "only without diarization" in str(refused(diarize=True, timestamps="word", words="api"))
    # the offline engine gives word times together with speakers
    assert resolve(LOCAL, diarize=True, timestamps="word").words == "api"


def test_word_timestamps_from_voxtral_3_are_aligned_and_api_words_are_refused():
    auto = resolve(VOXTRAL_3, timestamps=["segment", "word"])
    assert auto.words == "aligned" and auto.wire_timestamps == ("segment",) and auto.align_words
    error = refused(VOXTRAL_3, timestamps="word", words="api")
    assert "400" in str(error) and "words='aligned'" in str(error) and error.option == "words"
    assert resolve(timestamps="word").words == "api"  # Voxtral 2 gives them
    assert resolve(timestamps="word", words="aligned").wire_timestamps == ("segment",)
    assert resolve(words="aligned").timestamps == ("word",)  # words= implies word timestamps


def test_language_with_timestamps_is_refused_where_the_model_documents_it():
    message = str(refused(language="en", timestamps=["segment"]))
    assert "drop language=" in message and "drop timestamps=" in message
    assert resolve(language="fr").language == "fr"
    assert resolve(LOCAL, language="en", timestamps="segment").language == "en"
    assert "knows en" in str(refused(LOCAL, language="fr"))
    assert "knows" in str(refused(language="sv"))  # Voxtral 2's 13 languages


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"language": "english"}, "two-letter.*write 'en'"),
        ({"language": "EN"}, "write 'en'"),
        ({"timestamps": "sentence"}, "'segment', 'word'"),
        ({"timestamps": 3}, "'segment', 'word'"),
        ({"words": "whisper"}, "'auto', 'api'"),
        ({"temperature": -1}, "from 0 to 2"),
        ({"temperature": float("nan")}, "finite"),
        ({"temperature": 1e9}, "from 0 to 2"),
        ({"temperature": "hot"}, "number"),
        ({"temperature": True}, "number"),
        ({"diarize": "yes"}, "True or False"),
        ({"diarize": 1}, "True or False"),
        ({"model": ""}, "model name"),
        ({"model": 7}, "model name"),
        ({"context_bias": "a,b"}, "comma"),
        ({"context_bias": [1, 2]}, "strings"),
        ({"context_bias": [""]}, "empty entry"),
        ({"context_bias": b"Joplin"}, "list of words"),
        ({"context_bias": {"a": 1}}, "list of words"),
        ({"context_bias": ["x" * 300]}, "at most 200 characters"),
        ({"context_bias": ["bell\x07"]}, "control characters"),
        ({"num_speakers": 2}, "needs diarize=True"),
        ({"num_speakers": 0, "diarize": True}, "from 1 to 64"),
        ({"num_speakers": 2.5, "diarize": True}, "whole number"),
        ({"target_streaming_delay_ms": 50}, "from 80 to 2400"),
        ({"speed": 2}, "unknown transcription option"),
    ],
)
def test_invalid_values_are_refused_the_same_way_before_any_model_is_known(options, pattern):
    with pytest.raises(ParameterError, match=pattern) as info:
        TranscriptionRequest.create(**options)
    assert not info.value.unsupported  # an invalid value, not a capability


def test_capability_refusals_name_the_option_and_the_way_out():
    assert refused(VLLM_VOXTRAL, diarize=True).option == "diarize"
    assert "vLLM" in str(refused(VLLM_VOXTRAL, context_bias=["Joplin"]))
    assert refused(VLLM_VOXTRAL, timestamps="segment").option == "timestamps"
    assert "offline engine" in str(refused(diarize=True, num_speakers=2))
    assert "realtime sessions only" in str(refused(target_streaming_delay_ms=480))
    assert "chat model" in str(refused(capabilities("voxtral-small-latest")))


def test_realtime_requests_follow_the_realtime_model():
    realtime_2 = capabilities("voxtral-mini-transcribe-realtime-2602")
    realtime_3 = capabilities("voxtral-mini-transcribe-realtime-3")
    create = TranscriptionRequest.create
    assert (
        create(target_streaming_delay_ms=480).resolve(realtime_2, realtime=True).target_streaming_delay_ms
        == 480
    )
    with pytest.raises(ParameterError, match="multiples of 80"):
        create(target_streaming_delay_ms=500).resolve(realtime_2, realtime=True)
    assert create(target_streaming_delay_ms=500).resolve(realtime_3, realtime=True).resolved
    with pytest.raises(ParameterError, match="cannot label speakers"):
        create(diarize=True).resolve(realtime_2, realtime=True)
    with pytest.raises(ParameterError, match="takes no context_bias"):
        create(context_bias=["Joplin"]).resolve(realtime_2, realtime=True)
    assert create(context_bias=["Alder Creek"]).resolve(realtime_3, realtime=True).context_bias
    with pytest.raises(ParameterError, match="not a realtime model"):
        create().resolve(VOXTRAL_2, realtime=True)
    with pytest.raises(ParameterError, match="a realtime model: the transcription endpoint refuses it"):
        create().resolve(realtime_3)


def test_unknown_models_are_assumed_current_and_say_so():
    caps = capabilities("voxtral-mini-transcribe-4-preview")
    assert not caps.known and caps.family == "voxtral-3" and not caps.word_timestamps
    assert capabilities("some-realtime-thing").realtime


def test_mistral_wire_form_uses_repeated_bare_names_and_true_false():
    fields = resolve(
        timestamps=["word", "segment"], context_bias=["Joplin", "American_people"], temperature=0.0
    )
    assert fields.form_fields() == {
        "model": "voxtral-mini-latest",
        "stream": "false",
        "diarize": "false",
        "timestamp_granularities": ["segment", "word"],
        "context_bias": ["Joplin", "American_people"],
        "temperature": "0.0",
    }
    assert resolve(diarize=True).form_fields(stream=True)["stream"] == "true"


def test_openai_wire_form_brackets_lists_and_asks_verbose_json():
    whisper = openai_capabilities("openai/whisper-large-v3")
    fields = resolve(whisper, timestamps="segment", language="en").form_fields("openai")
    assert fields == {
        "model": "openai/whisper-large-v3",
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["segment"],
        "language": "en",
    }


def test_the_record_has_the_same_keys_whatever_was_asked():
    # options added after the cache format was fixed appear only when set (older entries stay valid)
    keys = {"timestamp_granularities", "words", *OPTIONS} - {"timestamps", *RECORDED_WHEN_SET}
    for options in ({}, {"diarize": True}, {"timestamps": "word", "context_bias": ["x"], "temperature": 0.2}):
        assert set(resolve(**options).record()) == keys
    record = resolve(VOXTRAL_3, timestamps=["segment", "word"], diarize=True).record()
    assert record["timestamp_granularities"] == ["segment"] and record["words"] == "aligned"
    again = TranscriptionRequest.from_record(record).resolve(VOXTRAL_3)
    assert again.record() == record


def test_a_form_is_read_with_the_wire_rules():
    form = {"model": "voxtral-mini-latest", "diarize": "true", "timestamp_granularities": ["segment"]}
    assert TranscriptionRequest.from_form(form).diarize
    with pytest.raises(ParameterError, match=r"must be set to \['segment'\], got \[\]"):
        TranscriptionRequest.from_form({"model": "m", "diarize": "true"})
    # Mistral ignores the bracketed name: no granularity, so the diarize assertion fails
    with pytest.raises(ParameterError, match="granularity"):
        TranscriptionRequest.from_form(
            {"model": "m", "diarize": "true", "timestamp_granularities[]": ["segment"]}
        )
    with pytest.raises(ParameterError, match="'true' or 'false'"):
        TranscriptionRequest.from_form({"model": "m", "diarize": "maybe"})
    with pytest.raises(ParameterError, match="must be a number"):
        TranscriptionRequest.from_form({"model": "m", "temperature": "warm"})
    word = TranscriptionRequest.from_form({"model": "m", "timestamp_granularities": ["word"]})
    assert word.words == "api"  # a server gives the model's own word times
    with pytest.raises(ParameterError, match="400"):
        word.resolve(VOXTRAL_3)


def test_unresolved_requests_have_no_wire_form():
    with pytest.raises(ParameterError, match="resolve the request"):
        TranscriptionRequest.create().form_fields()
