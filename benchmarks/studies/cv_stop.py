"""Stopping self-learning's folds early (`auto`'s `cv_stop_z`), replayed on stored folds: no
fit runs. `auto`'s own selection code (`CVSelect._draws` and `_record`) is run with its
cross-validation answered from cv_repeats.py's deals.npz (every candidate's reciprocal ranks
per held-out query: the cheap candidates on five deals, self-learning on the first), so a
stop after 2 or 4 of the 5 folds sees exactly the ranks those folds gave. Each pick scores its
stored test R@10 (auto_rules.py's candidates.csv). The time saved is measured by running
`auto` itself (benchmarks/vecmap.py); the stored fold seconds are too old to count it here.

Prints, for each `--z` (and "none": every fold, today's choice without the stop), per cell
(mean over seeds) the R@10 of the picks against the best pair-only method of the cell (as
cv_repeats.py's bar: the best test mean of CCA on raw features, ASIF and the tuned pair-only
baseline), the folds self-learning ran per pairing, and the picks that changed. With
`--live`, a suite_methods.py folder whose methods.csv holds `auto` fitted live with today's
code (`--methods auto`): per cell its R@10 and seconds beside the replay's z = 3 picks.

    SUE_DATA_DIR=~/data python benchmarks/studies/cv_stop.py --z 2,3,4 \
        --rules docs/experiments/auto_rules docs/experiments/auto_rules_10 \
        docs/experiments/auto_rules_50 docs/experiments/auto_rules_messages \
        --methods docs/experiments/suite docs/experiments/suite_messages \
        --live docs/experiments/suite_auto_live

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_rules import stored_cells  # noqa: E402
from cv_repeats import pair_only_bar  # noqa: E402
from suite import geomean, load  # noqa: E402

from sue_framework import paper_split  # noqa: E402
from sue_framework.data import training_data  # noqa: E402
from sue_framework.methods.auto import Auto  # noqa: E402
from sue_framework.model_selection.cv_select import _cv_plan  # noqa: E402
from sue_framework.model_selection.splits import limit_unpaired  # noqa: E402


def replay(auto: Auto, key: str, ranks: dict):
    """A `_cross_validate` for `auto` that answers from stored ranks ("`key`|label|deal":
    each query's rank r, by pair) instead of fitting: NaN outside `fold_ids`, None for
    candidates left out or never stored on that deal; no seconds."""

    def cross_validate(data, cands, seed, draw=0, only=None, fold_ids=None):
        plan = _cv_plan(limit_unpaired(data, auto.cv_max_rows, seed), auto.folds, seed, 20000)
        ids = range(auto.folds) if fold_ids is None else fold_ids
        held = np.concatenate([plan[f][0] for f in ids])
        inside = np.zeros(2 * data.n_pairs, bool)
        inside[held], inside[data.n_pairs + held] = True, True
        out = []
        for k, label in enumerate(auto._labels(cands)):
            stored = ranks.get(f"{key}|{label}|{draw}")
            if stored is None or (only is not None and k not in only):
                out.append((None, 0.0))
                continue
            rr = np.where(inside, 1.0 / stored.astype(np.float64), np.nan)
            out.append((rr, 0.0))
        return out

    return cross_validate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="+", default=["docs/experiments/auto_rules"])
    ap.add_argument("--methods", nargs="+", default=["docs/experiments/suite"])
    ap.add_argument("--deals", default="docs/experiments/cv_repeats")
    ap.add_argument("--z", default="2,3,4")
    ap.add_argument("--live", type=Path, help="suite_methods.py folder with live `auto` rows")
    args = ap.parse_args()
    settings: list[float | None] = [None, *(float(v) for v in args.z.split(","))]
    ranks = dict(np.load(Path(args.deals) / "deals.npz"))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; replay, no fits")
    stored = stored_cells(args.rules)
    picks: dict[tuple, dict] = {}
    loaded: dict[str, tuple] = {}
    for (pairing, n, seed), (rows, _) in sorted(stored.items()):
        key = f"{pairing}|{n}|{seed}"
        if not any(k.startswith(key + "|") for k in ranks):
            continue  # not replayed by cv_repeats.py
        if pairing not in loaded:
            loaded = {pairing: load(pairing)}
        split = paper_split(*loaded[pairing], n_pairs=n, n_test=400, seed=seed)
        data = training_data(split.train, "Auto")
        test = {r["label"]: r["test_r10"] for r in rows}
        for z in settings:
            auto = Auto(seed=seed, device="cpu", cv_stop_z=z)
            cands = auto._candidates(data.n_pairs, int(min(data.x.shape[1], data.y.shape[1])))
            auto._cross_validate = replay(auto, key, ranks)  # type: ignore[method-assign]
            labels = auto._labels(cands)
            pick = labels[auto._record(labels, *auto._draws(data, cands, seed))]
            folds = auto.cv_folds_[labels[min(auto._costly(cands))]]
            picks[(pairing, n, seed, z)] = {"pick": pick, "r10": test[pick], "folds": folds}
    methods = [Path(m) / "methods.csv" for m in args.methods]
    bar = pair_only_bar(list(csv.DictReader((Path(args.deals) / "cells.csv").open())), methods)
    summarise(picks, settings, bar)
    if args.live:
        live(picks, args.live / "methods.csv", bar)


def summarise(picks: dict[tuple, dict], settings: list, bar: dict[tuple, float]) -> None:
    """Per cell and setting the mean R@10 of the picks and its ratio to the best pair-only
    method (`bar`); per pairing the folds run; per setting the changed picks and the worst
    cell."""
    fits = sorted({k[:3] for k in picks})
    cells = sorted({f[:2] for f in fits})
    names = {z: "every fold" if z is None else f"z = {z:g}" for z in settings}

    def mean(cell, z, field="r10") -> float:
        return float(np.mean([picks[(*f, z)][field] for f in fits if f[:2] == cell]))

    print("\n| pairing | pairs | best pair-only | " + " | ".join(names.values()) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in settings) + " |")
    for c in cells:
        row = " | ".join(f"{mean(c, z):.1f}" for z in settings)
        print(f"| {c[0]} | {c[1]} | {bar[c]:.1f} | {row} |")
    pairings = sorted({c[0] for c in cells})
    print("\nSelf-learning's folds run (mean over fits, of 5):")
    print("| pairing | " + " | ".join(names[z] for z in settings[1:]) + " |")
    print("| --- | " + " | ".join("---:" for _ in settings[1:]) + " |")
    for p in pairings:
        mine = [f for f in fits if f[0] == p]
        row = " | ".join(f"{np.mean([picks[(*f, z)]['folds'] for f in mine]):.2f}"
                         for z in settings[1:])  # fmt: skip
        print(f"| {p} | {row} |")
    print()
    for z in settings:
        moved = [(picks[(*f, z)], picks[(*f, None)]) for f in fits
                 if picks[(*f, z)]["pick"] != picks[(*f, None)]["pick"]]  # fmt: skip
        better = sum(a["r10"] > b["r10"] for a, b in moved)
        worse = sum(a["r10"] < b["r10"] for a, b in moved)
        vs_all = {c: mean(c, z) / max(mean(c, None), 1e-9) for c in cells}
        vs_bar = {c: mean(c, z) / max(bar[c], 1e-9) for c in cells}
        worst = min(vs_bar, key=vs_bar.__getitem__)
        folds = np.mean([picks[(*f, z)]["folds"] for f in fits])
        print(f"{names[z]}: {folds:.2f} folds of 5 on average over {len(fits)} fits; "
              f"{geomean(vs_all.values()):.4f}x every fold's R@10 (worst cell "
              f"{min(vs_all.values()):.3f}x), {geomean(vs_bar.values()):.3f}x the best pair-only "
              f"method, worst {vs_bar[worst]:.2f}x at {worst[0]} {worst[1]}, "
              f"{sum(v < 0.97 for v in vs_bar.values())} of {len(cells)} cells under 0.97x; "
              f"{len(moved)} picks changed ({better} better on the test pairs, "
              f"{worse} worse)")  # fmt: skip
        for f in fits:
            a, b = picks[(*f, z)], picks[(*f, None)]
            if a["pick"] != b["pick"]:
                print(f"    {f[0]} {f[1]} pairs seed {f[2]}: {b['pick']} {b['r10']:.1f} -> "
                      f"{a['pick']} {a['r10']:.1f} after {a['folds']} folds")  # fmt: skip


def live(picks: dict[tuple, dict], path: Path, bar: dict[tuple, float]) -> None:
    """Per cell the live `auto` rows of `path` (mean R@10 and seconds over seeds) beside the
    replay's picks at z = 3 on the same seeds, and the ratio to the best pair-only method."""
    rows = [r for r in csv.DictReader(path.open()) if r["method"] == "auto"]
    cells = sorted({(r["pairing"], int(r["pairs"])) for r in rows})
    print("\n| pairing | pairs | best pair-only | replay, z = 3 | live `auto` | live / best "
          "pair-only | live seconds |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratios = []
    for c in cells:
        mine = [r for r in rows if (r["pairing"], int(r["pairs"])) == c]
        r10 = float(np.mean([float(r["r10"]) for r in mine]))
        secs = float(np.mean([float(r["seconds"]) for r in mine]))
        replayed = [picks[k]["r10"] for k in picks if k[:2] == c and k[3] == 3.0]
        shown = f"{np.mean(replayed):.1f}" if replayed else "-"
        ratios.append((r10 / max(bar[c], 1e-9), c))
        print(f"| {c[0]} | {c[1]} | {bar[c]:.1f} | {shown} | {r10:.1f} | {ratios[-1][0]:.2f}x "
              f"| {secs:.1f} |")  # fmt: skip
    worst = min(ratios)
    print(
        f"live: {geomean(r for r, _ in ratios):.3f}x the best pair-only method over "
        f"{len(ratios)} cells, worst {worst[0]:.3f}x at {worst[1][0]} {worst[1][1]}, "
        f"{sum(r < 0.97 for r, _ in ratios)} cells under 0.97x"
    )


if __name__ == "__main__":
    main()
