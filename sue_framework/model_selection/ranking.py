"""The one ranking rule, used by pair cross-validation and by the retrieval task alike.

A query's rank is the number of gallery rows at least as cosine-similar to it as its target,
not counting the target (0 = first). Ties count against the query, so collapsed or degenerate
embeddings (everything equally similar) rank last, never first by accident.
"""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.runtime.engine import engine_for, row_chunks, to_tensor


def match_ranks(q: torch.Tensor, g: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """0-based ranks of targets `g[t]` for unit-norm rows `q`, on the inputs' device.

    Parameters
    ----------
    q, g : Tensor
        Unit-norm query and gallery rows.
    t : Tensor
        Each query's target row in `g`.
    """
    sim = q @ g.T
    true = sim[torch.arange(sim.shape[0], device=sim.device), t][:, None]
    return (sim >= true).sum(1) - 1


def target_ranks(
    queries: np.ndarray,
    gallery: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    device: str = "auto",
) -> np.ndarray:
    """0-based rank of `gallery[targets[i]]` for query i (targets default to row i), under
    cosine similarity, in row blocks so memory stays O(block x gallery).

    Parameters
    ----------
    queries, gallery : ndarray
        Rows in one space.
    targets : ndarray, optional
        Each query's target row in `gallery` (default: row i for query i).
    device : str
        Where the similarities are computed.
    """
    eng = engine_for(device)
    dev = eng.device
    q = torch.nn.functional.normalize(to_tensor(queries, dev), dim=1)
    g = torch.nn.functional.normalize(to_tensor(gallery, dev), dim=1)
    t = torch.arange(q.shape[0]) if targets is None else torch.as_tensor(np.asarray(targets))
    t = t.to(dev)
    out = np.empty(q.shape[0], dtype=np.int64)
    for sl in row_chunks(q.shape[0], eng.chunk(g.shape[0])):
        out[sl] = match_ranks(q[sl], g, t[sl]).cpu().numpy()
    return out


def reciprocal_ranks(
    queries: np.ndarray, gallery: np.ndarray, targets: np.ndarray, *, device: str = "cpu"
) -> np.ndarray:
    """1 / (1 + rank) of each query's target: the per-query score pair cross-validation uses.

    Parameters
    ----------
    queries, gallery : ndarray
        Rows in one space.
    targets : ndarray
        Each query's target row in `gallery`.
    device : str
        Where the similarities are computed.
    """
    return 1.0 / (1.0 + target_ranks(queries, gallery, targets, device=device))


def paired_reciprocal_ranks(
    zx: np.ndarray, zy: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Reciprocal ranks of pairs (zx[i[p]], zy[j[p]]) both ways: each x row of a pair queries
    every row of `zy` for its partner, then each y row every row of `zx` (one array, x -> y
    first), the score that pair cross-validation and `Method.score` use.

    Parameters
    ----------
    zx, zy : ndarray
        Rows of each modality in one shared space (each side's gallery).
    i, j : ndarray
        The pairs' rows in `zx` and in `zy`.
    """
    return np.concatenate([reciprocal_ranks(zx[i], zy, j), reciprocal_ranks(zy[j], zx, i)])
