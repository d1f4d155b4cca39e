"""Benchmark: the context_bias lab's scoring and bootstrap at LibriSpeech test-clean size.

Workload (goal: under 10 s on this machine): 2,620 utterances (test-clean's count; synthetic
text with its sentence-length spread, ~52k words, one ~100-term biasing list per utterance as in
``test-clean.biasing_100.tsv``) × 3 conditions, each scored with :func:`voxnb.bias.score`, then a
1,000-resample paired bootstrap of every measure for the 3 conditions and of the 2 differences
against the first.

Baselines, timed in the same run (medians of ``--repeats`` runs):

* ``literal scorer``: the reference scorer's algorithm as written (one cell-by-cell alignment per
  utterance, :func:`voxnb.text.align.align_pair`, plus its counting loop), scoring the same
  3 conditions without any term measure or bootstrap;
* ``jiwer``: ``jiwer.process_words`` (rapidfuzz, C++) on the same texts: unit costs, no classes.

Run: ``.venv/bin/python benchmarks/bias.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def synthetic_corpus(n_utts: int = 2620, seed: int = 0):
    """References, 3 hypothesis conditions and per-utterance biasing lists."""
    rng = np.random.default_rng(seed)
    common = [f"c{k}" for k in range(5000)]
    rare = [f"r{k}" for k in range(20000)]
    lengths = np.clip(rng.gamma(2.2, 9.1, size=n_utts).astype(int), 1, 90)  # mean ~20 words
    refs, lists = [], []
    for n in lengths:
        words = [rare[rng.integers(len(rare))] if rng.random() < 0.11 else common[rng.integers(len(common))]
                 for _ in range(n)]  # fmt: skip
        present = sorted({w for w in words if w.startswith("r")})
        distractors = [rare[k] for k in rng.choice(len(rare), size=100, replace=False)]
        refs.append(words)
        lists.append(present + [d for d in distractors if d not in present])
    conditions = []
    for error_rate, rare_error_rate in ((0.06, 0.35), (0.05, 0.12), (0.055, 0.15)):
        hyps = []
        for words in refs:
            out = []
            for w in words:
                p = rare_error_rate if w.startswith("r") else error_rate
                u = rng.random()
                if u < p * 0.6:
                    out.append("x" + w)  # substitution
                elif u < p * 0.8:
                    continue  # deletion
                elif u < p:
                    out.extend([w, common[rng.integers(len(common))]])  # insertion
                else:
                    out.append(w)
            hyps.append(" ".join(out))
        conditions.append(hyps)
    return [" ".join(r) for r in refs], conditions, lists


def score_all(refs, conditions, lists):
    from voxnb.bias import score

    return {f"c{k}": score(refs, hyps, lists, normalizer=None) for k, hyps in enumerate(conditions)}


def resample(scores):
    """The 1,000-replicate bootstrap of every condition and the paired differences against c0."""
    from voxnb.bias import bootstrap, compare

    bootstrap(scores, n_boot=1000, seed=0)
    for name in ("c1", "c2"):
        compare(scores["c0"], scores[name], n_boot=1000, seed=0)


def lab(refs, conditions, lists):
    scores = score_all(refs, conditions, lists)
    resample(scores)
    return scores


def literal_scorer(refs, conditions, lists):
    from voxnb.text.align import align_pair

    totals = []
    for hyps in conditions:
        counts = {"ref": 0, "err": 0, "b_ref": 0, "b_err": 0, "u_ref": 0, "u_err": 0}
        for ref, hyp, terms in zip(refs, hyps, lists):
            r, h = ref.split(), hyp.split()
            biased = {t for t in terms if t in set(r)}
            for op, ri, hi in align_pair(r, h):
                cls = "b_" if (h[hi] if op == "insertion" else r[ri]) in biased else "u_"
                if op != "insertion":
                    counts["ref"] += 1
                    counts[cls + "ref"] += 1
                if op != "match":
                    counts["err"] += 1
                    counts[cls + "err"] += 1
        totals.append(counts)
    return totals


def jiwer_baseline(refs, conditions, lists):
    import jiwer

    return [jiwer.process_words(refs, hyps).wer for hyps in conditions]


def median_time(fn, *args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    refs, conditions, lists = synthetic_corpus()
    n_words = sum(len(r.split()) for r in refs)
    print(f"corpus: {len(refs)} utterances, {n_words} reference words, 3 conditions, "
          f"mean list size {np.mean([len(x) for x in lists]):.1f}")  # fmt: skip
    scores = lab(refs, conditions, lists)  # warm-up (imports) and a sanity check of the numbers
    literal = literal_scorer(refs, conditions, lists)
    for (name, res), counts in zip(scores.items(), literal):
        assert res.ref_words == counts["ref"] and res.b_ref == counts["b_ref"], name
        assert res.sub + res.ins + getattr(res, "del") == counts["err"], name
        assert res.b_sub + res.b_ins + res.b_del == counts["b_err"], name
        print(f"  {name}: WER {res.wer:.2%}  U-WER {res.u_wer:.2%}  B-WER {res.b_wer:.2%}  "
              f"term F1 {res.term_f1:.3f}  (identical counts to the literal scorer)")  # fmt: skip

    t_lab = median_time(lab, refs, conditions, lists, repeats=args.repeats)
    t_score = median_time(score_all, refs, conditions, lists, repeats=args.repeats)
    t_resample = median_time(resample, scores, repeats=args.repeats)
    t_literal = median_time(literal_scorer, refs, conditions, lists, repeats=args.repeats)
    t_jiwer = median_time(jiwer_baseline, refs, conditions, lists, repeats=args.repeats)
    from voxnb.text.align import align_batch, align_pair

    tokens = [r.split() for r in refs]
    hyp_tokens = [[h.split() for h in hyps] for hyps in conditions]
    t_align = median_time(lambda: [align_batch(tokens, h) for h in hyp_tokens], repeats=args.repeats)
    t_align_literal = median_time(lambda: [[align_pair(r, x) for r, x in zip(tokens, h)] for h in hyp_tokens],
                                  repeats=args.repeats)  # fmt: skip
    print(f"\nfull lab task (3 scores + 1,000-resample bootstrap of 3 conditions + 2 paired differences): "
          f"{t_lab:.2f} s  (goal < 10 s: {'met' if t_lab < 10 else 'NOT met'})")  # fmt: skip
    print(f"scoring only, 3 conditions:            {t_score:.2f} s")
    print(f"  literal scorer (cell-by-cell, WER/U-WER/B-WER only): {t_literal:.2f} s  -> ratio literal/voxnb "
          f"{t_literal / t_score:.2f} (voxnb also computes the term measures)")  # fmt: skip
    print(f"  jiwer.process_words (unit costs, no classes):        {t_jiwer:.2f} s  -> ratio voxnb/jiwer "
          f"{t_score / t_jiwer:.2f}")  # fmt: skip
    print(f"alignment alone, 3 conditions: vectorised {t_align:.2f} s vs cell-by-cell {t_align_literal:.2f} s "
          f"-> ratio cell-by-cell/vectorised {t_align_literal / t_align:.1f}")  # fmt: skip
    print(f"bootstrap + differences alone: {t_resample:.2f} s")


if __name__ == "__main__":
    main()
