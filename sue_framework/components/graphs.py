"""Affinity graphs on a kNN graph. Sparse (n x k entries), symmetric, never n x n dense.

Every kernel shares one builder (`KNNGraph`): kNN search, symmetrisation W <- (W + W^T) / 2,
warnings for disconnected graphs and duplicate rows, and the out-of-sample affinities that the
Nystrom extension needs. A kernel only says which per-node scales it keeps and how an edge
weight follows from a distance and the scales of its two ends.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from sue_framework.components.knn import METRICS, knn_block, knn_search, sharded_knn
from sue_framework.errors import InputError
from sue_framework.interfaces import GraphBuilder
from sue_framework.keywords import keyword_only
from sue_framework.runtime.distributed import rank, shard_rows, world_size
from sue_framework.runtime.engine import engine_for, to_numpy
from sue_framework.validation import as_matrix

_EPS = 1e-12

Array = Any  # the kernels are written once for np.ndarray (CPU) and torch.Tensor (GPU)


# Kernels are written once for numpy arrays (graphs over the data set) and torch tensors
# (SpectralNet's per-batch graphs, on the device); these four helpers are all they need.
def _exp(a):
    return torch.exp(a) if isinstance(a, torch.Tensor) else np.exp(a)


def _floor(a):
    return a.clamp(min=_EPS) if isinstance(a, torch.Tensor) else np.maximum(a, _EPS)


def _median(a, axis: int | None = None):
    """numpy's median (the mean of the two middle values), also for tensors of any size."""
    if not isinstance(a, torch.Tensor):
        return np.median(a, axis=axis)
    dim = 0 if axis is None else axis
    s = torch.sort(a.reshape(-1) if axis is None else a, dim=dim).values
    m = s.shape[dim]
    return 0.5 * (s.select(dim, (m - 1) // 2) + s.select(dim, m // 2))


def _columns(parts, like):
    """Stack 1-d per-row scales into (rows, s), as float64 for numpy and as `like` for torch."""
    if isinstance(like, torch.Tensor):
        return torch.stack([torch.as_tensor(p, dtype=like.dtype) for p in parts], dim=1)
    return np.stack([np.asarray(p, dtype=np.float64) for p in parts], axis=1)


def symmetric_csr(w, idx, device: torch.device) -> sp.csr_matrix:
    """(W + W^T) / 2 as CSR, where row i of W holds w[i] at columns idx[i].

    On a GPU the sort that merges W with its transpose runs there instead of in scipy; the
    result is the same matrix either way (tested). w and idx may be numpy arrays or tensors.

    Parameters
    ----------
    w : ndarray or Tensor of shape (n, k)
        Each row's edge weights.
    idx : ndarray or Tensor of shape (n, k)
        Their columns.
    device : torch.device
        Where the merge runs.
    """
    n, k = idx.shape
    if device.type != "cuda":
        w = to_numpy(w) if isinstance(w, torch.Tensor) else np.asarray(w)
        idx = to_numpy(idx) if isinstance(idx, torch.Tensor) else np.asarray(idx)
        W = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
        return ((W + W.T) * 0.5).tocsr()
    rows = torch.arange(n, device=device).repeat_interleave(k)
    cols = torch.as_tensor(idx, device=device).reshape(-1)
    half = torch.as_tensor(w, dtype=torch.float64, device=device).reshape(-1) * 0.5
    A = torch.sparse_coo_tensor(
        torch.stack([torch.cat([rows, cols]), torch.cat([cols, rows])]),
        torch.cat([half, half]),
        size=(n, n),
    ).coalesce()
    del rows, cols, half
    C = A.to_sparse_csr()
    return sp.csr_matrix(
        (to_numpy(C.values()), to_numpy(C.col_indices()), to_numpy(C.crow_indices())),
        shape=(n, n),
    )


class KNNGraph(GraphBuilder):
    """Shared kNN graph machinery. Subclasses set `_node_scales` and `_edge_weights`."""

    _state_keys = ("train_", "scales_", "radius_")

    n_neighbors: int
    metric: str
    knn: str
    device: str

    @abstractmethod
    def _node_scales(self, dist: Array) -> Array:
        """(rows, s) scales from each row's ascending kNN distances (rows, k)."""

    @abstractmethod
    def _edge_weights(self, dist: Array, src: Array, dst: Array) -> Array:
        """Weights of edges src -> dst at `dist` (rows, k); src (rows, 1, s), dst (rows, k, s)."""

    def _query_scales(self, dist: Array) -> Array:
        """Scales of out-of-sample rows; kernels with a global scale reuse the training one."""
        return self._node_scales(dist)

    def _k(self, n: int) -> int:
        if self.n_neighbors < 1:
            raise InputError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        if self.n_neighbors > n - 1:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} but only {n} rows; using {n - 1} neighbours",
                stacklevel=3,
            )
        return min(self.n_neighbors, n - 1)

    def fit(self, X: np.ndarray) -> KNNGraph:
        X = as_matrix(X, "X")
        if self.metric not in METRICS:
            raise InputError(f"metric must be one of {METRICS}, got {self.metric!r}")
        n = X.shape[0]
        if n < 2:
            raise InputError(f"a graph needs at least 2 rows, got n_samples = {n}")
        k = self._k(n)
        device = engine_for(self.device).device
        if world_size() > 1 and self.knn in ("auto", "exact"):
            # under torch.distributed each process searches its shard of the rows
            rows = shard_rows(n, world_size(), rank())
            dist, idx = sharded_knn(
                X, X[rows], rows.start, k, metric=self.metric, exclude_self=True, device=device
            )
        else:
            dist, idx = knn_search(
                X, X, k, engine=self.knn, metric=self.metric, exclude_self=True, device=device
            )
        return self._assemble(X, dist, idx)

    def fit_neighbors(self, X: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> KNNGraph:
        """Build the graph from a kNN search already done: each row's ascending distances and
        indices (n, k) to the other rows, self excluded. `fit` is search + this."""
        X = as_matrix(X, "X")
        if dist.shape != idx.shape or idx.shape[0] != X.shape[0]:
            raise InputError(
                f"dist {dist.shape} and idx {idx.shape} must both be (n_rows={X.shape[0]}, k)"
            )
        return self._assemble(X, dist, idx)

    def _assemble(self, X: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> KNNGraph:
        n, k = idx.shape
        dupes = int(np.sum(dist[:, -1] <= _EPS))
        if dupes:
            warnings.warn(
                f"{dupes} row(s) have only exact duplicates among their {k} neighbours; their "
                "kernel scale was floored at 1e-12, which makes them a tight clique. Deduplicate "
                "the data or raise n_neighbors.",
                stacklevel=2,
            )
        device = engine_for(self.device).device
        d: Any  # a tensor on the GPU, an array on the CPU: the kernel is written for both
        nb: Any
        if device.type == "cuda":  # the kernel runs on the GPU, in float64 as on the CPU
            d, nb = (
                torch.as_tensor(dist, dtype=torch.float64, device=device),
                torch.as_tensor(idx, device=device),
            )
        else:
            d, nb = np.asarray(dist, dtype=np.float64), idx
        scales = self._node_scales(d)
        w = self._edge_weights(d, scales[:, None, :], scales[nb])
        self.affinity_ = symmetric_csr(w, idx, device)
        if isinstance(scales, torch.Tensor):
            scales = to_numpy(scales)
        self.n_components_, labels = connected_components(self.affinity_, directed=False)
        if self.n_components_ > 1:
            sizes = sorted(np.bincount(labels).tolist(), reverse=True)
            shown = ", ".join(map(str, sizes[:5])) + (", ..." if len(sizes) > 5 else "")
            warnings.warn(
                f"the kNN graph on {len(labels)} rows has {self.n_components_} disconnected "
                f"components (sizes {shown}); the leading eigenvectors will be component "
                f"indicators. Raise n_neighbors (now {self.n_neighbors}) until it connects, or "
                "fit each component separately",
                stacklevel=2,
            )
        self.train_ = np.asarray(X, dtype=np.float32)  # no copy of float32 data
        self.scales_ = scales
        self.radius_ = dist[:, -1].astype(np.float64)
        return self

    def dense_affinity(self, X: torch.Tensor) -> torch.Tensor:
        """The same kernel on one small batch, as a dense symmetric (b, b) tensor on X's device.

        For SpectralNet's per-batch graphs: search, kernel and symmetrisation all stay on the
        device, and nothing is stored on this builder. Dense is intended: b is a batch size.
        """
        b = X.shape[0]
        k = min(self.n_neighbors, b - 1)
        dist, idx = knn_block(X.float(), k, self.metric)
        scales = self._node_scales(dist)
        w = self._edge_weights(dist, scales[:, None, :], scales[idx])
        W = torch.zeros(b, b, dtype=torch.float32, device=X.device)
        W.scatter_(1, idx, w.float())
        return 0.5 * (W + W.T)

    def query(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Out-of-sample affinities, mirroring the symmetrised training graph.

        w(q, j) = (w_out + w_in) / 2: w_out is the kernel from q (its own scales, from its k
        neighbours), w_in the kernel from node j where q falls inside j's k-neighbourhood.
        In-edges from nodes outside q's own k nearest are not searched.
        """
        self._check_fitted()
        X = as_matrix(X, "X", self.train_.shape[1], "the graph")
        k = min(self.n_neighbors, self.train_.shape[0] - 1)
        dist, idx = knn_search(
            X,
            self.train_,
            k,
            engine=self.knn,
            metric=self.metric,
            device=engine_for(self.device).device,
        )
        q_scales = self._query_scales(dist)
        node = self.scales_[idx]
        w_out = self._edge_weights(dist, q_scales[:, None, :], node)
        w_in_all = self._edge_weights(dist, node, np.broadcast_to(q_scales[:, None, :], node.shape))
        w_in = np.where(dist <= self.radius_[idx], w_in_all, 0.0)
        same = np.all(X.astype(np.float32) == self.train_[idx[:, 0]], axis=1)  # exact duplicates
        match = np.where(same, idx[:, 0], -1)
        return idx, 0.5 * (w_out + w_in), match


class PaperKNNGraph(KNNGraph):
    """kNN graph with the paper's kernel (App. D.5): exp(-(d_ij - rho_i)^2 / sigma_i^2).

    Parameters
    ----------
    n_neighbors : int
        k of the kNN graph; 100 as in the paper (App. D.8), clamped to n - 1.
    metric : str
        "cosine" (the paper's choice for encoder outputs) or "euclidean".
    knn : str
        How neighbours are found: "auto" (exact up to a size, faiss beyond), "exact",
        "exact-fp16", "faiss-flat", "faiss-ivf" or "faiss-hnsw" (`components.knn`).
    device : str
        Where the kNN search runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    @keyword_only
    def __init__(
        self,
        n_neighbors: int = 100,
        *,
        metric: str = "cosine",
        knn: str = "auto",
        device: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.knn = knn
        self.device = device

    def _node_scales(self, dist: Array) -> Array:
        # rho_i: nearest-neighbour distance; sigma_i: median distance over the k neighbours
        return _columns([dist[:, 0], _floor(_median(dist, axis=1))], dist)

    def _edge_weights(self, dist, src, dst):
        return _exp(-(((dist - src[..., 0]) / src[..., 1]) ** 2))


class GaussianKNNGraph(KNNGraph):
    """SpectralNet's kernel: exp(-d^2 / sigma^2) with one global sigma, the median over rows of
    the distance to the `scale_neighbor`-th neighbour (SpectralNet uses the 14th, with k = 30).

    Parameters
    ----------
    n_neighbors : int
        k of the kNN graph (SpectralNet uses 30), clamped to n - 1.
    scale_neighbor : int
        Which neighbour's distance sets the global sigma (its median over rows).
    metric : str
        "euclidean" or "cosine".
    knn : str
        How neighbours are found: "auto" (exact up to a size, faiss beyond), "exact",
        "exact-fp16", "faiss-flat", "faiss-ivf" or "faiss-hnsw" (`components.knn`).
    device : str
        Where the kNN search runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    @keyword_only
    def __init__(
        self,
        n_neighbors: int = 30,
        *,
        scale_neighbor: int = 14,
        metric: str = "euclidean",
        knn: str = "auto",
        device: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.scale_neighbor = scale_neighbor
        self.metric = metric
        self.knn = knn
        self.device = device

    def _node_scales(self, dist: Array) -> Array:
        j = min(self.scale_neighbor, dist.shape[1]) - 1
        sigma = max(float(_median(dist[:, j])), _EPS)
        if isinstance(dist, torch.Tensor):
            return torch.full((dist.shape[0], 1), sigma, dtype=dist.dtype, device=dist.device)
        return np.full((dist.shape[0], 1), sigma)

    def _query_scales(self, dist: Array) -> Array:
        return np.full((dist.shape[0], 1), float(self.scales_[0, 0]))

    def _edge_weights(self, dist, src, dst):
        return _exp(-((dist / src[..., 0]) ** 2))


class LaplaceKNNGraph(KNNGraph):
    """Local-scale Laplace kernel exp(-d_ij / sigma_i), sigma_i = mean distance to i's kNN.

    Parameters
    ----------
    n_neighbors : int
        k of the kNN graph, clamped to n - 1; sigma_i is the mean distance to these.
    metric : str
        "cosine" or "euclidean".
    knn : str
        How neighbours are found: "auto" (exact up to a size, faiss beyond), "exact",
        "exact-fp16", "faiss-flat", "faiss-ivf" or "faiss-hnsw" (`components.knn`).
    device : str
        Where the kNN search runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    @keyword_only
    def __init__(
        self,
        n_neighbors: int = 30,
        *,
        metric: str = "cosine",
        knn: str = "auto",
        device: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.knn = knn
        self.device = device

    def _node_scales(self, dist: Array) -> Array:
        return _columns([_floor(dist.sum(1) / dist.shape[1])], dist)

    def _edge_weights(self, dist, src, dst):
        return _exp(-dist / src[..., 0])


class SelfTuningKNNGraph(KNNGraph):
    """Self-tuning Gaussian (Zelnik-Manor and Perona, 2004): exp(-d_ij^2 / (sigma_i sigma_j)),
    sigma_i = distance to i's `scale_neighbor`-th neighbour (7 in the original).

    Parameters
    ----------
    n_neighbors : int
        k of the kNN graph, clamped to n - 1.
    scale_neighbor : int
        Which neighbour's distance is sigma_i (7 in the original).
    metric : str
        "euclidean" or "cosine".
    knn : str
        How neighbours are found: "auto" (exact up to a size, faiss beyond), "exact",
        "exact-fp16", "faiss-flat", "faiss-ivf" or "faiss-hnsw" (`components.knn`).
    device : str
        Where the kNN search runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    @keyword_only
    def __init__(
        self,
        n_neighbors: int = 30,
        *,
        scale_neighbor: int = 7,
        metric: str = "euclidean",
        knn: str = "auto",
        device: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.scale_neighbor = scale_neighbor
        self.metric = metric
        self.knn = knn
        self.device = device

    def _node_scales(self, dist: Array) -> Array:
        j = min(self.scale_neighbor, dist.shape[1]) - 1
        return _columns([_floor(dist[:, j])], dist)

    def _edge_weights(self, dist, src, dst):
        return _exp(-(dist**2) / (src[..., 0] * dst[..., 0]))
