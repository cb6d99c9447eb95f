"""The CUDA path. Skipped without a GPU; run on the GPU machine with `pytest -m gpu`."""

import numpy as np
import pytest
import torch

from sue_framework import SUE, paper_split, registry
from sue_framework.components.knn import exact_knn
from tests.conftest import two_view_blobs

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


def test_knn_on_cuda_matches_cpu():
    x = np.random.default_rng(0).normal(size=(3000, 64)).astype(np.float32)
    dc, ic = exact_knn(x, x, 10, exclude_self=True, device="cpu")
    dg, ig = exact_knn(x, x, 10, exclude_self=True, device="cuda")
    assert (ic == ig).mean() > 0.999 and np.allclose(dc, dg, atol=1e-4)


def test_sue_on_cuda_agrees_with_cpu_within_noise():
    x, y, _ = two_view_blobs(1500, seed=5)
    s = paper_split(x, y, n_pairs=50, n_test=400, seed=0)
    task = registry.get("task", "retrieval")(device="cpu")
    r = {}
    for dev in ("cpu", "cuda"):
        m = SUE(se_dim=8, out_dim=6, device=dev).fit(s.train)
        r[dev] = task.evaluate(m.transform(s.x_test, "x"), m.transform(s.y_test, "y"))
    for k in r["cpu"]:
        assert abs(r["cpu"][k] - r["cuda"][k]) <= 6.0, (k, r)
