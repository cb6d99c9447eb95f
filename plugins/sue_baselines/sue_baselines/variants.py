"""Baselines and ablations that are SUE with stages swapped. Each is a factory returning a `SUE`,
so it fits, transforms, saves and loads exactly as SUE does."""

from __future__ import annotations

from collections.abc import Callable

from sue_framework import SUE
from sue_framework.methods.variants import variant as _variant

VARIANTS: dict[str, Callable[..., SUE]] = {
    "se_mmd": _variant(
        "se_mmd", "Ablation: SE + MMD, no CCA (the pairs are not used).", aligner="none"
    ),
    "se_cca": _variant("se_cca", "Ablation: SE + CCA, no MMD.", matcher="none"),
    "ae_ablation": _variant(
        "ae_ablation",
        "Ablation: an autoencoder bottleneck in place of SE, then CCA + MMD.",
        solver="autoencoder",
    ),
    "domain_confusion": _variant(
        "domain_confusion",
        "Domain confusion, zero pairs: whitened PCA per modality, then the MMD net aligns them.",
        solver="pca",
        aligner="none",
        matcher="mmd",
        se_dim=8,
    ),
    "procrustes_raw": _variant(
        "procrustes_raw",
        "Orthogonal Procrustes (with scaling) on whitened PCA of the raw features; no MMD.",
        solver="pca",
        aligner="procrustes",
        aligner_params={"scaling": True},
        matcher="none",
        se_dim=8,
    ),
}
