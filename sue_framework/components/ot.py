"""Entropic optimal transport between two batches, in the log domain (Cuturi, NeurIPS 2013).

`sinkhorn_plan(S, eps)` is the plan P with uniform marginals that maximises <P, S> + eps H(P),
i.e. P_ij = exp((S_ij + f_i + g_j) / eps) with potentials f, g found by Sinkhorn iterations.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def sinkhorn_plan(
    scores: torch.Tensor, eps: float, n_iter: int = 200, tol: float = 1e-6
) -> torch.Tensor:
    """(n, m) transport plan with row sums 1/n and column sums 1/m for affinities `scores`.

    Log-domain iterations, so small `eps` does not underflow; stops when the row marginals are
    within `tol` (relative) or after `n_iter` rounds. No gradient flows through it.

    Parameters
    ----------
    scores : Tensor of shape (n, m)
        Affinities (larger is closer).
    eps : float
        Entropic regularisation.
    n_iter : int
        Iterations at most.
    tol : float
        Relative tolerance on the row marginals.
    """
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    with torch.no_grad():
        n, m = scores.shape
        logk = scores / eps
        log_a = torch.full((n,), -math.log(n), dtype=scores.dtype, device=scores.device)
        log_b = torch.full((m,), -math.log(m), dtype=scores.dtype, device=scores.device)
        f = torch.zeros_like(log_a)
        g = torch.zeros_like(log_b)
        for _ in range(n_iter):
            f = log_a - torch.logsumexp(logk + g[None, :], dim=1)
            g = log_b - torch.logsumexp(logk + f[:, None], dim=0)
            rows = torch.logsumexp(logk + f[:, None] + g[None, :], dim=1)
            if float((rows - log_a).exp().sub(1).abs().max()) < tol:
                break
        return (logk + f[:, None] + g[None, :]).exp()


def plan_kl(p_teacher: torch.Tensor, p_student: torch.Tensor) -> torch.Tensor:
    """KL(P_teacher || P_student) between two plans of one shape (0 log 0 = 0).

    Parameters
    ----------
    p_teacher, p_student : Tensor
        Two plans of one shape.
    """
    pt = p_teacher.clamp(min=0)
    mask = pt > 0
    return (pt[mask] * (pt[mask].log() - p_student[mask].clamp(min=1e-300).log())).sum()


def kl_plan_surrogate(
    scores: torch.Tensor, p_teacher: torch.Tensor, eps: float, **sinkhorn: Any
) -> torch.Tensor:
    """A loss whose gradient in `scores` equals that of KL(P_teacher || sinkhorn_plan(scores)).

    At the Sinkhorn fixed point the gradient is (P_student - P_teacher) / eps (the potentials'
    terms vanish because both plans share their marginals), so the plan is computed without a
    graph and never back-propagated (SOTAlign, Roschmann et al., ICML 2026, arXiv 2602.23353).

    Parameters
    ----------
    scores : Tensor
        The student's affinities.
    p_teacher : Tensor
        The target plan.
    eps : float
        The student's entropic regularisation.
    **sinkhorn
        Passed to `sinkhorn_plan`.
    """
    p_student = sinkhorn_plan(scores.detach(), eps, **sinkhorn)
    return ((p_student - p_teacher).detach() * scores).sum() / eps
