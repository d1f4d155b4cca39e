"""The request contract: options checked once, against the model's capabilities, with the fix in the message."""

from __future__ import annotations

from dataclasses import replace

import pytest

import voxnb
from voxnb.errors import ParameterError
from voxnb.models import capabilities, engine_capabilities, openai_capabilities
from voxnb.request import OPTIONS, RECORDED_WHEN_SET, SpeakerReference, TranscriptionRequest

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


# -- every refusal, word for word: the message is what the user reads and acts on ----------------


def _refusal(call) -> tuple[str, str | None, bool]:
    with pytest.raises(ParameterError) as info:
        call()
    return str(info.value), info.value.option, info.value.unsupported


@pytest.mark.parametrize(
    ("options", "message", "option"),
    [
        (
            {"timestamps": True},
            "timestamps must be 'segment', 'word' or a list of them; got True",
            "timestamps",
        ),
        (
            {"timestamps": ["segment", 3]},
            "timestamps must be 'segment', 'word' or a list of them; got 3",
            "timestamps",
        ),
        (
            {"words": 1},
            "words must be 'auto', 'api' (the model's word times) or 'aligned' (forced alignment against the "
            "audio); got 1",
            "words",
        ),
        ({"diarize": None}, "diarize must be True or False; got None", "diarize"),
        ({"diarize": "yes"}, "diarize must be True or False; got 'yes'", "diarize"),
        (
            {"context_bias": 5},
            "context_bias must be a list of words or phrases, e.g. ['Voxtral', 'Janis Joplin']; got 5",
            "context_bias",
        ),
        (
            {"context_bias": ["ok", None]},
            "context_bias entries must be strings; got None; convert the list with voxnb.bias_terms([...])",
            "context_bias",
        ),
        (
            {"context_bias": ["ok", 3.5]},
            "context_bias entries must be strings; got 3.5; convert the list with voxnb.bias_terms([...])",
            "context_bias",
        ),
        ({"context_bias": ["  "]}, "context_bias has an empty entry; remove it", "context_bias"),
        (
            {"context_bias": ["a,b c"]},
            "context_bias entry 'a,b c' holds a comma: give each term as its own entry (a comma separates "
            "terms), or write it as 'a_b_c'",
            "context_bias",
        ),
        (
            {"context_bias": ["y" * 201]},
            f"context_bias entry {'y' * 40!r}... has 201 characters; keep entries to names and short phrases "
            "(at most 200 characters)",
            "context_bias",
        ),
        (
            {"context_bias": ["a\u200bb"]},  # a zero-width space: not printable, not whitespace
            "context_bias entry 'a\\u200bb' holds control characters; remove them",
            "context_bias",
        ),
        (
            {"language": "xx-YY"},
            "language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got 'xx-YY'",
            "language",
        ),
        (
            {"language": " FR "},
            "language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got ' FR ' (for ' FR ' write 'fr')",
            "language",
        ),
        (
            {"language": "French"},
            "language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got 'French' (for 'French' write "
            "'fr')",
            "language",
        ),
        (
            {"language": 3},
            "language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got 3",
            "language",
        ),
        ({"temperature": "0.5"}, "temperature must be a number such as 0.0; got '0.5'", "temperature"),
        ({"temperature": True}, "temperature must be a number such as 0.0; got True", "temperature"),
        (
            {"temperature": 2.0000001},
            "temperature must be a finite number from 0 to 2; got 2.0000001",
            "temperature",
        ),
        (
            {"temperature": -0.001},
            "temperature must be a finite number from 0 to 2; got -0.001",
            "temperature",
        ),
        (
            {"temperature": float("nan")},
            "temperature must be a finite number from 0 to 2; got nan",
            "temperature",
        ),
        (
            {"num_speakers": 65, "diarize": True},
            "num_speakers must be a whole number from 1 to 64; got 65",
            "num_speakers",
        ),
        (
            {"num_speakers": 0, "diarize": True},
            "num_speakers must be a whole number from 1 to 64; got 0",
            "num_speakers",
        ),
        (
            {"num_speakers": True, "diarize": True},
            "num_speakers must be a whole number from 1 to 64; got True",
            "num_speakers",
        ),
        (
            {"num_speakers": 2.0, "diarize": True},
            "num_speakers must be a whole number from 1 to 64; got 2.0",
            "num_speakers",
        ),
        (
            {"num_speakers": 2},
            "num_speakers= needs diarize=True: it tells the speaker labelling how many voices to find",
            "num_speakers",
        ),
        (
            {"target_streaming_delay_ms": 79},
            "target_streaming_delay_ms must be a whole number from 80 to 2400; got 79",
            "target_streaming_delay_ms",
        ),
        (
            {"target_streaming_delay_ms": 2401},
            "target_streaming_delay_ms must be a whole number from 80 to 2400; got 2401",
            "target_streaming_delay_ms",
        ),
        (
            {"sample_rate": 7999},
            "sample_rate must be a whole number from 8000 to 96000; got 7999",
            "sample_rate",
        ),
        (
            {"sample_rate": 96001},
            "sample_rate must be a whole number from 8000 to 96000; got 96001",
            "sample_rate",
        ),
        (
            {"encoding": "S16LE"},
            "encoding must be one of pcm_s16le, pcm_s32le, pcm_f16le, pcm_f32le, pcm_mulaw, pcm_alaw; got 'S16LE' "
            "(write 'pcm_s16le')",
            "encoding",
        ),
        (
            {"encoding": "mp3"},
            "encoding must be one of pcm_s16le, pcm_s32le, pcm_f16le, pcm_f32le, pcm_mulaw, pcm_alaw; got 'mp3'",
            "encoding",
        ),
        (
            {"encoding": 16},
            "encoding must be one of pcm_s16le, pcm_s32le, pcm_f16le, pcm_f32le, pcm_mulaw, pcm_alaw; got 16",
            "encoding",
        ),
        (
            {"turn_detection": "yes"},
            "turn_detection must be True (the server's defaults) or a mapping such as {'min_silence_ms': 400, "
            "'end_timeout_ms': 1500}; got 'yes'",
            "turn_detection",
        ),
        (
            {"turn_detection": {"x": 1, "a": 2, "end_threshold": 0.5}},
            "turn_detection has unknown field(s) ['a', 'x']; the fields are start_threshold, eager_end_threshold, "
            "end_threshold, min_silence_ms, end_timeout_ms",
            "turn_detection",
        ),
        (
            {"turn_detection": {"min_silence_ms": -1}},
            "turn_detection['min_silence_ms'] must be a whole number from 0 to 600000; got -1",
            "turn_detection['min_silence_ms']",
        ),
        (
            {"turn_detection": {"end_timeout_ms": 600_001}},
            "turn_detection['end_timeout_ms'] must be a whole number from 0 to 600000; got 600001",
            "turn_detection['end_timeout_ms']",
        ),
        (
            {"turn_detection": {"end_threshold": 1.5}},
            "turn_detection['end_threshold'] must be a number from 0 to 1; got 1.5",
            "turn_detection",
        ),
        (
            {"turn_detection": {"eager_end_threshold": -0.1}},
            "turn_detection['eager_end_threshold'] must be a number from 0 to 1; got -0.1",
            "turn_detection",
        ),
        (
            {"turn_detection": {"start_threshold": True}},
            "turn_detection['start_threshold'] must be a number from 0 to 1; got True",
            "turn_detection",
        ),
        (
            {"turn_detection": {"start_threshold": float("inf")}},
            "turn_detection['start_threshold'] must be a number from 0 to 1; got inf",
            "turn_detection",
        ),
        (
            {"turn_detection": {"start_threshold": "0.5"}},
            "turn_detection['start_threshold'] must be a number from 0 to 1; got '0.5'",
            "turn_detection",
        ),
        (
            {"turn_detection": True, "diarize": True},
            "Diarization is not compatible with turn detection (Mistral's realtime API refuses both together): "
            "drop diarize= or turn_detection=",
            "turn_detection",
        ),
        (
            {"speaker_references": ["a"]},
            "speaker_references must map each known speaker's name to a reference clip, e.g. {'Ada': 'ada.wav', "
            "'Ben': 'ben.wav'}; got ['a']",
            "speaker_references",
        ),
        (
            {"speaker_references": {str(i): b"" for i in range(9)}},
            "At most 8 speaker references are supported, got 9; keep the speakers you most need named",
            "speaker_references",
        ),
        (
            {"model": "x" * 300},  # a long value is cut in the message
            "model must be a model name such as 'voxtral-mini-latest'; got '" + "x" * 56 + "...",
            "model",
        ),
        ({"model": " m"}, "model must be a model name such as 'voxtral-mini-latest'; got ' m'", "model"),
        ({"model": "  "}, "model must be a model name such as 'voxtral-mini-latest'; got '  '", "model"),
        (
            {"colour": 1, "speed": 2},
            "unknown transcription option(s) ['colour', 'speed']; the options are model, timestamps, words, "
            "diarize, context_bias, language, temperature, num_speakers, target_streaming_delay_ms, "
            "speaker_references, turn_detection, encoding, sample_rate",
            "colour",
        ),
    ],
)
def test_each_invalid_value_is_refused_with_its_message(options, message, option):
    assert _refusal(lambda: TranscriptionRequest.create(**options)) == (message, option, False)


