"""SpectralNet: a parametric spectral embedding, so that new points map without a graph search.

Two ways to train the map, both on one modality's rows only:

- ``training="regression"`` (default): compute the exact leading eigenvectors on the training
  rows (or on a subsample of `max_exact` rows, with Nystrom targets for the rest), then regress
  the network onto them. Ordering and signs come from the exact solver.
- ``training="rayleigh"``: the original SpectralNet objective. Each batch gets its own kNN graph
  from the configured kernel; the network output is made orthonormal by a Cholesky factor
  (jittered, with an eigendecomposition fallback, so it cannot crash); the loss is the trace of
  the batch Laplacian quadratic form. After training, the learned span is rotated into ordered
  eigenvectors by batch-averaged Rayleigh-Ritz (as in GrEASE), never an n x n matrix, and the
  trivial vector is dropped.

The default Laplacian is the random-walk one, L = I - D^-1 W, the paper's operator: the
constraint Y^T D Y = I with the loss tr(Y^T (D - W) Y) gives its eigenvectors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from sue_framework.components.graphs import KNNGraph
from sue_framework.components.linalg import inv_sqrt
from sue_framework.data import as_matrix
from sue_framework.engine import resolve_device, row_chunks, to_numpy, to_tensor
from sue_framework.errors import InputError
from sue_framework.interfaces import GraphBuilder, SpectralSolver
from sue_framework.nn import load_module_state, mlp, module_state, seeded

TRAININGS = ("regression", "rayleigh")
LAPLACIANS = ("random_walk", "symmetric", "unnormalized")


def orthonormalizer(Y: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """R such that (Y R)^T diag(w) (Y R) / n = I. Cholesky with growing jitter, then eigh."""
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
    """(L, constraint weights) of a dense batch affinity for the chosen Laplacian."""
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
    """

    _state_keys = ("eigenvalues_", "mean_", "std_", "rotation_", "scale_")

    def __init__(
        self,
        n_components: int = 10,
        hidden: Sequence[int] = (512, 512, 256),
        graph: str | GraphBuilder = "paper_knn",
        graph_params: dict | None = None,
        training: str = "regression",
        laplacian: str = "random_walk",
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
    def _net(self, d: int, out: int) -> torch.nn.Module:
        return seeded(lambda: mlp(d, self.hidden, out, torch.nn.LeakyReLU), self.seed)

    def _graph(self) -> GraphBuilder:
        from sue_framework.registry import registry

        return registry.build("graph", self.graph, self.graph_params, {"device": self.device})

    def _autocast(self, dev: torch.device):
        enabled = bool(self.amp) and dev.type == "cuda"
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=enabled)

    def _check(self, X: np.ndarray) -> None:
        if self.training not in TRAININGS:
            raise InputError(f"training must be one of {TRAININGS}, got {self.training!r}")
        if self.laplacian not in LAPLACIANS:
            raise InputError(f"laplacian must be one of {LAPLACIANS}, got {self.laplacian!r}")
        if self.n_components < 1:
            raise InputError(f"n_components must be >= 1, got {self.n_components}")
        if X.shape[0] < self.n_components + 2:
            raise InputError(
                f"{self.n_components} eigenvectors need at least {self.n_components + 2} rows"
            )

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: np.ndarray) -> SpectralNet:
        X = as_matrix(X, "X")
        self._check(X)
        dev = resolve_device(self.device)
        gen = torch.Generator().manual_seed(0 if self.seed is None else self.seed)
        self.mean_, self.std_ = X.mean(0), X.std(0) + 1e-6
        Xs = to_tensor((X - self.mean_) / self.std_, dev)
        if self.training == "regression":
            net = self._fit_regression(X, Xs, gen, dev)
        else:
            net = self._fit_rayleigh(X, Xs, gen, dev)
        self.net_ = net.eval()
        raw = self._raw(X)
        self.scale_ = np.sqrt((raw**2).mean(axis=0)) + 1e-12
        self.embedding_ = self.transform(X)
        return self

    def _fit_regression(self, X, Xs, gen, dev) -> torch.nn.Module:
        from sue_framework.components.spectral.exact import ExactSpectral

        n, k = X.shape[0], int(self.n_components)
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        sub = np.sort(rng.permutation(n)[: min(n, int(self.max_exact))])
        exact = ExactSpectral(
            n_components=k, graph=self._graph(), seed=self.seed, device=self.device
        ).fit(X[sub])
        targets = np.empty((n, k), dtype=np.float32)
        targets[sub] = exact.embedding_
        rest = np.setdiff1d(np.arange(n), sub)
        if rest.size:
            targets[rest] = exact.transform(X[rest])
        self.eigenvalues_ = exact.eigenvalues_.astype(np.float64)
        self.rotation_ = np.eye(k)
        T = to_tensor(targets, dev)
        net = self._net(X.shape[1], k).to(dev)

        def loss_fn(idx):
            with self._autocast(dev):
                out = net(Xs[idx])
            return torch.nn.functional.mse_loss(out.float(), T[idx])

        self._train(net, loss_fn, n, gen, dev)
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

    def _fit_rayleigh(self, X, Xs, gen, dev) -> torch.nn.Module:
        k1 = int(self.n_components) + 1  # the trivial vector is learned too, then dropped
        net = self._net(X.shape[1], k1).to(dev)
        graph, Xd = self._graph(), to_tensor(X, dev)

        def quad(idx):
            W = self._batch_graph(graph, Xd[idx], dev)
            L, w = batch_laplacian(W, self.laplacian)
            with self._autocast(dev):
                Y = net(Xs[idx]).float()
            return Y, L, w

        def loss_fn(idx):
            Y, L, w = quad(idx)
            Yo = Y @ orthonormalizer(Y, w)
            return torch.trace(Yo.T @ L @ Yo) / Y.shape[0]

        self._train(net, loss_fn, X.shape[0], gen, dev)
        # Rayleigh-Ritz on batch averages: A = <Y^T L Y>, B = <Y^T C Y>, C = D or I.
        A = torch.zeros(k1, k1, device=dev, dtype=torch.float64)
        B = torch.zeros_like(A)
        n_batches = 0
        with torch.no_grad():
            perm = torch.randperm(X.shape[0], generator=gen)
            bs = int(min(self.batch_size, X.shape[0]))
            for s in range(0, max(1, X.shape[0] - bs + 1), bs):
                Y, L, w = quad(perm[s : s + bs].to(dev))
                Yd = Y.double()
                A += Yd.T @ L.double() @ Yd / Y.shape[0]
                B += Yd.T @ (Yd if w is None else Yd * w.double()[:, None]) / Y.shape[0]
                n_batches += 1
        A, B = A / n_batches, B / n_batches
        Binv_half = inv_sqrt(B)
        vals, vecs = torch.linalg.eigh(Binv_half @ A @ Binv_half)
        rot = Binv_half @ vecs
        self.rotation_ = to_numpy(rot[:, 1:])
        lam = to_numpy(vals[1:])
        self.eigenvalues_ = 1.0 - lam if self.laplacian != "unnormalized" else lam
        return net

    def _train(self, net, loss_fn, n: int, gen: torch.Generator, dev) -> None:
        """Adam with ReduceLROnPlateau, early stopping on a validation split, best model kept."""
        perm = torch.randperm(n, generator=gen)
        n_val = int(round(n * self.val_fraction)) if n * self.val_fraction >= 2 else 0
        val_idx, tr_idx = perm[:n_val].to(dev), perm[n_val:].to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.1, patience=max(1, (self.patience or 10) // 2)
        )
        bs = int(min(self.batch_size, tr_idx.numel()))
        steps = max(1, math.ceil(tr_idx.numel() / bs))
        best, best_state, since = math.inf, None, 0
        self.history_, self.epoch_seconds_ = [], []
        bar = tqdm(range(self.epochs), desc="SpectralNet", disable=not self.progress, leave=False)
        for _ in bar:
            start = time.perf_counter()
            net.train()
            order = tr_idx[torch.randperm(tr_idx.numel(), generator=gen).to(dev)]
            total = 0.0
            for s in range(steps):
                idx = order[s * bs : (s + 1) * bs]
                if idx.numel() < 2:
                    continue
                loss = loss_fn(idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach())
            net.eval()
            with torch.no_grad():
                val = (
                    self._mean_loss(loss_fn, val_idx, bs)
                    if n_val >= max(2, self.n_components + 2)
                    else total / steps
                )
            sched.step(val)
            self.history_.append(val)
            self.epoch_seconds_.append(time.perf_counter() - start)  # val loss synced the device
            bar.set_postfix(loss=f"{val:.4g}")
            if val < best - 1e-12:
                best, since = val, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                since += 1
                if self.patience is not None and since >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)

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
    def _raw(self, X: np.ndarray) -> np.ndarray:
        """Network output in float32 on the engine's device, in row blocks, then rotated."""
        dev = resolve_device(self.device)
        net = self.net_.to(dev)
        out = np.empty((X.shape[0], self.rotation_.shape[0]), dtype=np.float32)
        with torch.no_grad():
            for sl in row_chunks(X.shape[0], 65536):
                out[sl] = to_numpy(net(to_tensor((X[sl] - self.mean_) / self.std_, dev)))
        return out.astype(np.float64) @ self.rotation_

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "X")
        if X.shape[1] != self.mean_.shape[0]:
            raise InputError(
                f"X has {X.shape[1]} features, SpectralNet was fit on {self.mean_.shape[0]}"
            )
        z = self._raw(X) / self.scale_
        if self.diffusion_time:
            z = z * np.abs(self.eigenvalues_) ** float(self.diffusion_time)
        return z.astype(np.float32)

    def is_fitted(self) -> bool:
        return super().is_fitted() and hasattr(self, "net_")

    def get_state(self) -> dict[str, np.ndarray]:
        return {**super().get_state(), **module_state(self.net_, "net")}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        super().set_state(state)
        # rotation_ has one row per network output: k (regression) or k + 1 (rayleigh)
        out = np.asarray(self.rotation_).shape[0]
        self.net_ = load_module_state(self._net(self.mean_.shape[0], out), state, "net")
