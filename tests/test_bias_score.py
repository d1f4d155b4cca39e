"""Hand-worked scoring cases: WER / U-WER / B-WER per the biasing scorer, both conventions, term measures."""

from __future__ import annotations

import functools
import json
import math
import random
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from whisper_normalizer.basic import BasicTextNormalizer

import voxnb
from voxnb.bias import score
from voxnb.bias.scoring import COUNT_COLUMNS, _count_raw, ratio
from voxnb.errors import ParameterError
from voxnb.text import normalize, normalize_term
from voxnb.text.align import align_pair
from voxnb.text.normalization import normalizer_name


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


def test_a_callable_object_is_named_by_its_class():
    # an instance has no __qualname__ of its own: the label is its class's name
    assert normalizer_name(BasicTextNormalizer()) == "BasicTextNormalizer"
    assert normalizer_name(functools.partial(str.replace, "_", " ")) == "partial"


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


# --- round 4 of mutation testing: each value below is worked out by hand from the definitions ---


def _transcript(text, backend, model=None):
    response = {"text": text, "language": "en", "segments": [], "usage": {}}
    if model:
        response["model"] = model
    return voxnb.Transcript.from_response(response, backend=backend)


def test_refusals_say_exactly_what_was_given_and_what_to_give():
    cases = [
        (lambda: score("one string", ["x"]),
         "refs must be a list of reference texts (or a mapping id -> text), not one string"),
        (lambda: score(["a"], ["a"], "Oban"),
         "bias must be a list of terms (or one list per utterance), not a single string"),
        (lambda: score(["a"], ["a"], 5), "bias must be a list (or a mapping id -> item), not int"),
        (lambda: score(["a"], [3]), "a hypothesis must be a str or a Transcript, not int"),
        # a hypothesis may be None (nothing recognised), a reference may not: it says what was said
        (lambda: score([None], ["a"]), "a reference must be a str or a Transcript, not NoneType"),
        (lambda: score(["a"], ["a"]).bootstrap(measures=["wer", "cer"]),
         "unknown measure(s) ['cer']; choose from wer, u_wer, b_wer, term_precision, term_recall, "
         "term_f1, spelling_accuracy, distractor_insertion_rate"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(ParameterError) as caught:
            call()
        assert str(caught.value) == message
    with pytest.raises(AttributeError) as caught:
        score(["a"], ["a"]).cer  # noqa: B018 (the attribute access is the test)
    assert str(caught.value) == "'BiasScore' object has no attribute 'cer'"


def test_a_hypothesis_of_none_recognised_nothing():
    # three reference words, nothing recognised: three deletions, WER 1
    res = score(["Oban is near"], [None], ["Oban"])
    row = _counts(res)
    assert (row["hyp_words"], row["del"], row["b_del"], row["u_del"], row["ins"]) == (0, 3, 1, 2, 0)
    assert res.wer == 1.0 and res.raw_hyps == [""]


def test_raw_texts_and_ids_are_kept_as_given():
    t = _transcript(" Oban is near.", "mistral")
    res = score(["Oban is NEAR!", "the ferry"], [t, "The ferry."])
    assert res.raw_refs == ["Oban is NEAR!", "the ferry"]
    assert res.raw_hyps == [" Oban is near.", "The ferry."]
    # a list of references is numbered from 0, as strings
    assert res.ids == ["0", "1"] and res.utterances["id"].tolist() == ["0", "1"]
    assert res.alignment["id"].unique().tolist() == ["0", "1"]


def test_backend_and_model_of_several_transcripts_are_listed_sorted():
    hyps = [_transcript("a", "mistral", "voxtral-mini"), _transcript("b", "local", "tiny.en")]
    res = score(["a", "b"], hyps)
    assert res.info["backend"] == "local, mistral" and res.info["model"] == "tiny.en, voxtral-mini"
    # an object with a text but neither label is fine: the labels are unknown
    plain = score(["a"], [SimpleNamespace(text="a")])
    assert (plain.info["backend"], plain.info["model"]) == (None, None)


def test_ratio_is_nan_where_there_is_nothing_to_measure_and_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 and 1/0 must not reach the user as RuntimeWarnings
        got = ratio(np.array([1.0, 0.0, 3.0, 1.0]), np.array([0.0, 0.0, 2.0, 0.5]))
    assert np.isnan(got[:2]).all() and got[2:].tolist() == [1.5, 2.0]


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("Oban", "Oban is near", 1),  # at the very start of the text, the text ending in a letter
        ("Oban", "near Oban", 1),  # at the very end
        ("Oban", "MacOban is near", 0),  # a letter before: part of another word
        ("Oban", "Obans are near", 0),  # a letter after
        ("Oban", "my_Oban is near", 0),  # "_" joins words too
        ("Oban", "Oban_s is near", 0),
        ("Oban", "Oban, Oban", 2),  # punctuation and spaces separate words
        ("Oban", "Oban, Oban and Oban", 3),
        ("Oban", "Oban and Oben", 1),
        ("Janis Joplin", "Janis Joplin sang", 1),
        ("--", "a --- b", 2),  # "--" stands at 2 and at 3, neither next to a word character
    ],
)
def test_raw_counts_of_a_term_as_a_whole_word(term, text, expected):
    assert _count_raw(term, text) == expected


