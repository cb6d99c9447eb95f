"""SUE: spectral embedding per modality, an aligner on the pairs, a matcher on all unpaired rows."""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.components.aligners import fit_aligner
from sue_framework.data import WeaklyPairedData, training_data
from sue_framework.errors import InputError, NotFittedError
from sue_framework.interfaces import Method, check_modality, nest_state, unnest_state
from sue_framework.keywords import keyword_only
from sue_framework.registry import registry
from sue_framework.runtime.engine import engine_for, fit_context
from sue_framework.runtime.settings import same_value
from sue_framework.validation import as_matrix, check_stage_output

log = logging.getLogger(__name__)

# solvers whose output width is the input's, not se_dim: out_dim is checked after they run
WIDTH_FREE_SOLVERS = ("identity", "concat")


class SUE(Method):
    """Spectral Universal Embedding (Yacobi, Ben-Ari, Talmon, Shaham; NeurIPS 2025).

    f_x = Q_x o S_x and f_y = F o Q_y o S_y: S are per-modality spectral embeddings learned
    without pairs, Q the aligner fit on the pairs, F the matcher fit on all unpaired rows (it moves
    the matcher's `moving` modality, "y" by default).

    Each stage is a registered name (with optional ``*_params``) or a component instance, which is
    cloned, never modified. `se_dim` (the solver's n_components), `out_dim` (the aligner's),
    `seed` and `device` are set on every stage that takes them: they are the pipeline's policy.
    A stage's own setting (in its ``*_params``, or an instance's non-default value) is kept when
    the pipeline's is left at its default; when both are set and disagree, fit refuses.
    ``set_params(solver__n_components=7)`` works for stages given by name too.

    Parameters
    ----------
    solver : str or SpectralSolver
        The first stage, per modality: a registered solver name ("exact", "spectralnet", "pca",
        ...) or an instance.
    aligner : str or Aligner
        The stage fit on the pairs: a registered aligner name ("cca", "procrustes", ...) or an
        instance.
    matcher : str or DistributionMatcher
        The stage fit on all unpaired rows: a registered matcher name ("mmd", "adversarial",
        "none", ...) or an instance.
    se_dim : int
        The solver's output width (its `n_components`): spectral dimensions.
    out_dim : int
        The aligner's output width: dimensions of the shared space.
    solver_params, aligner_params, matcher_params : dict, optional
        Parameters of a stage given by name.
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
        solver: Any = "exact",
        *,
        aligner: Any = "cca",
        matcher: Any = "mmd",
        se_dim: int = 10,
        out_dim: int = 8,
        solver_params: dict | None = None,
        aligner_params: dict | None = None,
        matcher_params: dict | None = None,
        device: str = "auto",
        seed: int | None = 0,
        verbose: bool = False,
    ) -> None:
        self.solver = solver
        self.aligner = aligner
        self.matcher = matcher
        self.se_dim = se_dim
        self.out_dim = out_dim
        self.solver_params = solver_params
        self.aligner_params = aligner_params
        self.matcher_params = matcher_params
        self.device = device
        self.seed = seed
        self.verbose = verbose

    # -- building stages ---------------------------------------------------------------------------
    def _stages(self, seed: int | None = None) -> tuple[Any, Any, Any, Any]:
        """The four stages; `seed` (the fit's resolved seed) reaches each one."""
        defaults = {k: p.default for k, p in inspect.signature(type(self)).parameters.items()}
        mine = self.get_params(deep=False)
        chosen = {k for k in ("se_dim", "out_dim", "seed", "device", "verbose")
                  if not same_value(mine[k], defaults[k])}  # fmt: skip

        def policy(**names: str) -> tuple[dict, dict]:
            """(defaults, explicit) for a stage: stage parameter -> pipeline parameter."""
            values = {**mine, "seed": self.seed if seed is None else seed}
            return (
                {param: values[ours] for param, ours in names.items()},
                {param: ours for param, ours in names.items() if ours in chosen},
            )

        common = {"seed": "seed", "device": "device"}
        solver = policy(**common, n_components="se_dim")
        sx = registry.build("solver", self.solver, self.solver_params, *solver)
        sy = registry.build("solver", self.solver, self.solver_params, *solver)
        al = registry.build(
            "aligner", self.aligner, self.aligner_params, *policy(**common, n_components="out_dim")
        )
        mt = registry.build(
            "matcher", self.matcher, self.matcher_params, *policy(**common, progress="verbose")
        )
        return sx, sy, al, mt

    def set_params(self, **params: Any) -> SUE:
        """sklearn's set_params; `solver__x=...` on a stage given by name goes into
        `solver_params` (likewise aligner and matcher), so nested settings always reach the fit."""
        top = {k: v for k, v in params.items() if "__" not in k}
        super().set_params(**top)
        for key, value in params.items():
            if key in top:
                continue
            slot, _, name = key.partition("__")
            if slot in ("solver", "aligner", "matcher") and isinstance(getattr(self, slot), str):
                if "__" in name:
                    raise InputError(
                        f"{key}: {slot} {getattr(self, slot)!r} is given by name; set deeper "
                        f"levels inside {slot}_params, e.g. {{'graph_params': {{...}}}}"
                    )
                setattr(
                    self, f"{slot}_params", {**(getattr(self, f"{slot}_params") or {}), name: value}
                )
            else:
                super().set_params(**{key: value})
        return self

    # -- fitting -----------------------------------------------------------------------------------
    @fit_context
    def fit(self, data: WeaklyPairedData, y: None = None) -> SUE:
        """Fit on a WeaklyPairedData (or a tuple (x, y, pairs)). Rows on disk (`NpyRows`)
        need a solver that streams them (SpectralNet's regression training); the later stages
        work on the spectral embeddings, which are small."""
        # the fit must not depend on the rows' order (rows on disk keep the file's)
        data = training_data(data, "SUE", rows_on_disk=True)
        if self.out_dim > self.se_dim and self.solver not in WIDTH_FREE_SOLVERS:
            raise InputError(
                f"out_dim={self.out_dim} exceeds se_dim={self.se_dim}; the aligned space cannot be "
                "wider than the spectral embedding"
            )
        engine = engine_for(self.device, self.seed)  # the one `fit_context` decided
        log.debug("SUE fit on %s, seed %d: %s", engine.device, engine.seed, data)
        return self._fit(data, engine.seed)

    def _fit(self, data: WeaklyPairedData, seed: int) -> SUE:
        sx, sy, al, mt = self._stages(seed)
        if data.n_pairs < al.min_pairs():
            raise InputError(
                f"aligner {type(al).__name__} to out_dim={self.out_dim} needs at least "
                f"{al.min_pairs()} pairs, got {data.n_pairs}; add pairs or lower out_dim"
            )
        timings = {}
        t0 = time.perf_counter()
        se_x = sx.fit_transform(data.x)
        check_stage_output(se_x, f"first stage ({type(sx).__name__}) on x")
        se_y = sy.fit_transform(data.y)
        check_stage_output(se_y, f"first stage ({type(sy).__name__}) on y")
        timings["spectral"] = time.perf_counter() - t0
        log.info("spectral stage (%s): %d and %d dims in %.2f s", type(sx).__name__,
                 se_x.shape[1], se_y.shape[1], timings["spectral"])  # fmt: skip
        t0 = time.perf_counter()
        if self.out_dim > min(se_x.shape[1], se_y.shape[1]):
            raise InputError(
                f"out_dim={self.out_dim} exceeds the first stage's output width "
                f"({se_x.shape[1]}, {se_y.shape[1]}); lower out_dim"
            )
        fit_aligner(al, se_x[data.pairs[:, 0]], se_y[data.pairs[:, 1]], x=se_x, y=se_y)
        ax, ay = al.transform(se_x, "x"), al.transform(se_y, "y")
        check_stage_output(ax, f"aligner ({type(al).__name__}) on x")
        check_stage_output(ay, f"aligner ({type(al).__name__}) on y")
        timings["aligner"] = time.perf_counter() - t0
        log.info("aligner (%s) on %d pairs in %.2f s", type(al).__name__, data.n_pairs,
                 timings["aligner"])  # fmt: skip
        t0 = time.perf_counter()
        moving = check_modality(getattr(mt, "moving", "y"))
        moved = ay if moving == "y" else ax
        mt.fit(moved, ax if moving == "y" else ay)
        check_stage_output(mt.transform(moved), f"matcher ({type(mt).__name__})")
        timings["matcher"] = time.perf_counter() - t0
        log.info("matcher (%s) moving %s in %.2f s", type(mt).__name__, moving, timings["matcher"])
        self.solver_x_, self.solver_y_, self.aligner_, self.matcher_ = sx, sy, al, mt
        self.moving_ = moving
        self.n_features_: tuple[int, ...] = (data.x.shape[1], data.y.shape[1])
        self.timings_ = timings
        self.training_ = data.summary()
        return self

    # -- inference ---------------------------------------------------------------------------------
    def transform(self, X: Any, modality: str = "x") -> np.ndarray:
        """Universal embedding (n, out_dim) of rows of `modality` ("x" or "y")."""
        return self.stage_outputs(X, modality)["universal"]

    def stage_outputs(self, X: Any, modality: str = "x") -> dict[str, np.ndarray]:
        """Each stage's output for rows of `modality`: "se", "aligned", "universal"."""
        self._check_fitted()
        check_modality(modality)
        d, other = self.n_features_[:: 1 if modality == "x" else -1]
        X = as_matrix(X, f"{modality} rows", d, "this SUE", other_features=other)
        se = (self.solver_x_ if modality == "x" else self.solver_y_).transform(X)
        aligned = self.aligner_.transform(se, modality)
        uni = self.matcher_.transform(aligned) if modality == self.moving_ else aligned
        return {"se": se, "aligned": aligned, "universal": uni}

    def linear_map(self, modality: str) -> dict[str, Any] | None:
        """`modality`'s whole map as arrays (`Aligner.linear_map`) when the first stage passes
        the rows through and the matcher does not move them; None otherwise.

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        self._check_fitted()
        solver = self.solver_x_ if check_modality(modality) == "x" else self.solver_y_
        moved = modality == self.moving_ and not self.matcher_.passes_rows_through()
        if not solver.passes_rows_through() or moved:
            return None
        return self.aligner_.linear_map(modality)

    def onnx_module(self, modality: str) -> tuple[Any, int] | None:
        """`modality`'s whole pipeline as one torch module (for ONNX export) and the width of
        its input rows, where every stage has one: the first stage's (identity, PCA), the
        aligner's linear map, and the matcher's network on the moving side. None otherwise.

        Parameters
        ----------
        modality : str
            "x" or "y".
        """
        import torch

        from sue_framework.io.linear_map import affine_module

        self._check_fitted()
        solver = self.solver_x_ if check_modality(modality) == "x" else self.solver_y_
        first, aligned = solver.torch_module(), self.aligner_.linear_map(modality)
        last = self.matcher_.torch_module() if modality == self.moving_ else torch.nn.Identity()
        if first is None or aligned is None or last is None:
            return None
        middle = affine_module(aligned["mean"], aligned["matrix"], aligned["scale"])
        width = int(self.n_features_[0 if modality == "x" else 1])
        return torch.nn.Sequential(first, middle, last).eval(), width

    def _check_fitted(self) -> None:
        if not hasattr(self, "matcher_"):
            raise NotFittedError("this SUE is not fitted yet; call fit(data) first")

    # -- persistence -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> SUE:
        from sue_framework.io.model_files import load_method

        model = load_method(path)
        if not isinstance(model, cls):
            raise InputError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    _slots = ("solver_x", "solver_y", "aligner", "matcher")

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted state as named arrays: each stage's state under its slot name."""
        self._check_fitted()
        state = {"n_features_": np.asarray(self.n_features_, dtype=np.int64)}
        for slot in self._slots:
            comp = getattr(self, slot + "_")
            state.update(nest_state(slot, comp.get_state()))
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Rebuild the stages from this instance's params and load their fitted state."""
        built = dict(zip(self._slots, self._stages(), strict=True))
        for slot, comp in built.items():
            comp.set_state(unnest_state(slot, state))
            setattr(self, slot + "_", comp)
        self.moving_ = check_modality(getattr(self.matcher_, "moving", "y"))
        self.n_features_ = tuple(int(v) for v in state["n_features_"])
