"""One request, every backend: the same refusals with the same messages, the same record.

The same options go through each way voxnb transcribes — the HTTP client against ``voxnb serve``
(Mistral's protocol), the HTTP client against ``voxnb serve --dialect openai`` (vLLM's), the
offline engine in this process, a realtime session, and the bias lab's ``Experiment`` — and each
must refuse an invalid value with the same message before anything is sent, and record a valid
request under the same keys with the same values. Refusals that depend on what a model can do
name the option, and follow the capability table.
"""

from __future__ import annotations

import asyncio

import pytest

import voxnb
from voxnb import bias
from voxnb.errors import ParameterError
from voxnb.local.fake import FakeEngine
from voxnb.realtime.session import RealtimeSession
from voxnb.request import OPTIONS, RECORDED_WHEN_SET, TranscriptionRequest

AUDIO = voxnb.data.path("two_voices")

#: invalid values: each path refuses them with exactly this message fragment
INVALID = [
    (
        {"language": "english"},
        "language must be a two-letter ISO-639-1 code such as 'en' or 'fr'; got 'english'",
    ),
    ({"temperature": -1}, "temperature must be a finite number from 0 to 2; got -1"),
    ({"temperature": float("inf")}, "temperature must be a finite number from 0 to 2; got inf"),
    ({"timestamps": "sentence"}, "timestamps must be 'segment', 'word' or a list of them; got 'sentence'"),
    ({"diarize": "yes"}, "diarize must be True or False; got 'yes'"),
    ({"context_bias": ["a,b"]}, "context_bias entry 'a,b' holds a comma"),
    ({"context_bias": [3]}, "context_bias entries must be strings; got 3"),
    ({"num_speakers": 2}, "num_speakers= needs diarize=True"),
    ({"words": "whisper"}, "words must be 'auto', 'api'"),
    (
        {"target_streaming_delay_ms": 10},
        "target_streaming_delay_ms must be a whole number from 80 to 2400; got 10",
    ),
    ({"colour": "red"}, "unknown transcription option(s) ['colour']"),
]


@pytest.fixture(scope="module")
def servers():
    from voxnb.serve import ServerThread, create_app

    engine = FakeEngine()
    with (
        ServerThread(create_app(engine)) as mistral,
        ServerThread(create_app(engine, dialect="openai")) as openai,
    ):
        yield {"mistral": mistral, "openai": openai}


def _http(server):
    def run(**options):
        with voxnb.Client(base_url=server.url) as client:
            return client.transcribe(AUDIO, **options)

    return run


def _offline(**options):
    return voxnb.transcribe(AUDIO, backend="local", quiet=True, **options)


def _realtime(**options):
    async def take():
        async with RealtimeSession(engine=FakeEngine(), **options) as session:
            await session.send_audio(voxnb.data.audio("two_voices").to_pcm16())
            await session.finish()
        return session.request.record()

    return asyncio.run(take())


def _experiment(server):
    def run(**options):
        item = voxnb.bias.BiasItem("one", AUDIO, "alpha", ("Alpha",))
        condition = options.pop("context_bias", "none")  # the lab sets context_bias per condition
        params = {"temperature": 0.0, **options}
        exp = bias.Experiment([item], {"c": condition}, base_url=server.url, params=params)
        exp.run(progress=False, cache=False)
        if exp.errors:
            raise next(iter(exp.errors.values()))
        return exp.transcripts[("one", "c")]

    return run


def _paths(servers):
    return {
        "voxnb serve (mistral)": _http(servers["mistral"]),
        "voxnb serve (openai)": _http(servers["openai"]),
        "offline engine": _offline,
        "realtime session": _realtime,
        "experiment": _experiment(servers["mistral"]),
    }


@pytest.mark.parametrize(
    ("options", "message"), INVALID, ids=[next(iter(o)) + "-" + str(i) for i, (o, _) in enumerate(INVALID)]
)
def test_every_path_refuses_an_invalid_value_with_the_same_message(servers, options, message):
    with pytest.raises(ParameterError) as contract:
        TranscriptionRequest.create(**options)
    seen = {}
    for name, run in _paths(servers).items():
        sent_before = {n: len(s.recorder.matching("/v1/audio/transcriptions")) for n, s in servers.items()}
        with pytest.raises(ParameterError) as info:
            run(**options)
        seen[name] = str(info.value)
        assert message in seen[name], f"{name}: {seen[name]}"
        sent_after = {n: len(s.recorder.matching("/v1/audio/transcriptions")) for n, s in servers.items()}
        assert sent_after == sent_before, f"{name} sent a request before refusing"
    # the contract's own message, at most prefixed with where it was found ("condition 'c', item 'one': ")
    assert all(text.endswith(str(contract.value)) for text in seen.values()), seen


