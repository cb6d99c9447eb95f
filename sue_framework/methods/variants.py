"""Named whole methods that are SUE with stages swapped: each factory returns a configured `SUE`,
so it fits, transforms, saves and loads exactly as SUE does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sue_framework.methods.sue import SUE


def variant(name: str, doc: str, **fixed: Any) -> Callable[..., SUE]:
    """A factory for SUE with `fixed` parameters as defaults (callers may override them).

    Parameters
    ----------
    name : str
        The factory's name.
    doc : str
        Its docstring.
    **fixed
        SUE parameters the variant sets (callers may override them).
    """

    def factory(**params: Any) -> SUE:
        return SUE(**{**fixed, **params})

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    return factory


CORE_VARIANTS: dict[str, Callable[..., SUE]] = {
    "pair_cca": variant(
        "pair_cca",
        "CCA on the raw features of the pairs alone, Ledoit-Wolf shrinkage: the model of the "
        "cca_raw baseline, in the core so that auto needs no plugin.",
        solver="identity",
        aligner="cca",
        matcher="none",
    ),
    "semi_cca": variant(
        "semi_cca",
        "Semi-supervised CCA on the raw features: covariances from all rows, the "
        "cross-covariance from the pairs, shrinkage chosen by pair cross-validation.",
        solver="identity",
        aligner="semi_cca",
        matcher="none",
        out_dim=32,
    ),
    "self_train": variant(
        "self_train",
        "Semi-supervised CCA on the raw features, refit on a dictionary induced over every "
        "unpaired row by self-learning to convergence (CSLS, soft then hard dictionaries); "
        "three folds of the pairs check that it beats the pairs alone, else it falls back.",
        solver="identity",
        aligner="self_learning",
        aligner_params={"guard_folds": 3},
        matcher="none",
        out_dim=32,
    ),
}
