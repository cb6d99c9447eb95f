"""Which per-query score `auto`'s cross-validation should average: each held-out pair's
reciprocal rank (1/r, what it averaged first), the root of it (1/sqrt r) or minus its log
(-log r), re-scored from the per-query CV ranks that `auto_rules.py` stored, with no new fit.

For every stored cell the pick of each score under the "best" rule is looked up in the test
R@10 of every candidate (`candidates.csv`); the pair-only baseline is `auto(pair_only=True)`
under the same score. Ratios are per (pairing, pairs), means over the stored seeds, against
the tuned pair-only baseline and against the best pair-only method of the cell (the best test
mean of CCA on raw features and ASIF from `suite_methods.py`'s CSV, where it holds the cell, and
of the pair-only picks under every score).

    python benchmarks/studies/cv_score.py docs/experiments/auto_rules [more run folders]
        [--methods docs/experiments/suite/methods.csv]

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_rules import stored_cells  # noqa: E402
from suite import geomean  # noqa: E402

from sue_framework.methods.auto import PAIR_ONLY  # noqa: E402
from sue_framework.model_selection.selection import CV_SCORES, choose, query_scores  # noqa: E402

Cell = tuple[str, int]


def load_runs(folders: list[Path]) -> dict[tuple[str, int, int], dict]:
    """{(pairing, pairs, seed): {"test": {label: R@10}, "rr": {label: per-query RR}}} of the
    stored cells that ran CV, candidates in `auto`'s order."""
    runs = {}
    for key, (rows, per_query) in stored_cells(folders).items():
        cands = [r for r in rows if r["family"] != "auto"]
        test = {r["label"]: r["test_r10"] for r in cands}
        rr = {r["label"]: per_query[r["label"]] for r in cands if r["label"] in per_query}
        if rr:  # cells with too few pairs for CV have none
            runs[key] = {"test": test, "rr": rr}
    return runs


def external(path: Path | None) -> dict[Cell, float]:
    """The best test mean over seeds of CCA (raw) and ASIF per cell, from suite_methods.py."""
    if path is None or not path.exists():
        return {}
    got: dict[Cell, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in csv.DictReader(path.open()):
        if r["method"] in ("cca_raw", "asif"):
            got[(r["pairing"], int(r["pairs"]))][r["method"]].append(float(r["r10"]))
    return {k: max(float(np.mean(v)) for v in m.values()) for k, m in got.items()}


def picks(cell: dict, how: str) -> tuple[float, float]:
    """Test R@10 of (auto's pick, the pair-only pick) under the score `how`, rule "best"."""
    labels = list(cell["rr"])
    scored = {k: query_scores(v, how) for k, v in cell["rr"].items()}
    pair_only = [k for k in labels if k.split(" ")[0] in PAIR_ONLY]
    mine = labels[choose(scored, labels, "best")]
    base = pair_only[choose(scored, pair_only, "best")]
    return cell["test"][mine], cell["test"][base]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="auto_rules.py output folders")
    ap.add_argument("--methods", type=Path, default=Path("docs/experiments/suite/methods.csv"))
    args = ap.parse_args()
    cells = load_runs(args.runs)
    ext = external(args.methods)
    print(f"machine: {platform.machine()} (no fit: re-scored stored CV); {len(cells)} "
          f"(cell, seed) fits with CV from {', '.join(map(str, args.runs))}")  # fmt: skip
    mine: dict[str, dict[Cell, list[float]]] = {h: defaultdict(list) for h in CV_SCORES}
    base: dict[str, dict[Cell, list[float]]] = {h: defaultdict(list) for h in CV_SCORES}
    moved: dict[str, list[float]] = defaultdict(list)  # test R@10 change against 1/r's pick
    for (pairing, n, _), cell in sorted(cells.items()):
        got = {how: picks(cell, how) for how in CV_SCORES}
        first = got[CV_SCORES[0]][0]
        for how, (m, b) in got.items():
            mine[how][(pairing, n)].append(m)
            base[how][(pairing, n)].append(b)
            if m != first:
                moved[how].append(m - first)
    keys = sorted(mine["reciprocal_rank"])
    best_po = {
        k: max([float(np.mean(base[h][k])) for h in CV_SCORES] + ([ext[k]] if k in ext else []))
        for k in keys
    }
    print("\nR@10 of the pick, mean over seeds (ratio to the best pair-only method of the cell)")
    print("| pairing | pairs | seeds | best pair-only | " + " | ".join(CV_SCORES) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in CV_SCORES) + " |")
    for k in keys:
        row = [f"{np.mean(mine[h][k]):.1f} ({np.mean(mine[h][k]) / best_po[k]:.2f}x)"
               for h in CV_SCORES]  # fmt: skip
        seeds = len(mine["reciprocal_rank"][k])
        print(f"| {k[0]} | {k[1]} | {seeds} | {best_po[k]:.1f} | " + " | ".join(row) + " |")
    print(f"\nagainst {CV_SCORES[0]}'s pick, over {len(cells)} (cell, seed) fits: the picks whose "
          "test R@10 differs, higher / lower, and the mean change")  # fmt: skip
    print("\n| score | picks higher / lower (mean change) | geometric mean / own pair-only "
          "| worst cell / own pair-only | geometric mean / best pair-only "
          "| worst cell / best pair-only |")  # fmt: skip
    print("| --- | ---: | ---: | --- | ---: | --- |")
    for h in CV_SCORES:
        own = {k: np.mean(mine[h][k]) / np.mean(base[h][k]) for k in keys}
        best = {k: np.mean(mine[h][k]) / best_po[k] for k in keys}
        worst, low = min(best, key=best.__getitem__), min(own, key=own.__getitem__)
        d = np.asarray(moved[h])
        change = f"{(d > 0).sum()} / {(d < 0).sum()} ({d.sum() / len(cells):+.2f})"
        print(f"| {h} | {change} | {geomean(own.values()):.3f}x | {own[low]:.2f}x ({low[0]}, "
              f"{low[1]}) | {geomean(best.values()):.3f}x | {best[worst]:.2f}x ({worst[0]}, "
              f"{worst[1]}) |")  # fmt: skip


if __name__ == "__main__":
    main()