def test_spelling_counts_each_occurrence_up_to_the_references():
    refs = ["Oban and Oban"] * 3 + ["we saw Janis Joplin"]
    hyps = ["Oban and Oban", "Oban and Oben", "Oban and Oban and Oban", "we saw Janis Joplin"]
    res = score(refs, hyps, ["Oban", "Janis_Joplin"])
    # two occurrences in each reference; the third hypothesis' third Oban is one too many to count
    assert res.utterances["spell_total"].tolist() == [2, 2, 2, 1]
    assert res.utterances["spell_correct"].tolist() == [2, 1, 2, 1]  # "Janis_Joplin" read as "Janis Joplin"


def test_a_term_that_normalises_to_nothing_is_not_scored():
    # "?!" becomes "" under Whisper's normaliser: it is listed but neither present nor absent
    res = score(["Oban is near"], ["Oban is near"], ["Oban", "?!"])
    row = _counts(res)
    assert (row["list_size"], row["absent_terms"], row["term_gt"]) == (2, 0, 1)
    assert math.isnan(res.distractor_insertion_rate) and res.terms.index.tolist() == ["oban"]


def test_underscores_join_the_words_of_a_term_without_a_normaliser():
    res = score(["we saw janis joplin"], ["we saw janis joplin"], ["janis_joplin"], normalizer=None)
    assert (res.b_ref, res.term_gt, res.term_tp) == (2, 1, 1)


def test_counts_are_integers_per_utterance():
    res = score(["oban is near", "the ferry"], ["oban is far", "the ferry"], ["Oban"])
    assert res.counts.dtype == np.int64
    assert set(res.utterances[list(COUNT_COLUMNS)].dtypes) == {np.dtype("int64")}
    # matches per utterance, not the corpus' total on every row
    assert res.utterances["matches"].tolist() == [2, 2]


def test_term_hits_row_by_row():
    refs = {
        # "oban" twice: the first is a hit although the next word is substituted; the second is
        # substituted by "open"; the hypothesis spells it "Oban" once
        "a": "we sailed to oban ferry and oban",
        # "janis joplin" once in the reference, twice in the hypothesis (one false positive);
        # "lerwick" is listed, absent from the reference and inserted twice
        "b": "janis joplin sang",
    }
    hyps = {
        "a": "We sailed to Oban fairy and open",
        "b": "Janis Joplin sang Janis Joplin in Lerwick, Lerwick",
    }
    bias = {"a": ["Oban"], "b": ["Janis_Joplin", "Lerwick", "Oban"]}
    res = score(refs, hyps, bias)
    rows = [tuple(r) for r in res.term_hits.itertuples(index=False)]
    # id, term, listed_as, gt, tp, fp, spell_total, spell_correct, absent_inserted
    assert rows == [
        ("a", "oban", "Oban", 2, 1, 0, 2, 1, 0),
        ("b", "janis joplin", "Janis_Joplin", 1, 1, 1, 1, 1, 0),
        ("b", "lerwick", "Lerwick", 0, 0, 2, 0, 0, 1),
    ]
    utt = res.utterances
    assert utt["term_fp"].tolist() == [0, 3] and utt["term_tp"].tolist() == [1, 1]
    assert utt["absent_terms"].tolist() == [0, 2] and utt["absent_inserted"].tolist() == [0, 1]


def test_term_hits_follow_the_order_of_the_list():
    # not the order of a set of tuples, which changes with the interpreter's hash seed
    listed = ["Oban", "Lerwick", "Dunedin", "Tobermory", "Skye", "Iona"]
    res = score(["oban lerwick dunedin tobermory"], ["oban lerwick dunedin tobermory skye iona"], [listed])
    assert res.term_hits["term"].tolist() == ["oban", "lerwick", "dunedin", "tobermory", "skye", "iona"]


def test_to_frame_names_each_measure_and_its_label():
    frame = score(["a b"], ["a c"], ["b"]).to_frame()
    assert frame.index.name == "measure"
    assert frame["label"].tolist() == ["WER", "U-WER", "B-WER", "term precision", "term recall", "term F1",
                                       "exact spelling", "distractor insertions"]  # fmt: skip


