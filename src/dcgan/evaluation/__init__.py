"""Sample-quality evaluation, one file per concern (as torch-fidelity splits its metrics):

- frechet.py: FID, the Fréchet distance between Gaussians fitted to features (Heusel et al. 2017)
- kid.py: KID, unbiased MMD² with a polynomial kernel over random subsets (Bińkowski et al. 2018)
- precision_recall.py: improved precision and recall, k-NN manifolds (Kynkäänniemi et al. 2019)
- reconstruction.py: PSNR and SSIM of a reconstruction against its original (inversion)
- extractors/: the feature extractors (one file each) and their registry, `get_extractor(name)`
- reference.py: reference statistics of a prepared split, cached beside it
- scoring.py: scoring generated images (`score_generator`, the one scorer on a fixed z) and result tables
- selection.py: a run's evals.jsonl, the best checkpoint (`BestCheckpoint`) and `select_checkpoint`

Every result says which extractor produced it; only `inception-fid` gives numbers comparable with published FIDs.
"""

from dcgan.evaluation.extractors import EXTRACTORS, FeatureExtractor, get_extractor
from dcgan.evaluation.frechet import FID_METHODS, fid_from_features, frechet_distance
from dcgan.evaluation.kid import kernel_inception_distance
from dcgan.evaluation.precision_recall import precision_recall
from dcgan.evaluation.reference import ReferenceStats, reference_stats
from dcgan.evaluation.scoring import (
    evaluate_features,
    evaluate_generator,
    evaluate_images,
    format_table,
    score_generator,
    validation_row,
)
from dcgan.evaluation.selection import BestCheckpoint, EvalLog, select_checkpoint

__all__ = [
    "EXTRACTORS",
    "FID_METHODS",
    "BestCheckpoint",
    "EvalLog",
    "FeatureExtractor",
    "ReferenceStats",
    "evaluate_features",
    "evaluate_generator",
    "evaluate_images",
    "fid_from_features",
    "format_table",
    "frechet_distance",
    "get_extractor",
    "kernel_inception_distance",
    "precision_recall",
    "reference_stats",
    "score_generator",
    "select_checkpoint",
    "validation_row",
]
