"""faiss engines, against the exact engine. Skipped where faiss is not installed."""

import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.components.knn import exact_knn

faiss = pytest.importorskip("faiss")


def _recall(approx, exact):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(approx, exact, strict=True)])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_faiss_flat_matches_exact_and_approximate_indexes_recall(metric):
    from sue_framework.components.knn import faiss_knn

    rng = np.random.default_rng(4)
    centres = rng.normal(size=(20, 12)) * 4
    x = (centres[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, 12))).astype(np.float32)
    d0, i0 = exact_knn(x, x, 10, metric=metric, exclude_self=True)
    d1, i1 = faiss_knn(x, x, 10, metric=metric, index="flat", exclude_self=True)
    assert _recall(i1, i0) > 0.999 and np.allclose(d1, d0, atol=1e-3)
    for index in ("ivf", "hnsw"):
        _, ia = faiss_knn(x, x, 10, metric=metric, index=index, exclude_self=True)
        assert _recall(ia, i0) > 0.9, index


def test_engine_dispatch_and_graph_parameter():
    from sue_framework import registry
    from sue_framework.components.knn import knn_search

    x = np.random.default_rng(5).normal(size=(200, 6)).astype(np.float32)
    _, i_exact = knn_search(x, x, 5, engine="exact", exclude_self=True)
    _, i_auto = knn_search(x, x, 5, engine="auto", exclude_self=True)
    assert np.array_equal(i_exact, i_auto)  # small: auto stays exact
    with pytest.raises(InputError, match="engine"):
        knn_search(x, x, 5, engine="annoy")
    g = registry.get("graph", "paper_knn")(n_neighbors=5, knn="faiss-flat", device="cpu").fit(x)
    h = registry.get("graph", "paper_knn")(n_neighbors=5, knn="exact", device="cpu").fit(x)
    assert abs(g.affinity_ - h.affinity_).max() < 1e-4
