"""Index a large collection and search it: build time, query latency and recall@10 against
exact search (`sue index` / `sue search`'s library calls).

    python benchmarks/index_search.py [--rows 1000000] [--dim 384] [--out-dim 64]

A linear model (CCA on 2,000 pairs of clustered synthetic rows, `--dim` wide) maps `--rows` y
rows into its `--out-dim`-d shared space; `build_index` embeds them block by block and, past
its exact limit, trains an IVF index whose probes are tuned to recall@10 >= 0.95 on a sample of
the collection. Then 1,000 fresh x rows query it one at a time (the query's own mapping
included in the time); recall@10 is measured against an exact scan of the same vectors.
Prints the machine first; the figures are for that machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator, noise: float = 0.6):
    """Rows around `centres` (a mixture), in blocks so 10^6 x 384 fits comfortably."""
    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        pick = rng.integers(0, len(centres), b - a)
        out[a:b] = centres[pick] + noise * rng.standard_normal((b - a, centres.shape[1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--out-dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    from sue_framework import WeaklyPairedData, registry
    from sue_framework.io.model_files import read_linear_map, save_method
    from sue_framework.search.index import build_index, load_index, save_index
    from sue_framework.search.query import search

    rng = np.random.default_rng(0)
    centres_y = rng.standard_normal((2000, args.dim)).astype(np.float32)
    mix = rng.standard_normal((args.dim, args.dim)).astype(np.float32) / np.sqrt(args.dim)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        y = clustered(args.rows, centres_y, rng)
        np.save(folder / "y.npy", y)
        pairs_y = y[:2000]
        pairs_x = pairs_y @ mix + 0.1 * rng.standard_normal(pairs_y.shape).astype(np.float32)
        model = registry.get("method", "pair_cca")(out_dim=args.out_dim, device="cpu")
        model.fit(WeaklyPairedData(pairs_x, y[:2000], np.stack([np.arange(2000)] * 2, 1)))
        save_method(model, folder / "m.sue")
        del y
        t0 = time.perf_counter()
        index = build_index(folder / "m.sue", "y", folder / "y.npy")
        save_index(index, folder / "c.sueidx")
        built = time.perf_counter() - t0
        print(
            f"build ({args.rows} rows of {args.dim}-d -> {index.dim}-d, {index.about}): "
            f"{built:.1f} s, file {os.path.getsize(folder / 'c.sueidx') / 2**20:.0f} MiB"
        )

        t0 = time.perf_counter()
        index = load_index(folder / "c.sueidx", folder / "m.sue")
        print(f"load (checksums included): {time.perf_counter() - t0:.1f} s")
        linear = read_linear_map(folder / "m.sue")
        truth_rows = rng.integers(0, args.rows, args.queries)
        qy = clustered(args.queries, centres_y, rng)
        qx = qy @ mix + 0.1 * rng.standard_normal(qy.shape).astype(np.float32)
        seconds, found = [], []
        for q in qx:
            t0 = time.perf_counter()
            _, ids = index.search(linear.transform(q[None, :], "x"), 10)
            seconds.append(time.perf_counter() - t0)
            found.append(ids[0])
        del truth_rows
        # exact neighbours of the same mapped queries: a flat scan of every stored vector
        import faiss

        from sue_framework.search.index import _reconstruct_all

        flat = faiss.IndexFlatIP(index.dim)
        flat.add(_reconstruct_all(index.index))
        z = linear.transform(qx, "x")
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        _, exact = flat.search(z, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)])
        ms = 1000 * np.asarray(seconds)
        print(
            f"query (one row, mapping included): p50 {np.percentile(ms, 50):.2f} ms, "
            f"p95 {np.percentile(ms, 95):.2f} ms; recall@10 against exact {recall:.3f}"
        )
        t0 = time.perf_counter()
        search(index, folder / "m.sue", "x", rows=qx[:1], k=10)
        print(
            f"search() with the model read from its file: "
            f"{1000 * (time.perf_counter() - t0):.1f} ms"
        )


if __name__ == "__main__":
    main()
