"""Spectral stage side by side: time, peak memory and accuracy against exact eigenvectors.

    python benchmarks/spectral.py [--sizes 2000,10000] [--k 10] [--device cpu]

Methods, all on the same rows and (as far as each allows) the same graph:
- eigsh: this project's exact solver (scipy ARPACK on the symmetric normalised operator);
- ours-regression: SpectralNet trained by regression onto exact eigenvectors (the default);
- ours-rayleigh: SpectralNet trained on the Rayleigh quotient over the sampled sparse graph
  (the default Rayleigh mode), Rayleigh-Ritz on that graph;
- ours-rayleigh-batch: the same with a kNN graph per batch, as the original SpectralNet,
  Rayleigh-Ritz on batch averages;
- dense-rotation: ours-rayleigh-batch followed by what the reference SUE code does after training,
  a Rayleigh-Ritz rotation with the dense n x n Laplacian of the whole training set;
- spectralnet-pkg: the `spectralnet` package from PyPI (pip install --no-deps spectralnet==1.1.0
  annoy munkres h5py). It builds its own graph per batch (local-scale Gaussian, 30 neighbours,
  scale from the 15th), which cannot be swapped, so the reference graph here is the self-tuning
  kernel with the same k and scale neighbour. Its output span includes the trivial direction, so
  it is compared with the exact leading k eigenvectors including the trivial one.

Each method runs in its own spawned process; "peak MiB" is that process's max RSS (includes the
~400 MiB of the Python + torch runtime). Accuracy: Grassmann distance (sum of sin^2 of the
principal angles) to the exact span, and the mean per-vector sin^2 after ordering where the
method orders its vectors.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import sys
import time

import numpy as np

GRAPH = {
    "name": "self_tuning_knn",
    "params": {"n_neighbors": 30, "scale_neighbor": 15, "metric": "euclidean"},
}


def data(n: int) -> np.ndarray:
    from sue_framework.datasets import make_two_modalities

    return make_two_modalities(n, dim_x=32, seed=0).x


def run(method: str, n: int, k: int, device: str, out: mp.Queue) -> None:
    import torch

    torch.set_num_threads(torch.get_num_threads())
    from sue_framework.components.spectral import ExactSpectral, SpectralNet
    from sue_framework.components.spectral.accuracy import per_vector_sin2, subspace_sin2
    from sue_framework.registry import registry

    x = data(n)
    graph = registry.get("graph", GRAPH["name"])(**GRAPH["params"], device=device)
    exact = ExactSpectral(n_components=k, graph=graph, device=device).fit(x)
    t0 = time.perf_counter()
    ordered = True
    trivial = False
    if method == "eigsh":
        z = ExactSpectral(n_components=k, graph=graph, device=device, seed=1).fit(x).embedding_
    elif method == "ours-regression":
        z = SpectralNet(n_components=k, graph=graph, device=device, epochs=100).fit_transform(x)
    elif method in ("ours-rayleigh", "ours-rayleigh-batch", "dense-rotation"):
        sn = SpectralNet(
            n_components=k,
            graph=graph,
            training="rayleigh",
            rayleigh_graph="sampled" if method == "ours-rayleigh" else "batch",
            device=device,
            epochs=600,  # about 1,000 optimiser steps at n = 2,000 (see SpectralNet's docs)
            batch_size=1024,
        ).fit(x)
        z = sn.transform(x)
        if method == "dense-rotation":
            z = dense_rotation(sn, x, graph)
    elif method == "spectralnet-pkg":
        from spectralnet import SpectralNet as Pkg

        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence its progress bars
        pkg = Pkg(
            n_clusters=k,
            spectral_hiddens=[1024, 1024, 512, k],
            spectral_epochs=30,
            spectral_n_nbg=30,
            spectral_scale_k=15,
        )
        xt = torch.as_tensor(x)
        pkg.fit(xt)
        pkg.predict(xt)
        z = pkg.embeddings_
        ordered, trivial = False, True
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - t0
    ref = exact.embedding_
    if trivial:  # compare with [constant-direction eigenvector, first k-1 non-trivial ones]
        deg = np.asarray(exact.graph_.affinity_.sum(1)).ravel()
        ref = np.column_stack([np.ones(n) / np.sqrt(deg.mean()), ref[:, : k - 1]])
    g = subspace_sin2(z, ref)
    pv = float(per_vector_sin2(z, ref).mean()) if ordered else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((method, n, seconds, peak, g, pv))


def dense_rotation(sn, x: np.ndarray, graph) -> np.ndarray:
    """The reference code's post-training step: Rayleigh-Ritz with the dense n x n Laplacian."""
    import torch

    W = graph.fit(x).affinity_.toarray()  # n x n dense: the O(n^2) step this project avoids
    d = W.sum(1)
    L = np.diag(d) - W
    with torch.no_grad():
        Y = (
            sn.net_(torch.as_tensor((x - sn.mean_) / sn.std_, dtype=torch.float32))
            .numpy()
            .astype(np.float64)
        )
    A, B = Y.T @ L @ Y, Y.T @ (Y * d[:, None])
    vals, vecs = np.linalg.eig(np.linalg.solve(B, A))
    order = np.argsort(vals.real)
    return (Y @ vecs.real[:, order])[:, 1:]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,10000")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--methods",
        default="eigsh,ours-regression,ours-rayleigh,ours-rayleigh-batch,dense-rotation,"
        "spectralnet-pkg",
    )
    args = ap.parse_args()
    import torch

    cpu = platform.processor() or "cpu"
    print(
        f"machine: {platform.node()} | {cpu} | torch {torch.__version__} | "
        f"{torch.get_num_threads()} threads | device {args.device} | k = {args.k}"
    )
    head = ("method", "n", "seconds", "peak MiB", "sum sin2", "mean sin2")
    print("{:<20} {:>7} {:>8} {:>9} {:>10} {:>10}".format(*head))
    ctx = mp.get_context("spawn")
    for n in (int(s) for s in args.sizes.split(",")):
        rows = {}
        for method in args.methods.split(","):
            q = ctx.Queue()
            p = ctx.Process(target=run, args=(method, n, args.k, args.device, q))
            p.start()
            p.join()
            if p.exitcode != 0:
                print(f"{method:<20} {n:>7} failed (exit {p.exitcode})")
                continue
            m, _, sec, peak, g, pv = q.get()
            rows[m] = sec
            print(f"{m:<20} {n:>7} {sec:>8.2f} {peak:>9.0f} {g:>10.4f} {pv:>10.4f}", flush=True)
        if "eigsh" in rows:
            ratios = ", ".join(
                f"{m} {s / rows['eigsh']:.1f}x" for m, s in rows.items() if m != "eigsh"
            )
            print(f"  time relative to eigsh at n = {n}: {ratios}")


if __name__ == "__main__":
    main()
