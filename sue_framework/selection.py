"""Choosing between feature sets with the pairs alone: k-fold cross-validation on the pairs.

Each held-out pair is ranked against the whole unpaired gallery of the other modality (not just
the other held-out pairs), which keeps the estimate usable with a few dozen pairs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from sue_framework.engine import auto_chunk, row_chunks
from sue_framework.interfaces import Aligner


def unit_reciprocal_ranks(q: torch.Tensor, g: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """1 / (1 + number of rows of `g` more similar to each row of `q` than its target `t`).

    Rows are already L2-normalised; ties do not count against the target. The one ranking rule
    of pair cross-validation, in the inputs' dtype and device.
    """
    sim = q @ g.T
    true = sim[torch.arange(sim.shape[0], device=sim.device), t][:, None]
    return 1.0 / (1.0 + (sim > true).sum(1).to(sim.dtype))


def reciprocal_ranks(queries: np.ndarray, gallery: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1 / (1 + number of gallery rows more cosine-similar to each query than its target)."""
    q = torch.nn.functional.normalize(torch.as_tensor(queries, dtype=torch.float32), dim=1)
    g = torch.nn.functional.normalize(torch.as_tensor(gallery, dtype=torch.float32), dim=1)
    t = torch.as_tensor(targets)
    out = np.empty(q.shape[0])
    for sl in row_chunks(q.shape[0], auto_chunk(g.shape[0])):
        out[sl] = unit_reciprocal_ranks(q[sl], g, t[sl]).numpy()
    return out


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
