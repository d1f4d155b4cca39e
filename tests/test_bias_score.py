"""Hand-worked scoring cases: WER / U-WER / B-WER per the biasing scorer, both conventions, term measures."""

from __future__ import annotations

import json
import math
import random

import pytest

import voxnb
from voxnb.bias import score
from voxnb.errors import ParameterError
from voxnb.text import normalize, normalize_term
from voxnb.text.align import align_pair


def _counts(res, utt=0):
    return res.utterances.iloc[utt]


def test_biased_word_insertion_is_charged_to_b_wer():
    res = score(["Oban is near Tobermory."], ["Oban is near Tobermory Tobermory"], ["Oban", "Tobermory"])
    row = _counts(res)
    assert (row["b_ref"], row["b_ins"], row["u_ref"], row["u_ins"]) == (2, 1, 2, 0)
    assert res.b_wer == 0.5 and res.u_wer == 0.0 and res.wer == 0.25


def test_inserted_distractor_differs_between_the_two_conventions():
    refs, hyps, lists = ["Oban is near"], ["Oban is near Lerwick"], [["Oban", "Lerwick"]]
    rare = score(refs, hyps, lists, convention="reference-rare")
    full = score(refs, hyps, lists, convention="full-list")
    # the shipped scorer's set is the reference's rare words: the distractor insertion is an unbiased error
    assert (rare.u_ins, rare.b_ins, rare.u_wer, rare.b_wer) == (1, 0, 0.5, 0.0)
    # with the whole list as the set it is a biased error
    assert (full.u_ins, full.b_ins, full.u_wer, full.b_wer) == (0, 1, 0.0, 1.0)
    assert rare.wer == full.wer == pytest.approx(1 / 3)
    assert rare.info["convention"] == "reference-rare" and full.info["convention"] == "full-list"
    # the term measures do not depend on the convention
    assert rare.distractor_insertion_rate == full.distractor_insertion_rate == 1.0


def test_conventions_agree_when_no_listed_word_is_inserted_or_absent():
    refs = ["janis joplin sang in sausalito", "we met siobhan gallagher"]
    hyps = ["janice joplin sang in saw salito", "we met gallagher"]
    lists = [["Janis_Joplin", "Sausalito"], ["Siobhan", "Gallagher"]]
    a = score(refs, hyps, lists, convention="reference-rare")
    b = score(refs, hyps, lists, convention="full-list")
    assert a.counts.tolist() == b.counts.tolist()
    assert math.isnan(a.distractor_insertion_rate)  # nothing listed is absent: nothing to measure


def test_biased_word_deletion_and_substitution_go_by_the_reference_word():
    res = score(["we met Siobhan Gallagher"], ["we met Gallagher"], ["Siobhan", "Gallagher"])
    row = _counts(res)
    assert (row["b_del"], row["b_ref"], row["u_del"]) == (1, 2, 0)
    assert res.b_wer == 0.5 and res.u_wer == 0.0
    # an unbiased reference word replaced by a listed word is an unbiased substitution
    res = score(["the cat sat"], ["the Oban sat"], ["Oban"], convention="full-list")
    assert (res.u_sub, res.b_sub, res.b_ins) == (1, 0, 0)


def test_tie_order_decides_which_word_an_error_is_charged_to():
    """Hand-worked: equal-cost alignments the scorer resolves diagonal first, then insertion, then deletion."""
    # ref "lerwick a" / hyp "c": del+sub and sub+del both cost 7; at the last cell the diagonal wins,
    # so "a" is substituted and the biased "lerwick" deleted (not substituted)
    res = score(["lerwick a"], ["c"], ["lerwick"], normalizer=None)
    assert (res.b_del, res.b_sub, res.u_sub, res.u_del) == (1, 0, 1, 0)
    # ref "oban a" / hyp "oban lerwick c": after the match, ins+sub and sub+ins both cost 7; the
    # diagonal wins at the last cell, so "lerwick" is the inserted word and "a" -> "c" the substitution
    refs, hyps, terms = ["oban a"], ["oban lerwick c"], ["oban", "lerwick"]
    full = score(refs, hyps, terms, normalizer=None, convention="full-list")
    assert (full.b_ref, full.b_ins, full.u_ref, full.u_sub, full.u_ins) == (1, 1, 1, 1, 0)
    assert (full.wer, full.b_wer, full.u_wer) == (1.0, 1.0, 1.0)
    # the shipped scorer's set holds only reference words: the same insertion is unbiased
    rare = score(refs, hyps, terms, normalizer=None)
    assert (rare.b_ins, rare.u_sub, rare.u_ins) == (0, 1, 1)
    assert (rare.wer, rare.b_wer, rare.u_wer) == (1.0, 0.0, 2.0)


