"""The soft dictionary's cross-product, `self_learning.soft_cross`, against the formulation it
replaced, side by side in one process: each row's softmax-weighted candidates gathered into an
(n, k, d) block and summed by an einsum ("gather", the code before) against
`torch.nn.functional.embedding_bag` ("bag", the code now). Random unit rows in a 128-d mining
space, 16 candidates per row, both directions; best of 5 runs, 1 and 2 torch threads; the
largest difference between the two results is printed.

    python benchmarks/studies/soft_cross.py

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import os
import platform
import time

import torch

from sue_framework.components.self_learning import soft_cross


def gathered(fwd, bwd, px, py, csls_k: int, temperature: float):
    """`soft_cross` as it was: the weighted partners from an (n, k, d) gather and an einsum."""
    from sue_framework.components.self_learning import _csls

    sf, sb, objective = _csls(fwd, bwd, csls_k)
    wf = torch.softmax(sf / temperature, dim=1)
    wb = torch.softmax(sb / temperature, dim=1)
    targets_x = torch.einsum("nk,nkd->nd", wf, py[fwd[1]])
    targets_y = torch.einsum("nk,nkd->nd", wb, px[bwd[1]])
    return px.T @ targets_x + targets_y.T @ py, objective


def lists(q: torch.Tensor, refs: torch.Tensor, k: int):
    """Exact top-k (scores, indices) of every row of q among refs."""
    return torch.topk(q @ refs.T, k, dim=1)


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; "
          "128-d, 16 candidates, best of 5")  # fmt: skip
    g = torch.Generator().manual_seed(0)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in (4000, 10000):
            px = torch.nn.functional.normalize(torch.randn(n, 128, generator=g), dim=1)
            py = torch.nn.functional.normalize(torch.randn(n, 128, generator=g), dim=1)
            fwd, bwd = lists(px, py, 16), lists(py, px, 16)
            times, out = {}, {}
            for name, fn in (("gather", gathered), ("bag", soft_cross)):
                fn(fwd, bwd, px, py, 10, 0.1)
                runs = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    out[name] = fn(fwd, bwd, px, py, 10, 0.1)[0]
                    runs.append(time.perf_counter() - t0)
                times[name] = min(runs)
            diff = float((out["gather"] - out["bag"]).abs().max())
            ratio = times["gather"] / times["bag"]
            print(f"  {threads} thread(s), n = {n}: gather {1e3 * times['gather']:.1f} ms, "
                  f"bag {1e3 * times['bag']:.1f} ms, gather / bag {ratio:.1f}, "
                  f"largest difference {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
