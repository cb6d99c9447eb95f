"""Summary of the real-embedding suite from its results CSVs (docs/experiments/real_*/).

R@10 is the mean of both directions, in %, mean ± std over seeds; "vs best pair-only" divides
by the best of the pair-only methods in that cell (CCA (raw), ASIF, and the CV-tuned pair-only
baseline with and without ASIF's grid). Prints the
markdown that docs/real_embeddings.md quotes.

    python benchmarks/real_summary.py
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "docs" / "experiments"
SUITE = ("real_freedict_en_fr", "real_wordnet_gloss_fr", "real_cldr_emoji_en_fr")
PAIR_ONLY = ("CCA (raw)", "ASIF", "Pair-only (CV)", "Pair-only (CV, ASIF untuned)")


def fit_on_splits(
    methods: dict[str, tuple[str, dict]], x, y, n_pairs: int, seeds
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """R@10 (mean of both directions) and fit seconds, per seed, of each labelled (method name,
    params) on the suite's splits (those of `sue experiment real_*`)."""
    from sue_framework import paper_split, registry

    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    r10 = {k: [] for k in methods}
    secs = {k: [] for k in methods}
    for seed in seeds:
        split = paper_split(x, y, n_pairs=n_pairs, n_test=400, seed=seed)
        for label, (name, params) in methods.items():
            model = registry.get("method", name)(seed=seed, device="cpu", **params)
            t0 = time.perf_counter()
            model.fit(split.train)
            secs[label].append(time.perf_counter() - t0)
            f = task.evaluate(
                model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
            )
            r10[label].append(0.5 * (f["x2y_R@10"] + f["y2x_R@10"]))
    return r10, secs


def cell(values, seconds=None) -> str:
    """A table cell: the mean, ± the std over seeds when there are several, and seconds."""
    v = np.asarray(values, dtype=float)
    text = f"{v.mean():.1f}" + (f" ± {v.std(ddof=1):.1f}" if v.size > 1 else "")
    return text + ("" if seconds is None else f" ({np.mean(seconds):.1f} s)")


def load(name: str) -> tuple[list[str], dict, dict]:
    r10, secs = defaultdict(list), defaultdict(list)
    with open(ROOT / name / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        key = (r["method"], int(r["n_pairs"]))
        r10[key].append(0.5 * (float(r["x2y_R@10"]) + float(r["y2x_R@10"])))
        secs[key].append(float(r["fit_seconds"]))
    return list(dict.fromkeys(r["method"] for r in rows)), r10, secs


def main() -> None:
    ratios: dict[str, list[float]] = defaultdict(list)
    for name in SUITE:
        methods, r10, secs = load(name)
        pairs = sorted({m for _, m in r10})
        print(f"\n### {name}\n")
        print("| pairs | " + " | ".join(methods) + " | auto / best pair-only |")
        print("| ---: | " + " | ".join("---:" for _ in methods) + " | ---: |")
        for m in pairs:
            best = max(PAIR_ONLY, key=lambda b: np.mean(r10[(b, m)]))
            cells = []
            for me in methods:
                v = np.asarray(r10[(me, m)])
                cells.append(f"{v.mean():.1f} ± {v.std(ddof=1):.1f}")
                if me not in PAIR_ONLY:
                    ratios[me].append(v.mean() / np.mean(r10[(best, m)]))
            below = np.mean(r10[("auto", m)]) < np.mean(r10[(best, m)]) - np.std(
                r10[(best, m)], ddof=1
            )
            flag = " (below by > 1 std)" if below else ""
            print(f"| {m} | " + " | ".join(cells) + f" | {ratios['auto'][-1]:.2f}{flag} |")
        print("\nMean fit seconds per cell: " + ", ".join(
            f"{me} {np.mean([np.mean(secs[(me, m)]) for m in pairs]):.1f}" for me in methods
        ))
    print("\nGeometric mean over all cells, vs the best pair-only baseline: " + ", ".join(
        f"{me} {np.exp(np.mean(np.log(v))):.2f}x" for me, v in ratios.items()
    ))


if __name__ == "__main__":
    main()
