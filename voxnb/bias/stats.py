"""Confidence intervals for scores and for differences between two systems: the paired bootstrap.

Bisani & Ney (ICASSP 2004): resample utterances with replacement, recompute each *corpus*
measure (Σ errors / Σ words, never a mean of per-utterance rates) in every replicate, read the
interval off the replicates' percentiles, and for two systems scored on the same utterances use
the same resample for both, so the interval is on the *paired* difference; the probability of
improvement is the share of replicates in which the second system is better. When utterances
are correlated (same speaker, same recording) resample whole blocks instead (Peng & Liu,
arXiv 1912.09508).

Only the per-utterance count arrays are resampled (no re-alignment): a replicate is a vector of
multiplicities, and every measure of every system is one matrix product away.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from voxnb.bias.scoring import MEASURES, BiasScore, measure_matrices, ratio
from voxnb.errors import ParameterError

__all__ = ["DEFAULT_MEASURES", "bootstrap", "bootstrap_weights", "compare"]

DEFAULT_MEASURES = ("wer", "u_wer", "b_wer", "term_precision", "term_recall", "term_f1",
                    "spelling_accuracy", "distractor_insertion_rate")  # fmt: skip


def bootstrap_weights(
    n_units: int, *, n_boot: int = 1000, seed: int = 0, blocks: Sequence | None = None
) -> np.ndarray:
    """Multiplicities of each unit in each bootstrap replicate.

    Parameters
    ----------
    n_units : int
        Number of utterances.
    n_boot : int, default 1000
        Number of replicates.
    seed : int, default 0
        Seed of the numpy random generator: the same seed gives the same replicates.
    blocks : sequence, optional
        A block label per utterance (speaker, recording...). Whole blocks are then drawn with
        replacement, as many as there are blocks, and each utterance takes its block's count.
        Labels are told apart by their text (``str``), so a tuple such as ``(speaker, session)``
        is one label.

    Returns
    -------
    ndarray of int, shape (n_boot, n_units)

    Examples
    --------
    >>> w = bootstrap_weights(5, n_boot=3, seed=1)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 5), [5, 5, 5])
    >>> w2 = bootstrap_weights(4, n_boot=2, seed=1, blocks=["a", "a", "b", "c"])
    >>> bool((w2[:, 0] == w2[:, 1]).all())
    True
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or not 1 <= n_boot <= 1_000_000:
        raise ParameterError(
            f"n_boot must be a whole number of replicates from 1 to 1,000,000 (e.g. 1000), not {n_boot!r}"
        )
    if n_boot * max(n_units, 1) > 2 * 10**8:  # the replicate matrix would take gigabytes
        raise ParameterError(
            f"n_boot={n_boot} replicates of {n_units} utterances is too large a bootstrap; lower n_boot "
            "(1000-10000 is plenty for 95 % intervals)"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be a whole number, 0 or more (e.g. 0), not {seed!r}")
    rng = np.random.default_rng(seed)
    if blocks is None:
        units = np.arange(n_units)
        n_draw = n_units
    else:
        blocks = list(blocks)
        if len(blocks) != n_units:
            raise ParameterError(
                f"{len(blocks)} block labels for {n_units} utterances; give one label per utterance"
            )
        # a label is known by its text, one string per utterance: a tuple label (speaker, session)
        # is one label, not a row of a 2-D array
        labels, units = np.unique(np.array([str(b) for b in blocks]), return_inverse=True)
        n_draw = len(labels)
    if n_draw == 0:
        return np.zeros((n_boot, n_units), dtype=np.int64)
    draws = rng.integers(0, n_draw, size=(n_boot, n_draw))
    # count each drawn index per replicate in one bincount over offset indices
    offsets = (np.arange(n_boot) * n_draw)[:, None]
    per_draw = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_draw).reshape(n_boot, n_draw)
    return per_draw[:, units]


def _counts_of(result: Any) -> tuple[np.ndarray, list[str]]:
    if isinstance(result, BiasScore):
        return result.counts, result.ids
    raise ParameterError(f"expected a BiasScore from voxnb.bias.score(), got {type(result).__name__}")


def _check_ci(ci: float) -> None:
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0 < ci < 1:
        raise ParameterError(f"ci must be between 0 and 1 (e.g. 0.95), not {ci!r}")


def _estimate_and_replicates(counts: np.ndarray, num_w: np.ndarray, den_w: np.ndarray, weights: np.ndarray):
    """Each measure on the corpus and in every replicate: always a ratio of (weighted) sums."""
    num, den = counts @ num_w, counts @ den_w
    return ratio(num.sum(axis=0), den.sum(axis=0)), ratio(weights @ num, weights @ den)


def _interval(reps: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - ci) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: the measure is undefined
        low, high = np.nanquantile(reps, [alpha, 1 - alpha], axis=0)
    return low, high


