"""The engine that cross-validates whole methods on the pairs (`method_cv_scores`): the plan of
folds, one fold's fit and held-out ranks, and the runs of every candidate's folds, side by side
on threads. `cv_select.CVSelect` chooses with it.

Each candidate (a registered method name and its parameters) is refit per fold on the data with
that fold's pairs held out: their rows stay in as unpaired rows, so each fold sees the same
unpaired data the final fit sees. Every held-out pair is ranked against all rows of the other
modality (`ranking.paired_reciprocal_ranks`), both directions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.data import WeaklyPairedData
from sue_framework.model_selection.ranking import paired_reciprocal_ranks
from sue_framework.registry import registry
from sue_framework.runtime.engine import engine_for
from sue_framework.runtime.settings import with_policy
from sue_framework.runtime.threads import map_fits

POLICY_HOW = "the seed and device of CVSelect (or Auto) itself"
Candidate = tuple[str, dict[str, Any]]


def _label(c: Candidate) -> str:
    name, params = c
    return name + ("" if not params else " " + ", ".join(f"{k}={v}" for k, v in params.items()))


def _cv_plan(
    data: WeaklyPairedData, folds: int, seed: int, max_gallery: int, draw: int = 0
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(held-out pair indices, y gallery rows, x gallery rows) of each fold.

    A gallery is every row of its modality, or a seeded sample of `max_gallery` rows plus the
    held-out targets on larger data. Each `draw` of a seed deals the pairs into folds anew.
    """
    rng = np.random.default_rng(seed if draw == 0 else [seed, draw])
    plan = []
    for held in np.array_split(rng.permutation(data.n_pairs), folds):
        galleries = []
        for rows, col in ((data.y.shape[0], 1), (data.x.shape[0], 0)):
            gallery = np.arange(rows)
            if rows > max_gallery:
                targets = data.pairs[held, col]
                gallery = np.union1d(rng.choice(rows, max_gallery, replace=False), targets)
            galleries.append(gallery)
        plan.append((held, galleries[0], galleries[1]))
    return plan


def _fold_scores(
    name: str,
    params: dict,
    data: WeaklyPairedData,
    held: np.ndarray,
    gallery_y: np.ndarray,
    gallery_x: np.ndarray,
    seed: int,
    device: str,
    widths: tuple[int, ...] = (),
) -> tuple[list[np.ndarray], float]:
    """Reciprocal ranks of one fold's held-out pairs (x -> y, then y -> x) for the fitted
    candidate, then for its first r output columns for each r in `widths`; and the seconds."""
    t0 = time.perf_counter()
    train = data.subset(np.delete(data.pairs, held, axis=0))
    settings = with_policy(params, name, POLICY_HOW, seed=seed, device=device)
    model = registry.get("method", name)(**settings).fit(train)
    # each gallery holds the held-out rows of its side, so they serve as the queries too
    zx, zy = model.transform(data.x[gallery_x], "x"), model.transform(data.y[gallery_y], "y")
    i = np.searchsorted(gallery_x, data.pairs[held, 0])
    j = np.searchsorted(gallery_y, data.pairs[held, 1])
    scores = [paired_reciprocal_ranks(zx[:, :r], zy[:, :r], i, j) for r in (None, *widths)]
    return scores, time.perf_counter() - t0


