"""Does a cheaper cross-validation choose as `auto` does today? For each cell of the wide
suite already measured by `auto_rules.py` (its candidates.csv and per-query CV scores), `auto`'s
cross-validation is rerun under a given budget (`auto`'s `cv_max_rows`, `cv_tol` and
`cv_patience`: the unpaired sample and the convergence of the self-learning fits in the folds;
`--baseline-too` also reruns the full budget of the reference, 4,000 rows and loops run to
their own convergence, for its seconds side by side); the "best"
rule picks a candidate from the new scores, each held-out pair scored as `auto` scores it
(the outputs in docs/experiments/cv_budget were run when that was 1/r), on the first deal of
the folds (more deals of the cheap candidates are `cv_repeats.py`'s question), and its test
R@10 is read from candidates.csv (the refit on all pairs is the same whatever the CV
budget). Prints, per cell, the CV seconds both ways, whether the choice agrees, and the R@10
of each choice; then the geometric mean ratio of the R@10 over the cells and the time ratio.

    SUE_DATA_DIR=~/data python benchmarks/studies/cv_budget.py \
        --reference docs/experiments/auto_rules --tol 1e-3 --patience 3 \
        --out docs/experiments/cv_budget

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import geomean, load, parse, write_rows  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.data import training_data  # noqa: E402
from sue_framework.methods.auto import CV_MAX_ROWS, CV_PATIENCE, CV_TOL  # noqa: E402
from sue_framework.model_selection.cv_select import _label  # noqa: E402
from sue_framework.model_selection.selection import choose, query_scores  # noqa: E402
from sue_framework.runtime.engine import engine_for  # noqa: E402

SCORE = registry.get("method", "auto")().cv_score  # each held-out pair scored as auto does


def best(per_query: dict[str, np.ndarray], order: list[str]) -> str:
    """The candidate the "best" rule picks from per-query reciprocal ranks, each scored as
    `auto` scores it (`SCORE`; this script picked by the mean 1/r until 2026-12-03)."""
    if not per_query:
        return order[0]
    return order[choose({k: query_scores(v, SCORE) for k, v in per_query.items()}, order, "best")]


FIELDS = ("pairing", "pairs", "seed", "budget", "choice", "test_r10", "cv_seconds", "agrees")


def run_cv(x, y, n_pairs: int, seed: int, cv_rows: int, tol, patience):
    """(per-query CV scores by the original labels, seconds) of `auto`'s CV under a budget."""
    split = paper_split(x, y, n_pairs=n_pairs, n_test=400, seed=seed)
    auto = registry.get("method", "auto")(
        cv_max_rows=cv_rows, cv_tol=tol, cv_patience=patience, seed=seed, device="cpu"
    )
    data = training_data(split.train, "Auto")  # auto's content order, so its folds
    width = int(min(data.x.shape[1], data.y.shape[1]))
    cands = auto._candidates(data.n_pairs, width)
    if data.n_pairs < 2 * auto.folds:
        return {}, 0.0, cands
    t0 = time.perf_counter()
    runs = auto._cross_validate(data, cands, engine_for("cpu", seed).seed)
    seconds = time.perf_counter() - t0
    return {_label(c): r for c, (r, _) in zip(cands, runs, strict=True)}, seconds, cands


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default="docs/experiments/auto_rules")
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--pairs", default="25,100")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--cv-max-rows", type=int, default=CV_MAX_ROWS)
    ap.add_argument("--tol", type=float, default=CV_TOL)
    ap.add_argument("--patience", type=int, default=CV_PATIENCE)
    ap.add_argument("--baseline-too", action="store_true",
                    help="also rerun the full budget in each cell, for its seconds")  # fmt: skip
    ap.add_argument("--out", default="docs/experiments/cv_budget")
    args = ap.parse_args()
    ref = Path(args.reference)
    reference = list(csv.DictReader((ref / "candidates.csv").open()))
    queries = dict(np.load(ref / "cv_per_query.npz"))
    budget = f"rows={args.cv_max_rows} tol={args.tol} patience={args.patience}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cells.csv"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    have = {(r["pairing"], int(r["pairs"]), int(r["seed"]), r["budget"]) for r in done}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; budget {budget}")
    for p in parse(args.pairings):
        x, y = load(p)
        for n in (int(v) for v in args.pairs.split(",")):
            for seed in (int(v) for v in args.seeds.split(",")):
                test = {
                    r["label"]: float(r["test_r10"])
                    for r in reference
                    if (r["pairing"], int(r["pairs"]), int(r["seed"])) == (p.name, n, seed)
                    and r["family"] != "auto"
                }
                if not test:
                    continue
                prefix = f"{p.name}|{n}|{seed}|"
                old = {k[len(prefix) :]: v for k, v in queries.items() if k.startswith(prefix)}
                runs = [(budget, args.cv_max_rows, args.tol, args.patience)]
                if args.baseline_too:
                    runs.append(("today", 4000, None, None))
                for name, rows, tol, patience in runs:
                    if (p.name, n, seed, name) in have:
                        continue
                    new, seconds, cands = run_cv(x, y, n, seed, rows, tol, patience)
                    order = [_label(c) for c in cands]
                    pick, was = best(new, order), best(old, order)
                    row = {
                        "pairing": p.name, "pairs": n, "seed": seed, "budget": name,
                        "choice": pick, "test_r10": test[pick], "cv_seconds": f"{seconds:.1f}",
                        "agrees": int(pick == was),
                    }  # fmt: skip
                    done.append({k: str(v) for k, v in row.items()})
                    write_rows(path, FIELDS, done)
                    print(
                        f"{p.name} {n} seed {seed} [{name}]: {pick} R@10 {test[pick]:.1f} "
                        f"(today's choice {was}: {test[was]:.1f}), CV {seconds:.1f} s",
                        flush=True,
                    )
    names = {p.name for p in parse(args.pairings)}
    summarise([r for r in done if r["pairing"] in names], reference, queries)


