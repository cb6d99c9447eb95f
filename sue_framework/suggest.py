"""Which rows to pair next: a labelling budget spent where it buys the most alignment.

`suggest_pairs` returns rows of one modality (never ones already paired) for a person to pair
with their partners, best first. Strategies are registered (kind "selector"), so plugins add
more; each sees the rows of the side to suggest, those already paired, and optionally the other
modality and a fitted model:

- "diversity": k-means over the side's rows (cosine geometry); the clusters that hold no
  paired row yet, largest first, each give the row nearest its centre, a typical row rather
  than an outlier. Needs nothing but the rows.
- "design": rows that together pin down a linear map best: among typical rows (the
  representatives of three k-means clusters per suggestion), one at a time, the row that adds
  the most information given the rows chosen or paired before (greedy D-optimal design over
  the leading principal coordinates), so a batch spreads over directions as well as regions.
  Needs nothing but the rows.
- "uncertainty": after a fit, rows whose cross-modal match is least certain (a small margin
  between their best and second-best partner, or a best partner whose own best match is
  another row), weighted by the size of the region they stand for; chosen one per cluster of
  the shared space, so a batch does not spend itself on one region.
- "auto": "diversity", with or without a model: on the real suite, pairs spread over the
  space beat pairs spent on uncertain regions after a first round
  ([active_pairs.md](../active_pairs.md) has the figures), since self-learning needs anchors
  everywhere more than answers to hard cases.

Large pools are clustered on a seeded sample of `MAX_ROWS` rows, so a suggestion over 10^5
rows a side takes seconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.validation import as_matrix, as_pairs

MAX_ROWS = 20000  # rows a suggestion looks at, at most (a seeded sample beyond)
NEIGHBOURS = 2  # partners per row the uncertainty needs: the best and the second best


class PairSelector(ABC):
    """Chooses `n` rows of `rows` to pair next (indices into `rows`, best first), never one of
    `paired`. `other` holds the other modality's rows and `model` a fitted method when the
    caller has them; `side` says which modality `rows` are."""

    needs_model: bool = False

    @abstractmethod
    def select(
        self,
        rows: np.ndarray,
        n: int,
        paired: np.ndarray,
        *,
        other: np.ndarray | None,
        model: Any,
        side: str,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Indices into `rows` of the n rows to pair next, best first (none of `paired`)."""


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def _kmeans(rows: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(labels, centres) of k-means on unit rows (k-means++ start, seeded)."""
    from sklearn.cluster import KMeans

    k = int(min(k, rows.shape[0]))
    km = KMeans(k, n_init=1, max_iter=50, random_state=int(rng.integers(2**31 - 1)))
    labels = km.fit_predict(rows)
    return labels, km.cluster_centers_.astype(np.float32)


def _pool(total: int, paired: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The rows a suggestion looks at: every row, or a seeded sample plus the paired ones."""
    if total <= MAX_ROWS:
        return np.arange(total)
    sample = rng.choice(total, MAX_ROWS, replace=False)
    return np.union1d(sample, paired)


def _representatives(
    z: np.ndarray,
    candidate: np.ndarray,
    labels: np.ndarray,
    centres: np.ndarray,
    covered: set[int],
    n: int,
    score: np.ndarray | None = None,
) -> list[int]:
    """Up to n positions of `z`: per cluster not in `covered`, largest first, its best
    candidate (the highest `score`, or the one nearest the centre); then second choices in the
    same order while more are needed."""
    sims = np.einsum("nd,nd->n", z, centres[labels])
    key = sims if score is None else score
    sizes = np.bincount(labels, minlength=centres.shape[0])
    per_cluster: dict[int, list[int]] = {}
    for i in np.lexsort((-key, labels)):  # each cluster's rows, best first
        if candidate[i]:
            per_cluster.setdefault(int(labels[i]), []).append(int(i))
    order = sorted(per_cluster, key=lambda c: (c in covered, -sizes[c], c))
    out: list[int] = []
    depth = 0
    while len(out) < n and any(len(v) > depth for v in per_cluster.values()):
        out += [per_cluster[c][depth] for c in order if len(per_cluster[c]) > depth][: n - len(out)]
        depth += 1
    return out


class Diversity(PairSelector):
    """K-means coverage of one modality (module docstring)."""

    @staticmethod
    def regions(rows: np.ndarray, n: int, paired: np.ndarray, rng: np.random.Generator):
        """The rows looked at (`pool`, indices into `rows`), their unit vectors, which are
        paired, the k-means labels and centres of n + (pairs made) regions, and the regions
        that already hold a paired row.

        Parameters
        ----------
        rows : ndarray
            The rows of the side to suggest.
        n : int
            Suggestions wanted.
        paired : ndarray
            Indices of the rows already paired.
        rng : numpy Generator
            Draws the sample of a large pool and the k-means start.
        """
        pool = _pool(rows.shape[0], paired, rng)
        z = _unit(rows[pool])
        is_paired = np.isin(pool, paired)
        labels, centres = _kmeans(z, n + int(is_paired.sum()), rng)
        return pool, z, is_paired, labels, centres, set(labels[is_paired].tolist())

    def select(self, rows, n, paired, *, other, model, side, rng):
        pool, z, is_paired, labels, centres, covered = self.regions(rows, n, paired, rng)
        picks = _representatives(z, ~is_paired, labels, centres, covered, n)
        return pool[np.asarray(picks, dtype=np.int64)]


class Design(PairSelector):
    """Typical rows that together pin down a linear map best (module docstring).

    Candidates are the representatives (row nearest the centre) of `per_pair` x (n + paired)
    k-means clusters, those of clusters under half the median size left out, so no outlier is
    asked for. Among them rows are taken one at a time, each the one that adds the most
    information about a linear map given the rows chosen or paired before: greedy D-optimal
    design, the largest w^T (I + sum of w w^T so far)^-1 w, over the rows' leading principal
    coordinates w (`dims`) in units of their mean variance (the identity is then a ridge of
    one average direction's variance). Rows pointing the way of those already chosen add
    little, so a batch spreads over directions, not only regions. The coordinates are not
    whitened: whitening weighs noise directions as much as those the clusters differ along.

    Parameters
    ----------
    dims : int
        Leading principal directions of the rows that the design covers.
    per_pair : int
        Clusters (candidate representatives) per suggestion or pair already made.
    """

    @keyword_only
    def __init__(self, dims: int = 64, *, per_pair: int = 3) -> None:
        if dims < 1 or per_pair < 1:
            raise InputError(f"dims and per_pair must be >= 1, got {dims} and {per_pair}")
        self.dims = dims
        self.per_pair = per_pair

    def select(self, rows, n, paired, *, other, model, side, rng):
        pool = _pool(rows.shape[0], paired, rng)
        u = _unit(rows[pool])
        z = u.astype(np.float64)
        w = _principal(z, self.dims)
        is_paired = np.isin(pool, paired)
        labels, centres = _kmeans(u, self.per_pair * (n + int(is_paired.sum())), rng)
        sizes = np.bincount(labels, minlength=centres.shape[0])
        # a handful of outlying rows make clusters of their own, in directions no other row
        # shares: the design would rate them highest, so small clusters offer no candidate
        free = ~is_paired & (sizes >= max(2.0, 0.5 * float(np.median(sizes))))[labels]
        # each such cluster's free row nearest its centre
        reps = _representatives(z, free, labels, centres, set(), np.unique(labels[free]).size)
        candidates = np.sort(np.asarray(reps, dtype=np.int64))
        if candidates.size < n:  # small pools: every free row is a candidate
            candidates = np.flatnonzero(~is_paired)
        made = w[is_paired]
        inv = np.linalg.inv(np.eye(w.shape[1]) + made.T @ made)
        taken = np.zeros(candidates.size, dtype=bool)
        out = []
        cw = w[candidates]
        for _ in range(n):
            gain = np.einsum("nd,de,ne->n", cw, inv, cw)
            gain[taken] = -np.inf
            j = int(np.argmax(gain))
            taken[j] = True
            out.append(int(candidates[j]))
            inv = _rank_one_down(inv, cw[j])
        return pool[np.asarray(out, dtype=np.int64)]


def _principal(z: np.ndarray, dims: int) -> np.ndarray:
    """Rows' coordinates on their leading principal directions, in units of those directions'
    mean variance (directions with no variance dropped)."""
    c = z - z.mean(0)
    evals, evecs = np.linalg.eigh(c.T @ c / max(1, c.shape[0]))
    top = np.argsort(evals)[::-1][:dims]
    top = top[evals[top] > 1e-12 * max(float(evals.max()), 1e-300)]
    return c @ evecs[:, top] / np.sqrt(max(float(evals[top].mean()), 1e-300))


def _rank_one_down(inv: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(M + v v^T)^-1 from M^-1 (Sherman-Morrison)."""
    u = inv @ v
    return inv - np.outer(u, u) / (1.0 + v @ u)


class Uncertainty(PairSelector):
    """Rows whose match the fitted model is least sure of, one per region (module docstring)."""

    needs_model = True

    def select(self, rows, n, paired, *, other, model, side, rng):
        if model is None or other is None:
            raise InputError(
                "the 'uncertainty' strategy needs a fitted model and the other modality's rows "
                "(model=..., y=...); 'diversity' needs neither"
            )
        from sue_framework.components.knn import InnerProductIndex

        pool = _pool(rows.shape[0], paired, rng)
        other_side = "y" if side == "x" else "x"
        z = _unit(model.transform(rows[pool], side))
        zo = _unit(model.transform(other[_pool(other.shape[0], np.empty(0, int), rng)], other_side))
        sims, best = InnerProductIndex(zo, expected_queries=len(z)).search(z, NEIGHBOURS)
        sims, best = sims.numpy(), best.numpy()
        margin = sims[:, 0] - sims[:, -1]
        _, back = InnerProductIndex(z, expected_queries=len(z)).search(zo[best[:, 0]], 1)
        crossed = back.numpy()[:, 0] != np.arange(len(z))  # the best partner prefers another
        # in [0, 2]: 1 for a tie between the two best partners, +1 when the match is not mutual
        doubt = 1.0 - margin / max(float(margin.max()), 1e-12) + crossed
        is_paired = np.isin(pool, paired)
        labels, centres = _kmeans(z, n + int(is_paired.sum()), rng)
        covered = set(labels[is_paired].tolist())
        sizes = np.bincount(labels, minlength=centres.shape[0]).astype(np.float64)
        weight = doubt * np.log1p(sizes[labels])
        picks = _representatives(z, ~is_paired, labels, centres, covered, n, score=weight)
        picks = sorted(picks, key=lambda i: -weight[i])
        return pool[np.asarray(picks, dtype=np.int64)]


def suggest_pairs(
    x: Any,
    n: int,
    *,
    y: Any = None,
    pairs: Any = None,
    model: Any = None,
    strategy: str | PairSelector = "auto",
    side: str = "x",
    seed: int = 0,
) -> np.ndarray:
    """Indices of `n` rows of `side` (x by default) to pair next, best first (module
    docstring).

    Parameters
    ----------
    x, y : array-like of shape (n1, d1) and (n2, d2)
        Rows of each modality. `y` is needed for ``side="y"`` and for model-aware strategies.
    n : int
        How many rows to suggest; at most the rows of `side` not yet paired.
    pairs : array-like of shape (m, 2), optional
        Rows already paired, (i, j) meaning x[i] <-> y[j]; never suggested again.
    model : fitted method, optional
        For model-aware strategies; it must have been fit on rows of these widths.
    strategy : str or PairSelector
        A registered selector name ("auto" is "diversity"; "uncertainty" needs `model` and the
        other side's rows) or an instance.
    side : str
        Which modality's rows to suggest, "x" or "y".
    seed : int
        Seeds the clustering: the same inputs and seed give the same suggestions.
    """
    from sue_framework.interfaces import check_modality  # scikit-learn: not at package import

    side = check_modality(side)
    x = as_matrix(x, "x")
    y = None if y is None else as_matrix(y, "y")
    rows, other = (x, y) if side == "x" else (y, x)
    if rows is None:
        raise InputError("side='y' suggests rows of y: pass y=")
    # without y its row count is unknown: only x's column of the pairs can be checked
    pairs = as_pairs(pairs, x.shape[0], y.shape[0] if y is not None else np.iinfo(np.int64).max)
    paired = np.unique(pairs[:, 0 if side == "x" else 1])
    free = rows.shape[0] - paired.size
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive whole number, got {n!r}")
    if n > free:
        raise InputError(
            f"asked for {n} suggestions but only {free} rows of {side} are not paired yet; "
            f"lower n to at most {free}"
        )
    if model is not None:  # a model fit on other widths is refused whatever the strategy
        model.transform(rows[:1], side)
        if other is not None:
            model.transform(other[:1], "y" if side == "x" else "x")
    from sue_framework.registry import registry

    if isinstance(strategy, str) and strategy == "auto":
        strategy = "diversity"
    selector = registry.build("selector", strategy) if isinstance(strategy, str) else strategy
    rng = np.random.default_rng(seed)
    picks = np.asarray(
        selector.select(rows, int(n), paired, other=other, model=model, side=side, rng=rng),
        dtype=np.int64,
    )
    if picks.size != n or np.unique(picks).size != n or np.isin(picks, paired).any():
        raise InputError(
            f"selector {type(selector).__name__} returned {picks.size} rows (repeats or paired "
            f"rows included) where {n} new ones were asked for"
        )
    return picks
