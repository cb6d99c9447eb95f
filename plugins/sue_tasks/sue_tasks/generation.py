"""The generation converter (paper Sec. 5.2, App. D.3): universal embeddings -> generator latents.

Trained with MSE on one modality (e.g. images, whose latents a GAN inversion gives), then applied
to the other modality's universal embeddings (e.g. texts); a user-supplied decoder turns the
predicted latents into samples. Paper defaults: 2 hidden layers of 2048, Adam lr 1e-4, batch 512.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Task, TaskInput
from sue_framework.keywords import keyword_only
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import engine_for, to_numpy, to_tensor
from sue_framework.runtime.nn import mlp, seeded, train_epochs
from sue_framework.validation import as_matrix


class LatentConverter:
    """MLP regressor from universal embeddings to generator latents (MSE).

    Parameters
    ----------
    hidden : sequence of int
        Widths of the MLP's hidden layers.
    epochs : int
        Passes over the rows at most.
    batch_size : int
        Rows per step.
    lr : float
        AdamW's learning rate.
    seed : int or None
        Seeds initialisation and minibatches.
    device : str
        Where the network trains.
    progress : bool
        Show a progress bar over the epochs.
    """

    @keyword_only
    def __init__(
        self,
        hidden: Sequence[int] = (2048, 2048),
        *,
        epochs: int = 600,
        batch_size: int = 512,
        lr: float = 1e-4,
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, lr
        self.seed, self.device, self.progress = seed, device, progress

    def fit(self, z: np.ndarray, latents: np.ndarray) -> LatentConverter:
        """Learn the map from universal embeddings `z` to generator latents (row i to row i)."""
        z, w = as_matrix(z, "embeddings"), as_matrix(latents, "latents")
        if z.shape[0] != w.shape[0]:
            raise InputError(
                f"one latent per embedding row is needed, got {z.shape[0]} and {w.shape[0]}"
            )
        eng = engine_for(self.device, self.seed)
        dev = eng.device
        net = seeded(lambda: mlp(z.shape[1], self.hidden, w.shape[1]), eng.seed).to(dev)
        Z, W = to_tensor(z, dev), to_tensor(w, dev)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        gen = eng.generator()
        bs = int(min(self.batch_size, len(z)))
        dp = DataParallel([net])

        def run_epoch() -> None:
            perm = torch.randperm(len(z), generator=gen).to(dev)
            for s in range(0, len(z), bs):
                b = perm[s : s + bs]
                dp.step(opt, torch.nn.functional.mse_loss(dp.apply(net, Z[b]), W[b]))

        train_epochs(self.epochs, run_epoch, keep=[net], progress=self.progress, desc="converter")
        self.net_ = net.cpu().eval()
        return self

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Generator latents for universal embeddings `z`."""
        if not hasattr(self, "net_"):
            raise NotFittedError("this LatentConverter is not fitted yet; call fit first")
        with torch.no_grad():
            return to_numpy(
                self.net_(torch.as_tensor(as_matrix(z, "embeddings"), dtype=torch.float32))
            )

    def generate(self, z: np.ndarray, decoder: Callable[[np.ndarray], object]) -> object:
        """Predicted latents for `z`, decoded by the caller's generator."""
        return decoder(self.transform(z))


class GenerationTask(Task):
    """Fit a LatentConverter on (z_train, latent_train) and report its error on held-out rows,
    e.g. the other modality's embeddings of the same items: MSE and mean cosine similarity."""

    inputs = {
        "z_train": TaskInput("embedding", "rows whose latents are known"),
        "latent_train": TaskInput("array", "the generator's latent of each z_train row"),
        "z_test": TaskInput("embedding", "held-out rows"),
        "latent_test": TaskInput("array", "the latent of each z_test row"),
    }

    def __init__(self, **converter_params: Any) -> None:
        self.converter_params = converter_params

    def evaluate(
        self,
        z_train: np.ndarray,
        latent_train: np.ndarray,
        z_test: np.ndarray,
        latent_test: np.ndarray,
        **_: object,
    ) -> dict:
        conv = LatentConverter(**self.converter_params).fit(z_train, latent_train)
        pred, true = conv.transform(z_test), as_matrix(latent_test, "latent_test")
        cos = np.sum(pred * true, 1) / np.maximum(
            np.linalg.norm(pred, axis=1) * np.linalg.norm(true, axis=1), 1e-12
        )
        return {"mse": float(np.mean((pred - true) ** 2)), "mean_cosine": float(np.mean(cos))}
