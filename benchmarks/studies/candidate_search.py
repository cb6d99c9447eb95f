"""Self-learning's exact candidate search (`knn.top_k_both_ways`) done two ways, side by side in
one process; both must give equal results.

`--compare ties`: the candidate lists are the first k of a stable descending sort, tied scores
in index order.
- "sort": the earlier way, a stable sort of each whole row where a tie sits at the k-th place
  (`knn._first_k_sorted`), and every list re-sorted by index then score (`knn._ties_by_index`);
- "topk": the code now, a top 2k, 4k, ... of those rows until the tied block fits, and only
  the lists that hold a tie re-sorted.

`--compare buffer`: where each block of scores is written.
- "fresh": a new tensor per block, as a @ b^T gives (the earlier way);
- "reused": one `knn.score_buffer` per search, written again by every call (the code now).

1. The search alone on random 64-d rows, each row of one side present `--copies` times
   (duplicated embeddings tie exactly, as in the dictionary pairings), 1 and 2 torch threads,
   best of 3, equal results.
2. Whole fits of `--methods` on real pairings (`--pairings`, 25 pairs, seed 0), alternating the
   two ways `--rounds` times: seconds, R@10, and whether the transforms are bitwise equal.

    SUE_DATA_DIR=~/data python benchmarks/studies/candidate_search.py --compare ties \\
        --pairings cldr_emoji_en_fr,freedict_en_fr

A one-off study; its figures are quoted by docs/wide_suite.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from suite import load, parse, r10  # noqa: E402

import sue_framework.components.knn as knn  # noqa: E402
import sue_framework.components.self_learning as self_learning  # noqa: E402
from sue_framework import paper_split, registry  # noqa: E402


def _sorted_first_k(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The earlier fallback: a stable sort of each whole row."""
    values, idx = torch.sort(s, dim=1, descending=True, stable=True)
    return values[:, :k], idx[:, :k]


def _every_list(values: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The earlier tie order: every list sorted by index, then stably by score."""
    idx, order = torch.sort(idx, dim=1)
    values, order = torch.sort(torch.gather(values, 1, order), dim=1, descending=True, stable=True)
    return values.contiguous(), torch.gather(idx, 1, order).contiguous()


@contextmanager
def _patched(module, **names) -> Iterator[None]:
    kept = {n: getattr(module, n) for n in names}
    for n, v in names.items():
        setattr(module, n, v)
    try:
        yield
    finally:
        for n, v in kept.items():
            setattr(module, n, v)


# each comparison: the earlier way, then the code now, as a context to run the search in
WAYS: dict[str, dict[str, Callable[[], object]]] = {
    "ties": {
        "sort": lambda: _patched(knn, _first_k_sorted=_sorted_first_k, _ties_by_index=_every_list),
        "topk": lambda: _patched(knn),
    },
    "buffer": {
        "fresh": lambda: _patched(self_learning, score_buffer=lambda a, b: None),
        "reused": lambda: _patched(self_learning),
    },
}


def search_alone(ways: dict, copies: int) -> None:
    earlier, now = ways
    print(f"search alone, 64-d rows, each row of one side {copies} times, best of 3 (s):")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n, k in ((1500, 10), (3600, 16), (3600, 64)):
            gen = torch.Generator().manual_seed(n + k)
            a = torch.randn(n // copies + 1, 64, generator=gen).repeat(copies, 1)[:n]
            b = torch.randn(n, 64, generator=gen)
            times = {}
            for name, way in ways.items():
                with way():
                    buffer = self_learning.score_buffer(a, b)  # None where the way says so
                    runs = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        out = knn.top_k_both_ways(a, b, k, buffer)
                        runs.append(time.perf_counter() - t0)
                times[name] = (min(runs), out)
            same = all(
                torch.equal(p, q)
                for u, v in zip(times[earlier][1], times[now][1], strict=True)
                for p, q in zip(u, v, strict=True)
            )
            line = ", ".join(f"{name} {t:.4f}" for name, (t, _) in times.items())
            ratio = times[earlier][0] / times[now][0]
            print(f"  {threads} thread(s), n = {n}, k = {k}: {line}; ratio {ratio:.2f}, "
                  f"equal {same}")  # fmt: skip


def whole_fits(ways: dict, pairings: str, methods: list[str], rounds: int) -> None:
    earlier, now = ways
    print("whole fits, 25 pairs, seed 0 (s; R@10 in %):")
    for p in parse(pairings):
        x, y = load(p)
        split = paper_split(x, y, n_pairs=25, n_test=400, seed=0)
        for method in methods:
            seconds: dict[str, list[float]] = {name: [] for name in ways}
            outputs, scores = {}, {}
            for _ in range(rounds):
                for name, way in ways.items():
                    with way():
                        t0 = time.perf_counter()
                        model = registry.get("method", method)(seed=0).fit(split.train)
                        seconds[name].append(time.perf_counter() - t0)
                    outputs[name] = model.transform(split.x_test, "x")
                    scores[name] = r10(model, split.x_test, split.y_test)
            med = {name: statistics.median(v) for name, v in seconds.items()}
            same = np.array_equal(outputs[earlier], outputs[now])
            print(f"  {p.name} ({x.shape[0]} rows), {method}: {earlier} {med[earlier]:.1f}, "
                  f"{now} {med[now]:.1f} (median of {rounds}); ratio "
                  f"{med[earlier] / med[now]:.2f}; R@10 {scores[now]:.1f}; "
                  f"transforms bitwise equal: {same}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", choices=sorted(WAYS), required=True)
    ap.add_argument("--pairings", default="", help="real pairings for whole fits (none: skip)")
    ap.add_argument("--methods", default="self_train,auto")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--copies", type=int, default=3, help="times each searched row is present")
    args = ap.parse_args()
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load_avg:.1f}, "
          f"torch {torch.__version__}; --compare {args.compare}")  # fmt: skip
    search_alone(WAYS[args.compare], args.copies)
    if args.pairings:
        torch.set_num_threads(os.cpu_count() or 1)
        whole_fits(WAYS[args.compare], args.pairings, args.methods.split(","), args.rounds)


if __name__ == "__main__":
    main()
