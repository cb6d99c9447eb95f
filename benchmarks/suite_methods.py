"""R@10 and fit seconds of whole methods on the wide suite's cells (paper protocol, 400 test
pairs), one CSV row per (pairing, pairs, seed, method); reruns skip the rows the CSV holds.

`auto` and its candidates come from auto_rules.py; this adds the methods it does not fit:
the paper's `sue`, the guarded `self_train`, and `cca_raw` and `asif` at their defaults.

    SUE_DATA_DIR=~/data python benchmarks/suite_methods.py --out docs/experiments/suite
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import fit_scored, load, parse, record  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402

FIELDS = ("pairing", "pairs", "seed", "method", "r10", "seconds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--pairs", default="10,25,50,100,200")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="cca_raw,asif,self_train,sue")
    ap.add_argument("--out", default="docs/experiments/suite")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "methods.csv"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    have = {tuple(r[k] for k in FIELDS[:4]) for r in done}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %", flush=True)
    for p in parse(args.pairings):
        x, y = load(p)
        for n in args.pairs.split(","):
            for seed in args.seeds.split(","):
                split = paper_split(x, y, n_pairs=int(n), n_test=400, seed=int(seed))
                for method in args.methods.split(","):
                    key = (p.name, n, seed, method)
                    if key in have:
                        continue
                    model = registry.get("method", method)(seed=int(seed))
                    record(path, FIELDS, done, key, *fit_scored(model, split.train, split))


if __name__ == "__main__":
    main()
