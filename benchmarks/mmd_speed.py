"""The MMD matcher's cost and effect: current defaults against the matcher as it was.

"before": the matcher as it was before this benchmark: 100 epochs, the best validation epoch
kept, and the loss `reference_mmd2` below (Eq. 1 written out, one exp per bandwidth, gradient by
autograd), patched in for those fits. "default": the matcher's current defaults (the fused
value-and-gradient kernel of `matchers._MMD2`, early stop after `patience` epochs without a
better validation MMD). Both fit inside the same `sue`
pipeline on the same splits, interleaved seed by seed so that a busy machine slows both alike.
Prints matcher seconds, R@10 (mean of both directions) with the matcher and without it
(`matcher="none"`, the same first two stages), per data set and overall.

    python benchmarks/mmd_speed.py [--seeds 0 1 2] [--real]
"""

from __future__ import annotations

import argparse
import os
import platform
from unittest import mock

import numpy as np
import torch

from sue_framework import paper_split, registry
from sue_framework.components import matchers

BEFORE = {"epochs": 100, "patience": None}


def reference_mmd2(a, b, multipliers, bandwidth="mean"):
    """Biased squared MMD of Eq. 1 by plain autograd (the matcher's loss before the fused one)."""
    z = torch.cat([a, b], 0)
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp(min=0.0)
    n = z.shape[0]
    base = (d2.sum() / max(1, n * n - n)).detach().clamp(min=1e-12)
    k = sum(torch.exp(-d2 / (base * m)) for m in multipliers)
    na = a.shape[0]
    return k[:na, :na].mean() + k[na:, na:].mean() - 2.0 * k[:na, na:].mean()


DATA = {
    # the matcher study's synthetic set (sue_framework/configs/synthetic_matchers.toml), 50 pairs
    "synthetic": (
        {"n": 2800, "distortion": 1.5, "noise": 0.1, "seed": 0},
        50,
        {"se_dim": 20, "solver_params": {"graph_params": {"n_neighbors": 15}}},
        {"batch_size": 256},
    ),
    "digits_halves": ({}, 50, {}, {}),
}
REAL = {"freedict_en_fr": ({}, 100, {}, {})}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--real", action="store_true", help="add freedict_en_fr (sue_datasets plugin)")
    args = ap.parse_args()
    # the same thread count for both sides (the engine would otherwise adapt it to the load)
    os.environ.setdefault("SUE_NUM_THREADS", str(torch.get_num_threads()))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{os.environ['SUE_NUM_THREADS']} threads"
    )
    sets = {**DATA, **(REAL if args.real else {})}
    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    rows = {"none": [], "before": [], "default": []}
    secs = {"before": [], "default": []}
    for name, (params, n_pairs, sue_params, mmd_params) in sets.items():
        x, y = registry.build("dataset", name, params).load()
        per = {k: [] for k in rows}
        tper = {k: [] for k in secs}
        for seed in args.seeds:
            split = paper_split(x, y, n_pairs=n_pairs, n_test=400, seed=seed)
            for label, matcher, extra in (
                ("none", "none", None),
                ("before", "mmd", {**mmd_params, **BEFORE}),
                ("default", "mmd", mmd_params),
            ):
                model = registry.get("method", "sue")(
                    device="cpu", seed=seed, matcher=matcher, matcher_params=extra, **sue_params
                )
                with mock.patch.object(
                    matchers.mmd,
                    "mmd2_rbf",
                    reference_mmd2 if label == "before" else matchers.mmd2_rbf,
                ):
                    model.fit(split.train)
                r = task.evaluate(
                    model.transform(split.x_test, "x"), model.transform(split.y_test, "y")
                )
                per[label].append((r["x2y_R@10"] + r["y2x_R@10"]) / 2)
                if label in tper:
                    tper[label].append(model.timings_["matcher"])
        for k in rows:
            rows[k] += per[k]
        for k in secs:
            secs[k] += tper[k]
        print(
            f"{name} ({n_pairs} pairs, seeds {args.seeds}): R@10 "
            + ", ".join(f"{k} {np.mean(v):.1f} ± {np.std(v):.1f}" for k, v in per.items())
            + "; matcher s "
            + ", ".join(f"{k} {np.mean(v):.1f}" for k, v in tper.items())
            + f"; speed-up {np.sum(tper['before']) / np.sum(tper['default']):.1f}x",
            flush=True,
        )
    print(
        f"overall: speed-up {np.sum(secs['before']) / np.sum(secs['default']):.1f}x, "
        f"R@10 before {np.mean(rows['before']):.2f}, default "
        f"{np.mean(rows['default']):.2f}, no matcher {np.mean(rows['none']):.2f}"
    )


if __name__ == "__main__":
    main()
