"""Does dealing the pairs into folds several times choose better? `auto`'s `cv_repeats`: every
candidate but self-learning is cross-validated on `--repeats` deals of the pairs and each
held-out pair scores its mean over them; self-learning keeps its one deal.

For each cell already measured by `auto_rules.py` (its candidates.csv, with every candidate's
test R@10, and cv_per_query.npz, with the first deal's per-query reciprocal ranks), the cheap
candidates are cross-validated again on deals 0 .. R-1 with today's code. Deal 0 must
reproduce the stored ranks of at least half of them (else the data changed since that run
and the cell is left out, named in the output); self-learning's stored ranks stand for its
one deal. Then, for each number of deals in `--compare`, `auto` picks a candidate as it
does (`selection.choose_dealt`: the cheap candidates by their mean over the deals, then
their winner against self-learning on the first deal) and, for the record, in one round
(every candidate by its mean over the deals it has); the tuned pair-only baseline picks
("one_se" over CCA and ASIF, as `real_summary.py`); each pick scores its stored test R@10.
Seconds: the cheap candidates' first deal, and the deals `auto` adds (only where a cheap
candidate leads self-learning on the first deal, `CVSelect._deal_again`). Prints per cell
(mean over seeds) and, per setting, the geometric mean
against one deal, against the best pair-only method of the cell (the best test mean of CCA
on raw features and ASIF from `suite_methods.py`'s methods.csv and of the pair-only baseline
under every number of deals compared: the highest bar), and the worst cell. Every deal's
ranks go to deals.npz ("pairing|pairs|seed|label|deal": each held-out query's rank r, pairs
in order, x -> y then y -> x), so other rules can be scored without a fit.

    SUE_DATA_DIR=~/data python benchmarks/studies/cv_repeats.py --repeats 5 --compare 1,3,5 \
        --rules docs/experiments/auto_rules docs/experiments/auto_rules_10 \
        docs/experiments/auto_rules_50 docs/experiments/auto_rules_messages \
        --methods docs/experiments/suite docs/experiments/suite_messages \
        --out docs/experiments/cv_repeats

A later `--rules` or `--methods` folder's cells replace an earlier one's (auto_rules_messages
and suite_messages: UI messages at 25 and 100 pairs rerun on this machine's catalogues).

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_rules import SCORE, stored_cells  # noqa: E402
from suite import BY_NAME, geomean, load, write_rows  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.data import training_data  # noqa: E402
from sue_framework.methods.auto import PAIR_ONLY  # noqa: E402
from sue_framework.model_selection.cv_select import _cv_plan, _in_pair_order  # noqa: E402
from sue_framework.model_selection.selection import choose, choose_dealt, query_scores  # noqa: E402
from sue_framework.model_selection.splits import limit_unpaired  # noqa: E402

FIELDS = (
    "pairing", "pairs", "seed", "deals", "rounds", "auto_pick", "auto_r10", "pair_only_r10",
    "first_deal_seconds", "extra_seconds",
)  # fmt: skip


def stored_in_pair_order(ranks: np.ndarray, data, auto, seed: int) -> np.ndarray:
    """A stored per-query array written fold after fold (as `auto` did before it returned
    ranks by pair) by pair."""
    plan = _cv_plan(limit_unpaired(data, auto.cv_max_rows, seed), auto.folds, seed, 20000)
    sizes = np.cumsum([2 * held.size for held, _, _ in plan])[:-1]
    return _in_pair_order(np.split(ranks, sizes), plan, data.n_pairs)


def deals(x, y, n_pairs: int, seed: int, stored: dict[str, np.ndarray], repeats: int):
    """({label: [reciprocal ranks of each deal, by pair]}, seconds of each deal of the cheap
    candidates, whether `auto` deals again here (`CVSelect._deal_again`)), or None when
    today's deal 0 reproduces the stored ranks of fewer than half of the cheap candidates
    (the data changed; the widest CCA widths can drift by rounding)."""
    split = paper_split(x, y, n_pairs=n_pairs, n_test=400, seed=seed)
    auto = registry.get("method", "auto")(seed=seed, device="cpu")
    data = training_data(split.train, "Auto")  # auto's content order, so its folds
    cands = auto._candidates(data.n_pairs, int(min(data.x.shape[1], data.y.shape[1])))
    labels = auto._labels(cands)
    cheap = set(range(len(cands))) - auto._costly(cands)
    # runs stored before `auto` returned ranks by pair hold them fold after fold
    orders = ({k: v for k, v in stored.items() if k in labels},
              {k: stored_in_pair_order(stored[k], data, auto, seed) for k in labels})  # fmt: skip
    same, seconds = [0, 0], []
    out: dict[str, list[np.ndarray]] = {k: [] for k in labels}
    for draw in range(repeats):
        t0 = time.perf_counter()
        runs = auto._cross_validate(data, cands, seed, draw, cheap)
        seconds.append(time.perf_counter() - t0)
        for k, (ranks, _) in zip(labels, runs, strict=True):
            if ranks is None:
                continue
            if draw == 0:  # today's code for every deal of the cheap candidates
                for i, order in enumerate(orders):
                    same[i] += np.array_equal(ranks, order[k])
            out[k].append(ranks)
    kept = orders[int(same[1] > same[0])]
    if 2 * max(same) < len(cheap):
        return None
    for k in labels:
        if not out[k]:  # self-learning: its stored first deal
            out[k] = [kept[k]]
    return out, seconds, auto._deal_again([out[k][0] for k in labels], cheap)


def pick(
    draws: dict[str, list[np.ndarray]],
    labels: list[str],
    rule: str,
    n: int,
    one_round: bool = False,
) -> str:
    """The label `rule` picks from the first `n` deals: as `auto` does (`choose_dealt`), or
    with `one_round`, every candidate by its mean over the deals it has (the first design,
    which compares self-learning's one deal with the others' mean)."""  # fmt: skip
    dealt = {k: [query_scores(r, SCORE) for r in draws[k][:n]] for k in labels}
    if one_round:
        return labels[choose({k: np.mean(v, axis=0) for k, v in dealt.items()}, labels, rule)]
    return labels[choose_dealt(dealt, labels, rule)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="+", default=["docs/experiments/auto_rules"])
    ap.add_argument("--methods", nargs="+", default=["docs/experiments/suite"],
                    help="suite_methods.py folders; later ones win")  # fmt: skip
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compare", default="1,3,5")
    ap.add_argument("--out", default="docs/experiments/cv_repeats")
    args = ap.parse_args()
    compare = [int(v) for v in args.compare.split(",")]
    assert compare[0] == 1 and max(compare) <= args.repeats, "--compare starts at 1, ends <= R"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cells.csv"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    ranks = dict(np.load(out / "deals.npz")) if (out / "deals.npz").exists() else {}
    have = {(r["pairing"], int(r["pairs"]), int(r["seed"])) for r in done}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; "
          f"{args.repeats} deals; R@10 in %")  # fmt: skip
    cells = stored_cells(args.rules)
    wanted = set(BY_NAME) if args.pairings == "all" else set(args.pairings.split(","))
    loaded: dict[str, tuple] = {}
    skipped = []
    for (pairing, n, seed), (rows, stored) in sorted(cells.items()):
        if pairing not in wanted or (pairing, n, seed) in have or not stored:
            continue
        if pairing not in loaded:
            loaded = {pairing: load(pairing)}
        test = {r["label"]: r["test_r10"] for r in rows if r["family"] != "auto"}
        got = deals(*loaded[pairing], n, seed, stored, args.repeats)
        if got is None:
            skipped.append(f"{pairing} {n} seed {seed}")
            print(f"{pairing} {n} seed {seed}: deal 0 differs from the stored run, left out")
            continue
        draws, seconds, again = got
        labels = list(test)
        pair_only = [k for k in labels if k.split(" ")[0] in PAIR_ONLY]
        for k, v in draws.items():
            # each held-out query's rank r (1 / its reciprocal rank): integers compress
            ranks.update({f"{pairing}|{n}|{seed}|{k}|{d}": np.rint(1 / r).astype(np.uint32)
                          for d, r in enumerate(v)})  # fmt: skip
        for d in compare:
            for rounds in (2, 1) if d > 1 else (2,):
                a = pick(draws, labels, "best", d, one_round=rounds == 1)
                p = pick(draws, pair_only, "one_se", d)
                extra = sum(seconds[1:d]) if again or rounds == 1 else 0.0
                done.append({"pairing": pairing, "pairs": n, "seed": seed, "deals": d,
                             "rounds": rounds, "auto_pick": a, "auto_r10": test[a],
                             "pair_only_r10": test[p], "first_deal_seconds": seconds[0],
                             "extra_seconds": extra})  # fmt: skip
                print(f"{pairing} {n} seed {seed} [{d} deals, {rounds} rounds]: auto {a} "
                      f"{test[a]:.1f}, pair-only {test[p]:.1f}; the cheap candidates' first "
                      f"deal {seconds[0]:.1f} s, the others {extra:.1f} s", flush=True)  # fmt: skip
        write_rows(path, FIELDS, done)
        np.savez_compressed(out / "deals.npz", **ranks)
    summarise(done, [Path(m) / "methods.csv" for m in args.methods], compare)
    if skipped:
        print("left out (data changed since the stored run): " + ", ".join(skipped))


def pair_only_bar(done: list[dict], methods: list[Path]) -> dict[tuple, float]:
    """Per cell, the best test mean over seeds of the pair-only methods: the tuned pair-only
    baseline under each (deals, rounds) setting of `done` (this script's rows), and CCA on raw
    features and ASIF from suite_methods.py's CSVs (a later one's fits win)."""
    runs: dict[tuple, list[float]] = defaultdict(list)
    for r in done:
        setting = ("pair-only", int(r["deals"]), int(r["rounds"]))
        runs[(r["pairing"], int(r["pairs"]), setting)].append(float(r["pair_only_r10"]))
    fits = {}  # by (pairing, pairs, seed, method): the last folder's
    for path in methods:
        for r in csv.DictReader(path.open()) if path.exists() else []:
            if r["method"] in ("cca_raw", "asif"):
                fits[(r["pairing"], int(r["pairs"]), r["seed"], r["method"])] = float(r["r10"])
    for (pairing, n, _, method), value in fits.items():
        runs[(pairing, n, method)].append(value)
    bar: dict[tuple, float] = {}
    for (pairing, n, *_), values in runs.items():
        bar[(pairing, n)] = max(bar.get((pairing, n), 0.0), float(np.mean(values)))
    return bar


def summarise(done: list[dict], methods: list[Path], compare: list[int]) -> None:
    """Per cell the seed means; per setting (deals, rounds) the geometric means and worst
    cells."""
    r10: dict[tuple, list[float]] = defaultdict(list)
    for r in done:
        key, setting = (r["pairing"], int(r["pairs"])), (int(r["deals"]), int(r["rounds"]))
        r10[(*key, "auto", setting)].append(float(r["auto_r10"]))
    mean = {k: float(np.mean(v)) for k, v in r10.items()}
    cells = sorted({(p, n) for p, n, m, _ in mean if m == "auto"})
    settings = [(1, 2)] + [(d, rounds) for d in compare[1:] for rounds in (2, 1)]
    bar = pair_only_bar(done, methods)
    names = {s: f"{s[0]} deal{'s' * (s[0] > 1)}" + (", one round" if s[1] == 1 else "")
             for s in settings}  # fmt: skip
    print("\n| pairing | pairs | best pair-only | " + " | ".join(names.values()) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in settings) + " |")
    for c in cells:
        row = " | ".join(f"{mean[(*c, 'auto', s)]:.1f}" for s in settings)
        print(f"| {c[0]} | {c[1]} | {bar[c]:.1f} | {row} |")
    secs: dict[tuple, list[float]] = defaultdict(list)
    for r in done:
        if int(r["rounds"]) == 2:
            secs[(r["pairing"], 1)].append(float(r["first_deal_seconds"]))
            secs[(r["pairing"], int(r["deals"]))].append(float(r["extra_seconds"]))
    print(
        "\nSeconds a fit (mean over cells and seeds) of the cheap candidates' first deal, and "
        "of the deals `auto` adds (none where self-learning leads on the first deal):"
    )
    print("| pairing | first deal | " + " | ".join(f"added by {d} deals" for d in compare[1:])
          + " |")  # fmt: skip
    print("| --- | ---: | " + " | ".join("---:" for _ in compare[1:]) + " |")
    for pairing in sorted({c[0] for c in cells}):
        row = " | ".join(f"{np.mean(secs[(pairing, d)]):.1f}" for d in compare[1:])
        print(f"| {pairing} | {np.mean(secs[(pairing, 1)]):.1f} | {row} |")

    def cell(r: dict) -> tuple[str, str, str]:
        return r["pairing"], str(r["pairs"]), str(r["seed"])  # new rows hold numbers

    base = {cell(r): r for r in done if int(r["deals"]) == 1}
    for s in settings:
        rows = [r for r in done if (int(r["deals"]), int(r["rounds"])) == s]
        was = [base[cell(r)] for r in rows]
        moved = [
            (float(r["auto_r10"]), float(b["auto_r10"]))
            for r, b in zip(rows, was, strict=True)
            if r["auto_pick"] != b["auto_pick"]
        ]
        better, worse = sum(a > b for a, b in moved), sum(a < b for a, b in moved)
        vs_one = {c: mean[(*c, "auto", s)] / max(mean[(*c, "auto", (1, 2))], 1e-9) for c in cells}
        vs_bar = {c: mean[(*c, "auto", s)] / max(bar[c], 1e-9) for c in cells}
        worst = min(vs_bar, key=vs_bar.__getitem__)
        under = sum(v < 0.97 for v in vs_bar.values())
        print(f"{names[s]}: {geomean(vs_one.values()):.3f}x one deal (worst "
              f"{min(vs_one.values()):.2f}x), {geomean(vs_bar.values()):.3f}x the best "
              f"pair-only method, worst {vs_bar[worst]:.2f}x at {worst[0]} {worst[1]}, "
              f"{under} of {len(cells)} cells under 0.97x; {len(moved)} of {len(rows)} picks "
              f"changed ({better} better on the test pairs, {worse} worse)")  # fmt: skip


if __name__ == "__main__":
    main()
