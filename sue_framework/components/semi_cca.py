"""Semi-supervised CCA: within-modality statistics from every row, the cross-covariance from pairs.

Only the link between the modalities needs pairs; each modality's mean and covariance can be
estimated from all of its rows, paired or not (Kimura et al., "SemiCCA: efficient semi-supervised
learning of canonical correlations", IPSJ 2013; Blaschko et al., ECML 2008). With few pairs the
cross-covariance is the noisy part, and full whitening amplifies its noise in low-variance
directions, so each covariance is shrunk towards a scaled identity: C <- (1 - s) C + s (tr C / d) I.
s = 1 is PLS (an SVD of the cross-covariance); s = 0 is plain whitening. ``reg="cv"`` picks s
from `reg_grid` by cross-validation on the pairs (held-out pairs ranked against every row of the
other modality), so the amount of whitening follows the data.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sue_framework.components.aligners import centred_map, centred_projection, pairs_and_rows
from sue_framework.errors import InputError
from sue_framework.interfaces import Aligner
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.ranking import match_ranks
from sue_framework.runtime.engine import engine_for, row_chunks, to_numpy, to_tensor

CV_GALLERY = 1000  # rows of each modality that held-out pairs are ranked against in `_choose`


class _Moments:
    """Mean and covariance eigendecomposition (float64) of all rows of one modality, with the
    shrunk inverse square roots asked of it so far.

    Two passes over blocks of `block` rows (the mean, then the centred cross-products), so a
    pool of 10^6 rows never exists in float64 at once: memory is O(block d + d^2).
    """

    def __init__(self, x: np.ndarray, device: torch.device, block: int = 65536) -> None:
        n, d = x.shape
        total = torch.zeros(d, dtype=torch.float64, device=device)
        for sl in row_chunks(n, block):
            total += to_tensor(x[sl], device, torch.float64).sum(0)
        self.mean = total / n
        cov = torch.zeros(d, d, dtype=torch.float64, device=device)
        for sl in row_chunks(n, block):
            c = to_tensor(x[sl], device, torch.float64) - self.mean
            cov += c.T @ c
        self.evals, self.evecs = torch.linalg.eigh(cov / n)
        self._isqrt: dict[float, torch.Tensor] = {}

    def isqrt(self, s: float) -> torch.Tensor:
        """((1 - s) C + s mu I)^-1/2, mu the mean eigenvalue."""
        if s not in self._isqrt:
            evals = self.evals.clamp(min=0)
            mu = evals.mean()
            w = ((1.0 - s) * evals + s * mu).clamp(min=1e-12 * max(float(mu), 1e-300))
            self._isqrt[s] = (self.evecs / w.sqrt()) @ self.evecs.T
        return self._isqrt[s]


_MOMENTS: OrderedDict[tuple, _Moments] = OrderedDict()
_MOMENTS_LOCK = threading.Lock()  # cross-validation may fit folds on threads


def _moments(x: np.ndarray, device: torch.device) -> _Moments:
    """The `_Moments` of all rows `x`, cached by content (the statistics only, never the rows).

    Cross-validation and self-training refit on the same rows many times; only the pairs
    change, so the within-modality statistics are computed once per distinct input.
    """
    digest = hashlib.sha1(np.ascontiguousarray(x).data.cast("B")).hexdigest()
    key = (x.shape, str(x.dtype), str(device), digest)
    with _MOMENTS_LOCK:
        if key not in _MOMENTS:
            _MOMENTS[key] = _Moments(x, device)
            while len(_MOMENTS) > 4:
                _MOMENTS.popitem(last=False)
        _MOMENTS.move_to_end(key)
        return _MOMENTS[key]


def _cross_svd(
    A: torch.Tensor, B: torch.Tensor, wx: torch.Tensor, wy: torch.Tensor, r: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-r singular triplets of wx A^T B wy / m through its rank-m factors.

    With fewer pairs than dimensions, a QR of each whitened side reduces the SVD to an (m, m)
    matrix: O(d m^2), not O(d^3).
    """
    if A.shape[0] >= min(wx.shape[0], wy.shape[0]):
        u, s, vh = torch.linalg.svd(wx @ (A.T @ B / A.shape[0]) @ wy, full_matrices=False)
        return u[:, :r], s[:r], vh.T[:, :r]
    qa, ra = torch.linalg.qr(wx @ A.T)
    qb, rb = torch.linalg.qr(wy @ B.T)
    u, s, vh = torch.linalg.svd(ra @ rb.T / A.shape[0])
    return qa @ u[:, :r], s[:r], qb @ vh.T[:, :r]


