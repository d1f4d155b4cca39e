"""Text as the metrics see it: normalisation, and the word alignment every comparison is built on.

- :mod:`voxnb.text.normalization`: the normalisers (Whisper's English normaliser, a basic one, or
  yours) and how bias terms are normalised alongside the text;
- :mod:`voxnb.text.align`: word-level edit alignment with the LibriSpeech biasing scorer's costs
  (substitution 4, insertion and deletion 3) and tie order, one pair or a whole batch at once.

The context_bias lab (:mod:`voxnb.bias`) scores with them, and the comparison views of
transcripts (:meth:`voxnb.Transcript.compare`) align with them, so both read words the same way.
"""

from __future__ import annotations

from voxnb._lazy import attach

_EXPORTS = {
    "normalize": "normalization",
    "normalize_term": "normalization",
    "resolve_normalizer": "normalization",
    "align_pair": "align",
    "align_batch": "align",
    "Alignment": "align",
}

__getattr__, __dir__ = attach(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
