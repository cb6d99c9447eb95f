"""Choosing a whole method by cross-validation on the pairs: `CVSelect`, which `auto` (auto.py)
and plugins build on, over the folds' engine (cv_folds.py: `method_cv_scores`).

Each held-out pair scores by its rank (`cv_score`: 1/r by default, -log r in `auto`). The rule
is noise-aware: the first candidate in the given order whose mean score is within one standard
error of the best wins (the standard error of the per-query differences: every candidate is
scored on the same held-out pairs), so a later candidate must beat an earlier one by more than
the noise of the pairs.
With `cv_repeats` the pairs are dealt into folds several times and each held-out pair scores
its mean over the deals (`_costly` candidates keep the first deal; `selection.choose_dealt`).
The chosen candidate is then refit on all pairs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, nest_state, unnest_state
from sue_framework.keywords import keyword_only
from sue_framework.model_selection.folds import (  # noqa: F401  (Candidate, POLICY_HOW: their old home)
    POLICY_HOW,
    Candidate,
    _cv_plan,
    _cv_runs,
    _in_pair_order,
    _label,
    method_cv_scores,
)
from sue_framework.model_selection.selection import (
    CV_SCORES,
    RULES,
    choose_dealt,
    mean_and_sem,
    query_scores,
)
from sue_framework.model_selection.splits import limit_unpaired
from sue_framework.registry import registry
from sue_framework.runtime.engine import engine_for, fit_context
from sue_framework.runtime.settings import check_no_policy, with_policy
from sue_framework.validation import width_error

# folds of a costly candidate fitted between two early-stop checks (`CVSelect.cv_stop_z`): two
# fill a 2-core machine, and a fixed number keeps the choice independent of the cores
STOP_ROUND = 2


log = logging.getLogger(__name__)


class CVSelect(Method):
    """Fits the candidate method that pair cross-validation prefers (module docstring).

    `candidates` lists (method name, params) in order of preference when scores tie (cheapest
    first is the safe default). After fit, `choice_` is the winner's label and
    `choice_candidate_` the winner as (method name, params), `cv_scores_` and `cv_sem_` hold
    each candidate's mean CV score (`cv_score` of each held-out query) and its standard error,
    `cv_per_query_` the reciprocal rank of every held-out query in the first deal of the folds
    (x -> y of each pair in order, then y -> x: the same queries, in the same order, for every
    candidate; NaN for queries of folds a candidate was not fitted on, `cv_stop_z`),
    `cv_draws_` how many deals of the folds scored each candidate (`cv_repeats`), `cv_folds_`
    how many folds of the first deal it was fitted on,
    `cv_seconds_` the time each candidate's folds took, `seed_` the seed of the folds and of the
    refit (drawn once when `seed` is None), `model_` the refit.
    With fewer than 2 * `folds` pairs cross-validation is not trusted and the first candidate
    is taken. `n_jobs` > 1 (or "auto") fits candidates' folds side by side on CPU threads
    (`threads.map_fits`); use it only for candidates that draw no numbers from a global random
    generator (the linear methods of `Auto`), since threads share it.

    Parameters
    ----------
    candidates : sequence of (str, dict)
        (registered method name, parameters) of each candidate, in order of preference on ties.
    folds : int
        Folds of the pairs; a held-out pair's x row is ranked against every y row of the
        training fold (and the other way round).
    cv_max_rows : int or None
        Cross-validation uses at most this many unpaired rows a side (a seeded sample), so its
        cost does not grow with the pool; the refit uses every row. None: all rows.
    rule : str
        "one_se" (the first candidate within one paired standard error of the best) or "best"
        (the best mean).
    n_jobs : int or "auto"
        Candidate folds fitted side by side on CPU threads; only for candidates that draw no
        global random numbers.
    device : str
        Where the work runs: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    seed : int or None
        Seeds every random choice (folds, initialisations, minibatches), so a fit repeats
        exactly; None draws a fresh seed.
    cv_score : str
        What each held-out query scores, from its rank r (`selection.query_scores`):
        "reciprocal_rank" (1/r), "root_rank" (1/sqrt r) or "log_rank" (-log r).
    cv_repeats : int
        Deals of the pairs into folds: each held-out query scores its mean over the deals, so
        the choice rests less on one split. Candidates that `_costly` names are scored on the
        first deal only, and compared with the others on it (`selection.choose_dealt`).
    cv_stop_z : float or None
        Early stop of the `_costly` candidates' folds (None: never). They are fitted
        `STOP_ROUND` folds at a time, after the cheap candidates' first deal; after each round
        but the last, the best of them is compared with the best cheap candidate on the pairs
        held out so far (paired per-query differences of the first deal). When one leads by
        more than `cv_stop_z` standard errors the costly folds stop: a costly lead picks the
        best costly candidate (on the pairs scored), a cheap lead rules the costly ones out.
        The rounds do not depend on the cores, so the choice does not either.
    """

    @keyword_only
    def __init__(
        self,
        candidates: Sequence[Candidate] = (("pair_cca", {}),),
        *,
        folds: int = 5,
        cv_max_rows: int | None = 4000,
        rule: str = "one_se",
        n_jobs: int | str = 1,
        device: str = "auto",
        seed: int | None = 0,
        cv_score: str = "reciprocal_rank",
        cv_repeats: int = 1,
        cv_stop_z: float | None = None,
    ) -> None:
        # (name, params) here; subclasses that build their own candidates keep their own form
        self.candidates: Sequence[Any] = candidates
        self.folds = folds
        self.cv_max_rows = cv_max_rows
        self.rule = rule
        self.n_jobs = n_jobs
        self.device = device
        self.seed = seed
        self.cv_score = cv_score
        self.cv_repeats = cv_repeats
        self.cv_stop_z = cv_stop_z

    def _candidates(self, n_pairs: int, width: int) -> list[Candidate]:
        """The candidates for data with `n_pairs` pairs whose narrower modality has `width`
        features (subclasses may depend on both)."""
        return [(str(n), dict(p or {})) for n, p in self.candidates]

    def _labels(self, cands: list[Candidate]) -> list[str]:
        """How `cv_scores_`, `choice_` and model files name each candidate: its method and
        parameters here; a subclass with shorter names for its candidates gives them."""
        return [_label(c) for c in cands]

    def _nested(self, cands: list[Candidate]) -> dict[int, tuple[int, int]]:
        """Candidates whose output is the first r columns of a wider candidate's, as
        {index: (wider index, r)}: cross-validation scores them on that one's fits. None here;
        subclasses that know their methods declare them."""
        return {}

    def _cross_validate(
        self,
        data: WeaklyPairedData,
        cands: list[Candidate],
        seed: int,
        draw: int = 0,
        only: set[int] | None = None,
        fold_ids: Sequence[int] | None = None,
    ) -> list[tuple[np.ndarray | None, float]]:
        """Each candidate's held-out reciprocal ranks over all folds and its fold seconds
        (`_cv_runs`), under this selector's CV budget, for one `draw` of the folds; with
        `only`, the other candidates are not scored (None); with `fold_ids`, those folds
        alone (NaN for the other queries)."""
        folded = self._fold_candidates(cands, data)
        if self.cv_max_rows is not None:
            # candidates are compared on a sample of the unpaired rows, so the cost of
            # cross-validation does not grow with the pool; the refit sees every row
            data = limit_unpaired(data, self.cv_max_rows, seed)
        return _cv_runs(
            folded,
            data,
            self.folds,
            seed,
            self.device,
            self.n_jobs,
            nested=self._nested(cands),
            costly=self._costly(cands),
            draw=draw,
            only=only,
            fold_ids=fold_ids,
        )

    def _costly(self, cands: list[Candidate]) -> set[int]:
        """Indices of candidates whose folds take far longer than the others' (scheduled
        first, `threads.map_fits`). None here; subclasses that know their methods say."""
        return set()

    def _fold_candidates(self, cands: list[Candidate], data: WeaklyPairedData) -> list[Candidate]:
        """The candidates as the folds fit them (the refit uses `cands` as they are on all of
        `data`): the same here; subclasses may fit versions that rank alike more cheaply."""
        return cands

    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> CVSelect:
        data = training_data(data, type(self).__name__)
        if self.folds < 2:
            raise InputError(f"folds must be >= 2, got {self.folds}")
        if self.rule not in RULES:
            raise InputError(f"rule must be one of {RULES}, got {self.rule!r}")
        if self.cv_score not in CV_SCORES:
            raise InputError(f"cv_score must be one of {CV_SCORES}, got {self.cv_score!r}")
        if isinstance(self.cv_repeats, bool) or not isinstance(self.cv_repeats, int | np.integer):
            raise InputError(f"cv_repeats must be an integer >= 1, got {self.cv_repeats!r}")
        if self.cv_repeats < 1:
            raise InputError(f"cv_repeats must be >= 1, got {self.cv_repeats}")
        if self.cv_stop_z is not None and (
            isinstance(self.cv_stop_z, bool)
            or not isinstance(self.cv_stop_z, int | float | np.number)
            or not 0.0 < self.cv_stop_z < np.inf
        ):
            raise InputError(f"cv_stop_z must be a number > 0 or None, got {self.cv_stop_z!r}")
        if self.cv_max_rows is not None and self.cv_max_rows < 1:
            raise InputError(f"cv_max_rows must be >= 1 or None, got {self.cv_max_rows}")
        if data.n_pairs == 0:
            raise InputError(
                f"{type(self).__name__} chooses a method by cross-validation on the pairs and got "
                "none; give some pairs (sue suggest picks which rows to pair), or use a method "
                "that needs none, such as domain_confusion"
            )
        self.n_pairs_ = data.n_pairs
        self.width_ = int(min(data.x.shape[1], data.y.shape[1]))
        cands = self._candidates(self.n_pairs_, self.width_)
        if not cands:
            raise InputError("candidates must name at least one (method, params)")
        for name, params in cands:
            registry.get("method", name)  # unknown names fail before any fit
            check_no_policy(params, f"candidate {name!r}", POLICY_HOW)
        # one seed for the folds and the refit, also when the caller asked for a fresh one
        seed = self.seed_ = engine_for(self.device, self.seed).seed
        runs: list[tuple[list[np.ndarray], float, int]] = []
        out: set[int] = set()
        if len(cands) > 1 and data.n_pairs >= 2 * self.folds:
            runs, out = self._draws(data, cands, seed)
        labels = self._labels(cands)
        pick = self._record(labels, runs, out)
        chosen, self.choice_ = cands[pick], labels[pick]
        self.choice_candidate_ = chosen
        self.fit_warnings_: list[str] = []
        if len(cands) > 1 and not runs:
            self.fit_warnings_.append(
                f"{data.n_pairs} pairs are too few to choose by cross-validation "
                f"({2 * self.folds} or more are needed), so {type(self).__name__} took its first "
                f"candidate, {self.choice_}, untested; with this few pairs a map is most often "
                "near chance. Add pairs (sue suggest says which rows to pair first)"
            )
        for text in self.fit_warnings_:
            warnings.warn(text, stacklevel=2)
        for label, score in self.cv_scores_.items():
            log.info("%s: pair-CV %s %.4f +- %.4f in %.1f s", label, self.cv_score, score,
                     self.cv_sem_[label], self.cv_seconds_.get(label, 0.0))  # fmt: skip
        log.info("%s chose %s; refitting it on all %d pairs", type(self).__name__, self.choice_,
                 data.n_pairs)  # fmt: skip
        name, params = chosen
        self.model_ = registry.get("method", name)(
            **with_policy(params, name, POLICY_HOW, seed=seed, device=self.device)
        ).fit(data)
        self.training_ = data.summary()
        return self

    def _record(
        self, labels: list[str], runs: list[tuple[list[np.ndarray], float, int]], out: set[int]
    ) -> int:
        """Sets the `cv_*` attributes from each candidate's runs (`_draws`; none: empty) and
        returns the index of the candidate `rule` picks among those not ruled `out`, compared
        on the queries all of them scored (every query, unless costly folds stopped early)."""
        draws = dict(zip(labels, runs, strict=True)) if runs else {}
        self.cv_per_query_ = {k: d[0] for k, (d, _, _) in draws.items()}
        self.cv_draws_ = {k: len(d) for k, (d, _, _) in draws.items()}
        self.cv_folds_ = {k: f for k, (_, _, f) in draws.items()}
        self.cv_seconds_ = {k: t for k, (_, t, _) in draws.items()}
        dealt = {k: [query_scores(r, self.cv_score) for r in d] for k, (d, _, _) in draws.items()}
        self.cv_scores_, self.cv_sem_ = {}, {}
        for k, v in dealt.items():
            mean = np.mean(v, axis=0)
            self.cv_scores_[k], self.cv_sem_[k] = mean_and_sem(mean[~np.isnan(mean)])
        if not runs:
            return 0
        running = [k for i, k in enumerate(labels) if i not in out]
        scored = np.all([~np.isnan(dealt[k][0]) for k in running], axis=0)
        kept = {k: [v[scored] for v in dealt[k]] for k in running}
        return labels.index(running[choose_dealt(kept, running, self.rule)])

    def _draws(
        self, data: WeaklyPairedData, cands: list[Candidate], seed: int
    ) -> tuple[list[tuple[list[np.ndarray], float, int]], set[int]]:
        """Per candidate: its reciprocal ranks in each deal of the folds (`cv_repeats` deals,
        when they can change the choice, `_deal_again`; the first only for `_costly`
        candidates), the seconds of all its folds and the folds of the first deal it was
        fitted on; and the candidates ruled out by an early stop (`cv_stop_z`)."""
        costly = self._costly(cands)
        again = set(range(len(cands))) - costly
        folds = [self.folds] * len(cands)
        verdict = None
        if self.cv_stop_z is None or not costly or not again:
            first = self._cross_validate(data, cands, seed)
        else:
            first, costly_folds, verdict = self._stopping_first_deal(data, cands, seed, costly)
            for k in costly:
                folds[k] = costly_folds
        ranks = [[r] for r, _ in first if r is not None]
        if len(ranks) != len(cands):
            raise RuntimeError("the first deal of the folds left a candidate unscored")
        seconds = [t for _, t in first]
        out = costly if verdict == "cheap" else set()
        if verdict == "costly":
            again = set()  # a costly candidate leads every cheap one: more deals cannot matter
        elif verdict is None and not self._deal_again([r[0] for r in ranks], again):
            again = set()
        if self.cv_repeats > 1 and again:
            for draw in range(1, self.cv_repeats):
                for k, (r, t) in enumerate(self._cross_validate(data, cands, seed, draw, again)):
                    if r is not None:
                        ranks[k].append(r)
                        seconds[k] += t
        return list(zip(ranks, seconds, folds, strict=True)), out

    def _stopping_first_deal(
        self, data: WeaklyPairedData, cands: list[Candidate], seed: int, costly: set[int]
    ) -> tuple[list[tuple[np.ndarray | None, float]], int, str | None]:
        """The first deal with the `costly` candidates' folds stopped early (`cv_stop_z`):
        every candidate's runs (the costly ones NaN for the folds not fitted), the folds the
        costly ones were fitted on, and the verdict: "costly" (the best costly candidate leads
        every cheap one), "cheap" (the best cheap one leads) or None (all folds ran)."""
        runs = self._cross_validate(data, cands, seed, 0, set(range(len(cands))) - costly)
        for start in range(0, self.folds, STOP_ROUND):
            ids = range(start, min(start + STOP_ROUND, self.folds))
            for k, (r, t) in enumerate(self._cross_validate(data, cands, seed, 0, costly, ids)):
                if k in costly and r is not None:
                    have, secs = runs[k]
                    runs[k] = (r if have is None else np.where(np.isnan(r), have, r), secs + t)
            if ids.stop < self.folds:
                verdict = self._verdict([r for r, _ in runs], costly)
                if verdict is not None:
                    return runs, ids.stop, verdict
        return runs, self.folds, None

    def _verdict(self, first: list[np.ndarray | None], costly: set[int]) -> str | None:
        """Which kind of candidate leads on the queries the costly ones scored so far (first
        deal): "costly" or "cheap" when the best of that kind leads the best of the other by
        more than `cv_stop_z` paired standard errors, else None."""
        score = {k: query_scores(r, self.cv_score) for k, r in enumerate(first) if r is not None}
        scored = ~np.isnan(score[min(costly)])
        score = {k: v[scored] for k, v in score.items()}
        lead = max(sorted(costly), key=lambda k: score[k].mean())
        rival = max(sorted(set(score) - costly), key=lambda k: score[k].mean())
        diff, sem = mean_and_sem(score[lead] - score[rival])
        z = float(self.cv_stop_z or np.inf)
        if diff > z * sem:
            return "costly"
        if -diff > z * sem:
            return "cheap"
        return None

    def _deal_again(self, first: list[np.ndarray], cheap: set[int]) -> bool:
        """Whether more deals for the `cheap` candidates can change the choice, given each
        candidate's reciprocal ranks in the first deal. Under "best" they cannot when a costly
        candidate leads every cheap one there: the cheap winner meets it on that deal alone
        (`selection.choose_dealt`), so the deals are spared where self-learning clearly
        wins."""
        if not cheap:
            return False
        if self.rule != "best" or len(cheap) == len(first):
            return True
        mean = [float(query_scores(r, self.cv_score).mean()) for r in first]
        costly = max(m for k, m in enumerate(mean) if k not in cheap)
        return max(mean[k] for k in cheap) >= costly

    def _model(self) -> Method:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return self.model_

    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        model = self._model()
        seen = getattr(self, "training_", None)
        shape: tuple[int, ...] = tuple(getattr(X, "shape", ()))
        if seen and len(shape) == 2:  # checked here, so the message names this method
            own, other = (seen["x_features"], seen["y_features"])[:: 1 if modality == "x" else -1]
            if shape[1] != own:
                name = f"this {type(self).__name__}"
                raise width_error(f"{modality} rows", shape[1], own, name, other)
        return model.transform(X, modality)

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        """The refit's map as arrays, where it is linear (`SUE.linear_map`).

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        return self._refit_hook("linear_map", modality)

    def onnx_module(self, modality: str) -> Any:
        """The refit's torch module for ONNX export, where it has one (ASIF).

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        return self._refit_hook("onnx_module", modality)

    def _refit_hook(self, name: str, modality: str) -> Any:
        """The refit's optional method `name` applied to `modality`; None where it has none."""
        get = getattr(self._model(), name, None)
        return get(modality) if callable(get) else None

    def get_state(self) -> dict[str, np.ndarray]:
        state = nest_state("model", self._model().get_state())
        labels = self._labels(self._candidates(self.n_pairs_, self.width_))
        state["choice"] = np.asarray([labels.index(self.choice_)])
        # the label too: a later version may list other candidates, an index alone would then
        # point at the wrong one
        state["choice_label"] = np.frombuffer(self.choice_.encode(), dtype=np.uint8).copy()
        state["n_pairs"] = np.asarray([self.n_pairs_])
        state["width"] = np.asarray([self.width_])
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.n_pairs_ = int(np.asarray(state["n_pairs"]).ravel()[0])
        self.width_ = int(np.asarray(state["width"]).ravel()[0])
        cands = self._candidates(self.n_pairs_, self.width_)
        labels = self._labels(cands)
        if "choice_label" in state:
            label = np.asarray(state["choice_label"], dtype=np.uint8).tobytes().decode()
            if label not in labels:
                raise InputError(
                    f"the saved choice {label!r} is not among this version's candidates; "
                    "load the model with the version that wrote it, or refit"
                )
        else:  # files written before labels were saved
            label = labels[int(np.asarray(state["choice"]).ravel()[0])]
        name, params = cands[labels.index(label)]
        model = registry.get("method", name)(
            **with_policy(params, name, POLICY_HOW, seed=self.seed, device=self.device)
        )
        model.set_state(unnest_state("model", state))
        self.choice_candidate_, self.choice_ = (name, params), label
        self.model_ = model