def test_values_at_the_edges_are_accepted_and_normalised():
    create = TranscriptionRequest.create
    assert create(model="m" * 256).model == "m" * 256
    assert _refusal(lambda: create(model="m" * 257))[1] == "model"
    # a repr of 59 or exactly 60 characters is shown whole; one of 61 is cut to 57 and "..."
    assert _refusal(lambda: create(model=7 * 10**58))[0].endswith(f"; got {7 * 10**58}")
    sixty = "6" + "0" * 59
    assert _refusal(lambda: create(model=int(sixty)))[0].endswith(f"; got {sixty}")
    assert _refusal(lambda: create(model=10**60))[0].endswith("; got 1" + "0" * 56 + "...")
    assert create(temperature=0).temperature == 0.0 and isinstance(create(temperature=0).temperature, float)
    assert create(temperature=2).temperature == 2.0
    assert create(num_speakers=1, diarize=True).num_speakers == 1
    assert create(num_speakers=__import__("numpy").int64(64), diarize=True).num_speakers == 64
    assert type(create(num_speakers=__import__("numpy").int64(64), diarize=True).num_speakers) is int
    assert create(target_streaming_delay_ms=80).target_streaming_delay_ms == 80
    assert create(target_streaming_delay_ms=2400).target_streaming_delay_ms == 2400
    assert create(sample_rate=8000).sample_rate == 8000 and create(sample_rate=96000).sample_rate == 96000
    assert create(context_bias=["z" * 200]).context_bias == ("z" * 200,)
    assert create(context_bias=" Joplin ").context_bias == ("Joplin",)
    assert create(context_bias=("a", " a", "b\tc")).context_bias == ("a", "b\tc")  # tabs are spaces
    assert create(context_bias=iter(["g"])).context_bias == ("g",)
    assert create(timestamps=("word", "segment")).timestamps == ("segment", "word")
    assert create(timestamps={"word"}).words == "auto" and create(timestamps=frozenset()).timestamps == ()
    assert create(timestamps=False).timestamps == () and create(timestamps=[]).words is None
    assert create(language="de").language == "de" and create(encoding="pcm_alaw").encoding == "pcm_alaw"


def test_a_request_of_no_options_is_the_default_request():
    request = TranscriptionRequest.create()
    assert request == TranscriptionRequest()
    assert (request.model, request.timestamps, request.words, request.diarize, request.resolved) == (
        None,
        (),
        None,
        False,
        False,
    )
    assert (request.speaker_references, request.turn_detection, request.encoding, request.sample_rate) == (
        (),
        None,
        None,
        None,
    )


def test_bias_terms_refusals():
    assert _refusal(lambda: voxnb.bias_terms(["ok", 3])) == (
        "bias_terms() takes strings; got int 3",
        "context_bias",
        False,
    )
    assert _refusal(lambda: voxnb.bias_terms(["ok", " , "])) == (
        "bias_terms() got an empty phrase ' , '; remove it from the list",
        "context_bias",
        False,
    )
    assert _refusal(lambda: voxnb.bias_terms(3)) == (
        "bias_terms() takes a list of strings; got int",
        "context_bias",
        False,
    )
    assert voxnb.bias_terms([",a ,b,", "a_b"]) == ["a_b"] and voxnb.bias_terms([]) == []


