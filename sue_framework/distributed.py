"""Work split across processes with torch.distributed (gloo on CPUs, NCCL on GPUs).

Today: the sharded exact kNN search. Each process holds every query and one shard of the
reference rows, searches its shard, and the per-shard top-k lists are merged into the global
top-k on every process. Run under ``torchrun --nproc_per_node N``; the caller initialises the
process group (``torch.distributed.init_process_group``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from sue_framework.components.knn import drop_self, exact_knn
from sue_framework.errors import InputError


def shard_rows(n: int, world: int, rank: int) -> slice:
    """The rows of `n` that process `rank` of `world` holds: contiguous, sizes differing by at
    most one."""
    if not 0 <= rank < world:
        raise InputError(f"rank must lie in [0, {world}), got {rank}")
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


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
    """
    if not dist.is_initialized():
        raise InputError(
            "sharded_knn needs torch.distributed: run under torchrun and call "
            "torch.distributed.init_process_group first (backend 'gloo' on CPUs)"
        )
    kk = k + int(exclude_self)
    n_q = int(np.asarray(queries).shape[0])
    local = min(kk, int(np.asarray(refs_shard).shape[0]))
    d = torch.full((n_q, kk), float("inf"), dtype=torch.float32)
    i = torch.full((n_q, kk), -1, dtype=torch.int64)
    if local > 0:
        ds, idx = exact_knn(queries, refs_shard, local, metric=metric, device=device)
        d[:, :local] = torch.from_numpy(ds)
        i[:, :local] = torch.from_numpy(idx) + int(offset)
    world = dist.get_world_size(group)
    ds_all = [torch.empty_like(d) for _ in range(world)]
    is_all = [torch.empty_like(i) for _ in range(world)]
    dist.all_gather(ds_all, d, group=group)
    dist.all_gather(is_all, i, group=group)
    d_cat, i_cat = torch.cat(ds_all, dim=1), torch.cat(is_all, dim=1)
    order = torch.argsort(d_cat, dim=1, stable=True)[:, :kk]
    d_top, i_top = torch.gather(d_cat, 1, order), torch.gather(i_cat, 1, order)
    if (i_top < 0).any():
        raise InputError(
            f"asked for {k} neighbours but all shards together hold fewer than {kk} references"
        )
    if exclude_self:
        d_top, i_top = drop_self(d_top, i_top, torch.arange(n_q), k)
    return d_top.numpy(), i_top.numpy()
