"""How `auto` chooses: every candidate's pair-CV scores and test R@10 on the wide suite, and the
R@10 that each selection rule would get from them, beside the tuned pair-only baseline.

For each pairing, pair count and seed (paper protocol, 400 test pairs), `auto` runs its
cross-validation once; then every candidate is fit on all the pairs and scored on the test
pairs (narrower CCA and self-learning widths as truncations of the widest, as `auto` scores
them). From the same numbers each rule picks a candidate, each held-out pair scored as
`auto` scores it by default (`Auto.cv_score`: -log of its rank; the stored runs before that
default scored 1/r, and `benchmarks/studies/cv_score.py` re-scores them):
- "one_se": the first candidate, cheapest first, within one paired standard error of the best;
- "best": the best CV mean (`auto`'s default rule);
- "one_se, unpaired first": an earlier default's order (methods using unpaired rows first);
- "pair-only": "one_se" over the pair-only candidates alone (`auto(pair_only=True,
  rule="one_se")`).
Results go to a CSV (one row per candidate and cell, with the mean reciprocal rank in CV and
its standard error; reruns skip the cells it holds) and an .npz of the per-query reciprocal
ranks; the summary prints per cell and per pairing, with the
geometric mean of each rule over the pair-only baseline and its worst cell.

    SUE_DATA_DIR=~/data python benchmarks/studies/auto_rules.py --out docs/experiments/auto_rules

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import geomean, load, parse, r10, write_rows  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.methods.auto import PAIR_ONLY, Auto  # noqa: E402
from sue_framework.model_selection.cv_select import _label  # noqa: E402
from sue_framework.model_selection.selection import choose, mean_and_sem, query_scores  # noqa: E402

FIELDS = ("pairing", "pairs", "seed", "label", "family", "cv_mean", "cv_sem", "test_r10", "seconds")
UNPAIRED_FIRST = ("self_train", "semi_cca", "pair_cca", "asif")
SCORE = Auto().cv_score  # how the rules score each held-out pair: as auto does by default


def run_cell(x, y, n_pairs: int, seed: int) -> tuple[list[dict], dict[str, np.ndarray]]:
    """One cell: a row per candidate, and the per-query CV scores by label."""
    split = paper_split(x, y, n_pairs=n_pairs, n_test=400, seed=seed)
    # every fold of every candidate, so that each rule (and cv_stop.py's early stop) can be
    # replayed from the stored ranks
    auto = registry.get("method", "auto")(seed=seed, device="cpu", cv_stop_z=None)
    t0 = time.perf_counter()
    auto.fit(split.train)
    auto_seconds = time.perf_counter() - t0
    cands = auto._candidates(auto.n_pairs_, auto.width_)
    nested = auto._nested(cands)
    rows, models = [], {}
    for k, (name, params) in enumerate(cands):
        if k in nested:
            continue
        t0 = time.perf_counter()
        models[k] = registry.get("method", name)(seed=seed, device="cpu", **params).fit(split.train)
        models[k].seconds_ = time.perf_counter() - t0
    for k, (name, params) in enumerate(cands):
        wide, width = nested.get(k, (k, None))
        model = models[wide]
        label = _label((name, params))
        rr = auto.cv_per_query_.get(label)  # per-query reciprocal ranks (none without CV)
        cv_mean, cv_sem = (np.nan, np.nan) if rr is None else mean_and_sem(rr)
        rows.append(
            {
                "label": label,
                "family": name,
                "cv_mean": cv_mean,
                "cv_sem": cv_sem,
                "test_r10": r10(_Truncated(model, width), split.x_test, split.y_test),
                "seconds": model.seconds_ if k not in nested else 0.0,
            }
        )
    rows.append(
        {
            "label": "auto",
            "family": "auto",
            "cv_mean": np.nan,
            "cv_sem": np.nan,
            "test_r10": r10(auto, split.x_test, split.y_test),
            "seconds": auto_seconds,
        }
    )
    return rows, auto.cv_per_query_


class _Truncated:
    """A fitted method's first `width` output columns (all when None)."""

    def __init__(self, model, width: int | None) -> None:
        self.model, self.width = model, width

    def transform(self, X, modality):
        return self.model.transform(X, modality)[:, : self.width]


