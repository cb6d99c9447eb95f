"""The contrastive baseline on the real-embedding suite: as shipped, and tuned by pair CV
(`contrastive_cv`), next to `auto` and the CV-tuned pair-only baseline from the suite's CSVs.

Same splits as `sue experiment configs/real_*.toml` (paper protocol, 400 test pairs, seeds
0-2). R@10 is the mean of both directions, %, mean ± std over seeds; seconds are per fit.

    python benchmarks/real_contrastive.py [--pairs 25 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from real_summary import SUITE, load

from sue_framework import paper_split, registry

METHODS = {"contrastive": {}, "contrastive_cv": {}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, nargs="+", default=[25, 100])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    print("| data set | pairs | contrastive | contrastive_cv | Pair-only (CV) | auto |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for suite in SUITE:
        x, y = registry.build("dataset", suite.removeprefix("real_")).load()
        _, r10, _ = load(suite)
        for m in args.pairs:
            got = {k: [] for k in METHODS}
            secs = {k: [] for k in METHODS}
            for seed in args.seeds:
                split = paper_split(x, y, n_pairs=m, n_test=400, seed=seed)
                for name, params in METHODS.items():
                    model = registry.get("method", name)(seed=seed, device="cpu", **params)
                    t0 = time.perf_counter()
                    model.fit(split.train)
                    secs[name].append(time.perf_counter() - t0)
                    f = task.evaluate(
                        model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
                    )
                    got[name].append(0.5 * (f["x2y_R@10"] + f["y2x_R@10"]))
            cells = [
                f"{np.mean(v):.1f} ± {np.std(v, ddof=1):.1f} ({np.mean(secs[k]):.0f} s)"
                for k, v in got.items()
            ]
            cells += [
                f"{np.mean(r10[(k, m)]):.1f} ± {np.std(r10[(k, m)], ddof=1):.1f}"
                for k in ("Pair-only (CV)", "auto")
            ]
            row = " | ".join([suite.removeprefix("real_"), str(m), *cells])
            print(f"| {row} |", flush=True)


if __name__ == "__main__":
    main()
