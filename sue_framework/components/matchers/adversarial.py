"""The adversarial residual matcher (domain confusion on unpaired rows)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from sue_framework.components.matchers.mmd import mmd_val_loss
from sue_framework.components.matchers.residual import _ResidualMatcher
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import (
    generator,
)
from sue_framework.runtime.nn import (
    mlp,
    seeded,
)


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
