"""The paper's AE ablation stage (App. D.8, Table 9): an autoencoder's bottleneck in place of SE."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.interfaces import SpectralSolver
from sue_framework.keywords import keyword_only
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import engine_for, to_numpy, to_tensor
from sue_framework.runtime.nn import load_module_state, mlp, module_state, seeded, train_epochs
from sue_framework.validation import as_matrix


class AutoencoderSolver(SpectralSolver):
    """MLP autoencoder per modality; its k-dim bottleneck stands in for the spectral embedding.

    Registered as the solver ``autoencoder`` so that ``SUE(solver="autoencoder")`` is the paper's
    ablation. Not a spectral method: `eigenvalues_` are NaN. Inputs are standardised per feature;
    the decoder mirrors the encoder. The paper uses the SpectralNet widths 4096-4096-1024, AdamW
    lr 1e-3 and 100 epochs; the default widths here are smaller so that CPU runs stay short.

    Parameters
    ----------
    n_components : int
        Width of the bottleneck (the k that stands in for the spectral dimensions).
    hidden : sequence of int
        Widths of the encoder's hidden layers (the decoder mirrors them).
    epochs : int
        Passes over the rows.
    batch_size : int
        Rows per step.
    lr : float
        AdamW's learning rate.
    weight_decay : float
        AdamW's weight decay.
    seed : int or None
        Seeds initialisation and minibatches; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    progress : bool
        Show a progress bar over the epochs.
    """

    _state_keys = ("mean_", "std_", "eigenvalues_")

    @keyword_only
    def __init__(
        self,
        n_components: int = 10,
        *,
        hidden: Sequence[int] = (512, 256),
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device
        self.progress = progress

    def _nets(self, d: int):
        k, hidden = int(self.n_components), [int(h) for h in self.hidden]
        return seeded(lambda: (mlp(d, hidden, k), mlp(k, hidden[::-1], d)), self.seed)

    def fit(self, X: np.ndarray, y: None = None) -> AutoencoderSolver:
        X = self._fit_rows(X)
        if self.n_components < 1:
            raise InputError(f"n_components must be >= 1, got {self.n_components}")
        eng = engine_for(self.device, self.seed)
        dev = eng.device
        self.mean_, self.std_ = X.mean(0), X.std(0) + 1e-6
        T = to_tensor((X - self.mean_) / self.std_, dev)
        enc, dec = (m.to(dev) for m in self._nets(X.shape[1]))
        opt = torch.optim.AdamW(
            [*enc.parameters(), *dec.parameters()], lr=self.lr, weight_decay=self.weight_decay
        )
        gen = eng.generator()
        bs = int(min(self.batch_size, T.shape[0]))
        steps = math.ceil(T.shape[0] / bs)
        dp = DataParallel([enc, dec])

        def run_epoch() -> None:  # no held-out rows: every epoch runs, the last one is kept
            perm = torch.randperm(T.shape[0], generator=gen).to(dev)
            for s in range(steps):
                b = T[perm[s * bs : (s + 1) * bs]]
                dp.step(opt, torch.nn.functional.mse_loss(dp.apply(lambda r: dec(enc(r)), b), b))

        train_epochs(
            self.epochs, run_epoch, keep=[enc, dec], progress=self.progress, desc="autoencoder"
        )
        self.encoder_ = enc.cpu().eval()
        self.eigenvalues_ = np.full(int(self.n_components), np.nan)
        self.embedding_ = self.transform(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "X", self.mean_.shape[0], "AutoencoderSolver")
        with torch.no_grad():
            return to_numpy(
                self.encoder_(torch.as_tensor((X - self.mean_) / self.std_, dtype=torch.float32))
            )

    def is_fitted(self) -> bool:
        return super().is_fitted() and hasattr(self, "encoder_")

    def get_state(self) -> dict[str, np.ndarray]:
        return {**super().get_state(), **module_state(self.encoder_, "encoder")}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        super().set_state(state)
        enc, _ = self._nets(self.mean_.shape[0])
        self.encoder_ = load_module_state(enc, state, "encoder")
