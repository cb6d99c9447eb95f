"""Distribution matchers trained on unpaired rows: the MMD residual network (paper Eq. 1), an
adversarial residual matcher, a relational OT matcher (SOTAlign-style), and `none` for ablations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from sue_framework.components.ot import kl_plan_surrogate, plan_kl, sinkhorn_plan
from sue_framework.errors import InputError
from sue_framework.interfaces import DistributionMatcher, check_modality
from sue_framework.keywords import keyword_only
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import (
    engine_for,
    generator,
    to_numpy,
    to_tensor,
)
from sue_framework.runtime.nn import (
    ResidualMLP,
    load_module_state,
    mlp,
    module_state,
    seeded,
    train_epochs,
)
from sue_framework.validation import as_matrix

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


class _ResidualMatcher(DistributionMatcher):
    """Shared machinery: a zero-initialised residual MLP on the moving modality, a 90/10 split,
    fixed validation batches scored by the subclass's validation loss, and the best validation
    model kept. Every setting is a constructor parameter of the subclass; the shared ones
    (`hidden`, `epochs`, `batch_size`, `lr`, `val_fraction`, `patience`, `moving`, `seed`,
    `device`, `progress`) are checked by `_check_inputs` before any work."""

    hidden: Sequence[int]
    epochs: int
    batch_size: int
    lr: float
    val_fraction: float
    patience: int | None
    moving: str
    seed: int | None
    device: str
    progress: bool

    def _network(self, dim: int, seed: int = 0) -> ResidualMLP:
        """A fresh residual network for `dim`-wide rows, its weights drawn from `seed`."""
        return seeded(lambda: ResidualMLP(dim, self.hidden), seed)

    def _check_settings(self) -> list[tuple[bool, str]]:
        """(holds, message) of every constraint on this matcher's settings; subclasses add
        their own."""
        patience, hidden, val = self.patience, self.hidden, self.val_fraction
        return [
            (all(int(h) >= 1 for h in hidden), f"hidden widths must be >= 1, got {hidden}"),
            (self.epochs >= 0, f"epochs must be >= 0, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (0 <= val < 1, f"val_fraction must lie in [0, 1), got {val}"),
            (patience is None or patience >= 1, f"patience must be >= 1 or None, got {patience}"),
        ]

    def _check_inputs(
        self, target: np.ndarray, moving: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        check_modality(self.moving)
        for ok, message in self._check_settings():
            if not ok:
                raise InputError(message)
        target, moving = as_matrix(target, "target rows"), as_matrix(moving, "moving rows")
        if target.shape[1] != moving.shape[1]:
            raise InputError(
                f"both modalities must share one aligned space, got {target.shape[1]} and "
                f"{moving.shape[1]} columns"
            )
        return target, moving

    def _fit_loop(
        self,
        target: np.ndarray,
        moving: np.ndarray,
        step_fn,
        make_state,
        val_loss,
        min_delta: float = 0.0,
    ) -> None:
        """Epochs of `step_fn(dp, net, moving_batch, target_batch, state)`, keeping the net with
        the best `val_loss(net, val_batches)` (an improvement counts when it lowers the loss by
        the fraction `min_delta`); `dp` (a `DataParallel`) runs the steps, over processes if
        distributed."""
        eng = engine_for(self.device, self.seed)
        dev, seed, gen = eng.device, eng.seed, eng.generator()
        T, M = to_tensor(target, dev), to_tensor(moving, dev)
        (T_tr, T_va), (M_tr, M_va) = self._split(T, gen), self._split(M, gen)
        net = self._network(M.shape[1], seed).to(dev)
        extra = make_state(net, M.shape[1], dev, seed)
        dp = DataParallel([net, *(m for m in extra if isinstance(m, torch.nn.Module))])
        bs = int(min(self.batch_size, M_tr.shape[0], T_tr.shape[0]))
        val_batches = self._val_batches(T_va, M_va, bs, gen)
        steps = max(1, math.ceil(M_tr.shape[0] / bs))

        def run_epoch() -> None:
            perm = torch.randperm(M_tr.shape[0], generator=gen).to(dev)
            for s in range(steps):
                mb = M_tr[perm[s * bs : (s + 1) * bs]]
                tb = T_tr[torch.randint(T_tr.shape[0], (mb.shape[0],), generator=gen).to(dev)]
                step_fn(dp, net, mb, tb, extra)

        log = train_epochs(
            self.epochs,
            run_epoch,
            keep=[net],
            validate=lambda: val_loss(net, val_batches),
            patience=self.patience,
            min_delta=min_delta,
            progress=self.progress,
            desc=type(self).__name__,
        )
        history = log.losses
        self.net_ = net.cpu().eval()
        self.dim_ = np.asarray(M.shape[1])
        self.val_history_ = np.asarray(history)

    def _fit_loss(
        self, target: np.ndarray, moving: np.ndarray, loss_fn, val_loss, min_delta: float = 0.0
    ) -> None:
        """`_fit_loop` with AdamW (`lr`, `weight_decay`) minimising `loss_fn(net, mb, tb)`."""

        def make_opt(net, dim, dev, seed):
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            return (opt,)

        def step(dp, net, mb, tb, state):
            dp.step(state[0], loss_fn(dp.wrap(net), mb, tb))

        self._fit_loop(target, moving, step, make_opt, val_loss, min_delta)

    def _split(self, X: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n = X.shape[0]
        n_val = int(round(n * self.val_fraction))
        if n_val < 2 or n - n_val < 2:  # too small to hold out: validate on the training rows
            return X, X
        perm = torch.randperm(n, generator=gen).to(X.device)
        return X[perm[n_val:]], X[perm[:n_val]]

    @staticmethod
    def _val_batches(T: torch.Tensor, M: torch.Tensor, bs: int, gen: torch.Generator, n: int = 4):
        """A few fixed (target, moving) batches, so validation cost does not grow as n^2."""
        size = int(min(bs, T.shape[0], M.shape[0]))
        out = []
        for _ in range(n):
            ti = torch.randperm(T.shape[0], generator=gen)[:size].to(T.device)
            mi = torch.randperm(M.shape[0], generator=gen)[:size].to(M.device)
            out.append((T[ti], M[mi]))
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "rows")
        if X.shape[1] != int(self.dim_):
            raise InputError(
                f"rows have {X.shape[1]} columns, the matcher expects {int(self.dim_)}"
            )
        with torch.no_grad():
            return to_numpy(self.net_(torch.as_tensor(X, dtype=torch.float32)))

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return hasattr(self, "net_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {**module_state(self.net_, "net"), "dim_": np.asarray(self.dim_)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.dim_ = np.asarray(state["dim_"])
        self.net_ = load_module_state(self._network(int(self.dim_)), state, "net")


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


class AdversarialMatcher(_ResidualMatcher):
    """A residual generator on the moving modality against an MLP discriminator (aligned space).

    `loss="lsgan"` (least squares GAN, the default) or `"wgan-gp"` (Wasserstein with gradient
    penalty). `disc_steps` discriminator updates per generator update default to 1 for LSGAN and
    5 for WGAN-GP. Adversarial training oscillates, so the generator kept is the one with the lowest
    validation MMD, a criterion independent of the discriminator. With the identity start of the
    zero-initialised residual, that is meant to keep runs stable across seeds; the spread measured
    over seeds is reported in [experiments.md](../experiments.md).

    Parameters
    ----------
    hidden : sequence of int
        Widths of the residual generator's hidden layers.
    disc_hidden : sequence of int
        Widths of the discriminator's hidden layers.
    loss : str
        "lsgan" (least squares) or "wgan-gp" (Wasserstein with gradient penalty).
    epochs : int
        Passes over the unpaired rows at most.
    batch_size : int
        Rows of each modality per step.
    lr : float
        Learning rate (AdamW).
    disc_lr : float
        The discriminator's learning rate.
    disc_steps : int or None
        Discriminator updates per generator update (None: 1 for LSGAN, 5 for WGAN-GP).
    gp_weight : float
        Weight of WGAN-GP's gradient penalty.
    bandwidths : sequence of float
        Kernel multipliers of the validation MMD that picks the generator kept.
    val_fraction : float
        Share of rows held out for that validation.
    patience : int or None
        Epochs without a better validation MMD before stopping; None runs every epoch.
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
        disc_hidden: Sequence[int] = (128, 128),
        loss: str = "lsgan",
        epochs: int = 100,
        batch_size: int = 512,
        lr: float = 2e-4,
        disc_lr: float = 2e-4,
        disc_steps: int | None = None,
        gp_weight: float = 10.0,
        bandwidths: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
        val_fraction: float = 0.1,
        patience: int | None = None,
        moving: str = "y",
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.hidden = hidden
        self.disc_hidden = disc_hidden
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.disc_lr = disc_lr
        self.disc_steps = disc_steps
        self.gp_weight = gp_weight
        self.bandwidths = bandwidths
        self.val_fraction = val_fraction
        self.patience = patience
        self.moving = moving
        self.seed = seed
        self.device = device
        self.progress = progress

    def _check_settings(self) -> list[tuple[bool, str]]:
        steps, loss = self.disc_steps, self.loss
        return [
            *super()._check_settings(),
            (loss in ("lsgan", "wgan-gp"), f"loss must be 'lsgan' or 'wgan-gp', got {loss!r}"),
            (self.disc_lr > 0, f"disc_lr must be > 0, got {self.disc_lr}"),
            (steps is None or steps >= 1, f"disc_steps must be >= 1 or None, got {steps}"),
            (self.gp_weight >= 0, f"gp_weight must be >= 0, got {self.gp_weight}"),
        ]

    def fit(self, target: np.ndarray, moving: np.ndarray) -> AdversarialMatcher:
        target, moving = self._check_inputs(target, moving)
        wgan = self.loss == "wgan-gp"
        disc_steps = self.disc_steps if self.disc_steps is not None else (5 if wgan else 1)

        def make_state(net, dim, dev, seed):
            disc = seeded(lambda: mlp(dim, self.disc_hidden, 1, torch.nn.LeakyReLU), seed + 1)
            disc = disc.to(dev)
            opt_g = torch.optim.Adam(net.parameters(), lr=self.lr, betas=(0.5, 0.9))
            opt_d = torch.optim.Adam(disc.parameters(), lr=self.disc_lr, betas=(0.5, 0.9))
            eps_gen = generator(seed, offset=2)
            return disc, opt_g, opt_d, eps_gen

        def disc_loss(dp, disc, real, fake, eps_gen):
            D = dp.wrap(disc)
            if not wgan:
                return ((D(real) - 1) ** 2).mean() + (D(fake) ** 2).mean()

            def penalty(mix):  # per row: the critic's gradient norm at the row, away from 1
                mix = mix.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(disc(mix).sum(), mix, create_graph=True)
                return (grad.norm(dim=1) - 1) ** 2

            eps = torch.rand(real.shape[0], 1, generator=eps_gen).to(real.device)
            gp = dp.apply(penalty, eps * real + (1 - eps) * fake).mean()
            return D(fake).mean() - D(real).mean() + self.gp_weight * gp

        def step(dp, net, mb, tb, state):
            disc, opt_g, opt_d, eps_gen = state
            G = dp.wrap(net)
            for _ in range(disc_steps):
                dp.step(opt_d, disc_loss(dp, disc, tb, G(mb).detach(), eps_gen))
            out = dp.apply(disc, G(mb))
            dp.step(opt_g, -out.mean() if wgan else ((out - 1) ** 2).mean())

        # the generator kept is the one whose moved rows are closest by MMD (mean bandwidth)
        val = partial(mmd_val_loss, bandwidths=self.bandwidths, bandwidth="mean")
        self._fit_loop(target, moving, step, make_state, val)
        return self


