"""The offline demo: scikit-learn's digits, left and right image halves as two modalities.

Follows the paper's protocol (App. D.7) at several pair budgets and compares SUE with the
contrastive baseline and CCA on the raw features. Orchestration only: methods come from the
registry, retrieval figures from the "retrieval" task.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sue_framework.data import paper_split
from sue_framework.datasets import digits_halves
from sue_framework.errors import UnknownComponentError
from sue_framework.registry import registry

DEMO_METHODS: dict[str, tuple[str, dict]] = {
    "SUE": (
        "sue",
        {
            "se_dim": 20,
            "solver_params": {"graph_params": {"n_neighbors": 15}},
            "matcher_params": {"batch_size": 256},
        },
    ),
    "Contrastive": ("contrastive", {}),
    "CCA (raw)": ("cca_raw", {}),
}


@dataclass
class DemoResult:
    rows: list[dict]  # one per (method, n_pairs, seed)
    seconds: float


def run_demo(
    pair_budgets: Sequence[int] = (10, 25, 50, 100, 200),
    seeds: Sequence[int] = (0, 1),
    n_test: int = 400,
    device: str = "auto",
    methods: dict[str, tuple[str, dict]] | None = None,
    on_cell: Callable[[dict], None] | None = None,
) -> DemoResult:
    methods = DEMO_METHODS if methods is None else methods
    task = registry.get("task", "retrieval")(device=device)
    x, y = digits_halves()
    rows, t0 = [], time.perf_counter()
    for m in pair_budgets:
        for seed in seeds:
            split = paper_split(x, y, n_pairs=m, n_test=n_test, seed=seed)
            for label, (name, params) in methods.items():
                try:
                    factory = registry.get("method", name)
                except UnknownComponentError as exc:
                    raise UnknownComponentError(
                        f"{exc} The demo needs the plugin packages in plugins/ installed."
                    ) from exc
                model = factory(**params, seed=seed, device=device)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(split.train)
                figures = task.evaluate(
                    model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
                )
                row = {"method": label, "n_pairs": m, "seed": seed, **figures}
                rows.append(row)
                if on_cell:
                    on_cell(row)
    return DemoResult(rows=rows, seconds=time.perf_counter() - t0)


def summarise(rows: list[dict]) -> list[dict]:
    """Mean over seeds for each (method, n_pairs), keeping the order of first appearance."""
    keys: list[tuple[str, int]] = []
    for r in rows:
        if (r["method"], r["n_pairs"]) not in keys:
            keys.append((r["method"], r["n_pairs"]))
    metrics = [k for k in rows[0] if "@" in k]
    out = []
    for method, m in keys:
        cell = [r for r in rows if r["method"] == method and r["n_pairs"] == m]
        out.append(
            {
                "method": method,
                "n_pairs": m,
                "n_seeds": len(cell),
                **{k: float(np.mean([r[k] for r in cell])) for k in metrics},
            }
        )
    return out


def format_table(summary: list[dict]) -> str:
    metrics = [k for k in summary[0] if "@" in k]
    head = f"{'pairs':>5}  {'method':<12}" + "".join(f"{k:>10}" for k in metrics)
    lines = [head, "-" * len(head)]
    for r in sorted(
        summary,
        key=lambda r: (
            r["n_pairs"],
            list(DEMO_METHODS).index(r["method"]) if r["method"] in DEMO_METHODS else 99,
        ),
    ):
        lines.append(
            f"{r['n_pairs']:>5}  {r['method']:<12}" + "".join(f"{r[k]:>10.2f}" for k in metrics)
        )
    return "\n".join(lines)


def plot_r10(summary: list[dict], path: Path) -> Path:
    """R@10 (mean of both directions) against the number of pairs, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in dict.fromkeys(r["method"] for r in summary):
        pts = sorted(
            (r["n_pairs"], 0.5 * (r["x2y_R@10"] + r["y2x_R@10"]))
            for r in summary
            if r["method"] == method
        )
        ax.plot(*zip(*pts, strict=True), marker="o", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("number of pairs")
    ax.set_ylabel("R@10 (%), mean of both directions")
    ax.set_title("digits: left half <-> right half, 400 test pairs")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