def summarise(done: list[dict], reference: list[dict], queries: dict) -> None:
    """Per budget: choices agreeing with today's, the geometric mean R@10 ratio against today's
    choice over the cells' seed means, the worst cell, and the CV seconds."""
    today: dict[tuple, float] = {}
    for r in done:
        key = (r["pairing"], int(r["pairs"]), int(r["seed"]))
        if key in today:
            continue
        cands = [c for c in reference if (c["pairing"], int(c["pairs"]), int(c["seed"])) == key]
        test = {c["label"]: float(c["test_r10"]) for c in cands if c["family"] != "auto"}
        order = list(test)
        prefix = "|".join(str(v) for v in key) + "|"
        old = {k[len(prefix) :]: v for k, v in queries.items() if k.startswith(prefix)}
        today[key] = test[best(old, order)]
    for budget in sorted({r["budget"] for r in done}):
        rows = [r for r in done if r["budget"] == budget]
        cells: dict[tuple, list[tuple[float, float]]] = {}
        for r in rows:
            key = (r["pairing"], int(r["pairs"]), int(r["seed"]))
            cells.setdefault(key[:2], []).append((float(r["test_r10"]), today[key]))
        ratios = {
            c: np.mean([a for a, _ in v]) / max(np.mean([b for _, b in v]), 1e-9)
            for c, v in cells.items()
        }
        worst = min(ratios, key=ratios.__getitem__)
        agree = sum(int(r["agrees"]) for r in rows)
        secs = sum(float(r["cv_seconds"]) for r in rows)
        print(
            f"[{budget}] {agree}/{len(rows)} choices as today; R@10 geometric mean "
            f"{geomean(ratios.values()):.3f}x today's over {len(ratios)} "
            f"cells, worst {ratios[worst]:.2f}x at {worst[0]} {worst[1]}; CV {secs:.0f} s in all"
        )


if __name__ == "__main__":
    main()
