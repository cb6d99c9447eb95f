"""Supervised references of the real-embedding suite, fit on half of all pairs: a ridge map x -> y
(the issue's upper bound) and CCA on the raw features (64 dims, Ledoit-Wolf shrinkage).

Same protocol as the experiments (paper_split's 400 test pairs, seeds 0-2); the ridge map is fit
on half of the remaining rows as true pairs, y is left as is, and retrieval is by cosine.
Prints R@10 (mean of both directions, %). Needs the data sets of docs/real_embeddings.md.

    python benchmarks/studies/real_upper_bound.py
"""

from __future__ import annotations

import platform

import numpy as np
from sklearn.linear_model import RidgeCV

from sue_framework import paper_split, registry

DATASETS = ("freedict_en_fr", "wordnet_gloss_fr", "cldr_emoji_en_fr")


def main() -> None:
    task = registry.get("task", "retrieval")(device="cpu")
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %")
    for name in DATASETS:
        x, y = registry.build("dataset", name).load()
        scores, cca_scores = [], []
        for seed in (0, 1, 2):
            n_half = (x.shape[0] - 400) // 2
            split = paper_split(x, y, n_pairs=n_half, n_test=400, drop_fraction=0.0, seed=seed)
            tr = split.train
            ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(tr.x_paired, tr.y_paired)
            f = task.evaluate(ridge.predict(split.x_test), split.y_test)
            scores.append(0.5 * (f["x2y_R@10"] + f["y2x_R@10"]))
            cca = registry.get("method", "pair_cca")(out_dim=64, device="cpu").fit(tr)
            f = task.evaluate(cca.transform(split.x_test, "x"), cca.transform(split.y_test, "y"))
            cca_scores.append(0.5 * (f["x2y_R@10"] + f["y2x_R@10"]))
        print(
            f"{name}: {x.shape[0]} rows, {n_half} pairs: ridge R@10 {np.mean(scores):.1f} "
            f"± {np.std(scores, ddof=1):.1f}, CCA-64 R@10 {np.mean(cca_scores):.1f} "
            f"± {np.std(cca_scores, ddof=1):.1f}"
        )


if __name__ == "__main__":
    main()
