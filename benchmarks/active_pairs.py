"""Which pairs to label: `auto` fit on n chosen pairs against n random ones, with a simulated
oracle (the true partner of every row is known and handed out when a row is chosen).

For each pairing, budget n and seed: 400 test pairs are held out, the remaining rows of both
modalities form the unpaired pool (y's rows shuffled), and n of them get their partners by
- "random": n rows drawn at random (the paper protocol's pairs);
- "diversity" (and any other registered selector named in `--strategies`): one batch of n
  from `suggest_pairs(strategy=...)`; "stratified", a strategy tried and not kept, is
  registered by this script alone (`Stratified`);
- "two rounds": n/2 by diversity, a fit of `auto` on them, then n/2 more by
  `suggest_pairs(strategy="uncertainty")` on that fit (left out with `--no-two-rounds`).
Then `auto` is fit and scored (R@10, mean of both directions, %). "random 2n" gives the bar
the issue sets (chosen n should reach random 2n). Rows are capped at `--max-rows` per pairing
to keep the grid affordable; results go to a CSV and the summary prints the ratios. A rerun
fits only the (cell, strategy) pairs the CSV lacks, so a new strategy is one more column.

    SUE_DATA_DIR=~/data python benchmarks/active_pairs.py --out docs/experiments/active_pairs
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
from suite import geomean, load, parse, r10, write_rows  # noqa: E402

from sue_framework import WeaklyPairedData, registry, suggest_pairs  # noqa: E402
from sue_framework.suggest import Diversity, _representatives  # noqa: E402

FIELDS = ("pairing", "budget", "seed", "strategy", "r10", "seconds")


class Stratified(Diversity):
    """Tried, not kept: `diversity`'s regions, but from each a random row of its inner half
    (nearest its centre) instead of the most central one, so a batch keeps random pairs'
    spread of typical and less typical rows while covering every region."""

    def select(self, rows, n, paired, *, other, model, side, rng):
        pool, z, is_paired, labels, centres, covered = self.regions(rows, n, paired, rng)
        sims = np.einsum("nd,nd->n", z, centres[labels])
        median = np.array([np.median(sims[labels == c]) for c in range(centres.shape[0])])
        inner = sims >= median[labels]
        score = rng.random(len(pool))
        picks = _representatives(z, ~is_paired & inner, labels, centres, covered, n, score)
        if len(picks) < n:
            outer = ~is_paired & ~inner
            picks += _representatives(z, outer, labels, centres, covered, n - len(picks), score)
        return pool[np.asarray(picks, dtype=np.int64)]


def _data(x, y, chosen: np.ndarray, perm: np.ndarray) -> WeaklyPairedData:
    """The pool with `chosen` x rows paired to their partners; y's rows in the order `perm`."""
    where = np.argsort(perm)  # position of each original y row in the shuffled y
    return WeaklyPairedData(x, y[perm], np.stack([chosen, where[chosen]], 1))


def _fit(data: WeaklyPairedData, seed: int):
    return registry.get("method", "auto")(seed=seed).fit(data)


