"""The spectral stage at scale: kNN graph, exact route, regression map, SpectralNet epochs.

    python benchmarks/scale.py --device cuda --sizes 100000,1000000
    python benchmarks/scale.py --device cpu --sizes 10000,100000 --hidden 512,512,256

For each n, on structured d-dimensional data (a 16-d Gaussian mixture pushed through a random
tanh layer into `--dim` dimensions, plus noise), one run measures:

- kNN (k neighbours, cosine, self excluded): the exact float32 engine, the float16-candidate
  engine re-ranked in float32 (recall@k against float32), and faiss IVF on the CPU when
  installed and n is at most `--faiss-max`;
- the graph (paper kernel, sparse, symmetrised) from those neighbours, assembled on the device;
- the exact eigenvectors (k_eig non-trivial) by each available eigensolver, with the largest
  residual |S u - lambda u| on the symmetric operator;
- the whole exact route as a user calls it (`ExactSpectral(...).fit(x)`: kNN engine "auto",
  graph, eigensolver "auto"), with its Grassmann distance to the first solver's eigenvectors;
- the parametric map by regression onto those eigenvectors, fit on all n rows: time and
  accuracy (mean per-vector sin^2, and Grassmann distance / k as the mean subspace sin^2);
- SpectralNet's Rayleigh training: seconds per epoch with the given MLP and batch size;
- peak device memory per stage (torch's allocator, plus CuPy's pool for its Lanczos).

Figures are for the machine printed first. Each stage is timed once, after a small warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from sue_framework.components.graphs import PaperKNNGraph
from sue_framework.components.knn import exact_knn, faiss_available, faiss_knn
from sue_framework.components.spectral import ExactSpectral, SpectralNet
from sue_framework.components.spectral.accuracy import per_vector_sin2, subspace_sin2
from sue_framework.components.spectral.exact import cupy_available, random_walk_eigs


def data(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Rows of a 16-d, 40-component mixture mapped non-linearly into `dim` dimensions."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(40, 16, generator=g) * 1.5
    lift = torch.randn(16, 64, generator=g) / 4
    out = torch.randn(64, dim, generator=g) / 8
    rows = []
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        z = centres[torch.randint(0, 40, (m,), generator=g)] + torch.randn(m, 16, generator=g)
        rows.append(torch.tanh(z @ lift) @ out + 0.02 * torch.randn(m, dim, generator=g))
    return torch.cat(rows).numpy()


class Stage:
    """Wall time and peak device memory of one block of work."""

    def __init__(self, device: str) -> None:
        self.cuda = torch.device(device).type == "cuda"

    def __enter__(self) -> Stage:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.t0
        self.peak_gib = torch.cuda.max_memory_allocated() / 2**30 if self.cuda else float("nan")


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    a, e = np.sort(approx, 1), np.sort(exact, 1)
    hits = sum(np.intersect1d(r, s, assume_unique=True).size for r, s in zip(a, e, strict=True))
    return hits / exact.size


def residual(S: sp.csr_matrix, vals: np.ndarray, vecs_rw: np.ndarray, deg: np.ndarray) -> float:
    """Largest |S u - lambda u| / |u| over pairs, u = D^1/2 v the symmetric operator's vector."""
    u = vecs_rw * np.sqrt(deg)[:, None]
    u /= np.linalg.norm(u, axis=0, keepdims=True)
    return float(np.max(np.linalg.norm(S @ u - u * vals[None, :], axis=0)))


