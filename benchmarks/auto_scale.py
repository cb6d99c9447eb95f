"""Fit time and peak memory of `auto`, `self_train`, `sue` and `cca_raw` as the unpaired pool grows
from 4k to 10^6 rows a side (384-d, 100 pairs), one method at a time.

Each fit runs in its own process, so its peak resident memory (ru_maxrss of that process, the
data included) is its own; a fit that passes `--timeout` seconds is stopped and reported as
such. The data are synthetic and structured like real embeddings: a 24-d latent mixture of
200 clusters, seen through a different random linear map and strong noise by each modality
(`NOISE`: CCA on the 100 pairs alone reaches R@10 of about 40), so the unpaired rows share
neighbourhoods and self-learning has something to find (generated in blocks, seeded). The
fitted exponent between consecutive sizes is log(t2 / t1) / log(n2 / n1). The same script
runs on a GPU machine (`--device cuda`).

    python benchmarks/auto_scale.py --sizes 4000,16000,64000,256000,1000000
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

DIM, LATENT, CLUSTERS, PAIRS, NOISE = 384, 24, 200, 100, 5.0
METHODS = ("cca_raw", "self_train", "auto", "sue")


def views(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n paired rows a side: x[i] and y[i] see the same latent point."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, LATENT)) * 2.0
    mx = rng.normal(size=(LATENT, DIM)) / np.sqrt(LATENT)
    my = rng.normal(size=(LATENT, DIM)) / np.sqrt(LATENT)
    x = np.empty((n, DIM), dtype=np.float32)
    y = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        z = centres[rng.integers(0, CLUSTERS, m)] + rng.normal(size=(m, LATENT))
        x[s : s + m] = z @ mx + NOISE * rng.normal(size=(m, DIM))
        y[s : s + m] = z @ my + NOISE * rng.normal(size=(m, DIM))
    return x, y


def one(method: str, n: int, device: str) -> dict:
    """Fit `method` on n unpaired rows a side plus the pairs; seconds, peak RSS and R@10."""
    from sue_framework import WeaklyPairedData, registry

    x, y = views(n + 400)
    test_x, test_y = x[n:], y[n:]
    rng = np.random.default_rng(1)
    # the pairs are rows 0..99 of both sides; y's other rows are shuffled
    perm = np.concatenate([np.arange(PAIRS), PAIRS + rng.permutation(n - PAIRS)])
    data = WeaklyPairedData(x[:n], y[:n][perm], np.stack([np.arange(PAIRS)] * 2, 1))
    model = registry.get("method", method)(seed=0, device=device)
    t0 = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - t0
    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    f = task.evaluate(model.transform(test_x, "x"), model.transform(test_y, "y"))
    return {
        "seconds": seconds,
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "r10": 0.5 * (f["x2y_R@10"] + f["y2x_R@10"]),
        "choice": getattr(model, "choice_", ""),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4000,16000,64000,256000,1000000")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.device)))
        return
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the start; device {args.device}; {DIM}-d, {PAIRS} pairs"
    )
    print("| method | rows a side | seconds | peak GiB | R@10 | exponent | chosen |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for method in args.methods.split(","):
        last = None
        for n in (int(v) for v in args.sizes.split(",")):
            cmd = [sys.executable, __file__, "--one", method, str(n), "--device", args.device]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"| {method} | {n} | > {args.timeout:.0f} (stopped) | | | | |", flush=True)
                break
            if out.returncode != 0:
                print(f"| {method} | {n} | failed: {out.stderr.strip().splitlines()[-1]} | | | | |")
                break
            r = json.loads(out.stdout.strip().splitlines()[-1])
            exp = ""
            if last is not None:
                exp = f"{np.log(r['seconds'] / last[1]) / np.log(n / last[0]):.2f}"
            last = (n, r["seconds"])
            print(
                f"| {method} | {n} | {r['seconds']:.1f} | {r['peak_gib']:.2f} | {r['r10']:.1f} | "
                f"{exp} | {r['choice']} |",
                flush=True,
            )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
