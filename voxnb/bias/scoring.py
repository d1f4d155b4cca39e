"""Score transcripts against references and a bias list: WER, U-WER, B-WER and term measures.

:func:`score` computes everything once into a :class:`BiasScore`; every measure, table and view
derives from it (jiwer's habit). The definitions follow the LibriSpeech biasing benchmark's
scorer (Le et al., Interspeech 2021, ``facebookresearch/fbai-speech: is21_deep_bias/score.py``):

* tokens are the whitespace-separated words of the normalised texts, aligned with substitution
  cost 4 and insertion/deletion cost 3 and the scorer's tie order (:mod:`voxnb.text.align`);
* a substitution or deletion counts towards B-WER when the *reference* word is in the biased set,
  towards U-WER otherwise; an insertion counts towards B-WER when the *inserted* word is in the
  set; both denominators count reference words only, so U-WER and B-WER can exceed 1;
* the biased set is, per utterance, the words of the bias terms, under one of two conventions:
  ``"reference-rare"`` keeps the terms that occur in the reference (what the benchmark's shipped
  scorer uses: its third TSV column, so an inserted distractor counts towards U-WER and only an
  extra copy of a reference rare word is a B-WER insertion, which is why the benchmark's
  published B-WER insertions read 0), ``"full-list"`` keeps every term of the list (an inserted
  distractor then counts towards B-WER).

Term measures, independent of the convention:

* phrase-level precision, recall and F1 (as NeMo's CTC-WS scorer counts them, with multi-word
  terms as one unit): each occurrence of a term in the normalised reference is a ground-truth
  occurrence, a hit when every one of its words is aligned to an identical word with nothing
  inserted inside it; each occurrence of a term in the normalised hypothesis that is not a hit
  is a false positive;
* exact-spelling accuracy on the *raw* texts: for each occurrence of a listed term in the
  (normalised) reference, is the term as listed (underscores read as spaces) found in the raw
  hypothesis, case and diacritics included;
* the distractor insertion rate: of the listed terms absent from the reference, the share that
  appears in the hypothesis (the risk a bias list adds).
"""

from __future__ import annotations

import functools
import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxnb.bias.data import term_tuple
from voxnb.errors import ParameterError
from voxnb.text.align import DEL, INS, MATCH, OP_NAMES, SUB, Alignment, align_batch
from voxnb.text.normalization import Normalizer, normalizer_name, resolve_normalizer

__all__ = ["CONVENTIONS", "COUNT_COLUMNS", "MEASURES", "BiasScore", "Measure", "score"]

CONVENTIONS = ("reference-rare", "full-list")

#: per-utterance counts every measure is computed from (ratios of sums, so corpus figures weight
#: utterances by their size, and the bootstrap only resamples these rows)
COUNT_COLUMNS = (
    "ref_words", "hyp_words", "matches", "sub", "del", "ins",
    "u_ref", "u_sub", "u_del", "u_ins",
    "b_ref", "b_sub", "b_del", "b_ins",
    "list_size", "term_gt", "term_tp", "term_fp",
    "spell_total", "spell_correct", "absent_terms", "absent_inserted",
)  # fmt: skip
_COL = {name: k for k, name in enumerate(COUNT_COLUMNS)}


@dataclass(frozen=True)
class Measure:
    """A corpus measure as a ratio of weighted sums of per-utterance counts."""

    name: str
    label: str
    numerator: Mapping[str, float]
    denominator: Mapping[str, float]
    lower_is_better: bool

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        num, den = np.zeros(len(COUNT_COLUMNS)), np.zeros(len(COUNT_COLUMNS))
        for col, w in self.numerator.items():
            num[_COL[col]] = w
        for col, w in self.denominator.items():
            den[_COL[col]] = w
        return num, den


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("wer", "WER", {"sub": 1, "del": 1, "ins": 1}, {"ref_words": 1}, True),
        Measure("u_wer", "U-WER", {"u_sub": 1, "u_del": 1, "u_ins": 1}, {"u_ref": 1}, True),
        Measure("b_wer", "B-WER", {"b_sub": 1, "b_del": 1, "b_ins": 1}, {"b_ref": 1}, True),
        Measure("term_precision", "term precision", {"term_tp": 1}, {"term_tp": 1, "term_fp": 1}, False),
        Measure("term_recall", "term recall", {"term_tp": 1}, {"term_gt": 1}, False),
        # F1 = 2PR/(P+R) = 2tp / (tp + fp + gt): still a ratio of sums, so it bootstraps the same way
        Measure("term_f1", "term F1", {"term_tp": 2}, {"term_tp": 1, "term_fp": 1, "term_gt": 1}, False),
        Measure("spelling_accuracy", "exact spelling", {"spell_correct": 1}, {"spell_total": 1}, False),
        Measure(
            "distractor_insertion_rate",
            "distractor insertions",
            {"absent_inserted": 1},
            {"absent_terms": 1},
            True,
        ),
    )
}