def run(n: int, args, report: dict) -> None:
    dev = args.device
    res: dict = {"n": n}
    report["runs"].append(res)

    def show(name: str, **fig) -> None:
        res[name] = fig
        print(
            f"  {name:<24}"
            + "  ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fig.items()
            ),
            flush=True,
        )

    x = data(n, args.dim)
    print(f"n={n} d={args.dim} k={args.k}", flush=True)
    if args.only_rayleigh:
        rayleigh_stage(x, args, dev, show)
        return
    exact_knn(x[:2048], x[:2048], args.k, exclude_self=True, device=dev, half=dev != "cpu")

    d32 = i32 = None
    if not (args.no_fp32 and dev != "cpu"):
        with Stage(dev) as st:
            d32, i32 = exact_knn(x, x, args.k, exclude_self=True, device=dev)
        show("knn exact fp32", seconds=st.seconds, peak_gib=st.peak_gib)
    # float16 GEMMs pay off only on GPUs; on CPU the graph uses the float32 neighbours
    engine, dist, idx = ("exact-fp16", None, None) if dev != "cpu" else ("exact", d32, i32)
    if dev != "cpu":
        with Stage(dev) as st:
            dist, idx = exact_knn(x, x, args.k, exclude_self=True, device=dev, half=True)
        show(
            "knn exact fp16+rerank",
            seconds=st.seconds,
            peak_gib=st.peak_gib,
            recall=float("nan") if i32 is None else recall(idx, i32),
        )
    if faiss_available() and n <= args.faiss_max and i32 is not None:
        with Stage(dev) as st:
            _, iivf = faiss_knn(x, x, args.k, index="ivf", exclude_self=True)
        show("knn faiss-ivf (cpu)", seconds=st.seconds, recall=recall(iivf, i32))

    graph = PaperKNNGraph(n_neighbors=args.k, knn=engine, device=dev)
    with Stage(dev) as st, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph.fit_neighbors(x, dist, idx)
    W = graph.affinity_
    show(
        "graph build",
        seconds=st.seconds,
        nnz=int(W.nnz),
        components=int(graph.n_components_),
    )

    deg = np.asarray(W.sum(1)).ravel()
    S = (sp.diags(1 / np.sqrt(deg)) @ W @ sp.diags(1 / np.sqrt(deg))).tocsr()
    solvers = ["cupy"] if dev != "cpu" and cupy_available() else []
    if dev != "cpu" and n <= args.lobpcg_max:
        solvers.append("lobpcg")
    if dev == "cpu" or n <= args.arpack_max:
        solvers.append("arpack")
    reference = None
    for name in solvers:
        if name == "cupy":  # warm CuPy's kernels and pool outside the timed block
            random_walk_eigs(W[:5000, :5000] + sp.eye(5000), 3, eigensolver="cupy", device=dev)
        with Stage(dev) as st:
            vals, vecs = random_walk_eigs(W, args.k_eig, eigensolver=name, device=dev, tol=1e-8)
        pool = 0.0
        if name == "cupy":
            import cupy

            pool = cupy.get_default_memory_pool().total_bytes() / 2**30
        fig = {
            "seconds": st.seconds,
            "residual": residual(S, vals, vecs, deg),
            "peak_gib": st.peak_gib + pool,
        }
        if reference is None:
            reference = vecs[:, 1:]
        else:
            fig["grassmann_vs_first"] = subspace_sin2(vecs[:, 1:], reference)
        show(f"eigs {name}", **fig)
    del S

    route = ExactSpectral(
        n_components=args.k_eig, graph_params={"n_neighbors": args.k, "device": dev}, device=dev
    )
    with Stage(dev) as st, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        route.fit(x)
    show(
        "exact route (knn auto)",
        seconds=st.seconds,
        peak_gib=st.peak_gib,
        grassmann_vs_first=subspace_sin2(route.embedding_, reference),
    )
    del route

    hidden = tuple(int(h) for h in args.hidden.split(","))
    sn = SpectralNet(
        n_components=args.k_eig,
        hidden=hidden,
        graph_params={"n_neighbors": args.k, "knn": engine, "device": dev},
        epochs=args.regression_epochs,
        batch_size=args.batch,
        lr=1e-3,
        max_exact=n,
        patience=None,
        device=dev,
        seed=0,
    )
    with Stage(dev) as st, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sn.fit(x)
    z = sn.embedding_
    train_s = float(np.sum(sn.epoch_seconds_))
    show(
        "regression map",
        seconds=st.seconds,
        train_seconds=train_s,
        epochs=len(sn.epoch_seconds_),
        peak_gib=st.peak_gib,
        mean_sin2=float(per_vector_sin2(z, reference).mean()),
        subspace_sin2=subspace_sin2(z, reference) / args.k_eig,
    )
    del sn, z

    rayleigh_stage(x, args, dev, show)


def rayleigh_stage(x: np.ndarray, args, dev: str, show) -> None:
    """Seconds per epoch of Rayleigh-quotient SpectralNet, for each `--rayleigh-graphs` mode."""
    for mode in args.rayleigh_graphs.split(","):
        ray = SpectralNet(
            n_components=args.k_eig,
            hidden=tuple(int(h) for h in args.rayleigh_hidden.split(",")),
            graph_params={"n_neighbors": min(args.k, 30), "device": dev},
            training="rayleigh",
            rayleigh_graph=mode,
            epochs=args.rayleigh_epochs,
            batch_size=args.batch,
            lr=1e-4,
            patience=None,
            device=dev,
            seed=0,
        )
        with Stage(dev) as st, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.fit(x)
        per_epoch = float(np.median(ray.epoch_seconds_))
        show(
            f"rayleigh ({mode})",
            seconds_per_epoch=per_epoch,
            epochs_timed=len(ray.epoch_seconds_),
            fit_seconds=st.seconds,
            peak_gib=st.peak_gib,
            projected_100_epochs_s=100 * per_epoch,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--k-eig", type=int, default=10)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--hidden", default="1024,1024,512", help="regression MLP widths")
    p.add_argument("--rayleigh-hidden", default="4096,4096,1024", help="the paper's MLP")
    p.add_argument("--regression-epochs", type=int, default=10)
    p.add_argument("--rayleigh-epochs", type=int, default=2)
    p.add_argument("--rayleigh-graphs", default="sampled,batch", help="modes to time")
    p.add_argument("--only-rayleigh", action="store_true", help="skip the other stages")
    p.add_argument("--arpack-max", type=int, default=200_000)
    p.add_argument("--lobpcg-max", type=int, default=200_000)
    p.add_argument("--faiss-max", type=int, default=200_000)
    p.add_argument("--no-fp32", action="store_true", help="GPU: skip the float32 kNN (recall)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args()
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    print(
        f"machine: {name or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads",
        flush=True,
    )
    report = {"machine": name, "args": vars(args), "runs": []}
    for n in (int(s) for s in args.sizes.split(",")):
        run(n, args, report)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
