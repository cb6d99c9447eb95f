"""Choosing a whole method by cross-validation on the pairs: `CVSelect`, and `auto` built on it.

Each candidate (a registered method name and its parameters) is refit per fold on the data with
that fold's pairs held out: their rows stay in as unpaired rows, so each fold sees the same
unpaired data the final fit sees. Every held-out pair is ranked against all rows of the other
modality (`ranking.reciprocal_ranks`), both directions. The rule is noise-aware: the first
candidate in the given order whose mean reciprocal rank is within one standard error of the
best wins (the standard error of the per-query differences: every candidate is scored on the
same held-out pairs), so a later candidate must beat an earlier one by more than the noise of
the pairs. The chosen candidate is then refit on all pairs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.engine import engine_for, map_fits
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, nest_state, unnest_state
from sue_framework.ranking import reciprocal_ranks
from sue_framework.registry import registry

Candidate = tuple[str, dict[str, Any]]

log = logging.getLogger(__name__)


def _label(c: Candidate) -> str:
    name, params = c
    return name + ("" if not params else " " + ", ".join(f"{k}={v}" for k, v in params.items()))


def _cv_plan(
    data: WeaklyPairedData, folds: int, seed: int, max_gallery: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(held-out pair indices, y gallery rows, x gallery rows) of each fold.

    A gallery is every row of its modality, or a seeded sample of `max_gallery` rows plus the
    held-out targets on larger data.
    """
    rng = np.random.default_rng(seed)
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
    train = WeaklyPairedData(data.x, data.y, np.delete(data.pairs, held, axis=0))
    model = registry.get("method", name)(**{"seed": seed, "device": device, **params}).fit(train)
    scores: list[list[np.ndarray]] = [[] for _ in range(1 + len(widths))]
    for q_src, q_mod, q_col, g_src, g_mod, g_col, gallery in (
        (data.x, "x", 0, data.y, "y", 1, gallery_y),
        (data.y, "y", 1, data.x, "x", 0, gallery_x),
    ):
        zg = model.transform(g_src[gallery], g_mod)
        zq = model.transform(q_src[data.pairs[held, q_col]], q_mod)
        targets = np.searchsorted(gallery, data.pairs[held, g_col])
        for out, r in zip(scores, (None, *widths), strict=True):
            out.append(reciprocal_ranks(zq[:, :r], zg[:, :r], targets))
    return [np.concatenate(s) for s in scores], time.perf_counter() - t0


def _cv_runs(
    candidates: Sequence[Candidate],
    data: WeaklyPairedData,
    folds: int,
    seed: int,
    device: str,
    n_jobs: int | str,
    max_gallery: int = 20000,
    nested: dict[int, tuple[int, int]] | None = None,
) -> list[tuple[np.ndarray, float]]:
    """Per candidate: its held-out reciprocal ranks over all folds, and the seconds its fits
    took (summed over folds). Every (candidate, fold) fit is one task for `engine.map_fits`.

    `nested` maps a candidate's index to (index of a wider candidate, r) when the candidate's
    output equals the first r columns of that one's: it is scored on those columns of the
    wider candidate's fits, with no fits of its own (its seconds are 0).
    """
    nested = nested or {}
    plan = _cv_plan(data, folds, seed, max_gallery)
    fitted = [k for k in range(len(candidates)) if k not in nested]
    children = {k: [c for c, (p, _) in nested.items() if p == k] for k in fitted}
    tasks = [
        (*candidates[k], data, *fold, seed, device, tuple(nested[c][1] for c in children[k]))
        for k in fitted
        for fold in plan
    ]
    done = map_fits(_fold_scores, tasks, engine_for(device).device, n_jobs)
    runs: dict[int, tuple[np.ndarray, float]] = {}
    for i, k in enumerate(fitted):
        mine = done[i * folds : (i + 1) * folds]
        runs[k] = (np.concatenate([r[0] for r, _ in mine]), float(sum(t for _, t in mine)))
        for j, c in enumerate(children[k], start=1):
            runs[c] = (np.concatenate([r[j] for r, _ in mine]), 0.0)
    return [runs[k] for k in range(len(candidates))]


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
    """Reciprocal ranks of every held-out pair (both directions) over `folds` folds of the pairs.

    The gallery is every row of the other modality, or a seeded sample of `max_gallery` rows
    plus the held-out targets on larger data. `n_jobs` > 1 fits folds side by side
    (`engine.map_fits`: only for methods that draw no global random numbers).
    """
    return _cv_runs([(name, params)], data, folds, seed, device, n_jobs, max_gallery)[0][0]