def run_cell(
    x,
    y,
    budget: int,
    seed: int,
    two_rounds: bool = True,
    strategies: tuple[str, ...] = ("diversity",),
    skip: frozenset[str] = frozenset(),
) -> dict[str, tuple[float, float]]:
    """R@10 and seconds of `auto` per way of choosing the pairs, those in `skip` left out."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    test, pool = order[:400], order[400:]
    px, py = x[pool], y[pool]
    perm = rng.permutation(len(pool))
    out = {}
    picks = {
        "random": rng.choice(len(pool), budget, replace=False),
        "random 2n": rng.choice(len(pool), 2 * budget, replace=False),
    }
    for name in strategies:
        if name not in skip:
            picks[name] = suggest_pairs(px, budget, strategy=name, seed=seed)
    for name, chosen in picks.items():
        if name in skip:
            continue
        t0 = time.perf_counter()
        model = _fit(_data(px, py, chosen, perm), seed)
        out[name] = (r10(model, x[test], y[test]), time.perf_counter() - t0)
    if not two_rounds or "two rounds" in skip:
        return out
    t0 = time.perf_counter()
    first = suggest_pairs(px, budget // 2, strategy="diversity", seed=seed)
    model = _fit(_data(px, py, first, perm), seed)
    paired = _data(px, py, first, perm).pairs
    more = suggest_pairs(
        px,
        budget - first.size,
        y=py[perm],
        pairs=paired,
        model=model,
        strategy="uncertainty",
        seed=seed,
    )
    model = _fit(_data(px, py, np.concatenate([first, more]), perm), seed)
    out["two rounds"] = (r10(model, x[test], y[test]), time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairings", default="all")
    ap.add_argument("--budgets", default="10,25,50")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--max-rows", type=int, default=2000)
    ap.add_argument(
        "--no-two-rounds", action="store_true", help="only random and one diversity batch"
    )
    ap.add_argument("--no-random-2n", action="store_true", help="leave out the random 2n bar")
    ap.add_argument(
        "--strategies", default="diversity", help="registered selectors, one batch each"
    )
    ap.add_argument("--out", default="docs/experiments/active_pairs")
    ap.add_argument("--plot", type=Path, help="also draw R@10 against pairs per pairing here")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    done = list(csv.DictReader(path.open())) if path.exists() else []
    have = {(r["pairing"], r["budget"], r["seed"], r["strategy"]) for r in done}
    strategies = tuple(args.strategies.split(","))
    if "stratified" in strategies:
        registry.register("selector", "stratified", Stratified)
    wanted = {"random", *strategies} | (set() if args.no_random_2n else {"random 2n"})
    if not args.no_two_rounds:
        wanted.add("two rounds")
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; R@10 in %", flush=True)
    for p in parse(args.pairings):
        x, y = load(p, max_rows=args.max_rows)
        for budget in (int(v) for v in args.budgets.split(",")):
            for seed in (int(v) for v in args.seeds.split(",")):
                skip = frozenset(
                    s for s in wanted if (p.name, str(budget), str(seed), s) in have
                ) | ({"random 2n"} if args.no_random_2n else set())
                if wanted <= skip:
                    continue
                res = run_cell(x, y, budget, seed, not args.no_two_rounds, strategies, skip)
                for strategy, (score, secs) in res.items():
                    done.append(
                        dict(
                            zip(
                                FIELDS,
                                (
                                    p.name,
                                    str(budget),
                                    str(seed),
                                    strategy,
                                    f"{score:.2f}",
                                    f"{secs:.1f}",
                                ),
                                strict=True,
                            )
                        )
                    )
                write_rows(path, FIELDS, done)
                print(
                    f"{p.name} {budget} pairs seed {seed}: "
                    + ", ".join(f"{k} {v[0]:.1f}" for k, v in res.items()),
                    flush=True,
                )
    summarise(done)
    if args.plot:
        plot(done, args.plot, tuple(s for s in strategies if s != "random"))


def plot(done: list[dict], path: Path, strategies: tuple[str, ...]) -> None:
    """One panel per pairing: mean R@10 against the pairs labelled, random pairs at n and 2n
    as one curve, each chosen strategy at n, so a chosen point above the random curve at 2n
    is worth more than twice its pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means: dict[tuple[str, str, int], list[float]] = {}
    for r in done:
        n = int(r["budget"]) * (2 if r["strategy"] == "random 2n" else 1)
        name = "random" if r["strategy"] == "random 2n" else r["strategy"]
        means.setdefault((r["pairing"], name, n), []).append(float(r["r10"]))
    pairings = sorted({k[0] for k in means})
    cols = 4
    rows = -(-len(pairings) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), squeeze=False)
    for ax, pairing in zip(axes.ravel(), pairings, strict=False):
        for name in ("random", *strategies):
            pts = sorted(
                (n, np.mean(v)) for (p, s, n), v in means.items() if (p, s) == (pairing, name)
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=name)
        ax.set_xscale("log")
        ax.set_title(pairing, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(pairings) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("R@10 (%)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.supxlabel("pairs labelled (random at n and 2n; chosen at n)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def summarise(done: list[dict]) -> None:
    """Per pairing and budget: mean R@10 of each strategy and its ratio to random; then the
    geometric means over cells and the cells where a chosen batch is below random."""
    cells: dict[tuple, dict[str, list[float]]] = {}
    for r in done:
        cells.setdefault((r["pairing"], int(r["budget"])), {}).setdefault(r["strategy"], []).append(
            float(r["r10"])
        )
    names = {r["strategy"] for r in done} - {"random", "random 2n"}
    chosen = sorted(k for k in names if all(k in by for by in cells.values()))
    print("\n| pairing | pairs | random | random 2n | " + " | ".join(chosen) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in chosen) + " |")
    ratios: dict[str, list[float]] = {k: [] for k in chosen}
    reach: dict[str, int] = dict.fromkeys(chosen, 0)
    doubled: list[float] = []  # what twice the random budget buys: the scale of any ratio
    for (pairing, n), by in sorted(cells.items()):
        mean = {k: float(np.mean(v)) for k, v in by.items()}
        base = max(mean["random"], 1e-9)
        if "random 2n" in mean:
            doubled.append(mean["random 2n"] / base)
        for k in chosen:
            ratios[k].append(mean[k] / base)
            reach[k] += mean[k] >= mean.get("random 2n", np.inf)
        bar2n = f"{mean['random 2n']:.1f}" if "random 2n" in mean else "not run"
        print(
            f"| {pairing} | {n} | {mean['random']:.1f} | {bar2n} | "
            + " | ".join(f"{mean[k]:.1f} ({mean[k] / base:.2f}x)" for k in chosen)
            + " |"
        )
    if doubled:
        print(f"random 2n: geometric mean {geomean(doubled):.3f}x random over {len(doubled)} cells")
    for k in chosen:
        v = np.asarray(ratios[k])
        print(
            f"{k}: geometric mean {geomean(v):.3f}x random over {v.size} cells, "
            f"{int((v < 1).sum())} below random (worst {v.min():.2f}x), reaches random 2n in "
            f"{reach[k]} (of the cells where it ran)"
        )


if __name__ == "__main__":
    main()
