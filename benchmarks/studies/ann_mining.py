"""Approximate against exact mining in self-learning, on the wide suite: R@10 of the final
model with each kNN engine, and the recall of the approximate candidate lists.

For each pairing, pair count and seed (paper protocol), `SelfLearning` (the `self_train`
method without its guard, so both runs mine) is fit once with the exact engine and once with
faiss IVF (and HNSW with `--hnsw`); the recall is measured at the exact run's final map: the
share of each row's exact 16 candidates that the approximate index returns, both directions.

    SUE_DATA_DIR=~/data python benchmarks/studies/ann_mining.py --pairs 25,100

A one-off study; its figures are quoted by docs/scale.md and docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import load, parse, r10  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.components.knn import InnerProductIndex, with_reverse_hits  # noqa: E402
from sue_framework.components.self_learning import MiningSpace  # noqa: E402


def list_recall(train, engine: str, k: int = 16) -> tuple[float, float]:
    """Recall of `engine`'s k-lists of x rows among y rows against exact ones in the mining
    space of the training rows, as searched one way and as completed by the search the other
    way (`knn.with_reverse_hits`, what the loop uses). A random orthogonal map stands in for
    the learned one: the indexes are built on fixed rows, as in the loop."""
    tx, ty = torch.from_numpy(train.x), torch.from_numpy(train.y)
    dim = int(min(128, train.x.shape[1], train.y.shape[1]))
    px, py = MiningSpace(tx, dim)(tx).numpy(), MiningSpace(ty, dim)(ty).numpy()
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, dim)))
    qx, qy = (px @ q).astype(np.float32), (py @ q.T).astype(np.float32)
    exact = InnerProductIndex(py, "exact").search(qx, k)[1].numpy()
    fwd = InnerProductIndex(py, engine, seed=0).search(qx, k)
    bwd = InnerProductIndex(px, engine, seed=0).search(qy, k)
    completed = with_reverse_hits(fwd, bwd)[0][1].numpy()

    def recall(lists: np.ndarray) -> float:
        hits = [len(set(a) & set(e)) for a, e in zip(lists, exact, strict=True)]
        return float(np.mean(hits)) / k

    return recall(fwd[1].numpy()), recall(completed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--pairs", default="25,100")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument(
        "--rows",
        type=int,
        default=None,
        help="rows taken from each pairing (seeded; default: the suite's cap; 0: all), so "
        "the pools reach the sizes where auto mines with IVF",
    )
    ap.add_argument("--hnsw", action="store_true", help="also faiss HNSW")
    ap.add_argument(
        "--flat",
        action="store_true",
        help="also faiss Flat: exact lists up to rounding, so its gap to exact is the loop's own "
        "sensitivity, the floor under any approximate engine's",
    )
    args = ap.parse_args()
    engines = ["exact", "faiss-ivf"] + (["faiss-hnsw"] if args.hnsw else [])
    engines += ["faiss-flat"] if args.flat else []
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %", flush=True)
    approx = [e for e in engines if e != "exact"]
    extra = [f"{e} - exact" for e in approx]
    extra += [f"list recall ({e}, one way / completed)" for e in approx]
    print("| pairing | pairs | " + " | ".join([*engines, *extra]) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in [*engines, *extra]) + " |")
    worst, noise = 0.0, 0.0
    for p in parse(args.pairings):
        x, y = load(p, max_rows=args.rows)
        for n in (int(v) for v in args.pairs.split(",")):
            scores: dict[str, list[float]] = {e: [] for e in engines}
            secs: dict[str, list[float]] = {e: [] for e in engines}
            recall: dict[str, list[tuple[float, float]]] = {e: [] for e in approx}
            for seed in (int(v) for v in args.seeds.split(",")):
                split = paper_split(x, y, n_pairs=n, n_test=400, seed=seed)
                for e in engines:
                    model = registry.get("method", "self_train")(
                        seed=seed, aligner_params={"knn": e}
                    )
                    t0 = time.perf_counter()
                    model.fit(split.train)
                    secs[e].append(time.perf_counter() - t0)
                    scores[e].append(r10(model, split.x_test, split.y_test))
                for e in approx:
                    recall[e].append(list_recall(split.train, e))
            diff = np.mean(scores["faiss-ivf"]) - np.mean(scores["exact"])
            worst = min(worst, float(diff))
            if args.flat:
                flat = np.mean(scores["faiss-flat"]) - np.mean(scores["exact"])
                noise = max(noise, abs(float(flat)))
            cells = [f"{np.mean(scores[e]):.1f} ({np.mean(secs[e]):.1f} s)" for e in engines]
            cells += [f"{np.mean(scores[e]) - np.mean(scores['exact']):+.1f}" for e in approx]
            for e in approx:
                one_way, completed = np.mean(recall[e], axis=0)
                cells.append(f"{one_way:.3f} / {completed:.3f}")
            print(f"| {p.name} | {n} | " + " | ".join(cells) + " |", flush=True)
    print(f"largest loss of IVF against exact mining: {worst:.1f} R@10 points")
    if args.flat:
        print(f"largest gap of Flat (exact up to rounding) to exact mining: {noise:.1f} points")


if __name__ == "__main__":
    main()