def test_capability_refusals_name_the_option_on_the_paths_that_cannot_honour_it(servers):
    paths = _paths(servers)
    with pytest.raises(ParameterError) as info:
        paths["voxnb serve (openai)"](diarize=True)
    assert info.value.option == "diarize" and "cannot label speakers" in str(info.value)
    with pytest.raises(ParameterError) as info:
        paths["voxnb serve (mistral)"](diarize=True, num_speakers=2)
    assert info.value.option == "num_speakers"
    with pytest.raises(ParameterError) as info:
        paths["realtime session"](timestamps="segment")
    assert info.value.option == "timestamps"
    with pytest.raises(ParameterError) as info:
        paths["offline engine"](target_streaming_delay_ms=480)
    assert info.value.option == "target_streaming_delay_ms"


@pytest.mark.slow
def test_every_path_records_the_same_request(servers):
    options = {"context_bias": ["Alpha", "Bravo"], "language": "en"}
    records = {}
    for name, run in _paths(servers).items():
        if name == "voxnb serve (openai)":
            continue  # vLLM takes no context_bias: checked with its own options below
        result = run(**options)
        records[name] = result if isinstance(result, dict) else result.request
    keys = {"timestamp_granularities", "words", *OPTIONS} - {"timestamps", *RECORDED_WHEN_SET}
    assert all(set(record) == keys for record in records.values()), records
    without_model = [
        {k: v for k, v in r.items() if k not in ("model", "temperature")} for r in records.values()
    ]
    assert all(r == without_model[0] for r in without_model), records
    assert without_model[0]["context_bias"] == ["Alpha", "Bravo"] and without_model[0]["language"] == "en"

    # the openai dialect records the same keys for what it takes
    openai = _paths(servers)["voxnb serve (openai)"](language="en", temperature=0.0)
    mistral = _paths(servers)["voxnb serve (mistral)"](language="en", temperature=0.0)
    assert set(openai.request) == keys
    assert {k: v for k, v in openai.request.items() if k != "model"} == {
        k: v for k, v in mistral.request.items() if k != "model"
    }


@pytest.mark.slow
def test_base_url_to_voxnb_serve_gives_speakers_and_biased_text_and_vllm_refuses_diarize(
    offline_engine, start_voxnb_server, capsys
):
    """The issue's example: base_url= to `voxnb serve` with diarize and context_bias, real speech."""
    from voxnb.serve import ServerThread, create_app

    reference = voxnb.data.reference("dialogue")
    bias_list = reference["context_bias"]
    server = start_voxnb_server(offline_engine)
    plain = voxnb.transcribe(voxnb.data.path("dialogue"), base_url=server.url, diarize=True)
    biased = voxnb.transcribe(
        voxnb.data.path("dialogue"), base_url=server.url, diarize=True, context_bias=bias_list
    )
    assert "voxnb serve speaking the mistral dialect" in capsys.readouterr().err
    assert biased.speakers["speaker"].nunique() >= 2 and biased.segments["start"].notna().all()
    heard = [term for term in bias_list if term.replace("_", " ").lower() in biased.text.lower()]
    heard_plain = [term for term in bias_list if term.replace("_", " ").lower() in plain.text.lower()]
    assert len(heard) > len(heard_plain), (heard, heard_plain)
    sent = server.recorder.matching("/v1/audio/transcriptions")[-1]
    assert sent.field_values("context_bias") == bias_list and sent.field_values("diarize") == ["true"]

    with ServerThread(create_app(offline_engine, dialect="openai")) as vllm_like:
        with pytest.raises(ParameterError) as info:
            voxnb.transcribe(voxnb.data.path("dialogue"), base_url=vllm_like.url, diarize=True, quiet=True)
        assert info.value.option == "diarize"
        assert not vllm_like.recorder.matching("/v1/audio/transcriptions")  # refused before any upload


@pytest.mark.slow
def test_word_times_asked_of_voxtral_3_come_back_aligned(offline_engine, start_voxnb_server):
    """voxnb serve answers Voxtral 3's 400 to 'word'; the client asks segments and aligns the words."""
    server = start_voxnb_server(offline_engine)
    path = voxnb.data.path("words")
    t = voxnb.transcribe(
        path, base_url=server.url, model="voxtral-mini-transcribe-3", timestamps=["segment", "word"]
    )
    (sent,) = server.recorder.matching("/v1/audio/transcriptions")
    assert sent.field_values("timestamp_granularities") == ["segment"]
    assert t.request["words"] == "aligned" and t.request["timestamp_granularities"] == ["segment"]
    assert set(t.words["timing"]) == {"aligned"} and t.words["start"].notna().all()
    # the truth: the fixture's word boundaries (spec: aligned median error ~10 ms offline)
    truth = voxnb.data.reference("words")["words"]
    errors = [
        abs(row.start - w["start"])
        for row, w in zip(t.words.itertuples(), truth)
        if row.text.strip(".,").lower() == w["text"].strip(".,").lower()
    ]
    assert len(errors) >= len(truth) // 2 and sorted(errors)[len(errors) // 2] < 0.1
    # asking the model itself for word times is refused before sending (Voxtral 3 answers 400)
    with voxnb.Client(base_url=server.url) as client, pytest.raises(ParameterError, match="400"):
        client.transcribe(path, model="voxtral-mini-transcribe-3", timestamps="word", words="api")
