"""Choosing a search engine: `knn_search` by name or "auto", and `InnerProductIndex`, built
once and searched many times."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sue_framework.components.knn.exact import exact_knn
from sue_framework.components.knn.faiss_index import (
    _faiss,
    _maybe_on_gpu,
    faiss_available,
    faiss_knn,
)
from sue_framework.errors import InputError
from sue_framework.runtime.engine import auto_chunk, row_chunks, to_tensor

ENGINES = ("auto", "exact", "exact-fp16", "faiss-flat", "faiss-ivf", "faiss-hnsw")


# "auto" uses the exact engine up to this many query x reference distances, then faiss HNSW
AUTO_EXACT_LIMIT = 4e10


def knn_search(
    queries: np.ndarray,
    refs: np.ndarray,
    k: int,
    *,
    engine: str = "auto",
    metric: str = "cosine",
    exclude_self: bool = False,
    device: torch.device | str = "cpu",
    half: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to an engine by name ("exact-fp16" is `exact_knn(half=True)`).

    "auto": on a GPU, the float16-candidate exact engine (re-ranked in float32, so distances
    are exact; recall 1.0 at 10^6 x 768 in benchmarks/scale.py); on CPU, the float32 exact
    engine while q x n_ref <= AUTO_EXACT_LIMIT, then faiss HNSW when faiss is installed.

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
    engine : str
        "auto", "exact", "exact-fp16", "faiss-flat", "faiss-ivf" or "faiss-hnsw".
    device : torch.device or str
        Where the search runs.
    half : bool
        With "exact": float16 candidates re-ranked in float32.
    """
    if engine not in ENGINES:
        raise InputError(f"knn engine must be one of {ENGINES}, got {engine!r}")
    if engine == "auto":
        big = float(len(queries)) * float(len(refs)) > AUTO_EXACT_LIMIT
        if torch.device(device).type == "cuda":
            engine = "exact-fp16"
        else:
            engine = "faiss-hnsw" if big and faiss_available() else "exact"
    if engine in ("exact", "exact-fp16"):
        half = half or engine == "exact-fp16"
        return exact_knn(
            queries, refs, k, metric=metric, exclude_self=exclude_self, device=device, half=half
        )
    return faiss_knn(
        queries,
        refs,
        k,
        metric=metric,
        index=engine.split("-", 1)[1],
        exclude_self=exclude_self,
        device=device,
    )


INDEX_ENGINES = ("auto", "exact", "faiss-flat", "faiss-ivf", "faiss-hnsw")


# "auto" scans exactly while queries x references stay under this, else faiss IVF
AUTO_INDEX_EXACT_LIMIT = 2.5e7


class InnerProductIndex:
    """Top-k inner products of query rows against fixed reference rows: built once, searched
    many times (self-learning searches the same rows with rotated queries at every iteration).

    Engines: "exact" (blocked GEMM and top-k in torch, memory O(block x n)), "faiss-flat"
    (exact too), "faiss-ivf" (k-means cells, `nprobe` of them scanned; approximate),
    "faiss-hnsw" (a neighbour graph; approximate) and "auto": exact while `expected_queries`
    x references is at most `AUTO_INDEX_EXACT_LIMIT`, else IVF when faiss is installed. With
    unit-length rows the scores are cosine similarities.

    Parameters
    ----------
    refs : ndarray
        The fixed reference rows.
    engine : str
        "auto", "exact", "ivf" or "hnsw".
    expected_queries : int, optional
        Query rows expected, for the "auto" choice.
    nlist : int, optional
        IVF centroids.
    nprobe : int
        IVF lists searched per query.
    hnsw_m : int
        HNSW links per node.
    ef_search : int
        HNSW search breadth.
    seed : int
        Seeds index training.
    device : torch.device or str
        Where the search runs.
    """

    def __init__(
        self,
        refs: np.ndarray,
        engine: str = "auto",
        *,
        expected_queries: int | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 96,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        if engine not in INDEX_ENGINES:
            raise InputError(f"index engine must be one of {INDEX_ENGINES}, got {engine!r}")
        self.refs = np.ascontiguousarray(refs, dtype=np.float32)
        n = self.refs.shape[0]
        if n == 0:
            raise InputError("cannot index zero reference rows")
        if engine == "auto":
            work = float(expected_queries or n) * float(n)
            engine = "faiss-ivf" if work > AUTO_INDEX_EXACT_LIMIT and faiss_available() else "exact"
        self.engine = engine
        self.device = torch.device(device)
        self.nprobe = nprobe
        self.ef_search = ef_search
        if engine == "exact":
            self._refs_t = to_tensor(self.refs, self.device)
            return
        if not faiss_available():
            raise InputError(
                f"engine {engine!r} needs faiss: pip install faiss-cpu (or faiss-gpu), or use "
                "engine='exact'"
            )
        faiss = _faiss()
        d = self.refs.shape[1]
        if engine == "faiss-flat":
            index: Any = faiss.IndexFlatIP(d)
        elif engine == "faiss-ivf":
            lists = int(nlist or max(1, min(n // 39, 4 * int(np.sqrt(n)))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, lists, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(self.refs)
            index.nprobe = min(nprobe, lists)
        else:
            index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index = _maybe_on_gpu(index, engine.split("-", 1)[1], self.device)
        index.add(self.refs)
        self._index = index

    @property
    def exact(self) -> bool:
        """Whether searches return the true top-k (up to float rounding)."""
        return self.engine in ("exact", "faiss-flat")

    def search(
        self, queries: np.ndarray | torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores, indices), each (q, k) on the CPU, scores descending. An approximate engine
        that finds fewer than k hits pads with score -inf and index 0."""
        k = int(min(k, self.refs.shape[0]))
        if self.engine == "exact":
            q = to_tensor(queries, self.device)
            vals = torch.empty(q.shape[0], k)
            idx = torch.empty(q.shape[0], k, dtype=torch.long)
            for sl in row_chunks(q.shape[0], auto_chunk(self.refs.shape[0], device=self.device)):
                v, i = torch.topk(q[sl] @ self._refs_t.T, k, dim=1)
                vals[sl], idx[sl] = v.cpu(), i.cpu()
            return vals, idx
        qa = np.ascontiguousarray(
            queries.detach().cpu().numpy() if isinstance(queries, torch.Tensor) else queries,
            dtype=np.float32,
        )
        if self.engine == "faiss-hnsw":
            self._index.hnsw.efSearch = max(self.ef_search, k)
        _faiss()  # this thread's OpenMP threads, as the fit's policy says
        sims, ids = self._index.search(qa, k)
        missing = ids < 0
        if missing.any():
            sims = np.where(missing, -np.inf, sims)
            ids = np.where(missing, 0, ids)
        return (
            torch.from_numpy(sims.astype(np.float32, copy=False)),
            torch.from_numpy(ids.astype(np.int64, copy=False)),
        )
