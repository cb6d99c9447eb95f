"""Two processes under torchrun (gloo, CPU) against one: the sharded kNN and every learned
stage's data-parallel training give the single-process results."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sue_framework.cli import main
from sue_framework.components.knn import exact_knn
from sue_framework.runtime.distributed import _without_option, shard_rows
from tests.conftest import needs

WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch.distributed as dist
    from sue_framework.components.knn import sharded_knn
    from sue_framework.runtime.distributed import shard_rows
    from sue_framework.errors import InputError

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    x = np.random.default_rng(0).normal(size=(301, 12)).astype(np.float32)
    rows = shard_rows(len(x), world, rank)
    out = {}
    for metric in ("cosine", "euclidean"):
        for excl in (False, True):
            d, i = sharded_knn(x, x[rows], rows.start, 7, metric=metric, exclude_self=excl)
            out[f"{metric}_{excl}_d"], out[f"{metric}_{excl}_i"] = d, i
    few = shard_rows(9, world, rank)  # shards smaller than k + 1: padded candidates
    out["few_d"], out["few_i"] = sharded_knn(x[:9], x[:9][few], few.start, 7, exclude_self=True)
    try:  # too few references: every process refuses (none is left waiting for the others)
        sharded_knn(x[:5], x[:5][shard_rows(5, world, rank)], 0, 7)
    except InputError as exc:
        out["refused"] = np.array(str(exc))
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


def _torchrun(script: str, out_dir, nproc: int = 2, timeout: int = 300) -> None:
    path = out_dir / "worker.py"
    path.write_text(script)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           str(nproc), str(path), str(out_dir)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_find_the_same_neighbours_as_one(tmp_path):
    _torchrun(WORKER, tmp_path)
    x = np.random.default_rng(0).normal(size=(301, 12)).astype(np.float32)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for metric in ("cosine", "euclidean"):
        for excl in (False, True):
            d, i = exact_knn(x, x, 7, metric=metric, exclude_self=excl)
            for got in ranks:  # every process holds the whole answer
                np.testing.assert_array_equal(got[f"{metric}_{excl}_i"], i)
                np.testing.assert_allclose(got[f"{metric}_{excl}_d"], d, rtol=1e-6, atol=1e-6)
    d, i = exact_knn(x[:9], x[:9], 7, exclude_self=True)
    for got in ranks:
        assert "hold 5 references" in str(got["refused"])
        np.testing.assert_array_equal(got["few_i"], i)
        np.testing.assert_allclose(got["few_d"], d, rtol=1e-6, atol=1e-6)


TRAIN = textwrap.dedent(
    """
    import sys
    import warnings
    import numpy as np
    from sue_baselines.autoencoder import AutoencoderSolver
    from sue_baselines.contrastive import Contrastive
    from sue_framework.components.matchers import AdversarialMatcher, MMDResNet, OTMatcher
    from sue_framework.components.spectral.spectralnet import SpectralNet
    from sue_framework.data import WeaklyPairedData
    from sue_framework.runtime.distributed import init_group, rank
    from sue_framework.methods.sue import SUE
    from sue_tasks.generation import LatentConverter

    warnings.simplefilter("ignore")
    init_group()  # False in the single-process run
    rng = np.random.default_rng(0)
    x = rng.normal(size=(301, 10)).astype(np.float32)
    y = np.tanh(x[:, :8] @ rng.normal(size=(8, 8))).astype(np.float32)
    data = WeaklyPairedData(x, y, np.stack([np.arange(60)] * 2, 1))
    t, m = x[:, :4], x[:, 4:8] + 1.0
    net = dict(hidden=(32,), epochs=3, batch_size=63, device="cpu")  # 63 rows: uneven shares
    out = {
        "spectralnet": SpectralNet(3, **net).fit(x).embedding_,
        "rayleigh": SpectralNet(3, training="rayleigh", **net).fit(x).embedding_,
        "rayleigh_batch": SpectralNet(
            3, training="rayleigh", rayleigh_graph="batch", laplacian="symmetric", **net
        ).fit(x).embedding_,
        "mmd": MMDResNet(**net).fit(t, m).transform(m),
        "ot": OTMatcher(**net).fit(t, m).transform(m),
        "wgan": AdversarialMatcher(loss="wgan-gp", **net).fit(t, m).transform(m),
        "lsgan": AdversarialMatcher(**net).fit(t, m).transform(m),
        "autoencoder": AutoencoderSolver(3, epochs=3, batch_size=63, device="cpu")
        .fit(x).embedding_,
        "contrastive": Contrastive(epochs=3, batch_size=31, device="cpu")
        .fit(data).transform(x, "x"),
        "converter": LatentConverter(**net).fit(x, y).transform(x),
        "sue": SUE(solver="spectralnet", se_dim=5, out_dim=4,
                   solver_params=dict(hidden=(32,), epochs=2),
                   matcher_params=dict(hidden=(16,), epochs=2), device="cpu")
        .fit(data).transform(y, "y"),  # fmt: skip
    }
    # a fresh seed is rank 0's on every process; then one process alone may transform
    fresh = SUE(se_dim=5, out_dim=4, matcher_params=dict(hidden=(16,), epochs=2), seed=None,
                device="cpu").fit(data)  # fmt: skip
    if rank() == 0:
        fresh.transform(y, "y")
    out["ranks_agree_on_a_fresh_seed"] = fresh.transform(y, "y")
    np.savez(f"{sys.argv[1]}/rank{rank()}.npz", **out)
    """
)


@pytest.mark.slow
@needs("sue_baselines", "sue_tasks")
def test_data_parallel_training_equals_one_process(tmp_path):
    """Every learned stage: 2 processes, each on half of every batch with gathered outputs and
    summed gradients, train the single-process model up to float sums (batches of 63 rows
    split 32/31)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "worker.py").write_text(TRAIN)
    run = subprocess.run(
        [sys.executable, str(tmp_path / "one" / "worker.py"), str(tmp_path / "one")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    _torchrun(TRAIN, tmp_path / "two")
    one = np.load(tmp_path / "one" / "rank0.npz")
    two = [np.load(tmp_path / "two" / f"rank{r}.npz") for r in range(2)]
    for name in one.files:
        np.testing.assert_array_equal(two[0][name], two[1][name])  # one model, everywhere
        if name.startswith("ranks_"):
            continue
        scale = float(np.abs(one[name]).max())
        np.testing.assert_allclose(two[0][name], one[name], rtol=0, atol=1e-4 * scale,
                                   err_msg=name)  # fmt: skip


@pytest.mark.slow
def test_sue_fit_nproc_saves_the_single_process_model(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 9)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(9, 7))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.savetxt(tmp_path / "p.csv", np.stack([np.arange(30)] * 2, 1), fmt="%d", delimiter=",")
    common = ["--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--pairs",
              str(tmp_path / "p.csv"), "--method", "sue", "--device", "cpu", "--params",
              '{"matcher_params": {"epochs": 3}}']  # fmt: skip
    assert main(["fit", *common, "--out", str(tmp_path / "one.sue")]) == 0
    assert main(["fit", *common, "--out", str(tmp_path / "two.sue"), "--nproc", "2"]) == 0
    from sue_framework.io.model_files import load_method

    one, two = (load_method(tmp_path / f) for f in ("one.sue", "two.sue"))
    np.testing.assert_allclose(two.transform(y, "y"), one.transform(y, "y"), atol=1e-4)


def test_relaunch_drops_only_the_nproc_option():
    argv = ["fit", "--nproc", "2", "--x", "a.npy", "--nproc=3", "--nprocs-like", "4"]
    assert _without_option(argv, "--nproc") == ["fit", "--x", "a.npy", "--nprocs-like", "4"]


@pytest.mark.parametrize("nproc", ["0", "-1"])
def test_nproc_below_one_is_refused(tmp_path, capsys, nproc):
    args = ["fit", "--x", "x.npy", "--y", "y.npy", "--pairs", "p.csv", "--out",
            str(tmp_path / "m.sue"), "--nproc", nproc]  # fmt: skip
    assert main(args) == 2
    assert f"--nproc {nproc}: give 1 or more processes" in capsys.readouterr().err


def test_nproc_above_the_cores_is_capped_with_a_warning(tmp_path, capsys, monkeypatch):
    from sue_framework import distributed, threads

    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 12)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.normal(size=(60, 10)).astype(np.float32))
    (tmp_path / "p.csv").write_text("\n".join(f"{i},{i}" for i in range(20)))
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    launched = []
    monkeypatch.setattr(distributed, "launch", lambda n, argv: launched.append(n) or 0)
    args = ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--pairs",
            str(tmp_path / "p.csv"), "--method", "pair_cca", "--device", "cpu", "--out",
            str(tmp_path / "m.sue"), "--nproc", "16"]  # fmt: skip
    assert main(args) == 0
    assert launched == [] and (tmp_path / "m.sue").is_file()  # one process, in this one
    assert "--nproc 16 is more than the 1 CPU core(s)" in capsys.readouterr().err
    assert main([*args, "--oversubscribe"]) == 0 and launched == [16]


@pytest.mark.slow
def test_a_stray_process_group_environment_fails_in_bounded_time(tmp_path):
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port), "SUE_DIST_TIMEOUT": "2"}  # fmt: skip
    for k in ("TORCHELASTIC_RUN_ID", "SUE_LAUNCHER_PID"):
        env.pop(k, None)
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 12)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.normal(size=(60, 10)).astype(np.float32))
    (tmp_path / "p.csv").write_text("\n".join(f"{i},{i}" for i in range(20)))
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "sue_framework", "fit", "--x", str(tmp_path / "x.npy"), "--y",
         str(tmp_path / "y.npy"), "--pairs", str(tmp_path / "p.csv"), "--method", "pair_cca",
         "--out", str(tmp_path / "m.sue")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "could not be joined within 2 s" in done.stderr and "RANK=0 WORLD_SIZE=2" in done.stderr
    assert time.monotonic() - t0 < 60 and not (tmp_path / "m.sue").exists()