def test_turn_detection_fields_are_checked_converted_and_ordered():
    create = TranscriptionRequest.create
    assert create(turn_detection=True).turn_detection == ()
    assert create(turn_detection=False).turn_detection is None
    given = {"end_timeout_ms": 1500, "start_threshold": 1, "min_silence_ms": None, "end_threshold": 0}
    fields = create(turn_detection=given).turn_detection
    assert fields == (("start_threshold", 1.0), ("end_threshold", 0.0), ("end_timeout_ms", 1500))
    assert [type(v) for _, v in fields] == [float, float, int]
    edges = {"min_silence_ms": 0, "end_timeout_ms": 600_000, "eager_end_threshold": 1.0}
    assert dict(create(turn_detection=edges).turn_detection) == edges
    assert _refusal(lambda: create(turn_detection={"min_silence_ms": 1.5}))[0] == (
        "turn_detection['min_silence_ms'] must be a whole number from 0 to 600000; got 1.5"
    )


# -- resolving against a model: every capability refusal ----------------------------------------

VOXTRAL_1 = capabilities("voxtral-mini-2507")
REALTIME_2 = capabilities("voxtral-mini-transcribe-realtime-2602")
REALTIME_3 = capabilities("voxtral-mini-transcribe-realtime-3")
CHAT = capabilities("voxtral-small-latest")
WHISPER_LIVE = openai_capabilities("openai/whisper-large-v3", realtime=True)
LOCAL_STREAM = engine_capabilities("tiny (local)", languages=("en",), streaming=True)
TOO_MANY = [f"t{i}" for i in range(101)]
NO_TIMESTAMPS = (
    "mistralai/Voxtral-Mini-3B-2507 gives no timestamps on this server (vLLM answers Voxtral with text only); "
    "drop timestamps= and diarize=, or use Mistral's API, `voxnb serve` or the offline backend"
)
LANGUAGE_AND_TIMESTAMPS = (
    "language='en' cannot be combined with timestamps=['segment'] (or diarize=) on voxtral-mini-latest: the API "
    "documents them as incompatible and answers with empty text. Either drop language= and let the model detect "
    "it, or drop timestamps= (and diarize=)."
)


