"""Experiment configs: a grid of methods x pair budgets x unpaired budgets x seeds, a data set
and a task, read from TOML with every unknown key refused."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from sue_framework.errors import InputError
from sue_framework.runtime.settings import check_no_policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

METRICS = ("x2y_R@1", "x2y_R@5", "x2y_R@10", "y2x_R@1", "y2x_R@5", "y2x_R@10")
ALL = "all"


@dataclass(frozen=True)
class MethodSpec:
    """One method of an experiment grid (a `[[methods]]` table of a TOML config).

    Parameters
    ----------
    label : str
        The method's name in tables and plots; unique within the config.
    name : str
        The registered method it builds ("auto", "sue", "cca_raw", ...).
    params : dict
        The method's parameters; not `seed` or `device`, which the grid sets.
    """

    label: str
    name: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentConfig:
    """An experiment grid: methods x pair budgets x unpaired budgets x seeds, under the paper's
    protocol, on one data set, scored by one task (`load_config` reads it from TOML).

    Parameters
    ----------
    name : str
        The experiment's name (its default results folder).
    methods : tuple of MethodSpec
        The methods compared.
    pairs : tuple of int
        Training pair budgets.
    seeds : tuple of int
        Seeds; each draws its own split.
    unpaired : tuple of int or "all"
        Unpaired rows kept per modality (the paper's Fig. 5b axis).
    dataset : str
        A registered data set.
    dataset_params : dict
        Its parameters.
    task : str
        A registered task ("retrieval" by default).
    task_params : dict
        Its parameters.
    eval_dataset : str, optional
        A data set to evaluate on instead of the split's test pairs.
    eval_dataset_params : dict
        Its parameters.
    n_test : int
        True pairs held out for testing in each split.
    baseline : str, optional
        The method label that tables compare against (the paper's Imp.).
    device : str
        Where every fit runs: "auto", "cpu", "cuda" or "cuda:N".
    description : str
        A line for the report's heading.
    stages_plot : dict, optional
        {"method": label, "pairs": n, "seed": s}: refit that cell and plot its stages.
    """

    name: str
    methods: tuple[MethodSpec, ...]
    pairs: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    unpaired: tuple[int | str, ...] = (ALL,)
    dataset: str = "digits_halves"
    dataset_params: dict = field(default_factory=dict)
    task: str = "retrieval"
    task_params: dict = field(default_factory=dict)
    eval_dataset: str | None = None
    eval_dataset_params: dict = field(default_factory=dict)
    n_test: int = 400
    baseline: str | None = None
    device: str = "auto"
    description: str = ""
    stages_plot: dict | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise InputError(f"dataset must be a registered dataset name, got {self.dataset!r}")
        if self.eval_dataset is not None and not (
            isinstance(self.eval_dataset, str) and self.eval_dataset
        ):
            raise InputError(
                f"eval_dataset must be a registered dataset name, got {self.eval_dataset!r}"
            )
        if not isinstance(self.task, str) or not self.task:
            raise InputError(f"task must be a registered task name, got {self.task!r}")
        if not self.methods:
            raise InputError("an experiment needs at least one [[methods]] entry")
        for m in self.methods:  # the grid's seeds and device decide those for every cell
            check_no_policy(m.params, f"method {m.label!r}", "the config's seeds and device")
        labels = [m.label for m in self.methods]
        if len(set(labels)) != len(labels):
            raise InputError(f"method labels must be unique, got {labels}")
        if self.baseline is not None and self.baseline not in labels:
            raise InputError(f"baseline {self.baseline!r} is not one of the method labels {labels}")
        if not self.pairs or not self.seeds or not self.unpaired:
            raise InputError("pairs, seeds and unpaired must each list at least one value")
        for u in self.unpaired:
            if u != ALL and not (isinstance(u, int) and u >= 0):
                raise InputError(f"unpaired budgets are integers >= 0 or {ALL!r}, got {u!r}")


_KEYS = {f.name for f in ExperimentConfig.__dataclass_fields__.values()}


def shipped_configs() -> dict[str, Path]:
    """The experiment configs that ship with the package (the paper's tables and figures, the
    real-embedding suite), by name."""
    folder = Path(__file__).resolve().parents[1] / "configs"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def config_path(name_or_path: str | Path) -> Path:
    """A config file: the path itself when it exists, else the shipped config of that name
    (``synthetic_table1`` or ``configs/synthetic_table1.toml`` both find it).

    Parameters
    ----------
    name_or_path : str or Path
        A TOML file, or the name of a shipped config.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if path.stem in shipped:
        return shipped[path.stem]
    raise InputError(
        f"no config file at {path}, and no shipped config named {path.stem!r}; shipped: "
        f"{', '.join(shipped)}"
    )


def load_config(path: str | Path) -> ExperimentConfig:
    """Read a TOML experiment config (a file, or a shipped config's name); unknown keys are
    errors, not silently ignored.

    Parameters
    ----------
    path : str or Path
        A TOML file, or the name of a shipped config.
    """
    path = config_path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"no config file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from exc
    unknown = set(raw) - _KEYS
    if unknown:
        raise InputError(f"{path}: unknown key(s) {sorted(unknown)}; known keys: {sorted(_KEYS)}")
    methods = []
    for m in raw.pop("methods", []):
        extra = set(m) - {"label", "name", "params"}
        if extra or "name" not in m:
            raise InputError(
                f"{path}: each [[methods]] needs name (and label, params), got {sorted(m)}"
            )
        methods.append(
            MethodSpec(label=m.get("label", m["name"]), name=m["name"], params=m.get("params", {}))
        )
    for key in ("pairs", "seeds", "unpaired"):
        if key in raw:
            raw[key] = tuple(raw[key])
    raw.setdefault("name", path.stem)
    return ExperimentConfig(methods=tuple(methods), **raw)


def smoke(config: ExperimentConfig) -> ExperimentConfig:
    """The same grid shape at the smallest size: one seed, the first pair and unpaired budget,
    and a synthetic set of at most 1200 rows. For CI and quick checks.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    """
    params = dict(config.dataset_params)
    n_test = config.n_test
    if config.dataset == "synthetic":
        params["n"] = min(int(params.get("n", 3000)), 1200)
        n_test = min(n_test, 200)
    stages = config.stages_plot
    if stages is not None:  # the stage plot shows a cell the smoke run has
        stages = {**stages, "pairs": config.pairs[0], "seed": config.seeds[0]}
    return replace(
        config,
        seeds=config.seeds[:1],
        pairs=config.pairs[:1],
        unpaired=config.unpaired[:1],
        dataset_params=params,
        n_test=n_test,
        stages_plot=stages,
    )
