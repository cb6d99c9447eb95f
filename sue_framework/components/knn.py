"""k-nearest-neighbour engines: exact blocked matmul + top-k in torch (CPU or GPU), and faiss
indexes (Flat, IVF, HNSW) when faiss is installed. `knn_search` dispatches by name or "auto".

Memory is bounded by the block: a (chunk, n_ref) distance block is all that exists at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sue_framework.distributed import shard_rows
from sue_framework.engine import auto_chunk, row_chunks, to_numpy, to_tensor
from sue_framework.errors import InputError
from sue_framework.progress import bar

METRICS = ("cosine", "euclidean")
ENGINES = ("auto", "exact", "exact-fp16", "faiss-flat", "faiss-ivf", "faiss-hnsw")
# "auto" uses the exact engine up to this many query x reference distances, then faiss HNSW
AUTO_EXACT_LIMIT = 4e10


def _prepare(a: torch.Tensor, metric: str, name: str) -> torch.Tensor:
    if metric == "cosine":
        norms = a.norm(dim=1, keepdim=True)
        if bool((norms == 0).any()):
            n_zero = int((norms == 0).sum())
            raise InputError(
                f"{name} has {n_zero} all-zero row(s): cosine distance is undefined for them; "
                "drop those rows or use metric='euclidean'"
            )
        return a / norms
    return a


def exact_knn(
    queries: np.ndarray | torch.Tensor,
    refs: np.ndarray | torch.Tensor,
    k: int,
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    device: torch.device | str = "cpu",
    chunk_size: int | None = None,
    half: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (q, k) ascending and indices (q, k) of each query's k nearest references.

    With `exclude_self`, queries are the references themselves and each row's own index is
    removed (a duplicate of the row stays a neighbour at distance 0). With `half`, candidates
    come from a float16 matmul (2k of them) and are re-ranked with float32 distances; this pays
    off on GPUs only.

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
    device : torch.device or str
        Where the search runs.
    chunk_size : int, optional
        Query rows per block (default from the block budget).
    half : bool
        Find candidates in float16 and re-rank them in float32 (GPU speed, exact distances).
    """
    if metric not in METRICS:
        raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
    device = torch.device(device)
    q = _prepare(to_tensor(queries, device), metric, "queries")
    r = _prepare(to_tensor(refs, device), metric, "references")
    n_ref = r.shape[0]
    kk = k + 1 if exclude_self else k
    if kk > n_ref:
        raise InputError(
            f"asked for {k} neighbours but only {n_ref - exclude_self} candidates exist"
        )
    chunk = chunk_size or auto_chunk(n_ref, device=device)
    if half and metric == "euclidean":
        # one global scale keeps float16 scores finite; rankings do not change
        scale = torch.maximum(q.norm(dim=1).max(), r.norm(dim=1).max()).clamp(min=1e-30)
        q, r = q / scale, r / scale
    else:
        scale = None
    r_sq = (r * r).sum(1) if metric == "euclidean" else None
    r_half = r.half() if half else None
    r_sq_half = r_sq.half() if half and r_sq is not None else None
    out_d = np.empty((q.shape[0], k), dtype=np.float32)
    out_i = np.empty((q.shape[0], k), dtype=np.int64)
    blocks = list(row_chunks(q.shape[0], chunk))
    for sl in bar(blocks, desc=f"{k}-NN search", unit="block", enabled=len(blocks) > 1):
        qb = q[sl]
        if half:
            d, i = _half_candidates(qb, r, r_half, r_sq_half, kk, metric)
        else:
            d, i = _top_distances(qb, r, r_sq, kk, metric)
        if exclude_self:
            d, i = drop_self(d, i, torch.arange(sl.start, sl.stop, device=device), k)
        if metric == "euclidean":
            d = d.sqrt() if scale is None else d.sqrt() * scale
        out_d[sl] = to_numpy(d)
        out_i[sl] = to_numpy(i)
    return out_d, out_i


