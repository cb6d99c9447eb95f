"""Linear aligners fit on paired rows only."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.interfaces import Aligner, check_modality
from sue_framework.io.linear_map import centred_product
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import engine_for, to_numpy
from sue_framework.validation import as_matrix


def ledoit_wolf_shrinkage(Xc: torch.Tensor) -> float:
    """Ledoit-Wolf (2004) optimal shrinkage of the covariance of centred rows Xc towards mu*I.

    The sums it needs are taken through the n x n Gram matrix when there are fewer rows than
    features: O(n^2 p) instead of O(n p^2).

    Parameters
    ----------
    Xc : Tensor
        Centred rows.
    """
    n, p = Xc.shape
    X2 = Xc * Xc
    emp_trace = X2.sum(0) / n
    mu = emp_trace.sum() / p
    beta_ = (X2.sum(1) ** 2).sum()  # the sum of every entry of X2^T X2
    gram = Xc @ Xc.T if n < p else Xc.T @ Xc  # both have the same Frobenius norm
    delta_ = (gram**2).sum() / n**2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * emp_trace.sum() + p * mu**2) / p
    beta = torch.minimum(beta, delta)
    return 0.0 if float(beta) == 0.0 else float(beta / delta)


def _centred(a: np.ndarray, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows in float64 on the engine's device, centred, and their mean."""
    A = engine_for(device).tensor(a, torch.float64)
    mean = A.mean(0)
    return A - mean, mean


def fit_aligner(aligner: Aligner, a, b, x=None, y=None) -> Aligner:
    """Fit on the pairs, handing every row of each modality to aligners whose `fit` takes them.

    Parameters
    ----------
    aligner : Aligner
        The aligner to fit.
    a, b : array-like
        The paired rows, a[i] with b[i].
    x, y : array-like, optional
        Every row of each modality (the paired ones included).
    """
    params = inspect.signature(aligner.fit).parameters
    if x is not None and "x" in params and "y" in params:
        fit: Any = aligner.fit  # a semi-supervised aligner's fit also takes every row
        return fit(a, b, x=x, y=y)
    return aligner.fit(a, b)


