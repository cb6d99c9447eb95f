"""Can the self-learning loop run in fewer or cheaper iterations? `self_train`'s loop
(`SelfLearning`, unguarded, 64 dims, 4,000 rows a side at most, as `auto`'s candidate) under
its default settings and under settings that shorten it: stronger over-relaxation of the soft
phase (`momentum`), a sharper or softer soft dictionary (`temperature`), a narrower mining
space (`mine_dim`) and fewer candidates per row (`candidates`). Same splits (paper protocol,
400 test pairs) for every setting; prints R@10 (mean of both directions, %), the loop's
iterations (`n_iter_`) and the fit's seconds, each beside the default's.

    SUE_DATA_DIR=~/data python benchmarks/studies/loop_settings.py --pairings \
        freedict_en_fr,cldr_emoji_en_fr,wordnet_gloss_fr --pairs 25 --seeds 0

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import load, parse, r10  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402

BASE = {"guard_folds": 0, "max_rows": 4000}  # auto's self-learning candidate, unguarded
SETTINGS = {
    "default": {},
    "momentum 2": {"momentum": 2.0},
    "momentum 4": {"momentum": 4.0},
    "temperature 0.05": {"temperature": 0.05},
    "temperature 0.2": {"temperature": 0.2},
    "mine_dim 64": {"mine_dim": 64},
    "candidates 8": {"candidates": 8},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="freedict_en_fr,cldr_emoji_en_fr,wordnet_gloss_fr")
    ap.add_argument("--pairs", type=int, default=25)
    ap.add_argument("--seeds", default="0")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; {args.pairs} pairs")
    print("| pairing | seed | setting | R@10 | iterations | seconds |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for p in parse(args.pairings):
        x, y = load(p)
        for seed in (int(v) for v in args.seeds.split(",")):
            split = paper_split(x, y, n_pairs=args.pairs, n_test=400, seed=seed)
            base = None
            for label, setting in SETTINGS.items():
                model = registry.get("method", "self_train")(
                    out_dim=64, aligner_params={**BASE, **setting}, seed=seed, device="cpu"
                )
                t0 = time.perf_counter()
                model.fit(split.train)
                seconds = time.perf_counter() - t0
                got = (r10(model, split.x_test, split.y_test), model.aligner_.n_iter_, seconds)
                base = base or got
                print(
                    f"| {p.name} | {seed} | {label} | {got[0]:.1f} ({got[0] - base[0]:+.1f}) | "
                    f"{got[1]} ({got[1] / base[1]:.2f}x) | {got[2]:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