@pytest.mark.parametrize(
    ("caps", "options", "realtime", "message", "option", "unsupported"),
    [
        (
            VOXTRAL_2,
            {},
            True,
            "voxtral-mini-latest is not a realtime model; use e.g. 'voxtral-mini-transcribe-realtime-2602'",
            "model",
            True,
        ),
        (
            REALTIME_3,
            {},
            False,
            "voxtral-mini-transcribe-realtime-3 is a realtime model: the transcription endpoint refuses it; use e.g. "
            "'voxtral-mini-latest' or 'voxtral-mini-transcribe-3'",
            "model",
            True,
        ),
        (
            CHAT,
            {},
            False,
            "voxtral-small-latest is a chat model: the transcription endpoint refuses it; use e.g. "
            "'voxtral-mini-latest' or 'voxtral-mini-transcribe-3'",
            "model",
            True,
        ),
        (
            VLLM_VOXTRAL,
            {"diarize": True},
            False,
            "mistralai/Voxtral-Mini-3B-2507 cannot label speakers here (vLLM's transcription endpoint has no "
            "diarization); drop diarize=, or use Mistral's API, `voxnb serve` or the offline backend",
            "diarize",
            True,
        ),
        (
            REALTIME_2,
            {"diarize": True},
            True,
            "voxtral-mini-transcribe-realtime-2602 cannot label speakers here (realtime diarization came with "
            "Voxtral 3); drop diarize=, or use Mistral's API, `voxnb serve` or the offline backend",
            "diarize",
            True,
        ),
        (
            VOXTRAL_1,
            {"diarize": True},
            False,
            "voxtral-mini-2507 cannot label speakers here; drop diarize=, or use Mistral's API, `voxnb serve` or "
            "the offline backend",
            "diarize",
            True,
        ),
        (
            REALTIME_3,
            {"timestamps": "segment"},
            True,
            "realtime sessions give no timestamps (got timestamps=['segment']); drop timestamps=, then align the "
            "finished take with voxnb.align(transcript, transcript.audio)",
            "timestamps",
            True,
        ),
        (
            REALTIME_3,
            {"timestamps": "word", "diarize": True},  # the segment diarize implies is not asked
            True,
            "realtime sessions give no timestamps (got timestamps=['word']); drop timestamps=, then align the "
            "finished take with voxnb.align(transcript, transcript.audio)",
            "timestamps",
            True,
        ),
        (VLLM_VOXTRAL, {"timestamps": "segment"}, False, NO_TIMESTAMPS, "timestamps", True),
        (
            VOXTRAL_3,
            {"timestamps": "word", "words": "api"},
            False,
            "voxtral-mini-transcribe-3 gives no word timestamps (Voxtral 3 answers 400 to 'word'); use "
            "words='aligned' (forced alignment against the audio) or a model that has them, such as "
            "'voxtral-mini-2602'",
            "words",
            True,
        ),
        (
            VOXTRAL_2,
            {"diarize": True, "timestamps": "word", "words": "api"},
            False,
            "voxtral-mini-latest gives word timestamps only without diarization (the API wants exactly "
            "['segment'] with diarize=True); use words='aligned' or drop diarize=",
            "words",
            True,
        ),
        (
            VLLM_VOXTRAL,
            {"words": "aligned"},
            False,
            "aligned word times need segment times to align within, and mistralai/Voxtral-Mini-3B-2507 gives "
            "none here",
            "words",
            True,
        ),
        (
            VLLM_VOXTRAL,
            {"context_bias": ["a"]},
            False,
            "mistralai/Voxtral-Mini-3B-2507 takes no context_bias here (vLLM ignores it); drop context_bias=, or "
            "use Mistral's API (voxtral-mini-latest or Voxtral 3), `voxnb serve` or the offline backend",
            "context_bias",
            True,
        ),
        (
            VOXTRAL_1,
            {"context_bias": ["a"]},
            False,
            "voxtral-mini-2507 takes no context_bias here; drop context_bias=, or use Mistral's API "
            "(voxtral-mini-latest or Voxtral 3), `voxnb serve` or the offline backend",
            "context_bias",
            True,
        ),
        (
            VOXTRAL_2,
            {"context_bias": TOO_MANY},
            False,
            "context_bias has 101 entries; voxtral-mini-latest accepts at most 100. Keep the terms most likely "
            "to be misrecognised.",
            "context_bias",
            False,
        ),
        (
            VOXTRAL_2,
            {"context_bias": ["ok", "a b"]},
            False,
            "context_bias entry 'a b' is not a single term: voxtral-mini-latest refuses whitespace inside a term; "
            "write it as 'a_b', convert the whole list with voxnb.bias_terms([...]), or use a Voxtral 3 model, "
            "which takes phrases",
            "context_bias",
            False,
        ),
        (
            REALTIME_3,
            {"temperature": 0.5},
            True,
            "realtime sessions take no temperature (the model decodes greedily); drop temperature=",
            "temperature",
            True,
        ),
        (
            REALTIME_2,
            {"language": "en"},
            True,
            "voxtral-mini-transcribe-realtime-2602 takes no language= (it detects the language itself); drop "
            "language=",
            "language",
            True,
        ),
        (
            LOCAL,
            {"language": "fr"},
            False,
            "faster-whisper-tiny.en (local) does not transcribe language='fr'; it knows en (offline, a "
            "multilingual model is chosen with model=)",
            "language",
            False,
        ),
        (
            VOXTRAL_2,
            {"language": "sv"},
            False,
            "voxtral-mini-latest does not transcribe language='sv'; it knows en, zh, hi, es, ar, fr, pt, ru, de, "
            "ja, ko, it, nl",
            "language",
            False,
        ),
        (
            VOXTRAL_2,
            {"language": "en", "timestamps": "segment"},
            False,
            LANGUAGE_AND_TIMESTAMPS,
            "language",
            False,
        ),
        (VOXTRAL_2, {"language": "en", "diarize": True}, False, LANGUAGE_AND_TIMESTAMPS, "language", False),
        (
            VOXTRAL_2,
            {"diarize": True, "num_speakers": 2},
            False,
            "num_speakers= only works with the offline engine; voxtral-mini-latest finds the number of speakers "
            "itself: drop num_speakers=",
            "num_speakers",
            True,
        ),
        (
            VOXTRAL_2,
            {"target_streaming_delay_ms": 480},
            False,
            "target_streaming_delay_ms= applies to realtime sessions only; drop it for file transcription",
            "target_streaming_delay_ms",
            True,
        ),
        (
            LOCAL_STREAM,
            {"target_streaming_delay_ms": 480},
            True,
            "tiny (local) has no streaming delay setting (the offline engine commits on its own schedule); drop "
            "target_streaming_delay_ms=",
            "target_streaming_delay_ms",
            True,
        ),
        (
            REALTIME_2,
            {"target_streaming_delay_ms": 1280},
            True,
            "target_streaming_delay_ms=1280 is not accepted by voxtral-mini-transcribe-realtime-2602: use 80-1200 "
            "or 2400 (ms)",
            "target_streaming_delay_ms",
            False,
        ),
        (
            REALTIME_2,
            {"target_streaming_delay_ms": 500},
            True,
            "target_streaming_delay_ms=500 is not accepted by voxtral-mini-transcribe-realtime-2602: use "
            "multiples of 80 from 80 to 1200, or 2400 (ms)",
            "target_streaming_delay_ms",
            False,
        ),
        (
            REALTIME_3,
            {"target_streaming_delay_ms": 1300},
            True,
            "target_streaming_delay_ms=1300 is not accepted by voxtral-mini-transcribe-realtime-3: use 80-1200 or "
            "2400 (ms)",
            "target_streaming_delay_ms",
            False,
        ),
        (
            VOXTRAL_3,
            {"turn_detection": True},
            False,
            "turn_detection is only supported on the realtime transcription endpoint; drop it for file "
            "transcription (diarize=True splits a file by speaker)",
            "turn_detection",
            True,
        ),
        (
            REALTIME_2,
            {"turn_detection": {"min_silence_ms": 400}},
            True,
            "voxtral-mini-transcribe-realtime-2602 has no turn detection (it came with Voxtral 3's realtime model, "
            "'voxtral-mini-transcribe-realtime-3'); drop turn_detection=",
            "turn_detection",
            True,
        ),
        (
            VOXTRAL_3,
            {"encoding": "pcm_mulaw"},
            False,
            "encoding= describes the PCM of a realtime session; a file's own header says how it is encoded: drop "
            "encoding=",
            "encoding",
            True,
        ),
        (
            VOXTRAL_3,
            {"sample_rate": 8000},
            False,
            "sample_rate= describes the PCM of a realtime session; a file's own header says how it is encoded: "
            "drop sample_rate=",
            "sample_rate",
            True,
        ),
        (
            WHISPER_LIVE,
            {"encoding": "pcm_mulaw"},
            True,
            "openai/whisper-large-v3 takes pcm_s16le on this server, not encoding='pcm_mulaw'; convert the audio "
            "(voxnb.Audio.to_pcm16()) or send pcm_s16le",
            "encoding",
            True,
        ),
        (
            replace(REALTIME_3, encodings=("pcm_s16le", "pcm_f32le")),
            {"encoding": "pcm_mulaw"},
            True,
            "voxtral-mini-transcribe-realtime-3 takes pcm_s16le, pcm_f32le on this server, not "
            "encoding='pcm_mulaw'; convert the audio (voxnb.Audio.to_pcm16()) or send pcm_s16le",
            "encoding",
            True,
        ),
        (
            replace(REALTIME_3, encodings=()),
            {"encoding": "pcm_s16le"},
            True,
            "voxtral-mini-transcribe-realtime-3 takes no audio format setting on this server, not "
            "encoding='pcm_s16le'; convert the audio (voxnb.Audio.to_pcm16()) or send pcm_s16le",
            "encoding",
            True,
        ),
        (
            WHISPER_LIVE,
            {"sample_rate": 8000},
            True,
            "openai/whisper-large-v3 takes audio at 16000 Hz on this server, not sample_rate=8000; resample it "
            "(voxnb.Audio.resample) or drop sample_rate=",
            "sample_rate",
            True,
        ),
        (
            replace(REALTIME_3, sample_rates=(16000, 48000)),
            {"sample_rate": 8000},
            True,
            "voxtral-mini-transcribe-realtime-3 takes audio at 16000 to 48000 Hz on this server, not "
            "sample_rate=8000; resample it (voxnb.Audio.resample) or drop sample_rate=",
            "sample_rate",
            True,
        ),
        (
            replace(REALTIME_3, sample_rates=(16000, 48000)),
            {"sample_rate": 48001},
            True,
            "voxtral-mini-transcribe-realtime-3 takes audio at 16000 to 48000 Hz on this server, not "
            "sample_rate=48001; resample it (voxnb.Audio.resample) or drop sample_rate=",
            "sample_rate",
            True,
        ),
    ],
)
def test_each_capability_refusal_says_what_to_do(caps, options, realtime, message, option, unsupported):
    request = TranscriptionRequest.create(**options)
    assert _refusal(lambda: request.resolve(caps, realtime=realtime)) == (message, option, unsupported)


