"""Type information for the lazy namespace of ``voxnb.text`` (written by scripts/lazy_stubs.py)."""

from voxnb.text.align import Alignment as Alignment
from voxnb.text.align import align_batch as align_batch
from voxnb.text.align import align_pair as align_pair
from voxnb.text.normalization import normalize as normalize
from voxnb.text.normalization import normalize_term as normalize_term
from voxnb.text.normalization import resolve_normalizer as resolve_normalizer

__all__: list[str]
