"""Variants of the previous round's self-training (three rounds of mutual-nearest-neighbour
pseudo-pairs, aligner `self_training`), side by side on the same splits: pseudo-pairs by plain
cosine or by CSLS, and spectral features beside the raw ones. (`self_train` now iterates to
convergence with `self_learning`; this script keeps the older aligner to reproduce its table.)

Same splits as `sue experiment real_*` (paper protocol, 400 test pairs). R@10 is
the mean of both directions, %, mean ± std over seeds; seconds are per fit.

    python benchmarks/studies/real_variants.py [--pairs 10 25 50 100 200] [--seeds 0 1 2]

A one-off study; its figures are quoted by docs/real_embeddings.md.
"""

from __future__ import annotations

import argparse
import os
import platform

import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
import torch
from real_summary import SUITE, cell, fit_on_splits

from sue_framework import registry

ROUNDS = {"aligner": "self_training"}
VARIANTS = {
    "cosine MNN": ("self_train", {**ROUNDS, "aligner_params": {"csls_k": 0}}),
    "CSLS MNN (default)": ("self_train", {**ROUNDS, "aligner_params": {}}),
    "spectral + raw, CSLS": (
        "self_train",
        {
            **ROUNDS,
            "aligner_params": {},
            "solver": "concat",
            "solver_params": {"parts": ["exact", "identity"]},
            "se_dim": 32,
        },
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print("| data set | pairs | " + " | ".join(VARIANTS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in VARIANTS) + " |")
    for suite in SUITE:
        x, y = registry.build("dataset", suite.removeprefix("real_")).load()
        for m in args.pairs:
            got, secs = fit_on_splits(VARIANTS, x, y, m, args.seeds)
            cells = [cell(v, secs[k]) for k, v in got.items()]
            row = " | ".join([suite.removeprefix("real_"), str(m), *cells])
            print(f"| {row} |", flush=True)


if __name__ == "__main__":
    main()