def test_what_each_model_accepts_at_the_edges():
    live = TranscriptionRequest.create
    for delay in (80, 160, 1200, 2400):
        assert (
            live(target_streaming_delay_ms=delay).resolve(REALTIME_2, realtime=True).target_streaming_delay_ms
        )
    for delay in (1280, 2320):  # multiples of 80, between the ranges
        refusal = _refusal(
            lambda d=delay: live(target_streaming_delay_ms=d).resolve(REALTIME_2, realtime=True)
        )
        assert refusal[0].endswith("use 80-1200 or 2400 (ms)")
    assert (
        live(target_streaming_delay_ms=1199).resolve(REALTIME_3, realtime=True).target_streaming_delay_ms
        == 1199
    )
    # a diarized realtime session of Voxtral 3 labels its own segments; language goes with it there
    both = live(diarize=True, language="fr", context_bias=["Ada Lovelace"]).resolve(REALTIME_3, realtime=True)
    assert (
        both.resolved
        and both.timestamps == ("segment",)
        and both.model == "voxtral-mini-transcribe-realtime-3"
    )
    assert resolve(VOXTRAL_3, language="sv").language == "sv"  # any language where none are listed
    assert resolve(LOCAL, diarize=True, num_speakers=3).num_speakers == 3
    assert resolve(VOXTRAL_2, context_bias=TOO_MANY[:100]).resolved
    assert (
        live(sample_rate=16000, encoding="pcm_s16le").resolve(WHISPER_LIVE, realtime=True).sample_rate
        == 16000
    )
    assert live(temperature=0.3).resolve(VOXTRAL_2).temperature == 0.3


def test_where_word_times_come_from():
    assert resolve(VOXTRAL_2, timestamps="word").words == "api"
    assert resolve(VOXTRAL_2, timestamps="word", diarize=True).words == "aligned"
    assert resolve(VOXTRAL_3, timestamps="word").words == "aligned"
    assert resolve(LOCAL, timestamps="word", diarize=True).words == "api"
    no_words = engine_capabilities("e", languages=None, word_timestamps=False)
    assert resolve(no_words, timestamps="word").words == "aligned"
    assert resolve(VOXTRAL_2, timestamps="word", words="aligned").words == "aligned"
    assert resolve(VOXTRAL_2, timestamps="word", words="api").words == "api"
    assert resolve(VOXTRAL_2, timestamps="segment").words is None
    assert resolve(VOXTRAL_3, words="aligned").wire_timestamps == ("segment",)
    aligned = resolve(VOXTRAL_3, timestamps=["segment", "word"])
    assert aligned.align_words and aligned.timestamps == ("segment", "word")
    assert not resolve(VOXTRAL_2, timestamps="word").align_words


# -- what a resolved request produces ------------------------------------------------------------


def test_the_record_holds_every_option_and_the_later_ones_only_when_set():
    request = resolve(
        LOCAL, diarize=True, num_speakers=2, context_bias=["Ada"], temperature=0.4, language="en"
    )
    assert request.record() == {
        "model": "faster-whisper-tiny.en (local)",
        "timestamp_granularities": ["segment"],
        "words": None,
        "diarize": True,
        "context_bias": ["Ada"],
        "language": "en",
        "temperature": 0.4,
        "num_speakers": 2,
        "target_streaming_delay_ms": None,
    }
    live = TranscriptionRequest.create(
        turn_detection={"min_silence_ms": 400},
        encoding="pcm_mulaw",
        sample_rate=8000,
        target_streaming_delay_ms=480,
    ).resolve(REALTIME_3, realtime=True)
    record = live.record()
    assert {
        k: record[k] for k in ("turn_detection", "encoding", "sample_rate", "target_streaming_delay_ms")
    } == {
        "turn_detection": {"min_silence_ms": 400},
        "encoding": "pcm_mulaw",
        "sample_rate": 8000,
        "target_streaming_delay_ms": 480,
    }
    assert "speaker_references" not in record
    assert TranscriptionRequest.create(turn_detection=True).record()["turn_detection"] == {}


def test_a_record_gives_back_its_request():
    live = TranscriptionRequest.create(
        model="voxtral-mini-transcribe-realtime-3",
        turn_detection={"end_threshold": 0.4},
        encoding="pcm_f32le",
        sample_rate=24000,
        target_streaming_delay_ms=960,
        context_bias=["Ada"],
        language="fr",
    )
    assert TranscriptionRequest.from_record(live.record()) == live
    file = TranscriptionRequest.create(
        model="m", timestamps="segment", diarize=True, temperature=0.2, num_speakers=3, context_bias=["x"]
    )
    assert TranscriptionRequest.from_record(file.record()) == file
    assert TranscriptionRequest.from_record({}) == TranscriptionRequest()
    assert TranscriptionRequest.from_record(
        {"diarize": 0, "context_bias": [], "timestamp_granularities": []}
    ) == (TranscriptionRequest())
    # aligned word times: "word" was not sent, but words= puts it back
    aligned = TranscriptionRequest.from_record(resolve(VOXTRAL_3, timestamps=["segment", "word"]).record())
    assert aligned.timestamps == ("segment", "word") and aligned.words == "aligned"


def test_options_are_the_keywords_that_make_the_request_again():
    assert TranscriptionRequest.create().options() == {}
    request = TranscriptionRequest.create(
        timestamps="word", context_bias=["a", "b"], language="en", temperature=0.0, turn_detection=True
    )
    assert request.options() == {
        "timestamps": ["word"],
        "words": "auto",
        "context_bias": ["a", "b"],
        "language": "en",
        "temperature": 0.0,
        "turn_detection": True,
    }
    assert TranscriptionRequest.create(**request.options()) == request
    fields = TranscriptionRequest.create(turn_detection={"min_silence_ms": 10}, sample_rate=8000).options()
    assert fields == {"turn_detection": {"min_silence_ms": 10}, "sample_rate": 8000}
    resolved = resolve(VOXTRAL_2, diarize=True)
    assert resolved.options() == {"model": "voxtral-mini-latest", "timestamps": ["segment"], "diarize": True}