def _scores(qb: torch.Tensor, r: torch.Tensor, r_sq: torch.Tensor | None, metric: str):
    """One GEMM per block: cosine similarity (larger is nearer) or |r|^2 - 2 q.r (smaller is
    nearer; |q|^2 is constant along a row, so it is added after the top-k)."""
    if metric == "cosine":
        return qb @ r.T
    assert r_sq is not None, "euclidean scores need the reference rows' squared norms"
    return torch.addmm(r_sq[None, :], qb, r.T, beta=1.0, alpha=-2.0)


def _to_distances(scores: torch.Tensor, qb: torch.Tensor, metric: str) -> torch.Tensor:
    """Cosine distances, or squared euclidean ones, from `_scores` of the kept candidates."""
    if metric == "cosine":
        return (1.0 - scores).clamp_(min=0.0)
    return (scores + (qb * qb).sum(1, keepdim=True)).clamp_(min=0.0)


def _top_distances(qb, r, r_sq, kk: int, metric: str):
    s, i = torch.topk(_scores(qb, r, r_sq, metric), kk, dim=1, largest=metric == "cosine")
    return _to_distances(s, qb, metric), i


def _half_candidates(qb, r, r_half, r_sq_half, kk: int, metric: str):
    """2kk candidates by a float16 GEMM and top-k, re-ranked with exact float32 distances."""
    n_cand = min(r.shape[0], 2 * kk)
    approx = _scores(qb.half(), r_half, r_sq_half, metric)
    _, cand = torch.topk(approx, n_cand, dim=1, largest=metric == "cosine", sorted=False)
    rc = r[cand]  # (b, n_cand, d)
    if metric == "cosine":
        exact = (1.0 - (rc * qb[:, None, :]).sum(-1)).clamp_(min=0.0)
    else:
        exact = ((rc - qb[:, None, :]) ** 2).sum(-1)
    d, j = torch.topk(exact, kk, dim=1, largest=False, sorted=True)
    return d, torch.gather(cand, 1, j)


def knn_block(x: torch.Tensor, k: int, metric: str = "cosine") -> tuple[torch.Tensor, torch.Tensor]:
    """Exact kNN of an in-memory block against itself, self excluded, as tensors on x's device
    (distances ascending, float32). For batches small enough for one (b, b) score matrix.

    Parameters
    ----------
    x : Tensor
        The block's rows.
    k : int
        Neighbours per row.
    metric : str
        "cosine" or "euclidean".
    """
    x = _prepare(x, metric, "batch")
    r_sq = (x * x).sum(1) if metric == "euclidean" else None
    d, i = _top_distances(x, x, r_sq, k + 1, metric)
    d, i = drop_self(d, i, torch.arange(x.shape[0], device=x.device), k)
    return (d.sqrt() if metric == "euclidean" else d), i


def drop_self(d, i, rows, k: int):
    """Remove each row's own index from its k+1 neighbours (the farthest if self is not listed).

    Parameters
    ----------
    d, i : Tensor
        Distances and indices of k + 1 neighbours per row.
    rows : Tensor
        Each row's own index.
    k : int
        Neighbours kept.
    """
    drop = i == rows[:, None]
    drop[~drop.any(1), -1] = True  # self tied beyond the list: drop the farthest instead
    keep = ~drop
    return d[keep].reshape(-1, k), i[keep].reshape(-1, k)


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


