"""The built-in components register here, through the same hook as any third-party plugin.

This module is the only place that names them. It registers references ("module:Class"),
imported on first use, so listing the registry (`sue plugins`, `sue fit --help`) imports no
component module, and no component module imports the registry at import time.
"""

from __future__ import annotations

from sue_framework.hookspecs import hookimpl

C = "sue_framework.components"
BUILTINS: tuple[tuple[str, str, str], ...] = (
    ("graph", "paper_knn", f"{C}.graphs:PaperKNNGraph"),
    ("graph", "gaussian_knn", f"{C}.graphs:GaussianKNNGraph"),
    ("graph", "laplace_knn", f"{C}.graphs:LaplaceKNNGraph"),
    ("graph", "self_tuning_knn", f"{C}.graphs:SelfTuningKNNGraph"),
    ("solver", "exact", f"{C}.spectral.exact:ExactSpectral"),
    ("solver", "spectralnet", f"{C}.spectral.spectralnet:SpectralNet"),
    ("solver", "auto", f"{C}.spectral.auto:AutoSpectral"),
    ("solver", "pca", f"{C}.pca:PCA"),
    ("solver", "identity", f"{C}.features:IdentitySolver"),
    ("solver", "concat", f"{C}.features:ConcatSolver"),
    ("aligner", "cca", f"{C}.aligners:CCA"),
    ("aligner", "procrustes", f"{C}.aligners:Procrustes"),
    ("aligner", "none", f"{C}.aligners:NoAligner"),
    ("aligner", "semi_cca", f"{C}.semi_cca:SemiCCA"),
    ("aligner", "self_training", f"{C}.self_training:SelfTraining"),
    ("aligner", "self_learning", f"{C}.self_learning:SelfLearning"),
    ("matcher", "mmd", f"{C}.matchers:MMDResNet"),
    ("matcher", "none", f"{C}.matchers:NoMatcher"),
    ("matcher", "adversarial", f"{C}.matchers:AdversarialMatcher"),
    ("matcher", "sotalign", f"{C}.matchers:OTMatcher"),
    ("method", "sue", "sue_framework.methods.sue:SUE"),
    ("method", "sue_select", "sue_framework.methods.sue_select:SUESelect"),
    ("method", "auto", "sue_framework.methods.auto:Auto"),
    ("method", "cv_select", "sue_framework.model_selection.cv_select:CVSelect"),
    *(
        ("method", name, f"sue_framework.methods.variants:CORE_VARIANTS[{name}]")
        for name in ("pair_cca", "semi_cca", "self_train")  # methods.CORE_VARIANTS
    ),
    ("dataset", "digits_halves", "sue_framework.datasets:DigitsHalves"),
    ("dataset", "digits_views", "sue_framework.datasets:DigitsViews"),
    ("dataset", "synthetic", "sue_framework.datasets:Synthetic"),
    ("task", "retrieval", "sue_framework.evaluation.retrieval:RetrievalTask"),
    ("dataset", "arrays", "sue_framework.datasets:Arrays"),
    ("selector", "diversity", "sue_framework.suggest:Diversity"),
    ("selector", "design", "sue_framework.suggest:Design"),
    ("selector", "uncertainty", "sue_framework.suggest:Uncertainty"),
)


@hookimpl
def sue_register(registry) -> None:
    """Register the core's components, methods, task and data sets (before any plugin).

    Parameters
    ----------
    registry : Registry
        The registry being loaded.
    """
    registry.register_all(BUILTINS)
