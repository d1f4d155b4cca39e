"""The context_bias lab: literature-exact scoring, paired bootstrap statistics and experiments.

Score transcripts the way the LibriSpeech biasing benchmark does (WER, U-WER, B-WER with the
reference scorer's 4/3/3 alignment), add phrase-level term precision/recall/F1, exact-spelling
accuracy and the distractor insertion rate, put 95 % bootstrap intervals on all of them, and run
whole experiments (items × bias-list conditions) through any backend, offline included.

Every name is imported on first use.

Examples
--------
>>> from voxnb import bias
>>> res = bias.score(["Janis Joplin sang"], ["Janice Joplin sang"], ["Janis_Joplin"])
>>> round(res.b_wer, 2), round(res.u_wer, 2)
(0.5, 0.0)
"""

from __future__ import annotations

from voxnb._lazy import attach

_EXPORTS = {
    # the text algorithms the lab scores with live one layer down, shared with the comparison views
    "normalize": "voxnb.text.normalization",
    "normalize_term": "voxnb.text.normalization",
    "align_pair": "voxnb.text.align",
    "align_batch": "voxnb.text.align",
    "score": "scoring",
    "BiasScore": "scoring",
    "MEASURES": "scoring",
    "bootstrap": "stats",
    "compare": "stats",
    "bootstrap_weights": "stats",
    "Experiment": "experiment",
    "BiasItem": "data",
    "read_biasing_tsv": "data",
    "load_bundled": "data",
    "bundled_distractors": "data",
    "plot_measures": "plot",
    "plot_term_heatmap": "plot",
    "plot_forest": "plot",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
