"""`auto`, the recommended method: `CVSelect` (cv_select.py) over a grid of tuned pair-only
baselines and of the methods that use the unpaired rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sue_framework.components.self_learning import MINE_MAX_ROWS, mining_engine
from sue_framework.data import WeaklyPairedData
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.cv_select import Candidate, CVSelect
from sue_framework.registry import registry

FAMILIES = ("pair_cca", "asif", "semi_cca", "self_train")
PAIR_ONLY = ("pair_cca", "asif")
# ASIF's sharpness (power) and sparsity (nonzero similarities kept; None keeps all anchors)
ASIF_GRID = tuple({"power": p, "n_nonzero": k} for k in (None, 10) for p in (2.0, 8.0, 32.0))


# auto's cross-validation budget: the unpaired sample, and the self-learning loops' convergence
# in the folds (None: their own); benchmarks/studies/cv_budget.py measures a budget's choices
# against the full one on the real suite (docs/scale.md#the-cross-validation-budget)
CV_MAX_ROWS, CV_TOL, CV_PATIENCE = 4000, 3e-4, None
# deals of the pairs into folds for the candidates other than self-learning (cheap to refit);
# benchmarks/studies/cv_repeats.py measures the choices on the real suite (docs/wide_suite.md)
CV_REPEATS = 5
# self-learning's folds stop early once it leads or trails the best cheap candidate by this many
# paired standard errors; benchmarks/studies/cv_stop.py replays the real suite's stored folds
CV_STOP_Z = 3.0


def _dims(n_pairs: int, grid: Sequence[int]) -> list[int]:
    """Output widths of `grid` that `n_pairs` pairs support (CCA needs more pairs than dims).
    A width is lowered to what the pairs support, but never to 1 unless the grid asks for 1:
    in one dimension every cosine is +-1, so the map cannot rank."""
    return sorted({w for r in grid if (w := int(min(r, n_pairs - 1))) >= 2 or (w == r == 1)})


class Auto(CVSelect):
    """The recommended method: pair CV over tuned pair-only baselines and the methods that use
    the unpaired rows (see `CVSelect`).

    Candidates of each of `families`:

    - "pair_cca": CCA on the raw features of the pairs, at each width of `dims` that every
      fold's pairs support (CCA needs more pairs than dimensions);
    - "asif": relative representations to the anchor pairs (when the sue_baselines plugin is
      installed), at each setting of `asif_grid` (by default `ASIF_GRID`: power x sparsity);
    - "semi_cca": semi-supervised CCA (covariances from every row), at each width of
      `unpaired_dims`;
    - "self_train": self-learning to convergence (`SelfLearning`: a dictionary induced over
      every row, refit until it stops improving), at each width of `unpaired_dims`; after the
      first iteration it fits on thousands of pseudo-pairs, so its width is not capped by the
      pairs.

    With the default families, `auto`'s candidates contain every candidate of
    `auto(pair_only=True)`, which keeps only "pair_cca" and "asif": the same CV budget spent on
    tuning the pair-only baselines, for fair comparisons. No candidate is a map of width 1
    unless `dims` asks for it (every cosine would tie); with fewer pairs than cross-validation
    needs (2 x `folds`), the first candidate is taken untested and the fit warns
    (`fit_warnings_`, kept in the model card).

    Every family is linear and draws no global random numbers, so folds are fitted side by side
    on the CPU's cores (`n_jobs="auto"`, one torch thread each; `threads.parallel_plan`).
    Narrower widths of "pair_cca" and "self_train" are scored on the widest one's fits
    (`_nested`): CCA at r dimensions is the first r columns of CCA at more, and every
    self-learning width shares one loop and one shrinkage (`select_components`). The folds'
    self-learning mines its dictionary with the candidate search that the refit runs on the
    whole pool (`_fold_candidates`): exactly where the refit mines exactly, with faiss IVF
    where the refit's mined rows pass the exact limit.

    What each setting's default was chosen on, with the figures and the commands behind them:
    [The wide suite](../wide_suite.md) (the rule, `cv_score`, `cv_repeats`, `cv_stop_z`) and
    [Scale](../scale.md#the-cross-validation-budget) (`cv_max_rows`, `cv_tol`, `cv_patience`,
    the folds' search).

    Parameters
    ----------
    dims : sequence of int
        Widths tried for "pair_cca" (those the fold's pairs support). Default (4, 8, 16, 32,
        64).
    unpaired_dims : sequence of int
        Widths tried for "semi_cca" and "self_train". Default (32, 64).
    families : sequence of str
        Candidate families, a subset of "pair_cca", "asif", "semi_cca", "self_train"
        (default: all four).
    pair_only : bool
        Keep only the families that use the pairs alone ("pair_cca", "asif"): the tuned
        pair-only baseline. Default False.
    asif_grid : sequence of dict, optional
        ASIF settings tried (its `power` and `n_nonzero`); None: `ASIF_GRID`.
    rule : str
        "best" (default: the best CV mean) or "one_se" (the first, cheapest, candidate within
        one paired standard error of the best, so a method using the unpaired rows is chosen
        only when it beats the pair-only ones by more than the noise of the held-out pairs).
    folds : int
        Folds of the pairs, at least 2 (default 5); a held-out pair's x row is ranked against
        every y row of the training fold (and the other way round).
    cv_max_rows : int or None
        Cross-validation uses at most this many unpaired rows a side (a seeded sample), so its
        cost does not grow with the pool; the refit uses every row. None: all rows. Default
        `CV_MAX_ROWS` (4,000).
    cv_tol, cv_patience : float and int, or None
        Convergence of the self-learning loops in the folds only (`SelfLearning`'s `tol`, >= 0,
        and `patience`, >= 1; None: the loop's own, 1e-4 and 5); the refit always converges
        fully. Defaults 3e-4 and None: the folds only rank the candidates.
    n_jobs : int or "auto"
        Folds fitted side by side on CPU threads ("auto", the default: as the free cores allow).
    device : str
        Where the work runs: "auto" (default: CUDA when present), "cpu", "cuda" or "cuda:N".
    seed : int or None
        Seeds every random choice (folds, initialisations, minibatches), so a fit repeats
        exactly; None draws a fresh seed. Default 0.
    cv_score : str
        What each held-out pair scores from its rank r: "log_rank" (default, -log r: a
        candidate that ranks every partner 10th beats one that ranks a few first and the rest
        in the hundreds), "root_rank" (1/sqrt r) or "reciprocal_rank" (1/r).
    cv_repeats : int
        Deals of the pairs into folds for every family but "self_train" (whose folds cost
        tens of iterations over the pool), at least 1 (default 5): each held-out pair scores
        its mean over the deals, since with few pairs which cheap candidate wins one deal is
        partly the luck of the split. The cheap candidates' winner meets self-learning on the
        first deal, which both were scored on (`selection.choose_dealt`); under the "best"
        rule the other deals are dealt only where a cheap candidate leads self-learning on
        the first deal, the only case in which they can change the choice.
    cv_stop_z : float or None
        Self-learning's folds run two at a time after the cheap candidates' first deal, and
        stop once self-learning leads or trails the best cheap candidate by this many paired
        standard errors on the pairs held out so far (`CVSelect`). A number > 0 (default 3),
        or None: all folds.
    """

    @keyword_only
    def __init__(
        self,
        dims: Sequence[int] = (4, 8, 16, 32, 64),
        *,
        unpaired_dims: Sequence[int] = (32, 64),
        families: Sequence[str] = FAMILIES,
        pair_only: bool = False,
        asif_grid: Sequence[dict] | None = None,
        rule: str = "best",
        folds: int = 5,
        cv_max_rows: int | None = CV_MAX_ROWS,
        cv_tol: float | None = CV_TOL,
        cv_patience: int | None = CV_PATIENCE,
        n_jobs: int | str = "auto",
        device: str = "auto",
        seed: int | None = 0,
        cv_score: str = "log_rank",
        cv_repeats: int = CV_REPEATS,
        cv_stop_z: float | None = CV_STOP_Z,
    ) -> None:
        self.dims = dims
        self.unpaired_dims = unpaired_dims
        self.families = families
        self.pair_only = pair_only
        self.asif_grid = asif_grid
        self.cv_tol = cv_tol
        self.cv_patience = cv_patience
        super().__init__(
            candidates=(),
            folds=folds,
            cv_max_rows=cv_max_rows,
            rule=rule,
            n_jobs=n_jobs,
            device=device,
            seed=seed,
            cv_score=cv_score,
            cv_repeats=cv_repeats,
            cv_stop_z=cv_stop_z,
        )

    def _asif_grid(self, fold_pairs: int) -> list[dict]:
        """ASIF settings to try, without sparsities that keep every anchor of a fold anyway."""
        out: list[dict] = []
        for q in ASIF_GRID if self.asif_grid is None else self.asif_grid:
            p: dict[str, Any] = dict(q)
            if p.get("n_nonzero") is not None and p["n_nonzero"] >= fold_pairs:
                p["n_nonzero"] = None
            if p not in out:
                out.append(p)
        return out

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise InputError(f"unknown families {sorted(unknown)}; known: {FAMILIES}")
        # widths every fold's training pairs and both inputs support, so the refit is the model
        # that CV scored; self-learning's dictionary lifts the pairs' cap. Too few pairs for CV
        # (`CVSelect`): the refit's own pairs are the cap
        fold_pairs = n_pairs - -(-n_pairs // self.folds)
        if n_pairs < 2 * self.folds:
            fold_pairs = n_pairs
        supported = min(fold_pairs, width + 1)
        cands: list[Candidate] = []
        for family in FAMILIES:  # cheapest first: the order "one_se" prefers
            if family not in self.families or (self.pair_only and family not in PAIR_ONLY):
                continue
            if family == "pair_cca":
                cands += [(family, {"out_dim": r}) for r in _dims(supported, self.dims)]
            elif family == "asif":
                if "asif" in registry.names("method") and fold_pairs >= 2:  # 1 anchor: width 1
                    cands += [("asif", p) for p in self._asif_grid(fold_pairs)]
            elif family == "semi_cca":
                cands += [(family, {"out_dim": r}) for r in _dims(supported, self.unpaired_dims)]
            elif n_pairs >= 2:  # self-learning starts from CCA on the pairs
                widths = _dims(width + 1, self.unpaired_dims)
                shared = {"select_components": max(widths)}
                cands += [(family, {"out_dim": r, "aligner_params": shared}) for r in widths]
        if not cands:
            families = ", ".join(self.families)
            raise InputError(
                f"{n_pairs} pair(s) are too few for any of auto's candidates ({families}): CCA "
                "to 2 dimensions needs 3 pairs, ASIF and self-learning 2; add pairs (sue "
                "suggest says which rows to pair first)"
            )
        return cands

    def fit(self, data: WeaklyPairedData, y: None = None) -> Auto:
        if self.cv_tol is not None and not self.cv_tol >= 0.0:
            raise InputError(f"cv_tol must be >= 0 or None, got {self.cv_tol}")
        if self.cv_patience is not None and self.cv_patience < 1:
            raise InputError(f"cv_patience must be >= 1 or None, got {self.cv_patience}")
        super().fit(data)
        return self

    def _fold_candidates(self, cands: list[Candidate], data: WeaklyPairedData) -> list[Candidate]:
        """Self-learning candidates with the folds' convergence (`cv_tol`, `cv_patience`) and
        the candidate search that the refit runs on all of `data` (`mining_engine`): the folds
        mine a sample of at most `cv_max_rows` rows a side, where the exact search would be
        chosen, while the refit of a large pool mines with IVF."""
        loose = {
            k: v for k, v in (("tol", self.cv_tol), ("patience", self.cv_patience)) if v is not None
        }
        out = []
        for n, p in cands:
            if n == "self_train":
                own = p.get("aligner_params", {})
                knn = mining_engine(
                    own.get("knn", "auto"),
                    data.x.shape[0],
                    data.y.shape[0],
                    own.get("max_rows", MINE_MAX_ROWS),
                )
                p = {**p, "aligner_params": {**own, **loose, "knn": knn}}
            out.append((n, p))
        return out

    def _costly(self, cands: list[Candidate]) -> set[int]:
        """Self-learning: its folds mine every unpaired row for tens of iterations, where the
        linear candidates' take a fraction of a second."""
        return {k for k, (family, _) in enumerate(cands) if family == "self_train"}

    def _nested(self, cands: list[Candidate]) -> dict[int, tuple[int, int]]:
        """CCA at r dims is the first r columns of CCA at more (same whitening, same SVD);
        self-learning at every width shares one loop and the shrinkage chosen at the widest
        (`select_components`), so likewise. Not semi-CCA: its shrinkage is chosen by ranking at
        its own width."""
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
