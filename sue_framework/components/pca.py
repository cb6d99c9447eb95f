"""PCA on one modality's rows, no pairs: the unsupervised reduction some baselines use."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.interfaces import SpectralSolver
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import engine_for, to_numpy
from sue_framework.validation import as_matrix


class PCA(SpectralSolver):
    """Principal components from the d x d covariance (eigh), so memory is O(d^2), not O(n^2).

    Registered as the solver ``pca``: the linear stand-in for the spectral embedding in ablations
    and baselines; its `eigenvalues_` are the explained variances. Components are signed so that
    each one's largest-magnitude loading is positive; with `whiten` each output coordinate has
    unit variance on the fitting rows.

    Parameters
    ----------
    n_components : int
        Number of principal components kept (at most the input's width).
    whiten : bool
        Scale each output coordinate to unit variance on the fitting rows.
    device : str
        Where the covariance and its eigendecomposition are computed.
    seed : int or None
        Accepted for the solver contract; the fit is deterministic.
    """

    _state_keys = ("mean_", "components_", "scale_", "eigenvalues_")

    @keyword_only
    def __init__(
        self,
        n_components: int = 8,
        *,
        whiten: bool = True,
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.device = device
        self.seed = seed  # PCA is deterministic; kept for the solver contract

    def fit(self, X: np.ndarray, y: None = None) -> PCA:
        X = self._fit_rows(X)
        if not 1 <= self.n_components <= X.shape[1]:
            raise InputError(
                f"PCA to {self.n_components} dims needs 1 <= n_components <= {X.shape[1]} features"
            )
        A = engine_for(self.device).tensor(X, torch.float64)
        mean = A.mean(0)
        Ac = A - mean
        vals, vecs = torch.linalg.eigh(Ac.T @ Ac / max(1, A.shape[0] - 1))
        order = torch.argsort(vals, descending=True)[: self.n_components]
        comps = vecs[:, order]
        peak = comps.abs().argmax(0)
        comps = comps * torch.sign(comps[peak, torch.arange(comps.shape[1])])[None, :]
        var = vals[order].clamp(min=1e-12)
        self.mean_ = to_numpy(mean)
        self.components_ = to_numpy(comps)
        self.scale_ = to_numpy(var.sqrt()) if self.whiten else np.ones(self.n_components)
        self.eigenvalues_ = to_numpy(var)
        self.embedding_ = self.transform(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "X", self.mean_.shape[0], "PCA")
        return (((X - self.mean_) @ self.components_) / self.scale_).astype(np.float32)

    def torch_module(self) -> Any:
        """(rows - mean) @ components / scale, in float32."""
        from sue_framework.io.linear_map import affine_module

        self._check_fitted()
        return affine_module(self.mean_, self.components_ / self.scale_[None, :], 1.0)
