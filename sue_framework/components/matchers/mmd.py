"""The MMD loss with its value-and-gradient kernel, and the MMD residual network (paper
Eq. 1)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from sue_framework.components.matchers.residual import _ResidualMatcher
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

BANDWIDTH_RULES = ("mean", "median")


def mmd2_rbf(
    a: torch.Tensor, b: torch.Tensor, multipliers: Sequence[float], bandwidth: str | float = "mean"
) -> torch.Tensor:
    """Biased squared MMD (paper Eq. 1) with a sum of RBF kernels exp(-d^2 / (base * m)).

    `base` is the mean ("mean", as in the MMD package the paper uses) or median ("median")
    pairwise squared distance of the pooled batch, held constant (no gradient), or a fixed float.
    The gradient is formed with the value, from the same kernel matrix (`_MMD2`), rather than
    by back-propagating through every elementwise kernel operation.

    Parameters
    ----------
    a, b : Tensor
        The two samples.
    multipliers : sequence of float
        Bandwidth multipliers; the kernel sums one RBF per multiplier.
    bandwidth : str or float
        The base: "mean" or "median" pairwise squared distance of the pooled batch, or a number.
    """
    if bandwidth not in BANDWIDTH_RULES and not isinstance(bandwidth, (int, float)):
        raise InputError(
            f"bandwidth must be one of {BANDWIDTH_RULES} or a number, got {bandwidth!r}"
        )
    need_grad = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
    return _MMD2.apply(a, b, tuple(float(m) for m in multipliers), bandwidth, need_grad)


def _sq_dists(z: torch.Tensor) -> torch.Tensor:
    """Pairwise squared distances of the rows of z, clamped at 0 against rounding."""
    sq = (z * z).sum(1)
    return torch.addmm(sq[:, None] + sq[None, :], z, z.T, alpha=-2.0).clamp_(min=0.0)


def _kernel_scale(d2: torch.Tensor, bandwidth: str | float) -> torch.Tensor:
    """The squared distance the kernels' bandwidth multipliers scale: the mean or median of the
    off-diagonal `d2`, or the `bandwidth` given as a number."""
    n = d2.shape[0]
    if bandwidth == "mean":
        base = d2.sum() / max(1, n * n - n)
    elif bandwidth == "median":
        base = d2[~torch.eye(n, dtype=torch.bool, device=d2.device)].median()
    else:
        base = torch.as_tensor(float(bandwidth), dtype=d2.dtype, device=d2.device)
    return base.clamp(min=1e-12)


class _MMD2(torch.autograd.Function):
    """Squared MMD with its gradient computed in the forward pass.

    With K = sum_m exp(-D / (base m)) over squared distances D and W the block weights of the
    biased estimate (1/na^2, 1/nb^2, -1/(na nb)), the loss is sum(W * K) and, for G =
    W * dK/dD, its gradient with respect to row i is 4 (sum_j G_ij z_i - (G z)_i) (where
    rounding clamped a distance at 0, z_i = z_j and the term vanishes either way). One pass
    over the kernel gives both; autograd would keep and revisit every intermediate n x n
    tensor. When each multiplier is half the previous (2^2 .. 2^-2, the default), each kernel
    is the square of the previous one: one exp instead of one per multiplier.
    """

    @staticmethod
    def forward(ctx, a, b, multipliers, bandwidth, need_grad):
        z = torch.cat([a, b], 0).detach()
        na, n = a.shape[0], a.shape[0] + b.shape[0]
        d2 = _sq_dists(z)
        base = float(_kernel_scale(d2, bandwidth))
        ms = sorted(multipliers, reverse=True)
        pairs = zip(ms[:-1], ms[1:], strict=True)
        halving = len(ms) > 1 and all(math.isclose(hi, 2 * lo) for hi, lo in pairs)
        k = torch.zeros_like(d2)
        g = torch.zeros_like(d2) if need_grad else None  # dK/dD, then times the block weights
        e = None
        for m in ms:
            e = torch.exp(d2 * (-1.0 / (base * m))) if e is None or not halving else e.square_()
            k += e
            if g is not None:
                g.add_(e, alpha=-1.0 / (base * m))
        nb = n - na
        weights = (
            (slice(0, na), slice(0, na), 1.0 / na**2),
            (slice(na, n), slice(na, n), 1.0 / nb**2),
            (slice(0, na), slice(na, n), -1.0 / (na * nb)),
            (slice(na, n), slice(0, na), -1.0 / (na * nb)),
        )
        loss = sum(w * k[r, c].sum() for r, c, w in weights)
        ctx.na = na
        if g is not None:  # validation needs the value only
            for r, c, w in weights:
                g[r, c] *= w
            ctx.save_for_backward(4.0 * (g.sum(1, keepdim=True) * z - g @ z))
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        (grad_z,) = ctx.saved_tensors
        grad_z = grad_out * grad_z
        return grad_z[: ctx.na], grad_z[ctx.na :], None, None, None


def _bandwidth_check(bandwidth: object) -> tuple[bool, str]:
    ok = bandwidth in BANDWIDTH_RULES or (
        isinstance(bandwidth, (int, float)) and not isinstance(bandwidth, bool) and bandwidth > 0
    )
    return ok, f"bandwidth must be one of {BANDWIDTH_RULES} or a number > 0, got {bandwidth!r}"


def mmd_val_loss(
    net: torch.nn.Module,
    val_batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    bandwidths: Sequence[float],
    bandwidth: str | float,
) -> float:
    """Mean multi-bandwidth squared MMD between the moved and the target rows of fixed
    validation batches (the residual matchers' model-selection criterion).

    Parameters
    ----------
    net : Module
        The moving modality's network.
    val_batches : sequence of (Tensor, Tensor)
        (target rows, moving rows) of each batch.
    bandwidths : sequence of float
        Multipliers of the base bandwidth.
    bandwidth : str or float
        The base bandwidth rule or value (`mmd2_rbf`).
    """
    net.eval()
    with torch.no_grad():
        return float(
            np.mean([float(mmd2_rbf(net(m), t, bandwidths, bandwidth)) for t, m in val_batches])
        )


class MMDResNet(_ResidualMatcher):
    """Residual MLP on the moving modality minimising squared MMD to the other (paper App. D.8).

    Defaults follow the paper: hidden 128-128-128, AdamW lr 1e-3, at most 100 epochs, a 90/10
    train/validation split with the best validation model kept; bandwidth multipliers 2^-2..2^2
    around the mean pairwise squared distance (`bandwidth="median"` or a float to change the
    base). One departure: `patience=5` stops after 5 epochs without a better validation MMD
    (`patience=None` runs all epochs, as the paper does; with `min_delta` an improvement counts
    only when it lowers the validation MMD by that fraction); benchmarks/mmd_speed.py measures
    the cost and R@10 of both.

    Parameters
    ----------
    hidden : sequence of int
        Widths of the residual MLP's hidden layers.
    epochs : int
        Passes over the unpaired rows at most.
    batch_size : int
        Rows of each modality per step.
    lr : float
        Learning rate (AdamW).
    weight_decay : float
        AdamW's weight decay.
    bandwidths : sequence of float
        Multipliers of the base bandwidth; the kernel is their sum of Gaussians.
    bandwidth : str or float
        The base: "mean" or "median" pairwise squared distance, or a number.
    val_fraction : float
        Share of rows held out to pick the best epoch by validation MMD.
    patience : int or None
        Epochs without a better validation MMD before stopping; None runs every epoch.
    min_delta : float
        Relative drop of the validation MMD that counts as better.
    moving : str
        Which modality is moved onto the other's distribution, "x" or "y".
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    progress : bool
        Show a progress bar over the epochs.
    """

    @keyword_only
    def __init__(
        self,
        hidden: Sequence[int] = (128, 128, 128),
        *,
        epochs: int = 100,
        batch_size: int = 512,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        bandwidths: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
        bandwidth: str | float = "mean",
        val_fraction: float = 0.1,
        patience: int | None = 5,
        min_delta: float = 0.0,
        moving: str = "y",
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.bandwidths = bandwidths
        self.bandwidth = bandwidth
        self.val_fraction = val_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.moving = moving
        self.seed = seed
        self.device = device
        self.progress = progress

    def _check_settings(self) -> list[tuple[bool, str]]:
        return [
            *super()._check_settings(),
            _bandwidth_check(self.bandwidth),
            (self.min_delta >= 0, f"min_delta must be >= 0, got {self.min_delta}"),
        ]

    def fit(self, target: np.ndarray, moving: np.ndarray) -> MMDResNet:
        target, moving = self._check_inputs(target, moving)

        def loss(net, mb, tb):
            return mmd2_rbf(net(mb), tb, self.bandwidths, self.bandwidth)

        val = partial(mmd_val_loss, bandwidths=self.bandwidths, bandwidth=self.bandwidth)
        self._fit_loss(target, moving, loss, val, self.min_delta)
        return self
