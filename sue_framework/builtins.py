"""The built-in components register here, through the same hook as any third-party plugin.

This module is the only place that names them; the registry imports it on first use, so no
component module imports the registry at import time.
"""

from __future__ import annotations

from sue_framework.hookspecs import hookimpl


@hookimpl
def sue_register(registry) -> None:
    """Register the core's components, methods, task and data sets (before any plugin)."""
    from sue_framework.auto import Auto, CVSelect
    from sue_framework.components import (
        CCA,
        PCA,
        AdversarialMatcher,
        AutoSpectral,
        ConcatSolver,
        ExactSpectral,
        GaussianKNNGraph,
        IdentitySolver,
        LaplaceKNNGraph,
        MMDResNet,
        NoAligner,
        NoMatcher,
        OTMatcher,
        PaperKNNGraph,
        Procrustes,
        SelfLearning,
        SelfTraining,
        SelfTuningKNNGraph,
        SemiCCA,
        SpectralNet,
    )
    from sue_framework.datasets import Arrays, DigitsHalves, DigitsViews, Synthetic
    from sue_framework.methods import CORE_VARIANTS
    from sue_framework.pipeline import SUE
    from sue_framework.retrieval import RetrievalTask
    from sue_framework.sue_select import SUESelect
    from sue_framework.suggest import Diversity, Uncertainty

    registry.register("graph", "paper_knn", PaperKNNGraph)
    registry.register("graph", "gaussian_knn", GaussianKNNGraph)
    registry.register("graph", "laplace_knn", LaplaceKNNGraph)
    registry.register("graph", "self_tuning_knn", SelfTuningKNNGraph)
    registry.register("solver", "exact", ExactSpectral)
    registry.register("solver", "spectralnet", SpectralNet)
    registry.register("solver", "auto", AutoSpectral)
    registry.register("solver", "pca", PCA)
    registry.register("solver", "identity", IdentitySolver)
    registry.register("solver", "concat", ConcatSolver)
    registry.register("aligner", "cca", CCA)
    registry.register("aligner", "procrustes", Procrustes)
    registry.register("aligner", "none", NoAligner)
    registry.register("aligner", "semi_cca", SemiCCA)
    registry.register("aligner", "self_training", SelfTraining)
    registry.register("aligner", "self_learning", SelfLearning)
    registry.register("matcher", "mmd", MMDResNet)
    registry.register("matcher", "none", NoMatcher)
    registry.register("matcher", "adversarial", AdversarialMatcher)
    registry.register("matcher", "sotalign", OTMatcher)
    registry.register("method", "sue", SUE)
    registry.register("method", "sue_select", SUESelect)
    registry.register("method", "auto", Auto)
    registry.register("method", "cv_select", CVSelect)
    for name, factory in CORE_VARIANTS.items():
        registry.register("method", name, factory)
    registry.register("dataset", "digits_halves", DigitsHalves)
    registry.register("dataset", "digits_views", DigitsViews)
    registry.register("dataset", "synthetic", Synthetic)
    registry.register("task", "retrieval", RetrievalTask)
    registry.register("dataset", "arrays", Arrays)
    registry.register("selector", "diversity", Diversity)
    registry.register("selector", "uncertainty", Uncertainty)