def _cv_runs(
    candidates: Sequence[Candidate],
    data: WeaklyPairedData,
    folds: int,
    seed: int,
    device: str,
    n_jobs: int | str,
    max_gallery: int = 20000,
    nested: dict[int, tuple[int, int]] | None = None,
    costly: set[int] | None = None,
    draw: int = 0,
    only: set[int] | None = None,
    fold_ids: Sequence[int] | None = None,
) -> list[tuple[np.ndarray | None, float]]:
    """Per candidate: its held-out reciprocal ranks (`_in_pair_order`), and the seconds its
    fits took (summed over folds). Every (candidate, fold) fit is one task for
    `threads.map_fits`. With `fold_ids`, only those folds of the deal are fitted and the
    queries of the others are NaN.

    `nested` maps a candidate's index to (index of a wider candidate, r) when the candidate's
    output equals the first r columns of that one's: it is scored on those columns of the
    wider candidate's fits, with no fits of its own (its seconds are 0). The folds of
    candidates in `costly` are scheduled as `map_fits`'s long fits. `draw` deals the pairs
    into other folds (`_cv_plan`); with `only`, the other candidates are not scored (None).
    """
    nested = nested or {}
    wanted = set(range(len(candidates))) if only is None else set(only)
    plan = _cv_plan(data, folds, seed, max_gallery, draw)
    if fold_ids is not None:
        plan = [plan[f] for f in fold_ids]
    parents = {nested[c][0] for c in wanted if c in nested}  # fitted for a wanted child
    fitted = [k for k in range(len(candidates)) if k not in nested and k in wanted | parents]
    children = {k: [c for c, (p, _) in nested.items() if p == k and c in wanted] for k in fitted}
    tasks = [
        (*candidates[k], data, *fold, seed, device, tuple(nested[c][1] for c in children[k]))
        for k in fitted
        for fold in plan
    ]
    long = [k in (costly or ()) for k in fitted for _ in plan]
    done = map_fits(
        _fold_scores,
        tasks,
        engine_for(device).device,
        n_jobs,
        desc="pair cross-validation",
        costly=long,
    )
    runs: dict[int, tuple[np.ndarray | None, float]] = {}
    for i, k in enumerate(fitted):
        mine = done[i * len(plan) : (i + 1) * len(plan)]
        seconds = float(sum(t for _, t in mine))
        if k in wanted:
            runs[k] = (_in_pair_order([r[0] for r, _ in mine], plan, data.n_pairs), seconds)
        for j, c in enumerate(children[k], start=1):
            runs[c] = (_in_pair_order([r[j] for r, _ in mine], plan, data.n_pairs), 0.0)
    return [runs.get(k, (None, 0.0)) for k in range(len(candidates))]


def _in_pair_order(
    folds: list[np.ndarray], plan: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_pairs: int
) -> np.ndarray:
    """The folds' reciprocal ranks (each fold's x -> y queries, then its y -> x ones) as one
    array by pair: x -> y of pairs 0 .. m-1, then y -> x of the same, whatever the fold
    split, so that draws of the folds line up query by query; NaN for pairs of folds not in
    `plan`."""
    out = np.full(2 * n_pairs, np.nan)
    for (held, _, _), ranks in zip(plan, folds, strict=True):
        out[held], out[n_pairs + held] = ranks[: held.size], ranks[held.size :]
    return out


def method_cv_scores(
    name: str,
    params: dict,
    data: WeaklyPairedData,
    *,
    folds: int = 5,
    seed: int = 0,
    device: str = "auto",
    max_gallery: int = 20000,
    n_jobs: int | str = 1,
) -> np.ndarray:
    """Reciprocal ranks of every held-out pair over `folds` folds of the pairs (x -> y of
    pairs 0 .. m-1, then y -> x of the same).

    The gallery is every row of the other modality, or a seeded sample of `max_gallery` rows
    plus the held-out targets on larger data. `n_jobs` > 1 fits folds side by side
    (`threads.map_fits`: only for methods that draw no global random numbers).

    Parameters
    ----------
    name : str
        A registered method.
    params : dict
        Its parameters (not seed or device).
    data : WeaklyPairedData
        The data whose pairs are folded.
    folds : int
        Folds of the pairs.
    seed : int
        Seeds the folds and every fit.
    device : str
        Where the fits run.
    max_gallery : int
        Rows of the other side each query is ranked against at most (a seeded sample beyond).
    n_jobs : int or "auto"
        Folds fitted side by side on threads.
    """
    ranks = _cv_runs([(name, params)], data, folds, seed, device, n_jobs, max_gallery)[0][0]
    assert ranks is not None, "the one candidate is always scored"
    return ranks
