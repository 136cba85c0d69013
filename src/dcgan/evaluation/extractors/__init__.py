"""Feature extractors for FID / KID / precision-recall, chosen by name with `get_extractor(name)`.

- ``inception-fid`` (inception_fid.py): the standard FID network; numbers comparable with published FIDs.
- ``keras-inception`` (keras_inception.py): Keras' ImageNet InceptionV3; NOT comparable with published FIDs.
- ``pixels`` (pixels.py): a deterministic test/debug extractor.

Each module imports its heavy framework (PyTorch, Keras) only when an extractor is built.
"""

from __future__ import annotations

from collections.abc import Callable

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors.base import FeatureExtractor, as_rgb_uint8, extract
from dcgan.evaluation.extractors.inception_fid import InceptionFID
from dcgan.evaluation.extractors.keras_inception import KerasInception
from dcgan.evaluation.extractors.pixels import PixelFeatures

EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "inception-fid": InceptionFID,
    "keras-inception": KerasInception,
    "pixels": PixelFeatures,
}


def get_extractor(name: str, **kwargs) -> FeatureExtractor:
    """An extractor by name: 'inception-fid' (standard FID network), 'keras-inception', 'pixels' (tests)."""
    try:
        factory = EXTRACTORS[name]
    except KeyError:
        raise MetricsError(f"unknown feature extractor {name!r}; choose from {', '.join(EXTRACTORS)}") from None
    return factory(**kwargs)


__all__ = [
    "EXTRACTORS",
    "FeatureExtractor",
    "InceptionFID",
    "KerasInception",
    "PixelFeatures",
    "as_rgb_uint8",
    "extract",
    "get_extractor",
]