def bootstrap(results, *, measures: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
              blocks: Sequence | None = None, ci: float = 0.95):  # fmt: skip
    """Percentile bootstrap intervals of corpus measures, for one result or several on the same utterances.

    Parameters
    ----------
    results : BiasScore or mapping name -> BiasScore
        Several results must cover the same utterances in the same order; they share the
        replicates (so their intervals are comparable, and :func:`compare` gives the same draws).
    measures : sequence of str, optional
        Names from :data:`voxnb.bias.scoring.MEASURES` (default: all).
    n_boot : int, default 1000
    seed : int, default 0
    blocks : sequence, optional
        Block label per utterance for a blockwise bootstrap (e.g. speaker ids).
    ci : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per (system, measure): ``estimate``, ``low``, ``high``, ``n_boot``, ``blocks``
        and the result's ``backend``, ``model``, ``normalizer``, ``convention``.

    Examples
    --------
    >>> from voxnb.bias import score
    >>> res = score(["a b c", "d e f", "g h"], ["a b c", "d x f", "g"], ["e"])
    >>> table = bootstrap(res, measures=["wer"], n_boot=200, seed=0)
    >>> round(float(table.loc[0, "estimate"]), 3)
    0.25
    """
    import pandas as pd

    named = dict(results) if isinstance(results, Mapping) else {"": results}
    if not named:
        raise ParameterError("bootstrap needs at least one result of voxnb.bias.score()")
    _check_ci(ci)
    names = list(measures or DEFAULT_MEASURES)
    num_w, den_w = measure_matrices(names)
    counts = {system: _counts_of(res) for system, res in named.items()}
    ids = next(iter(counts.values()))[1]
    for system, (_, these_ids) in counts.items():
        if these_ids != ids:
            raise ParameterError(
                f"{system!r} was scored on different utterances; bootstrap needs the same ones"
            )
    # one set of replicates for every system; float weights, so the products run in BLAS
    weights = bootstrap_weights(len(ids), n_boot=n_boot, seed=seed, blocks=blocks).astype(float)
    rows = []
    for system, res in named.items():
        estimate, reps = _estimate_and_replicates(counts[system][0], num_w, den_w, weights)
        low, high = _interval(reps, ci)
        for k, m in enumerate(names):
            rows.append({"system": system, "measure": m, "estimate": estimate[k], "low": low[k], "high": high[k],
                         "n_boot": n_boot, "blocks": "utterance" if blocks is None else "block", **res.info})  # fmt: skip
    table = pd.DataFrame(rows)
    if not isinstance(results, Mapping):
        table = table.drop(columns="system")
    return table


def compare(a, b, *, measures: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0,
            blocks: Sequence | None = None, ci: float = 0.95, names: tuple[str, str] = ("a", "b")):  # fmt: skip
    """Paired bootstrap of the difference ``b - a`` for each measure, with the probability of improvement.

    Parameters
    ----------
    a, b : BiasScore
        The same utterances scored for two systems (e.g. without and with ``context_bias``).
    measures, n_boot, seed, blocks, ci
        As in :func:`bootstrap`; both systems are resampled with the same replicates.
    names : (str, str)
        Labels of *a* and *b* in the table.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``a``, ``b``, ``difference`` (b − a), its ``low``/``high`` interval,
        ``p_improvement`` (share of replicates where *b* is better: lower for error rates,
        higher for precision, recall, F1 and spelling; ties count as no improvement),
        ``p_tie``, and the results' labels.

    Examples
    --------
    >>> from voxnb.bias import score
    >>> refs = ["janis joplin sang", "in sausalito", "on tuesday"]
    >>> none = score(refs, ["janice joplin sang", "in saw salito", "on tuesday"], ["Janis", "Sausalito"])
    >>> oracle = score(refs, ["janis joplin sang", "in sausalito", "on tuesday"], ["Janis", "Sausalito"])
    >>> table = compare(none, oracle, measures=["b_wer"], n_boot=500, seed=0)
    >>> float(table.loc[0, "difference"]), float(table.loc[0, "p_improvement"]) > 0.5
    (-1.0, True)
    """
    import pandas as pd

    ca, ids_a = _counts_of(a)
    cb, ids_b = _counts_of(b)
    if ids_a != ids_b:
        raise ParameterError(
            "a paired comparison needs both results scored on the same utterances in the same order"
        )
    for key in ("normalizer", "convention"):
        if a.info[key] != b.info[key]:
            raise ParameterError(
                f"both results must use the same {key} (got {a.info[key]!r} and {b.info[key]!r})"
            )
    _check_ci(ci)
    measure_names = list(measures or DEFAULT_MEASURES)
    num_w, den_w = measure_matrices(measure_names)
    # the same replicates for both systems: the interval is on the paired difference
    weights = bootstrap_weights(len(ids_a), n_boot=n_boot, seed=seed, blocks=blocks).astype(float)
    sign = np.array([1.0 if MEASURES[m].lower_is_better else -1.0 for m in measure_names])

    est_a, rep_a = _estimate_and_replicates(ca, num_w, den_w, weights)
    est_b, rep_b = _estimate_and_replicates(cb, num_w, den_w, weights)
    diff = rep_b - rep_a
    low, high = _interval(diff, ci)
    valid = ~np.isnan(diff)
    n_valid = np.maximum(valid.sum(axis=0), 1)
    better = ((sign * diff) < 0) & valid
    tie = (diff == 0) & valid
    info = dict(b.info)
    for key in ("backend", "model"):
        if a.info[key] != b.info[key]:
            info[f"{names[0]}_{key}"] = a.info[key]
    table = pd.DataFrame(
        {
            "measure": measure_names,
            names[0]: est_a,
            names[1]: est_b,
            "difference": est_b - est_a,
            "low": low,
            "high": high,
            "p_improvement": np.where(valid.any(axis=0), better.sum(axis=0) / n_valid, np.nan),
            "p_tie": np.where(valid.any(axis=0), tie.sum(axis=0) / n_valid, np.nan),
            "n_boot": n_boot,
            "blocks": "utterance" if blocks is None else "block",
            **info,
        }
    )
    return table
