"""The paper's contrastive baseline: an MLP per modality trained with the symmetric CLIP loss on
the pairs only (no unpaired rows enter the loss)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, check_modality
from sue_framework.keywords import keyword_only
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import engine_for, fit_context, to_numpy, to_tensor
from sue_framework.runtime.nn import load_module_state, mlp, module_state, seeded, train_epochs
from sue_framework.validation import as_matrix


def clip_loss(zx: torch.Tensor, zy: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP) over a batch of pairs, cosine similarity times exp(log_scale).

    Parameters
    ----------
    zx, zy : Tensor
        Embedded pairs, zx[i] with zy[i].
    log_scale : Tensor
        The learned log of the logit scale.
    """
    logits = F.normalize(zx, dim=1) @ F.normalize(zy, dim=1).T * log_scale.exp()
    target = torch.arange(zx.shape[0], device=zx.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


class Contrastive(Method):
    """CLIP-style baseline trained on the paired rows only.

    Inputs are standardised with each modality's own mean and std over all of its rows (no
    cross-modal information); the logit scale starts at 1/temperature and is learned, capped at
    100 as in CLIP. With `val_fraction` > 0 that share of the pairs (at least 2) is held out:
    the nets of the epoch with the lowest held-out CLIP loss are kept, and training stops after
    `patience` epochs without a lower one.

    Parameters
    ----------
    out_dim : int
        Dimensions of the shared space.
    hidden : sequence of int
        Widths of each modality's MLP.
    epochs : int
        Passes over the pairs at most.
    batch_size : int
        Pairs per step.
    lr : float
        AdamW's learning rate.
    weight_decay : float
        AdamW's weight decay.
    temperature : float
        Initial temperature of the CLIP loss (its inverse, the logit scale, is learned).
    val_fraction : float
        Share of pairs held out for early stopping (0: none).
    patience : int
        Epochs without a lower held-out loss before stopping.
    seed : int or None
        Seeds initialisation and minibatches; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    progress : bool
        Show a progress bar over the epochs.
    """

    @keyword_only
    def __init__(
        self,
        out_dim: int = 8,
        *,
        hidden: Sequence[int] = (256,),
        epochs: int = 300,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        temperature: float = 0.07,
        val_fraction: float = 0.0,
        patience: int = 30,
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.out_dim = out_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.temperature = temperature
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.device = device
        self.progress = progress

    def _hold_out(self, X: torch.Tensor, Y: torch.Tensor, gen: torch.Generator):
        """(train x, train y, held-out x, held-out y); the held-out ones are None when
        `val_fraction` is 0 or leaves fewer than 2 pairs on either side."""
        if not 0.0 <= self.val_fraction < 1.0:
            raise InputError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        m = X.shape[0]
        n_val = int(round(self.val_fraction * m))
        if n_val < 2 or m - n_val < 2:
            return X, Y, None, None
        perm = torch.randperm(m, generator=gen).to(X.device)
        tr, va = perm[n_val:], perm[:n_val]
        return X[tr], Y[tr], X[va], Y[va]

    def _nets(self, dx: int, dy: int) -> tuple[nn.Module, nn.Module, nn.Parameter]:
        fx, fy = seeded(
            lambda: (mlp(dx, self.hidden, self.out_dim), mlp(dy, self.hidden, self.out_dim)),
            self.seed,
        )
        log_scale = nn.Parameter(torch.tensor(math.log(1.0 / self.temperature)))
        return fx, fy, log_scale

    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> Contrastive:
        data = training_data(data, "Contrastive")
        if data.n_pairs < 2:
            raise InputError(f"the contrastive baseline needs at least 2 pairs, got {data.n_pairs}")
        eng = engine_for(self.device, self.seed)
        dev = eng.device
        self.mean_x_, self.std_x_ = data.x.mean(0), data.x.std(0) + 1e-6
        self.mean_y_, self.std_y_ = data.y.mean(0), data.y.std(0) + 1e-6
        X = to_tensor((data.x_paired - self.mean_x_) / self.std_x_, dev)
        Y = to_tensor((data.y_paired - self.mean_y_) / self.std_y_, dev)
        fx, fy, log_scale = self._nets(X.shape[1], Y.shape[1])
        fx, fy = fx.to(dev), fy.to(dev)
        log_scale = nn.Parameter(log_scale.detach().to(dev))
        params = [*fx.parameters(), *fy.parameters(), log_scale]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        gen = eng.generator()
        X, Y, Xv, Yv = self._hold_out(X, Y, gen)
        m = X.shape[0]
        bs = int(min(self.batch_size, m))
        dp = DataParallel([fx, fy])

        def run_epoch() -> None:
            perm = torch.randperm(m, generator=gen).to(dev)
            for s in range(0, m - bs + 1, bs):  # full batches only: InfoNCE needs negatives
                b = perm[s : s + bs]
                dp.step(opt, clip_loss(dp.apply(fx, X[b]), dp.apply(fy, Y[b]), log_scale))
                with torch.no_grad():
                    log_scale.clamp_(max=math.log(100.0))

        log = train_epochs(
            self.epochs,
            run_epoch,
            keep=[fx, fy, log_scale],
            # without held-out pairs every epoch runs and the last one is kept
            validate=None if Xv is None else lambda: float(clip_loss(fx(Xv), fy(Yv), log_scale)),
            patience=self.patience if Xv is not None else None,
            progress=self.progress,
            desc="contrastive",
        )
        self.val_history_ = log.losses
        self.net_x_, self.net_y_ = fx.cpu().eval(), fy.cpu().eval()
        self.log_scale_ = float(log_scale.detach().cpu())
        self.n_features_ = (X.shape[1], Y.shape[1])
        self.training_ = data.summary()
        return self

    def transform(self, X: np.ndarray, modality: str = "x") -> np.ndarray:
        if not hasattr(self, "net_x_"):
            raise NotFittedError("this Contrastive is not fitted yet; call fit(data) first")
        check_modality(modality)
        d = self.n_features_[0 if modality == "x" else 1]
        X = as_matrix(X, f"{modality} rows", d, "the contrastive model")
        mean, std, net = (
            (self.mean_x_, self.std_x_, self.net_x_)
            if modality == "x"
            else (self.mean_y_, self.std_y_, self.net_y_)
        )
        with torch.no_grad():
            return to_numpy(net(torch.as_tensor((X - mean) / std, dtype=torch.float32)))

    def get_state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "net_x_"):
            raise NotFittedError("this Contrastive is not fitted yet; call fit(data) first")
        state = {
            "mean_x": self.mean_x_,
            "std_x": self.std_x_,
            "mean_y": self.mean_y_,
            "std_y": self.std_y_,
        }
        state["log_scale"] = np.asarray([self.log_scale_])
        state.update(module_state(self.net_x_, "net_x"))
        state.update(module_state(self.net_y_, "net_y"))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.mean_x_, self.std_x_ = state["mean_x"], state["std_x"]
        self.mean_y_, self.std_y_ = state["mean_y"], state["std_y"]
        self.log_scale_ = float(np.asarray(state["log_scale"]).ravel()[0])
        fx, fy, _ = self._nets(self.mean_x_.shape[0], self.mean_y_.shape[0])
        self.net_x_ = load_module_state(fx, state, "net_x")
        self.net_y_ = load_module_state(fy, state, "net_y")
        self.n_features_ = (self.mean_x_.shape[0], self.mean_y_.shape[0])
