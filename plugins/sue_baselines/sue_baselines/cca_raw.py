"""CCA on the raw unimodal features, fit on the pairs: the linear baseline without SE or MMD."""

from __future__ import annotations

import numpy as np

from sue_framework.components.aligners import CCA
from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.errors import NotFittedError
from sue_framework.interfaces import Method
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import fit_context


class CCARaw(Method):
    """CCA (shrinkage-regularised, see sue_framework's CCA aligner) on raw features of the pairs.

    Parameters
    ----------
    out_dim : int
        Dimensions of the shared space.
    reg : float or "auto"
        Covariance shrinkage; "auto" is the Ledoit-Wolf estimate per side.
    device : str
        Where the covariances are computed.
    seed : int or None
        Accepted for the method contract; the fit is deterministic.
    """

    @keyword_only
    def __init__(
        self,
        out_dim: int = 8,
        *,
        reg: float | str = "auto",
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.out_dim = out_dim
        self.reg = reg
        self.device = device
        self.seed = seed  # CCA is deterministic; kept for the method contract

    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> CCARaw:
        data = training_data(data, "CCARaw")
        self.cca_ = CCA(n_components=self.out_dim, reg=self.reg, device=self.device)
        self.cca_.fit(data.x_paired, data.y_paired)
        self.training_ = data.summary()
        return self

    def transform(self, X: np.ndarray, modality: str = "x") -> np.ndarray:
        if not hasattr(self, "cca_"):
            raise NotFittedError("this CCARaw is not fitted yet; call fit(data) first")
        return self.cca_.transform(X, modality)

    def get_state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "cca_"):
            raise NotFittedError("this CCARaw is not fitted yet; call fit(data) first")
        return self.cca_.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.cca_ = CCA(n_components=self.out_dim, reg=self.reg, device=self.device)
        self.cca_.set_state(state)