def test_bootstrap_passes_every_option_on():
    # utterance 0: one word, wrong; utterance 1: one word, right. A replicate draws two utterances:
    # both 0 (WER 1, chance 1/4), one of each (WER 1/2, chance 1/2) or both 1 (WER 0, chance 1/4)
    res = score(["oban", "lerwick"], ["open", "lerwick"])
    wide = res.bootstrap(measures=["wer"])
    assert wide[["estimate", "low", "high", "n_boot", "blocks"]].values.tolist() == [
        [0.5, 0.0, 1.0, 1000, "utterance"]
    ]
    # the central 20 %: the 40th and 60th percentiles both fall among the one-of-each replicates
    narrow = res.bootstrap(measures=["wer"], ci=0.2, n_boot=300)
    assert narrow[["low", "high", "n_boot"]].values.tolist() == [[0.5, 0.5, 300]]
    # one block holding both utterances: every replicate is the corpus itself
    blocked = res.bootstrap(measures=["wer"], blocks=["s1", "s1"])
    assert blocked[["low", "high", "blocks"]].values.tolist() == [[0.5, 0.5, "block"]]
    # the default seed is 0: the same replicates as seed=0, not those of seed=1 (on a corpus whose
    # interval moves with the draws)
    varied = score(["a b c d", "a b", "a b c", "a", "a b c d e"], ["a x c d", "y", "a b c", "z", "a b"])
    drawn = {seed: varied.bootstrap(measures=["wer"], n_boot=20, seed=seed) for seed in (0, 1)}
    assert varied.bootstrap(measures=["wer"], n_boot=20).equals(drawn[0]) and not drawn[0].equals(drawn[1])


_LEGEND = (
    "<small>struck: reference word missed; &#8594; substitution; +: insertion; "
    "<b><u>underlined</u></b>: biased word ({}). {} utterance(s) shown.</small>"
)


def test_alignment_html_markup_worked_by_hand():
    refs = {"u1": "the ferry left for oban", "e1": "", "e2": "bye"}
    hyps = {"u1": "the fairy left oban now", "e1": "hi", "e2": ""}
    bias = {"u1": ["ferry", "oban"], "e1": [], "e2": []}
    view = score(refs, hyps, bias, normalizer=None).alignment_html()
    # u1: the = the; ferry -> fairy (4); left = left; "for" deleted (3); oban = oban; "now" inserted (3):
    # cost 10, and no other alignment costs as little. ferry and oban are listed and in the reference,
    # so bold and underlined; e1 is an insertion into an empty reference, e2 a deletion with nothing
    # recognised
    bold = "font-weight:bold;text-decoration:underline;"
    u1 = " ".join([
        "<span style=''>the</span>",
        f"<span style='{bold}background:#fdd'><s>ferry</s>&#8594;<span style='color:#a00'>fairy</span></span>",
        "<span style=''>left</span>",
        "<span style='background:#fdd'><s>for</s></span>",
        f"<span style='{bold}'>oban</span>",
        "<span style='background:#dfd'>+now</span>",
    ])  # fmt: skip
    assert view.html == (
        _LEGEND.format("reference-rare", 3)
        + f"<div style='margin:2px 0'><code>u1</code> <small>(S1 D1 I1)</small> {u1}</div>"
        + "<div style='margin:2px 0'><code>e1</code> <small>(S0 D0 I1)</small> "
        + "<span style='background:#dfd'>+hi</span></div>"
        + "<div style='margin:2px 0'><code>e2</code> <small>(S0 D1 I0)</small> "
        + "<span style='background:#fdd'><s>bye</s></span></div>"
    )
    assert (
        view._repr_html_() == view.html
        and repr(view) == f"<AlignmentView: {len(view.html)} characters of HTML>"
    )


def test_alignment_html_escapes_words_and_ids():
    view = score({"a&b": "x<y z"}, {"a&b": "x<y"}, normalizer=None).alignment_html()
    assert "<code>a&amp;b</code>" in view.html and "<span style=''>x&lt;y</span>" in view.html


def test_alignment_html_errors_only_and_limit():
    # ok0 and ok2 are right; err1 has a substitution and a deletion (ferry -> fairy, "left"
    # deleted: S1 D1, as many of one as of the other); err3 a substitution
    ids = ["ok0", "err1", "ok2", "err3"]
    refs = dict(zip(ids, ["oban", "the ferry left", "lerwick", "dunedin"]))
    hyps = dict(zip(ids, ["oban", "the fairy", "lerwick", "dundee"]))
    res = score(refs, hyps, normalizer=None)

    def shown(view):
        return [i for i in ids if f"<code>{i}</code>" in view.html]

    for kwargs, expected in [
        ({}, ids),
        ({"limit": None}, ids),
        ({"errors_only": True}, ["err1", "err3"]),
        ({"limit": 1}, ["ok0"]),
        ({"limit": 2}, ["ok0", "err1"]),
        ({"limit": 3}, ["ok0", "err1", "ok2"]),
        ({"errors_only": True, "limit": 1}, ["err1"]),
    ]:
        view = res.alignment_html(**kwargs)
        assert shown(view) == expected, kwargs
        assert view.html.startswith(_LEGEND.format("reference-rare", len(expected))), kwargs
    assert "<small>(S1 D1 I0)</small>" in res.alignment_html(errors_only=True).html
    # 50 utterances by default
    many = score(["oban"] * 51, ["oban"] * 51, normalizer=None, convention="full-list")
    assert _LEGEND.format("full-list", 50) in many.alignment_html().html
    assert many.alignment_html().html.count("<div") == 50
