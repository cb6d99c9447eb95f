"""Self-learning's candidate search, `knn.top_k_both_ways`, with two ways to take the top k
down each column of a block, side by side in one process: along the rows of a transposed copy
(`knn.top_k_rows` of it; the previous round's way) and among the largest row groups' entries
only (`knn.top_k_down_columns`, the code now). Both give the first k of a stable descending
sort, so their results must be equal.

1. The search alone on random 128-d rows, 1 and 2 torch threads, best of 3, equal results.
2. With `--auto-rows N`, whole `auto` fits on auto_scale.py's synthetic views (100 pairs),
   alternating the two `--rounds` times; the transforms must be bitwise equal.

    python benchmarks/studies/topk_columns.py --auto-rows 4000 --rounds 2

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_scale import PAIRS, views  # noqa: E402

import sue_framework.components.knn as knn  # noqa: E402
from sue_framework import paper_split, registry  # noqa: E402

COLUMNS = {  # how each block's column lists are taken
    "transposed": lambda s, k: knn.top_k_rows(s.T.contiguous(), k),
    "groups": knn.top_k_down_columns,
}


@contextmanager
def columns_by(name: str):
    """`knn.top_k_both_ways` (and so self-learning) with the column lists taken as `name` says."""
    kept = knn.topk.top_k_down_columns  # where top_k_both_ways looks it up
    knn.topk.top_k_down_columns = COLUMNS[name]
    try:
        yield
    finally:
        knn.topk.top_k_down_columns = kept


def search_alone() -> None:
    print("search alone, 128-d, k = 16, best of 3 (s):")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (4000, 10000):
            a, b = torch.randn(n, 128), torch.randn(n, 128)
            times = {}
            for name in COLUMNS:
                with columns_by(name):
                    knn.top_k_both_ways(a, b, 16)
                    runs = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        out = knn.top_k_both_ways(a, b, 16)
                        runs.append(time.perf_counter() - t0)
                times[name] = (min(runs), out)
            same = all(
                torch.equal(x, y)
                for p, q in zip(times["transposed"][1], times["groups"][1], strict=True)
                for x, y in zip(p, q, strict=True)
            )
            line = ", ".join(f"{name} {t:.3f}" for name, (t, _) in times.items())
            print(f"  {threads} thread(s), n = {n}: {line}; transposed / groups "
                  f"{times['transposed'][0] / times['groups'][0]:.2f}, equal {same}")  # fmt: skip


def whole_auto(rows: int, rounds: int) -> None:
    x, y = views(rows + 400)
    split = paper_split(x, y, n_pairs=PAIRS, n_test=400, seed=0, drop_fraction=0.0)
    seconds: dict[str, list[float]] = {name: [] for name in COLUMNS}
    outputs = {}
    for r in range(rounds):
        for name in COLUMNS:
            with columns_by(name):
                t0 = time.perf_counter()
                model = registry.get("method", "auto")(seed=0, device="cpu").fit(split.train)
                seconds[name].append(time.perf_counter() - t0)
            outputs[name] = model.transform(split.x_test, "x")
            print(f"  round {r}: {name} {seconds[name][-1]:.1f} s, chose {model.choice_}")
    ratio = statistics.median(seconds["transposed"]) / statistics.median(seconds["groups"])
    same = np.array_equal(outputs["transposed"], outputs["groups"])
    print(f"auto at {rows} rows a side: median transposed / groups = {ratio:.2f}; "
          f"transforms bitwise equal: {same}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--auto-rows", type=int, help="also time whole auto fits at this size")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, "
          f"torch {torch.__version__}")  # fmt: skip
    search_alone()
    if args.auto_rows:
        torch.set_num_threads(os.cpu_count() or 1)
        whole_auto(args.auto_rows, args.rounds)


if __name__ == "__main__":
    main()
