"""`auto` on large real pools with its cross-validation folds mining exactly (as before) and
with the candidate search its refit runs (faiss IVF once the refit's mined rows pass the exact
limit; `Auto._fold_candidates`), side by side in one process: each one's choice, the chosen
candidate's CV score, R@10 of the final model and the fit's seconds.

The refit is the same code in both, so R@10 can differ only where the choices differ. Pools of
at most 5,000 rows a side (the whole real suite) mine exactly in both.

    python benchmarks/studies/cv_engine.py --pairings messages_en_fr,wordnet_word_gloss \
        --unpaired 16000 --pairs 25,100 --seeds 0,1,2

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import fit_scored, pool_cells  # noqa: E402

from sue_framework.methods.auto import Auto  # noqa: E402


class ExactFolds(Auto):
    """`auto` whose folds mine exactly whatever the pool (the previous behaviour)."""

    def _fold_candidates(self, cands, data):
        return [
            (n, {**p, "aligner_params": {**p["aligner_params"], "knn": "exact"}})
            if n == "self_train"
            else (n, p)
            for n, p in super()._fold_candidates(cands, data)
        ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="messages_en_fr,wordnet_word_gloss")
    ap.add_argument("--pairs", default="25,100")
    ap.add_argument("--unpaired", default="16000", help="pool sizes a side ('all': every row)")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load_avg:.1f}; "
          "R@10 in %, mean of both directions", flush=True)  # fmt: skip
    print("| pairing | pairs | unpaired | seed | folds | choice | CV MRR | R@10 | seconds |")
    print("| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |", flush=True)
    for p, n, seed, _, split, data in pool_cells(
        args.pairings, args.pairs, args.seeds, args.unpaired
    ):
        for label, cls in (("exact", ExactFolds), ("refit's", Auto)):
            model = cls(seed=seed)
            score, secs = fit_scored(model, data, split)
            print(f"| {p.name} | {n} | {data.x.shape[0]} | {seed} | {label} | {model.choice_} | "
                  f"{model.cv_scores_[model.choice_]:.4f} | {score:.1f} | {secs:.1f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
