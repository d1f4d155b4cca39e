"""The 4/3/3 alignment: hand-worked tie-breaking, vectorised == cell-by-cell, and jiwer cross-checks."""

from __future__ import annotations

import random

import jiwer
import numpy as np
import pytest

from voxnb.bias.scoring import score
from voxnb.errors import ParameterError
from voxnb.text import align as align_module
from voxnb.text.align import align_batch, align_pair


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        # a substitution (4) beats a deletion plus an insertion (6)
        ("a", "b", [("substitution", 0, 0)]),
        # two indels (6) beat two substitutions (8)
        ("a b", "b c", [("deletion", 0, -1), ("match", 1, 0), ("insertion", -1, 1)]),
        # del+sub and sub+del cost 7 both: at the last cell the diagonal wins, so the deletion comes first
        ("a b", "c", [("deletion", 0, -1), ("substitution", 1, 0)]),
        # ins+sub and sub+ins cost 7 both: diagonal at the last cell, so the insertion comes first
        ("a", "b c", [("insertion", -1, 0), ("substitution", 0, 1)]),
        # insertion and deletion tie at the last cell (6 each, diagonal 8): the insertion wins
        ("a x", "x a", [("deletion", 0, -1), ("match", 1, 0), ("insertion", -1, 1)]),
        ("a b", "b a", [("deletion", 0, -1), ("match", 1, 0), ("insertion", -1, 1)]),
        # a match and an insertion both reach the last cell at 3: the diagonal wins, so the
        # extra word is the first one
        ("a", "a a", [("insertion", -1, 0), ("match", 0, 1)]),
        # a match and a deletion both reach the last cell at 3: the diagonal wins again
        ("a a", "a", [("deletion", 0, -1), ("match", 1, 0)]),
        ("a b c", "a c", [("match", 0, 0), ("deletion", 1, -1), ("match", 2, 1)]),
        ("", "a b", [("insertion", -1, 0), ("insertion", -1, 1)]),
        ("a b", "", [("deletion", 0, -1), ("deletion", 1, -1)]),
        ("", "", []),
    ],
)
def test_hand_worked_alignments_follow_the_scorers_costs_and_tie_order(ref, hyp, expected):
    assert align_pair(ref.split(), hyp.split()) == expected
    assert align_batch([ref.split()], [hyp.split()]).steps(0) == expected


def test_vectorised_alignment_equals_the_cell_by_cell_rule_on_random_corpora():
    rng = random.Random(7)
    refs, hyps = [], []
    for _ in range(1500):
        vocab = list("abcdef")[: rng.randint(1, 6)]  # small vocabularies make many ties
        refs.append([rng.choice(vocab) for _ in range(rng.randint(0, 14))])
        hyps.append([rng.choice(vocab) for _ in range(rng.randint(0, 14))])
    al = align_batch(refs, hyps)
    assert al.n_utts == len(refs)
    for k in range(len(refs)):
        assert al.steps(k) == align_pair(refs[k], hyps[k]), (refs[k], hyps[k])


def _cost(counts):
    return 4 * counts["sub"] + 3 * (counts["del"] + counts["ins"])


def test_against_jiwer_unit_costs_never_fewer_errors_never_higher_433_cost():
    rng = random.Random(3)
    refs = [" ".join(rng.choice("abcd") for _ in range(rng.randint(1, 12))) for _ in range(400)]
    hyps = [" ".join(rng.choice("abcd") for _ in range(rng.randint(0, 12))) for _ in range(400)]
    ours = score(refs, hyps, normalizer=None).utterances
    differing = 0
    for k, (r, h) in enumerate(zip(refs, hyps)):
        j = jiwer.process_words(r, h) if h else None
        theirs = (
            {"sub": j.substitutions, "del": j.deletions, "ins": j.insertions}
            if j
            else {"sub": 0, "del": len(r.split()), "ins": 0}
        )
        mine = ours.loc[k, ["sub", "del", "ins"]].to_dict()
        # jiwer minimises the error count; the scorer minimises 4S + 3(D + I)
        assert sum(mine.values()) >= sum(theirs.values())
        assert _cost(mine) <= _cost(theirs)
        differing += sum(mine.values()) != sum(theirs.values())
    assert differing > 0  # the costs really do disagree somewhere, so the check above has teeth


def _isolated_edits(rng: random.Random, n_words: int):
    """A reference of distinct words and a hypothesis with edits at least two words apart."""
    ref = [f"w{rng.randrange(10**6)}" for _ in range(n_words)]
    hyp = []
    last_edit = -3
    for k, word in enumerate(ref):
        kind = rng.choice(["keep"] * 5 + ["sub", "del", "ins"]) if k - last_edit >= 3 else "keep"
        if kind == "keep":
            hyp.append(word)
            continue
        last_edit = k
        if kind == "sub":
            hyp.append(f"x{rng.randrange(10**6)}")
        elif kind == "ins":
            hyp.extend([word, f"y{rng.randrange(10**6)}"])
    return " ".join(ref), " ".join(hyp)