def test_form_fields_in_each_dialect():
    plain = resolve(VOXTRAL_2)
    assert plain.form_fields() == {"model": "voxtral-mini-latest", "stream": "false", "diarize": "false"}
    assert plain.form_fields("openai") == {"model": "voxtral-mini-latest"}
    assert plain.form_fields("openai", stream=True) == {"model": "voxtral-mini-latest", "stream": "true"}
    spoken = resolve(VOXTRAL_2, language="fr", temperature=1.5)
    assert spoken.form_fields() == {
        "model": "voxtral-mini-latest",
        "stream": "false",
        "diarize": "false",
        "language": "fr",
        "temperature": "1.5",
    }
    assert spoken.form_fields("openai") == {
        "model": "voxtral-mini-latest",
        "language": "fr",
        "temperature": "1.5",
    }
    aligned = resolve(VOXTRAL_3, timestamps="word")  # word times made here: only segments are asked
    assert aligned.form_fields()["timestamp_granularities"] == ["segment"]
    assert _refusal(lambda: plain.form_fields("vllm")) == (
        "dialect must be one of ('mistral', 'openai'); got 'vllm'",
        "dialect",
        False,
    )


def test_an_unresolved_request_produces_nothing():
    request = TranscriptionRequest.create(diarize=True)
    message = ("resolve the request against a model first (TranscriptionRequest.resolve)", None, False)
    for produce in (request.form_fields, request.json_body, request.session_update, request.engine_options):
        assert _refusal(produce) == message


def test_engine_options_and_json_body():
    request = resolve(LOCAL, timestamps="word", context_bias=["Ada"], temperature=0.1, language="en")
    assert request.engine_options() == {
        "timestamps": ["word"],
        "diarize": False,
        "context_bias": ["Ada"],
        "language": "en",
        "temperature": 0.1,
        "num_speakers": None,
    }
    assert resolve(LOCAL).engine_options() == {
        "timestamps": None,
        "diarize": False,
        "context_bias": None,
        "language": None,
        "temperature": None,
        "num_speakers": None,
    }
    assert resolve(VOXTRAL_2).json_body() == {"diarize": False}
    assert resolve(VOXTRAL_2, language="fr", temperature=0.0, context_bias=["Ada"]).json_body() == {
        "diarize": False,
        "context_bias": ["Ada"],
        "language": "fr",
        "temperature": 0.0,
    }
    assert resolve(VOXTRAL_2, timestamps="word").json_body() == {
        "diarize": False,
        "timestamp_granularities": ["word"],
    }


def test_a_session_update_holds_every_setting():
    bare = TranscriptionRequest.create().resolve(REALTIME_3, realtime=True)
    assert bare.session_update() == {"audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000}}
    full = TranscriptionRequest.create(
        target_streaming_delay_ms=480, context_bias=["Ada"], language="fr", diarize=True
    ).resolve(REALTIME_3, realtime=True)
    assert full.session_update() == {
        "audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000},
        "target_streaming_delay_ms": 480,
        "context_bias": ["Ada"],
        "language": "fr",
        "diarize": True,
    }
    turns = TranscriptionRequest.create(turn_detection=True).resolve(REALTIME_3, realtime=True)
    assert turns.session_update()["turn_detection"] == {}


# -- known speakers: the clips are read, checked and sent as base64, never recorded --------------


def _clip(seconds: float, seed: int = 0, sr: int = 16000):
    import numpy as np

    rng = np.random.default_rng(seed)
    return voxnb.Audio.from_array(rng.uniform(-0.3, 0.3, int(sr * seconds)).astype("float32"), sr)


def test_speaker_clips_of_every_form_are_read_and_checked(tmp_path):
    import base64
    import hashlib

    import numpy as np

    wav = _clip(4.0).to_wav()
    path = tmp_path / "ada.wav"
    path.write_bytes(wav)
    ada = SpeakerReference.from_clip("Ada", path)
    assert (ada.name, ada.data, ada.seconds) == ("Ada", wav, 4.0)
    assert ada.sha256 == hashlib.sha256(wav).hexdigest() and "data" not in repr(ada)
    assert base64.b64decode(ada.base64) == wav and isinstance(ada.base64, str)
    assert SpeakerReference.from_clip("Ada", str(path)) == ada
    assert SpeakerReference.from_clip("Ada", wav) == ada
    assert SpeakerReference.from_clip("Ada", bytearray(wav)) == ada
    assert SpeakerReference.from_clip("Ada", memoryview(wav)) == ada
    audio = voxnb.Audio.load(wav)
    assert SpeakerReference.from_clip("Ada", audio).data == audio.to_wav()
    samples = SpeakerReference.from_clip("Ben", (np.zeros(48000, dtype="float32") + 0.1, 16000))
    assert samples.seconds == 3.0 and voxnb.Audio.load(samples.data).duration == pytest.approx(3.0)
    # at both limits
    assert SpeakerReference.from_clip("Cy", _clip(15.0)).seconds == 15.0
    assert SpeakerReference.from_clip("Cy", _clip(3.0)).seconds == 3.0
    assert SpeakerReference.from_clip("Cy", _clip(10 / 3)).seconds == 3.333


@pytest.mark.parametrize(
    ("name", "clip", "message"),
    [
        ("Ada", 2.0, "speaker_references['Ada'] lasts 2.00 s;"),
        ("Ada", 15.5, "speaker_references['Ada'] lasts 15.50 s;"),
    ],
)
def test_a_clip_too_short_or_too_long_is_refused(name, clip, message):
    text, option, unsupported = _refusal(lambda: SpeakerReference.from_clip(name, _clip(clip)))
    assert text == (
        f"{message} reference clips must last 3 to 15 seconds (Mistral's limit): cut one turn of that speaker, "
        "e.g. audio.slice(start, end)"
    )
    assert (option, unsupported) == ("speaker_references", False)


def test_a_clip_that_cannot_be_read_says_so(tmp_path):
    missing = tmp_path / "nobody.wav"
    assert _refusal(lambda: SpeakerReference.from_clip("Ada", missing)) == (
        f"speaker_references['Ada']: the clip file {str(missing)!r} does not exist; check the path; give a path, "
        "encoded audio bytes, a voxnb.Audio or (samples, sr)",
        "speaker_references",
        False,
    )
    text, option, _ = _refusal(lambda: SpeakerReference.from_clip("Ada", b"not audio"))
    assert (
        text.startswith("speaker_references['Ada']: cannot decode the audio")
        and option == "speaker_references"
    )
    assert text.endswith("; give a path, encoded audio bytes, a voxnb.Audio or (samples, sr)")
    assert _refusal(lambda: SpeakerReference.from_clip("Ada", tmp_path))[0].startswith(
        f"speaker_references['Ada']: the clip file {str(tmp_path)!r} does not exist"
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("", "''"),
        (" Ada", "' Ada'"),
        ("Ada ", "'Ada '"),
        ("x" * 65, "'" + "x" * 56 + "..."),
        (3, "3"),
        (None, "None"),
    ],
)
def test_a_speaker_needs_a_plain_name(name, shown):
    assert _refusal(lambda: SpeakerReference.from_clip(name, b"")) == (
        "speaker_references names must be non-empty strings of at most 64 characters without surrounding spaces, "
        f"e.g. {{'Ada': 'ada.wav'}}; got {shown}",
        "speaker_references",
        False,
    )