def _first_k_sorted(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first k of each row of `s` sorted descending, ties by ascending index (a stable
    sort): what the faster paths below fall back to where ties make them unsure.

    A row's top `width` entries hold every entry tied with its k-th largest once the last of
    them is smaller than the k-th: those candidates, ordered by score and then index, start
    as the whole row would. `width` starts at 2k and doubles for the rows still unsure; a
    full sort only where it reaches the row's length (or NaN leaves the order unsure). Rows
    of duplicated embeddings tie by the hundred, and a sort of each whole row was over a third
    of a self-learning fit on the dictionary words (benchmarks/candidate_search.py)."""
    n = s.shape[1]
    out_v = torch.empty(s.shape[0], k, dtype=s.dtype, device=s.device)
    out_i = torch.empty(s.shape[0], k, dtype=torch.long, device=s.device)
    rows = torch.arange(s.shape[0], device=s.device)
    width = 2 * k
    while rows.numel():
        if width >= n:
            values, idx = torch.sort(s[rows], dim=1, descending=True, stable=True)
            out_v[rows], out_i[rows] = values[:, :k], idx[:, :k]
            break
        values, idx = torch.topk(s[rows], width, dim=1)
        done = values[:, width - 1] < values[:, k - 1]
        if done.any():
            values, idx = _ties_by_index(values[done], idx[done])
            out_v[rows[done]], out_i[rows[done]] = values[:, :k], idx[:, :k]
        rows, width = rows[~done], 2 * width
    return out_v, out_i


def top_k_rows(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of every row of `s` ((rows, k) values descending, column
    indices), exactly the first k of a stable descending sort: equal values in ascending
    column order, and of entries tied at the k-th place the lowest columns. torch.topk
    leaves both to its algorithm; a self-learning loop fed the same candidates in another
    order or set drifts apart, so this fixes them.

    Parameters
    ----------
    s : Tensor
        A (rows, columns) block of scores.
    k : int
        Entries kept per row (at most the number of columns).
    """
    if k >= s.shape[1]:
        return _first_k_sorted(s, k)
    values, idx = torch.topk(s, k + 1, dim=1)
    unsure = torch.nonzero(values[:, k - 1] == values[:, k]).ravel()  # a tie at the k-th place
    values, idx = values[:, :k], idx[:, :k]
    if unsure.numel():
        values[unsure], idx[unsure] = _first_k_sorted(s[unsure], k)
    return _ties_by_index(values, idx)


def top_k_down_columns(s: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest entries of every column of `s` as ((columns, k) values descending, their
    row indices): `top_k_rows` of the transposed block, and equal to it.

    On CPU the rows are cut into groups of c (row j belongs to group j mod (r // c)); only the
    k groups whose column maximum is largest can hold a column's top k (any other entry is
    beaten by those k maxima, or ties the k-th group maximum: such columns are taken whole),
    so the top k is taken among k c entries instead of r. One reduction over contiguous rows
    replaces the transposed copy a row-wise top-k needs: the whole two-way search
    (`top_k_both_ways`) at 4,000 x 4,000 was 1.1-1.3x faster on one thread and 1.5-1.6x on
    two in two runs (benchmarks/topk_columns.py). On a GPU, and where groups would not pay
    (fewer than about 12 k rows), `top_k_rows` of the transposed block.

    Parameters
    ----------
    s : Tensor
        A (rows, columns) block of scores.
    k : int
        Entries kept per column (at most the number of rows).
    """
    r, n = s.shape
    c = int(round((r / max(k, 1)) ** 0.5))
    if s.device.type != "cpu" or c < 4:
        return top_k_rows(s.T.contiguous(), k)
    g = r // c  # groups, c rows each; the r - g c rows left over are candidates always
    group_max = s[: g * c].view(c, g, n).amax(0).T  # group j: rows j, j + g, j + 2g, ...
    kth_max, top_groups = torch.topk(group_max, k, dim=1, sorted=False)
    kth_max = kth_max.amin(1)
    rows = (top_groups.unsqueeze(2) + g * torch.arange(c, device=s.device)).reshape(n, k * c)
    if g * c < r:
        rest = torch.arange(g * c, r, device=s.device)
        rows = torch.cat([rows, rest.expand(n, r - g * c)], 1)
    values, j = torch.topk(torch.gather(s, 0, rows.T).T, k + 1, dim=1)
    # unsure: a tie at the k-th place among the candidates, or with a group left out
    unsure = torch.nonzero(
        (values[:, k - 1] == values[:, k])
        | ((values[:, k - 1] == kth_max) & ((group_max >= kth_max[:, None]).sum(1) > k))
    ).ravel()
    values, idx = values[:, :k], torch.gather(rows, 1, j[:, :k])
    if unsure.numel():
        values[unsure], idx[unsure] = _first_k_sorted(s[:, unsure].T, k)
    return _ties_by_index(values, idx)


def score_buffer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Room for the largest block of scores `top_k_both_ways(a, b, ...)` computes, to hand it
    again and again: a search repeated with the same row counts (self-learning's, once per
    iteration) then writes each block into memory it already holds. A fresh block past glibc's
    largest heap threshold (32 MB) comes as new pages, faulted in on the product's first
    write: the two-way search at 3,600 rows a side was 1.1-1.2x faster with the buffer
    (benchmarks/candidate_search.py --compare buffer).

    Parameters
    ----------
    a, b : Tensor
        The rows `top_k_both_ways` will be given (their counts, dtype and a's device).
    """
    rows = min(a.shape[0], auto_chunk(b.shape[0], device=a.device))
    return torch.empty(rows * b.shape[0], dtype=torch.result_type(a, b), device=a.device)


def _holds(buffer: torch.Tensor, need: int, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether `buffer` can take `need` scores of a @ b^T: enough of them, a's device, their
    dtype."""
    return (
        buffer.numel() >= need
        and buffer.device == a.device
        and buffer.dtype == torch.result_type(a, b)
    )


def top_k_both_ways(
    a: torch.Tensor, b: torch.Tensor, k: int, buffer: torch.Tensor | None = None
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Exact top-k inner products of every row of `a` among the rows of `b` and of every row of
    `b` among the rows of `a`, from one pass of blocked products a_block @ b^T: each block
    gives its rows' top-k and updates a running top-k per column. ((values, indices) for a,
    then for b) as `top_k_rows` defines them (the first k of a stable descending sort, so
    tied scores in index order), on a's device.

    Parameters
    ----------
    a, b : Tensor
        Rows of each side (inner products are the scores).
    k : int
        Candidates per row, both ways.
    buffer : Tensor, optional
        `score_buffer(a, b)`, reused for the blocks of scores (the same numbers either way;
        a block it cannot hold gets fresh memory).
    """
    ka, kb = int(min(k, b.shape[0])), int(min(k, a.shape[0]))
    fv = torch.empty(a.shape[0], ka, device=a.device)
    fi = torch.empty(a.shape[0], ka, dtype=torch.long, device=a.device)
    cv: torch.Tensor | None = None
    ci: torch.Tensor | None = None
    for sl in row_chunks(a.shape[0], auto_chunk(b.shape[0], device=a.device)):
        need = (sl.stop - sl.start) * b.shape[0]
        if buffer is None or not _holds(buffer, need, a, b):
            s = a[sl] @ b.T  # no buffer, or not one for this block (a GPU's free memory grew)
        else:
            s = torch.mm(a[sl], b.T, out=buffer[:need].view(-1, b.shape[0]))
        fv[sl], fi[sl] = top_k_rows(s, ka)
        v, i = top_k_down_columns(s, min(kb, s.shape[0]))
        i = i + sl.start
        if cv is not None and ci is not None:
            # earlier blocks hold lower rows: a stable sort keeps them first among ties
            v, j = torch.sort(torch.cat([cv, v], 1), dim=1, descending=True, stable=True)
            v, i = v[:, :kb], torch.gather(torch.cat([ci, i], 1), 1, j[:, :kb])
        cv, ci = v, i
    assert cv is not None and ci is not None, "a has no rows"
    return (fv, fi), (cv.contiguous(), ci.contiguous())


def _top_per_owner(
    owner: torch.Tensor, found: torch.Tensor, scores: torch.Tensor, rows: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entries (owner row, found index, score) gathered into each of `rows` owners' k best,
    ((rows, k) scores descending, indices), padded with -inf and index 0."""
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(owner[order], stable=True)]  # by owner, each scores descending
    owner, found, scores = owner[order], found[order], scores[order]
    first = torch.searchsorted(owner, torch.arange(rows, device=owner.device))
    rank = torch.arange(owner.numel(), device=owner.device) - first[owner]
    keep = rank < k
    out_v = torch.full((rows, k), -torch.inf, device=owner.device)
    out_i = torch.zeros((rows, k), dtype=torch.long, device=owner.device)
    out_v[owner[keep], rank[keep]] = scores[keep]
    out_i[owner[keep], rank[keep]] = found[keep]
    return out_v, out_i


def _completed(
    lists: tuple[torch.Tensor, torch.Tensor], other: tuple[torch.Tensor, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """`lists` with the hits of `other` (the search the other way) that rank in them."""
    values, idx = lists
    k = values.shape[1]
    owner = other[1].reshape(-1)
    found = torch.arange(other[1].shape[0], device=owner.device)
    found = found.repeat_interleave(other[1].shape[1])
    scores = other[0].reshape(-1)
    # only new hits that could enter their owner's list (most rank below it or are in it)
    new = torch.nonzero((scores >= values[:, -1][owner]) & (scores > -torch.inf)).ravel()
    o = owner[new]
    rows_idx, rows_val = idx.index_select(0, o), values.index_select(0, o)
    listed = (rows_idx == found[new].unsqueeze(1)) & (rows_val > -torch.inf)
    new = new[~listed.any(1)]
    if not new.numel():
        return lists
    rows, owner = torch.unique(owner[new], return_inverse=True)
    extra = _top_per_owner(owner, found[new], scores[new], rows.numel(), k)
    merged, at = top_k_rows(torch.cat([values.index_select(0, rows), extra[0]], 1), k)
    merged_idx = torch.gather(torch.cat([idx.index_select(0, rows), extra[1]], 1), 1, at)
    merged, merged_idx = _ties_by_index(merged, merged_idx)
    return values.index_copy(0, rows, merged), idx.index_copy(0, rows, merged_idx)


def with_reverse_hits(
    fwd: tuple[torch.Tensor, torch.Tensor], bwd: tuple[torch.Tensor, torch.Tensor]
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Approximate candidate lists of both directions, each completed by the other's hits.

    An inner product found by either search is the same number both ways: when the search of
    b's rows among a's finds (j, i), that pair also enters a_i's list if it ranks there. Two
    approximate indexes miss different pairs, so the union finds more of the true top k at
    no search cost (faiss IVF lists on the real suite's 4,000-row pools: recall 0.74-0.98 one
    way, 0.89-0.98 completed; benchmarks/ann_mining.py). It never loses a true top-k entry
    that either list held. Lists are (scores descending, indices) with -inf padding; each
    keeps its length, and rows that gain nothing keep their list as it was.

    Parameters
    ----------
    fwd : (Tensor, Tensor)
        Each a row's candidates among b's rows: (scores, indices), (n_a, k_a).
    bwd : (Tensor, Tensor)
        Each b row's candidates among a's rows, (n_b, k_b).
    """
    return _completed(fwd, bwd), _completed(bwd, fwd)


def _ties_by_index(values: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's list (values descending) with equal values in ascending index order.

    Only rows holding a tie (or a NaN) are sorted: in any other row the values alone fix the
    order, which is the one given. Float scores rarely tie; sorting every list was up to a
    tenth of the two-way search on 3,600 rows without duplicates
    (benchmarks/candidate_search.py --compare ties --copies 1)."""
    values, idx = values.contiguous(), idx.contiguous()
    if values.shape[1] < 2:
        return values, idx
    tied = (values[:, 1:] == values[:, :-1]) | torch.isnan(values[:, 1:])
    rows = torch.nonzero(tied.any(1)).ravel()
    if not rows.numel():
        return values, idx
    some_v, some_i = values[rows], idx[rows]
    some_i, order = torch.sort(some_i, dim=1)
    some_v, order = torch.sort(torch.gather(some_v, 1, order), dim=1, descending=True, stable=True)
    values, idx = values.clone(), idx.clone()  # the caller's tensors stay as they were
    values[rows], idx[rows] = some_v, torch.gather(some_i, 1, order)
    return values, idx


def sharded_knn(
    queries: np.ndarray,
    refs_shard: np.ndarray,
    offset: int,
    k: int,
    *,
    metric: str = "cosine",
    exclude_self: bool = False,
    device: torch.device | str = "cpu",
    group: dist.ProcessGroup | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The global k nearest references of every query, on every process of `group`.

    `refs_shard` are this process's reference rows, global rows ``offset ..``; the shards of
    all processes together are the whole reference set. With `exclude_self` the queries are
    the references themselves (query i is global row i) and each query's own row is dropped,
    as `exact_knn(exclude_self=True)` does. Distances come back ascending with their global
    indices; equal to the single-process search up to the order of exactly tied neighbours.

    Each process searches every query against its shard, then sends each query's candidates
    to the process that owns the query (an all-to-all; queries are owned in contiguous
    slices), which merges them; the merged lists are all-gathered. A process so holds at most
    twice the (queries x k) answer, never N times it.

    Parameters
    ----------
    queries : ndarray
        Every query row (the same on every process).
    refs_shard : ndarray
        This process's reference rows.
    offset : int
        The global index of the shard's first row.
    k : int
        Neighbours per query.
    metric : str
        "cosine" or "euclidean".
    exclude_self : bool
        Queries are the references; each row's own index is dropped.
    device : torch.device or str
        Where the local search runs.
    group : ProcessGroup, optional
        The process group (default: the default group).
    """
    if not dist.is_initialized():
        raise InputError(
            "sharded_knn needs torch.distributed: run under torchrun and call "
            "torch.distributed.init_process_group first (backend 'gloo' on CPUs)"
        )
    world, me = dist.get_world_size(group), dist.get_rank(group)
    comm = torch.device(device) if dist.get_backend(group) == "nccl" else torch.device("cpu")
    kk = k + int(exclude_self)
    total = torch.tensor([int(np.asarray(refs_shard).shape[0])], device=comm)
    dist.all_reduce(total, group=group)  # every process must refuse, or the others would wait
    if int(total) < kk:
        raise InputError(
            f"asked for {k} neighbours but all shards together hold {int(total)} references"
        )
    n_q = int(np.asarray(queries).shape[0])
    parts = [shard_rows(n_q, world, r) for r in range(world)]
    size = parts[0].stop - parts[0].start  # the largest slice: collectives want one shape
    local = min(kk, int(np.asarray(refs_shard).shape[0]))
    d = torch.full((world * size, kk), float("inf"), dtype=torch.float32, device=comm)
    i = torch.full((world * size, kk), -1, dtype=torch.int64, device=comm)
    if local > 0:
        ds, idx = exact_knn(queries, refs_shard, local, metric=metric, device=device)
        for r, part in enumerate(parts):  # owner r's queries go to rows r * size ..
            rows = slice(r * size, r * size + part.stop - part.start)
            d[rows, :local] = torch.from_numpy(ds[part]).to(comm)
            i[rows, :local] = torch.from_numpy(idx[part]).to(comm) + int(offset)
    got_d, got_i = torch.empty_like(d), torch.empty_like(i)
    dist.all_to_all(list(got_d.split(size)), list(d.split(size)), group=group)
    dist.all_to_all(list(got_i.split(size)), list(i.split(size)), group=group)
    own = parts[me].stop - parts[me].start
    # this process's queries: every shard's candidates side by side, in shard (= index) order
    d_cat = torch.cat([b[:own] for b in got_d.split(size)], dim=1)
    i_cat = torch.cat([b[:own] for b in got_i.split(size)], dim=1)
    order = torch.argsort(d_cat, dim=1, stable=True)[:, :kk]
    d_top, i_top = torch.gather(d_cat, 1, order), torch.gather(i_cat, 1, order)
    if exclude_self:
        rows_me = torch.arange(parts[me].start, parts[me].stop, device=comm)
        d_top, i_top = drop_self(d_top, i_top, rows_me, k)
    out_d = torch.full((size, k), float("inf"), dtype=torch.float32, device=comm)
    out_i = torch.full((size, k), -1, dtype=torch.int64, device=comm)
    out_d[:own], out_i[:own] = d_top, i_top
    all_d = [torch.empty_like(out_d) for _ in range(world)]
    all_i = [torch.empty_like(out_i) for _ in range(world)]
    dist.all_gather(all_d, out_d, group=group)
    dist.all_gather(all_i, out_i, group=group)
    trim = [p.stop - p.start for p in parts]
    d_all = torch.cat([b[:m] for b, m in zip(all_d, trim, strict=True)])
    i_all = torch.cat([b[:m] for b, m in zip(all_i, trim, strict=True)])
    return d_all.cpu().numpy(), i_all.cpu().numpy()
