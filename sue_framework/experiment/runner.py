"""The grid runner: every cell not yet in the results file, under the paper's protocol.

Orchestration only: data sets, methods and the task come from the registry; the figures are
whatever the task reports.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import inspect
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError, SUEError
from sue_framework.evaluation.inputs import missing_inputs
from sue_framework.experiment.config import ALL, ExperimentConfig
from sue_framework.io.array_files import atomic_path
from sue_framework.io.results import CHECKSUM, ResultsFile
from sue_framework.model_selection.splits import limit_unpaired, paper_split, with_unpaired
from sue_framework.registry import registry
from sue_framework.runtime.engine import Engine, resolve_device
from sue_framework.runtime.settings import with_policy


@dataclass(frozen=True)
class LoadedData:
    """A config's data: the fully paired rows, rows with no partner (possibly none), the class
    of each paired row (labelled sets) and further task inputs the data set supplies.

    Parameters
    ----------
    x, y : ndarray
        The fully paired rows, x[i] with y[i].
    unpaired : (ndarray, ndarray), optional
        Extra rows of each side with no partner.
    labels : (ndarray, ndarray), optional
        The class of each paired row, per side.
    extra : dict
        Further task inputs the data set supplies.
    """

    x: np.ndarray
    y: np.ndarray
    unpaired: tuple[np.ndarray, np.ndarray] | None = None
    labels: tuple[np.ndarray, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def split(self, n_pairs: int, n_test: int, seed: int, budget: int | str = ALL):
        """(the paper's split, its training set with the unpaired rows and budget applied)."""
        split = paper_split(self.x, self.y, n_pairs=n_pairs, n_test=n_test, seed=seed)
        train = split.train
        if self.unpaired is not None:
            train = with_unpaired(train, *self.unpaired)
        if budget != ALL:
            train = limit_unpaired(train, int(budget), seed)
        return split, train

    def everything(self) -> dict[str, Any]:
        """Task inputs from all rows: an evaluation-only data set (`eval_dataset`)."""
        source: dict[str, Any] = {"zx": self.x, "zy": self.y}
        if self.labels is not None:
            source["labels_x"], source["labels_y"] = self.labels
        return {**source, **self.extra}

    def test_rows(self, split: Any) -> dict[str, Any]:
        """Task inputs from a split: its test rows, their labels, and the data set's extras."""
        source: dict[str, Any] = {"zx": split.x_test, "zy": split.y_test}
        if self.labels is not None:
            source["labels_x"] = np.asarray(self.labels[0])[split.test_index]
            source["labels_y"] = np.asarray(self.labels[1])[split.test_index]
        return {**source, **self.extra}


def load_dataset(name: str, params: dict | None = None) -> LoadedData:
    """A registered data set (kind "dataset"), loaded with whatever it offers beyond its pairs.

    Parameters
    ----------
    name : str
        A registered data set.
    params : dict, optional
        Its parameters.
    """
    ds = registry.build("dataset", name, params)
    x, y = ds.load()
    labels = ds.labels() if hasattr(ds, "labels") else None
    if labels is not None and (len(labels[0]) != len(x) or len(labels[1]) != len(y)):
        raise InputError(
            f"dataset {name!r} gave {len(labels[0])}/{len(labels[1])} labels for "
            f"{len(x)}/{len(y)} rows; labels() must give one class per row of load()"
        )
    return LoadedData(
        x,
        y,
        unpaired=ds.unpaired() if hasattr(ds, "unpaired") else None,
        labels=labels,
        extra=dict(ds.task_inputs()) if hasattr(ds, "task_inputs") else {},
    )


def check_task_source(task: Any, available: set[str], where: str) -> None:
    """Refuse, before any fit, a task whose required inputs the data cannot supply.

    Parameters
    ----------
    task : Task
        The task to run.
    available : set of str
        The input names the data can supply.
    where : str
        The data's name, for the message.
    """
    declared = type(task).inputs
    missing = missing_inputs(task, available)
    if missing:
        helps = "; ".join(f"{n}: {declared[n].help}" for n in missing)
        raise InputError(
            f"the task needs {missing}, which {where} does not supply ({helps}); it supplies "
            f"{sorted(available)}. Pick a data set that has them (e.g. a labelled set for "
            "labels) or set eval_dataset"
        )


def evaluate_task(task: Any, model: Any, source: dict[str, Any]) -> dict[str, Any]:
    """Run `task` on the inputs it declares, taken from `source` by name; inputs of kind
    "embedding" are embedded by `model` on the input's modality first. A task that declares
    nothing gets the embedded test rows, zx and zy, as positional arguments.

    Parameters
    ----------
    task : Task
        The task.
    model : fitted method
        Embeds the inputs of kind "embedding".
    source : dict
        Input name -> value.
    """
    declared = type(task).inputs
    if not declared:
        return task.evaluate(model.transform(source["zx"], "x"), model.transform(source["zy"], "y"))
    kwargs = {}
    for name, spec in declared.items():
        if name not in source:
            continue
        value = source[name]
        if spec.kind == "embedding":
            if spec.modality not in ("x", "y"):
                raise InputError(f"task input {name} has no default modality to embed it on")
            rows = value if spec.many else [value]
            embedded = [model.transform(v, spec.modality) for v in rows]
            value = embedded if spec.many else embedded[0]
        kwargs[name] = value
    return task.evaluate(**kwargs)


def _key(row: dict) -> tuple:
    return (row["method"], int(row["n_pairs"]), str(row["unpaired_budget"]), int(row["seed"]))


def cell_id(config: ExperimentConfig, spec: Any, n_pairs: int, budget: int | str, seed: int) -> str:
    """A digest of everything that defines one cell's figures: the method with its full
    parameters, the data set (and evaluation set) with theirs, the task with its, the test
    size, the pair and unpaired budgets and the seed. Not the device or the labels.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    spec : MethodSpec
        The cell's method.
    n_pairs : int
        Its pair budget.
    budget : int or "all"
        Its unpaired budget.
    seed : int
        Its seed.
    """
    defining = {
        "method": spec.name,
        "params": spec.params,
        "dataset": [config.dataset, config.dataset_params],
        "eval_dataset": [config.eval_dataset, config.eval_dataset_params],
        "task": [config.task, config.task_params],
        "n_test": config.n_test,
        "cell": [int(n_pairs), str(budget), int(seed)],
    }
    text = json.dumps(defining, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def unique_cells(rows: list[dict], where: str | Path) -> list[dict]:
    """`rows` with each cell once (the first row written for it): two runs that wrote into one
    folder must not count a cell twice in the means.

    Parameters
    ----------
    rows : list of dict
        Results rows as read.
    where : str or Path
        The results file, for the warning.
    """
    seen: set = set()
    out = []
    for r in rows:
        key = r.get(CELL) or _key(r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    if len(out) < len(rows):
        warnings.warn(
            f"{where}: {len(rows) - len(out)} duplicate row(s) of cells already recorded were "
            "left out",
            stacklevel=3,
        )
    return out


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on a results folder for the length of a run (released by the OS if
    the process dies), so that two runs never write into one table.

    Parameters
    ----------
    folder : Path
        The results folder.
    """
    lock_path = folder / ".lock"
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise SUEError(
                f"another experiment ({holder}) is writing into {folder}; wait for it to finish "
                "or give another --out-dir"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


log = logging.getLogger(__name__)

GRID_HOW = "the config's seeds and device"
LABELS = ("labels_x", "labels_y")
CELL = "cell"
META = ["method", "name", "n_pairs", "unpaired_budget", "seed"]
TAIL = ["n_unpaired_x", "n_unpaired_y", "fit_seconds", CELL]
_INTS = ("n_pairs", "seed", "n_unpaired_x", "n_unpaired_y")


def results_file(path: str | Path, metrics: list[str], keyed: bool = True) -> ResultsFile:
    """The results CSV of a run whose task reports `metrics` (`keyed`: with the cell digest
    column, which files written before cells had digests lack).

    Parameters
    ----------
    path : str or Path
        The results CSV.
    metrics : list of str
        The task's figure columns.
    keyed : bool
        With the `cell` digest column (files written before it lack one).
    """
    types: dict[str, Callable[[str], object]] = {k: int for k in _INTS}
    types.update({k: float for k in (*metrics, "fit_seconds")})
    tail = TAIL if keyed else [c for c in TAIL if c != CELL]
    return ResultsFile(path, [*META, *metrics, *tail], types)


def _header(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        return next(csv.reader(fh), None) or None


def stored_metrics(path: str | Path) -> list[str] | None:
    """The metric columns of an existing results CSV (None if there is none yet).

    Parameters
    ----------
    path : str or Path
        The results CSV.
    """
    header = _header(Path(path))
    if not header:
        return None
    names = [c for c in header if c != CHECKSUM]
    return [c for c in names if c not in META and c not in TAIL]


def read_results(path: str | Path) -> list[dict]:
    """The intact rows of a results CSV, each cell once (damaged lines and duplicate cells are
    reported and left out).

    Parameters
    ----------
    path : str or Path
        The results CSV.
    """
    metrics = stored_metrics(path)
    if metrics is None:
        return []
    keyed = CELL in (_header(Path(path)) or [])
    return unique_cells(results_file(path, metrics, keyed).read(), path)


def _numbers(figures: dict, task: str) -> dict[str, float]:
    """The task's figures that are numbers, in its order. Lists and mappings are details by the
    Task contract (a confusion matrix, predictions): not tabulated, silently. Anything else is
    neither, and is reported."""
    out = {k: float(v) for k, v in figures.items() if isinstance(v, (int, float, np.number))}
    odd = sorted(k for k, v in figures.items() if k not in out and not isinstance(v, (list, dict)))
    if odd:
        warnings.warn(f"task {task!r}: {odd} are neither figures nor details; not recorded",
                      stacklevel=3)  # fmt: skip
    return out


def build_task(config: ExperimentConfig) -> Any:
    """The config's task, with the config's device when the task takes one.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    """
    factory = registry.get("task", config.task)
    params = dict(config.task_params)
    if "device" in inspect.signature(factory).parameters:
        params.setdefault("device", config.device)
    return factory(**params)


def run_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    *,
    resume: bool = True,
    on_cell: Callable[[dict, bool], None] | None = None,
) -> list[dict]:
    """Run every cell not already in `out_dir/results.csv`; return all rows (old and new).

    `on_cell(row, skipped)` is called after each cell, for progress display.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    out_dir : str or Path
        The results folder (results.csv, config.json).
    resume : bool
        Keep the finished cells of `out_dir` (refusing ones fitted under other settings);
        False starts over.
    on_cell : callable, optional
        `on_cell(row, skipped)` after each cell, for progress display.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        return _run_locked(config, out, resume, on_cell)


def _run_locked(
    config: ExperimentConfig, out: Path, resume: bool, on_cell: Callable[[dict, bool], None] | None
) -> list[dict]:
    csv_path = out / "results.csv"
    metrics = stored_metrics(csv_path) if resume else None
    header = _header(csv_path) or []
    if metrics is not None and set(META) <= set(header) and CELL not in header:
        raise SUEError(
            f"{csv_path} was written by an earlier sue_framework that did not record what "
            "defines each cell, so its figures cannot be matched to this config; rerun with "
            "--restart to replace them, or give another --out-dir"
        )
    results = results_file(csv_path, metrics) if metrics is not None else None
    rows = unique_cells(results.read(), csv_path) if results is not None else []
    ids = {
        (spec.label, n, str(b), s): cell_id(config, spec, n, b, s)
        for n in config.pairs
        for b in config.unpaired
        for s in config.seeds
        for spec in config.methods
    }
    stale = [r for r in rows if _key(r) in ids and r[CELL] != ids[_key(r)]]
    if stale:
        shown_cells = "; ".join(
            f"{r['method']}, {r['n_pairs']} pairs, unpaired {r['unpaired_budget']}, seed "
            f"{r['seed']}"
            for r in stale[:3]
        )
        raise SUEError(
            f"{csv_path} holds {len(stale)} finished cell(s) fitted under other settings than "
            f"this config's ({shown_cells}{' ...' if len(stale) > 3 else ''}): a method's, the "
            "data set's or the task's parameters changed. Rerun with --restart to replace "
            "them, or give another --out-dir to keep both"
        )
    done = {r[CELL] for r in rows}
    factories = {m.label: registry.get("method", m.name) for m in config.methods}  # fail early
    registry.get("dataset", config.dataset)
    task = build_task(config)
    data = load_dataset(config.dataset, config.dataset_params)
    held_out = None
    if config.eval_dataset is not None:
        held_out = load_dataset(config.eval_dataset, config.eval_dataset_params).everything()
        check_task_source(task, set(held_out), f"eval_dataset {config.eval_dataset!r}")
    else:
        available = {"zx", "zy", *data.extra, *(() if data.labels is None else LABELS)}
        check_task_source(task, available, f"dataset {config.dataset!r}")
    device = resolve_device(config.device)
    with atomic_path(out / "config.json") as tmp:
        tmp.write_text(json.dumps(_config_json(config), indent=1))
    if results is not None:
        results.start(rows)  # drops torn, damaged or duplicate lines before anything is appended
    warned = False
    shown = WarningsOnce()
    for n_pairs in config.pairs:
        for budget in config.unpaired:
            for seed in config.seeds:
                split = None
                for spec in config.methods:
                    cell = ids[(spec.label, n_pairs, str(budget), seed)]
                    if cell in done:
                        if on_cell:
                            on_cell({"method": spec.label, "n_pairs": n_pairs, "seed": seed}, True)
                        continue
                    if split is None:
                        split, train = data.split(n_pairs, config.n_test, seed, budget)
                    model = factories[spec.label](
                        **with_policy(
                            spec.params,
                            f"method {spec.label!r}",
                            GRID_HOW,
                            seed=seed,
                            device=config.device,
                        )  # fmt: skip
                    )
                    t0 = time.perf_counter()
                    with (
                        warnings.catch_warnings(record=True) as caught,
                        Engine(device, int(seed)).active(),
                    ):
                        warnings.simplefilter("always")
                        model.fit(train)
                    seconds = time.perf_counter() - t0
                    shown.show(caught, f"{spec.label}, {n_pairs} pairs, seed {seed}")
                    source = held_out if held_out is not None else data.test_rows(split)
                    figures = _numbers(evaluate_task(task, model, source), config.task)
                    if results is None:  # a new file: its columns are this task's figures
                        results = results_file(csv_path, list(figures))
                        results.start([])
                    missing = set(figures) - set(results.columns)
                    if missing and not warned:
                        warned = True
                        warnings.warn(
                            f"{csv_path} records {sorted(set(results.columns) & set(figures))}; "
                            f"the task also reports {sorted(missing)}, which an earlier run did "
                            "not record. Rerun with --restart to record them",
                            stacklevel=2,
                        )
                    row = {
                        "method": spec.label,
                        "name": spec.name,
                        "n_pairs": n_pairs,
                        "unpaired_budget": str(budget),
                        "seed": seed,
                        **figures,
                        "n_unpaired_x": train.x.shape[0] - train.n_pairs,
                        "n_unpaired_y": train.y.shape[0] - train.n_pairs,
                        "fit_seconds": seconds,
                        CELL: cell,
                    }
                    results.append(row)
                    rows.append(row)
                    log.info("%s, %d pairs, seed %d: fit in %.2f s; %s", spec.label, n_pairs,
                             seed, seconds, _headline(figures))  # fmt: skip
                    if on_cell:
                        on_cell(row, False)
    shown.summary()
    return rows


def _headline(figures: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in list(figures.items())[:4])


class WarningsOnce:
    """Warnings raised during a run's fits, each kind shown once (numbers in the message do not
    make a new kind), prefixed by the first cell that raised it; the rest are counted."""

    def __init__(self) -> None:
        self.seen: set[tuple[type, str]] = set()
        self.hidden = 0

    def show(self, caught: list[warnings.WarningMessage], where: str) -> None:
        """Re-issue the first warning of each kind in `caught`, prefixed by `where`."""
        for w in caught:
            kind = (w.category, re.sub(r"\d+(\.\d+)?", "#", str(w.message)))
            if kind in self.seen:
                self.hidden += 1
                continue
            self.seen.add(kind)
            warnings.warn(f"{where}: {w.message}", w.category, stacklevel=3)

    def summary(self) -> None:
        """Say how many warnings were not repeated."""
        if self.hidden:
            warnings.warn(
                f"{self.hidden} more warning(s) of the kinds above came up in later fits",
                UserWarning,
                stacklevel=3,
            )


def _config_json(config: ExperimentConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)