def test_multi_word_terms_are_one_unit_for_term_measures():
    refs = ["janis joplin sang"] * 3
    hyps = ["Janis Joplin sang", "Janice Joplin sang", "janis la joplin sang"]
    res = score(refs, hyps, ["Janis_Joplin"])
    utt = res.utterances
    assert utt["term_gt"].tolist() == [1, 1, 1]
    assert utt["term_tp"].tolist() == [1, 0, 0]  # a substituted word, an inserted word inside the phrase
    assert utt["term_fp"].tolist() == [0, 0, 0]
    # word-level B-WER sees two biased words per utterance
    assert utt["b_ref"].tolist() == [2, 2, 2]
    assert utt["b_sub"].tolist() == [0, 1, 0]
    assert utt["u_ins"].tolist() == [0, 0, 1]  # "la" is not a listed word
    assert res.term_recall == pytest.approx(1 / 3)
    assert res.term_precision == 1.0
    assert res.term_f1 == pytest.approx(2 * 1 / (1 + 0 + 3))


def test_false_positive_and_distractor_insertion():
    res = score(
        ["hello there", "janis joplin"], ["janis joplin there", "janis joplin"], ["Janis_Joplin", "Oban"]
    )
    assert res.utterances["term_fp"].tolist() == [1, 0]
    assert res.utterances["absent_terms"].tolist() == [2, 1]  # janis joplin + oban; oban
    assert res.utterances["absent_inserted"].tolist() == [1, 0]
    assert res.term_precision == 0.5 and res.term_recall == 1.0
    assert res.distractor_insertion_rate == pytest.approx(1 / 3)
    terms = res.terms
    assert terms.loc["janis joplin", "fp"] == 1 and terms.loc["janis joplin", "tp"] == 1
    assert terms.loc["oban", "listed"] == 2 and terms.loc["oban", "absent"] == 2


def test_empty_hypothesis_and_empty_reference():
    res = score(["Oban is near", "", ""], ["", "Oban", ""], ["Oban"])
    utt = res.utterances
    assert utt.loc[0, ["del", "b_del", "u_del", "wer"]].tolist() == [3, 1, 2, 1.0]
    assert utt.loc[1, ["ins", "ref_words"]].tolist() == [1, 0]
    assert math.isnan(utt.loc[1, "wer"])  # no reference words: undefined, not 0 or infinite
    assert utt.loc[2, ["sub", "del", "ins", "ref_words"]].tolist() == [0, 0, 0, 0]
    # corpus rates are ratios of sums: the insertion counts, the empty reference adds no words
    assert res.wer == pytest.approx(4 / 3)
    # with reference-rare the inserted "oban" of utterance 1 is unbiased (oban is not in that reference)
    assert res.b_ins == 0 and res.u_ins == 1


def test_spelling_is_checked_on_raw_text_case_and_diacritics_included():
    refs = ["Ingrid Sørensen studies lichens"] * 4
    hyps = ["Ingrid Sørensen. Studies lichens", "Ingrid Sorensen studies lichens",
            "ingrid sørensen studies lichens", "Ingrid Sørensens studies lichens"]  # fmt: skip
    res = score(refs, hyps, ["Sørensen"])
    utt = res.utterances
    assert utt["spell_total"].tolist() == [1, 1, 1, 1]
    assert utt["spell_correct"].tolist() == [1, 0, 0, 0]
    # after Whisper's normaliser the first three are the same word: no B-WER error
    assert utt["b_wer"].tolist()[:3] == [0.0, 0.0, 0.0]
    assert res.spelling_accuracy == 0.25
    # the basic normaliser keeps diacritics, so "sorensen" is now an error
    basic = score(refs, hyps, ["Sørensen"], normalizer="basic")
    assert basic.utterances["b_sub"].tolist() == [0, 1, 0, 1]
    assert basic.info["normalizer"] == "basic"


def test_normalisation_is_applied_to_terms_too():
    assert normalize_term("Dr._Quillara") == "doctor quillara"
    assert normalize("Dr. Quillara met Zoë!") == "doctor quillara met zoe"
    assert normalize("Dr. Quillara met Zoë!", mode=None) == "Dr. Quillara met Zoë!"
    res = score(["Doctor Quillara arrived"], ["Dr. Quillara arrived"], ["Dr._Quillara"])
    assert res.wer == 0 and res.term_recall == 1.0 and res.b_ref == 2
    with pytest.raises(ParameterError, match="unknown normalizer"):
        normalize("x", mode="klingon")
    custom = score(["A b"], ["a B"], ["b"], normalizer=str.lower)
    assert custom.wer == 0 and custom.info["normalizer"] == "str.lower"


