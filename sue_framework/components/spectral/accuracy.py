"""How close a learned spectral embedding is to the exact eigenvectors (tests, benchmarks)."""

from __future__ import annotations

import numpy as np


def subspace_sin2(a: np.ndarray, b: np.ndarray) -> float:
    """sum_i sin^2(theta_i) over the principal angles between the column spans of a and b: the
    squared chordal distance between the two subspaces (0 when they are equal, at most the
    smaller number of columns; two random k-dimensional spans in a large space score nearly k).

    Parameters
    ----------
    a, b : ndarray
        Matrices whose column spans are compared.
    """
    qa, _ = np.linalg.qr(np.asarray(a, dtype=np.float64))
    qb, _ = np.linalg.qr(np.asarray(b, dtype=np.float64))
    s = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)
    return float(np.sum(1.0 - s**2))


def per_vector_sin2(learned: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """1 - cos^2 between matching columns (same order), blind to each column's sign and scale.

    Parameters
    ----------
    learned, exact : ndarray
        Matching columns (same order).
    """
    learned, exact = np.asarray(learned, np.float64), np.asarray(exact, np.float64)
    a = learned / np.linalg.norm(learned, axis=0, keepdims=True)
    b = exact / np.linalg.norm(exact, axis=0, keepdims=True)
    return 1.0 - np.sum(a * b, axis=0) ** 2


def grassmann_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Deprecated name of `subspace_sin2` (it is a sum of squared sines, not the Grassmann
    geodesic distance); kept so that existing code runs, with a warning.

    Parameters
    ----------
    a, b : ndarray
        Matrices whose column spans are compared.
    """
    import warnings

    warnings.warn(
        "grassmann_distance is renamed subspace_sin2 (a sum of squared sines of the principal "
        "angles); the old name will go",
        DeprecationWarning,
        stacklevel=2,
    )
    return subspace_sin2(a, b)
