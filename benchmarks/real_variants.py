"""Self-training variants on the real-embedding suite, side by side on the same splits:
pseudo-pairs by plain cosine or by CSLS, and spectral features beside the raw ones.

Same splits as `sue experiment configs/real_*.toml` (paper protocol, 400 test pairs). R@10 is
the mean of both directions, %, mean ± std over seeds; seconds are per fit.

    python benchmarks/real_variants.py [--pairs 10 25 50 100 200] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from real_summary import SUITE

from sue_framework import paper_split, registry

VARIANTS = {
    "cosine MNN": ("self_train", {"aligner_params": {"csls_k": 0}}),
    "CSLS MNN (default)": ("self_train", {}),
    "spectral + raw, CSLS": (
        "self_train",
        {"solver": "concat", "solver_params": {"parts": ["exact", "identity"]}, "se_dim": 32},
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    print("| data set | pairs | " + " | ".join(VARIANTS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in VARIANTS) + " |")
    for suite in SUITE:
        x, y = registry.build("dataset", suite.removeprefix("real_")).load()
        for m in args.pairs:
            got = {k: [] for k in VARIANTS}
            secs = {k: [] for k in VARIANTS}
            for seed in args.seeds:
                split = paper_split(x, y, n_pairs=m, n_test=400, seed=seed)
                for label, (name, params) in VARIANTS.items():
                    model = registry.get("method", name)(seed=seed, device="cpu", **params)
                    t0 = time.perf_counter()
                    model.fit(split.train)
                    secs[label].append(time.perf_counter() - t0)
                    f = task.evaluate(
                        model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
                    )
                    got[label].append(0.5 * (f["x2y_R@10"] + f["y2x_R@10"]))
            cells = [
                f"{np.mean(v):.1f} ± {np.std(v, ddof=1):.1f} ({np.mean(secs[k]):.1f} s)"
                for k, v in got.items()
            ]
            row = " | ".join([suite.removeprefix("real_"), str(m), *cells])
            print(f"| {row} |", flush=True)


if __name__ == "__main__":
    main()
