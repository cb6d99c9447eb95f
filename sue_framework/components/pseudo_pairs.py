"""Pseudo-pairs mined from unpaired rows in a shared space: mutual nearest neighbours or an
entropic OT plan. They feed self-training (see `SelfTraining`)."""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.components.ot import sinkhorn_plan
from sue_framework.engine import auto_chunk, row_chunks


def _unit(z: np.ndarray, device: torch.device) -> torch.Tensor:
    z = torch.as_tensor(z, dtype=torch.float32, device=device)
    return torch.nn.functional.normalize(z, dim=1)


def _row_best(q: torch.Tensor, g: torch.Tensor, chunk: int | None):
    """For each row of q: the most cosine-similar row of g and that similarity, in blocks."""
    best = torch.empty(q.shape[0], dtype=torch.long, device=q.device)
    val = torch.empty(q.shape[0], dtype=q.dtype, device=q.device)
    for sl in row_chunks(q.shape[0], chunk or auto_chunk(g.shape[0], device=q.device)):
        val[sl], best[sl] = (q[sl] @ g.T).max(1)
    return best, val


def mutual_nearest(
    zx: np.ndarray, zy: np.ndarray, device: torch.device | str = "cpu", chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, cosine) of every mutual nearest-neighbour pair x_i <-> y_j.

    Two blocked row-wise passes (`chunk` rows, sized from memory when None): memory stays
    O(block x n), and contiguous row maxima are several times faster than column maxima.
    """
    device = torch.device(device)
    qx, qy = _unit(zx, device), _unit(zy, device)
    x_best, x_val = _row_best(qx, qy, chunk)
    y_best, _ = _row_best(qy, qx, chunk)
    i = torch.arange(qx.shape[0], device=device)
    mutual = y_best[x_best] == i
    return (
        i[mutual].cpu().numpy(),
        x_best[mutual].cpu().numpy(),
        x_val[mutual].cpu().numpy().astype(np.float64),
    )


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
