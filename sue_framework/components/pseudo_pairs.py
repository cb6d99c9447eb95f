"""Pseudo-pairs mined from unpaired rows in a shared space: mutual nearest neighbours or an
entropic OT plan. They feed self-training (see `SelfTraining`)."""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.components.ot import sinkhorn_plan
from sue_framework.runtime.engine import auto_chunk, row_chunks

TIE_TOL = 1e-5  # cosines closer than this are ties


def _unit(z: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(z, dtype=torch.float32, device=device)
    return torch.nn.functional.normalize(t, dim=1)


def _topk_mean(q: torch.Tensor, g: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """For each row of q: the mean cosine similarity of its k most similar rows of g."""
    out = torch.empty(q.shape[0], dtype=q.dtype, device=q.device)
    k = min(k, g.shape[0])
    for sl in row_chunks(q.shape[0], chunk):
        out[sl] = torch.topk(q[sl] @ g.T, k, dim=1).values.mean(1)
    return out


def mutual_nearest(
    zx: np.ndarray,
    zy: np.ndarray,
    device: torch.device | str = "cpu",
    chunk: int | None = None,
    csls_k: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, score) of every mutual nearest-neighbour pair x_i <-> y_j; the score is the cosine,
    or with `csls_k` > 0 the CSLS score.

    CSLS (cross-domain similarity local scaling; Conneau et al., "Word translation without
    parallel data", ICLR 2018) is 2 cos(x, y) - r(x) - r(y), r being a row's mean cosine to its
    `csls_k` nearest rows of the other modality: it discounts hubs, rows that are near
    everything, which plain nearest neighbours pair up too often.

    One blocked pass over the similarities (`chunk` rows of x at a time, sized from memory when
    None), so memory stays O(block x n): each block gives its rows' best y and raises a running
    maximum per y (CSLS adds one pass first, for the y side's r). x_i and its best y_j are
    mutual when no x scores higher with y_j by more than `TIE_TOL` (blocks of different sizes
    round a row's similarities differently, so an exact duplicate of x_i may score a few
    float32 ulps apart); among such ties the lowest i is kept, as an argmax over y_j's column
    would.

    Parameters
    ----------
    zx, zy : ndarray
        Rows of each side in one space.
    device : torch.device or str
        Where the similarities are computed.
    chunk : int, optional
        Rows per block.
    csls_k : int
        Neighbours in CSLS's correction (0: plain cosine).
    """
    device = torch.device(device)
    qx, qy = _unit(zx, device), _unit(zy, device)
    n = qx.shape[0]
    chunk = chunk or auto_chunk(max(n, qy.shape[0]), device=device)
    ry = _topk_mean(qy, qx, csls_k, chunk) if csls_k > 0 else None
    x_best = torch.empty(n, dtype=torch.long, device=device)
    x_val = torch.empty(n, dtype=qx.dtype, device=device)  # the score of x_i with its best y
    x_side = torch.empty(n, dtype=qx.dtype, device=device)  # the same, as y_j's side sees it
    y_max = torch.full((qy.shape[0],), -torch.inf, dtype=qx.dtype, device=device)
    for sl in row_chunks(n, chunk):
        s = qx[sl] @ qy.T
        if ry is None:
            x_val[sl], x_best[sl] = s.max(1)
            x_side[sl] = x_val[sl]
            y_max = torch.maximum(y_max, s.amax(0))
            continue
        # CSLS 2s - r(x) - r(y): x ranks the y by 2s - r(y), y ranks the x by 2s - r(x)
        rx = torch.topk(s, min(csls_k, s.shape[1]), dim=1).values.mean(1)
        s.mul_(2.0)
        best, x_best[sl] = (s - ry).max(1)
        x_val[sl] = best - rx
        x_side[sl] = x_val[sl] + ry[x_best[sl]]
        y_max = torch.maximum(y_max, (s - rx[:, None]).amax(0))
    mutual = torch.nonzero(x_side >= y_max[x_best] - TIE_TOL).ravel()
    i = mutual.cpu().numpy()
    j = x_best[mutual].cpu().numpy()
    _, first = np.unique(j, return_index=True)  # i ascends, so the first is the lowest i
    first.sort()
    return i[first], j[first], x_val[mutual].cpu().numpy().astype(np.float64)[first]


def mutual_nearest_from_lists(
    zx: np.ndarray,
    zy: np.ndarray,
    k: int = 16,
    csls_k: int = 0,
    engine: str = "auto",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`mutual_nearest` from each row's `k` most similar rows of the other side (an
    `InnerProductIndex`: exact, or faiss IVF/HNSW for large pools), in O(n k) memory past the
    index. The same (i, j, score) as the full scan whenever every mutual pair and every row's
    `csls_k` nearest rows are among those lists (always so with an exact engine and k >= both
    row counts); with smaller k or an approximate index, a subset of them.

    Parameters
    ----------
    zx, zy : ndarray
        Rows of each side in one space.
    k : int
        Candidates listed per row.
    csls_k : int
        Neighbours in CSLS's correction (0: plain cosine).
    engine : str
        The `InnerProductIndex` engine.
    seed : int
        Seeds index training.
    """
    from sue_framework.components.knn import InnerProductIndex

    qx, qy = _unit(zx, torch.device("cpu")).numpy(), _unit(zy, torch.device("cpu")).numpy()
    kx, ky = int(min(k, len(qy))), int(min(k, len(qx)))
    fv, fi = InnerProductIndex(qy, engine, expected_queries=len(qx), seed=seed).search(qx, kx)
    bv, bi = InnerProductIndex(qx, engine, expected_queries=len(qy), seed=seed).search(qy, ky)
    if csls_k > 0:
        rx = fv[:, : min(csls_k, kx)].mean(1)
        ry = bv[:, : min(csls_k, ky)].mean(1)
        fv = 2 * fv - rx[:, None] - ry[fi]
        bv = 2 * bv - ry[:, None] - rx[bi]
    best_y = fi[torch.arange(len(qx)), fv.argmax(1)]
    best_x = bi[torch.arange(len(qy)), bv.argmax(1)]
    i = torch.nonzero(best_x[best_y] == torch.arange(len(qx))).ravel()
    j = best_y[i]
    return i.numpy(), j.numpy(), fv.max(1).values[i].numpy().astype(np.float64)


def ot_matches(
    zx: np.ndarray,
    zy: np.ndarray,
    eps: float = 0.05,
    max_rows: int = 2048,
    seed: int | None = 0,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, confidence) where x_i and y_j are each other's largest entry in an entropic OT plan.

    The plan is over at most `max_rows` rows per side (a seeded sample: the plan is dense).
    Confidence is P(j | i) under the plan (the plan mass times x's row count), 1 when certain.

    Parameters
    ----------
    zx, zy : ndarray
        Rows of each side in one space.
    eps : float
        Entropic regularisation of the plan.
    max_rows : int
        Rows per side in the plan at most (a seeded sample).
    seed : int or None
        Seeds the sample.
    device : torch.device or str
        Where the plan is computed.
    """
    device = torch.device(device)
    rng = np.random.default_rng(seed)
    sx = np.sort(rng.permutation(zx.shape[0])[:max_rows])
    sy = np.sort(rng.permutation(zy.shape[0])[:max_rows])
    qx, qy = _unit(zx[sx], device), _unit(zy[sy], device)
    plan = sinkhorn_plan(qx @ qy.T, eps)
    row_best = plan.argmax(1)
    col_best = plan.argmax(0)
    i = torch.arange(plan.shape[0], device=device)
    mutual = col_best[row_best] == i
    conf = plan[i, row_best] * plan.shape[0]
    return (
        sx[i[mutual].cpu().numpy()],
        sy[row_best[mutual].cpu().numpy()],
        conf[mutual].cpu().numpy(),
    )