def pairs_and_rows(a, b, x=None, y=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paired rows `a`, `b` and every row `x`, `y` of each modality as checked matrices,
    for aligners that use all rows; without `x`/`y` the paired rows stand in.

    Parameters
    ----------
    a, b : array-like
        The paired rows, a[i] with b[i].
    x, y : array-like, optional
        Every row of each modality (the paired ones included).
    """
    a, b = as_matrix(a, "paired x"), as_matrix(b, "paired y")
    x = a if x is None else as_matrix(x, "x rows")
    y = b if y is None else as_matrix(y, "y rows")
    return a, b, x, y


def centred_projection(aligner: Aligner, X: np.ndarray, modality: str) -> np.ndarray:
    """(X - mean) @ weights with the aligner's `mean_<m>_` and `weights_<m>_` for `modality`.

    Parameters
    ----------
    aligner : Aligner
        A fitted CCA-type aligner.
    X : ndarray
        Rows of `modality`.
    modality : str
        "x" or "y".
    """
    m = check_modality(modality)
    mean, W = getattr(aligner, f"mean_{m}_"), getattr(aligner, f"weights_{m}_")
    X = as_matrix(X, f"{modality} rows", W.shape[0], "the aligner")
    return centred_product(X, mean, W)


def centred_map(aligner: Aligner, modality: str) -> dict[str, Any]:
    """`centred_projection`'s map of `modality` as arrays (`Aligner.linear_map`).

    Parameters
    ----------
    aligner : Aligner
        A fitted CCA-type aligner.
    modality : str
        "x" or "y".
    """
    aligner._check_fitted()
    m = check_modality(modality)
    return {
        "mean": getattr(aligner, f"mean_{m}_"),
        "scale": 1.0,
        "matrix": getattr(aligner, f"weights_{m}_"),
    }


class CCA(Aligner):
    """Canonical correlation analysis on the pairs, regularised by covariance shrinkage.

    Each side is centred on the paired rows' mean (the reference code skips centring, which lets
    the mean leak into the projections) and its covariance is shrunk towards a scaled identity:
    C <- (1 - s) C + s (tr C / d) I. With ``reg="auto"`` s is the Ledoit-Wolf estimate per side,
    which is tiny for many well-conditioned pairs and grows as the pairs get fewer than the
    dimensions; a float fixes s. The projections whiten each side (exactly so without shrinkage);
    coordinates are ordered by the regularised problem's singular values (`singular_values_`);
    `correlations_` holds the Pearson correlation of each pair of canonical variates on the pairs.

    Parameters
    ----------
    n_components : int
        Output dimension (canonical pairs kept); at most the pairs less one and each side's width.
    reg : float or "auto"
        Covariance shrinkage s in [0, 1]: "auto" is the Ledoit-Wolf estimate per side.
    device : str
        Where the covariances and their decompositions are computed.
    """

    _state_keys = ("mean_x_", "mean_y_", "weights_x_", "weights_y_", "correlations_")

    @keyword_only
    def __init__(
        self, n_components: int = 8, *, reg: float | str = "auto", device: str = "auto"
    ) -> None:
        self.n_components = n_components
        self.reg = reg
        self.device = device

    def _whitener(self, Xc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(Q, g, s): C_s^{-1/2} = Q diag(g) Q^T on the span of the rows, s the shrinkage.

        C_s = (1 - s) C + s (tr C / d) I. With fewer rows than features Q comes from a thin SVD
        of the rows (O(n^2 d)), else from C_s's eigendecomposition (O(d^3)). The directions
        outside the rows' span never reach the cross-covariance, so both give the same CCA.
        """
        n, p = Xc.shape
        if self.reg == "auto":
            s = ledoit_wolf_shrinkage(Xc)
        elif isinstance(self.reg, (int, float)) and 0.0 <= float(self.reg) <= 1.0:
            s = float(self.reg)
        else:
            raise InputError(f"reg must be 'auto' or a number in [0, 1], got {self.reg!r}")
        if n < p:
            _, sv, vh = torch.linalg.svd(Xc, full_matrices=False)
            q, evals = vh.T, sv**2 / n
        else:
            evals, q = torch.linalg.eigh(Xc.T @ Xc / n)
            evals = evals.clamp(min=0)
        mu = (Xc * Xc).sum() / (n * p)
        lam = (1.0 - s) * evals + s * mu
        return q, lam.clamp(min=float(lam.max()) * 1e-12).rsqrt(), s

    def fit(self, a: np.ndarray, b: np.ndarray) -> CCA:
        a, b = as_matrix(a, "paired x"), as_matrix(b, "paired y")
        m, r = a.shape[0], self.n_components
        if b.shape[0] != m:
            raise InputError(f"CCA needs the same number of paired rows, got {m} and {b.shape[0]}")
        if r < 1:
            raise InputError(f"n_components must be >= 1, got {r}")
        if m <= r:
            raise InputError(
                f"CCA to {r} dimensions needs more than {r} pairs, got {m}; "
                f"add pairs or lower the aligned dimension (out_dim) below {m}"
            )
        if r > min(a.shape[1], b.shape[1]):
            raise InputError(
                f"CCA to {r} dimensions needs inputs of at least {r} features, got "
                f"{a.shape[1]} and {b.shape[1]}"
            )
        (Ac, mean_a), (Bc, mean_b) = _centred(a, self.device), _centred(b, self.device)
        qa, ga, self.shrinkage_x_ = self._whitener(Ac)
        qb, gb, self.shrinkage_y_ = self._whitener(Bc)
        # the whitened cross-covariance in the whiteners' bases
        U, s, Vh = torch.linalg.svd(((Ac @ qa) * ga).T @ ((Bc @ qb) * gb) / m)
        wa, wb = qa @ (ga[:, None] * U[:, :r]), qb @ (gb[:, None] * Vh.T[:, :r])
        self.mean_x_, self.mean_y_ = to_numpy(mean_a), to_numpy(mean_b)
        self.weights_x_, self.weights_y_ = to_numpy(wa), to_numpy(wb)
        self.singular_values_ = to_numpy(s[:r])
        za, zb = Ac @ wa, Bc @ wb
        # measured on the pairs: under shrinkage the singular values are not correlations
        self.correlations_ = to_numpy(
            (za * zb).sum(0) / (za.norm(dim=0) * zb.norm(dim=0)).clamp(min=1e-300)
        )
        return self

    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        self._check_fitted()
        return centred_projection(self, X, modality)

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        return centred_map(self, modality)


