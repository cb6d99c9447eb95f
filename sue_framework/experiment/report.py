"""Reports of an experiment: mean ± std over seeds, the paper's table layout, plots."""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path

import numpy as np

from sue_framework.errors import InputError
from sue_framework.experiment.config import ALL, METRICS, ExperimentConfig
from sue_framework.experiment.runner import load_dataset
from sue_framework.registry import registry
from sue_framework.runtime.settings import with_policy

log = logging.getLogger(__name__)

_NOT_METRICS = {
    "method", "name", "n_pairs", "unpaired_budget", "seed", "n_unpaired_x", "n_unpaired_y",
    "fit_seconds", "cell",
}  # fmt: skip


def metric_names(rows: list[dict]) -> list[str]:
    """The task's figures in `rows`, in their order: every numeric column but the grid's own.

    Parameters
    ----------
    rows : list of dict
        Results or summary rows.
    """
    return [k for k in rows[0] if k not in _NOT_METRICS and isinstance(rows[0][k], float)]


def has_paper_figures(summary: list[dict]) -> bool:
    """Whether the six R@k figures of the paper's retrieval tables are there.

    Parameters
    ----------
    summary : list of dict
        The output of `summarise`.
    """
    return bool(summary) and all(k in summary[0] for k in METRICS)


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and std over seeds per (method, n_pairs, unpaired budget), in order of appearance.

    Parameters
    ----------
    rows : list of dict
        Results rows (one per cell and seed).
    """
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
        for k in metric_names(cell):
            vals = np.array([r[k] for r in cell], dtype=float)
            s[k], s[k + "_std"] = (
                float(vals.mean()),
                float(vals.std(ddof=1)) if vals.size > 1 else 0.0,
            )
        if "x2y_R@10" in s and "y2x_R@10" in s:
            s["R@10"] = 0.5 * (s["x2y_R@10"] + s["y2x_R@10"])
        s["fit_seconds"] = float(np.mean([r["fit_seconds"] for r in cell]))
        out.append(s)
    return out


def relative_improvement(cell: dict, base: dict) -> float | None:
    """Mean over the six R@k figures of (cell - base) / base, in percent (the paper's Imp.).

    Parameters
    ----------
    cell, base : dict
        Summary rows of a method and of the baseline, same budgets.
    """
    ratios = [(cell[k] - base[k]) / base[k] for k in METRICS if base[k] > 0]
    return 100.0 * float(np.mean(ratios)) if ratios else None


def markdown_table(summary: list[dict], baseline: str | None = None) -> str:
    """The paper's Table 1 layout (one row per method and direction, mean ± std over seeds)
    for retrieval figures; any other task's figures as one column each.

    Parameters
    ----------
    summary : list of dict
        The output of `summarise`.
    baseline : str, optional
        The method label the Imp. column compares against.
    """
    if not has_paper_figures(summary):
        return _generic_table(summary)
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


def _generic_table(summary: list[dict]) -> str:
    names = [k for k in summary[0] if f"{k}_std" in summary[0]]
    lines = [
        "| #pairs | #unpaired | method | " + " | ".join(names) + " |",
        "| ---: | ---: | --- |" + " ---: |" * len(names),
    ]
    for s in sorted(summary, key=lambda s: (s["n_pairs"], _budget_order(s["unpaired_budget"]))):
        cells = " | ".join(
            f"{s[k]:.3g}" + (f" ± {s[k + '_std']:.2g}" if s["n_seeds"] > 1 else "") for k in names
        )
        lines.append(f"| {s['n_pairs']} | {s['n_unpaired']:.0f} | {s['method']} | {cells} |")
    seeds = max(s["n_seeds"] for s in summary)
    return "\n".join(lines) + f"\nMean ± std over {seeds} seed(s).\n"


def text_table(summary: list[dict]) -> str:
    """A plain console table of the means (the paper's six R@k, or the task's first six).

    Parameters
    ----------
    summary : list of dict
        The output of `summarise`.
    """
    shown = (
        METRICS
        if has_paper_figures(summary)
        else [k for k in summary[0] if f"{k}_std" in summary[0]][:6]
    )
    w = max(18, *(len(str(s["method"])) for s in summary))  # long labels keep the columns
    cols = [max(10, len(k) + 1) for k in shown]
    head = f"{'pairs':>5} {'unpaired':>8}  {'method':<{w}}" + "".join(
        f"{k:>{c}}" for k, c in zip(shown, cols, strict=True)
    )
    lines = [head, "-" * len(head)]
    for s in sorted(summary, key=lambda s: (s["n_pairs"], _budget_order(s["unpaired_budget"]))):
        lines.append(
            f"{s['n_pairs']:>5} {s['n_unpaired']:>8.0f}  {s['method']:<{w}}"
            + "".join(f"{s[k]:>{c}.2f}" for k, c in zip(shown, cols, strict=True))
        )
    return "\n".join(lines)


def _budget_order(budget: str) -> float:
    return math.inf if budget == ALL else float(budget)


def plot_r10_bars(summary: list[dict], path: Path, title: str) -> Path:
    """R@10 (mean of both directions, ± std over seeds) of each method, as bars.

    Parameters
    ----------
    summary : list of dict
        The output of `summarise`.
    path : Path
        The image to write.
    title : str
        Its title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [s["method"] for s in summary]
    means = [s["R@10"] for s in summary]
    stds = [0.5 * (s.get("x2y_R@10_std", 0.0) + s.get("y2x_R@10_std", 0.0)) for s in summary]
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(labels) + 1.5), 3.8))
    ax.bar(range(len(labels)), means, yerr=stds, capsize=3, color="tab:blue")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("R@10 (%), mean of both directions")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_r10(summary: list[dict], axis: str, path: Path, title: str) -> Path:
    """R@10 (mean of both directions, ± std band) against `axis` ("n_pairs" or "n_unpaired").

    Parameters
    ----------
    summary : list of dict
        The output of `summarise`.
    axis : str
        "n_pairs" or "n_unpaired".
    path : Path
        The image to write.
    title : str
        Its title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
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
    # beside the axes, where it covers no line however many methods there are
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_stages(config: ExperimentConfig, path: Path) -> Path | None:
    """2-D PCA view of both modalities' test rows after each stage (the paper's Fig. 13/14).

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    path : Path
        The image to write.
    """
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
    split, train = load_dataset(config.dataset, config.dataset_params).split(
        int(spec.get("pairs", config.pairs[0])), config.n_test, seed
    )
    model = registry.get("method", method.name)(
        **with_policy(
            method.params,
            f"method {method.label!r}",
            "the config's seeds and device",
            seed=seed,
            device=config.device,
        )  # fmt: skip
    )
    log.info("stage plot: refitting %s at %d pairs, seed %d", method.label, train.n_pairs, seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the grid run has shown this fit's warnings already
        model.fit(train)
    log.info("stage plot: fitted in %.1f s", time.perf_counter() - t0)
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
    """table.md and the plots that the grid supports.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment.
    rows : list of dict
        Its results rows.
    out_dir : str or Path
        Where table.md and the plots go.
    """
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
    stages = plot_stages(config, out / "stages_2d.png")
    if stages is not None:
        written["stages"] = stages
    if "R@10" not in summary[0]:  # the plots below show retrieval's R@10
        return written
    if (
        len({s["n_pairs"] for s in summary}) == 1
        and len({s["unpaired_budget"] for s in summary}) == 1
    ):  # one cell per method: no curve to draw, so the methods side by side
        written["methods"] = plot_r10_bars(
            summary,
            out / "r10_by_method.png",
            f"{config.name}: R@10, {summary[0]['n_pairs']} pairs "
            f"(unpaired: {summary[0]['unpaired_budget']})",
        )
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
    return written
