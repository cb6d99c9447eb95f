"""Unimodal encoders for sue_framework, registered through the ``sue_framework`` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sue_framework import hookimpl
from sue_framework.lazy import lazy_exports

_EXPORTS = {
    "BatchedEncoder": "sue_encoders.base",
    "DINOv2Encoder": "sue_encoders.dinov2",
    "EfficientNetLite0": "sue_encoders.efficientnet",
    "EfficientNetLiteEncoder": "sue_encoders.efficientnet",
    "EmbeddingCache": "sue_encoders.cache",
    "HFEncoder": "sue_encoders.hf",
    "OpenCLIPEncoder": "sue_encoders.openclip",
    "Preprocess": "sue_encoders.images",
    "ResNet50": "sue_encoders.vicreg",
    "SBERTEncoder": "sue_encoders.sbert",
    "SpacyVectorsEncoder": "sue_encoders.spacy_vectors",
    "TorchImageEncoder": "sue_encoders.base",
    "VICRegEncoder": "sue_encoders.vicreg",
    "load_image": "sue_encoders.images",
    "resolve_model": "sue_encoders.sbert",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports
    from sue_encoders.base import BatchedEncoder, TorchImageEncoder  # noqa: F401
    from sue_encoders.cache import EmbeddingCache  # noqa: F401
    from sue_encoders.dinov2 import DINOv2Encoder  # noqa: F401
    from sue_encoders.efficientnet import EfficientNetLite0, EfficientNetLiteEncoder  # noqa: F401
    from sue_encoders.hf import HFEncoder  # noqa: F401
    from sue_encoders.images import Preprocess, load_image  # noqa: F401
    from sue_encoders.openclip import OpenCLIPEncoder  # noqa: F401
    from sue_encoders.sbert import SBERTEncoder, resolve_model  # noqa: F401
    from sue_encoders.spacy_vectors import SpacyVectorsEncoder  # noqa: F401
    from sue_encoders.vicreg import ResNet50, VICRegEncoder  # noqa: F401


__getattr__ = lazy_exports(__name__, _EXPORTS)  # imports a module on first use

_COMPONENTS = (
    ("encoder", "sbert", "sue_encoders.sbert:SBERTEncoder"),
    ("encoder", "dinov2", "sue_encoders.dinov2:DINOv2Encoder"),
    ("encoder", "open_clip", "sue_encoders.openclip:OpenCLIPEncoder"),
    ("encoder", "vicreg", "sue_encoders.vicreg:VICRegEncoder"),
    ("encoder", "hf", "sue_encoders.hf:HFEncoder"),
    ("encoder", "spacy", "sue_encoders.spacy_vectors:SpacyVectorsEncoder"),
    ("encoder", "efficientnet_lite", "sue_encoders.efficientnet:EfficientNetLiteEncoder"),
)


@hookimpl
def sue_register(registry) -> None:
    """Register this plugin's components by reference (imported when first used)."""
    registry.register_all(_COMPONENTS)
