"""Request parameters: validation that says the fix, and the exact wire form of each dialect."""

from __future__ import annotations

import warnings

import pytest

import voxnb
from voxnb.api.params import TranscriptionParams
from voxnb.api.retry import RetryPolicy, parse_retry_after


def create(**kwargs):
    kwargs.setdefault("model", "voxtral-mini-latest")
    return TranscriptionParams.create(**kwargs)


def test_bias_terms_joins_phrases_with_underscores_and_drops_duplicates():
    assert voxnb.bias_terms(["Barack Obama", "Washington, D.C.", " Joplin ", "Barack  Obama"]) == [
        "Barack_Obama",
        "Washington_D.C.",
        "Joplin",
    ]
    assert voxnb.bias_terms("American people") == ["American_people"]
    with pytest.raises(voxnb.ParameterError, match="empty phrase"):
        voxnb.bias_terms(["ok", " , "])


@pytest.mark.parametrize("term", ["Barack Obama", "a,b", "tab\there"])
def test_context_bias_with_whitespace_or_comma_is_refused_with_the_fix(term):
    with pytest.raises(voxnb.ParameterError) as info:
        create(context_bias=["fine", term])
    message = str(info.value)
    assert repr(term) in message and "bias_terms" in message
    assert repr(voxnb.bias_terms([term])[0]) in message


def test_context_bias_limit_is_100_entries():
    assert len(create(context_bias=[f"t{i}" for i in range(100)]).context_bias) == 100
    with pytest.raises(voxnb.ParameterError, match=r"101 entries.*at most 100"):
        create(context_bias=[f"t{i}" for i in range(101)])


def test_diarize_needs_exactly_segment_timestamps():
    assert create(diarize=True, timestamps="segment").diarize
    for timestamps in (None, "word", ["segment", "word"]):
        with pytest.raises(voxnb.ParameterError, match="timestamps='segment'"):
            create(diarize=True, timestamps=timestamps)


def test_language_with_timestamps_is_refused_naming_both_ways_out():
    with pytest.raises(voxnb.ParameterError) as info:
        create(language="en", timestamps=["segment"])
    message = str(info.value)
    assert "drop language=" in message and "drop timestamps=" in message
    assert create(language="fr").language == "fr"


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"language": "english"}, "two-letter"),
        ({"timestamps": "sentence"}, "'segment', 'word'"),
        ({"temperature": -1}, ">= 0"),
        ({"temperature": float("nan")}, "finite"),
        ({"temperature": "hot"}, "number"),
        ({"diarize": "yes"}, "True or False"),
        ({"model": ""}, "model name"),
        ({"dialect": "grpc"}, "dialect"),
    ],
)
def test_bad_parameters_raise_parameter_error(kwargs, pattern):
    with pytest.raises(voxnb.ParameterError, match=pattern):
        create(**kwargs)


def test_mistral_wire_form_uses_repeated_bare_names_and_true_false():
    params = create(
        timestamps=["word", "segment"],
        diarize=False,
        context_bias=["Joplin", "American_people"],
        temperature=0.0,
    )
    fields = params.form_fields()
    assert fields == {
        "model": "voxtral-mini-latest",
        "stream": "false",
        "diarize": "false",
        "timestamp_granularities": ["segment", "word"],
        "context_bias": ["Joplin", "American_people"],
        "temperature": "0.0",
    }
    assert not any(name.endswith("[]") for name in fields)
    assert create(timestamps="segment", diarize=True).form_fields(stream=True)["stream"] == "true"


def test_openai_dialect_drops_diarize_and_bias_with_a_warning_and_brackets_lists():
    with pytest.warns(UserWarning, match="ignores diarize and context_bias"):
        params = create(dialect="openai", timestamps="segment", diarize=True, context_bias=["Joplin"])
    assert not params.diarize and params.context_bias == ()
    fields = params.form_fields()
    assert fields["timestamp_granularities[]"] == ["segment"]
    assert fields["response_format"] == "verbose_json"
    assert "diarize" not in fields and "context_bias" not in fields and "stream" not in fields
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        create(dialect="openai")  # nothing dropped, nothing to warn about


def test_to_dict_is_what_transcripts_record():
    assert create(timestamps="segment", diarize=True).to_dict() == {
        "model": "voxtral-mini-latest",
        "timestamp_granularities": ["segment"],
        "diarize": True,
        "context_bias": [],
        "language": None,
        "temperature": None,
        "dialect": "mistral",
    }


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = RetryPolicy(initial_backoff=0.1, multiplier=2, max_backoff=1.0, jitter=0.5)
    for n, base in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        delays = [policy.backoff(n) for _ in range(50)]
        assert all(base <= d <= base + 0.05 + 1e-12 for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.backoff(3, retry_after=7.0) == 7.0
    with pytest.raises(voxnb.ParameterError):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    "module",
    [
        "voxnb.api.params",
        "voxnb.api.retry",
        "voxnb.api.client",
        "voxnb.api.batch",
        "voxnb.api.cache",
        "voxnb.api.errors",
        "voxnb.api.sse",
        "voxnb.api.source",
        "voxnb.backend",
        "voxnb.serve.app",
        "voxnb.local.fake",
    ],
)
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
