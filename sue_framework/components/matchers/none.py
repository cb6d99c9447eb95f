"""The `none` matcher, for ablations: the moving rows pass through."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sue_framework.interfaces import DistributionMatcher
from sue_framework.validation import as_matrix


class NoMatcher(DistributionMatcher):
    """Ablation: no distribution matching; the moving modality passes through unchanged.

    Parameters
    ----------
    moving : str
        The modality that would move, "x" or "y" (recorded; nothing moves).
    """

    _state_keys = ()

    def __init__(self, moving: str = "y") -> None:
        self.moving = moving

    def fit(self, target: np.ndarray, moving: np.ndarray) -> NoMatcher:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return as_matrix(X, "rows").astype(np.float32)

    def passes_rows_through(self) -> bool:
        return True

    def torch_module(self) -> Any:
        return torch.nn.Identity()

    def is_fitted(self) -> bool:
        """Whether `fit` (or `set_state`) has run."""
        return True