class NoMatcher(DistributionMatcher):
    """Ablation: no distribution matching; the moving modality passes through unchanged.

    Parameters
    ----------
    moving : str
        The modality that would move, "x" or "y" (recorded; nothing moves).
    """

    _state_keys = ()

    def __init__(self, moving: str = "y") -> None:
        self.moving = moving

    def fit(self, target: np.ndarray, moving: np.ndarray) -> NoMatcher:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return as_matrix(X, "rows").astype(np.float32)

    def passes_rows_through(self) -> bool:
        return True

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return True


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T


class OTMatcher(_ResidualMatcher):
    """Relational matcher in the spirit of SOTAlign (Roschmann et al., ICML 2026, 2602.23353).

    The aligner's output is the linear teacher: on each pair of unpaired batches, its cosine
    affinities give a sharp Sinkhorn plan (`teacher_eps`). A zero-initialised residual MLP on the
    moving modality is trained so that the plan of the moved rows (`eps`, softer) matches the
    teacher's, by KL(P_teacher || P_student), whose gradient (P_student - P_teacher) / eps flows
    through the affinities only (`ot.kl_plan_surrogate`): Sinkhorn is never back-propagated.
    Validation is the same KL on fixed held-out batches; the best network is kept.

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
    eps : float
        Entropic regularisation of the student's plan (softer).
    teacher_eps : float
        Entropic regularisation of the teacher's plan (sharp).
    sinkhorn_iter : int
        Sinkhorn iterations per plan.
    val_fraction : float
        Share of rows held out to pick the best network.
    patience : int or None
        Epochs without a better validation KL before stopping; None runs every epoch.
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
        hidden: Sequence[int] = (64,),
        *,
        epochs: int = 30,
        batch_size: int = 512,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        eps: float = 0.05,
        teacher_eps: float = 0.005,
        sinkhorn_iter: int = 100,
        val_fraction: float = 0.1,
        patience: int | None = 5,
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
        self.eps = eps
        self.teacher_eps = teacher_eps
        self.sinkhorn_iter = sinkhorn_iter
        self.val_fraction = val_fraction
        self.patience = patience
        self.moving = moving
        self.seed = seed
        self.device = device
        self.progress = progress

    def _teacher(self, tb: torch.Tensor, mb: torch.Tensor) -> torch.Tensor:
        return sinkhorn_plan(_cosine(tb, mb), self.teacher_eps, self.sinkhorn_iter)

    def _check_settings(self) -> list[tuple[bool, str]]:
        eps, teacher = self.eps, self.teacher_eps
        return [
            *super()._check_settings(),
            (eps > 0 and teacher > 0, f"eps and teacher_eps must be > 0, got {eps} and {teacher}"),
            (self.sinkhorn_iter >= 1, f"sinkhorn_iter must be >= 1, got {self.sinkhorn_iter}"),
        ]

    def fit(self, target: np.ndarray, moving: np.ndarray) -> OTMatcher:
        target, moving = self._check_inputs(target, moving)

        def loss(net, mb, tb):
            return kl_plan_surrogate(
                _cosine(tb, net(mb)), self._teacher(tb, mb), self.eps, n_iter=self.sinkhorn_iter
            )

        plans: list[torch.Tensor] = []  # the teacher plans of this fit's validation batches

        def val_loss(net: torch.nn.Module, val_batches) -> float:
            """The plan KL on the fixed held-out batches (teacher plans computed once)."""
            net.eval()
            with torch.no_grad():
                if not plans:
                    plans.extend(self._teacher(t, m) for t, m in val_batches)
                return float(
                    np.mean(
                        [
                            float(
                                plan_kl(
                                    teacher,
                                    sinkhorn_plan(_cosine(t, net(m)), self.eps, self.sinkhorn_iter),
                                )
                            )
                            for teacher, (t, m) in zip(plans, val_batches, strict=True)
                        ]
                    )
                )

        self._fit_loss(target, moving, loss, val_loss)
        return self