def test_counts_match_a_literal_reading_of_the_scorer():
    """Re-count every utterance the way score.py's main loop does, from the cell-by-cell alignment."""
    rng = random.Random(5)
    vocab = ["oban", "lerwick", "the", "a", "ferry", "to", "left", "dunedin"]
    refs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 10))) for _ in range(200)]
    hyps = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 10))) for _ in range(200)]
    # lowercase terms: with normalizer=None they must match the lowercase texts to be biased at all
    lists = [rng.sample(["oban", "lerwick", "dunedin"], rng.randint(0, 3)) for _ in range(200)]
    biased = {}
    for convention in ("reference-rare", "full-list"):
        res = score(refs, hyps, lists, convention=convention, normalizer=None)
        totals = dict.fromkeys(["ref_words", "sub", "del", "ins", "b_ref", "b_sub", "b_del", "b_ins",
                                "u_ref", "u_sub", "u_del", "u_ins"], 0)  # fmt: skip
        for ref, hyp, terms in zip(refs, hyps, lists):
            r, h = ref.split(), hyp.split()
            words = set(terms) if convention == "full-list" else {t for t in terms if t in r}
            for op, ri, hi in align_pair(r, h):
                cls = "b_" if (h[hi] if op == "insertion" else r[ri]) in words else "u_"
                short = {"substitution": "sub", "deletion": "del", "insertion": "ins"}.get(op)
                if op != "insertion":
                    totals["ref_words"] += 1
                    totals[cls + "ref"] += 1
                if short:
                    totals[short] += 1
                    totals[cls + short] += 1
        assert {k: getattr(res, k) for k in totals} == totals
        biased[convention] = (totals["b_ref"], totals["b_sub"], totals["b_del"], totals["b_ins"])
    # the corpus exercises every biased class, and the conventions differ on insertions only
    assert (
        all(n > 0 for n in biased["reference-rare"][:3])
        and biased["full-list"][3] > biased["reference-rare"][3]
    )
    assert biased["full-list"][:3] == biased["reference-rare"][:3]


def test_result_tables_and_views():
    refs = {"u1": "Janis Joplin sang in Sausalito.", "u2": "Oban is near."}
    hyps = {"u2": "Oban is near.", "u1": "Janice Joplin sang in Saw Salito"}
    res = score(refs, hyps, {"u1": ["Janis_Joplin", "Sausalito"], "u2": ["Oban"]})
    assert res.utterances["id"].tolist() == ["u1", "u2"]
    al = res.alignment
    assert list(al.columns) == ["id", "ref_idx", "hyp_idx", "op", "ref_word", "hyp_word", "is_bias"]
    u1 = al[al["id"] == "u1"]
    assert u1["op"].astype(str).tolist() == [
        "substitution",
        "match",
        "match",
        "match",
        "insertion",
        "substitution",
    ]
    assert u1["is_bias"].tolist() == [True, True, False, False, False, True]
    assert u1["ref_idx"].isna().tolist() == [False, False, False, False, True, False]
    errors = res.errors
    assert errors.loc["biased", ["ref_words", "sub", "del", "ins"]].tolist() == [4, 2, 0, 0]
    assert errors.loc["all", "rate"] == pytest.approx(res.wer)
    view = res.alignment_html(errors_only=True)
    assert "u1" in view.html and "<code>u2</code>" not in view.html
    assert "u2" in res.alignment_html().html
    assert "B-WER" in res._repr_html_() and "convention=reference-rare" in repr(res)
    frame = res.to_frame()
    assert frame.loc["b_wer", "value"] == pytest.approx(res.b_wer)
    assert frame.loc["b_wer", ["normalizer", "convention"]].tolist() == ["whisper-en", "reference-rare"]
    assert set(res.term_hits["term"]) == {"janis joplin", "sausalito", "oban"}