def test_known_speakers_in_the_request_the_record_and_the_wire():
    import base64
    import json

    ada, ben = _clip(3.5, seed=1), _clip(4.0, seed=2)
    assert SpeakerReference.from_clip("x" * 64, ada).name == "x" * 64
    assert _refusal(lambda: TranscriptionRequest.create(speaker_references={"Ada": ada})) == (
        "speaker_references= needs diarize=True: the references name the speakers diarization finds (Mistral: "
        "'When enabled, diarize must be true')",
        "speaker_references",
        False,
    )
    request = TranscriptionRequest.create(diarize=True, speaker_references={"Ada": ada, "Ben": ben})
    refs = request.speaker_references
    assert [r.name for r in refs] == ["Ada", "Ben"]
    # a checked reference passes through as it is; none at all is no references
    assert TranscriptionRequest.create(
        diarize=True, speaker_references={"Ada": refs[0]}
    ).speaker_references == (refs[0],)
    assert TranscriptionRequest.create(diarize=True, speaker_references={}).speaker_references == ()
    eight = {f"s{i}": refs[0] for i in range(8)}
    assert len(TranscriptionRequest.create(diarize=True, speaker_references=eight).speaker_references) == 8
    resolved = request.resolve(VOXTRAL_3)
    assert resolved.record()["speaker_references"] == {"Ada": refs[0].sha256, "Ben": refs[1].sha256}
    clips = {"Ada": refs[0].base64, "Ben": refs[1].base64}
    assert resolved.json_body()["speaker_references"] == clips
    [(name, (filename, content, kind))] = resolved.json_parts()
    assert (name, filename, kind) == ("speaker_references", None, "application/json")
    assert json.loads(content) == clips and ", " not in content and ": " not in content
    assert base64.b64decode(json.loads(content)["Ben"]) == refs[1].data
    assert resolved.options()["speaker_references"] == {"Ada": refs[0], "Ben": refs[1]}
    assert TranscriptionRequest.create(**resolved.options()) == resolved.__class__(
        **{**resolved.__dict__, "resolved": False}
    )
    live = request.resolve(REALTIME_3, realtime=True).session_update()
    assert live["speaker_references"] == clips and live["diarize"] is True
    assert _refusal(lambda: request.resolve(VOXTRAL_2)) == (
        "voxtral-mini-latest cannot name speakers from reference clips (Voxtral 3, its realtime model, `voxnb "
        "serve` and the offline engine can); drop speaker_references= and rename the speakers afterwards with "
        "transcript.rename_speakers({'speaker_1': 'Ada'})",
        "speaker_references",
        True,
    )


# -- requests read from the wire: a form, a JSON body, a realtime session --------------------------


def test_a_form_of_every_field_in_each_dialect():
    import base64

    from starlette.datastructures import FormData

    wav = _clip(3.0).to_wav()
    refs = '{"Ada": "' + base64.b64encode(wav).decode() + '"}'
    form = FormData(
        [
            ("model", "voxtral-mini-transcribe-3"),
            ("diarize", " TRUE "),
            ("timestamp_granularities", "segment"),
            ("context_bias", "Ada"),
            ("context_bias", "Ben"),
            ("language", "fr"),
            ("temperature", "0.25"),
            ("speaker_references", refs),
        ]
    )
    request = TranscriptionRequest.from_form(form)
    assert request == TranscriptionRequest.create(
        model="voxtral-mini-transcribe-3",
        diarize=True,
        timestamps="segment",
        context_bias=["Ada", "Ben"],
        language="fr",
        temperature=0.25,
        speaker_references={"Ada": wav},
    )
    # the last of a repeated single field counts, as in a plain mapping of lists
    assert TranscriptionRequest.from_form({"model": ["a", "b"], "diarize": "0"}).model == "b"
    assert TranscriptionRequest.from_form({"model": ("a",), "diarize": "False"}).diarize is False
    openai = {"model": "m", "timestamp_granularities[]": ["segment", "word"], "stream": "true"}
    read = TranscriptionRequest.from_form(openai, dialect="openai")
    assert read.timestamps == ("segment", "word") and read.words == "api"
    # the bare name means nothing to OpenAI's dialect
    assert (
        TranscriptionRequest.from_form(
            {"model": "m", "timestamp_granularities": "word"}, dialect="openai"
        ).timestamps
        == ()
    )
    # streaming lifts Mistral's diarize rule; the stream field itself is not an option
    streamed = TranscriptionRequest.from_form({"model": "m", "diarize": "1", "stream": "true"})
    assert streamed.diarize and streamed.timestamps == ("segment",)
    # OpenAI's dialect has no such rule
    assert TranscriptionRequest.from_form({"model": "m", "diarize": "true"}, dialect="openai").diarize


def test_what_a_form_refuses():
    assert _refusal(lambda: TranscriptionRequest.from_form({"model": "m", "diarize": "maybe"})) == (
        "diarize must be 'true' or 'false' on the wire; got 'maybe'",
        "diarize",
        False,
    )
    assert _refusal(lambda: TranscriptionRequest.from_form({"model": "m", "stream": "2"})) == (
        "stream must be 'true' or 'false' on the wire; got '2'",
        "stream",
        False,
    )
    assert _refusal(lambda: TranscriptionRequest.from_form({"model": "m", "temperature": "warm"})) == (
        "temperature must be a number; got 'warm'",
        "temperature",
        False,
    )
    form = {"model": "m", "diarize": "true", "timestamp_granularities": ["segment", "word"]}
    assert _refusal(lambda: TranscriptionRequest.from_form(form)) == (
        "Assertion failed, When diarize is set to True and streaming is disabled, the timestamp granularity must "
        "be set to ['segment'], got ['segment', 'word']",
        "timestamps",
        False,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "speaker_references must be a JSON object of name → base64 audio"),
        (b"[1]", "speaker_references must be a JSON object of name → base64 audio; got [1]"),
        ('{"Ada": "***"}', "speaker_references['Ada'] must be base64 of an audio file"),
        ({"Ada": 3}, "speaker_references['Ada'] must be base64 of an audio file"),
        ({"Ada": "QQ="}, "speaker_references['Ada'] must be base64 of an audio file"),
    ],
)
def test_speaker_references_on_the_wire_must_be_base64_in_an_object(value, message):
    body = {"diarize": True, "timestamp_granularities": ["segment"], "speaker_references": value}
    if not isinstance(value, dict):
        body = {
            "model": "m",
            "diarize": "true",
            "timestamp_granularities": "segment",
            "speaker_references": value,
        }
        call = lambda: TranscriptionRequest.from_form(body)  # noqa: E731
    else:
        call = lambda: TranscriptionRequest.from_body(body)  # noqa: E731
    assert _refusal(call) == (message, "speaker_references", False)


