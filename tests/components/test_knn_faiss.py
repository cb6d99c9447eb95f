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


def test_inner_product_indexes_flat_is_exact_and_ivf_recalls_most_neighbours():
    from sue_framework.components.knn import InnerProductIndex

    rng = np.random.default_rng(6)
    centres = rng.normal(size=(30, 16)) * 3
    refs = centres[rng.integers(0, 30, 5000)] + rng.normal(size=(5000, 16))
    refs = (refs / np.linalg.norm(refs, axis=1, keepdims=True)).astype(np.float32)
    q = refs[rng.permutation(5000)[:500]] + 0.05 * rng.normal(size=(500, 16)).astype(np.float32)
    exact = InnerProductIndex(refs, "exact").search(q, 10)[1].numpy()
    flat = InnerProductIndex(refs, "faiss-flat").search(q, 10)[1].numpy()
    assert _recall(flat, exact) > 0.999
    ivf = InnerProductIndex(refs, "faiss-ivf", seed=0)
    assert not ivf.exact and _recall(ivf.search(q, 10)[1].numpy(), exact) > 0.9
    big = InnerProductIndex(refs, "auto", expected_queries=10**6)  # 5e9 products: not a scan
    assert big.engine == "faiss-ivf"
