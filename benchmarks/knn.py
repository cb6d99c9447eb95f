"""kNN engines side by side: build + search time and recall@k against the exact engine.

    python benchmarks/knn.py [--sizes 10000,100000] [--dim 768] [--k 32] [--device cpu]

Data: a clustered Gaussian mixture (200 clusters) in `dim` dimensions, cosine distance, every
row querying all rows (the graph-building workload). Figures are for the machine printed first.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from sue_framework.components.knn import exact_knn, faiss_available, faiss_knn


def data(n: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, dim)).astype(np.float32) * 3
    return centres[rng.integers(0, 200, n)] + rng.normal(size=(n, dim)).astype(np.float32)


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    hits = [
        np.intersect1d(a, b, assume_unique=True).size for a, b in zip(approx, exact, strict=True)
    ]
    return float(np.sum(hits)) / exact.size


def engines(x: np.ndarray, k: int, device: str) -> list[tuple[str, object]]:
    """(name, thunk) for each non-reference engine that applies on this device."""
    runs = []
    if device != "cpu":  # float16 matmul only pays off on GPUs
        runs.append(
            ("exact-fp16", lambda: exact_knn(x, x, k, exclude_self=True, device=device, half=True))
        )
    if faiss_available():
        for index in ("flat", "ivf", "hnsw"):
            runs.append(
                (f"faiss-{index}", lambda i=index: faiss_knn(x, x, k, index=i, exclude_self=True))
            )
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    cpu = platform.processor() or "cpu"
    threads = torch.get_num_threads()
    print(
        f"machine: {platform.node()} | {cpu} | torch {torch.__version__} | {threads} threads | "
        f"device {args.device} | d = {args.dim} | k = {args.k}"
    )
    print(f"{'engine':<12} {'n':>7} {'seconds':>8} {'recall@k':>9}")
    for n in (int(s) for s in args.sizes.split(",")):
        x = data(n, args.dim)
        t0 = time.perf_counter()
        _, ref = exact_knn(x, x, args.k, exclude_self=True, device=args.device)
        t_exact = time.perf_counter() - t0
        print(f"{'exact':<12} {n:>7} {t_exact:>8.2f} {1.0:>9.4f}", flush=True)
        for name, fn in engines(x, args.k, args.device):
            t0 = time.perf_counter()
            _, idx = fn()
            sec = time.perf_counter() - t0
            ratio = sec / t_exact
            print(
                f"{name:<12} {n:>7} {sec:>8.2f} {recall(idx, ref):>9.4f}  ({ratio:.2f}x exact)",
                flush=True,
            )


if __name__ == "__main__":
    main()
