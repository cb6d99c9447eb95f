"""faiss indexes (Flat, IVF, HNSW) for k-nearest neighbours, on the GPU where faiss-gpu and a
GPU are present."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sue_framework.components.knn.exact import METRICS, drop_self
from sue_framework.errors import InputError


def faiss_available() -> bool:
    """Whether faiss (CPU or GPU build) can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def faiss_knn(
    queries: np.ndarray,
    refs: np.ndarray,
    k: int,
    *,
    metric: str = "cosine",
    index: str = "flat",
    exclude_self: bool = False,
    nlist: int | None = None,
    nprobe: int = 16,
    hnsw_m: int = 32,
    ef_search: int = 128,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """kNN with a faiss index ("flat", "ivf" or "hnsw"), same output as `exact_knn`.

    Cosine uses inner products of normalised rows; euclidean uses L2. IVF trains `nlist`
    centroids (default ~4 sqrt(n)) and probes `nprobe` of them; HNSW links `hnsw_m` neighbours
    per node and searches with `ef_search`. On a CUDA `device` with faiss-gpu installed, Flat
    and IVF indexes move to that GPU (faiss has no GPU HNSW); otherwise they run on CPU.

    Parameters
    ----------
    queries, refs : ndarray
        Query and reference rows.
    k : int
        Neighbours per query.
    metric : str
        "cosine" or "euclidean".
    exclude_self : bool
        Queries are the references; each row's own index is dropped.
    index : str
        "flat", "ivf" or "hnsw".
    nlist : int, optional
        IVF centroids (default about 4 sqrt(n)).
    nprobe : int
        IVF lists searched per query.
    hnsw_m : int
        HNSW links per node.
    ef_search : int
        HNSW search breadth.
    seed : int
        Seeds IVF training.
    device : torch.device or str
        Where the search runs.
    """
    if not faiss_available():
        raise InputError(
            "faiss is not installed: pip install faiss-cpu (or faiss-gpu), or use knn='exact'"
        )
    faiss = _faiss()

    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    q = np.ascontiguousarray(queries, dtype=np.float32)
    r = np.ascontiguousarray(refs, dtype=np.float32)
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
        r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-30)
    d = r.shape[1]
    ip = metric == "cosine"
    kind = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    idx: Any
    if index == "flat":
        idx = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
    elif index == "ivf":
        lists = int(nlist or max(1, min(r.shape[0] // 39, 4 * int(np.sqrt(r.shape[0])))))
        quant = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
        idx = faiss.IndexIVFFlat(quant, d, lists, kind)
        idx.cp.seed = seed
        idx.train(r)
        idx.nprobe = min(nprobe, lists)
    elif index == "hnsw":
        idx = faiss.IndexHNSWFlat(d, hnsw_m, kind)
        idx.hnsw.efSearch = max(ef_search, k + 1)
    else:
        raise InputError(f"faiss index must be 'flat', 'ivf' or 'hnsw', got {index!r}")
    idx = _maybe_on_gpu(idx, index, device)
    idx.add(r)
    kk = k + 1 if exclude_self else k
    sims, ids = idx.search(q, kk)
    dist = (1.0 - sims).clip(min=0.0) if ip else np.sqrt(np.maximum(sims, 0.0))
    if exclude_self:
        dist, ids = drop_self(dist, ids, np.arange(q.shape[0]), k)
    missing = ids < 0  # an approximate index can return fewer than k hits
    if missing.any():
        dist = np.where(missing, np.inf, dist)
    return dist.astype(np.float32), ids.astype(np.int64)


def _faiss() -> Any:
    """faiss, its OpenMP threads for the calling thread set to torch's: a fit's thread policy,
    and one thread per worker of `threads.map_fits`, hold for faiss too (the setting is per
    calling thread)."""
    import faiss

    faiss.omp_set_num_threads(torch.get_num_threads())
    return faiss


def faiss_gpu_available() -> bool:
    """Whether faiss has GPU support and a GPU is visible."""
    if not faiss_available():
        return False
    import faiss

    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def _maybe_on_gpu(idx, index: str, device):
    dev = torch.device(device)
    if dev.type != "cuda" or index == "hnsw" or not faiss_gpu_available():
        return idx
    import faiss

    res = faiss.StandardGpuResources()
    return faiss.index_cpu_to_gpu(res, dev.index or 0, idx)
