"""The lab's tables for people and papers: tidy frames that carry their labels once, CSV and LaTeX.

A :class:`ResultTable` is a DataFrame whose labels that are the same on every row (backend,
model, normaliser, convention, bootstrap settings) live in ``.attrs`` and in its repr, not in
columns; :func:`latex_table` writes any table as a LaTeX ``tabular`` (booktabs), and
:func:`summary_latex` the summary as conditions × measures with intervals.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["ResultTable", "caption_of", "latex_table", "summary_latex", "tidy"]


class ResultTable(pd.DataFrame):
    """A DataFrame whose labels shared by every row are in ``.attrs``, shown once above the rows.

    Examples
    --------
    >>> t = tidy(pd.DataFrame({"measure": ["wer", "b_wer"], "estimate": [0.1, 0.3], "model": ["m", "m"]}))
    >>> t.attrs
    {'model': 'm'}
    >>> print(t)
    model=m
      measure  estimate
    0     wer       0.1
    1   b_wer       0.3
    """

    @property
    def _constructor(self) -> type:
        return ResultTable

    def __repr__(self) -> str:
        caption = caption_of(self.attrs)
        return (caption + "\n" if caption else "") + super().__repr__()

    def _repr_html_(self) -> str | None:
        caption = caption_of(self.attrs)
        body = super()._repr_html_()
        if not caption or body is None:
            return body
        return f"<div style='font-size:12px;color:#555;margin-bottom:2px'>{html.escape(caption)}</div>{body}"


def caption_of(attrs: Mapping[str, Any]) -> str:
    """The shared labels as one line: ``backend=local, model=..., n_boot=1000``."""
    return ", ".join(f"{k}={'unknown' if v is None else v}" for k, v in attrs.items())


def tidy(table: pd.DataFrame, labels: Any = None, **attrs: Any) -> ResultTable:
    """*table* with its columns that hold one value on every row moved into ``.attrs``.

    Parameters
    ----------
    labels : sequence of str, optional
        The columns that may move (default: every column); a column that varies stays.
    **attrs
        Further labels for ``.attrs`` (e.g. ``ci=0.95``).
    """
    candidates = list(table.columns if labels is None else [c for c in labels if c in table.columns])
    moved = {}
    for column in candidates:
        values = table[column].astype(object).where(table[column].notna(), None).unique()
        if len(table) and len(values) == 1:
            value = values[0]
            moved[column] = value.item() if hasattr(value, "item") else value
    out = ResultTable(table.drop(columns=list(moved)))
    out.attrs = {**moved, **attrs}
    return out


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(value: Any) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(value))


def _cell(value: Any, digits: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "--"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _tex(value)


def latex_table(
    table: pd.DataFrame, *, caption: str | None = None, label: str | None = None, digits: int = 3
) -> str:
    """A LaTeX ``table`` with a booktabs ``tabular`` of *table* (text escaped, numbers rounded).

    Examples
    --------
    >>> print(latex_table(pd.DataFrame({"term": ["Oban_Bay"], "recall": [0.5]}), caption="Terms"))
    \\begin{table}
    \\centering
    \\caption{Terms}
    \\begin{tabular}{lr}
    \\toprule
    term & recall \\\\
    \\midrule
    Oban\\_Bay & 0.500 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    align = "".join("r" if pd.api.types.is_numeric_dtype(table[c]) else "l" for c in table.columns)
    lines = ["\\begin{table}", "\\centering"]
    if caption:
        lines.append(f"\\caption{{{_tex(caption)}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(map(_tex, table.columns)) + " \\\\",
        "\\midrule",
    ]
    for row in table.itertuples(index=False):
        lines.append(" & ".join(_cell(v, digits) for v in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines)


def summary_latex(summary: pd.DataFrame, *, caption: str | None = None, label: str | None = None) -> str:
    """The summary as conditions × measures, each cell ``estimate [low, high]`` (rates in %).

    The caption says what the numbers are (interval level, bootstrap replicates, and the
    table's shared labels) unless *caption* is given.
    """
    from voxnb.bias.scoring import MEASURES

    measures = list(dict.fromkeys(summary["measure"]))
    conditions = list(dict.fromkeys(summary["condition"].astype(str)))
    cells = {(str(r.condition), r.measure): r for r in summary.itertuples(index=False)}

    def cell(condition: str, measure: str) -> str:
        r = cells.get((condition, measure))
        if r is None or r.estimate != r.estimate:
            return "--"
        percent = measure.endswith("wer") or "rate" in measure
        scale, fmt = (100.0, "{:.1f}") if percent else (1.0, "{:.3f}")
        low, high = (fmt.format(v * scale) if v == v else "--" for v in (r.low, r.high))
        return f"{fmt.format(r.estimate * scale)} [{low}, {high}]"

    heads = [
        _tex(MEASURES[m].label) + (" (\\%)" if m.endswith("wer") or "rate" in m else "") for m in measures
    ]
    if caption is None:
        ci = summary.attrs.get("ci", 0.95)
        caption = f"Estimates with {ci:.0%} bootstrap intervals. " + caption_of(
            {k: v for k, v in summary.attrs.items() if k != "ci"}
        )
    lines = ["\\begin{table}", "\\centering", f"\\caption{{{_tex(caption)}}}"]
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [
        f"\\begin{{tabular}}{{l{'r' * len(measures)}}}",
        "\\toprule",
        "condition & " + " & ".join(heads) + " \\\\",
        "\\midrule",
    ]
    for condition in conditions:
        lines.append(_tex(condition) + " & " + " & ".join(cell(condition, m) for m in measures) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines)