def measure_matrices(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator weights, shape ``(len(COUNT_COLUMNS), len(names))``."""
    unknown = [n for n in names if n not in MEASURES]
    if unknown:
        raise ParameterError(f"unknown measure(s) {unknown}; choose from {', '.join(MEASURES)}")
    pairs = [MEASURES[n].vectors() for n in names]
    return np.stack([p[0] for p in pairs], axis=1), np.stack([p[1] for p in pairs], axis=1)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (a measure with nothing to measure, not a perfect score)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # x/0 is computed, then replaced by NaN
        return np.where(den > 0, num / den, np.nan)


# ---------------------------------------------------------------------------------------------
# inputs


def _text_of(obj: Any, what: str) -> str:
    if obj is None and what != "reference":  # nothing recognised; a reference must say what was said
        return ""
    if isinstance(obj, str):
        return obj
    text = getattr(obj, "text", None)
    if isinstance(text, str):
        return text
    raise ParameterError(f"a {what} must be a str or a Transcript, not {type(obj).__name__}")


def _listed(obj: Any, what: str) -> list[Any]:
    """*obj* (a collection other than a string) as a list."""
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
        raise ParameterError(f"{what} must be a list (or a mapping id -> item), not {type(obj).__name__}")
    return list(obj)


def _by_id(obj: Any, ids: list[Any], what: str) -> list[Any]:
    if isinstance(obj, Mapping):
        missing = [i for i in ids if i not in obj]
        if missing:
            raise ParameterError(
                f"{len(missing)} utterance(s) have no {what} (first: {missing[0]!r}); "
                f"give one {what} per reference id"
            )
        return [obj[i] for i in ids]
    seq = _listed(obj, f"the {what} collection")
    if len(seq) != len(ids):
        raise ParameterError(
            f"{len(ids)} references but {len(seq)} {what} entries; give one {what} per reference"
        )
    return seq


def _bias_lists(bias: Any, ids: list[str]) -> list[list[str]]:
    if bias is None:
        return [[] for _ in ids]
    if isinstance(bias, str):
        raise ParameterError("bias must be a list of terms (or one list per utterance), not a single string")
    if not isinstance(bias, Mapping):
        bias = _listed(bias, "bias")
        if all(isinstance(t, str) for t in bias):  # one list for every utterance
            return [list(bias) for _ in ids]
    return [list(term_tuple(terms, "each utterance's bias list")) for terms in _by_id(bias, ids, "bias list")]


def _meta_of(hyps: list[Any], attr: str) -> str | None:
    values = {getattr(h, attr, None) for h in hyps}  # a str or None has neither attribute
    values.discard(None)
    return ", ".join(sorted(map(str, values))) or None


# ---------------------------------------------------------------------------------------------
# per-utterance term bookkeeping


def ngram_counts(tokens: list[str], lengths: set[int]) -> Counter:
    """Counts of the token n-grams (as tuples) for each n in *lengths*."""
    grams: Counter = Counter()
    for n in lengths:
        grams.update(zip(*(tokens[k:] for k in range(n))))
    return grams


def _count_raw(term: str, text: str) -> int:
    """Occurrences of *term* in *text* as whole words (case and diacritics as given)."""
    found, at = 0, text.find(term)
    while at >= 0:
        end = at + len(term)
        before = text[at - 1] if at else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
            found += 1
        at = text.find(term, at + 1)
    return found


@dataclass
class _Terms:
    """One utterance's bias list, normalised and matched against its reference."""

    raw: list[str]  # distinct listed terms as given
    by_key: dict[tuple[str, ...], str]  # normalised token tuple -> the first listed spelling
    present: dict[tuple[str, ...], int]  # keys found in the normalised reference -> occurrences
    biased_words: set[str]
    lengths: set[int]  # the keys' lengths in words


def _prepare_terms(raw_terms: list[str], ref_tokens: list[str], key_of: dict, convention: str) -> _Terms:
    by_key: dict[tuple[str, ...], str] = {}  # in the list's order, so the tables are too
    for term in raw_terms:
        by_key.setdefault(key_of[term], term)  # a key keeps the first spelling listed for it
    by_key.pop((), None)  # a term that normalises to nothing cannot be scored
    lengths = set(map(len, by_key))
    grams = ngram_counts(ref_tokens, lengths)
    present = {k: grams[k] for k in by_key if k in grams}
    source = present if convention == "reference-rare" else by_key
    return _Terms(list(dict.fromkeys(raw_terms)), by_key, present, {w for k in source for w in k}, lengths)


# ---------------------------------------------------------------------------------------------
# the result


class BiasScore:
    """Everything :func:`score` computed; every measure and view derives from it.

    Attributes
    ----------
    wer, u_wer, b_wer : float
        Corpus error rates as fractions (Σ errors / Σ reference words of the class).
    term_precision, term_recall, term_f1, spelling_accuracy, distractor_insertion_rate : float
        The term measures (NaN when there is nothing to measure).
    utterances : pandas.DataFrame
        One row per utterance: the counts of :data:`COUNT_COLUMNS` and each measure.
    errors : pandas.DataFrame
        Substitutions, deletions and insertions per class (all / unbiased / biased).
    terms : pandas.DataFrame
        One row per listed term (by normalised form) with its counts and rates.
    term_hits : pandas.DataFrame
        One row per (utterance, term) that occurs in the reference or was produced.
    alignment : pandas.DataFrame
        ``id, ref_idx, hyp_idx, op, ref_word, hyp_word, is_bias``; one row per alignment step.
    info : dict
        ``backend``, ``model``, ``normalizer``, ``convention``: what made and scored these numbers.
    """

    def __init__(self, *, ids, raw_refs, raw_hyps, ref_tokens, hyp_tokens, term_lists, alignment,
                 step_is_bias, counts, term_rows, info):  # fmt: skip
        self.ids: list[str] = ids
        self.raw_refs: list[str] = raw_refs
        self.raw_hyps: list[str] = raw_hyps
        self.ref_tokens: list[list[str]] = ref_tokens
        self.hyp_tokens: list[list[str]] = hyp_tokens
        self.term_lists: list[_Terms] = term_lists
        self._alignment: Alignment = alignment
        self._step_is_bias: np.ndarray = step_is_bias  # per alignment step: is its word biased
        self.counts: np.ndarray = counts  # (n_utts, len(COUNT_COLUMNS)), int64
        self._term_rows = term_rows
        self.info: dict[str, Any] = info

    # -- measures --------------------------------------------------------------------------
    @functools.cached_property
    def measures(self) -> dict[str, float]:
        """Every corpus measure by name (fractions)."""
        num, den = measure_matrices(list(MEASURES))
        totals = self.counts.sum(axis=0)
        return dict(zip(MEASURES, ratio(totals @ num, totals @ den).tolist()))

    def __getattr__(self, name: str) -> Any:
        # wer, b_wer, ... and raw totals such as b_sub or ins
        if name in MEASURES:
            return self.measures[name]
        if name in _COL:
            return int(self.counts[:, _COL[name]].sum())
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(MEASURES) | set(COUNT_COLUMNS))

    # -- tables ----------------------------------------------------------------------------
    @functools.cached_property
    def utterances(self):
        import pandas as pd

        df = pd.DataFrame(self.counts, columns=list(COUNT_COLUMNS))
        num, den = measure_matrices(list(MEASURES))
        df = df.join(pd.DataFrame(ratio(self.counts @ num, self.counts @ den), columns=list(MEASURES)))
        df.insert(0, "id", pd.array(self.ids, dtype="string"))
        df["errors"] = df["sub"] + df["del"] + df["ins"]
        return df

    @functools.cached_property
    def errors(self):
        import pandas as pd

        rows = {}
        for cls, prefix, ref in (
            ("all", "", "ref_words"),
            ("unbiased", "u_", "u_ref"),
            ("biased", "b_", "b_ref"),
        ):
            s, d, i = (getattr(self, prefix + op) for op in ("sub", "del", "ins"))
            n = getattr(self, ref)
            rows[cls] = {"ref_words": n, "sub": s, "del": d, "ins": i, "errors": s + d + i,
                         "rate": (s + d + i) / n if n else float("nan")}  # fmt: skip
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("words")

    @functools.cached_property
    def term_hits(self):
        import pandas as pd

        cols = [
            "id",
            "term",
            "listed_as",
            "gt",
            "tp",
            "fp",
            "spell_total",
            "spell_correct",
            "absent_inserted",
        ]
        df = pd.DataFrame(self._term_rows, columns=cols)
        df["id"] = df["id"].astype("string")
        df["term"] = df["term"].astype("string")
        df["listed_as"] = df["listed_as"].astype("string")
        return df

    @functools.cached_property
    def terms(self):
        import pandas as pd

        listed: Counter = Counter()
        absent: Counter = Counter()
        for t in self.term_lists:
            for key in t.by_key:
                name = " ".join(key)
                listed[name] += 1
                absent[name] += key not in t.present
        hits = self.term_hits
        agg = hits.groupby("term", observed=True)[
            ["gt", "tp", "fp", "spell_total", "spell_correct", "absent_inserted"]
        ].sum()
        spelled_as = hits.groupby("term", observed=True)["listed_as"].first()
        df = pd.DataFrame({"listed": pd.Series(listed), "absent": pd.Series(absent)})
        df = df.join(agg, how="outer").fillna(0).astype("int64")
        df = df.join(spelled_as)
        df["recall"] = ratio(df["tp"].to_numpy(float), df["gt"].to_numpy(float))
        df["spelling_accuracy"] = ratio(
            df["spell_correct"].to_numpy(float), df["spell_total"].to_numpy(float)
        )
        df.index = df.index.astype("string")
        return df.rename_axis("term").sort_values(["gt", "listed"], ascending=False)

    @functools.cached_property
    def alignment(self):
        import pandas as pd

        al = self._alignment
        ref_off = np.cumsum([0] + [len(r) for r in self.ref_tokens])
        hyp_off = np.cumsum([0] + [len(h) for h in self.hyp_tokens])
        ref_words = np.array([w for r in self.ref_tokens for w in r] + [""], dtype=object)
        hyp_words = np.array([w for h in self.hyp_tokens for w in h] + [""], dtype=object)
        has_ref, has_hyp = al.ref_idx >= 0, al.hyp_idx >= 0
        ref_pos = np.where(has_ref, ref_off[al.utt] + al.ref_idx, -1)
        hyp_pos = np.where(has_hyp, hyp_off[al.utt] + al.hyp_idx, -1)
        df = pd.DataFrame(
            {
                "id": pd.array(np.asarray(self.ids, dtype=object)[al.utt], dtype="string"),
                "ref_idx": al.ref_idx,
                "hyp_idx": al.hyp_idx,
                "op": pd.Categorical.from_codes(al.op, categories=list(OP_NAMES)),
                "ref_word": pd.array(np.where(has_ref, ref_words[ref_pos], None), dtype="string"),
                "hyp_word": pd.array(np.where(has_hyp, hyp_words[hyp_pos], None), dtype="string"),
                "is_bias": self._step_is_bias,
            }
        )
        df["ref_idx"] = df["ref_idx"].astype("Int64").mask(~has_ref)
        df["hyp_idx"] = df["hyp_idx"].astype("Int64").mask(~has_hyp)
        return df

    # -- statistics ------------------------------------------------------------------------
    def bootstrap(self, *, measures=None, n_boot: int = 1000, seed: int = 0, blocks=None, ci: float = 0.95):
        """Bootstrap confidence intervals of each measure; see :func:`voxnb.bias.stats.bootstrap`.

        Examples
        --------
        >>> res = score(["oban is near", "the ferry left"], ["open is near", "the ferry left"], ["Oban"])
        >>> res.bootstrap(measures=["b_wer"], n_boot=200)[["measure", "estimate", "convention"]]
          measure  estimate      convention
        0   b_wer       1.0  reference-rare
        """
        from voxnb.bias.stats import bootstrap

        return bootstrap(self, measures=measures, n_boot=n_boot, seed=seed, blocks=blocks, ci=ci)

    # -- views -----------------------------------------------------------------------------
    def to_frame(self):
        """The corpus measures as a DataFrame: ``value``, ``label`` and the :attr:`info` labels.

        Examples
        --------
        >>> res = score(["oban is near"], ["open is near"], ["Oban"], backend="local")
        >>> res.to_frame().loc["b_wer", ["backend", "model", "normalizer", "convention"]].tolist()
        ['local', None, 'whisper-en', 'reference-rare']
        """
        import pandas as pd

        df = pd.DataFrame({"value": pd.Series(self.measures)}).rename_axis("measure")
        df["label"] = [MEASURES[m].label for m in df.index]
        return df.assign(**self.info)

    def _describe(self) -> str:
        i = self.info
        return (
            f"backend={i['backend'] or 'unknown'}, model={i['model'] or 'unknown'}, "
            f"normalizer={i['normalizer']}, convention={i['convention']}"
        )

    def __repr__(self) -> str:
        m = self.measures
        return (
            f"<BiasScore {len(self.ids)} utterances: WER {m['wer']:.2%}, U-WER {m['u_wer']:.2%}, "
            f"B-WER {m['b_wer']:.2%}, term F1 {m['term_f1']:.3f} ({self._describe()})>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{MEASURES[k].label}</td><td style='text-align:right'>{v:.2%}</td></tr>"
            for k, v in self.measures.items()
        )
        return (
            f"<div><b>BiasScore</b>: {len(self.ids)} utterances, {self.ref_words} reference words "
            f"({self.b_ref} biased)<br><small>{html.escape(self._describe())}</small>"
            f"<table>{rows}</table>{self.errors.to_html(float_format=lambda x: f'{x:.2%}')}</div>"
        )

    def alignment_html(self, *, errors_only: bool = False, limit: int | None = 50) -> AlignmentView:
        """An HTML view of the alignment, one line per utterance.

        Parameters
        ----------
        errors_only : bool, default False
            Show only utterances with at least one error.
        limit : int or None, default 50
            Show at most this many utterances (None: all).

        Examples
        --------
        >>> res = score(["Janis Joplin sang"], ["Janice Joplin sang loudly"], ["Janis_Joplin"])
        >>> view = res.alignment_html(errors_only=True)  # displays itself in Jupyter
        >>> "janice" in view.html
        True
        """
        al = self._alignment
        bias = self._step_is_bias
        sub, dels, ins = (self.counts[:, _COL[op]] for op in ("sub", "del", "ins"))
        errors = sub + dels + ins
        starts = np.searchsorted(al.utt, np.arange(len(self.ids) + 1))
        parts, shown = [], 0
        for u in range(len(self.ids)):
            if errors_only and errors[u] == 0:
                continue
            if limit is not None and shown >= limit:
                break
            shown += 1
            words = []
            for s in range(starts[u], starts[u + 1]):
                op, r, h = al.op[s], al.ref_idx[s], al.hyp_idx[s]
                ref = html.escape(self.ref_tokens[u][r]) if r >= 0 else ""
                hyp = html.escape(self.hyp_tokens[u][h]) if h >= 0 else ""
                style = "font-weight:bold;text-decoration:underline;" if bias[s] else ""
                if op == MATCH:
                    words.append(f"<span style='{style}'>{ref}</span>")
                elif op == SUB:
                    words.append(
                        f"<span style='{style}background:#fdd'><s>{ref}</s>&#8594;<span style='color:#a00'>{hyp}</span></span>"
                    )
                elif op == DEL:
                    words.append(f"<span style='{style}background:#fdd'><s>{ref}</s></span>")
                else:
                    words.append(f"<span style='{style}background:#dfd'>+{hyp}</span>")
            parts.append(
                f"<div style='margin:2px 0'><code>{html.escape(self.ids[u])}</code> "
                f"<small>(S{sub[u]} D{dels[u]} I{ins[u]})</small> {' '.join(words)}</div>"
            )
        legend = (
            "<small>struck: reference word missed; &#8594; substitution; +: insertion; "
            f"<b><u>underlined</u></b>: biased word ({html.escape(self.info['convention'])}). "
            f"{shown} utterance(s) shown.</small>"
        )
        return AlignmentView(legend + "".join(parts))


