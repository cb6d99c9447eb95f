"""Non-spectral feature stages of kind "solver": the raw features themselves, and concatenations.

They let ablations and hybrids swap the first stage by name: ``SUE(solver="identity")`` aligns
the raw features; ``SUE(solver="concat", solver_params={"parts": ["exact", "identity"]})``
aligns spectral and raw features side by side (the names become objects when the pipeline
builds the stage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.interfaces import SpectralSolver, nest_state, unnest_state
from sue_framework.keywords import keyword_only
from sue_framework.runtime.settings import child
from sue_framework.validation import as_matrix


class IdentitySolver(SpectralSolver):
    """The raw features, unchanged (`n_components` is accepted for the solver contract, unused).

    Parameters
    ----------
    n_components : int
        Accepted for the solver contract; unused (the output is the input's width).
    seed : int or None
        Accepted for the solver contract; unused.
    device : str
        Accepted for the solver contract; unused.
    """

    _state_keys = ("n_features_", "eigenvalues_")

    @keyword_only
    def __init__(
        self, n_components: int = 0, *, seed: int | None = 0, device: str = "auto"
    ) -> None:
        self.n_components = n_components
        self.seed = seed
        self.device = device

    def fit(self, X: np.ndarray, y: None = None) -> IdentitySolver:
        X = self._fit_rows(X)
        self.n_features_ = np.asarray(X.shape[1])
        self.eigenvalues_ = np.full(X.shape[1], np.nan)
        self.embedding_ = X.astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, "X", int(self.n_features_), "IdentitySolver")
        return X.astype(np.float32)

    def passes_rows_through(self) -> bool:
        return True

    def torch_module(self) -> Any:
        import torch

        return torch.nn.Identity()


class ConcatSolver(SpectralSolver):
    """Side-by-side outputs of several solvers, each column standardised on the training rows.

    `n_components`, `seed` and `device` are passed to every part that takes them (unless its
    entry in `parts_params` sets them). Standardising puts the parts on one scale, so that a
    shrinkage aligner treats them evenly.

    Parameters
    ----------
    parts : sequence of solver, or None
        The solvers whose outputs are put side by side, each cloned before use (None: the
        exact spectral embedding and the raw features). Built by name through the registry
        (``{"parts": ["exact", "identity"]}``), the names become instances first.
    parts_params : sequence of dict or None, optional
        Settings of each part (set on its clone), in the order of `parts`.
    n_components : int
        Passed to every part that takes it (the spectral parts' k).
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    CHILDREN = {"parts": ("solver", ("exact", "identity"))}  # built by the registry

    @keyword_only
    def __init__(
        self,
        parts: Sequence[SpectralSolver] | None = None,
        *,
        parts_params: Sequence[dict | None] | None = None,
        n_components: int = 10,
        seed: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.parts = parts
        self.parts_params = parts_params
        self.n_components = n_components
        self.seed = seed
        self.device = device

    def _make_parts(self) -> list[SpectralSolver]:
        from sue_framework.components.spectral.exact import ExactSpectral

        parts = list(self.parts) if self.parts is not None else [ExactSpectral(), IdentitySolver()]
        params = list(self.parts_params or [None] * len(parts))
        if len(params) != len(parts):
            raise InputError("parts_params must have one entry (or None) per part")
        defaults = {"n_components": self.n_components, "seed": self.seed, "device": self.device}
        out = [
            child(spec, p, None, defaults, f"ConcatSolver.parts[{i}]")
            for i, (spec, p) in enumerate(zip(parts, params, strict=True))
        ]
        if not out:
            raise InputError("ConcatSolver needs at least one part")
        return out

    def fit(self, X: np.ndarray, y: None = None) -> ConcatSolver:
        X = self._fit_rows(X)
        parts = self._make_parts()
        raw = np.hstack([p.fit_transform(X) for p in parts]).astype(np.float64)
        self.mean_, self.std_ = raw.mean(0), raw.std(0) + 1e-12
        self.parts_ = parts
        self.eigenvalues_ = np.concatenate([np.asarray(p.eigenvalues_, dtype=float) for p in parts])
        self.embedding_ = ((raw - self.mean_) / self.std_).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        raw = np.hstack([p.transform(X) for p in self.parts_]).astype(np.float64)
        return ((raw - self.mean_) / self.std_).astype(np.float32)

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return hasattr(self, "parts_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        state = {"mean_": self.mean_, "std_": self.std_, "eigenvalues_": self.eigenvalues_}
        for i, p in enumerate(self.parts_):
            state.update(nest_state(f"part{i}", p.get_state()))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.mean_, self.std_, self.eigenvalues_ = (
            state["mean_"],
            state["std_"],
            state["eigenvalues_"],
        )
        parts = self._make_parts()
        for i, p in enumerate(parts):
            p.set_state(unnest_state(f"part{i}", state))
        self.parts_ = parts
