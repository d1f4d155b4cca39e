"""Experiments: condition lists, runs through real HTTP (voxnb serve) and the offline engine, resume, tables."""

from __future__ import annotations

import json
import string
import threading
import time

import matplotlib
import pytest

import voxnb
from voxnb import bias
from voxnb.bias.data import BiasItem
from voxnb.errors import ParameterError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def bundled():
    return bias.load_bundled()


def test_condition_lists_oracle_distractors_and_caps(bundled):
    pool = bias.bundled_distractors()
    exp = bias.Experiment(
        bundled, ["none", "oracle", "oracle+5", "oracle + 20 distractors"], distractors=pool, seed=3
    )
    b01 = exp.lists
    assert b01["none"]["b01"] == []
    assert b01["oracle"]["b01"] == ["Janis_Joplin", "Sausalito"]
    five, twenty = b01["oracle+5"]["b01"], b01["oracle + 20 distractors"]["b01"]
    assert len(five) == 7 and len(twenty) == 22
    assert twenty[:7] == five  # nested: the N-distractor list is a prefix of the larger one
    assert set(five[2:]) <= set(pool)
    # reproducible with the seed, different with another
    again = bias.Experiment(bundled, ["oracle+5"], distractors=pool, seed=3)
    assert again.lists["oracle+5"] == exp.lists["oracle+5"]
    other = bias.Experiment(bundled, ["oracle+5"], distractors=pool, seed=4)
    assert other.lists["oracle+5"] != exp.lists["oracle+5"]
    # every condition is scored against the same per-item list: the union
    assert (
        exp.scoring_lists["b01"][:2] == ["Janis_Joplin", "Sausalito"] and len(exp.scoring_lists["b01"]) == 22
    )


def test_distractors_never_occur_in_the_reference_and_the_cap_holds():
    item = BiasItem("x", None, "We met Oban and Lerwick", (*[f"Rare{k}" for k in range(95)], "Oban"))
    exp = bias.Experiment(
        [item], {"big": "oracle+50"}, distractors=["Lerwick", "Oban", *[f"D{k}" for k in range(60)]]
    )
    terms = exp.lists["big"]["x"]
    assert len(terms) == 100  # 96 rare words + only 4 distractors fit under context_bias's cap
    assert "Lerwick" not in terms and terms.count("Oban") == 1


