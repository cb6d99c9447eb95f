"""The grid runner: every cell not yet in the results file, under the paper's protocol.

Orchestration only: data sets, methods and the task come from the registry; the figures are
whatever the task reports.
"""

from __future__ import annotations

import csv
import inspect
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.data import limit_unpaired, paper_split, with_unpaired
from sue_framework.engine import fit_thread_policy, resolve_device
from sue_framework.experiment.config import ALL, ExperimentConfig
from sue_framework.registry import registry
from sue_framework.results import CHECKSUM, ResultsFile


@dataclass(frozen=True)
class LoadedData:
    """A config's data: the fully paired rows, and rows with no partner (possibly none)."""

    x: np.ndarray
    y: np.ndarray
    unpaired: tuple[np.ndarray, np.ndarray] | None = None

    def split(self, n_pairs: int, n_test: int, seed: int, budget: int | str = ALL):
        """(the paper's split, its training set with the unpaired rows and budget applied)."""
        split = paper_split(self.x, self.y, n_pairs=n_pairs, n_test=n_test, seed=seed)
        train = split.train
        if self.unpaired is not None:
            train = with_unpaired(train, *self.unpaired)
        if budget != ALL:
            train = limit_unpaired(train, int(budget), seed)
        return split, train


def load_dataset(config: ExperimentConfig) -> LoadedData:
    """The config's data set, built from the registry (kind "dataset")."""
    ds = registry.build("dataset", config.dataset, config.dataset_params)
    x, y = ds.load()
    unpaired = ds.unpaired() if hasattr(ds, "unpaired") else None
    return LoadedData(x, y, unpaired)


def _key(row: dict) -> tuple:
    return (row["method"], int(row["n_pairs"]), str(row["unpaired_budget"]), int(row["seed"]))


META = ["method", "name", "n_pairs", "unpaired_budget", "seed"]
TAIL = ["n_unpaired_x", "n_unpaired_y", "fit_seconds"]
_INTS = ("n_pairs", "seed", "n_unpaired_x", "n_unpaired_y")


def results_file(path: str | Path, metrics: list[str]) -> ResultsFile:
    """The results CSV of a run whose task reports `metrics`."""
    types: dict[str, Callable[[str], object]] = {k: int for k in _INTS}
    types.update({k: float for k in (*metrics, "fit_seconds")})
    return ResultsFile(path, [*META, *metrics, *TAIL], types)


def stored_metrics(path: str | Path) -> list[str] | None:
    """The metric columns of an existing results CSV (None if there is none yet)."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        return None
    names = [c for c in header if c != CHECKSUM]
    return [c for c in names if c not in META and c not in TAIL]


def read_results(path: str | Path) -> list[dict]:
    """The intact rows of a results CSV (damaged lines are reported and left out)."""
    metrics = stored_metrics(path)
    return [] if metrics is None else results_file(path, metrics).read()


def _numbers(figures: dict, task: str) -> dict[str, float]:
    """The task's figures that are numbers, in its order; the rest are not tabulated."""
    out = {k: float(v) for k, v in figures.items() if isinstance(v, (int, float, np.number))}
    if len(out) < len(figures):
        skipped = sorted(set(figures) - set(out))
        warnings.warn(f"task {task!r}: {skipped} are not numbers; not recorded", stacklevel=3)
    return out


def build_task(config: ExperimentConfig) -> Any:
    """The config's task, with the config's device when the task takes one."""
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
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "results.csv"
    (out / "config.json").write_text(json.dumps(_config_json(config), indent=1))
    metrics = stored_metrics(csv_path) if resume else None
    results = results_file(csv_path, metrics) if metrics is not None else None
    rows = results.read() if results is not None else []
    done = {_key(r) for r in rows}
    factories = {m.label: registry.get("method", m.name) for m in config.methods}  # fail early
    registry.get("dataset", config.dataset)
    task = build_task(config)
    data = load_dataset(config)
    device = resolve_device(config.device)
    if results is not None:
        results.start(rows)  # drops torn or damaged lines before anything is appended
    warned = False
    for n_pairs in config.pairs:
        for budget in config.unpaired:
            for seed in config.seeds:
                split = None
                for spec in config.methods:
                    key = (spec.label, n_pairs, str(budget), seed)
                    if key in done:
                        if on_cell:
                            on_cell({"method": spec.label, "n_pairs": n_pairs, "seed": seed}, True)
                        continue
                    if split is None:
                        split, train = data.split(n_pairs, config.n_test, seed, budget)
                    model = factories[spec.label](
                        **{"seed": seed, "device": config.device, **spec.params}
                    )
                    t0 = time.perf_counter()
                    with warnings.catch_warnings(), fit_thread_policy(device):
                        warnings.simplefilter("ignore")
                        model.fit(train)
                    seconds = time.perf_counter() - t0
                    figures = _numbers(
                        task.evaluate(
                            model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
                        ),
                        config.task,
                    )
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
                    }
                    results.append(row)
                    rows.append(row)
                    if on_cell:
                        on_cell(row, False)
    return rows


def _config_json(config: ExperimentConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)
