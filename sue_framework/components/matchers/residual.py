"""The base of the matchers that move one modality by a residual network trained on unpaired
rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.interfaces import DistributionMatcher, check_modality
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import (
    engine_for,
    to_numpy,
    to_tensor,
)
from sue_framework.runtime.nn import (
    ResidualMLP,
    load_module_state,
    module_state,
    seeded,
    train_epochs,
)
from sue_framework.validation import as_matrix


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

    def torch_module(self) -> Any:
        """The fitted residual network (a copy, in evaluation mode)."""
        import copy

        self._check_fitted()
        return copy.deepcopy(self.net_).eval()

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return hasattr(self, "net_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {**module_state(self.net_, "net"), "dim_": np.asarray(self.dim_)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.dim_ = np.asarray(state["dim_"])
        self.net_ = load_module_state(self._network(int(self.dim_)), state, "net")
