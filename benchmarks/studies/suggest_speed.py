"""Seconds for `suggest_pairs` as the pool grows (384-d rows a side, 20 suggestions, 50 pairs
made already), for each strategy; "uncertainty" with a fitted `pair_cca` model. Pools past
`suggest.MAX_ROWS` rows are clustered on a sample, so the time levels off.

    python benchmarks/studies/suggest_speed.py --sizes 10000,100000,1000000

A one-off study; its figures are quoted by docs/active_pairs.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from sue_framework import WeaklyPairedData, registry, suggest_pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=384)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print("| rows a side | diversity | uncertainty |")
    print("| ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for n in (int(v) for v in args.sizes.split(",")):
        centres = rng.normal(size=(100, args.dim)).astype(np.float32)
        x = centres[rng.integers(0, 100, n)] + rng.normal(size=(n, args.dim)).astype(np.float32)
        y = x[:, ::-1] + 0.1 * rng.normal(size=(n, args.dim)).astype(np.float32)
        pairs = np.stack([np.arange(50)] * 2, 1)
        model = registry.get("method", "pair_cca")(out_dim=16, device="cpu")
        model.fit(WeaklyPairedData(x[:2000], y[:2000], pairs))
        cells = []
        for strategy in ("diversity", "uncertainty"):
            t0 = time.perf_counter()
            suggest_pairs(x, 20, y=y, pairs=pairs, model=model, strategy=strategy)
            cells.append(f"{time.perf_counter() - t0:.1f} s")
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
