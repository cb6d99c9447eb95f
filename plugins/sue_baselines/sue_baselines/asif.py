"""ASIF-style relative representations (Norelli et al., 2023): no training, only the anchor pairs.

Each row is described by its cosine similarities to the anchors of its own modality. Anchor i of
x and anchor i of y are a true pair, so the two descriptions share coordinates. Only the
`n_nonzero` largest similarities are kept, negatives are set to 0, the rest are raised to `power`
and the row is L2-normalised.
"""

from __future__ import annotations

import numpy as np
import torch

from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, check_modality
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import engine_for, fit_context, row_chunks, to_numpy, to_tensor
from sue_framework.validation import as_matrix


class ASIF(Method):
    """ASIF relative representations: each row as its sparsified similarities to the anchor pairs
    of its own modality (see the module docstring); `fit` only stores the anchors.

    Parameters
    ----------
    n_nonzero : int or None
        Keep each row's this many largest similarities to the anchors (None: all).
    power : float
        Similarities are raised to this power before normalising (sharper for larger values).
    device : str
        Where the similarities are computed.
    seed : int or None
        Accepted for the method contract; ASIF is deterministic.
    """

    @keyword_only
    def __init__(
        self,
        n_nonzero: int | None = None,
        *,
        power: float = 8.0,
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.n_nonzero = n_nonzero
        self.power = power
        self.device = device
        self.seed = seed  # ASIF is deterministic; kept for the method contract

    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> ASIF:
        data = training_data(data, "ASIF")
        if data.n_pairs < 1:
            raise InputError("ASIF needs at least 1 pair (its anchors)")
        if self.n_nonzero is not None and self.n_nonzero < 1:
            raise InputError(f"n_nonzero must be >= 1 or None, got {self.n_nonzero}")
        norm = lambda a: a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # noqa: E731
        self.anchors_x_ = norm(data.x_paired).astype(np.float32)
        self.anchors_y_ = norm(data.y_paired).astype(np.float32)
        self.training_ = data.summary()
        return self

    def transform(self, X: np.ndarray, modality: str = "x") -> np.ndarray:
        if not hasattr(self, "anchors_x_"):
            raise NotFittedError("this ASIF is not fitted yet; call fit(data) first")
        anchors = self.anchors_x_ if check_modality(modality) == "x" else self.anchors_y_
        X = as_matrix(X, modality)
        if X.shape[1] != anchors.shape[1]:
            raise InputError(
                f"{modality} rows must have {anchors.shape[1]} features, got {X.shape[1]}"
            )
        eng = engine_for(self.device)
        dev = eng.device
        A = to_tensor(anchors, dev)
        Q = torch.nn.functional.normalize(to_tensor(X, dev), dim=1)
        k = min(self.n_nonzero or A.shape[0], A.shape[0])
        out = np.empty((X.shape[0], A.shape[0]), dtype=np.float32)
        for sl in row_chunks(X.shape[0], eng.chunk(A.shape[0])):
            sim = (Q[sl] @ A.T).clamp(min=0.0)
            if k < A.shape[0]:
                top, idx = torch.topk(sim, k, dim=1)
                sim = torch.zeros_like(sim).scatter_(1, idx, top)
            out[sl] = to_numpy(torch.nn.functional.normalize(sim.pow(self.power), dim=1))
        return out

    def onnx_module(self, modality: str) -> tuple[torch.nn.Module, int]:
        """A torch module computing `transform` for rows of `modality` (for ONNX export), and
        the width of its input rows.

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        if not hasattr(self, "anchors_x_"):
            raise NotFittedError("this ASIF is not fitted yet; call fit(data) first")
        anchors = self.anchors_x_ if check_modality(modality) == "x" else self.anchors_y_
        return _AnchorRows(anchors, self.n_nonzero, self.power), int(anchors.shape[1])

    def get_state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "anchors_x_"):
            raise NotFittedError("this ASIF is not fitted yet; call fit(data) first")
        return {"anchors_x": self.anchors_x_, "anchors_y": self.anchors_y_}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.anchors_x_, self.anchors_y_ = state["anchors_x"], state["anchors_y"]


class _AnchorRows(torch.nn.Module):
    """`ASIF.transform` of one side as a torch module (ONNX export)."""

    anchors: torch.Tensor

    def __init__(self, anchors: np.ndarray, n_nonzero: int | None, power: float) -> None:
        super().__init__()
        self.register_buffer("anchors", torch.as_tensor(anchors, dtype=torch.float32))
        self.keep = min(n_nonzero or anchors.shape[0], anchors.shape[0])
        self.power = float(power)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        sim = (torch.nn.functional.normalize(rows, dim=1) @ self.anchors.T).clamp(min=0.0)
        if self.keep < int(self.anchors.shape[0]):
            top, idx = torch.topk(sim, self.keep, dim=1)
            sim = torch.zeros_like(sim).scatter(1, idx, top)
        return torch.nn.functional.normalize(sim.pow(self.power), dim=1)