def picks(rows: list[dict], per_query: dict[str, np.ndarray]) -> dict[str, float]:
    """Test R@10 of the candidate each rule picks in one cell."""
    cands = [r for r in rows if r["family"] != "auto"]
    test = {r["label"]: r["test_r10"] for r in cands}
    if not per_query:  # too few pairs for CV: auto takes its first candidate
        first = cands[0]["label"]
        return dict.fromkeys(("one_se", "best", "unpaired first", "pair-only"), test[first])
    order = [r["label"] for r in cands]
    per_query = {k: query_scores(v, SCORE) for k, v in per_query.items()}
    unpaired_first = sorted(order, key=lambda k: UNPAIRED_FIRST.index(k.split(" ")[0]))
    pair_only = [k for k in order if k.split(" ")[0] in PAIR_ONLY]
    out = {}
    for rule, labels, how in (
        ("one_se", order, "one_se"),
        ("best", order, "best"),
        ("unpaired first", unpaired_first, "one_se"),
        ("pair-only", pair_only, "one_se"),
    ):
        out[rule] = test[labels[choose(per_query, labels, how)]]
    out["oracle"] = max(test.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--pairs", default="10,25,50,100,200")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default="docs/experiments/auto_rules")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path, qpath = out / "candidates.csv", out / "cv_per_query.npz"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    queries = dict(np.load(qpath)) if qpath.exists() else {}
    have = {(r["pairing"], int(r["pairs"]), int(r["seed"])) for r in done}
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %", flush=True)
    for p in parse(args.pairings):
        x, y = load(p)
        for n in (int(v) for v in args.pairs.split(",")):
            for seed in (int(v) for v in args.seeds.split(",")):
                if (p.name, n, seed) in have:
                    continue
                rows, per_query = run_cell(x, y, n, seed)
                for r in rows:
                    r.update(pairing=p.name, pairs=n, seed=seed)
                done += [{k: str(r[k]) for k in FIELDS} for r in rows]
                for label, v in per_query.items():
                    queries[f"{p.name}|{n}|{seed}|{label}"] = v
                write_rows(path, FIELDS, done)
                np.savez_compressed(qpath, **queries)
                got = picks(rows, per_query)
                print(
                    f"{p.name} {n} pairs seed {seed}: "
                    + ", ".join(f"{k} {v:.1f}" for k, v in got.items()),
                    flush=True,
                )
    summarise(done, queries)


Cells = dict[tuple[str, int, int], tuple[list[dict], dict[str, np.ndarray]]]


def cells_of(done: list[dict], queries: dict[str, np.ndarray]) -> Cells:
    """{(pairing, pairs, seed): (its CSV rows with test_r10 as a number, its per-query CV
    reciprocal ranks by label)} from this script's CSV rows and .npz entries."""
    cells: Cells = {}
    for r in done:
        key = (r["pairing"], int(r["pairs"]), int(r["seed"]))
        cells.setdefault(key, ([], {}))[0].append({**r, "test_r10": float(r["test_r10"])})
    for (pairing, n, seed), (_, per_query) in cells.items():
        prefix = f"{pairing}|{n}|{seed}|"
        per_query.update({k[len(prefix) :]: v for k, v in queries.items() if k.startswith(prefix)})
    return cells


def stored_cells(folders) -> Cells:
    """`cells_of` the candidates.csv and cv_per_query.npz of each output folder."""
    cells: Cells = {}
    for folder in map(Path, folders):
        with (folder / "candidates.csv").open(newline="") as fh:
            cells.update(
                cells_of(list(csv.DictReader(fh)), dict(np.load(folder / "cv_per_query.npz")))
            )
    return cells


def summarise(done: list[dict], queries: dict[str, np.ndarray]) -> None:
    """Per pairing and pair count: each rule's mean R@10 over seeds and its ratio to pair-only;
    then the geometric mean of the ratios over all cells and the worst cell."""
    by_cell: dict[tuple, list[dict[str, float]]] = {}
    for (pairing, n, _), (rows, per_query) in cells_of(done, queries).items():
        by_cell.setdefault((pairing, n), []).append(picks(rows, per_query))
    rules = ("one_se", "best", "unpaired first", "oracle")
    print("\n| pairing | pairs | pair-only | " + " | ".join(rules) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in rules) + " |")
    ratios: dict[str, list[tuple[float, tuple]]] = {k: [] for k in rules}
    for (pairing, n), seeds in sorted(by_cell.items()):
        mean = {k: float(np.mean([s[k] for s in seeds])) for k in seeds[0]}
        base = max(mean["pair-only"], 1e-9)
        for k in rules:
            ratios[k].append((mean[k] / base, (pairing, n)))
        print(
            f"| {pairing} | {n} | {mean['pair-only']:.1f} | "
            + " | ".join(f"{mean[k]:.1f} ({mean[k] / base:.2f}x)" for k in rules)
            + " |"
        )
    for k in rules:
        vals = [r for r, _ in ratios[k]]
        worst = min(ratios[k])
        print(
            f"{k}: geometric mean {geomean(vals):.3f}x the pair-only baseline "
            f"over {len(vals)} cells; worst {worst[0]:.2f}x at {worst[1][0]}, {worst[1][1]} pairs"
        )


if __name__ == "__main__":
    main()
