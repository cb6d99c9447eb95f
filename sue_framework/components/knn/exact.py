"""Exact k-nearest neighbours: blocked matmul and top-k in torch (CPU or GPU). Memory is
bounded by the block: a (chunk, n_ref) distance block is all that exists at once."""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.runtime.engine import auto_chunk, row_chunks, to_numpy, to_tensor
from sue_framework.runtime.progress import bar

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
    half: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (q, k) ascending and indices (q, k) of each query's k nearest references.

    With `exclude_self`, queries are the references themselves and each row's own index is
    removed (a duplicate of the row stays a neighbour at distance 0). With `half`, candidates
    come from a float16 matmul (2k of them) and are re-ranked with float32 distances; this pays
    off on GPUs only.

    Parameters
    ----------
    queries, refs : ndarray
        Query and reference rows.
    k : int
        Neighbours per query.
    metric : str
        "cosine" or "euclidean".
    exclude_self : bool
        Queries are the references; each row's own index is dropped.
    device : torch.device or str
        Where the search runs.
    chunk_size : int, optional
        Query rows per block (default from the block budget).
    half : bool
        Find candidates in float16 and re-rank them in float32 (GPU speed, exact distances).
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
    chunk = chunk_size or auto_chunk(n_ref, device=device)
    if half and metric == "euclidean":
        # one global scale keeps float16 scores finite; rankings do not change
        scale = torch.maximum(q.norm(dim=1).max(), r.norm(dim=1).max()).clamp(min=1e-30)
        q, r = q / scale, r / scale
    else:
        scale = None
    r_sq = (r * r).sum(1) if metric == "euclidean" else None
    r_half = r.half() if half else None
    r_sq_half = r_sq.half() if half and r_sq is not None else None
    out_d = np.empty((q.shape[0], k), dtype=np.float32)
    out_i = np.empty((q.shape[0], k), dtype=np.int64)
    blocks = list(row_chunks(q.shape[0], chunk))
    for sl in bar(blocks, desc=f"{k}-NN search", unit="block", enabled=len(blocks) > 1):
        qb = q[sl]
        if half:
            d, i = _half_candidates(qb, r, r_half, r_sq_half, kk, metric)
        else:
            d, i = _top_distances(qb, r, r_sq, kk, metric)
        if exclude_self:
            d, i = drop_self(d, i, torch.arange(sl.start, sl.stop, device=device), k)
        if metric == "euclidean":
            d = d.sqrt() if scale is None else d.sqrt() * scale
        out_d[sl] = to_numpy(d)
        out_i[sl] = to_numpy(i)
    return out_d, out_i


def _scores(qb: torch.Tensor, r: torch.Tensor, r_sq: torch.Tensor | None, metric: str):
    """One GEMM per block: cosine similarity (larger is nearer) or |r|^2 - 2 q.r (smaller is
    nearer; |q|^2 is constant along a row, so it is added after the top-k)."""
    if metric == "cosine":
        return qb @ r.T
    assert r_sq is not None, "euclidean scores need the reference rows' squared norms"
    return torch.addmm(r_sq[None, :], qb, r.T, beta=1.0, alpha=-2.0)


def _to_distances(scores: torch.Tensor, qb: torch.Tensor, metric: str) -> torch.Tensor:
    """Cosine distances, or squared euclidean ones, from `_scores` of the kept candidates."""
    if metric == "cosine":
        return (1.0 - scores).clamp_(min=0.0)
    return (scores + (qb * qb).sum(1, keepdim=True)).clamp_(min=0.0)


def _top_distances(qb, r, r_sq, kk: int, metric: str):
    s, i = torch.topk(_scores(qb, r, r_sq, metric), kk, dim=1, largest=metric == "cosine")
    return _to_distances(s, qb, metric), i


def _half_candidates(qb, r, r_half, r_sq_half, kk: int, metric: str):
    """2kk candidates by a float16 GEMM and top-k, re-ranked with exact float32 distances."""
    n_cand = min(r.shape[0], 2 * kk)
    approx = _scores(qb.half(), r_half, r_sq_half, metric)
    _, cand = torch.topk(approx, n_cand, dim=1, largest=metric == "cosine", sorted=False)
    rc = r[cand]  # (b, n_cand, d)
    if metric == "cosine":
        exact = (1.0 - (rc * qb[:, None, :]).sum(-1)).clamp_(min=0.0)
    else:
        exact = ((rc - qb[:, None, :]) ** 2).sum(-1)
    d, j = torch.topk(exact, kk, dim=1, largest=False, sorted=True)
    return d, torch.gather(cand, 1, j)


def knn_block(x: torch.Tensor, k: int, metric: str = "cosine") -> tuple[torch.Tensor, torch.Tensor]:
    """Exact kNN of an in-memory block against itself, self excluded, as tensors on x's device
    (distances ascending, float32). For batches small enough for one (b, b) score matrix.

    Parameters
    ----------
    x : Tensor
        The block's rows.
    k : int
        Neighbours per row.
    metric : str
        "cosine" or "euclidean".
    """
    x = _prepare(x, metric, "batch")
    r_sq = (x * x).sum(1) if metric == "euclidean" else None
    d, i = _top_distances(x, x, r_sq, k + 1, metric)
    d, i = drop_self(d, i, torch.arange(x.shape[0], device=x.device), k)
    return (d.sqrt() if metric == "euclidean" else d), i


def drop_self(d, i, rows, k: int):
    """Remove each row's own index from its k+1 neighbours (the farthest if self is not listed).

    Parameters
    ----------
    d, i : Tensor
        Distances and indices of k + 1 neighbours per row.
    rows : Tensor
        Each row's own index.
    k : int
        Neighbours kept.
    """
    drop = i == rows[:, None]
    drop[~drop.any(1), -1] = True  # self tied beyond the list: drop the farthest instead
    keep = ~drop
    return d[keep].reshape(-1, k), i[keep].reshape(-1, k)
