"""SpectralNet: a parametric spectral embedding, so that new points map without a graph search.

Two ways to train the map, both on one modality's rows only:

- ``training="regression"`` (default): compute the exact leading eigenvectors on the training
  rows (or on a subsample of `max_exact` rows, with Nystrom targets for the rest), then regress
  the network onto them. Ordering and signs come from the exact solver.
- ``training="rayleigh"``: the SpectralNet objective. The network output is made orthonormal
  by a Cholesky factor (jittered, with an eigendecomposition fallback, so it cannot crash) and
  the loss is the trace of the Laplacian quadratic form. Its graph is either
  ``rayleigh_graph="sampled"`` (default): the one sparse graph over all training rows, where
  each batch row draws neighbours with probability w_ij / d_i, which makes the batch loss an
  unbiased estimate of the whole graph's; or ``"batch"``: a kNN graph per batch, as the
  original SpectralNet does, whose eigenvectors are those of a different (coarser) graph. After
  training, Rayleigh-Ritz orders the learned span into eigenvectors and drops the trivial one:
  exactly on the sparse graph ("sampled"), or on batch averages as in GrEASE ("batch"); never
  with an n x n matrix. The learning rate follows a cosine: batch estimates of this loss are
  too noisy for a plateau rule, which cut the rate long before convergence.

The default Laplacian is the random-walk one, L = I - D^-1 W, the paper's operator: the
constraint Y^T D Y = I with the loss tr(Y^T (D - W) Y) gives its eigenvectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sue_framework.components.graphs import KNNGraph, PaperKNNGraph
from sue_framework.components.linalg import inv_sqrt
from sue_framework.data import take_rows
from sue_framework.errors import InputError
from sue_framework.interfaces import GraphBuilder, SpectralSolver
from sue_framework.keywords import keyword_only
from sue_framework.npy_rows import NpyRows
from sue_framework.runtime.distributed import DataParallel
from sue_framework.runtime.engine import (
    autocast,
    engine_for,
    generator,
    row_chunks,
    to_numpy,
    to_tensor,
)
from sue_framework.runtime.nn import load_module_state, mlp, module_state, seeded, train_epochs
from sue_framework.runtime.settings import child
from sue_framework.validation import as_matrix, check_rows_on_disk

TRAININGS = ("regression", "rayleigh")
RAYLEIGH_GRAPHS = ("sampled", "batch")
LR_SCHEDULES = ("auto", "plateau", "cosine", "constant")
LAPLACIANS = ("random_walk", "symmetric", "unnormalized")


def orthonormalizer(Y: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """R such that (Y R)^T diag(w) (Y R) / n = I. Cholesky with growing jitter, then eigh.

    Parameters
    ----------
    Y : Tensor
        Network outputs of a batch.
    weights : Tensor, optional
        Per-row weights (degrees) of the constraint.
    """
    n, k = Y.shape
    Yw = Y if weights is None else Y * weights[:, None]
    M = (Y.T @ Yw) / n
    M = 0.5 * (M + M.T)
    scale = float(torch.trace(M).detach()) / k or 1.0
    eye = torch.eye(k, dtype=M.dtype, device=M.device)
    for jitter in (0.0, 1e-6, 1e-4, 1e-2):
        L, info = torch.linalg.cholesky_ex(M + jitter * scale * eye)
        if int(info) == 0:
            return torch.linalg.solve_triangular(L, eye, upper=False).T
    vals, vecs = torch.linalg.eigh(M)  # rank-deficient output: invert the spectrum it has
    return vecs * vals.clamp(min=1e-6 * scale).rsqrt()[None, :]


def batch_laplacian(W: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(L, constraint weights) of a dense batch affinity for the chosen Laplacian.

    Parameters
    ----------
    W : Tensor
        A dense batch affinity.
    kind : str
        "random_walk", "symmetric" or "unnormalized".
    """
    d = W.sum(1)
    if kind == "symmetric":
        di = d.clamp(min=1e-12).rsqrt()
        return torch.eye(W.shape[0], dtype=W.dtype, device=W.device) - di[:, None] * W * di[
            None, :
        ], None
    L = torch.diag(d) - W
    return L, (d if kind == "random_walk" else None)