@pytest.mark.parametrize(
    ("conditions", "kwargs", "message"),
    [
        (["oracle+3"], {}, "needs distractors"),
        (["sometimes"], {}, "unknown condition"),
        ([[f"T{k}" for k in range(101)]], {}, "at most 100"),
        ("none", {}, "must be a list"),
        (["none"], {"convention": "mine"}, "convention must be"),
        (["none"], {"params": {"context_bias": ["x"]}}, "set per condition"),
        ([], {}, "at least one condition"),
    ],
)
def test_bad_experiments_fail_before_any_transcription(bundled, conditions, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        bias.Experiment(bundled[:2], conditions, **kwargs)


def test_items_accept_tuples_and_dicts_and_names_must_be_unique(tmp_path):
    exp = bias.Experiment(
        [
            ("a.ogg", "Hello Oban", ["Oban"]),
            {"name": "b", "audio": "b.ogg", "reference": "Hi", "rare_words": []},
        ],
        ["none", ["Oban", "Janis Joplin"]],
    )
    assert [it.name for it in exp.items] == ["a", "b"]
    # a list is sent as given (Voxtral 3 and the offline engine take phrases); the oracle joins them with _
    assert exp.lists["list1"]["a"] == ["Oban", "Janis Joplin"]
    assert bias.Experiment([("a.ogg", "Hello", ["Janis Joplin"])], ["oracle"]).lists["oracle"]["a"] == [
        "Janis_Joplin"
    ]
    with pytest.raises(
        ParameterError, match=r"condition 'c', item 'a': context_bias entry 'x,y' holds a comma"
    ):
        bias.Experiment([("a.ogg", "Hello", [])], {"c": ["x,y"]})
    with pytest.raises(ParameterError, match="unique name"):
        bias.Experiment([("x/a.ogg", "1"), ("y/a.ogg", "2")], ["none"])


def _letters_list(item):
    # the deterministic engine replaces a code word by the first listed term with its initial letter
    return [f"{c.upper()}zzword" for c in string.ascii_lowercase]


def test_experiment_over_http_with_cache_resume_and_failures(voxnb_server, bundled, tmp_path):
    client = voxnb.Client(base_url=voxnb_server)
    missing = BiasItem("missing", tmp_path / "nope.ogg", "nothing here", ("Oban",))
    items = [*bundled[:3], missing]
    exp = bias.Experiment(
        items, {"none": "none", "oracle": "oracle", "letters": _letters_list}, client=client
    )
    exp.run(progress=False, cache=tmp_path / "cache")
    assert len(exp.transcripts) == 9
    assert set(exp.errors) == {("missing", "none"), ("missing", "oracle"), ("missing", "letters")}
    assert all(isinstance(e, voxnb.VoxnbError) for e in exp.errors.values())
    t = exp.transcripts[("b01", "oracle")]
    assert t.request["context_bias"] == ["Janis_Joplin", "Sausalito"] and t.backend == "mistral"
    with pytest.warns(UserWarning, match="left out"):
        scores = exp.scores
    assert [it.name for it in exp.complete_items] == ["b01", "b02", "b03"]
    # the lists reached the engine: under "letters" the listed (absent) terms appear in the output
    assert scores["letters"].distractor_insertion_rate > 0
    assert scores["none"].distractor_insertion_rate == 0
    results = exp.results
    assert len(results) == 9 and set(results["condition"]) == {"none", "oracle", "letters"}
    assert set(results["model"]) == {"voxnb-deterministic-test-engine"}
    assert results.loc[results["condition"] == "letters", "bias_list_size"].eq(26).all()
    assert {"normalizer", "convention", "backend"} <= set(results.columns)

    # the same transcripts under the other convention: the inserted listed terms become biased errors
    with pytest.warns(UserWarning, match="left out"):
        full = exp.rescored(convention="full-list").scores
    assert full["letters"].b_ins > 0 and scores["letters"].b_ins == 0
    assert full["letters"].wer == scores["letters"].wer
    assert exp.convention == "reference-rare"  # the original is untouched
    with pytest.raises(ParameterError, match="convention must be"):
        exp.rescored(convention="both")

    # a second run sends nothing for what is done (resume) and retries only the failures
    sent = client.requests_sent
    exp.run(progress=False, cache=tmp_path / "cache")
    assert client.requests_sent == sent
    assert len(exp.errors) == 3

    # a fresh experiment on the same cache transcribes from it without a request
    fresh = bias.Experiment(bundled[:3], {"none": "none", "oracle": "oracle"}, client=client)
    fresh.run(progress=False, cache=tmp_path / "cache")
    assert client.requests_sent == sent
    assert fresh.transcripts[("b02", "none")].text == exp.transcripts[("b02", "none")].text


class InFlightProbe:
    """The deterministic engine, slowed down, counting how many requests it answers at once."""

    def __init__(self):
        from voxnb.local.fake import FakeEngine

        self.engine = FakeEngine()
        self.model, self.can_chat, self.thread_safe = self.engine.model, self.engine.can_chat, True
        self.capabilities, self.stream_capabilities = (
            self.engine.capabilities,
            self.engine.stream_capabilities,
        )
        self.most = self.now = 0
        self.lock = threading.Lock()

    def transcribe(self, samples, **options):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.1)
            return self.engine.transcribe(samples, **options)
        finally:
            with self.lock:
                self.now -= 1

    def stream(self, pcm_chunks):
        return self.engine.stream(pcm_chunks)