def test_transcripts_as_hypotheses_carry_backend_and_model():
    t = voxnb.Transcript.from_response(
        {
            "model": "voxtral-mini-latest",
            "text": " Oban is near.",
            "language": "en",
            "segments": [],
            "usage": {},
        },
        backend="mistral",
    )
    res = score(["Oban is near"], [t], ["Oban"])
    assert res.info == {"backend": "mistral", "model": "voxtral-mini-latest", "normalizer": "whisper-en",
                        "convention": "reference-rare"}  # fmt: skip
    assert res.wer == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: score("one string", ["x"]), "list of reference texts"),
        (lambda: score(["a", "b"], ["a"]), "2 references but 1 hypothesis entries"),
        (lambda: score(["a"], ["a"], [["x"], ["y"]]), "1 references but 2 bias list entries"),
        (lambda: score(["a"], ["a"], convention="everything"), "convention must be"),
        (lambda: score(["a"], ["a"], "Oban"), "not a single string"),
        (lambda: score({"u1": "a"}, {"u2": "a"}), "no hypothesis"),
        (lambda: score(["a"], [3]), "a hypothesis must be a str or a Transcript"),
        (lambda: score([3], ["a"]), "a reference must be a str or a Transcript"),
        (lambda: score(None, ["x"]), "refs must be a list"),
        (lambda: score(["a"], None), "hypothesis collection must be a list"),
        (lambda: score(["a"], ["a"], 5), "bias must be a list"),
        (lambda: score(["a"], ["a"], [5]), "bias list must be a list of strings"),
        (lambda: score(["a", "b"], ["a", "b"], [["x"], 5]), "bias list must be a list of strings"),
        (lambda: score(["a"], ["a"], normalizer=lambda text: None), "returned NoneType, not str"),
    ],
)
def test_bad_inputs_raise_parameter_errors(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_librispeech_style_rows_score_like_the_benchmark():
    """Two rows in the benchmark's format (lowercase refs, JSON lists), scored with its conventions."""
    rows = [
        ("1089-134686-0000", "he hoped there would be stew for dinner turnips and carrots",
         ["stew", "turnips"], ["stew", "turnips", "quillara", "abernethy"]),
        ("1089-134686-0001", "stuff it into you his belly counselled him",
         ["counselled"], ["counselled", "quillara"]),
    ]  # fmt: skip
    hyps = ["he hoped there would be stu for dinner turnips and carrots quillara",
            "stuff it into you his belly counseled him"]  # fmt: skip
    rare = score([r[1] for r in rows], hyps, [r[3] for r in rows], normalizer=None)
    assert json.dumps([rare.b_sub, rare.b_ins, rare.u_ins, rare.b_ref]) == json.dumps([2, 0, 1, 3])
    full = score([r[1] for r in rows], hyps, [r[3] for r in rows], normalizer=None, convention="full-list")
    assert (full.b_ins, full.u_ins) == (1, 0)
    # Whisper's normaliser maps British "counselled" to American "counseled": that error disappears
    assert score([r[1] for r in rows], hyps, [r[3] for r in rows]).b_sub == 1


def test_reprs_say_what_was_scored_and_how():
    s = score(["the cat sat"], ["the bat sat"], [["cat"]], normalizer=None, backend="local", model="tiny.en")
    # 1 substitution of 3 words, on the one biased word: WER 1/3, U-WER 0, B-WER 1
    assert repr(s) == (
        "<BiasScore 1 utterances: WER 33.33%, U-WER 0.00%, B-WER 100.00%, term F1 0.000 "
        "(backend=local, model=tiny.en, normalizer=none, convention=reference-rare)>"
    )
    html_text = s._repr_html_()
    assert html_text.startswith(
        "<div><b>BiasScore</b>: 1 utterances, 3 reference words (1 biased)<br><small>"
    )
    assert "backend=local, model=tiny.en, normalizer=none, convention=reference-rare" in html_text
    assert "<td style='text-align:right'>33.33%</td>" in html_text and html_text.endswith("</table></div>")
    unknown = score(["a"], ["a"], normalizer=None)
    assert "(backend=unknown, model=unknown, normalizer=none, convention=reference-rare)>" in repr(unknown)
    names = dir(s)
    assert {"wer", "b_wer", "u_wer", "b_sub", "ins", "utterances"} <= set(names) and names == sorted(names)


def test_a_normalizer_that_does_not_return_text_is_named_in_the_error():
    def shout(text):
        return len(text)

    with pytest.raises(
        voxnb.ParameterError,
        match=r"^the normalizer \S*shout returned int, not str; a normalizer takes a text",
    ):
        score(["a"], ["a"], normalizer=shout)


def test_normalize_none_and_terms_in_each_mode():
    assert normalize(None) == "" and normalize(None, None) == ""
    assert normalize_term("Janis_Joplin") == "janis joplin"
    assert normalize_term("New_York_Café", None) == "New York Café"  # no normaliser: underscores only
    assert normalize_term("Café_au_lait", "basic") == "café au lait"


def test_html_lists_every_measure_as_a_row_and_errors_as_percentages():
    s = score(["the cat sat"], ["the bat sat"], [["cat"]], normalizer=None)
    html_text = s._repr_html_()
    table = html_text[html_text.index("<table>") : html_text.index("</table>")]
    assert table.count("<tr>") == len(s.measures) and "</tr><tr>" in table
    errors = html_text[html_text.index("</table>") :]
    assert "33.33%" in errors and "0.333" not in errors


def test_term_hits_follow_the_order_of_the_list():
    # not the order of a set of tuples, which changes with the interpreter's hash seed
    listed = ["Oban", "Lerwick", "Dunedin", "Tobermory", "Skye", "Iona"]
    res = score(["oban lerwick dunedin tobermory"], ["oban lerwick dunedin tobermory skye iona"], [listed])
    assert res.term_hits["term"].tolist() == ["oban", "lerwick", "dunedin", "tobermory", "skye", "iona"]
