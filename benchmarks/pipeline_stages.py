"""Time each SUE stage on synthetic two-view data at a few sizes; prints the machine.

    python benchmarks/pipeline_stages.py [--sizes 2000,10000] [--device auto]

Figures are for the machine printed in the header; compare ratios within one run. "np peak MiB" is
tracemalloc's peak over the fit: numpy/scipy buffers only, torch's allocator is not counted.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np
import torch

from sue_framework import SUE, paper_split, registry
from sue_framework.runtime.engine import resolve_device


def two_views(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 4)) + 3.0 * rng.normal(size=(10, 4))[rng.integers(0, 10, n)]
    x = np.tanh(latent @ rng.normal(size=(4, 64))) + 0.05 * rng.normal(size=(n, 64))
    y = (latent @ rng.normal(size=(4, 48))) ** 2 / 10 + 0.05 * rng.normal(size=(n, 48))
    return (x + 2.0).astype(np.float32), (y + 1.0).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,10000")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--pairs", type=int, default=100)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu"
    print(
        f"machine: {platform.node()} | {name} | torch {torch.__version__} | "
        f"{torch.get_num_threads()} CPU threads | device {dev}"
    )
    print(
        f"{'n':>7} {'spectral s':>11} {'aligner s':>10} {'matcher s':>10} {'total s':>8} "
        f"{'np peak MiB':>12} {'R@10 x2y':>9} {'R@10 y2x':>9}"
    )
    task = registry.get("task", "retrieval")()
    for n in (int(s) for s in args.sizes.split(",")):
        x, y = two_views(n + 400)
        split = paper_split(x, y, n_pairs=args.pairs, n_test=400, seed=0)
        tracemalloc.start()
        t0 = time.perf_counter()
        model = SUE(device=args.device, seed=0).fit(split.train)
        total = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        r = task.evaluate(model.transform(split.x_test, "x"), model.transform(split.y_test, "y"))
        t = model.timings_
        print(
            f"{n:>7} {t['spectral']:>11.2f} {t['aligner']:>10.3f} {t['matcher']:>10.2f} "
            f"{total:>8.2f} {peak:>12.1f} {r['x2y_R@10']:>9.2f} {r['y2x_R@10']:>9.2f}"
        )


if __name__ == "__main__":
    main()