def test_a_sync_client_sends_items_with_their_own_lists_concurrently(start_voxnb_server, bundled, tmp_path):
    probe = InFlightProbe()
    server = start_voxnb_server(probe)
    with voxnb.Client(base_url=server.url) as client:
        exp = bias.Experiment(bundled[:4], ["oracle"], client=client)
        exp.run(concurrency=4, cache=False, progress=False)
    assert len(exp.transcripts) == 4 and not exp.errors
    assert probe.most > 1  # every item has a list of its own, yet they were in flight together
    sent = {r.file_sha256: r.field_values("context_bias") for r in server.recorder.matching(status=200)}
    for item in bundled[:4]:
        t = exp.transcripts[(item.name, "oracle")]
        assert sent[t.audio_sha256] == exp.lists["oracle"][item.name] == t.request["context_bias"]


class TranscribeOnly:
    """A client with only ``transcribe(audio, **params)``: the one-by-one path."""

    def __init__(self, client):
        self.client = client
        self.calls = []

    def transcribe(self, audio, **params):
        self.calls.append(params)
        return self.client.transcribe(audio, **params)


def test_experiment_with_a_transcribe_only_client_and_tables(voxnb_server, bundled):
    wrapper = TranscribeOnly(voxnb.Client(base_url=voxnb_server))
    exp = bias.Experiment(bundled[:4], ["none", "oracle"], client=wrapper, params={"language": "en"})
    exp.run(progress=False)
    assert len(wrapper.calls) == 8
    assert all(call["temperature"] == 0.0 and call["language"] == "en" for call in wrapper.calls)
    summary = exp.summary(n_boot=200, seed=1)
    assert set(summary["condition"]) == {"none", "oracle"}
    assert summary.equals(exp.summary(n_boot=200, seed=1))
    assert list(summary.columns) == ["condition", "measure", "estimate", "low", "high"]
    assert summary.attrs["n_boot"] == 200 and summary.attrs["convention"] == "reference-rare"
    assert repr(summary).splitlines()[0].startswith("n_boot=200, blocks=utterance, backend=")
    blocks = exp.summary(measures=["wer"], n_boot=200, blocks="block")
    assert blocks.attrs["blocks"] == "block"
    diff = exp.compare(measures=["wer", "b_wer"], n_boot=200)
    assert list(diff["condition"]) == ["oracle", "oracle"] and set(diff["baseline"]) == {"none"}
    hits = exp.term_hits()
    assert {"condition", "term", "gt", "tp"} <= set(hits.columns)
    ax1 = exp.plot_measures(n_boot=100)
    ax2 = exp.plot_terms()
    ax3 = exp.plot_forest(n_boot=100)
    assert len(ax1.patches) == 6  # 3 measures × 2 conditions
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["none", "oracle"]
    assert len(ax3.get_yticklabels()) == 3
    assert "2 conditions" in repr(exp) and "8/8 transcribed" in repr(exp)


@pytest.mark.slow
def test_experiment_offline_with_the_local_engine(bundled, tmp_path):
    """The real offline engine (Whisper tiny.en + hotwords) on two bundled utterances."""
    exp = bias.Experiment(bundled[:1] + bundled[3:4], ["none", "oracle"])  # Janis Joplin..., Tobermory/Oban
    exp.run(progress=False, cache=tmp_path)
    scores = exp.scores
    assert scores["oracle"].info["backend"] == "local"
    assert "tiny.en" in scores["oracle"].info["model"]
    assert scores["oracle"].b_wer < scores["none"].b_wer  # hotwords fix these names (measured in the spec)
    cached = json.dumps(sorted(p.name for p in tmp_path.rglob("*.json")))
    assert cached.count(".json") == 4


def test_arun_with_an_async_client(voxnb_server, bundled, tmp_path):
    import asyncio

    async def main():
        async with voxnb.AsyncClient(base_url=voxnb_server) as client:
            exp = bias.Experiment(bundled[:6], ["none", "oracle"], client=client)
            with pytest.raises(ParameterError, match="asynchronous"):
                exp.run()
            await exp.arun(concurrency=3, cache=tmp_path, progress=False)
            sent = client.requests_sent
            await exp.arun(concurrency=3, cache=tmp_path, progress=False)  # nothing left to do
            return exp, sent, client.requests_sent

    exp, sent, sent_after = asyncio.run(main())
    assert len(exp.transcripts) == 12 and not exp.errors
    assert sent == sent_after == 12
    assert exp.transcripts[("b02", "oracle")].request["context_bias"] == ["Voxtral", "Jupyter"]
    assert exp.transcripts[("b02", "none")].request.get("context_bias") in (None, [])
    with pytest.raises(ParameterError, match="asynchronous client"):
        asyncio.run(bias.Experiment(bundled[:1], ["none"]).arun())