class SpectralNet(SpectralSolver):
    """Parametric spectral embedding; see the module docstring for the two training modes.

    The paper's network is 4096-4096-1024 with batch 4096 and lr 1e-4; the defaults here are
    smaller so that CPU runs stay short, and any width can be set.

    Rayleigh training needs many optimiser steps (about a thousand reached a Grassmann distance
    of 0.04 for k = 10 on 2,000 rows), so set `epochs` from n / batch_size. `lr_schedule` is
    "auto" (cosine for Rayleigh training, plateau otherwise), "plateau", "cosine" or "constant";
    early stopping after `patience` epochs without improvement applies except under a cosine.
    `neighbor_draws` is how many neighbours each batch row draws in the sampled Rayleigh mode.

    Parameters
    ----------
    n_components : int
        k, the number of non-trivial eigenvectors the network outputs.
    hidden : sequence of int
        Widths of the network's hidden layers (the paper: 4096-4096-1024).
    graph : GraphBuilder or None
        The affinity graph, cloned before use (None: `PaperKNNGraph`). Built by name through
        the registry (``{"graph": "gaussian_knn"}``), the name becomes an instance first.
    graph_params : dict, optional
        Settings of the graph (set on the clone).
    training : str
        "regression" (regress onto exact eigenvectors) or "rayleigh" (the SpectralNet objective).
    laplacian : str
        "random_walk" (the paper's operator), "symmetric" or "unnormalized".
    rayleigh_graph : str
        With Rayleigh training: "sampled" (batch rows draw neighbours from the one sparse graph)
        or "batch" (a kNN graph per batch, as the original SpectralNet).
    neighbor_draws : int
        Neighbours each batch row draws in the sampled Rayleigh mode.
    lr_schedule : str
        "auto" (cosine for Rayleigh training, plateau otherwise), "plateau", "cosine" or
        "constant".
    epochs : int
        Passes over the training rows at most.
    batch_size : int
        Rows per optimiser step.
    lr : float
        Adam's learning rate.
    max_exact : int
        Regression mode: exact eigenvectors are computed on at most this many rows (a
        subsample; the others get Nystrom targets).
    diffusion_time : float
        Scale each output coordinate by |eigenvalue| to this power (0: unscaled).
    val_fraction : float
        Share of rows held out to decide early stopping and the plateau schedule.
    patience : int or None
        Epochs without a better validation loss before training stops (not under a cosine
        schedule); None runs every epoch.
    amp : bool
        Mixed precision (bfloat16 autocast) where the device supports it.
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    progress : bool
        Show a progress bar over the epochs.
    """

    CHILDREN = {"graph": ("graph", "paper_knn")}  # built by the registry, never by this class
    _state_keys = ("eigenvalues_", "mean_", "std_", "rotation_", "scale_")

    @keyword_only
    def __init__(
        self,
        n_components: int = 10,
        *,
        hidden: Sequence[int] = (512, 512, 256),
        graph: GraphBuilder | None = None,
        graph_params: dict | None = None,
        training: str = "regression",
        laplacian: str = "random_walk",
        rayleigh_graph: str = "sampled",
        neighbor_draws: int = 1,
        lr_schedule: str = "auto",
        epochs: int = 100,
        batch_size: int = 1024,
        lr: float = 1e-3,
        max_exact: int = 50_000,
        diffusion_time: float = 0.0,
        val_fraction: float = 0.1,
        patience: int | None = 10,
        amp: bool = True,
        seed: int | None = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.n_components = n_components
        self.hidden = hidden
        self.graph = graph
        self.graph_params = graph_params
        self.training = training
        self.laplacian = laplacian
        self.rayleigh_graph = rayleigh_graph
        self.neighbor_draws = neighbor_draws
        self.lr_schedule = lr_schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_exact = max_exact
        self.diffusion_time = diffusion_time
        self.val_fraction = val_fraction
        self.patience = patience
        self.amp = amp
        self.seed = seed
        self.device = device
        self.progress = progress

    # -- pieces ----------------------------------------------------------------------------------
    def _net(self, d: int, out: int, seed: int = 0) -> torch.nn.Module:
        return seeded(lambda: mlp(d, self.hidden, out, torch.nn.LeakyReLU), seed)

    def _graph(self) -> GraphBuilder:
        return child(
            self.graph, self.graph_params, PaperKNNGraph, {"device": self.device},
            "SpectralNet.graph",
        )  # fmt: skip

    def _check(self, X: np.ndarray | NpyRows) -> None:
        if self.training not in TRAININGS:
            raise InputError(f"training must be one of {TRAININGS}, got {self.training!r}")
        if self.laplacian not in LAPLACIANS:
            raise InputError(f"laplacian must be one of {LAPLACIANS}, got {self.laplacian!r}")
        if self.rayleigh_graph not in RAYLEIGH_GRAPHS:
            raise InputError(
                f"rayleigh_graph must be one of {RAYLEIGH_GRAPHS}, got {self.rayleigh_graph!r}"
            )
        sampled = self.training == "rayleigh" and self.rayleigh_graph == "sampled"
        if sampled and self.laplacian == "symmetric":
            raise InputError(
                "rayleigh_graph='sampled' learns random-walk or unnormalised eigenvectors; "
                "use laplacian='random_walk' (the default) or rayleigh_graph='batch'"
            )
        if self.lr_schedule not in LR_SCHEDULES:  # before any eigensolve or training runs
            raise InputError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= float(self.val_fraction) < 1.0:
            raise InputError(f"val_fraction must lie in [0, 1), got {self.val_fraction}")
        if self.n_components < 1:
            raise InputError(f"n_components must be >= 1, got {self.n_components}")
        if X.shape[0] < self.n_components + 2:
            raise InputError(
                f"{self.n_components} eigenvectors need at least {self.n_components + 2} rows, "
                f"got n_samples = {X.shape[0]}"
            )

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: np.ndarray | NpyRows, y: None = None) -> SpectralNet:
        """Fit on rows in memory, or (regression training) on rows on disk (`NpyRows`), which
        are read a minibatch at a time: the file is never held in memory whole."""
        X = self._rows_on_disk(X) if isinstance(X, NpyRows) else self._fit_rows(X)
        self._check(X)
        eng = engine_for(self.device, self.seed)
        dev, seed, gen = eng.device, eng.seed, eng.generator()
        rows: Any
        if isinstance(X, NpyRows):
            mean, std = X.moments()
            self.mean_, self.std_ = mean.astype(np.float32), (std + 1e-6).astype(np.float32)
            rows = lambda idx: to_tensor(  # noqa: E731
                (X.take(to_numpy(idx)) - self.mean_) / self.std_, dev
            )
        else:
            self.mean_, self.std_ = X.mean(0), X.std(0) + 1e-6
            rows = to_tensor((X - self.mean_) / self.std_, dev).__getitem__
        if self.training == "regression":
            net = self._fit_regression(X, rows, gen, dev, seed)
        else:
            net = self._fit_rayleigh(X, rows, gen, dev, seed)
        self.net_ = net.eval()
        raw = self._raw(X)
        self.scale_ = np.sqrt((raw**2).mean(axis=0)) + 1e-12
        self.embedding_ = self._scaled(raw)
        return self

    def _rows_on_disk(self, X: NpyRows) -> NpyRows:
        if self.training != "regression":
            raise InputError(
                "SpectralNet streams rows on disk with training='regression' only (Rayleigh "
                "training draws graph neighbours anywhere in the file); load the rows or "
                "switch the training"
            )
        self.n_features_in_ = int(X.shape[1])
        return check_rows_on_disk(X, "X")

    def _fit_regression(self, X, rows, gen, dev, seed: int) -> torch.nn.Module:
        from sue_framework.components.spectral.exact import ExactSpectral

        n, k = X.shape[0], int(self.n_components)
        rng = np.random.default_rng(seed)
        sub = np.sort(rng.permutation(n)[: min(n, int(self.max_exact))])
        exact = ExactSpectral(
            n_components=k, graph=self._graph(), seed=seed, device=self.device
        ).fit(take_rows(X, sub))
        targets = np.empty((n, k), dtype=np.float32)
        targets[sub] = exact.embedding_
        rest = np.setdiff1d(np.arange(n), sub)
        if isinstance(X, NpyRows):  # Nystrom targets a block of rows at a time
            for part in row_chunks(rest.size, X.block_rows):
                targets[rest[part]] = exact.transform(X.take(rest[part]))
        elif rest.size:
            targets[rest] = exact.transform(X[rest])
        self.eigenvalues_ = exact.eigenvalues_.astype(np.float64)
        self.rotation_ = np.eye(k)
        T = to_tensor(targets, dev)
        net = self._net(X.shape[1], k, seed).to(dev)
        dp = DataParallel([net])

        def loss_fn(idx):
            with autocast(dev, self.amp):
                out = dp.apply(net, rows(idx))
            return torch.nn.functional.mse_loss(out.float(), T[idx])

        self._train(net, dp, loss_fn, n, gen, dev)
        return net

    def _batch_graph(self, g: GraphBuilder, Xb: torch.Tensor, dev) -> torch.Tensor:
        """Dense (b, b) affinity of one batch; kNN kernels build it on the device."""
        if isinstance(g, KNNGraph):
            return g.dense_affinity(Xb)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small batches may be disconnected; that is expected
            W = g.fit(to_numpy(Xb)).affinity_
        return torch.as_tensor(W.toarray(), dtype=torch.float32, device=dev)

    def _fit_rayleigh(self, X, rows, gen, dev, seed: int) -> torch.nn.Module:
        Xs = rows(slice(None))  # the rows in memory, standardised, on the device
        k1 = int(self.n_components) + 1  # the trivial vector is learned too, then dropped
        net = self._net(X.shape[1], k1, seed).to(dev)
        dp = DataParallel([net])
        if self.rayleigh_graph == "sampled":
            W = self._graph().fit(X).affinity_.tocsr()
            forms = self._sampled_forms(dp.wrap(net), W, Xs, dev)
        else:
            forms = self._batch_forms(dp.wrap(net), X, Xs, dev)

        def loss_fn(idx, g=None):
            Y, w, A = forms(idx, g or gen)
            R = orthonormalizer(Y, w)
            return torch.trace(R.T @ A @ R)

        self._train(
            net,
            dp,
            loss_fn,
            X.shape[0],
            gen,
            dev,
            # the same neighbour draws at every validation, so epochs compare
            val_loss_fn=lambda idx: loss_fn(idx, generator(seed, offset=1)),
        )
        with torch.no_grad():
            if self.rayleigh_graph == "sampled":
                A, B = self._ritz_forms_sparse(net, Xs, W)
            else:
                A, B = self._ritz_forms_batched(forms, X.shape[0], gen, dev)
        Binv_half = inv_sqrt(B)
        vals, vecs = torch.linalg.eigh(Binv_half @ A @ Binv_half)
        rot = Binv_half @ vecs
        self.rotation_ = to_numpy(rot[:, 1:])
        lam = to_numpy(vals[1:])
        self.eigenvalues_ = 1.0 - lam if self.laplacian != "unnormalized" else lam
        return net

    def _batch_forms(self, net, X, Xs, dev):
        """SpectralNet's own scheme: each batch gets its own kNN graph; returns, per batch,
        (Y, constraint weights, Y^T L Y / b) for the batch Laplacian L."""
        graph, Xd = self._graph(), to_tensor(X, dev)

        def forms(idx, g):
            W = self._batch_graph(graph, Xd[idx], dev)
            L, w = batch_laplacian(W, self.laplacian)
            with autocast(dev, self.amp):
                Y = net(Xs[idx]).float()
            return Y, w, Y.T @ L @ Y / Y.shape[0]

        return forms

    def _ritz_forms_sparse(self, net, Xs, W) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact A = Y^T L Y / n and B = Y^T C Y / n (C = D, or I when unnormalised) on the
        whole sparse graph: memory n x k plus the graph's edges, never n x n."""
        dev = Xs.device
        Y = torch.cat([net(Xs[sl]).double() for sl in row_chunks(Xs.shape[0], 65536)])
        Yh = to_numpy(Y)
        deg = np.asarray(W.sum(axis=1)).ravel()
        WY = torch.as_tensor(W @ Yh, device=dev)
        DY = Y * torch.as_tensor(deg, device=dev)[:, None]
        n = Y.shape[0]
        A = Y.T @ (DY - WY) / n
        B = (Y.T @ DY if self.laplacian != "unnormalized" else Y.T @ Y) / n
        return A, B

    def _ritz_forms_batched(self, forms, n: int, gen, dev) -> tuple[torch.Tensor, torch.Tensor]:
        """A = <Y^T L Y> and B = <Y^T C Y> averaged over batches (each batch its own graph)."""
        perm = torch.randperm(n, generator=gen)
        bs = int(min(self.batch_size, n))
        A: Any = 0.0
        B: Any = 0.0
        n_batches = 0
        for s in range(0, max(1, n - bs + 1), bs):
            Y, w, Ab = forms(perm[s : s + bs].to(dev), gen)
            Yd = Y.double()
            A = A + Ab.double()
            B = B + Yd.T @ (Yd if w is None else Yd * w.double()[:, None]) / Y.shape[0]
            n_batches += 1
        return A / n_batches, B / n_batches

    def _sampled_forms(self, net, W, Xs, dev):
        """Batches of the one sparse graph over all training rows: each batch row i draws one
        neighbour j with probability w_ij / d_i. Then sum_i d_i (y_i - y_j)(y_i - y_j)^T / 2b
        estimates Y^T (D - W) Y / n, and sum_i d_i y_i y_i^T / b estimates Y^T D Y / n, both
        without bias, so the batch objective is the full graph's. No kNN in the loop."""
        indptr = torch.as_tensor(W.indptr.astype(np.int64), device=dev)
        indices = torch.as_tensor(W.indices.astype(np.int64), device=dev)
        cum = torch.as_tensor(np.cumsum(W.data, dtype=np.float64), device=dev)
        deg = torch.as_tensor(np.asarray(W.sum(axis=1)).ravel(), device=dev)
        if bool((deg <= 0).any()):
            raise InputError("the graph has isolated nodes (zero degree); raise n_neighbors")
        before = torch.cat([torch.zeros(1, dtype=cum.dtype, device=dev), cum])[indptr[:-1]]
        unit = self.laplacian != "unnormalized"
        draws = max(1, int(self.neighbor_draws))

        def forms(idx, g):
            rows = idx.repeat(draws)
            u = torch.rand(rows.numel(), generator=g, dtype=torch.float64).to(dev)
            pos = torch.searchsorted(cum, before[rows] + u * deg[rows], right=True)
            pos = torch.minimum(torch.maximum(pos, indptr[rows]), indptr[rows + 1] - 1)
            with autocast(dev, self.amp):
                Y = net(Xs[torch.cat([idx, indices[pos]])]).float()
            Yi, Yj = Y[: idx.numel()], Y[idx.numel() :]
            d = deg[idx].float()
            diff = (Yi.repeat(draws, 1) - Yj) * d.repeat(draws).sqrt()[:, None]
            A = diff.T @ diff / (2 * rows.numel())
            return Yi, (d if unit else None), A

        return forms

    def _train(self, net, dp: DataParallel, loss_fn, n: int, gen, dev, val_loss_fn=None) -> None:
        """Adam, early stopping on a validation split, best model kept; see `lr_schedule`. The
        steps go through `dp` (split over processes under torch.distributed)."""
        perm = torch.randperm(n, generator=gen)
        n_val = int(round(n * self.val_fraction)) if n * self.val_fraction >= 2 else 0
        val_idx, tr_idx = perm[:n_val].to(dev), perm[n_val:].to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        schedule = self.lr_schedule
        if schedule not in LR_SCHEDULES:
            raise InputError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
        if schedule == "auto":  # batch estimates of the Rayleigh loss are too noisy for plateaus
            schedule = "cosine" if self.training == "rayleigh" else "plateau"
        sched: Any = None
        if schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                opt, T_max=max(1, self.epochs), eta_min=0.01 * self.lr
            )
        elif schedule == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, factor=0.1, patience=max(1, (self.patience or 10) // 2)
            )
        bs = int(min(self.batch_size, tr_idx.numel()))
        steps = max(1, math.ceil(tr_idx.numel() / bs))
        validates = n_val >= max(2, self.n_components + 2)

        def run_epoch() -> float:
            order = tr_idx[torch.randperm(tr_idx.numel(), generator=gen).to(dev)]
            total = 0.0
            for s in range(steps):
                idx = order[s * bs : (s + 1) * bs]
                if idx.numel() < 2:
                    continue
                loss = loss_fn(idx)
                dp.step(opt, loss)
                total += float(loss.detach())
            return total / steps

        def after_epoch(val: float | None) -> None:
            if schedule == "cosine":
                sched.step()
            elif schedule == "plateau":
                sched.step(val)

        log = train_epochs(
            self.epochs,
            run_epoch,
            keep=[net],
            validate=(lambda: self._mean_loss(val_loss_fn or loss_fn, val_idx, bs))
            if validates
            else None,
            # a cosine schedule sets the length of training itself: no early stop
            patience=None if schedule == "cosine" else self.patience,
            after_epoch=after_epoch,
            progress=self.progress,
            desc="SpectralNet",
        )
        self.history_, self.epoch_seconds_ = log.losses, log.seconds  # val loss synced the device

    def _mean_loss(self, loss_fn, idx: torch.Tensor, bs: int) -> float:
        """Loss over `idx` in batches of `bs` (a whole validation split at once could be n^2
        for the Rayleigh loss), weighted by batch size; a last batch too small for an
        orthonormal basis is folded into the one before it."""
        n = idx.numel()
        starts = list(range(0, n, bs))
        if len(starts) > 1 and n - starts[-1] < self.n_components + 2:
            starts.pop()
        ends = starts[1:] + [n]
        total = sum(float(loss_fn(idx[a:b])) * (b - a) for a, b in zip(starts, ends, strict=True))
        return total / n

    # -- inference -------------------------------------------------------------------------------
    def _raw(self, X: np.ndarray | NpyRows) -> np.ndarray:
        """Network output in float32 on the engine's device, in row blocks, then rotated."""
        dev = engine_for(self.device).device
        net = self.net_.to(dev)
        out = np.empty((X.shape[0], self.rotation_.shape[0]), dtype=np.float32)
        with torch.no_grad():
            for sl in row_chunks(X.shape[0], min(65536, max(1, (16 << 20) // X.shape[1]))):
                out[sl] = to_numpy(net(to_tensor((X[sl] - self.mean_) / self.std_, dev)))
        return out.astype(np.float64) @ self.rotation_

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self._scaled(self._raw(as_matrix(X, "X", self.mean_.shape[0], "SpectralNet")))

    def _scaled(self, raw: np.ndarray) -> np.ndarray:
        z = raw / self.scale_
        if self.diffusion_time:
            z = z * np.abs(self.eigenvalues_) ** float(self.diffusion_time)
        return z.astype(np.float32)

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return super().is_fitted() and hasattr(self, "net_")

    def get_state(self) -> dict[str, np.ndarray]:
        return {**super().get_state(), **module_state(self.net_, "net")}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        super().set_state(state)
        # rotation_ has one row per network output: k (regression) or k + 1 (rayleigh)
        out = np.asarray(self.rotation_).shape[0]
        self.net_ = load_module_state(self._net(self.mean_.shape[0], out), state, "net")
