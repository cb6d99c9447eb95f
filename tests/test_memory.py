"""No code path allocates O(n^2) over the data set: the whole pipeline runs under an address-space
cap smaller than one n x n float32 matrix."""

import subprocess
import sys
import textwrap

import pytest

CAP_GIB = 3
N = 30_000  # n^2 float32 = 3.35 GiB > the cap

SCRIPT = textwrap.dedent(
    """
    import resource, sys
    cap = int(sys.argv[1]) * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import numpy as np
    from sue_framework import SUE, WeaklyPairedData, registry
    n = int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x @ rng.normal(size=(8, 6))).astype(np.float32)
    pairs = np.stack([np.arange(50), np.arange(50)], 1)
    graph = {"n_neighbors": 10, "metric": "euclidean"}
    m = SUE(se_dim=6, out_dim=4, solver_params={"graph_params": graph},
            matcher_params={"epochs": 1}, device="cpu").fit(WeaklyPairedData(x, y, pairs))
    task = registry.get("task", "retrieval")(device="cpu")
    r = task.evaluate(m.transform(x, "x"), m.transform(y, "y"))
    try:
        np.ones((n, n), dtype=np.float32)  # the cap is real: an n x n matrix cannot be had
    except MemoryError:
        print("capped-ok", r["x2y_R@10"])
    """
)


@pytest.mark.slow
def test_pipeline_runs_where_n_squared_floats_cannot_fit():
    assert N * N * 4 > CAP_GIB * 2**30
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(CAP_GIB), str(N)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "capped-ok" in out.stdout


MINING = textwrap.dedent(
    """
    import resource, sys
    cap = int(sys.argv[1]) * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import numpy as np
    from sue_framework.components.self_learning import SelfLearning
    n, engine = int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x @ np.linalg.qr(rng.normal(size=(8, 8)))[0]).astype(np.float32)
    sl = SelfLearning(n_components=4, max_iter=2, max_rows=n, knn=engine, device="cpu")
    sl.fit(x[:20], y[:20], x=x, y=y)
    assert sl.n_pseudo_ >= n, sl.n_pseudo_  # every row of both sides took part
    try:
        np.ones((n, n), dtype=np.float32)
    except MemoryError:
        print("capped-ok", sl.mining_engine_)
    """
)


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["exact", "faiss-ivf"])
def test_self_learning_mines_every_row_where_n_squared_floats_cannot_fit(engine):
    """A mining pass over 30k x 30k rows, exact (blocked) or approximate, under a cap smaller
    than one n x n float32 matrix."""
    if engine.startswith("faiss"):
        pytest.importorskip("faiss")
    assert N * N * 4 > CAP_GIB * 2**30
    out = subprocess.run(
        [sys.executable, "-c", MINING, str(CAP_GIB), str(N), engine],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"capped-ok {engine}" in out.stdout
