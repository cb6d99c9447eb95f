"""The relational OT matcher, SOTAlign-style."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sue_framework.components.matchers.residual import _ResidualMatcher
from sue_framework.components.ot import kl_plan_surrogate, plan_kl, sinkhorn_plan
from sue_framework.keywords import keyword_only


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