def test_total_wer_equals_jiwer_where_unit_and_433_costs_agree():
    rng = random.Random(11)
    pairs = [_isolated_edits(rng, rng.randint(3, 30)) for _ in range(300)]
    refs, hyps = zip(*pairs)
    ours = score(list(refs), list(hyps), normalizer=None)
    theirs = jiwer.process_words(list(refs), list(hyps))
    assert ours.wer == pytest.approx(theirs.wer, abs=1e-12)
    assert (ours.sub, ours.ins) == (theirs.substitutions, theirs.insertions)
    assert getattr(ours, "del") == theirs.deletions
    assert ours.sub + ours.ins > 50  # the corpus really has errors


def test_alignment_counts_and_long_utterances():
    rng = np.random.default_rng(0)
    refs = [[f"w{v}" for v in rng.integers(0, 50, size=n)] for n in (0, 1, 5, 120, 300)]
    hyps = [list(r) for r in refs]
    hyps[3][10] = "zzz"
    del hyps[4][100:103]
    al = align_batch(refs, hyps)
    counts = al.counts()  # match, sub, ins, del
    assert counts[:, 0].tolist() == [0, 1, 5, 119, 297]
    assert counts[3].tolist() == [119, 1, 0, 0]
    assert counts[4].tolist() == [297, 0, 0, 3]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: align_batch([["a"]], []), "1 references but 0 hypotheses"),
        (lambda: align_batch(["a b"], ["a c"]), "list of tokens"),  # would align letters
        (lambda: align_batch("a b", "a c"), "not a string"),
        (lambda: align_pair("ab", "ac"), "list of tokens"),
        (lambda: align_batch([["a"]], [None]), "list of tokens"),
    ],
)
def test_bad_alignment_inputs_raise_parameter_errors(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


@pytest.mark.parametrize(("ref", "hyp"), [("a b", ["a"]), (["a"], "a b"), ("x", "y")])
def test_a_string_on_either_side_is_refused(ref, hyp):
    with pytest.raises(ParameterError, match="list of tokens"):
        align_pair(ref, hyp)


_TOKENS_MESSAGE = (
    "align takes each utterance as a list of tokens (e.g. text.split()), not a string; "
    "to score texts use voxnb.bias.score"
)
_SIDES_MESSAGE = "align_batch takes a list of token lists per side, not a string"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # the message names the fix (split the text) and the function that takes texts
        (lambda: align_pair("a b", ["a"]), _TOKENS_MESSAGE),
        (lambda: align_batch([["a"]], [None]), _TOKENS_MESSAGE),
        # a string among the references alone: letter by letter it would align a, ' ', b
        (lambda: align_batch(["a b"], [["a", "b"]]), _TOKENS_MESSAGE),
        # a string for one whole side: the refusal says so, whatever the other side is (a
        # three-letter string against three token lists passes the length check)
        (lambda: align_batch("a b", [["a"], ["b"], ["c"]]), _SIDES_MESSAGE),
        (lambda: align_batch([["x"]], "x"), _SIDES_MESSAGE),
    ],
)
def test_refusals_say_word_for_word_what_to_do(call, message):
    with pytest.raises(ParameterError) as err:
        call()
    assert str(err.value) == message


def test_an_empty_corpus_aligns_to_no_steps_with_the_usual_array_types():
    al = align_batch([], [])
    assert al.n_utts == 0
    assert al.steps(0) == []
    assert al.counts().shape == (0, 4)
    # the same dtypes as a non-empty corpus, so the two concatenate or compare alike; op is int8
    # as documented
    usual = align_batch([["a"]], [["b"]])
    assert usual.op.dtype == np.int8
    for name in ("utt", "op", "ref_idx", "hyp_idx"):
        assert getattr(al, name).shape == (0,), name
        assert getattr(al, name).dtype == getattr(usual, name).dtype, name


def test_utterances_of_similar_length_share_a_padded_block(monkeypatch):
    # each block is padded to its longest reference and hypothesis, so the utterances are grouped
    # by (reference length, hypothesis length): with blocks of two, the lengths (3, 3), (1, 1),
    # (3, 2), (1, 1) pair up as the two short ones and the two long ones; in the given order
    # each block would hold a short and a long one and pad the short one to three words
    blocks = []
    real = align_module._align_block

    def spy(ref_ids, hyp_ids):
        blocks.append(([len(r) for r in ref_ids], [len(h) for h in hyp_ids]))
        return real(ref_ids, hyp_ids)

    monkeypatch.setattr(align_module, "_BLOCK", 2)
    monkeypatch.setattr(align_module, "_align_block", spy)
    refs = [["a", "b", "c"], ["a"], ["b", "c", "d"], ["d"]]
    hyps = [["a", "b", "c"], ["b"], ["b", "c"], ["d"]]
    al = align_batch(refs, hyps)
    assert blocks == [([1, 1], [1, 1]), ([3, 3], [2, 3])]
    # each utterance's steps come back under its own index (worked by hand)
    assert al.steps(0) == [("match", 0, 0), ("match", 1, 1), ("match", 2, 2)]
    assert al.steps(1) == [("substitution", 0, 0)]
    assert al.steps(2) == [("match", 0, 0), ("match", 1, 1), ("deletion", 2, -1)]
    assert al.steps(3) == [("match", 0, 0)]
