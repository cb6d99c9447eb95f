"""Does R@10 rise with the number of unpaired rows? The paper's Fig. 5b on real pools of 30k+
rows a side, at fixed pairs.

For each large pairing (UI messages <-> their French translations, 48k pairs; a word <-> its
WordNet definition, 90k), 400 test pairs and the training pairs are drawn first (paper
protocol, seeded); then the unpaired pool grows from 1k rows to every remaining row, each
smaller pool a subset of the larger ones. R@10 is the mean of both directions, in %; the
seconds are each fit's. A plot goes beside the printed table.

    python benchmarks/studies/pool_curve.py --out docs/experiments/pool_curve

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import fit_scored, pool_cells, record  # noqa: E402

from sue_framework import registry  # noqa: E402

METHODS = {
    "auto": ("auto", {}),
    "self_train": ("self_train", {}),
    "sue": ("sue", {}),
    "cca_raw": ("cca_raw", {}),
}
FIELDS = ("pairing", "pairs", "unpaired", "seed", "method", "r10", "seconds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="messages_en_fr,wordnet_word_gloss")
    ap.add_argument("--pairs", default="25,100")
    ap.add_argument("--unpaired", default="1000,4000,16000,all")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="docs/experiments/pool_curve")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    have = {tuple(r[k] for k in FIELDS[:5]) for r in done}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %", flush=True)
    for p, n, seed, size, split, data in pool_cells(
        args.pairings, args.pairs, args.seeds, args.unpaired
    ):
        for label in args.methods.split(","):
            key = (p.name, str(n), size, str(seed), label)
            if key in have:
                continue
            name, params = METHODS[label]
            model = registry.get("method", name)(seed=seed, **params)
            record(path, FIELDS, done, key, *fit_scored(model, data, split))
    summarise(done, out)


def summarise(done: list[dict], out: Path) -> None:
    """Mean ± std over seeds per (pairing, pairs, pool size, method), as markdown, and a plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple, list[float]] = {}
    for r in done:
        groups.setdefault((r["pairing"], int(r["pairs"]), r["unpaired"], r["method"]), []).append(
            float(r["r10"])
        )
    combos = sorted({k[:2] for k in groups})  # (pairing, pairs) measured, one panel each
    fig, axes = plt.subplots(1, len(combos), figsize=(5 * len(combos), 3.6), squeeze=False)
    for b, (pairing, n) in enumerate(combos):
        sizes = sorted(
            {k[2] for k in groups if k[:2] == (pairing, n)},
            key=lambda s: float("inf") if s == "all" else int(s),
        )
        methods = sorted({k[3] for k in groups if k[:2] == (pairing, n)})
        print(f"\n{pairing}, {n} pairs\n\n| unpaired rows | " + " | ".join(methods) + " |")
        print("| ---: | " + " | ".join("---:" for _ in methods) + " |")
        for s in sizes:
            cells = []
            for m in methods:
                v = groups.get((pairing, n, s, m), [])
                cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f}" if v else "")
            print(f"| {s} | " + " | ".join(cells) + " |")
        ax = axes[0][b]
        for m in methods:
            pts = [
                (i, np.mean(groups[(pairing, n, s, m)]))
                for i, s in enumerate(sizes)
                if (pairing, n, s, m) in groups
            ]
            ax.plot([i for i, _ in pts], [v for _, v in pts], marker="o", label=m)
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_title(f"{pairing}, {n} pairs")
        ax.set_xlabel("unpaired rows a side")
        ax.set_ylabel("R@10 (%)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "r10_vs_unpaired.png", dpi=110)
    print(f"\nwrote {out / 'r10_vs_unpaired.png'}")


if __name__ == "__main__":
    main()
