"""Two transcripts of the same audio, word by word: what was substituted, inserted or deleted.

:func:`diff` aligns the two word sequences exactly as the context_bias scorer aligns a hypothesis
with its reference (:func:`voxnb.text.align.align_batch`: costs 4/3/3, after normalisation), with
the *first* transcript in the reference's place: a word only in the first is a *deletion*, a word
only in the second an *insertion*. The result is a table (one row per alignment step, with both
words' times) and an HTML view of the text with the differences marked; :func:`voxnb.plot.compare`
draws the same alignment over the audio.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from voxnb.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLORS", "OPS", "WordDiff", "diff", "diff_words", "run_labels", "split_runs"]

#: the alignment steps, in the order of :data:`voxnb.text.align.OP_NAMES`
OPS = ("match", "substitution", "insertion", "deletion")
#: one colour per kind of step (Okabe-Ito: told apart with the common colour-vision deficiencies)
COLORS = {"match": "#c6dbef", "substitution": "#e69f00", "insertion": "#009e73", "deletion": "#cc79a7"}


def run_labels(first: Any, second: Any, labels: Any = None) -> tuple[str, str]:
    """Names for two transcripts: the ones given, else what tells them apart.

    What tells them apart is, in this order: their ``context_bias`` (``"no context_bias"`` /
    ``"context_bias (8 terms)"``), their models, their backends; else ``"first"`` and ``"second"``.

    Examples
    --------
    >>> import voxnb
    >>> plain = voxnb.Transcript.from_response({"text": "hi"}, request={})
    >>> biased = voxnb.Transcript.from_response({"text": "hi"}, request={"context_bias": ["Ada"]})
    >>> run_labels(plain, biased)
    ('no context_bias', 'context_bias (1 term)')
    >>> run_labels(plain, biased, ("plain", "biased"))
    ('plain', 'biased')
    """
    if labels is not None:
        if isinstance(labels, str) or len(labels) != 2:
            raise ParameterError(f"labels={labels!r}: pass two names, one for each transcript")
        return str(labels[0]), str(labels[1])
    bias = [_bias_label(t) for t in (first, second)]
    if bias[0] != bias[1]:
        return bias[0], bias[1]
    for attribute in ("model", "backend"):
        values = [getattr(t, attribute, None) for t in (first, second)]
        if None not in values and values[0] != values[1]:
            return str(values[0]), str(values[1])
    return "first", "second"


def _bias_label(transcript: Any) -> str:
    terms = (getattr(transcript, "request", None) or {}).get("context_bias") or []
    if not terms:
        return "no context_bias"
    return f"context_bias ({len(terms)} term{'s' if len(terms) != 1 else ''})"


def _words(obj: Any) -> pd.DataFrame:
    import pandas as pd

    table = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "words", None)
    if table is None or "text" not in table:
        raise ParameterError(
            f"cannot compare a {type(obj).__name__}: pass Transcripts (or words tables with a text column)"
        )
    return table


def split_runs(frame: pd.DataFrame) -> tuple[list[str], list[pd.DataFrame]]:
    """The two runs of a :func:`voxnb.concat` table (``run`` column) and each run's rows."""
    if "run" not in frame:
        raise ParameterError(
            "a table to compare needs a 'run' column: make it with voxnb.concat({...}, level='words')"
        )
    runs = [r for r in frame["run"].astype("category").cat.categories if (frame["run"] == r).any()]
    if len(runs) != 2:
        raise ParameterError(
            f"compare two runs at a time; this table has {len(runs)}: {list(map(str, runs))}"
        )
    return [str(r) for r in runs], [frame[frame["run"] == r].reset_index(drop=True) for r in runs]