def test_a_json_body_is_read_with_its_types():
    import base64

    wav = _clip(3.0).to_wav()
    body = {
        "file_id": "f",
        "model": "voxtral-mini-transcribe-3",
        "stream": False,
        "diarize": True,
        "timestamp_granularities": ["segment"],
        "context_bias": ["Ada"],
        "language": "fr",
        "temperature": 1,
        "speaker_references": {"Ada": base64.b64encode(wav).decode()},
    }
    request = TranscriptionRequest.from_body(body, model="voxtral-mini-transcribe-3")
    assert request == TranscriptionRequest.create(
        model="voxtral-mini-transcribe-3",
        diarize=True,
        timestamps="segment",
        context_bias=["Ada"],
        language="fr",
        temperature=1.0,
        speaker_references={"Ada": wav},
    )
    assert TranscriptionRequest.from_body({"file_url": "u", "model": "line"}).model == "line"
    assert TranscriptionRequest.from_body({"file_url": "u"}, model="job").model == "job"
    words = TranscriptionRequest.from_body({"timestamp_granularities": ["word"], "diarize": False})
    assert words.words == "api" and not words.diarize
    segments = TranscriptionRequest.from_body({"timestamp_granularities": ["segment"]})
    assert (segments.timestamps, segments.words) == (("segment",), None)
    assert TranscriptionRequest.from_body({"context_bias": [], "stream": None}) == TranscriptionRequest()


@pytest.mark.parametrize(
    ("body", "message", "option"),
    [
        ([1], "a request body must be a JSON object; got [1]", "body"),
        (
            {"colour": 1, "audio": 2},
            "unknown field(s) ['audio', 'colour'] in the request body; the transcription fields are "
            "context_bias, diarize, file_id, file_url, language, model, speaker_references, stream, "
            "temperature, timestamp_granularities",
            "audio",
        ),
        ({"stream": True}, "a batch request cannot stream: drop 'stream' or set it to false", "stream"),
        ({"stream": "false"}, "a batch request cannot stream: drop 'stream' or set it to false", "stream"),
        (
            {"model": "other"},
            "the body names model 'other' but the job runs 'job'; a job runs one model",
            "model",
        ),
        (
            {"timestamp_granularities": "segment"},
            "timestamp_granularities in the request body must be JSON array of strings; got 'segment'",
            "timestamp_granularities",
        ),
        (
            {"diarize": "true"},
            "diarize in the request body must be JSON true or false; got 'true'",
            "diarize",
        ),
        ({"diarize": 1}, "diarize in the request body must be JSON true or false; got 1", "diarize"),
        (
            {"context_bias": "Ada"},
            "context_bias in the request body must be JSON array of strings; got 'Ada'",
            "context_bias",
        ),
        ({"language": 7}, "language in the request body must be JSON string; got 7", "language"),
        ({"temperature": "1"}, "temperature in the request body must be JSON number; got '1'", "temperature"),
        (
            {"temperature": True},
            "temperature in the request body must be JSON number; got True",
            "temperature",
        ),
        (
            {"speaker_references": ["a"]},
            "speaker_references in the request body must be JSON object of name → base64 audio; got ['a']",
            "speaker_references",
        ),
        (
            {"diarize": True},
            "Assertion failed, When diarize is set to True and streaming is disabled, the timestamp granularity "
            "must be set to ['segment'], got []",
            "timestamps",
        ),
    ],
)
def test_what_a_json_body_refuses(body, message, option):
    assert _refusal(lambda: TranscriptionRequest.from_body(body, model="job")) == (message, option, False)


def test_a_realtime_session_update_is_read():
    import base64

    wav = _clip(3.0).to_wav()
    session = {
        "audio_format": {"encoding": "pcm_mulaw", "sample_rate": 8000},
        "target_streaming_delay_ms": 960,
        "context_bias": ["Ada"],
        "language": "fr",
        "diarize": True,
        "speaker_references": {"Ada": base64.b64encode(wav).decode()},
    }
    request = TranscriptionRequest.from_session(session, model="voxtral-mini-transcribe-realtime-3")
    assert request == TranscriptionRequest.create(
        model="voxtral-mini-transcribe-realtime-3",
        encoding="pcm_mulaw",
        sample_rate=8000,
        target_streaming_delay_ms=960,
        context_bias=["Ada"],
        language="fr",
        diarize=True,
        speaker_references={"Ada": wav},
    )
    # it is what session_update() sends, read back
    assert TranscriptionRequest.from_session(request.resolve(REALTIME_3, realtime=True).session_update()) == (
        replace(request, model=None)
    )
    assert TranscriptionRequest.from_session({}) == TranscriptionRequest()
    assert TranscriptionRequest.from_session({"turn_detection": {}}).turn_detection == ()
    assert TranscriptionRequest.from_session({"turn_detection": True}).turn_detection == ()
    assert TranscriptionRequest.from_session({"turn_detection": False}).turn_detection is None
    fields = TranscriptionRequest.from_session({"turn_detection": {"min_silence_ms": 300}}).turn_detection
    assert fields == (("min_silence_ms", 300),)
    assert _refusal(lambda: TranscriptionRequest.from_session("x")) == (
        "session must be a JSON object; got 'x'",
        "session",
        False,
    )
    assert _refusal(lambda: TranscriptionRequest.from_session({"audio_format": "pcm"})) == (
        "audio_format must be an object {encoding, sample_rate}; got 'pcm'",
        "encoding",
        False,
    )
    assert (
        _refusal(lambda: TranscriptionRequest.from_session({"turn_detection": "on"}))[1] == "turn_detection"
    )
