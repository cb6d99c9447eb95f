"""Could `auto`'s refit of self-learning start from a fold's converged map instead of from the
pairs alone? Measured, not built: `SelfLearning` has no warm start, so this script swaps the
loop's first map (the orthogonal map the true pairs determine) for the last map of the first
CV fold's loop (the same fold `auto` fits first: 4/5 of the pairs), and compares the refit on
all pairs against the cold one: iterations and test R@10 (paper protocol, 400 test pairs).
Self-learning at 64 dims as `auto` fits it (`select_components` 64, no guard).

    SUE_DATA_DIR=~/data python benchmarks/studies/warm_refit.py \
        --pairings freedict_en_fr,cldr_emoji_en_fr,wordnet_gloss_fr --pairs 25 --seeds 0,1,2

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import load, parse, r10  # noqa: E402

import sue_framework.components.self_learning as self_learning  # noqa: E402
from sue_framework import WeaklyPairedData, paper_split, registry  # noqa: E402
from sue_framework.data import training_data  # noqa: E402
from sue_framework.methods.auto import CV_MAX_ROWS  # noqa: E402
from sue_framework.model_selection.cv_select import _cv_plan  # noqa: E402
from sue_framework.model_selection.splits import limit_unpaired  # noqa: E402

PARAMS = {"out_dim": 64, "aligner_params": {"select_components": 64}}


class WarmStart:
    """While installed: records the last map each loop searched with (`last`), and, when
    `start` is set, hands it out as the next loop's first map instead of the pairs' one."""

    def __init__(self) -> None:
        self.start, self.last, self.fresh = None, None, False
        polar, learn, search = (self_learning.polar, self_learning.SelfLearning._learn,
                                self_learning._Searcher.__call__)  # fmt: skip
        hooks = self

        def first_polar(m, rtol=1e-6):
            if hooks.fresh and hooks.start is not None:
                hooks.fresh = False
                return hooks.start
            hooks.fresh = False
            return polar(m, rtol)

        def fresh_learn(loop, *args):
            hooks.fresh = True  # the loop's first polar() is its starting map
            return learn(loop, *args)

        def recording_search(searcher, w):
            hooks.last = w
            return search(searcher, w)

        self_learning.polar = first_polar
        self_learning.SelfLearning._learn = fresh_learn  # type: ignore[method-assign]
        self_learning._Searcher.__call__ = recording_search  # type: ignore[method-assign]


def fit(data: WeaklyPairedData, seed: int):
    """Self-learning at 64 dims as `auto` fits it, on `data`."""
    return registry.get("method", "self_train")(seed=seed, device="cpu", **PARAMS).fit(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="freedict_en_fr,cldr_emoji_en_fr,wordnet_gloss_fr")
    ap.add_argument("--pairs", type=int, default=25)
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    hooks = WarmStart()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in % "
          "(refit iterations)")  # fmt: skip
    print("| pairing | pairs | seed | cold refit | warm from fold 0 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for p in parse(args.pairings):
        x, y = load(p)
        for seed in (int(v) for v in args.seeds.split(",")):
            split = paper_split(x, y, n_pairs=args.pairs, n_test=400, seed=seed)
            data = training_data(split.train, "Auto")
            held = _cv_plan(limit_unpaired(data, CV_MAX_ROWS, seed), 5, seed, 20000)[0][0]
            fold = WeaklyPairedData(data.x, data.y, np.delete(data.pairs, held, axis=0))
            hooks.start = None
            fit(fold, seed)
            fold_map = hooks.last
            cold = fit(data, seed)
            hooks.start = fold_map
            warm = fit(data, seed)
            hooks.start = None
            cells = [f"{r10(m, split.x_test, split.y_test):.1f} ({m.aligner_.n_iter_})"
                     for m in (cold, warm)]  # fmt: skip
            print(f"| {p.name} | {args.pairs} | {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
