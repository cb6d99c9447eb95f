"""Self-learning's candidate search, `knn.top_k_both_ways`: the column top-k taken along the
rows of a transposed copy (the code now) against top-k along dim 0 of the strided block (the
code before), side by side in one process.

1. The search alone on random 128-d rows, 1 and 2 torch threads, best of 3, equal results.
2. With `--auto-rows N`, whole `auto` fits on auto_scale.py's synthetic views (100 pairs),
   alternating the two searches `--rounds` times; the transforms must be bitwise equal.

    python benchmarks/topk_columns.py --auto-rows 4000 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_scale import PAIRS, views  # noqa: E402

import sue_framework.components.self_learning as self_learning  # noqa: E402
from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.components.knn import top_k_both_ways  # noqa: E402
from sue_framework.engine import auto_chunk, row_chunks  # noqa: E402


def strided(a: torch.Tensor, b: torch.Tensor, k: int):
    """The search as it was: the column top-k along dim 0 of each block."""
    ka, kb = int(min(k, b.shape[0])), int(min(k, a.shape[0]))
    fv = torch.empty(a.shape[0], ka, device=a.device)
    fi = torch.empty(a.shape[0], ka, dtype=torch.long, device=a.device)
    cv = ci = None
    for sl in row_chunks(a.shape[0], auto_chunk(b.shape[0], device=a.device)):
        s = a[sl] @ b.T
        fv[sl], fi[sl] = torch.topk(s, ka, dim=1)
        v, i = torch.topk(s, min(kb, s.shape[0]), dim=0)
        i = i + sl.start
        if cv is not None:
            v, j = torch.topk(torch.cat([cv, v]), min(kb, cv.shape[0] + v.shape[0]), dim=0)
            i = torch.gather(torch.cat([ci, i]), 0, j)
        cv, ci = v, i
    return (fv, fi), (cv.T.contiguous(), ci.T.contiguous())


def search_alone() -> None:
    print("search alone, 128-d, k = 16, best of 3 (s):")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (4000, 10000):
            a, b = torch.randn(n, 128), torch.randn(n, 128)
            times = {}
            for name, fn in (("strided", strided), ("transposed", top_k_both_ways)):
                fn(a, b, 16)
                runs = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    out = fn(a, b, 16)
                    runs.append(time.perf_counter() - t0)
                times[name] = (min(runs), out)
            same = all(
                torch.equal(x, y)
                for p, q in zip(times["strided"][1], times["transposed"][1], strict=True)
                for x, y in zip(p, q, strict=True)
            )
            old, new = times["strided"][0], times["transposed"][0]
            print(f"  {threads} thread(s), n = {n}: strided {old:.3f}, transposed {new:.3f}, "
                  f"ratio {old / new:.2f}, equal {same}")  # fmt: skip


def whole_auto(rows: int, rounds: int) -> None:
    x, y = views(rows + 400)
    split = paper_split(x, y, n_pairs=PAIRS, n_test=400, seed=0, drop_fraction=0.0)
    seconds: dict[str, list[float]] = {"strided": [], "transposed": []}
    outputs = {}
    for r in range(rounds):
        for name, fn in (("strided", strided), ("transposed", top_k_both_ways)):
            self_learning.top_k_both_ways = fn
            t0 = time.perf_counter()
            model = registry.get("method", "auto")(seed=0, device="cpu").fit(split.train)
            seconds[name].append(time.perf_counter() - t0)
            outputs[name] = model.transform(split.x_test, "x")
            print(f"  round {r}: {name} {seconds[name][-1]:.1f} s, chose {model.choice_}")
    self_learning.top_k_both_ways = top_k_both_ways
    ratio = statistics.median(seconds["strided"]) / statistics.median(seconds["transposed"])
    same = np.array_equal(outputs["strided"], outputs["transposed"])
    print(f"auto at {rows} rows a side: median strided / transposed = {ratio:.2f}; "
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
