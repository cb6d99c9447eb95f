"""SUE-select: SUE whose first stage is chosen per data set by cross-validation on the pairs.

Candidates are feature sets for the aligner: the spectral embedding ("se", SUE as published),
spectral and raw features side by side ("se+raw") and the raw features alone ("raw"). With few
pairs the spectral embedding carries the alignment; with more pairs the raw features' linear
signal becomes usable, and a fixed choice loses somewhere. Each candidate is scored by the mean
reciprocal rank of held-out pairs against the whole unpaired gallery (`selection.pair_cv_scores`);
the first candidate (in the given order) within one paired standard error of the best wins
(`selection.choose`, the rule `auto` uses too), which leans to the spectral embedding when the
pairs cannot tell them apart.

It is a `CVSelect` over SUE with each feature set: the choice, the refit, the fitted attributes
and model files are CVSelect's. Only the cross-validation differs: the spectral embedding is
computed once per modality from every row (it uses no pairs), and the folds refit the aligner
alone on it, not whole SUE models.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.data import WeaklyPairedData
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.cv_select import Candidate, CVSelect
from sue_framework.model_selection.selection import pair_cv_scores
from sue_framework.registry import registry


def candidate_solver(name: str, solver_params: dict | None) -> tuple[str, dict | None]:
    """(solver name, solver params) of a candidate feature set.

    Parameters
    ----------
    name : str
        "se", "se+raw" or "raw".
    solver_params : dict, optional
        Parameters of the exact spectral solver.
    """
    if name == "se":
        return "exact", solver_params
    if name == "se+raw":
        return "concat", {"parts": ["exact", "identity"], "parts_params": [solver_params, None]}
    if name == "raw":
        return "identity", None
    raise InputError(f"unknown candidate {name!r}; candidates are 'se', 'se+raw' and 'raw'")


class SUESelect(CVSelect):
    """SUE with its feature set chosen by pair cross-validation (see the module docstring).

    After fit: `choice_` is the chosen feature set ("se", "se+raw" or "raw"), `cv_scores_` and
    `cv_sem_` each candidate's mean reciprocal rank and its standard error, `cv_per_query_`
    the held-out queries' reciprocal ranks, `model_` the refit SUE (see `CVSelect`).

    Parameters
    ----------
    candidates : sequence of str
        Feature sets tried, in order of preference on ties: "se" (spectral embedding), "se+raw"
        and "raw".
    folds : int
        Folds of the pairs for cross-validation.
    se_dim : int
        Spectral dimensions of the "se" and "se+raw" candidates.
    out_dim : int
        Dimensions of the shared space.
    solver_params : dict, optional
        Parameters of the exact spectral solver of the "se" parts.
    aligner : str or Aligner
        The aligner of every candidate (name or instance).
    aligner_params : dict, optional
        Parameters of an aligner given by name.
    matcher : str or DistributionMatcher
        The matcher of every candidate (name or instance).
    matcher_params : dict, optional
        Parameters of a matcher given by name.
    rule : str
        "one_se" (the first candidate within one paired standard error of the best) or "best"
        (the best mean).
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    seed : int or None
        Seeds every random choice (folds, initialisations, minibatches), so a fit repeats
        exactly; None draws a fresh seed.
    verbose : bool
        Progress bars for the learned stages' epochs.
    """

    @keyword_only
    def __init__(
        self,
        candidates: Sequence[str] = ("se", "se+raw", "raw"),
        *,
        folds: int = 5,
        se_dim: int = 10,
        out_dim: int = 8,
        solver_params: dict | None = None,
        aligner: Any = "cca",
        aligner_params: dict | None = None,
        matcher: Any = "mmd",
        matcher_params: dict | None = None,
        rule: str = "one_se",
        device: str = "auto",
        seed: int | None = 0,
        verbose: bool = False,
    ) -> None:
        # every row enters the spectral embedding, so the CV takes no sample and one process
        super().__init__(
            (), folds=folds, cv_max_rows=None, rule=rule, n_jobs=1, device=device, seed=seed
        )
        self.candidates = candidates
        self.se_dim = se_dim
        self.out_dim = out_dim
        self.solver_params = solver_params
        self.aligner = aligner
        self.aligner_params = aligner_params
        self.matcher = matcher
        self.matcher_params = matcher_params
        self.verbose = verbose

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        """SUE with each feature set of `candidates` (the same for any data)."""
        out = []
        for choice in self.candidates:
            solver, params = candidate_solver(choice, self.solver_params)
            sue = {
                "solver": solver,
                "solver_params": params,
                "aligner": self.aligner,
                "aligner_params": self.aligner_params,
                "matcher": self.matcher,
                "matcher_params": self.matcher_params,
                "se_dim": self.se_dim,
                "out_dim": self.out_dim,
                "verbose": self.verbose,
            }
            out.append(("sue", sue))
        if not out:
            raise InputError("candidates must name at least one feature set")
        return out

    def _labels(self, cands: list[Candidate]) -> list[str]:
        return [str(c) for c in self.candidates]

    def _cross_validate(
        self,
        data: WeaklyPairedData,
        cands: list[Candidate],
        seed: int,
        draw: int = 0,
        only: set[int] | None = None,
        fold_ids: Sequence[int] | None = None,
    ) -> list[tuple[np.ndarray | None, float]]:
        """Each feature set's held-out reciprocal ranks (`_cv`) and its seconds: one deal of
        the folds, all of them (its spectral features are fit once per candidate, the costly
        part)."""
        if draw != 0 or fold_ids is not None:
            raise InputError("sue_select scores every fold of one deal (cv_repeats=1)")
        runs: list[tuple[np.ndarray | None, float]] = []
        for choice in self.candidates:
            t0 = time.perf_counter()
            scores = self._cv(choice, data, seed)
            runs.append((scores, time.perf_counter() - t0))
        return runs

    def _cv(self, choice: str, data: WeaklyPairedData, seed: int) -> np.ndarray:
        """Reciprocal ranks of the held-out pairs for the aligner on `choice`'s features, which
        are computed from every row of each modality."""
        solver, params = candidate_solver(choice, self.solver_params)
        defaults = {"n_components": self.se_dim, "seed": seed, "device": self.device}
        fx = registry.build("solver", solver, params, defaults).fit_transform(data.x)
        fy = registry.build("solver", solver, params, defaults).fit_transform(data.y)

        def make_aligner(dim: int):
            return registry.build(
                "aligner",
                self.aligner,
                self.aligner_params,
                {"n_components": dim, "seed": seed, "device": self.device},
            )

        return pair_cv_scores(
            fx, fy, data.pairs, make_aligner, folds=self.folds, out_dim=self.out_dim, seed=seed
        )

    def stage_outputs(self, X: Any, modality: str = "x") -> dict[str, np.ndarray]:
        """Each stage's output for rows of `modality` (see `SUE.stage_outputs`)."""
        return self._model().stage_outputs(X, modality)

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        # files written before SUESelect was a CVSelect hold neither; its candidates need neither
        super().set_state({"n_pairs": np.asarray([0]), "width": np.asarray([0]), **state})