class AlignmentView:
    """HTML that displays itself in Jupyter; ``.html`` holds the markup."""

    def __init__(self, markup: str):
        self.html = markup

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<AlignmentView: {len(self.html)} characters of HTML>"


# ---------------------------------------------------------------------------------------------
# the one computation


def score(refs, hyps, bias=None, *, convention: str = "reference-rare", normalizer: Normalizer = "whisper-en",
          backend: str | None = None, model: str | None = None) -> BiasScore:  # fmt: skip
    """Score hypotheses against references and bias lists, the way the biasing literature does.

    Parameters
    ----------
    refs : sequence of str, or mapping id -> str
        Reference transcripts (raw: cased and punctuated is fine; they are normalised here).
    hyps : sequence of (str or Transcript), or mapping id -> (str or Transcript)
        Hypotheses in the same order as *refs* (or keyed by the same ids).
    bias : None, list of str, sequence of lists, or mapping id -> list
        The bias list: one list for every utterance, or one per utterance (as in the LibriSpeech
        benchmark, where each utterance has its own). Terms are ``context_bias`` entries:
        underscores join words (``"Janis_Joplin"``).
    convention : {"reference-rare", "full-list"}, default "reference-rare"
        Which words are biased: the words of the listed terms that occur in the reference (the
        benchmark's shipped scorer), or the words of every listed term.
    normalizer : {"whisper-en", "basic", None} or callable, default "whisper-en"
        Applied alike to references, hypotheses and terms (:func:`voxnb.bias.normalize`).
    backend, model : str, optional
        What produced the hypotheses, for the result's label; taken from Transcripts when omitted.

    Returns
    -------
    BiasScore

    Examples
    --------
    >>> res = score(["Janis Joplin sang in Sausalito."], ["Janice Joplin sang in Saw Salito"],
    ...             ["Janis_Joplin", "Sausalito"])
    >>> round(res.wer, 3), round(res.u_wer, 3), round(res.b_wer, 3)
    (0.6, 0.5, 0.667)
    >>> res.b_sub, res.b_ins, res.u_ins
    (2, 0, 1)
    """
    if convention not in CONVENTIONS:
        raise ParameterError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    if isinstance(refs, str):
        raise ParameterError(
            "refs must be a list of reference texts (or a mapping id -> text), not one string"
        )
    if isinstance(refs, Mapping):
        keys = list(refs)
        ref_values = [refs[k] for k in keys]
        if isinstance(bias, Mapping):
            bias = {str(k): v for k, v in bias.items()}
    else:
        ref_values = _listed(refs, "refs")
        keys = [str(k) for k in range(len(ref_values))]
    ids = [str(k) for k in keys]
    raw_refs = [_text_of(r, "reference") for r in ref_values]
    hyps = _by_id(hyps, keys, "hypothesis")
    bias = _bias_lists(bias, ids)
    raw_hyps = [_text_of(h, "hypothesis") for h in hyps]

    norm = resolve_normalizer(normalizer)
    key_of = {term: tuple(norm(term.replace("_", " ")).split()) for term in set().union(*bias)}
    ref_tokens = [norm(r).split() for r in raw_refs]
    hyp_tokens = [norm(h).split() for h in raw_hyps]
    term_lists = [_prepare_terms(b, r, key_of, convention) for b, r in zip(bias, ref_tokens)]

    al = align_batch(ref_tokens, hyp_tokens)
    n = len(ids)
    counts = np.zeros((n, len(COUNT_COLUMNS)), dtype=np.int64)
    counts[:, _COL["ref_words"]] = [len(r) for r in ref_tokens]
    counts[:, _COL["hyp_words"]] = [len(h) for h in hyp_tokens]
    counts[:, _COL["list_size"]] = [len(t.raw) for t in term_lists]

    # the class of each step: the reference word's, or for an insertion the inserted word's
    step_word_biased = np.zeros(len(al.op), dtype=bool)
    starts = np.searchsorted(al.utt, np.arange(n + 1))
    term_rows = []
    for u, terms in enumerate(term_lists):
        lo, hi = starts[u], starts[u + 1]
        if terms.biased_words:
            ops, ri, hi_ = al.op[lo:hi], al.ref_idx[lo:hi], al.hyp_idx[lo:hi]
            rt, ht = ref_tokens[u], hyp_tokens[u]
            step_word_biased[lo:hi] = [
                (ht[h] if o == INS else rt[r]) in terms.biased_words for o, r, h in zip(ops, ri, hi_)
            ]
        if terms.raw:
            term_rows.extend(_term_measures(u, ids[u], terms, al, lo, hi, ref_tokens[u], hyp_tokens[u],
                                            raw_hyps[u], counts))  # fmt: skip
    per_op = np.bincount(al.utt * 8 + step_word_biased * 4 + al.op, minlength=n * 8).reshape(n, 2, 4)
    counts[:, _COL["matches"]] = per_op[:, :, MATCH].sum(axis=1)
    for prefix, cls in (("u_", 0), ("b_", 1)):
        counts[:, _COL[prefix + "sub"]] = per_op[:, cls, SUB]
        counts[:, _COL[prefix + "del"]] = per_op[:, cls, DEL]
        counts[:, _COL[prefix + "ins"]] = per_op[:, cls, INS]
        counts[:, _COL[prefix + "ref"]] = per_op[:, cls, [MATCH, SUB, DEL]].sum(axis=1)
    for op_name in ("sub", "del", "ins"):
        counts[:, _COL[op_name]] = counts[:, _COL["u_" + op_name]] + counts[:, _COL["b_" + op_name]]

    info = {
        "backend": backend or _meta_of(hyps, "backend"),
        "model": model or _meta_of(hyps, "model"),
        "normalizer": normalizer_name(normalizer),
        "convention": convention,
    }
    return BiasScore(ids=ids, raw_refs=raw_refs, raw_hyps=raw_hyps, ref_tokens=ref_tokens,
                     hyp_tokens=hyp_tokens, term_lists=term_lists, alignment=al,
                     step_is_bias=step_word_biased, counts=counts,
                     term_rows=term_rows, info=info)  # fmt: skip


