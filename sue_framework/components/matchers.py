"""Distribution matchers trained on unpaired rows: the MMD residual network (paper Eq. 1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from sue_framework.data import as_matrix
from sue_framework.engine import resolve_device, to_numpy, to_tensor
from sue_framework.errors import InputError
from sue_framework.interfaces import DistributionMatcher, check_modality
from sue_framework.nn import ResidualMLP, load_module_state, module_state, seeded


def mmd2_rbf(a: torch.Tensor, b: torch.Tensor, multipliers: Sequence[float]) -> torch.Tensor:
    """Biased squared MMD (paper Eq. 1) with a sum of RBF kernels.

    Bandwidths are the multipliers times the mean pairwise squared distance of the pooled batch,
    which is held constant (no gradient), as in the MMD package the paper uses.
    """
    z = torch.cat([a, b], 0)
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp(min=0.0)
    n = z.shape[0]
    base = (d2.sum() / max(1, n * n - n)).detach().clamp(min=1e-12)
    k = sum(torch.exp(-d2 / (base * m)) for m in multipliers)
    na = a.shape[0]
    return k[:na, :na].mean() + k[na:, na:].mean() - 2.0 * k[:na, na:].mean()


class MMDResNet(DistributionMatcher):
    """Residual MLP on the moving modality minimising squared MMD to the other (paper App. D.8).

    Defaults follow the paper: hidden 128-128-128, AdamW lr 1e-3, 100 epochs, a 90/10
    train/validation split with the best validation model kept; bandwidth multipliers 2^-2..2^2.
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 128, 128),
        epochs: int = 100,
        batch_size: int = 512,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        bandwidths: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
        val_fraction: float = 0.1,
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
        self.val_fraction = val_fraction
        self.moving = moving
        self.seed = seed
        self.device = device
        self.progress = progress

    def _build(self, dim: int) -> ResidualMLP:
        return seeded(lambda: ResidualMLP(dim, self.hidden), self.seed)

    def fit(self, target: np.ndarray, moving: np.ndarray) -> MMDResNet:
        check_modality(self.moving)
        target, moving = as_matrix(target, "target rows"), as_matrix(moving, "moving rows")
        if target.shape[1] != moving.shape[1]:
            raise InputError(
                f"both modalities must share one aligned space, got {target.shape[1]} and "
                f"{moving.shape[1]} columns"
            )
        dev = resolve_device(self.device)
        gen = torch.Generator().manual_seed(0 if self.seed is None else self.seed)
        T, M = to_tensor(target, dev), to_tensor(moving, dev)
        (T_tr, T_va), (M_tr, M_va) = self._split(T, gen), self._split(M, gen)
        net = self._build(M.shape[1]).to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        bs = int(min(self.batch_size, M_tr.shape[0], T_tr.shape[0]))
        val_batches = self._val_batches(T_va, M_va, bs, gen)
        best, best_state, history = math.inf, None, []
        steps = max(1, math.ceil(M_tr.shape[0] / bs))
        bar = tqdm(range(self.epochs), desc="MMD", disable=not self.progress, leave=False)
        for _ in bar:
            net.train()
            perm = torch.randperm(M_tr.shape[0], generator=gen).to(dev)
            for s in range(steps):
                mb = M_tr[perm[s * bs : (s + 1) * bs]]
                tb = T_tr[torch.randint(T_tr.shape[0], (mb.shape[0],), generator=gen).to(dev)]
                loss = mmd2_rbf(net(mb), tb, self.bandwidths)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                val = float(
                    np.mean([float(mmd2_rbf(net(m), t, self.bandwidths)) for t, m in val_batches])
                )
            history.append(val)
            bar.set_postfix(val_mmd=f"{val:.4g}")
            if val < best:
                best = val
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net_ = net.cpu().eval()
        self.dim_ = np.asarray(M.shape[1])
        self.val_history_ = np.asarray(history)
        return self

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
        return hasattr(self, "net_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        state = module_state(self.net_, "net")
        state["dim_"] = np.asarray(self.dim_)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.dim_ = np.asarray(state["dim_"])
        self.net_ = load_module_state(self._build(int(self.dim_)), state, "net")


class NoMatcher(DistributionMatcher):
    """Ablation: no distribution matching; the moving modality passes through unchanged."""

    _state_keys = ()

    def __init__(self, moving: str = "y") -> None:
        self.moving = moving

    def fit(self, target: np.ndarray, moving: np.ndarray) -> NoMatcher:
        self.fitted_ = True
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return as_matrix(X, "rows").astype(np.float32)

    def is_fitted(self) -> bool:
        return True