class SemiCCA(Aligner):
    """CCA whose means and covariances come from all rows of each modality (module docstring).

    `fit(a, b, x=None, y=None)`: `a`, `b` are the paired rows, `x`, `y` every row of each
    modality (the paired ones included). Without `x`/`y` the paired rows stand in, and with a
    fixed `reg` the result equals `CCA(reg=reg)`. The output has min(n_components, pairs - 1)
    dimensions: directions beyond the pairs' rank would be arbitrary.

    Parameters
    ----------
    n_components : int
        Output dimension, at most the pairs less one.
    reg : float or "cv"
        Shrinkage of the pooled covariances; "cv" picks it from `reg_grid` by pair
        cross-validation.
    reg_grid : sequence of float
        The shrinkage values tried under ``reg="cv"``.
    folds : int
        Folds of the pairs for that choice.
    seed : int or None
        Seeds every random choice, so a fit repeats exactly; None draws a fresh seed.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    _state_keys = ("mean_x_", "mean_y_", "weights_x_", "weights_y_", "shrinkage_")

    @keyword_only
    def __init__(
        self,
        n_components: int = 8,
        *,
        reg: float | str = "cv",
        reg_grid: Sequence[float] = (0.5, 0.9, 0.99),
        folds: int = 3,
        seed: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.n_components = n_components
        self.reg = reg
        self.reg_grid = reg_grid
        self.folds = folds
        self.seed = seed
        self.device = device

    def min_pairs(self) -> int:
        return 2

    def _check_reg(self) -> list[float]:
        grid = [self.reg] if self.reg != "cv" else list(self.reg_grid)
        if not grid or not all(
            isinstance(s, (int, float)) and 0.0 <= float(s) <= 1.0 for s in grid
        ):
            raise InputError(
                f"reg must be 'cv' or a number in [0, 1] (and reg_grid numbers in [0, 1]), "
                f"got reg={self.reg!r}, reg_grid={self.reg_grid!r}"
            )
        return [float(s) for s in grid]

    def fit(
        self, a: np.ndarray, b: np.ndarray, x: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> SemiCCA:
        grid = self._check_reg()
        a, b, x, y = pairs_and_rows(a, b, x, y)
        m = a.shape[0]
        if b.shape[0] != m:
            raise InputError(
                f"SemiCCA needs the same number of paired rows, got {m} and {b.shape[0]}"
            )
        if x.shape[1] != a.shape[1] or y.shape[1] != b.shape[1]:
            raise InputError(
                f"all rows must have the paired rows' widths ({a.shape[1]}, {b.shape[1]}), "
                f"got ({x.shape[1]}, {y.shape[1]})"
            )
        if m < 2:
            raise InputError(f"SemiCCA needs at least 2 pairs, got {m}")
        if self.n_components < 1:
            raise InputError(f"n_components must be >= 1, got {self.n_components}")
        dev = engine_for(self.device).device
        mom_x, mom_y = _moments(x, dev), _moments(y, dev)
        A = to_tensor(a, dev, torch.float64) - mom_x.mean
        B = to_tensor(b, dev, torch.float64) - mom_y.mean
        s = grid[0]
        if len(grid) > 1:
            s = self._choose(grid, A, B, (x, mom_x), (y, mom_y))
        r = int(min(self.n_components, m - 1, a.shape[1], b.shape[1]))
        Wx, Wy = mom_x.isqrt(s), mom_y.isqrt(s)
        U, sv, V = _cross_svd(A, B, Wx, Wy, r)
        self.mean_x_, self.mean_y_ = to_numpy(mom_x.mean), to_numpy(mom_y.mean)
        self.weights_x_ = to_numpy(Wx @ U)
        self.weights_y_ = to_numpy(Wy @ V)
        self.singular_values_ = to_numpy(sv)
        self.shrinkage_ = np.asarray(s)
        self.chosen_params_ = {"reg": s} if self.reg == "cv" else {}
        return self

    def _choose(self, grid, A, B, stats_x, stats_y) -> float:
        """The shrinkage in `grid` with the best mean reciprocal rank of held-out pairs."""
        m = A.shape[0]
        folds = int(min(self.folds, m // 2))
        if folds < 2:
            return grid[len(grid) // 2]
        rng = np.random.default_rng(self.seed)
        order = torch.as_tensor(rng.permutation(m), device=A.device)
        (x, mom_x), (y, mom_y) = stats_x, stats_y
        # a seeded sample of the gallery: ranks only need to compare the grid's values
        sx = np.sort(rng.permutation(x.shape[0])[:CV_GALLERY])
        sy = np.sort(rng.permutation(y.shape[0])[:CV_GALLERY])
        Xc = to_tensor(x[sx], A.device, torch.float64) - mom_x.mean
        Yc = to_tensor(y[sy], A.device, torch.float64) - mom_y.mean
        # targets are the pairs' own rows, appended to the gallery of all rows
        scores = {s: 0.0 for s in grid}
        wx = {s: mom_x.isqrt(s) for s in grid}
        wy = {s: mom_y.isqrt(s) for s in grid}
        for held in torch.tensor_split(order, folds):
            keep = torch.ones(m, dtype=torch.bool, device=A.device)
            keep[held] = False
            r = int(min(self.n_components, int(keep.sum()) - 1, A.shape[1], B.shape[1]))
            for s in grid:
                U, _, V = _cross_svd(A[keep], B[keep], wx[s], wy[s], r)
                px, py = wx[s] @ U, wy[s] @ V
                qa, qb = A[held] @ px, B[held] @ py
                ga, gb = torch.cat([qa, Xc @ px]), torch.cat([qb, Yc @ py])
                t = torch.arange(held.numel(), device=A.device)
                qa, qb, ga, gb = (torch.nn.functional.normalize(z, dim=1) for z in (qa, qb, ga, gb))
                scores[s] += float(
                    (1.0 / (1.0 + match_ranks(qa, gb, t))).sum()
                    + (1.0 / (1.0 + match_ranks(qb, ga, t))).sum()
                )
        return max(grid, key=lambda s: scores[s])

    def transform(self, X: np.ndarray, modality: str) -> np.ndarray:
        self._check_fitted()
        return centred_projection(self, X, modality)

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        return centred_map(self, modality)
