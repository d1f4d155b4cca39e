"""Drawing for the context_bias lab; every function takes ``ax=`` and returns the axes it drew on.

The inputs are the tables the lab computes (:meth:`Experiment.summary`, :meth:`Experiment.compare`,
:meth:`Experiment.term_hits`, or :func:`voxnb.bias.bootstrap` / :func:`voxnb.bias.compare`), so a
figure can be redrawn from saved tables without re-scoring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxnb.bias.scoring import MEASURES
from voxnb.errors import ParameterError

__all__ = ["plot_forest", "plot_measures", "plot_term_heatmap"]


def _axes(ax: Any):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _label(measure: str) -> str:
    return MEASURES[measure].label if measure in MEASURES else measure


def _caption(table) -> str:
    parts = []
    for col in ("backend", "model", "normalizer", "convention"):
        if col in table.columns:
            values = sorted({str(v) for v in table[col].dropna()})
            if values:
                parts.append(f"{col}: {', '.join(values)}")
    if "n_boot" in table.columns and len(table):
        parts.append(f"{int(table['n_boot'].iloc[0])} bootstrap resamples ({table['blocks'].iloc[0]})")
    return "; ".join(parts)


def _table(table, made_by: str):
    """*table* when it is a DataFrame (a copy is taken by the callers that change it)."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"pass the DataFrame {made_by} returns; got a {type(table).__name__}")
    return table


