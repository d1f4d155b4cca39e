"""Paired bootstrap: reproducible with a seed, blockwise, ratios of sums, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from voxnb.bias import bootstrap, bootstrap_weights, compare, score
from voxnb.errors import ParameterError


def _corpus(n=120, error_every=4, seed=0):
    rng = np.random.default_rng(seed)
    refs, hyps = [], []
    for k in range(n):
        words = [f"w{v}" for v in rng.integers(0, 300, size=rng.integers(4, 20))]
        words[0] = "oban"  # one biased word per utterance
        hyp = list(words)
        if k % error_every == 0:
            hyp[0] = "open"
        if k % 7 == 0:
            hyp[-1] = "xx"
        refs.append(" ".join(words))
        hyps.append(" ".join(hyp))
    return refs, hyps


def test_weights_are_reproducible_and_resample_whole_blocks():
    a = bootstrap_weights(50, n_boot=300, seed=4)
    assert np.array_equal(a, bootstrap_weights(50, n_boot=300, seed=4))
    assert not np.array_equal(a, bootstrap_weights(50, n_boot=300, seed=5))
    assert (a.sum(axis=1) == 50).all()
    blocks = [k // 5 for k in range(50)]  # 10 blocks of 5
    b = bootstrap_weights(50, n_boot=300, seed=4, blocks=blocks)
    per_block = b.reshape(300, 10, 5)
    assert (per_block == per_block[:, :, :1]).all()  # an utterance takes its block's multiplicity
    assert (per_block[:, :, 0].sum(axis=1) == 10).all()  # as many blocks drawn as there are
    with pytest.raises(ParameterError, match="one label per utterance"):
        bootstrap_weights(50, blocks=[1, 2])


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    refs, hyps = _corpus()
    res = score(refs, hyps, ["Oban"])
    t1 = bootstrap(res, n_boot=1000, seed=1)
    t2 = res.bootstrap(n_boot=1000, seed=1)
    assert t1.equals(t2)
    t3 = bootstrap(res, n_boot=1000, seed=2)
    assert not np.allclose(t1["low"].to_numpy(float), t3["low"].to_numpy(float), equal_nan=True)
    wer = t1.set_index("measure").loc["wer"]
    assert wer["low"] <= res.wer <= wer["high"]
    assert wer["estimate"] == pytest.approx(res.wer)
    # B-WER rests on far fewer words than WER: its interval is wider
    b = t1.set_index("measure").loc["b_wer"]
    assert (b["high"] - b["low"]) > 2 * (wer["high"] - wer["low"])
    assert set(t1.columns) >= {"backend", "model", "normalizer", "convention", "n_boot", "blocks"}


def test_replicates_recompute_corpus_ratios_not_means_of_utterance_rates():
    # one long perfect utterance and one short wrong one: corpus WER 1/11, mean of rates 0.5
    res = score(["a b c d e f g h i j", "k"], ["a b c d e f g h i j", "x"])
    table = bootstrap(res, measures=["wer"], n_boot=2000, seed=0)
    assert table.loc[0, "estimate"] == pytest.approx(1 / 11)
    # every replicate is a ratio of sums: 0, 1/11, 2/12 (two copies of the short one), 1 (never 10 long)
    assert table.loc[0, "low"] == 0.0 and table.loc[0, "high"] <= 1.0
    # half the replicates hold one copy of each utterance: the central 20 % is exactly the corpus
    # ratio 1/11 there (a mean of utterance rates would read 0.5)
    middle = bootstrap(res, measures=["wer"], n_boot=2000, seed=0, ci=0.2)
    assert middle.loc[0, "low"] == middle.loc[0, "high"] == pytest.approx(1 / 11)


def test_paired_difference_identical_and_better_systems():
    refs, hyps = _corpus()
    res = score(refs, hyps, ["Oban"])
    same = compare(res, res, n_boot=500, seed=0).set_index("measure")
    assert (same["difference"].dropna() == 0).all()
    assert same.loc["wer", "p_improvement"] == 0 and same.loc["wer", "p_tie"] == 1
    perfect = score(refs, refs, ["Oban"])
    better = compare(res, perfect, n_boot=500, seed=0, names=("none", "oracle")).set_index("measure")
    assert better.loc["b_wer", "difference"] == pytest.approx(-res.b_wer)
    assert better.loc["b_wer", "high"] < 0 and better.loc["b_wer", "p_improvement"] == 1.0
    assert better.loc["term_recall", "difference"] > 0 and better.loc["term_recall", "p_improvement"] == 1.0
    assert better.loc["wer", "none"] == pytest.approx(res.wer) and better.loc["wer", "oracle"] == 0
    again = compare(res, perfect, n_boot=500, seed=0, names=("none", "oracle")).set_index("measure")
    assert better.equals(again)


def test_paired_comparison_refuses_mismatched_results():
    refs, hyps = _corpus(n=10)
    res = score(refs, hyps, ["Oban"])
    with pytest.raises(ParameterError, match="same utterances"):
        compare(res, score(refs[:5], hyps[:5], ["Oban"]))
    with pytest.raises(ParameterError, match="same convention"):
        compare(res, score(refs, hyps, ["Oban"], convention="full-list"))
    with pytest.raises(ParameterError, match="unknown measure"):
        compare(res, res, measures=["accuracy"])
    with pytest.raises(ParameterError, match="BiasScore"):
        bootstrap({"a": "not a result"})


def test_blockwise_intervals_are_wider_when_errors_cluster_in_blocks():
    # all errors of a "speaker" together: resampling speakers sees that variance, utterances don't
    refs, hyps = [], []
    for spk in range(12):
        for _ in range(10):
            refs.append("oban is near the harbour")
            hyps.append("open is near the harbour" if spk < 3 else "oban is near the harbour")
    res = score(refs, hyps, ["Oban"])
    speakers = [k // 10 for k in range(len(refs))]
    by_utt = bootstrap(res, measures=["wer"], n_boot=2000, seed=0).iloc[0]
    by_spk = bootstrap(res, measures=["wer"], n_boot=2000, seed=0, blocks=speakers).iloc[0]
    assert (by_spk["high"] - by_spk["low"]) > 1.5 * (by_utt["high"] - by_utt["low"])
    assert by_spk["blocks"] == "block"


def test_paired_difference_is_read_off_one_resample_of_both_systems():
    """Recompute compare()'s interval by hand: the same multiplicities weight both systems' counts."""
    refs, hyps = _corpus(n=80)
    a = score(refs, hyps, ["oban"], normalizer=None)
    b = score(
        refs, [h + " extra" for h in hyps], ["oban"], normalizer=None
    )  # a's errors and one insertion each
    assert b.ins == a.ins + 80
    table = compare(a, b, measures=["wer"], n_boot=400, seed=9, ci=0.9).iloc[0]
    w = bootstrap_weights(80, n_boot=400, seed=9)
    rates = [
        (w @ res.utterances["errors"].to_numpy()) / (w @ res.utterances["ref_words"].to_numpy())
        for res in (a, b)
    ]
    low, high = np.quantile(rates[1] - rates[0], [0.05, 0.95])
    assert (table["low"], table["high"]) == (pytest.approx(low), pytest.approx(high))
    assert table["p_improvement"] == pytest.approx(np.mean(rates[1] < rates[0]))
    # pairing cancels the variance both systems share; resampling them apart would not
    w_other = bootstrap_weights(80, n_boot=400, seed=10)
    rate_b_apart = (w_other @ b.utterances["errors"].to_numpy()) / (
        w_other @ b.utterances["ref_words"].to_numpy()
    )
    apart_low, apart_high = np.quantile(rate_b_apart - rates[0], [0.05, 0.95])
    assert high - low < 0.5 * (apart_high - apart_low)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda res: bootstrap(res, n_boot=0), "n_boot must be"),
        (lambda res: bootstrap(res, n_boot=99.5), "n_boot must be"),
        (lambda res: bootstrap(res, ci=95), "ci must be between 0 and 1"),
        (lambda res: compare(res, res, ci=0), "ci must be between 0 and 1"),
        (lambda res: bootstrap({}), "at least one result"),
    ],
)
def test_bad_bootstrap_options_raise_parameter_errors(call, message):
    res = score(["oban is near"], ["open is near"], ["Oban"])
    with pytest.raises(ParameterError, match=message):
        call(res)


def test_tuple_block_labels_are_one_label_each():
    # (speaker, session) labels: three blocks, the first holding utterances 0 and 1. Before, numpy
    # read the tuples as rows of a 2-D array and the weights came out 3-D, one column per field
    sessions = [("s1", "mon"), ("s1", "mon"), ("s2", "mon"), ("s2", "tue")]
    w = bootstrap_weights(4, n_boot=50, seed=3, blocks=sessions)
    assert w.shape == (50, 4)
    assert (w[:, 0] == w[:, 1]).all()
    assert (w[:, 1] + w[:, 2] + w[:, 3] == 3).all()  # three blocks drawn per replicate
    res = score(["oban", "is", "near", "lerwick"], ["open", "is", "near", "lerwick"])
    # one block holding everything: every replicate is the corpus itself
    whole = bootstrap(res, measures=["wer"], n_boot=30, blocks=[("all", 1)] * 4)
    assert whole[["low", "high"]].values.tolist() == [[0.25, 0.25]]


def test_weights_at_the_edges_worked_by_hand():
    # one utterance: every replicate draws it once; one block over three: each draws the block once
    assert bootstrap_weights(1, n_boot=3).tolist() == [[1], [1], [1]]
    assert bootstrap_weights(3, n_boot=2, blocks=["s", "s", "s"]).tolist() == [[1, 1, 1], [1, 1, 1]]
    # no utterances: n_boot empty replicates, still integer counts
    empty = bootstrap_weights(0, n_boot=4)
    assert empty.shape == (4, 0) and np.issubdtype(empty.dtype, np.integer)
    assert np.issubdtype(bootstrap_weights(3, n_boot=2).dtype, np.integer)
    # n_boot runs from 1 to 1,000,000 inclusive (no utterances keeps the largest one small)
    one = bootstrap_weights(2, n_boot=1)
    assert one.shape == (1, 2) and one.sum() == 2
    assert bootstrap_weights(0, n_boot=1_000_000).shape == (1_000_000, 0)
    with pytest.raises(ParameterError, match="n_boot must be"):
        bootstrap_weights(0, n_boot=1_000_001)
    # the defaults: 1000 replicates, seed 0 (the same draws as seed=0, not those of seed=1)
    assert bootstrap_weights(2).shape == (1000, 2)
    default = bootstrap_weights(6, n_boot=10)
    assert np.array_equal(default, bootstrap_weights(6, n_boot=10, seed=0))
    assert not np.array_equal(default, bootstrap_weights(6, n_boot=10, seed=1))


def test_weights_refuse_a_bootstrap_of_more_than_2e8_counts_before_drawing():
    # 1000 x 200,001 counts is one over the limit: refused for its size, before the seed (a bad
    # one here) is even looked at, so nothing is drawn
    with pytest.raises(ParameterError) as err:
        bootstrap_weights(200_001, n_boot=1000, seed=-1)
    assert str(err.value) == (
        "n_boot=1000 replicates of 200001 utterances is too large a bootstrap; lower n_boot "
        "(1000-10000 is plenty for 95 % intervals)"
    )
    # exactly 2e8 is allowed: the next check is the one that speaks
    with pytest.raises(ParameterError) as err:
        bootstrap_weights(200_000, n_boot=1000, seed=-1)
    assert str(err.value) == "seed must be a whole number, 0 or more (e.g. 0), not -1"


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_weights_refuse_a_seed_that_is_not_a_whole_number_from_0(seed):
    with pytest.raises(ParameterError) as err:
        bootstrap_weights(3, n_boot=2, seed=seed)
    assert str(err.value) == f"seed must be a whole number, 0 or more (e.g. 0), not {seed!r}"


@pytest.mark.parametrize("ci", [1, 1.0, 1.5, 0, True, "0.95"])
def test_ci_must_lie_strictly_between_0_and_1(ci):
    res = score(["oban"], ["open"])
    for call in (lambda: bootstrap(res, ci=ci), lambda: compare(res, res, ci=ci)):
        with pytest.raises(ParameterError) as err:
            call()
        assert str(err.value) == f"ci must be between 0 and 1 (e.g. 0.95), not {ci!r}"


def test_bootstrap_refusals_say_exactly_what_is_wrong():
    res = score(["oban", "lerwick"], ["open", "lerwick"])
    with pytest.raises(ParameterError) as err:
        bootstrap({})
    assert str(err.value) == "bootstrap needs at least one result of voxnb.bias.score()"
    with pytest.raises(ParameterError) as err:
        bootstrap({"a": res, "b": score(["oban"], ["open"])})
    assert str(err.value) == "'b' was scored on different utterances; bootstrap needs the same ones"
    with pytest.raises(ParameterError) as err:
        bootstrap({"a": "not a result"})
    assert str(err.value) == "expected a BiasScore from voxnb.bias.score(), got str"
    with pytest.raises(ParameterError) as err:
        compare(res, score(["oban"], ["open"]))
    assert str(err.value) == (
        "a paired comparison needs both results scored on the same utterances in the same order"
    )


def _varied():
    # five utterances of different lengths and error counts: the interval moves with the draws
    refs = ["a b c d", "a b", "a b c", "a", "a b c d e"]
    return score(refs, ["a x c d", "y", "a b c", "z", "a b"]), score(refs, refs)


def test_bootstrap_and_compare_defaults_are_1000_replicates_of_seed_0():
    worse, perfect = _varied()
    assert bootstrap(worse, measures=["wer"])["n_boot"].tolist() == [1000]
    assert compare(worse, perfect, measures=["wer"])["n_boot"].tolist() == [1000]
    # 20 replicates: few enough that the interval moves from one seed's draws to another's
    drawn = {seed: bootstrap(worse, measures=["wer"], n_boot=20, seed=seed) for seed in (0, 1)}
    assert bootstrap(worse, measures=["wer"], n_boot=20).equals(drawn[0]) and not drawn[0].equals(drawn[1])
    paired = {seed: compare(worse, perfect, measures=["wer"], n_boot=20, seed=seed) for seed in (0, 1)}
    assert compare(worse, perfect, measures=["wer"], n_boot=20).equals(paired[0])
    assert not paired[0].equals(paired[1])


def test_bootstrap_names_systems_only_when_given_several():
    res = score(["oban", "lerwick"], ["open", "lerwick"])
    lone = bootstrap(res, measures=["wer"], n_boot=10)
    assert "system" not in lone.columns and lone["blocks"].tolist() == ["utterance"]
    both = bootstrap({"none": res, "oracle": res}, measures=["wer"], n_boot=10)
    assert both["system"].tolist() == ["none", "oracle"]


def test_compare_worked_by_hand_on_two_utterances():
    # utterance 0 ("oban") is wrong without biasing and right with it; utterance 1 right in both.
    # A replicate draws two utterances: both 0 (chance 1/4, WER 1 -> 0, difference -1), one of each
    # (1/2, WER 1/2 -> 0, -1/2) or both 1 (1/4, WER 0 -> 0, difference 0: a tie)
    refs = ["oban", "lerwick"]
    none = score(refs, ["open", "lerwick"], backend="api", model="voxtral-mini")
    oracle = score(refs, refs, backend="local", model="voxtral-mini")
    row = compare(none, oracle, measures=["wer"], n_boot=4000, seed=0, names=("none", "oracle")).iloc[0]
    assert (row["none"], row["oracle"], row["difference"]) == (0.5, 0.0, -0.5)
    # the 2.5th percentile falls among the -1s, the 97.5th among the ties
    assert (row["low"], row["high"], row["n_boot"], row["blocks"]) == (-1.0, 0.0, 4000, "utterance")
    assert row["p_improvement"] == pytest.approx(0.75, abs=0.03)
    assert row["p_tie"] == pytest.approx(0.25, abs=0.03)
    assert row["p_improvement"] + row["p_tie"] == 1.0
    # the backends differ, so a's gets its own column; the models agree, so there is one
    assert (row["backend"], row["none_backend"], row["model"]) == ("local", "api", "voxtral-mini")
    assert "none_model" not in row.index and "oracle_backend" not in row.index
    # one block holding both utterances: every replicate is the corpus, a sure improvement of 1/2
    blocked = compare(none, oracle, measures=["wer"], n_boot=50, blocks=["s1", "s1"]).iloc[0]
    assert blocked[["low", "high", "p_improvement", "p_tie", "n_boot", "blocks"]].tolist() == [
        -0.5, -0.5, 1.0, 0.0, 50, "block"
    ]  # fmt: skip


def test_compare_of_one_replicate_and_of_undefined_measures():
    # both utterances wrong without biasing, right with it: every replicate improves by 1, so a
    # single replicate is a share of 1 (not 1/2), and there is no tie
    refs = ["oban", "lerwick"]
    row = compare(score(refs, ["open", "lerwik"]), score(refs, refs), measures=["wer", "b_wer"], n_boot=1)
    wer, b_wer = row.iloc[0], row.iloc[1]
    assert wer[["difference", "low", "high", "p_improvement", "p_tie"]].tolist() == [
        -1.0,
        -1.0,
        -1.0,
        1.0,
        0.0,
    ]
    # no biased words: B-WER is 0/0 in every replicate, so its shares are undefined, not 0
    assert np.isnan(b_wer["p_improvement"]) and np.isnan(b_wer["p_tie"])
    assert row["p_improvement"].dtype == float and row["p_tie"].dtype == float


def test_a_tie_is_no_improvement_for_a_higher_is_better_measure():
    res = score(["oban is near", "lerwick"], ["open is near", "lerwick"], ["Oban", "Lerwick"])
    same = compare(res, res, measures=["wer", "term_recall"], n_boot=50).set_index("measure")
    assert same["p_improvement"].tolist() == [0.0, 0.0] and same["p_tie"].tolist() == [1.0, 1.0]
