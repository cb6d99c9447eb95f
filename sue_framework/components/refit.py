"""`RefitAligner`: the base of the aligners that refit a base aligner (semi-supervised CCA by
default) on pairs they add to the given ones (self-training, self-learning). What they share:
building the base aligner, and a fitted state that is the last refit's."""

from __future__ import annotations

from typing import Any

import numpy as np

from sue_framework.components.semi_cca import SemiCCA
from sue_framework.interfaces import Aligner, nest_state, unnest_state
from sue_framework.runtime.settings import child


class RefitAligner(Aligner):
    """An aligner whose fit ends in `aligner_`, a base aligner refitted on more pairs than it
    was given; transforms, maps and fitted state are that refit's. Subclasses set `base`,
    `base_params`, `n_components`, `seed` and `device`, and implement `fit`."""

    base: Any
    base_params: dict | None
    seed: int | None
    device: str

    def _base_aligner(self, fixed: dict | None = None, width: int | None = None) -> Aligner:
        """A fresh base aligner at `width` (default `n_components`), with `fixed` settings."""
        aligner = child(
            self.base,
            self.base_params,
            SemiCCA,
            {"n_components": width or self.n_components, "seed": self.seed, "device": self.device},
            f"{type(self).__name__}.base",
        )
        return aligner.set_params(**fixed) if fixed else aligner

    def min_pairs(self) -> int:
        return self._base_aligner().min_pairs()

    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        self._check_fitted()
        return self.aligner_.transform(X, modality)

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        """The final refit's map: the added pairs change what it is fitted on, not what it is."""
        self._check_fitted()
        return self.aligner_.linear_map(modality)

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return hasattr(self, "aligner_")

    def get_state(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return nest_state("base", self.aligner_.get_state())

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        # fitted state only: settings chosen in fit do not affect transform
        aligner = self._base_aligner()
        aligner.set_state(unnest_state("base", state))
        self.aligner_ = aligner
