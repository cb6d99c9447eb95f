"""Experiment runner: a grid of methods x pair budgets x unpaired budgets x seeds under the paper's
protocol, written to a resumable CSV, a paper-style markdown table and plots.

Orchestration only: data sets come from `datasets`, methods from the registry, figures from the
"retrieval" task.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.data import limit_unpaired, paper_split, with_unpaired
from sue_framework.engine import fit_thread_policy, resolve_device
from sue_framework.errors import InputError
from sue_framework.registry import registry
from sue_framework.results import ResultsFile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

METRICS = ("x2y_R@1", "x2y_R@5", "x2y_R@10", "y2x_R@1", "y2x_R@5", "y2x_R@10")
ALL = "all"


@dataclass(frozen=True)
class MethodSpec:
    label: str
    name: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    methods: tuple[MethodSpec, ...]
    pairs: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    unpaired: tuple[int | str, ...] = (ALL,)
    dataset: str = "digits_halves"
    dataset_params: dict = field(default_factory=dict)
    n_test: int = 400
    baseline: str | None = None
    device: str = "auto"
    description: str = ""
    stages_plot: dict | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise InputError(f"dataset must be a registered dataset name, got {self.dataset!r}")
        if not self.methods:
            raise InputError("an experiment needs at least one [[methods]] entry")
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


def load_config(path: str | Path) -> ExperimentConfig:
    """Read a TOML experiment config; unknown keys are errors, not silently ignored."""
    path = Path(path)
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
    and a synthetic set of at most 1200 rows. For CI and quick checks."""
    params = dict(config.dataset_params)
    n_test = config.n_test
    if config.dataset == "synthetic":
        params["n"] = min(int(params.get("n", 3000)), 1200)
        n_test = min(n_test, 200)
    return replace(
        config,
        seeds=config.seeds[:1],
        pairs=config.pairs[:1],
        unpaired=config.unpaired[:1],
        dataset_params=params,
        n_test=n_test,
    )


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


COLUMNS = [
    "method",
    "name",
    "n_pairs",
    "unpaired_budget",
    "seed",
    *METRICS,
    "n_unpaired_x",
    "n_unpaired_y",
    "fit_seconds",
]
_TYPES: dict[str, Callable[[str], object]] = {
    **{k: float for k in (*METRICS, "fit_seconds")},
    **{k: int for k in ("n_pairs", "seed", "n_unpaired_x", "n_unpaired_y")},
}


def results_file(path: str | Path) -> ResultsFile:
    return ResultsFile(path, COLUMNS, _TYPES)