class WordDiff:
    """The word-by-word differences of two transcripts (see :func:`diff`).

    Attributes
    ----------
    labels : tuple of str
        The two transcripts' names.
    table : pandas.DataFrame
        One row per alignment step: ``op`` (match, substitution, insertion, deletion), and for
        each side (``first_``/``second_`` prefixes) the word's index in its words table, its text
        and its times (NA where the step has no word on that side).
    counts : dict
        Steps of each kind.
    first_ops, second_ops : numpy.ndarray of str
        For each word of each words table: the kind of step it is in.
    """

    def __init__(
        self, labels: tuple[str, str], table: pd.DataFrame, first_ops: np.ndarray, second_ops: np.ndarray
    ):
        self.labels = labels
        self.table = table
        self.first_ops = first_ops
        self.second_ops = second_ops
        ops = table["op"].astype(str)
        self.counts = {op: int((ops == op).sum()) for op in OPS}

    @property
    def n_differences(self) -> int:
        return self.counts["substitution"] + self.counts["insertion"] + self.counts["deletion"]

    def summary(self) -> str:
        """One line: the differences by kind.

        Examples
        --------
        >>> d = diff_words(["revenue", "grew", "twelve"], ["revenue", "grew", "12", "percent"])
        >>> d.summary()
        'first → second: 1 substitution, 1 insertion, 0 deletions; 2 words the same'
        """
        c = self.counts

        def n(k: int, word: str) -> str:
            return f"{k} {word}{'' if k == 1 else 's'}"

        return (
            f"{self.labels[0]} → {self.labels[1]}: {n(c['substitution'], 'substitution')}, "
            f"{n(c['insertion'], 'insertion')}, {n(c['deletion'], 'deletion')}; "
            f"{n(c['match'], 'word')} the same"
        )

    def __repr__(self) -> str:
        return f"<WordDiff {self.summary()}>"

    def to_html(self, *, errors_only: bool = False, context: int = 4) -> str:
        """The first transcript's text with the differences marked, as HTML.

        A substitution shows the first's word struck out and the second's after it; a deletion
        (only in the first) is struck out; an insertion (only in the second) is underlined. Each
        mark's tooltip gives its times.

        Parameters
        ----------
        errors_only : bool
            Show only the differences with *context* words around them; elided stretches are
            shown as "…".
        context : int
            Words kept on each side of a difference when ``errors_only``.
        """
        esc = html.escape
        t = self.table
        ops = t["op"].astype(str).to_numpy()
        keep = np.ones(len(t), dtype=bool)
        if errors_only:
            differs = np.flatnonzero(ops != "match")
            keep[:] = False
            for at in differs:
                keep[max(0, at - context) : at + context + 1] = True
        first_text = t["first_text"].astype(object).to_numpy()
        second_text = t["second_text"].astype(object).to_numpy()
        starts = t["first_start"].to_numpy(dtype=float, na_value=np.nan)
        second_starts = t["second_start"].to_numpy(dtype=float, na_value=np.nan)
        pieces: list[str] = []
        elided = False
        for k, op in enumerate(ops):
            if not keep[k]:
                if not elided:
                    pieces.append("<span class='voxnb-diff-gap'>…</span>")
                    elided = True
                continue
            elided = False
            at = starts[k] if np.isfinite(starts[k]) else second_starts[k]
            where = f" title='{at:.2f} s'" if np.isfinite(at) else ""
            if op == "match":
                pieces.append(esc(str(first_text[k])))
            elif op == "substitution":
                pieces.append(
                    f"<span class='voxnb-diff-sub'{where}><del>{esc(str(first_text[k]))}</del>"
                    f"<ins>{esc(str(second_text[k]))}</ins></span>"
                )
            elif op == "deletion":
                pieces.append(f"<del class='voxnb-diff-del'{where}>{esc(str(first_text[k]))}</del>")
            else:
                pieces.append(f"<ins class='voxnb-diff-ins'{where}>{esc(str(second_text[k]))}</ins>")
        c = COLORS
        style = (
            "<style>"
            ".voxnb-diff{line-height:1.9;max-width:60em;font-size:14px}"
            ".voxnb-diff del,.voxnb-diff ins{text-decoration-thickness:2px;padding:1px 2px;border-radius:3px}"
            f".voxnb-diff-sub del{{background:{c['substitution']}33;text-decoration-color:{c['substitution']}}}"
            f".voxnb-diff-sub ins{{background:{c['substitution']}66;text-decoration:none;margin-left:2px}}"
            f"del.voxnb-diff-del{{background:{c['deletion']}44;text-decoration-color:{c['deletion']}}}"
            f"ins.voxnb-diff-ins{{background:{c['insertion']}44;text-decoration-color:{c['insertion']}}}"
            ".voxnb-diff-gap{color:#888;padding:0 4px}"
            ".voxnb-diff-key{font-size:12px;color:#555;margin-bottom:4px}"
            "</style>"
        )
        a, b = (esc(x) for x in self.labels)
        key = (
            f"<div class='voxnb-diff-key'><b>{esc(self.summary())}</b><br>"
            f"<span class='voxnb-diff-sub'><del>{a}</del><ins>{b}</ins></span> substituted · "
            f"<del class='voxnb-diff-del'>only in {a}</del> deleted · "
            f"<ins class='voxnb-diff-ins'>only in {b}</ins> inserted</div>"
        )
        return f"{style}<div class='voxnb-diff'>{key}{' '.join(pieces)}</div>"

    def _repr_html_(self) -> str:
        return self.to_html(errors_only=len(self.table) > 400)


