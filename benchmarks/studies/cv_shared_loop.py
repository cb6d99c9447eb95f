"""Could self-learning's cross-validation share one loop? A shortcut measured against the
honest folds: the self-learning loop runs once, on all pairs, and each fold only refits the
final aligner on its training pairs plus that loop's dictionary, less every entry that touches
a held-out pair's rows. That would cost one loop instead of five, but the held-out pairs
seeded the loop. This script measures how much that lifts their ranks.

For each stored fit of cv_repeats.py (deals.npz: self-learning's first-deal ranks from its
honest folds, every cheap candidate's five deals) the shortcut's ranks are computed with
today's code (`auto`'s own folds and refits, the loop replaced by the shared dictionary).
Prints per fit the mean -log r of the held-out pairs under both, and the picks `auto` would
make (`selection.choose_dealt`) with their stored test R@10.

    SUE_DATA_DIR=~/data python benchmarks/studies/cv_shared_loop.py \
        --pairings cldr_emoji_en_fr,digits_views --pairs 25,100

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_rules import SCORE, stored_cells  # noqa: E402
from suite import load  # noqa: E402

import sue_framework.components.self_learning as self_learning  # noqa: E402
from sue_framework import paper_split  # noqa: E402
from sue_framework.data import training_data  # noqa: E402
from sue_framework.methods.auto import Auto  # noqa: E402
from sue_framework.model_selection.cv_select import POLICY_HOW  # noqa: E402
from sue_framework.model_selection.selection import choose_dealt, query_scores  # noqa: E402
from sue_framework.model_selection.splits import limit_unpaired  # noqa: E402
from sue_framework.registry import registry  # noqa: E402
from sue_framework.runtime.settings import with_policy  # noqa: E402


def _keys(rows: np.ndarray) -> list[bytes]:
    return [r.tobytes() for r in np.ascontiguousarray(rows)]


class SharedLoop:
    """Replaces `SelfLearning._learn` while active: "record" runs the loop and keeps its
    dictionary and pairs; "replay" returns that dictionary less the entries on rows of pairs
    missing from the fold's training pairs (the held-out ones), with no loop."""

    def __init__(self) -> None:
        self.mode, self.learn = "off", self_learning.SelfLearning._learn
        shared = self

        def learn(loop, a, b, xs, ys, eng):
            return shared(loop, a, b, xs, ys, eng)

        self_learning.SelfLearning._learn = learn  # type: ignore[method-assign]

    def __call__(self, loop, a, b, xs, ys, eng):
        if self.mode == "record":
            self.dx, self.dy, self.iters, _ = out = self.learn(loop, a, b, xs, ys, eng)
            self.a, self.b, self.xk, self.yk = set(_keys(a)), set(_keys(b)), _keys(xs), _keys(ys)
            return out
        if self.mode == "replay":
            held_x, held_y = self.a - set(_keys(a)), self.b - set(_keys(b))
            bad_x = np.array([k in held_x for k in self.xk])
            bad_y = np.array([k in held_y for k in self.yk])
            keep = ~(bad_x[self.dx] | bad_y[self.dy])
            return self.dx[keep], self.dy[keep], 0, []
        return self.learn(loop, a, b, xs, ys, eng)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stored = [f"docs/experiments/auto_rules{s}" for s in ("", "_10", "_50")]
    ap.add_argument("--rules", nargs="+", default=stored)
    ap.add_argument("--deals", default="docs/experiments/cv_repeats")
    ap.add_argument("--pairings", default="cldr_emoji_en_fr,digits_views")
    ap.add_argument("--pairs", default="25,100")
    args = ap.parse_args()
    ranks = dict(np.load(Path(args.deals) / "deals.npz"))
    wanted, counts = set(args.pairings.split(",")), {int(v) for v in args.pairs.split(",")}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; mean -log r of "
          "the held-out pairs (first deal), picks and their stored test R@10")  # fmt: skip
    print("| pairing | pairs | seed | honest folds | one shared loop | pick (honest) | "
          "pick (shared) | seconds (loop, fold refits) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |")
    shared = SharedLoop()
    loaded: dict[str, tuple] = {}
    for (pairing, n, seed), (rows, _) in sorted(stored_cells(args.rules).items()):
        key = f"{pairing}|{n}|{seed}"
        if pairing not in wanted or n not in counts or f"{key}|{rows[0]['label']}|0" not in ranks:
            continue
        if pairing not in loaded:
            loaded = {pairing: load(pairing)}
        data = training_data(paper_split(*loaded[pairing], n_pairs=n, n_test=400,
                                         seed=seed).train, "Auto")  # fmt: skip
        auto = Auto(seed=seed, device="cpu")
        cands = auto._candidates(data.n_pairs, int(min(data.x.shape[1], data.y.shape[1])))
        labels, costly = auto._labels(cands), auto._costly(cands)
        name, params = cands[max(costly, key=lambda k: cands[k][1]["out_dim"])]
        t0 = time.perf_counter()
        shared.mode = "record"  # the refit's own loop, on the pool the folds see
        registry.get("method", name)(
            **with_policy(params, name, POLICY_HOW, seed=seed, device="cpu")
        ).fit(limit_unpaired(data, auto.cv_max_rows, seed))
        t1 = time.perf_counter()
        shared.mode = "replay"
        runs = auto._cross_validate(data, cands, seed, 0, costly)
        shared.mode = "off"
        t2 = time.perf_counter()
        test = {r["label"]: r["test_r10"] for r in rows}
        stored = {k: [query_scores(1.0 / ranks[f"{key}|{k}|{d}"], SCORE) for d in range(5)
                      if f"{key}|{k}|{d}" in ranks] for k in labels}  # fmt: skip
        shortcut = dict(stored)
        for k in costly:
            shortcut[labels[k]] = [query_scores(runs[k][0], SCORE)]
        honest_pick = labels[choose_dealt(stored, labels, "best")]
        shared_pick = labels[choose_dealt(shortcut, labels, "best")]
        wide = labels[max(costly, key=lambda k: cands[k][1]["out_dim"])]
        print(f"| {pairing} | {n} | {seed} | {stored[wide][0].mean():.2f} | "
              f"{shortcut[wide][0].mean():.2f} | {honest_pick.split(',')[0]} "
              f"{test[honest_pick]:.1f} | {shared_pick.split(',')[0]} {test[shared_pick]:.1f} "
              f"| {t1 - t0:.1f}, {t2 - t1:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
