"""Two processes under torchrun (gloo, CPU): the sharded kNN equals the single-process one."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sue_framework.components.knn import exact_knn
from sue_framework.distributed import shard_rows

WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch.distributed as dist
    from sue_framework.distributed import shard_rows, sharded_knn

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    x = np.random.default_rng(0).normal(size=(301, 12)).astype(np.float32)
    rows = shard_rows(len(x), world, rank)
    out = {}
    for metric in ("cosine", "euclidean"):
        for excl in (False, True):
            d, i = sharded_knn(x, x[rows], rows.start, 7, metric=metric, exclude_self=excl)
            out[f"{metric}_{excl}_d"], out[f"{metric}_{excl}_i"] = d, i
    np.savez(f"{sys.argv[1]}/rank{rank}.npz", **out)
    dist.destroy_process_group()
    """
)


@pytest.mark.parametrize("n, world", [(10, 3), (7, 7), (5, 2), (3, 5)])
def test_shards_cover_the_rows_once_and_evenly(n, world):
    parts = [shard_rows(n, world, r) for r in range(world)]
    covered = np.concatenate([np.arange(n)[p] for p in parts])
    assert covered.tolist() == list(range(n))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_two_processes_find_the_same_neighbours_as_one(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", str(script), str(tmp_path)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    x = np.random.default_rng(0).normal(size=(301, 12)).astype(np.float32)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for metric in ("cosine", "euclidean"):
        for excl in (False, True):
            d, i = exact_knn(x, x, 7, metric=metric, exclude_self=excl)
            for got in ranks:  # every process holds the whole answer
                np.testing.assert_array_equal(got[f"{metric}_{excl}_i"], i)
                np.testing.assert_allclose(got[f"{metric}_{excl}_d"], d, rtol=1e-6, atol=1e-6)