def diff(first: Any, second: Any = None, *, labels: Any = None, normalizer: Any = "basic") -> WordDiff:
    """Align two transcripts' words and say which were substituted, inserted or deleted.

    Parameters
    ----------
    first, second : Transcript or pandas.DataFrame
        Two transcripts of the same audio (or their words tables). Instead of two, *first* may
        be a dict of two ``name: transcript`` pairs, or a :func:`voxnb.concat` words table with
        two runs: their names become the labels.
    labels : tuple of str, optional
        The two names; by default the dict's keys or the runs' names, else what tells the
        transcripts apart (see :func:`run_labels`).
    normalizer : {"basic", "whisper-en", None} or callable
        How words are normalised before comparing (:func:`voxnb.text.normalization.normalize`);
        the table shows them as written.

    Returns
    -------
    WordDiff
        ``.table`` (aligned words), ``.counts``, ``.summary()``, and an HTML view
        (``.to_html()``; shown when displayed in a notebook).

    Examples
    --------
    >>> import voxnb
    >>> plain = voxnb.Transcript.from_response({"text": "Revenue grew by twelve percent"})
    >>> biased = voxnb.Transcript.from_response({"text": "Revenue grew by 12 percent overall"})
    >>> d = voxnb.diff({"plain": plain, "biased": biased})
    >>> d.summary()
    'plain → biased: 1 substitution, 1 insertion, 0 deletions; 4 words the same'
    >>> d.table[["op", "first_text", "second_text"]].tail(3)
                 op first_text second_text
    3  substitution     twelve          12
    4         match    percent     percent
    5     insertion       <NA>     overall
    """
    first, second, labels = _pair(first, second, labels)
    return _diff_tables(_words(first), _words(second), run_labels(first, second, labels), normalizer)


def _pair(first: Any, second: Any, labels: Any) -> tuple[Any, Any, Any]:
    """Two things to compare, and the labels their container names (a dict, a concat table)."""
    import pandas as pd

    if second is None:
        if isinstance(first, dict):
            if len(first) != 2:
                raise ParameterError(f"pass a dict of two transcripts to compare; got {len(first)}")
            names = [str(k) for k in first]
            first, second = first.values()
            return first, second, labels if labels is not None else names
        if isinstance(first, pd.DataFrame):
            names, (a, b) = split_runs(first)
            return a, b, labels if labels is not None else names
        raise ParameterError(
            "compare two transcripts: diff(t1, t2), a dict {'name': t1, 'other': t2}, or a voxnb.concat table"
        )
    return first, second, labels


def _diff_tables(
    first: pd.DataFrame, second: pd.DataFrame, labels: tuple[str, str], normalizer: Any
) -> WordDiff:
    import pandas as pd

    from voxnb.text.align import align_batch
    from voxnb.text.normalization import resolve_normalizer

    norm = resolve_normalizer(normalizer)
    texts = [table["text"].astype(object).fillna("").astype(str).tolist() for table in (first, second)]
    tokens = [[norm(w) or w for w in words] for words in texts]
    al = align_batch([tokens[0]], [tokens[1]])
    op_names = np.asarray(OPS, dtype=object)[al.op]
    first_ops = np.full(len(first), "match", dtype=object)
    second_ops = np.full(len(second), "match", dtype=object)
    has_first, has_second = al.ref_idx >= 0, al.hyp_idx >= 0
    first_ops[al.ref_idx[has_first]] = op_names[has_first]
    second_ops[al.hyp_idx[has_second]] = op_names[has_second]

    def side(
        table: pd.DataFrame, words: list[str], idx: np.ndarray, present: np.ndarray, prefix: str
    ) -> dict:
        safe = np.where(present, idx, 0)
        index = pd.array(safe, dtype="Int64")
        index[~present] = pd.NA
        columns = {f"{prefix}_word": index}
        text = np.asarray(words, dtype=object)[safe] if words else np.full(len(idx), "", dtype=object)
        shown = np.array(text, dtype=object)
        shown[~present] = None
        columns[f"{prefix}_text"] = pd.array(shown, dtype="string")
        for t in ("start", "end"):
            values = (
                table[t].to_numpy(dtype=float, na_value=np.nan)[safe]
                if t in table and len(table)
                else np.full(len(idx), np.nan)
            )
            columns[f"{prefix}_{t}"] = np.where(present, values, np.nan)
        return columns

    out = pd.DataFrame(
        {
            "op": pd.Categorical(op_names, categories=list(OPS)),
            **side(first, texts[0], al.ref_idx, has_first, "first"),
            **side(second, texts[1], al.hyp_idx, has_second, "second"),
        }
    )
    return WordDiff(labels, out, first_ops.astype(str), second_ops.astype(str))


def diff_words(first: list[str], second: list[str], *, labels: Any = ("first", "second")) -> WordDiff:
    """:func:`diff` of two plain word lists (no times).

    Examples
    --------
    >>> diff_words(["a", "b"], ["a", "c"]).counts
    {'match': 1, 'substitution': 1, 'insertion': 0, 'deletion': 0}
    """
    import pandas as pd

    tables = [pd.DataFrame({"text": pd.array(words, dtype="string")}) for words in (first, second)]
    return _diff_tables(tables[0], tables[1], run_labels(None, None, labels), "basic")
