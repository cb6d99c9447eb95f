"""Unimodal encoders for sue_framework, registered through the ``sue_framework`` entry point."""

from sue_encoders.base import BatchedEncoder, TorchImageEncoder
from sue_encoders.cache import EmbeddingCache
from sue_encoders.dinov2 import DINOv2Encoder
from sue_encoders.efficientnet import EfficientNetLite0, EfficientNetLiteEncoder
from sue_encoders.hf import HFEncoder
from sue_encoders.images import Preprocess, load_image
from sue_encoders.openclip import OpenCLIPEncoder
from sue_encoders.sbert import SBERTEncoder, resolve_model
from sue_encoders.spacy_vectors import SpacyVectorsEncoder
from sue_encoders.vicreg import ResNet50, VICRegEncoder
from sue_framework import hookimpl

__all__ = [
    "BatchedEncoder",
    "DINOv2Encoder",
    "EfficientNetLite0",
    "EfficientNetLiteEncoder",
    "EmbeddingCache",
    "HFEncoder",
    "OpenCLIPEncoder",
    "Preprocess",
    "ResNet50",
    "SBERTEncoder",
    "SpacyVectorsEncoder",
    "TorchImageEncoder",
    "VICRegEncoder",
    "load_image",
    "resolve_model",
]


@hookimpl
def sue_register(registry) -> None:
    registry.register("encoder", "sbert", SBERTEncoder)
    registry.register("encoder", "dinov2", DINOv2Encoder)
    registry.register("encoder", "open_clip", OpenCLIPEncoder)
    registry.register("encoder", "vicreg", VICRegEncoder)
    registry.register("encoder", "hf", HFEncoder)
    registry.register("encoder", "spacy", SpacyVectorsEncoder)
    registry.register("encoder", "efficientnet_lite", EfficientNetLiteEncoder)
