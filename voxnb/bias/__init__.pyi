"""Type information for the lazy namespace of ``voxnb.bias`` (written by scripts/lazy_stubs.py)."""

from voxnb.bias.data import BiasItem as BiasItem
from voxnb.bias.data import bundled_distractors as bundled_distractors
from voxnb.bias.data import load_bundled as load_bundled
from voxnb.bias.data import read_biasing_tsv as read_biasing_tsv
from voxnb.bias.experiment import Experiment as Experiment
from voxnb.bias.plot import plot_forest as plot_forest
from voxnb.bias.plot import plot_measures as plot_measures
from voxnb.bias.plot import plot_term_heatmap as plot_term_heatmap
from voxnb.bias.scoring import MEASURES as MEASURES
from voxnb.bias.scoring import BiasScore as BiasScore
from voxnb.bias.scoring import score as score
from voxnb.bias.stats import bootstrap as bootstrap
from voxnb.bias.stats import bootstrap_weights as bootstrap_weights
from voxnb.bias.stats import compare as compare
from voxnb.text.align import align_batch as align_batch
from voxnb.text.align import align_pair as align_pair
from voxnb.text.normalization import normalize as normalize
from voxnb.text.normalization import normalize_term as normalize_term

__all__: list[str]
