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


def mutual_nearest(
    zx: np.ndarray, zy: np.ndarray, device: torch.device | str = "cpu", chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, cosine) of every mutual nearest-neighbour pair x_i <-> y_j.

    Blocked over x's rows (`chunk` rows, sized from memory when None) with running column
    maxima, so memory stays O(block x n_y).
    """
    device = torch.device(device)
    qx, qy = _unit(zx, device), _unit(zy, device)
    row_best = torch.empty(qx.shape[0], dtype=torch.long, device=device)
    row_val = torch.empty(qx.shape[0], dtype=qx.dtype, device=device)
    col_val = torch.full((qy.shape[0],), -2.0, dtype=qx.dtype, device=device)
    col_best = torch.zeros(qy.shape[0], dtype=torch.long, device=device)
    for sl in row_chunks(qx.shape[0], chunk or auto_chunk(qy.shape[0], device=device)):
        sim = qx[sl] @ qy.T
        row_val[sl], row_best[sl] = sim.max(1)
        v, i = sim.max(0)
        better = v > col_val
        col_val = torch.where(better, v, col_val)
        col_best = torch.where(better, i + sl.start, col_best)
    i = torch.arange(qx.shape[0], device=device)
    mutual = col_best[row_best] == i
    return (
        i[mutual].cpu().numpy(),
        row_best[mutual].cpu().numpy(),
        row_val[mutual].cpu().numpy().astype(np.float64),
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
