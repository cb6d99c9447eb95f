"""Built-in components (registered by sue_framework.builtins)."""

from __future__ import annotations

from sue_framework.components.aligners import CCA, NoAligner, Procrustes
from sue_framework.components.features import ConcatSolver, IdentitySolver
from sue_framework.components.graphs import (
    GaussianKNNGraph,
    LaplaceKNNGraph,
    PaperKNNGraph,
    SelfTuningKNNGraph,
)
from sue_framework.components.matchers import AdversarialMatcher, MMDResNet, NoMatcher, OTMatcher
from sue_framework.components.pca import PCA
from sue_framework.components.self_learning import SelfLearning
from sue_framework.components.self_training import SelfTraining
from sue_framework.components.semi_cca import SemiCCA
from sue_framework.components.spectral import AutoSpectral, ExactSpectral, SpectralNet

__all__ = [
    "CCA",
    "PCA",
    "AdversarialMatcher",
    "AutoSpectral",
    "ConcatSolver",
    "ExactSpectral",
    "GaussianKNNGraph",
    "IdentitySolver",
    "LaplaceKNNGraph",
    "MMDResNet",
    "NoAligner",
    "NoMatcher",
    "OTMatcher",
    "PaperKNNGraph",
    "Procrustes",
    "SelfLearning",
    "SelfTraining",
    "SelfTuningKNNGraph",
    "SemiCCA",
    "SpectralNet",
]