def read_results(path: str | Path) -> list[dict]:
    """The intact rows of a results CSV (damaged lines are reported and left out)."""
    return results_file(path).read()


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
    results = results_file(out / "results.csv")
    (out / "config.json").write_text(json.dumps(_config_json(config), indent=1))
    rows = results.read() if resume else []
    done = {_key(r) for r in rows}
    factories = {m.label: registry.get("method", m.name) for m in config.methods}  # fail early
    registry.get("dataset", config.dataset)
    task = registry.get("task", "retrieval")(device=config.device)
    data = load_dataset(config)
    device = resolve_device(config.device)
    results.start(rows)  # drops torn or damaged lines before anything is appended
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
                    figures = task.evaluate(
                        model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
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
                    results.append(row)  # the R@k figures only
                    rows.append(row)
                    if on_cell:
                        on_cell(row, False)
    return rows


def _config_json(config: ExperimentConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and std over seeds per (method, n_pairs, unpaired budget), in order of appearance."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], int(r["n_pairs"]), str(r["unpaired_budget"])), []).append(r)
    out = []
    for (method, m, budget), cell in groups.items():
        s = {
            "method": method,
            "n_pairs": m,
            "unpaired_budget": budget,
            "n_seeds": len(cell),
            "n_unpaired": float(np.mean([r["n_unpaired_x"] for r in cell])),
        }
        for k in METRICS:
            vals = np.array([r[k] for r in cell], dtype=float)
            s[k], s[k + "_std"] = (
                float(vals.mean()),
                float(vals.std(ddof=1)) if vals.size > 1 else 0.0,
            )
        s["R@10"] = 0.5 * (s["x2y_R@10"] + s["y2x_R@10"])
        s["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in cell]))
        out.append(s)
    return out


def relative_improvement(cell: dict, base: dict) -> float | None:
    """Mean over the six R@k figures of (cell - base) / base, in percent (the paper's Imp.)."""
    ratios = [(cell[k] - base[k]) / base[k] for k in METRICS if base[k] > 0]
    return 100.0 * float(np.mean(ratios)) if ratios else None


def markdown_table(summary: list[dict], baseline: str | None = None) -> str:
    """The paper's Table 1 layout: one row per method and direction, mean ± std over seeds."""
    by_cell = {(s["method"], s["n_pairs"], s["unpaired_budget"]): s for s in summary}
    lines = [
        "| #pairs | #unpaired | method | dir | R@1 | R@5 | R@10 | Imp. |",
        "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for s in sorted(summary, key=lambda s: (s["n_pairs"], _budget_order(s["unpaired_budget"]))):
        base = by_cell.get((baseline, s["n_pairs"], s["unpaired_budget"])) if baseline else None
        imp = (
            relative_improvement(s, base) if base is not None and s["method"] != baseline else None
        )
        for d, name in (("x2y", "x→y"), ("y2x", "y→x")):
            cells = " | ".join(
                f"{s[f'{d}_R@{k}']:.2f}"
                + (f" ± {s[f'{d}_R@{k}_std']:.2f}" if s["n_seeds"] > 1 else "")
                for k in (1, 5, 10)
            )
            imp_s = f"{imp:+.1f}%" if (imp is not None and d == "x2y") else ""
            where = f"| {s['n_pairs']} | {s['n_unpaired']:.0f} | {s['method']} | {name} |"
            lines.append(f"{where} {cells} | {imp_s} |")
    note = (
        f"\nImp.: mean relative change of the six R@k figures over {baseline}." if baseline else ""
    )
    return (
        "\n".join(lines)
        + note
        + f"\nMean ± std over {max(s['n_seeds'] for s in summary)} seed(s); R@k in %.\n"
    )


def text_table(summary: list[dict]) -> str:
    """A plain console table of the means."""
    head = f"{'pairs':>5} {'unpaired':>8}  {'method':<18}" + "".join(f"{k:>10}" for k in METRICS)
    lines = [head, "-" * len(head)]
    for s in sorted(summary, key=lambda s: (s["n_pairs"], _budget_order(s["unpaired_budget"]))):
        lines.append(
            f"{s['n_pairs']:>5} {s['n_unpaired']:>8.0f}  {s['method']:<18}"
            + "".join(f"{s[k]:>10.2f}" for k in METRICS)
        )
    return "\n".join(lines)


def _budget_order(budget: str) -> float:
    return math.inf if budget == ALL else float(budget)


def plot_r10(summary: list[dict], axis: str, path: Path, title: str) -> Path:
    """R@10 (mean of both directions, ± std band) against `axis` ("n_pairs" or "n_unpaired")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for method in dict.fromkeys(s["method"] for s in summary):
        pts = sorted(
            (s[axis], s["R@10"], 0.5 * (s["x2y_R@10_std"] + s["y2x_R@10_std"]))
            for s in summary
            if s["method"] == method
        )
        xs, ys, sd = (np.array(v) for v in zip(*pts, strict=True))
        ax.plot(xs, ys, marker="o", label=method)
        ax.fill_between(xs, ys - sd, ys + sd, alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel(
        "number of pairs" if axis == "n_pairs" else "number of unpaired rows per modality"
    )
    ax.set_ylabel("R@10 (%), mean of both directions")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_stages(config: ExperimentConfig, path: Path) -> Path | None:
    """2-D PCA view of both modalities' test rows after each stage (the paper's Fig. 13/14)."""
    spec = config.stages_plot
    if not spec:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sue_framework.components.pca import PCA

    method = next((m for m in config.methods if m.label == spec["method"]), None)
    if method is None:
        raise InputError(f"stages_plot.method {spec['method']!r} is not one of the method labels")
    seed = int(spec.get("seed", config.seeds[0]))
    split, train = load_dataset(config).split(
        int(spec.get("pairs", config.pairs[0])), config.n_test, seed
    )
    model = registry.get("method", method.name)(
        **{"seed": seed, "device": config.device, **method.params}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train)
    if not hasattr(model, "stage_outputs"):
        raise InputError(f"method {method.label!r} has no stage_outputs(); pick a SUE-type method")
    sx, sy = model.stage_outputs(split.x_test, "x"), model.stage_outputs(split.y_test, "y")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    titles = {
        "se": "spectral embeddings (separate spaces)",
        "aligned": "after the aligner",
        "universal": "after the matcher",
    }
    for ax, stage in zip(axes, ("se", "aligned", "universal"), strict=True):
        both = np.vstack([sx[stage], sy[stage]])
        p = PCA(n_components=2, whiten=False, device="cpu").fit(both)
        ax.scatter(*p.transform(sx[stage]).T, s=5, alpha=0.6, c="tab:red", label="x")
        ax.scatter(*p.transform(sy[stage]).T, s=5, alpha=0.6, c="tab:blue", label="y")
        ax.set_title(titles[stage], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"{config.name}: {method.label}, {spec.get('pairs', config.pairs[0])} pairs, test rows",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    config: ExperimentConfig, rows: list[dict], out_dir: str | Path
) -> dict[str, Path]:
    """table.md and the plots that the grid supports."""
    out = Path(out_dir)
    summary = summarise(rows)
    written = {}
    table = markdown_table(summary, config.baseline)
    head = (
        f"# {config.name}\n\n{config.description}\n\n"
        if config.description
        else f"# {config.name}\n\n"
    )
    (out / "table.md").write_text(head + table)
    written["table"] = out / "table.md"
    if len({s["n_pairs"] for s in summary}) > 1:
        for budget in dict.fromkeys(s["unpaired_budget"] for s in summary):
            sub = [s for s in summary if s["unpaired_budget"] == budget]
            suffix = "" if budget == ALL else f"_u{budget}"
            written["pairs" + suffix] = plot_r10(
                sub,
                "n_pairs",
                out / f"r10_vs_pairs{suffix}.png",
                f"{config.name}: R@10 vs pairs (unpaired: {budget})",
            )
    if len({s["unpaired_budget"] for s in summary}) > 1:
        for m in dict.fromkeys(s["n_pairs"] for s in summary):
            sub = [s for s in summary if s["n_pairs"] == m]
            written[f"unpaired_p{m}"] = plot_r10(
                sub,
                "n_unpaired",
                out / f"r10_vs_unpaired_p{m}.png",
                f"{config.name}: R@10 vs unpaired rows ({m} pairs)",
            )
    stages = plot_stages(config, out / "stages_2d.png")
    if stages is not None:
        written["stages"] = stages
    return written