def _filled_experiment():
    """Two conditions whose transcripts are given, not transcribed: the tables' arithmetic only."""
    items = [
        BiasItem("a", None, "Janis Joplin sang in Sausalito.", ("Janis_Joplin", "Sausalito")),
        BiasItem("b", None, "The ferry left Oban at noon.", ("Oban",)),
    ]
    exp = bias.Experiment(items, {"none": "none", "listed": ["Janis_Joplin", "Sausalito", "Oban", "Lerwick"]})
    hyps = {
        ("a", "none"): "Janice Joplin sang in Sausalito, Lerwick.",  # Lerwick: not listed under none
        ("b", "none"): "The ferry left open at noon.",
        ("a", "listed"): "Janis Joplin sang in Sausalito.",
        ("b", "listed"): "The ferry left Oban at noon, Lerwick.",  # a listed distractor taken up
    }
    for key, text in hyps.items():
        exp.transcripts[key] = voxnb.Transcript.from_response({"text": text}, backend="local", model="m")
    return exp


def test_terms_count_only_each_conditions_own_list():
    exp = _filled_experiment()
    none = exp.terms("none").set_index("term")
    assert (none["listed"] == 0).all() and "lerwick" not in none.index  # nothing listed, no distractor
    assert none.loc["janis joplin", ["gt", "tp"]].tolist() == [1, 0]
    listed = exp.terms("listed").set_index("term")
    assert listed.loc["oban", ["listed", "absent", "gt", "tp"]].tolist() == [2, 1, 1, 1]
    assert listed.loc["lerwick", ["listed", "absent", "absent_inserted"]].tolist() == [2, 2, 1]
    both = exp.terms()
    assert list(both["condition"].cat.categories) == ["none", "listed"] and "condition" in both
    # the union scoring, by contrast, counts every condition's terms as listed under each
    assert exp.scores["none"].terms.loc["lerwick", "listed"] == 2
    with pytest.raises(ParameterError, match="no condition named"):
        exp.terms("oracle")


def test_summary_csv_and_latex_for_a_paper(tmp_path):
    exp = _filled_experiment()
    summary = exp.summary(measures=["wer", "b_wer"], n_boot=50)
    assert list(summary.columns) == ["condition", "measure", "estimate", "low", "high"]
    assert summary.attrs == {
        "n_boot": 50,
        "blocks": "utterance",
        "backend": "local",
        "model": "m",
        "normalizer": "whisper-en",
        "convention": "reference-rare",
        "ci": 0.95,
        "seed": 0,
    }
    assert "backend=local, model=m" in summary._repr_html_()
    text = exp.to_csv(tmp_path / "summary.csv", measures=["wer", "b_wer"], n_boot=50)
    assert text.startswith("# n_boot: 50\n") and (tmp_path / "summary.csv").read_text() == text
    import pandas as pd

    back = pd.read_csv(tmp_path / "summary.csv", comment="#")
    assert back[["condition", "measure"]].values.tolist() == summary[["condition", "measure"]].values.tolist()
    latex = exp.to_latex(tmp_path / "summary.tex", measures=["wer", "b_wer"], n_boot=50, label="tab:bias")
    assert "\\begin{tabular}{lrr}" in latex and "\\label{tab:bias}" in latex
    assert "B-WER (\\%)" in latex and "none & " in latex and "[" in latex
    assert "95\\% bootstrap intervals" in latex and "convention=reference-rare" in latex
    per_item = exp.to_csv(table="results")
    assert per_item.count("\n") == 5  # header + 2 items × 2 conditions
    terms_tex = exp.to_latex(table="terms", condition="listed")
    assert "term & listed & absent" in terms_tex and "Janis\\_Joplin" in terms_tex
    with pytest.raises(ParameterError, match="table must be one of"):
        exp.to_csv(table="everything")
