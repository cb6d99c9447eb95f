"""Fit time of auto side by side with cca_raw, self_train and sue on 4,000 rows x 384-d a side.

Synthetic two-modality data at the size of the issue's target (the real suite's timings are in
its results CSVs); every method fits the same split in one run, so the ratios compare like with
like. Prints seconds per fit (median of `--repeats`) and the ratio to cca_raw.

    python benchmarks/studies/fit_speed.py [--pairs 50 200] [--repeats 3] [--no-sue]

A one-off study; its figures are quoted by docs/real_embeddings.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from sue_framework import paper_split, registry
from sue_framework.datasets import make_two_modalities


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-sue", action="store_true", help="skip the (slow) paper pipeline")
    args = ap.parse_args()
    d = make_two_modalities(4400, dim_x=384, dim_y=384, seed=0)
    methods = ["cca_raw", "self_train", "auto"] + ([] if args.no_sue else ["sue"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}; 4000 training rows x 384-d a side"
    )
    for m in args.pairs:
        split = paper_split(d.x, d.y, n_pairs=m, n_test=400, seed=0)
        times = {}
        for name in methods:
            runs = []
            for _ in range(1 if name == "sue" else args.repeats):
                model = registry.get("method", name)(device="cpu", seed=0)
                t0 = time.perf_counter()
                model.fit(split.train)
                runs.append(time.perf_counter() - t0)
            times[name] = float(np.median(runs))
        print(
            f"{m} pairs: "
            + ", ".join(
                f"{k} {v:.2f} s ({v / times['cca_raw']:.0f}x cca_raw)" for k, v in times.items()
            )
        )


if __name__ == "__main__":
    main()
