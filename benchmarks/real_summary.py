"""Summary of the wide real suite from its CSVs: per pairing and pair count, R@10 of each
method (mean ± std over seeds), `auto` over the tuned pair-only baseline and over the best
pair-only method of the cell, and the geometric means and worst cells that
docs/wide_suite.md quotes. `auto`'s R@10 is that of the candidate its default rule picks from
the CV scores (the same fit as its refit), so cells measured under an older default still
count as today's `auto`; its seconds are those of the run.

Inputs: `benchmarks/studies/auto_rules.py`'s candidates.csv and cv_per_query.npz (auto, the tuned
pair-only baseline, semi-CCA and self-learning as auto's candidates) and
`benchmarks/suite_methods.py`'s methods.csv (cca_raw, asif, the guarded self_train, sue).
"Best pair-only" is the best *test* mean among CCA (raw), ASIF and Pair-only (CV): a bar the
pair-only side could only reach by choosing with hindsight.

    python benchmarks/real_summary.py   # reads docs/experiments/auto_rules and .../suite
    python benchmarks/real_summary.py --rules docs/experiments/auto_rules \
        docs/experiments/auto_rules_200
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import geomean  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "docs" / "experiments"
SUITE = ("real_freedict_en_fr", "real_wordnet_gloss_fr", "real_cldr_emoji_en_fr")
PAIR_ONLY = ("CCA (raw)", "ASIF", "Pair-only (CV)")
COLUMNS = ("CCA (raw)", "ASIF", "Pair-only (CV)", "Semi-CCA", "Self-train", "auto", "SUE (paper)")


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
    """(methods, R@10 by (method, pairs), seconds likewise) of an experiment folder's
    results.csv under docs/experiments (the previous round's grids)."""
    r10, secs = defaultdict(list), defaultdict(list)
    with open(ROOT / name / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        key = (r["method"], int(r["n_pairs"]))
        r10[key].append(0.5 * (float(r["x2y_R@10"]) + float(r["y2x_R@10"])))
        secs[key].append(float(r["fit_seconds"]))
    return list(dict.fromkeys(r["method"] for r in rows)), r10, secs


def suite_scores(rules: list[Path], methods: Path) -> tuple[dict, dict]:
    """R@10 and seconds by (pairing, pairs, column) -> per-seed lists, from the CSVs of
    `auto_rules.py` (one or more output folders) and of `suite_methods.py`."""
    from auto_rules import picks, stored_cells

    from sue_framework import registry

    default_rule = registry.get("method", "auto")().rule
    r10: dict[tuple, list[float]] = defaultdict(list)
    secs: dict[tuple, list[float]] = defaultdict(list)
    for (pairing, n, _), (rows, per_query) in stored_cells(rules).items():
        picked = picks(rows, per_query)
        r10[(pairing, n, "Pair-only (CV)")].append(picked["pair-only"])
        by_label = {r["label"]: r for r in rows}
        auto = by_label["auto"]
        # the candidate that auto's default rule picks, so that cells run under an older
        # default count as today's auto (its refit is that candidate's fit, same seed)
        r10[(pairing, n, "auto")].append(picked[default_rule])
        secs[(pairing, n, "auto")].append(float(auto["seconds"]))
        semi = [r for r in rows if r["family"] == "semi_cca"]
        if semi:  # the widest semi-CCA candidate, as the previous tables' 32-d Semi-CCA
            r10[(pairing, n, "Semi-CCA")].append(semi[-1]["test_r10"])
    names = {"cca_raw": "CCA (raw)", "asif": "ASIF", "self_train": "Self-train",
             "sue": "SUE (paper)"}  # fmt: skip
    path = methods / "methods.csv"
    for r in csv.DictReader(path.open()) if path.exists() else []:
        key = (r["pairing"], int(r["pairs"]), names[r["method"]])
        r10[key].append(float(r["r10"]))
        secs[key].append(float(r["seconds"]))
    return r10, secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=Path, nargs="+", default=[ROOT / "auto_rules"],
                    help="auto_rules.py output folders")  # fmt: skip
    ap.add_argument("--methods", type=Path, default=ROOT / "suite")
    args = ap.parse_args()
    r10, secs = suite_scores(args.rules, args.methods)
    pairings = list(dict.fromkeys(k[0] for k in r10))
    ratio_best: dict[str, list[tuple[float, tuple]]] = defaultdict(list)
    ratio_tuned: list[tuple[float, tuple]] = []
    for pairing in pairings:
        # cells where auto ran; suite_methods.py may hold pair counts auto_rules.py has not run
        pairs = sorted({k[1] for k in r10 if k[0] == pairing and k[2] == "auto"})
        cols = [c for c in COLUMNS if any((pairing, m, c) in r10 for m in pairs)]
        print(f"\n### {pairing}\n")
        ratios = " | auto / Pair-only (CV) | auto / best pair-only |"
        print("| pairs | " + " | ".join(cols) + ratios)
        print("| ---: | " + " | ".join("---:" for _ in cols) + " | ---: | ---: |")
        for m in pairs:
            mean = {c: np.mean(r10[(pairing, m, c)]) for c in cols if r10.get((pairing, m, c))}
            best = max(mean[c] for c in PAIR_ONLY if c in mean)
            for c in ("Semi-CCA", "Self-train", "auto", "SUE (paper)"):
                if c in mean:
                    ratio_best[c].append((mean[c] / max(best, 1e-9), (pairing, m)))
            tuned = mean["auto"] / max(mean["Pair-only (CV)"], 1e-9)
            ratio_tuned.append((tuned, (pairing, m)))
            cells = [cell(r10[(pairing, m, c)]) if (pairing, m, c) in r10 else "" for c in cols]
            print(f"| {m} | " + " | ".join(cells)
                  + f" | {tuned:.2f} | {ratio_best['auto'][-1][0]:.2f} |")  # fmt: skip
        print("\nMean fit seconds per cell: " + ", ".join(
            f"{c} {np.mean([np.mean(secs[(pairing, m, c)]) for m in pairs]):.1f}"
            for c in cols if all(secs.get((pairing, m, c)) for m in pairs)
        ))  # fmt: skip
    geo = lambda v: geomean(r for r, _ in v)  # noqa: E731
    print("\nGeometric mean over all cells, vs the best pair-only method of each cell: "
          + ", ".join(f"{c} {geo(v):.2f}x" for c, v in ratio_best.items()))  # fmt: skip
    worst = min(ratio_best["auto"])
    print(f"auto's worst cell: {worst[0]:.2f}x the best pair-only method ({worst[1][0]}, "
          f"{worst[1][1]} pairs); vs the tuned pair-only baseline: geometric mean "
          f"{geo(ratio_tuned):.2f}x, worst {min(ratio_tuned)[0]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
