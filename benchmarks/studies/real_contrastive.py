"""The contrastive baseline on the real-embedding suite: as shipped, and tuned by pair CV
(`contrastive_cv`), next to `auto` and the CV-tuned pair-only baseline from the suite's CSVs.

Same splits as `sue experiment real_*` (paper protocol, 400 test pairs, seeds
0-2 by default). R@10 is the mean of both directions, %, mean ± std over seeds; seconds are
per fit; the last two columns are read from the suite's CSVs.

    python benchmarks/studies/real_contrastive.py [--pairs 25 100]

A one-off study; its figures are quoted by docs/real_embeddings.md.
"""

from __future__ import annotations

import argparse
import os
import platform

import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
import torch
from real_summary import SUITE, cell, fit_on_splits, load

from sue_framework import registry

METHODS = {"contrastive": ("contrastive", {}), "contrastive_cv": ("contrastive_cv", {})}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, nargs="+", default=[25, 100])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print("| data set | pairs | contrastive | contrastive_cv | Pair-only (CV) | auto |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for suite in SUITE:
        x, y = registry.build("dataset", suite.removeprefix("real_")).load()
        _, r10, _ = load(suite)
        for m in args.pairs:
            got, secs = fit_on_splits(METHODS, x, y, m, args.seeds)
            cells = [cell(v, secs[k]) for k, v in got.items()]
            cells += [cell(r10[(k, m)]) for k in ("Pair-only (CV)", "auto")]
            row = " | ".join([suite.removeprefix("real_"), str(m), *cells])
            print(f"| {row} |", flush=True)


if __name__ == "__main__":
    main()
