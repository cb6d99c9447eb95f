"""Choosing between feature sets with the pairs alone: k-fold cross-validation on the pairs.

Each held-out pair is ranked against the whole unpaired gallery of the other modality (not just
the other held-out pairs), which keeps the estimate usable with a few dozen pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sue_framework.data import as_data
from sue_framework.ranking import reciprocal_ranks

if TYPE_CHECKING:  # a type only: interfaces imports this module for Method.score
    from sue_framework.interfaces import Aligner


def pair_cv_scores(
    fx: np.ndarray,
    fy: np.ndarray,
    pairs: np.ndarray,
    make_aligner: Callable[[int], Aligner],
    *,
    folds: int = 5,
    out_dim: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """Reciprocal ranks of every held-out pair, both directions, over `folds` folds of the pairs.

    `make_aligner(dim)` builds a fresh aligner; `dim` shrinks below `out_dim` when a fold holds
    too few pairs for it.

    Parameters
    ----------
    fx, fy : ndarray
        Features of every row of each modality.
    pairs : ndarray of shape (m, 2)
        The known pairs (i, j): fx[i] <-> fy[j].
    make_aligner : callable
        `make_aligner(dim)` builds a fresh aligner of output width `dim`.
    folds : int
        Folds of the pairs.
    out_dim : int
        The aligner's width (lowered where a fold holds too few pairs).
    seed : int
        Seeds the folds.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    scores = []
    for held in np.array_split(order, folds):
        train = np.setdiff1d(order, held)
        aligner = make_aligner(int(max(1, min(out_dim, len(train) - 1))))
        aligner.fit(fx[pairs[train, 0]], fy[pairs[train, 1]])
        zx, zy = aligner.transform(fx, "x"), aligner.transform(fy, "y")
        i, j = pairs[held, 0], pairs[held, 1]
        scores.append(reciprocal_ranks(zx[i], zy, j))
        scores.append(reciprocal_ranks(zy[j], zx, i))
    return np.concatenate(scores)


def pair_scores(model: Any, data: Any) -> np.ndarray:
    """Reciprocal ranks of `data`'s pairs under a fitted method, both directions: each pair's
    x row queries every y row of `data` for its partner, and the other way round.

    Parameters
    ----------
    model : fitted method
        What is scored.
    data : WeaklyPairedData
        Rows and the pairs to rank.
    """
    data = as_data(data, "score")
    zx, zy = model.transform(data.x, "x"), model.transform(data.y, "y")
    i, j = data.pairs[:, 0], data.pairs[:, 1]
    return np.concatenate([reciprocal_ranks(zx[i], zy, j), reciprocal_ranks(zy[j], zx, i)])
