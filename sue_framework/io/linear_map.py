"""A fitted model that is one linear map per side, as plain arrays: z = scale * (x - mean) @ W.

CCA on the raw features, semi-supervised CCA, self-learning's final map and `auto` when it
chose one of them are such maps. Their model files carry the arrays (under `linear.`), so
that `sue transform` and `sue export` use numpy alone, without importing torch or building
the method, and a user can take the map to a vector database, a browser or another language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.validation import as_matrix

PREFIX = "linear."
SIDES = ("x", "y")
FORMULA = "z = scale * (x - mean) @ matrix"


def centred_product(X: np.ndarray, mean: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(X - mean) @ matrix as float32; float32 rows are projected in float32 (half the time;
    the output is float32 anyway), other rows in float64. The one product every CCA-type
    aligner and `LinearMap` compute, so both give the same bits.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Checked rows.
    mean : ndarray of shape (d,)
        Subtracted from every row.
    matrix : ndarray of shape (d, k)
        The projection.
    """
    dt = np.float32 if X.dtype == np.float32 else np.float64
    return ((X - mean.astype(dt)) @ matrix.astype(dt)).astype(np.float32)


def affine_module(mean: np.ndarray, matrix: np.ndarray, scale: float = 1.0) -> Any:
    """A torch module computing scale * (rows - mean) @ matrix in float32 (for ONNX export).

    Parameters
    ----------
    mean : ndarray of shape (d,)
        Subtracted from every row.
    matrix : ndarray of shape (d, k)
        The projection.
    scale : float
        Multiplies the product.
    """
    import torch

    class AffineRows(torch.nn.Module):
        mean: torch.Tensor
        matrix: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32))
            self.register_buffer("matrix", torch.as_tensor(np.asarray(matrix), dtype=torch.float32))
            self.scale = float(scale)

        def forward(self, rows: torch.Tensor) -> torch.Tensor:
            z = (rows - self.mean) @ self.matrix
            return z if self.scale == 1.0 else z * self.scale

    return AffineRows()


@dataclass(frozen=True)
class SideMap:
    """One side's map: z = scale * (x - mean) @ matrix.

    Parameters
    ----------
    mean : ndarray of shape (d,)
        Subtracted from every row.
    scale : float
        Multiplies the product.
    matrix : ndarray of shape (d, k)
        The projection.
    """

    mean: np.ndarray
    scale: float
    matrix: np.ndarray

    @classmethod
    def of(cls, fields: dict[str, Any]) -> SideMap:
        """From {"mean", "scale", "matrix"} (`Aligner.linear_map`), as float64 arrays."""
        return cls(
            np.asarray(fields["mean"], dtype=np.float64),
            float(np.asarray(fields["scale"]).reshape(-1)[0]),
            np.asarray(fields["matrix"], dtype=np.float64),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The three fields as arrays (scale as a 1-element array), as files store them."""
        return {"mean": self.mean, "scale": np.asarray([self.scale]), "matrix": self.matrix}


class LinearMap:
    """Each side's map as arrays: z = scale * (x - mean) @ matrix, rows cast to float32 first
    (as the fitted model's identity first stage does).

    Parameters
    ----------
    sides : dict
        "x" and "y", each a dict with "mean" (d,), "scale" (a float) and "matrix" (d, k).
    method : str
        The registered name of the method the map came from (for messages).
    """

    def __init__(self, sides: dict[str, dict[str, Any]], method: str = "the model") -> None:
        self.sides = {m: SideMap.of(sides[m]) for m in SIDES}
        self.method = method
        widths = {self.sides[m].matrix.shape[1] for m in SIDES}
        if len(widths) != 1:
            raise InputError(f"the two sides' maps have different output widths {widths}")

    @classmethod
    def of(cls, method: Any) -> LinearMap | None:
        """The map of a fitted method, or None when it is not one linear map per side."""
        get = getattr(method, "linear_map", None)
        maps = {m: get(m) for m in SIDES} if callable(get) else {}
        if not maps or any(v is None for v in maps.values()):
            return None
        return cls(maps, type(method).__name__)

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a model file stores (`PREFIX` + side + field)."""
        return {f"{PREFIX}{m}.{k}": v for m in SIDES for k, v in self.sides[m].arrays().items()}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], method: str) -> LinearMap | None:
        """The map stored in a model file's arrays, or None when the file holds none."""
        if f"{PREFIX}x.matrix" not in arrays:
            return None
        return cls(
            {
                m: {k: arrays[f"{PREFIX}{m}.{k}"] for k in ("mean", "scale", "matrix")}
                for m in SIDES
            },
            method,
        )

    @property
    def out_dim(self) -> int:
        return int(self.sides["x"].matrix.shape[1])

    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        """Rows of `modality` mapped into the shared space: (n, out_dim) float32."""
        if modality not in SIDES:
            raise InputError(f"modality must be 'x' or 'y', got {modality!r}")
        side = self.sides[modality]
        d = int(side.matrix.shape[0])
        other = int(self.sides["y" if modality == "x" else "x"].matrix.shape[0])
        fitted = f"the {self.method} model"
        rows = as_matrix(X, f"{modality} rows", d, fitted, other_features=other)
        rows = rows.astype(np.float32)
        z = centred_product(rows, side.mean, side.matrix)
        return z if side.scale == 1.0 else (np.float32(side.scale) * z)

    def save_npz(self, path: str | Path) -> Path:
        """Write the arrays as x_mean, x_scale, x_matrix, y_mean, y_scale, y_matrix (float64).

        Parameters
        ----------
        path : str or Path
            The .npz file to write.
        """
        arrays = {f"{m}_{k}": v for m in SIDES for k, v in self.sides[m].arrays().items()}
        with open(path, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        return Path(path)
