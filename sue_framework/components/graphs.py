"""Affinity graphs on a kNN graph. Sparse (n x k entries), symmetric, never n x n dense."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sue_framework.components.knn import METRICS, exact_knn
from sue_framework.data import as_matrix
from sue_framework.engine import resolve_device
from sue_framework.errors import InputError
from sue_framework.interfaces import GraphBuilder

_EPS = 1e-12


def paper_kernel(dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's App. D.5 kernel on each row's ascending kNN distances.

    rho_i = distance to the nearest neighbour, sigma_i = median distance over the k neighbours,
    w_ij = exp(-(d_ij - rho_i)^2 / sigma_i^2). Returns (weights, rho, sigma).
    """
    rho = dist[:, 0].astype(np.float64)
    sigma = np.median(dist, axis=1).astype(np.float64)
    sigma = np.maximum(sigma, _EPS)  # all k neighbours are duplicates of the row
    w = np.exp(-(((dist - rho[:, None]) / sigma[:, None]) ** 2))
    return w, rho, sigma


class PaperKNNGraph(GraphBuilder):
    """kNN graph with the paper's kernel (App. D.5), symmetrised as W <- (W + W^T) / 2.

    Parameters
    ----------
    n_neighbors : k of the kNN graph; 100 as in the paper (App. D.8), clamped to n - 1.
    metric : "cosine" (the paper's choice for encoder outputs) or "euclidean".
    device : where the kNN search runs ("auto" picks CUDA when present).
    """

    _state_keys = ("train_", "rho_", "sigma_", "radius_")

    def __init__(
        self, n_neighbors: int = 100, metric: str = "cosine", device: str = "auto"
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.device = device

    def _k(self, n: int) -> int:
        if self.n_neighbors < 1:
            raise InputError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        if self.n_neighbors > n - 1:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} but only {n} rows; using {n - 1} neighbours",
                stacklevel=3,
            )
        return min(self.n_neighbors, n - 1)

    def fit(self, X: np.ndarray) -> PaperKNNGraph:
        X = as_matrix(X, "X")
        if self.metric not in METRICS:
            raise InputError(f"metric must be one of {METRICS}, got {self.metric!r}")
        n = X.shape[0]
        if n < 2:
            raise InputError("a graph needs at least 2 rows")
        k = self._k(n)
        dev = resolve_device(self.device)
        dist, idx = exact_knn(X, X, k, metric=self.metric, exclude_self=True, device=dev)
        w, rho, sigma = paper_kernel(dist)
        rows = np.repeat(np.arange(n), k)
        W = sp.csr_matrix((w.ravel(), (rows, idx.ravel())), shape=(n, n))
        self.affinity_ = ((W + W.T) * 0.5).tocsr()
        self.n_components_, labels = connected_components(self.affinity_, directed=False)
        if self.n_components_ > 1:
            sizes = np.bincount(labels)
            warnings.warn(
                f"the kNN graph has {self.n_components_} disconnected components "
                f"(sizes {sorted(sizes.tolist(), reverse=True)[:5]}...); the leading eigenvectors "
                "will be component indicators. Increase n_neighbors to connect it.",
                stacklevel=2,
            )
        self.train_ = X.astype(np.float32)
        self.rho_, self.sigma_ = rho, sigma
        self.radius_ = dist[:, -1].astype(np.float64)
        return self

    def query(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Out-of-sample affinities: the row's own kernel averaged with the training nodes' kernels.

        w(q, j) = (w_out + w_in) / 2, where w_out uses the query's rho/sigma over its k neighbours
        and w_in = exp(-(d - rho_j)^2 / sigma_j^2) when q would fall inside j's k-neighbourhood.
        This mirrors the symmetrised training graph; in-edges from nodes outside the query's own
        k-neighbourhood are not searched.
        """
        self._check_fitted()
        X = as_matrix(X, "X")
        if X.shape[1] != self.train_.shape[1]:
            raise InputError(
                f"X has {X.shape[1]} features but the graph was fit on {self.train_.shape[1]}"
            )
        k = min(self.n_neighbors, self.train_.shape[0] - 1)
        dist, idx = exact_knn(
            X, self.train_, k, metric=self.metric, device=resolve_device(self.device)
        )
        w_out, _, _ = paper_kernel(dist)
        rho_j, sig_j, rad_j = self.rho_[idx], self.sigma_[idx], self.radius_[idx]
        w_in = np.where(dist <= rad_j, np.exp(-(((dist - rho_j) / sig_j) ** 2)), 0.0)
        weights = 0.5 * (w_out + w_in)
        match = np.where(dist[:, 0] <= 1e-6, idx[:, 0], -1)
        return idx, weights, match
