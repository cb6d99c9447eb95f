"""SUE-select: SUE whose first stage is chosen per data set by cross-validation on the pairs.

Candidates are feature sets for the aligner: the spectral embedding ("se", SUE as published),
spectral and raw features side by side ("se+raw") and the raw features alone ("raw"). With few
pairs the spectral embedding carries the alignment; with more pairs the raw features' linear
signal becomes usable, and a fixed choice loses somewhere. Each candidate is scored by the mean
reciprocal rank of held-out pairs against the whole unpaired gallery (`selection.pair_cv_scores`);
the first candidate (in the given order) within one paired standard error of the best wins
(`selection.choose`, the rule `auto` uses too), which leans to the spectral embedding when the
pairs cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.engine import engine_for, fit_context
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, nest_state, unnest_state
from sue_framework.pipeline import SUE
from sue_framework.registry import registry
from sue_framework.selection import choose, pair_cv_scores


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


class SUESelect(Method):
    """SUE with its feature set chosen by pair cross-validation (see the module docstring).

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
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    seed : int or None
        Seeds every random choice (folds, initialisations, minibatches), so a fit repeats
        exactly; None draws a fresh seed.
    verbose : bool
        Progress bars for the learned stages' epochs.
    """

    def __init__(
        self,
        candidates: Sequence[str] = ("se", "se+raw", "raw"),
        folds: int = 5,
        se_dim: int = 10,
        out_dim: int = 8,
        solver_params: dict | None = None,
        aligner: Any = "cca",
        aligner_params: dict | None = None,
        matcher: Any = "mmd",
        matcher_params: dict | None = None,
        device: str = "auto",
        seed: int | None = 0,
        verbose: bool = False,
    ) -> None:
        self.candidates = candidates
        self.folds = folds
        self.se_dim = se_dim
        self.out_dim = out_dim
        self.solver_params = solver_params
        self.aligner = aligner
        self.aligner_params = aligner_params
        self.matcher = matcher
        self.matcher_params = matcher_params
        self.device = device
        self.seed = seed
        self.verbose = verbose

    def _sue(self, choice: str) -> SUE:
        solver, params = candidate_solver(choice, self.solver_params)
        return SUE(
            solver=solver,
            solver_params=params,
            aligner=self.aligner,
            aligner_params=self.aligner_params,
            matcher=self.matcher,
            matcher_params=self.matcher_params,
            se_dim=self.se_dim,
            out_dim=self.out_dim,
            device=self.device,
            seed=self.seed,
            verbose=self.verbose,
        )

    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> SUESelect:
        data = training_data(data, "SUESelect")
        if not self.candidates:
            raise InputError("candidates must name at least one feature set")
        for c in self.candidates:
            candidate_solver(c, None)
        if self.folds < 2:
            raise InputError(f"folds must be >= 2, got {self.folds}")
        self.cv_scores_: dict[str, float] = {}
        choice = self.candidates[0]
        if len(self.candidates) > 1 and data.n_pairs >= 2 * self.folds:
            per_query = {c: self._cv(c, data) for c in self.candidates}
            self.cv_per_query_ = per_query
            self.cv_scores_ = {c: float(v.mean()) for c, v in per_query.items()}
            choice = self.candidates[choose(per_query, list(self.candidates), "one_se")]
        self.choice_ = choice
        self.model_ = self._sue(choice).fit(data)
        self.training_ = data.summary()
        return self

    def _cv(self, choice: str, data: WeaklyPairedData) -> np.ndarray:
        solver, params = candidate_solver(choice, self.solver_params)
        defaults = {"n_components": self.se_dim, "seed": self.seed, "device": self.device}
        fx = registry.build("solver", solver, params, defaults).fit_transform(data.x)
        fy = registry.build("solver", solver, params, defaults).fit_transform(data.y)

        def make_aligner(dim: int):
            return registry.build(
                "aligner",
                self.aligner,
                self.aligner_params,
                {"n_components": dim, "seed": self.seed, "device": self.device},
            )

        return pair_cv_scores(
            fx,
            fy,
            data.pairs,
            make_aligner,
            folds=self.folds,
            out_dim=self.out_dim,
            seed=engine_for(self.device, self.seed).seed,
        )

    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        return self._model().transform(X, modality)

    def stage_outputs(self, X: Any, modality: str = "x") -> dict[str, np.ndarray]:
        """Each stage's output for rows of `modality` (see `SUE.stage_outputs`)."""
        return self._model().stage_outputs(X, modality)

    def _model(self) -> SUE:
        if not hasattr(self, "model_"):
            raise NotFittedError("this SUESelect is not fitted yet; call fit(data) first")
        return self.model_

    def get_state(self) -> dict[str, np.ndarray]:
        state = nest_state("model", self._model().get_state())
        state["choice"] = np.asarray([list(self.candidates).index(self.choice_)])
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.choice_ = list(self.candidates)[int(np.asarray(state["choice"]).ravel()[0])]
        model = self._sue(self.choice_)
        model.set_state(unnest_state("model", state))
        self.model_ = model
