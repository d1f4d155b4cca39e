"""Word alignment exactly as the LibriSpeech biasing scorer does it, for many utterances at once.

The scorer (``facebookresearch/fbai-speech: is21_deep_bias/score.py``) runs a Levenshtein
alignment on whitespace tokens with substitution cost 4 and insertion/deletion cost 3 (a match
costs 0), and when several moves reach a cell at the same cost it keeps the diagonal move
(match or substitution), then the insertion, then the deletion. The first row is all insertions
and the first column all deletions. Because the costs are not unit costs, the substitution /
insertion / deletion split (and so B-WER) can differ from a unit-cost aligner such as jiwer's.

:func:`align_batch` computes the same alignment for a whole corpus with numpy: utterances of
similar length are padded into one block, and each dynamic-programming row is computed for the
whole block at once. Within a row, the insertion chain ``S[j] = min(D[j], S[j-1] + 3)`` is a
running minimum, ``S[j] = 3j + min_{k<=j}(D[k] - 3k)``, so no Python loop runs over cells.
:func:`align_pair` is the same algorithm written cell by cell for one utterance: it is the
readable statement of the rule, the oracle of the tests and the benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass

import numpy as np

from voxnb.errors import ParameterError

__all__ = ["DEL", "INS", "MATCH", "OP_NAMES", "SUB", "Alignment", "align_batch", "align_pair"]

MATCH, SUB, INS, DEL = 0, 1, 2, 3
OP_NAMES = np.array(["match", "substitution", "insertion", "deletion"])
SUB_COST, INDEL_COST = 4, 3

# utterances aligned together in one padded block; bounds the pointer array's memory
_BLOCK = 512


@dataclass(frozen=True)
class Alignment:
    """The alignment of a corpus, flat: one entry per alignment step, utterances in order.

    Attributes
    ----------
    utt : ndarray of int
        Utterance index (0-based, in the order given) of each step.
    op : ndarray of int8
        ``MATCH``, ``SUB``, ``INS`` or ``DEL``.
    ref_idx, hyp_idx : ndarray of int
        Token index in the reference / hypothesis, ``-1`` where the step has none
        (insertions have no reference token, deletions no hypothesis token).
    n_utts : int
        Number of utterances (some may have no steps: empty reference and hypothesis).
    """

    utt: np.ndarray
    op: np.ndarray
    ref_idx: np.ndarray
    hyp_idx: np.ndarray
    n_utts: int

    def counts(self) -> np.ndarray:
        """Per-utterance counts of each op, shape ``(n_utts, 4)`` (match, sub, ins, del)."""
        flat = self.utt * 4 + self.op
        return np.bincount(flat, minlength=self.n_utts * 4).reshape(self.n_utts, 4)

    def steps(self, i: int) -> list[tuple[str, int, int]]:
        """The steps of utterance *i* as ``(op name, ref_idx, hyp_idx)`` tuples."""
        lo, hi = np.searchsorted(self.utt, [i, i + 1])
        return [
            (str(OP_NAMES[o]), int(r), int(h))
            for o, r, h in zip(self.op[lo:hi], self.ref_idx[lo:hi], self.hyp_idx[lo:hi])
        ]


def _require_tokens(*utterances: Sequence[str]) -> None:
    # a string is a sequence too: aligned as is, it would silently be scored letter by letter
    if any(isinstance(u, (str, bytes)) or not isinstance(u, Sized) for u in utterances):
        raise ParameterError(
            "align takes each utterance as a list of tokens (e.g. text.split()), not a string; "
            "to score texts use voxnb.bias.score"
        )


def align_pair(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str, int, int]]:
    """Align one utterance cell by cell, exactly as the biasing scorer does.

    Parameters
    ----------
    ref, hyp : sequence of str
        Reference and hypothesis tokens.

    Returns
    -------
    list of (op, ref_idx, hyp_idx)
        ``op`` is ``"match"``, ``"substitution"``, ``"insertion"`` or ``"deletion"``; an index is
        ``-1`` where the step has no token on that side. Empty for empty *ref* and *hyp* (the
        original scorer refuses that case).

    Examples
    --------
    >>> align_pair(["a", "b"], ["b", "c"])  # 2 indels (cost 6) beat 2 substitutions (cost 8)
    [('deletion', 0, -1), ('match', 1, 0), ('insertion', -1, 1)]
    """
    _require_tokens(ref, hyp)
    rows, cols = len(ref) + 1, len(hyp) + 1
    score = [[0] * cols for _ in range(rows)]
    back = [[MATCH] * cols for _ in range(rows)]
    for i in range(rows):
        for j in range(cols):
            if i == 0 and j == 0:
                continue
            if i == 0:
                score[i][j], back[i][j] = score[i][j - 1] + INDEL_COST, INS
                continue
            if j == 0:
                score[i][j], back[i][j] = score[i - 1][j] + INDEL_COST, DEL
                continue
            same = ref[i - 1] == hyp[j - 1]
            best, move = score[i - 1][j - 1] + (0 if same else SUB_COST), (MATCH if same else SUB)
            # strict comparisons: on a tie the earlier candidate (diagonal, then insertion) stays
            if score[i][j - 1] + INDEL_COST < best:
                best, move = score[i][j - 1] + INDEL_COST, INS
            if score[i - 1][j] + INDEL_COST < best:
                best, move = score[i - 1][j] + INDEL_COST, DEL
            score[i][j], back[i][j] = best, move
    steps = []
    i, j = rows - 1, cols - 1
    while i > 0 or j > 0:
        move = back[i][j]
        steps.append((str(OP_NAMES[move]), i - 1 if move != INS else -1, j - 1 if move != DEL else -1))
        i -= move != INS
        j -= move != DEL
    return steps[::-1]


def _token_ids(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]):
    vocab: dict[str, int] = {}
    ref_ids = [[vocab.setdefault(w, len(vocab)) for w in r] for r in refs]
    hyp_ids = [[vocab.setdefault(w, len(vocab)) for w in h] for h in hyps]
    return ref_ids, hyp_ids


def _pad(seqs: list[list[int]], width: int, fill: int) -> np.ndarray:
    out = np.full((len(seqs), width), fill, dtype=np.int64)
    for k, s in enumerate(seqs):
        out[k, : len(s)] = s
    return out


def _align_block(ref_ids: list[list[int]], hyp_ids: list[list[int]]):
    """Pointers for a block of utterances, then the backtrace of all of them in lock step."""
    n = len(ref_ids)
    ref_len = np.fromiter((len(r) for r in ref_ids), dtype=np.int64, count=n)
    hyp_len = np.fromiter((len(h) for h in hyp_ids), dtype=np.int64, count=n)
    R, H = int(ref_len.max(initial=0)), int(hyp_len.max(initial=0))
    ref = _pad(ref_ids, R, -1)
    hyp = _pad(hyp_ids, H, -2)  # different pads never match each other

    col = np.arange(H + 1, dtype=np.int64) * INDEL_COST
    pointers = np.empty((n, R + 1, H + 1), dtype=np.int8)
    pointers[:, 0, :] = INS
    pointers[:, :, 0] = DEL
    prev = np.broadcast_to(col, (n, H + 1)).copy()
    for i in range(1, R + 1):
        same = ref[:, i - 1, None] == hyp
        diag = prev[:, :-1] + np.where(same, 0, SUB_COST)
        best_no_ins = prev + INDEL_COST  # the deletion candidate; column 0 has nothing else
        np.minimum(best_no_ins[:, 1:], diag, out=best_no_ins[:, 1:])
        row = col + np.minimum.accumulate(best_no_ins - col, axis=1)
        # the scorer's tie order, read off the final cell values: diagonal, insertion, deletion
        ptr = np.where(row[:, :-1] + INDEL_COST == row[:, 1:], INS, DEL)
        ptr = np.where(diag == row[:, 1:], np.where(same, MATCH, SUB), ptr)
        pointers[:, i, 1:] = ptr
        prev = row

    # backtrace every utterance at once; step k of utterance b is its k-th move from the end
    i, j = ref_len.copy(), hyp_len.copy()
    rows = np.arange(n)
    n_steps = R + H
    ops = np.full((n, n_steps), -1, dtype=np.int8)
    ref_at = np.full((n, n_steps), -1, dtype=np.int64)
    hyp_at = np.full((n, n_steps), -1, dtype=np.int64)
    for k in range(n_steps):
        live = (i > 0) | (j > 0)
        if not live.any():
            break
        move = pointers[rows, i, j]
        move[~live] = -1
        ops[:, k] = move
        ref_at[:, k] = np.where(live & (move != INS), i - 1, -1)
        hyp_at[:, k] = np.where(live & (move != DEL), j - 1, -1)
        i = i - (live & (move != INS))
        j = j - (live & (move != DEL))
    # steps were collected from the end: flip each row, then keep the live ones
    ops, ref_at, hyp_at = ops[:, ::-1], ref_at[:, ::-1], hyp_at[:, ::-1]
    keep = ops >= 0
    utt = np.broadcast_to(rows[:, None], ops.shape)[keep]
    return utt, ops[keep], ref_at[keep], hyp_at[keep]


def align_batch(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> Alignment:
    """Align many utterances with the biasing scorer's costs and tie-breaking, vectorised.

    Parameters
    ----------
    refs, hyps : sequence of sequence of str
        Reference and hypothesis tokens per utterance (same number of utterances).

    Returns
    -------
    Alignment
        Flat step arrays; step for step identical to :func:`align_pair` on each utterance.

    Examples
    --------
    >>> al = align_batch([["a", "b", "c"], []], [["a", "x", "c", "d"], ["hi"]])
    >>> al.steps(0)
    [('match', 0, 0), ('substitution', 1, 1), ('match', 2, 2), ('insertion', -1, 3)]
    >>> al.counts()[:, 1:].sum(axis=1)  # errors per utterance
    array([2, 1])
    """
    if isinstance(refs, str) or isinstance(hyps, str):
        raise ParameterError("align_batch takes a list of token lists per side, not a string")
    if len(refs) != len(hyps):
        raise ParameterError(
            f"{len(refs)} references but {len(hyps)} hypotheses; give one hypothesis per reference"
        )
    _require_tokens(*refs, *hyps)
    n = len(refs)
    ref_ids, hyp_ids = _token_ids(refs, hyps)
    # similar lengths share a block, so padding stays small
    order = sorted(range(n), key=lambda k: (len(ref_ids[k]), len(hyp_ids[k])))
    parts = []
    for start in range(0, n, _BLOCK):
        members = order[start : start + _BLOCK]
        utt, op, r, h = _align_block([ref_ids[k] for k in members], [hyp_ids[k] for k in members])
        parts.append((np.asarray(members, dtype=np.int64)[utt], op, r, h))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Alignment(empty, empty.astype(np.int8), empty, empty, 0)
    utt, op, r, h = (np.concatenate(p) for p in zip(*parts))
    by_utt = np.argsort(utt, kind="stable")
    return Alignment(utt[by_utt], op[by_utt], r[by_utt], h[by_utt], n)
