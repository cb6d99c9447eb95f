"""kNN over rows sharded across the processes of a distributed run."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from sue_framework.components.knn.exact import drop_self, exact_knn
from sue_framework.errors import InputError
from sue_framework.runtime.distributed import shard_rows


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