def _term_measures(u, uid, terms: _Terms, al: Alignment, lo, hi, ref_tokens, hyp_tokens, raw_hyp, counts):
    """Fill one utterance's term counts; return its (utterance, term) rows."""
    ops = al.op[lo:hi]
    # alignment step of each reference word (matches, substitutions and deletions carry one)
    ref_step = np.flatnonzero(ops != INS)
    hyp_grams = ngram_counts(hyp_tokens, terms.lengths)
    rows = []
    gt_sum = tp_sum = fp_sum = spelled = 0
    for key, gt in terms.present.items():
        n, tp = len(key), 0
        for p in range(len(ref_tokens) - n + 1):
            if tuple(ref_tokens[p : p + n]) == key:
                first, last = ref_step[p], ref_step[p + n - 1]
                # every word matched, nothing inserted inside the phrase
                tp += last - first == n - 1 and bool((ops[first : last + 1] == MATCH).all())
        raw = terms.by_key[key]
        correct = min(gt, _count_raw(raw.replace("_", " "), raw_hyp))
        fp = hyp_grams.get(key, 0) - tp
        rows.append((uid, " ".join(key), raw, gt, tp, fp, gt, correct, 0))
        gt_sum, tp_sum, fp_sum, spelled = gt_sum + gt, tp_sum + tp, fp_sum + fp, spelled + correct
    # listed but absent from the reference: every occurrence in the hypothesis is a false insertion
    inserted = [k for k in terms.by_key if k in hyp_grams and k not in terms.present]
    for key in inserted:
        fp = hyp_grams[key]
        rows.append((uid, " ".join(key), terms.by_key[key], 0, 0, fp, 0, 0, 1))
        fp_sum += fp
    counts[u, _COL["term_gt"]] = gt_sum
    counts[u, _COL["term_tp"]] = tp_sum
    counts[u, _COL["term_fp"]] = fp_sum
    counts[u, _COL["spell_total"]] = gt_sum
    counts[u, _COL["spell_correct"]] = spelled
    counts[u, _COL["absent_terms"]] = len(terms.by_key) - len(terms.present)
    counts[u, _COL["absent_inserted"]] = len(inserted)
    return rows