class CVSelect(Method):
    """Fits the candidate method that pair cross-validation prefers (module docstring).

    `candidates` lists (method name, params) in order of preference when scores tie (cheapest
    first is the safe default). After fit, `choice_`
    names the winner, `cv_scores_` and `cv_sem_` hold each candidate's mean reciprocal rank and
    its standard error, `cv_seconds_` the time each candidate's folds took, `model_` the refit.
    With fewer than 2 * `folds` pairs cross-validation is not trusted and the first candidate
    is taken. `n_jobs` > 1 (or "auto") fits candidates' folds side by side on CPU threads
    (`engine.map_fits`); use it only for candidates that draw no numbers from a global random
    generator (the linear methods of `Auto`), since threads share it.
    """

    def __init__(
        self,
        candidates: Sequence[Candidate] = (("pair_cca", {}),),
        folds: int = 5,
        n_jobs: int | str = 1,
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.candidates = candidates
        self.folds = folds
        self.n_jobs = n_jobs
        self.device = device
        self.seed = seed

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        """The candidates for data with `n_pairs` pairs whose narrower modality has `width`
        features (subclasses may depend on both)."""
        return [(str(n), dict(p or {})) for n, p in self.candidates]

    def _nested(self, cands: list[Candidate]) -> dict[int, tuple[int, int]]:
        """Candidates whose output is the first r columns of a wider candidate's, as
        {index: (wider index, r)}: cross-validation scores them on that one's fits. None here;
        subclasses that know their methods declare them."""
        return {}

    def fit(self, data: WeaklyPairedData, y: None = None) -> CVSelect:
        data = training_data(data, type(self).__name__)
        if self.folds < 2:
            raise InputError(f"folds must be >= 2, got {self.folds}")
        self.n_pairs_ = data.n_pairs
        self.width_ = int(min(data.x.shape[1], data.y.shape[1]))
        cands = self._candidates(self.n_pairs_, self.width_)
        if not cands:
            raise InputError("candidates must name at least one (method, params)")
        for name, _ in cands:
            registry.get("method", name)  # unknown names fail before any fit
        seed = engine_for(self.device, self.seed).seed
        self.cv_scores_: dict[str, float] = {}
        self.cv_sem_: dict[str, float] = {}
        self.cv_seconds_: dict[str, float] = {}
        chosen = cands[0]
        if len(cands) > 1 and data.n_pairs >= 2 * self.folds:
            runs = _cv_runs(
                cands,
                data,
                self.folds,
                seed,
                self.device,
                self.n_jobs,
                nested=self._nested(cands),
            )
            per_query = {_label(c): r for c, (r, _) in zip(cands, runs, strict=True)}
            self.cv_seconds_ = {_label(c): t for c, (_, t) in zip(cands, runs, strict=True)}
            for k, v in per_query.items():
                self.cv_scores_[k] = float(v.mean())
                self.cv_sem_[k] = float(v.std(ddof=1) / np.sqrt(v.size))
            best = max(self.cv_scores_, key=lambda k: self.cv_scores_[k])
            chosen = next(c for c in cands if _ties(per_query[best], per_query[_label(c)]))
        self.choice_ = _label(chosen)
        self.chosen_ = chosen
        for label, score in self.cv_scores_.items():
            log.info("%s: pair-CV MRR %.4f +- %.4f in %.1f s", label, score,
                     self.cv_sem_[label], self.cv_seconds_.get(label, 0.0))  # fmt: skip
        log.info("%s chose %s; refitting it on all %d pairs", type(self).__name__, self.choice_,
                 data.n_pairs)  # fmt: skip
        name, params = chosen
        self.model_ = registry.get("method", name)(
            **{"seed": self.seed, "device": self.device, **params}
        ).fit(data)
        self.training_ = data.summary()
        return self

    def _model(self) -> Method:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return self.model_

    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        return self._model().transform(X, modality)

    def get_state(self) -> dict[str, np.ndarray]:
        state = nest_state("model", self._model().get_state())
        labels = [_label(c) for c in self._candidates(self.n_pairs_, self.width_)]
        state["choice"] = np.asarray([labels.index(self.choice_)])
        state["n_pairs"] = np.asarray([self.n_pairs_])
        state["width"] = np.asarray([self.width_])
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.n_pairs_ = int(np.asarray(state["n_pairs"]).ravel()[0])
        self.width_ = int(np.asarray(state["width"]).ravel()[0])
        cands = self._candidates(self.n_pairs_, self.width_)
        name, params = cands[int(np.asarray(state["choice"]).ravel()[0])]
        model = registry.get("method", name)(**{"seed": self.seed, "device": self.device, **params})
        model.set_state(unnest_state("model", state))
        self.chosen_, self.choice_, self.model_ = (name, params), _label((name, params)), model


FAMILIES = ("pair_cca", "asif", "semi_cca", "self_train")
PAIR_ONLY = ("pair_cca", "asif")
# ASIF's sharpness (power) and sparsity (nonzero similarities kept; None keeps all anchors)
ASIF_GRID = tuple({"power": p, "n_nonzero": k} for k in (None, 10) for p in (2.0, 8.0, 32.0))


def _ties(best: np.ndarray, other: np.ndarray) -> bool:
    """Whether `other` is within one standard error of `best` on the same held-out queries.

    The comparison is paired: the noise that matters is that of the per-query differences,
    much smaller than either score's own spread when both methods find the same queries hard.
    """
    diff = best - other
    return bool(diff.mean() <= diff.std(ddof=1) / np.sqrt(diff.size))


def _dims(n_pairs: int, grid: Sequence[int]) -> list[int]:
    """Output widths of `grid` that `n_pairs` pairs support (CCA needs more pairs than dims)."""
    return sorted({int(min(r, max(1, n_pairs - 1))) for r in grid})


class Auto(CVSelect):
    """The recommended method: pair CV over cheap pair-only baselines and the methods that use
    the unpaired rows (see `CVSelect`; the tie order is below).

    Candidates of each of `families`, for each width r from `dims` for the pair-only families
    and `unpaired_dims` for the others (pseudo-pairs raise the cross-covariance's rank, so narrow
    widths rarely win there), capped by what every fold's pairs support, except for
    self-training, whose later rounds fit on pseudo-pairs too:
    "pair_cca" (CCA on the raw features of the pairs), "asif" (when the sue_baselines plugin is
    installed), "semi_cca" (semi-supervised CCA; off by default to save time, as "self_train"
    starts from it) and "self_train" (semi-supervised CCA with
    mutual-nearest-neighbour self-training).
    `pair_only=True` keeps only the pair-only baselines: the same CV budget spent on tuning them,
    for fair comparisons. `asif_grid` lists ASIF's parameter settings to try; by default ASIF's
    own defaults, and `ASIF_GRID` (power x sparsity, 6 settings) with `pair_only=True`, so the
    tuned pair-only baseline has about as many candidates as `auto`. Every anchor pair is used:
    fewer anchors only lose information.

    The tie order decides when the pairs cannot tell candidates apart (10-25 pairs: 20-50
    held-out queries). `prefer_unpaired=True` (default) lists the methods that use the unpaired
    rows first, so a pair-only baseline is chosen only when it beats them by more than the
    paired noise; `False` lists the cheapest first. The default follows the real-embedding suite
    (docs/real_embeddings.md), where self-training beat the best pair-only method in 14 of 15
    cells and was never below it by more than one seed-std; on data where the unpaired rows
    mislead, set it to False.

    Every family is linear and draws no global random numbers, so folds are fitted side by side
    on the CPU's cores (`n_jobs="auto"`, one torch thread each; `engine.parallel_plan`). The
    self-training candidates all mine their pseudo-pairs in the widest one's space
    (`mine_components`), so that, like CCA's widths, they are truncations of one fit per fold
    (`_nested`).
    """

    def __init__(
        self,
        dims: Sequence[int] = (16, 32, 64),
        unpaired_dims: Sequence[int] = (32, 64),
        families: Sequence[str] = ("pair_cca", "asif", "self_train"),
        pair_only: bool = False,
        asif_grid: Sequence[dict] | None = None,
        prefer_unpaired: bool = True,
        folds: int = 5,
        n_jobs: int | str = "auto",
        device: str = "auto",
        seed: int | None = 0,
    ) -> None:
        self.dims = dims
        self.unpaired_dims = unpaired_dims
        self.families = families
        self.pair_only = pair_only
        self.asif_grid = asif_grid
        self.prefer_unpaired = prefer_unpaired
        super().__init__(candidates=(), folds=folds, n_jobs=n_jobs, device=device, seed=seed)

    def _asif_grid(self, fold_pairs: int) -> list[dict]:
        """ASIF settings to try, without sparsities that keep every anchor of a fold anyway."""
        grid = (
            self.asif_grid
            if self.asif_grid is not None
            else (ASIF_GRID if self.pair_only else ({},))
        )
        out: list[dict] = []
        for q in grid:
            p: dict[str, Any] = dict(q)
            if p.get("n_nonzero") is not None and p["n_nonzero"] >= fold_pairs:
                p["n_nonzero"] = None
            if p not in out:
                out.append(p)
        return out

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        # widths every fold's training pairs and both inputs support, so the refit is the model
        # that CV scored; self-training's pseudo-pairs lift the pairs' cap after its first round
        fold_pairs = n_pairs - -(-n_pairs // self.folds)
        supported = min(fold_pairs, width + 1)
        dims = {
            f: _dims(supported, self.dims if f in PAIR_ONLY else self.unpaired_dims)
            for f in FAMILIES
        }
        dims["self_train"] = _dims(width + 1, self.unpaired_dims)
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise InputError(f"unknown families {sorted(unknown)}; known: {FAMILIES}")
        cands: list[Candidate] = []
        order = [f for f in FAMILIES if f not in PAIR_ONLY] + list(PAIR_ONLY)
        for family in order if self.prefer_unpaired else FAMILIES:
            if family not in self.families or (self.pair_only and family not in PAIR_ONLY):
                continue
            if family == "asif":
                if "asif" in registry.names("method"):
                    cands += [("asif", p) for p in self._asif_grid(fold_pairs)]
            elif family == "self_train":
                # every width mines in the widest space, so one fit per fold serves all widths
                wide = max(dims[family])
                cands += [
                    (
                        family,
                        {"out_dim": r}
                        if r == wide
                        else {"out_dim": r, "aligner_params": {"mine_components": wide}},
                    )
                    for r in dims[family]
                ]
            else:
                cands += [(family, {"out_dim": r}) for r in dims[family]]
        return cands

    def _nested(self, cands: list[Candidate]) -> dict[int, tuple[int, int]]:
        """CCA at r dims is the first r columns of CCA at more (same whitening, same SVD);
        self-training that mines in the widest space likewise (`mine_components`). Not
        semi-CCA: its shrinkage is chosen by ranking at its own width."""
        nested = {}
        for family in ("pair_cca", "self_train"):
            idx = [k for k, (f, _) in enumerate(cands) if f == family]
            if len(idx) < 2:
                continue
            wide = max(idx, key=lambda k: cands[k][1]["out_dim"])
            for k in idx:
                if k != wide:
                    nested[k] = (wide, cands[k][1]["out_dim"])
        return nested
