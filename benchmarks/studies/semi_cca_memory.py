"""Peak memory and seconds of a semi-CCA fit on a large unpaired pool: the moments computed in
blocks (`semi_cca._Moments`, what the package does) against the same statistics from the whole
pool at once in float64 (how they were computed before), each in its own process so that each
peak (ru_maxrss, the data included) is its own. Same rows, same pairs; the transforms must
agree.

    python benchmarks/studies/semi_cca_memory.py --rows 1000000

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def _one(mode: str, n: int, d: int) -> dict:
    import torch

    import sue_framework.components.semi_cca as sc

    if mode == "whole":

        class Whole(sc._Moments):
            def __init__(self, x, device, block=0):  # the pool in float64 at once
                X = sc.to_tensor(x, device, torch.float64)
                self.mean = X.mean(0)
                self.evals, self.evecs = torch.linalg.eigh(
                    torch.cov((X - self.mean).T, correction=0).reshape(d, d)
                )
                self._isqrt = {}

        sc._Moments = Whole
    rng = np.random.default_rng(0)
    x, y = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x[s : s + m] = rng.standard_normal((m, d), dtype=np.float32)
        y[s : s + m] = rng.standard_normal((m, d), dtype=np.float32)
    data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    model = sc.SemiCCA(n_components=32, reg=0.5, device="cpu").fit(x[:100], y[:100], x=x, y=y)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    z = model.transform(x[:5], "x").tolist()
    return {"data": data, "peak": peak, "seconds": seconds, "z": z}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.rows, args.dim)))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"{args.rows} x {args.dim} a side, 100 pairs")  # fmt: skip
    print("| moments | peak GiB | GiB above the data | seconds |")
    print("| --- | ---: | ---: | ---: |")
    got = {}
    for mode in ("whole", "blocked"):
        cmd = [sys.executable, __file__, "--one", mode, "--rows", str(args.rows),
               "--dim", str(args.dim)]  # fmt: skip
        got[mode] = r = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                                  check=True).stdout)  # fmt: skip
        print(f"| {mode} | {r['peak']:.2f} | {r['peak'] - r['data']:.2f} | {r['seconds']:.1f} |")
    diff = np.abs(np.array(got["whole"]["z"]) - np.array(got["blocked"]["z"])).max()
    print(f"largest difference between the two transforms: {diff:.1e}")


if __name__ == "__main__":
    main()
