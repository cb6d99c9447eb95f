"""Choosing with the pairs alone: k-fold cross-validation on the pairs, and the one rule that
picks a candidate from its per-query scores (`choose`), shared by `CVSelect`/`auto` and
`SUESelect`.

Each held-out pair is ranked against the whole unpaired gallery of the other modality (not just
the other held-out pairs), which keeps the estimate usable with a few dozen pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sue_framework.data import as_data
from sue_framework.model_selection.ranking import paired_reciprocal_ranks

if TYPE_CHECKING:  # a type only: interfaces imports this module for Method.score
    from sue_framework.interfaces import Aligner


def pair_cv_scores(
    fx: np.ndarray,
    fy: np.ndarray,
    pairs: np.ndarray,
    make_aligner: Callable[[int], Aligner],
    *,
    folds: int = 5,
    out_dim: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """Reciprocal ranks of every held-out pair, both directions, over `folds` folds of the pairs.

    `make_aligner(dim)` builds a fresh aligner; `dim` shrinks below `out_dim` when a fold holds
    too few pairs for it.

    Parameters
    ----------
    fx, fy : ndarray
        Features of every row of each modality.
    pairs : ndarray of shape (m, 2)
        The known pairs (i, j): fx[i] <-> fy[j].
    make_aligner : callable
        `make_aligner(dim)` builds a fresh aligner of output width `dim`.
    folds : int
        Folds of the pairs.
    out_dim : int
        The aligner's width (lowered where a fold holds too few pairs).
    seed : int
        Seeds the folds.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    scores = []
    for held in np.array_split(order, folds):
        train = np.setdiff1d(order, held)
        aligner = make_aligner(int(max(1, min(out_dim, len(train) - 1))))
        aligner.fit(fx[pairs[train, 0]], fy[pairs[train, 1]])
        zx, zy = aligner.transform(fx, "x"), aligner.transform(fy, "y")
        scores.append(paired_reciprocal_ranks(zx, zy, pairs[held, 0], pairs[held, 1]))
    return np.concatenate(scores)


def pair_scores(model: Any, data: Any) -> np.ndarray:
    """Reciprocal ranks of `data`'s pairs under a fitted method, both directions: each pair's
    x row queries every y row of `data` for its partner, and the other way round.

    Parameters
    ----------
    model : fitted method
        What is scored.
    data : WeaklyPairedData
        Rows and the pairs to rank.
    """
    data = as_data(data, "score")
    zx, zy = model.transform(data.x, "x"), model.transform(data.y, "y")
    return paired_reciprocal_ranks(zx, zy, data.pairs[:, 0], data.pairs[:, 1])


RULES = ("one_se", "best")

# what each held-out query contributes to a candidate's CV score, from its reciprocal rank 1/r
_QUERY_SCORES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "reciprocal_rank": lambda rr: rr,
    "root_rank": np.sqrt,
    "log_rank": np.log,
}
CV_SCORES = tuple(_QUERY_SCORES)


def query_scores(reciprocal_ranks: np.ndarray, how: str) -> np.ndarray:
    """Each held-out query's CV score from its reciprocal rank 1/r: "reciprocal_rank" (1/r),
    "root_rank" (1/sqrt r) or "log_rank" (-log r).

    The flatter the score, the more the queries ranked 2nd to 100th count beside those
    ranked 1st: with few pairs and a weak model the mean reciprocal rank rests on a handful of
    first places and swings with them.

    Parameters
    ----------
    reciprocal_ranks : ndarray
        1/r of each query (r = 1 for the partner ranked first).
    how : str
        One of `CV_SCORES`.
    """
    if how not in _QUERY_SCORES:
        raise ValueError(f"how must be one of {CV_SCORES}, got {how!r}")
    return _QUERY_SCORES[how](np.asarray(reciprocal_ranks, dtype=np.float64))


def mean_and_sem(scores: np.ndarray) -> tuple[float, float]:
    """The mean of per-query scores and its standard error (sample std / sqrt n).

    Parameters
    ----------
    scores : ndarray
        One score per held-out query.
    """
    return float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(scores.size))


def choose(per_query: dict[str, np.ndarray], order: Sequence[str], rule: str) -> int:
    """Index in `order` of the candidate that `rule` picks from the per-query CV scores.

    "best": the highest mean. "one_se": the first candidate in `order` within one paired
    standard error of the best (`_ties`), so a later candidate must beat an earlier one by more
    than the noise of the pairs.

    Parameters
    ----------
    per_query : dict of str to ndarray
        Each candidate's per-query CV scores (higher is better; `query_scores`), over the same
        held-out queries.
    order : sequence of str
        The candidates' labels, cheapest first.
    rule : str
        "best" or "one_se".
    """
    best = max(order, key=lambda k: per_query[k].mean())
    if rule == "best":
        return list(order).index(best)
    return next(i for i, k in enumerate(order) if _ties(per_query[best], per_query[k]))


def choose_dealt(per_deal: dict[str, list[np.ndarray]], order: Sequence[str], rule: str) -> int:
    """Index in `order` of the candidate that `rule` picks when candidates were scored on
    several deals of the pairs into folds, some on the first deal only.

    Each candidate is compared with the others on the deals both were scored on: `rule`
    first picks among the candidates scored on every deal (each query's score averaged over
    the deals), then between that one and those scored on the first deal alone, on the first
    deal. A fold split that happens to suit every candidate then cannot favour the ones scored
    on it alone. With one deal for all, this is `choose`.

    Parameters
    ----------
    per_deal : dict of str to list of ndarray
        Each candidate's per-query CV scores in each deal it was scored on, first deal first
        (the same queries, in the same order, in every deal).
    order : sequence of str
        The candidates' labels, cheapest first.
    rule : str
        "best" or "one_se".
    """
    order = list(order)
    most = max(len(per_deal[k]) for k in order)
    full = [k for k in order if len(per_deal[k]) == most]
    mean = {k: np.mean(per_deal[k], axis=0) for k in full}
    if len(full) == len(order):
        return choose(mean, order, rule)
    winner = full[choose(mean, full, rule)]
    finalists = [k for k in order if k == winner or len(per_deal[k]) < most]
    first = {k: per_deal[k][0] for k in finalists}
    return order.index(finalists[choose(first, finalists, rule)])


def _ties(best: np.ndarray, other: np.ndarray) -> bool:
    """Whether `other` is within one standard error of `best` on the same held-out queries.

    The comparison is paired: the noise that matters is that of the per-query differences,
    much smaller than either score's own spread when both methods find the same queries hard.
    """
    mean, sem = mean_and_sem(best - other)
    return mean <= sem
