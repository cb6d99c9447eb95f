"""The "auto" solver: the exact route wherever it fits, the parametric map beyond."""

from __future__ import annotations

from typing import Any

import numpy as np

from sue_framework.interfaces import GraphBuilder, SpectralSolver, nest_state, unnest_state
from sue_framework.keywords import keyword_only


class AutoSpectral(SpectralSolver):
    """Exact eigenvectors (ARPACK, Nystrom for new rows) up to `max_exact` rows; beyond that,
    SpectralNet regressed onto exact eigenvectors of a `max_exact`-row subsample (with Nystrom
    targets for the other rows), so memory and time stay bounded while new points still map.

    Parameters
    ----------
    n_components : int
        k, the number of non-trivial eigenvectors.
    graph : GraphBuilder or None
        The affinity graph, cloned before use (None: `PaperKNNGraph`). Built by name through
        the registry (``{"graph": "gaussian_knn"}``), the name becomes an instance first.
    graph_params : dict, optional
        Settings of the graph (set on the clone).
    max_exact : int
        Up to this many rows the exact solver fits; beyond it SpectralNet regresses onto the
        exact eigenvectors of a subsample of this size.
    spectralnet_params : dict, optional
        Parameters of the SpectralNet used beyond `max_exact` rows.
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    CHILDREN = {"graph": ("graph", "paper_knn")}  # built by the registry, never by this class

    @keyword_only
    def __init__(
        self,
        n_components: int = 10,
        *,
        graph: GraphBuilder | None = None,
        graph_params: dict | None = None,
        max_exact: int = 200_000,
        spectralnet_params: dict | None = None,
        seed: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.n_components = n_components
        self.graph = graph
        self.graph_params = graph_params
        self.max_exact = max_exact
        self.spectralnet_params = spectralnet_params
        self.seed = seed
        self.device = device

    def _inner(self, exact: bool) -> SpectralSolver:
        from sue_framework.components.spectral.exact import ExactSpectral
        from sue_framework.components.spectral.spectralnet import SpectralNet

        common: dict[str, Any] = {
            "n_components": self.n_components,
            "graph": self.graph,
            "graph_params": self.graph_params,
            "seed": self.seed,
            "device": self.device,
        }
        if exact:
            return ExactSpectral(**common)
        return SpectralNet(
            **common,
            training="regression",
            max_exact=self.max_exact,
            **(self.spectralnet_params or {}),
        )

    def fit(self, X: np.ndarray, y: None = None) -> AutoSpectral:
        X = self._fit_rows(X)
        self.exact_ = np.asarray(X.shape[0] <= self.max_exact)
        self.solver_ = self._inner(bool(self.exact_)).fit(X)
        self.eigenvalues_ = self.solver_.eigenvalues_
        self.embedding_ = self.solver_.embedding_
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self.solver_.transform(X)

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return hasattr(self, "solver_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {
            "exact_": np.asarray(self.exact_),
            **nest_state("inner", self.solver_.get_state()),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.exact_ = np.asarray(state["exact_"])
        solver = self._inner(bool(self.exact_))
        solver.set_state(unnest_state("inner", state))
        self.solver_ = solver
        self.eigenvalues_ = solver.eigenvalues_
