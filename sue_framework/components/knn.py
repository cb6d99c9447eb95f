"""Exact k-nearest neighbours by blocked matmul + top-k in torch (CPU or GPU).

Memory is bounded by the block: a (chunk, n_ref) distance block is all that exists at once.
"""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.engine import auto_chunk, row_chunks, to_numpy, to_tensor
from sue_framework.errors import InputError

METRICS = ("cosine", "euclidean")


def _prepare(a: torch.Tensor, metric: str, name: str) -> torch.Tensor:
    if metric == "cosine":
        norms = a.norm(dim=1, keepdim=True)
        if bool((norms == 0).any()):
            n_zero = int((norms == 0).sum())
            raise InputError(
                f"{name} has {n_zero} all-zero row(s): cosine distance is undefined for them; "
                "drop those rows or use metric='euclidean'"
            )
        return a / norms
    return a


def exact_knn(
    queries: np.ndarray | torch.Tensor,
    refs: np.ndarray | torch.Tensor,
    k: int,
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    device: torch.device | str = "cpu",
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (q, k) ascending and indices (q, k) of each query's k nearest references.

    With `exclude_self`, queries are the references themselves and each row's own index is
    removed (a duplicate of the row stays a neighbour at distance 0).
    """
    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    device = torch.device(device)
    q = _prepare(to_tensor(queries, device), metric, "queries")
    r = _prepare(to_tensor(refs, device), metric, "references")
    n_ref = r.shape[0]
    kk = k + 1 if exclude_self else k
    if kk > n_ref:
        raise InputError(
            f"asked for {k} neighbours but only {n_ref - exclude_self} candidates exist"
        )
    chunk = chunk_size or auto_chunk(n_ref)
    r_sq = (r * r).sum(1) if metric == "euclidean" else None
    out_d = np.empty((q.shape[0], k), dtype=np.float32)
    out_i = np.empty((q.shape[0], k), dtype=np.int64)
    for sl in row_chunks(q.shape[0], chunk):
        qb = q[sl]
        sim = qb @ r.T
        if metric == "cosine":
            dist = (1.0 - sim).clamp_(min=0.0)
        else:
            dist = ((qb * qb).sum(1, keepdim=True) + r_sq[None, :] - 2.0 * sim).clamp_(min=0.0)
        d, i = torch.topk(dist, kk, dim=1, largest=False, sorted=True)
        if exclude_self:
            rows = torch.arange(sl.start, sl.stop, device=device)[:, None]
            drop = i == rows
            no_self = ~drop.any(1)
            drop[no_self, -1] = True  # self tied beyond the list: drop the farthest instead
            keep = ~drop
            d = d[keep].view(-1, k)
            i = i[keep].view(-1, k)
        if metric == "euclidean":
            d = d.sqrt()
        out_d[sl] = to_numpy(d)
        out_i[sl] = to_numpy(i)
    return out_d, out_i