class Procrustes(Aligner):
    """Orthogonal Procrustes on the pairs: rotate y's centred rows onto x's, optionally scaled.

    Both inputs must share one dimension (two spectral embeddings of the same k do). The output
    keeps the first `n_components` coordinates of x's frame, which for spectral embeddings are the
    leading eigenvectors. Unlike CCA it neither whitens nor mixes x's coordinates.

    Parameters
    ----------
    n_components : int
        How many leading coordinates of x's frame are kept.
    scaling : bool
        Also fit one scale factor for y (the scaled Procrustes problem).
    device : str
        Where the SVD is computed.
    """

    _state_keys = ("mean_x_", "mean_y_", "rotation_", "scale_")

    @keyword_only
    def __init__(
        self, n_components: int = 8, *, scaling: bool = False, device: str = "auto"
    ) -> None:
        self.n_components = n_components
        self.scaling = scaling
        self.device = device

    def min_pairs(self) -> int:
        return 2

    def fit(self, a: np.ndarray, b: np.ndarray) -> Procrustes:
        a, b = as_matrix(a, "paired x"), as_matrix(b, "paired y")
        if a.shape != b.shape:
            raise InputError(
                f"Procrustes needs paired rows of one shape, got {a.shape} and {b.shape}; "
                "use CCA for inputs of different dimensions"
            )
        if a.shape[0] < 2:
            raise InputError(f"Procrustes needs at least 2 pairs, got {a.shape[0]}")
        if not 1 <= self.n_components <= a.shape[1]:
            raise InputError(
                f"n_components must lie in [1, {a.shape[1]}] for {a.shape[1]}-d inputs, "
                f"got {self.n_components}"
            )
        (Ac, mean_a), (Bc, mean_b) = _centred(a, self.device), _centred(b, self.device)
        U, s, Vh = torch.linalg.svd(Bc.T @ Ac)
        self.rotation_ = to_numpy(U @ Vh)
        norm = float((Bc * Bc).sum())
        self.scale_ = np.asarray(float(s.sum()) / norm if self.scaling and norm > 0 else 1.0)
        self.mean_x_, self.mean_y_ = to_numpy(mean_a), to_numpy(mean_b)
        return self

    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, f"{modality} rows", self.rotation_.shape[0], "the aligner")
        m = self.linear_map(modality)
        z = centred_product(X, m["mean"], m["matrix"])
        return z if m["scale"] == 1.0 else np.float32(m["scale"]) * z

    def linear_map(self, modality: str) -> dict[str, Any]:
        """x keeps its first `n_components` centred coordinates; y is rotated (and scaled)
        onto them."""
        self._check_fitted()
        k = self.n_components
        if check_modality(modality) == "x":
            return {"mean": self.mean_x_, "scale": 1.0, "matrix": np.eye(len(self.mean_x_))[:, :k]}
        return {"mean": self.mean_y_, "scale": float(self.scale_), "matrix": self.rotation_[:, :k]}


class NoAligner(Aligner):
    """Ablation: no use of the pairs. Keeps each side's first `n_components` coordinates as is.

    Parameters
    ----------
    n_components : int
        How many leading coordinates of each side are kept.
    """

    _state_keys = ("n_features_",)

    def __init__(self, n_components: int = 8) -> None:
        self.n_components = n_components

    def min_pairs(self) -> int:
        return 0

    def fit(self, a: np.ndarray, b: np.ndarray) -> NoAligner:
        a, b = np.asarray(a), np.asarray(b)  # rows are never read: zero pairs are fine
        if a.ndim != 2 or b.ndim != 2:
            raise InputError("the none aligner needs 2-D (rows, features) inputs")
        if not 1 <= self.n_components <= min(a.shape[1], b.shape[1]):
            raise InputError(
                f"n_components must lie in [1, {min(a.shape[1], b.shape[1])}], "
                f"got {self.n_components}"
            )
        self.n_features_ = np.asarray([a.shape[1], b.shape[1]])
        return self

    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        self._check_fitted()
        d = int(self.n_features_[0 if check_modality(modality) == "x" else 1])
        X = as_matrix(X, f"{modality} rows", d, "the aligner")
        return X[:, : self.n_components].astype(np.float32)

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        """The first `n_components` coordinates: a zero mean and a cut identity."""
        self._check_fitted()
        d = int(self.n_features_[0 if check_modality(modality) == "x" else 1])
        return {"mean": np.zeros(d), "scale": 1.0, "matrix": np.eye(d)[:, : self.n_components]}