def _require(table, columns: list[str], made_by: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(f"this table lacks the column(s) {missing}; pass the output of {made_by}")


def plot_measures(summary, *, ax=None, percent: bool = True):
    """Each measure per condition as a bar with its bootstrap interval.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`Experiment.summary` (or :func:`voxnb.bias.bootstrap` of a dict of results):
        ``condition``/``system``, ``measure``, ``estimate``, ``low``, ``high``.
    ax : matplotlib.axes.Axes, optional
    percent : bool, default True
        Show values as percentages.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = exp.plot_measures(["wer", "b_wer"])  # doctest: +SKIP
    """
    table = _table(summary, "Experiment.summary()").rename(columns={"system": "condition"})
    _require(table, ["condition", "measure", "estimate", "low", "high"], "Experiment.summary()")
    ax = _axes(ax)
    measures = list(dict.fromkeys(table["measure"]))
    conditions = list(dict.fromkeys(table["condition"].astype(str)))
    scale = 100.0 if percent else 1.0
    width = 0.8 / max(len(conditions), 1)
    x = np.arange(len(measures))
    for k, cond in enumerate(conditions):
        rows = table[table["condition"].astype(str) == cond].set_index("measure").reindex(measures)
        est = rows["estimate"].to_numpy(float) * scale
        err = np.vstack(
            [est - rows["low"].to_numpy(float) * scale, rows["high"].to_numpy(float) * scale - est]
        )
        ax.bar(
            x + (k - (len(conditions) - 1) / 2) * width,
            est,
            width,
            yerr=np.nan_to_num(err),
            capsize=3,
            label=cond,
        )
    ax.set_xticks(x, [_label(m) for m in measures])
    ax.set_ylabel("%" if percent else "value")
    ax.legend(title="condition", fontsize="small")
    ax.set_title("Measures per condition (95 % bootstrap intervals)", fontsize="medium")
    ax.annotate(_caption(table), (0, 0), xycoords="axes fraction", xytext=(0, -28), textcoords="offset points",
                fontsize="x-small", va="top")  # fmt: skip
    return ax


def plot_term_heatmap(term_hits, *, ax=None, max_terms: int = 60):
    """Per-term recall across conditions: rows are terms found in the references, columns conditions.

    Each cell is the share of the term's reference occurrences reproduced exactly (1 = every
    occurrence hit, 0 = every one missed); the number in the cell is hits/occurrences.

    Parameters
    ----------
    term_hits : pandas.DataFrame
        :meth:`Experiment.term_hits`: ``condition``, ``term``, ``gt``, ``tp``.
    ax : matplotlib.axes.Axes, optional
    max_terms : int, default 60
        Show at most this many terms (the most frequent).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_term_heatmap(exp.term_hits())  # doctest: +SKIP
    """
    _require(
        _table(term_hits, "Experiment.term_hits()"),
        ["condition", "term", "gt", "tp"],
        "Experiment.term_hits()",
    )
    present = term_hits[term_hits["gt"] > 0]
    ax = _axes(ax)
    if present.empty:
        ax.text(0.5, 0.5, "no listed term occurs in the references", ha="center", va="center")
        return ax
    sums = present.groupby(["term", "condition"], observed=False)[["tp", "gt"]].sum()
    gt = sums["gt"].unstack("condition")
    tp = sums["tp"].unstack("condition")
    order = gt.max(axis=1).sort_values(ascending=False, kind="stable").index[:max_terms]
    gt, tp = gt.loc[order], tp.loc[order]
    # rows are normalised terms; label them as the list spells them
    spelled = present.groupby("term", observed=True)["listed_as"].first() if "listed_as" in present else {}
    labels = [str(spelled.get(t, t)).replace("_", " ") for t in gt.index]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(gt.to_numpy(float) > 0, tp.to_numpy(float) / gt.to_numpy(float), np.nan)
    image = ax.imshow(recall, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(gt.shape[1]), [str(c) for c in gt.columns])
    ax.set_yticks(range(gt.shape[0]), labels, fontsize="small")
    for i in range(gt.shape[0]):
        for j in range(gt.shape[1]):
            if gt.iat[i, j] > 0:
                ax.text(
                    j,
                    i,
                    f"{int(tp.iat[i, j])}/{int(gt.iat[i, j])}",
                    ha="center",
                    va="center",
                    fontsize="x-small",
                )
    ax.figure.colorbar(image, ax=ax, label="term recall")
    ax.set_title("Reference terms reproduced exactly, per condition", fontsize="medium")
    return ax


def plot_forest(comparison, *, ax=None, percent: bool = True):
    """Forest plot of paired differences (condition − baseline) with their intervals.

    Parameters
    ----------
    comparison : pandas.DataFrame
        :meth:`Experiment.compare` (``condition``, ``baseline``, ``measure``, ``difference``,
        ``low``, ``high``, ``p_improvement``) or :func:`voxnb.bias.compare`.
    ax : matplotlib.axes.Axes, optional
    percent : bool, default True
        Differences in percentage points.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from voxnb.bias import compare, score
    >>> refs = ["janis joplin sang", "in sausalito"]
    >>> none = score(refs, ["janice joplin sang", "in saw salito"], ["Janis", "Sausalito"])
    >>> oracle = score(refs, ["janis joplin sang", "in sausalito"], ["Janis", "Sausalito"])
    >>> ax = plot_forest(compare(none, oracle, measures=["wer", "b_wer"], n_boot=200))  # doctest: +SKIP
    """
    table = _table(comparison, "Experiment.compare()").copy()
    if "condition" not in table.columns:
        table["condition"] = "b"
        table["baseline"] = "a"
    _require(
        table, ["condition", "measure", "difference", "low", "high", "p_improvement"], "Experiment.compare()"
    )
    ax = _axes(ax)
    scale = 100.0 if percent else 1.0
    labels = [
        f"{_label(m)}: {c} − {b}" for m, c, b in zip(table["measure"], table["condition"], table["baseline"])
    ]
    y = np.arange(len(table))[::-1]
    diff = table["difference"].to_numpy(float) * scale
    low, high = table["low"].to_numpy(float) * scale, table["high"].to_numpy(float) * scale
    crosses = (low <= 0) & (high >= 0)
    colors = np.where(crosses, "0.5", "C0")
    ax.hlines(y, low, high, colors=colors, lw=2)
    ax.scatter(diff, y, c=colors, zorder=3)
    ax.axvline(0, color="k", lw=0.8, ls="--")
    ax.set_yticks(y, labels, fontsize="small")
    for yy, h, p in zip(y, high, table["p_improvement"].to_numpy(float)):
        if np.isfinite(h):
            ax.annotate(f"P(better)={p:.2f}", (h, yy), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize="x-small")  # fmt: skip
    ax.set_xlabel("difference (percentage points)" if percent else "difference")
    ax.set_title(
        "Paired differences, 95 % bootstrap intervals (grey: interval includes 0)", fontsize="medium"
    )
    ax.annotate(_caption(table), (0, 0), xycoords="axes fraction", xytext=(0, -36), textcoords="offset points",
                fontsize="x-small", va="top")  # fmt: skip
    return ax
