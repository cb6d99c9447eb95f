"""Small dense linear-algebra helpers shared by components."""

from __future__ import annotations

import torch


def inv_sqrt(C: torch.Tensor) -> torch.Tensor:
    """C^(-1/2) of a symmetric PSD matrix (its lower triangle is read); tiny eigenvalues clamped.

    Parameters
    ----------
    C : Tensor
        A symmetric positive semi-definite matrix.
    """
    vals, vecs = torch.linalg.eigh(C)  # reads the lower triangle
    vals = vals.clamp(min=float(vals.max()) * 1e-12)
    return (vecs * vals.rsqrt()[None, :]) @ vecs.T
