import numpy as np
import pytest
import scipy.sparse as sp

from sue_framework.components.graphs import PaperKNNGraph


def dense_reference(x, k):
    """App. D.5 written out densely with numpy: cosine kNN, rho/sigma kernel, (W + W^T) / 2."""
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = 1 - xn @ xn.T
    np.fill_diagonal(d, np.inf)
    W = np.zeros_like(d)
    for i in range(len(x)):
        nb = np.argsort(d[i])[:k]
        rho, sigma = d[i, nb].min(), np.median(d[i, nb])
        W[i, nb] = np.exp(-((d[i, nb] - rho) ** 2) / sigma**2)
    return (W + W.T) / 2


def test_matches_dense_reference_and_is_sparse(blobs):
    x = blobs[0][:120]
    g = PaperKNNGraph(n_neighbors=8, device="cpu").fit(x)
    assert sp.issparse(g.affinity_) and g.affinity_.nnz <= 2 * 120 * 8
    assert np.allclose(g.affinity_.toarray(), dense_reference(x.astype(np.float64), 8), atol=1e-4)
    assert abs(g.affinity_ - g.affinity_.T).max() == 0


def test_disconnected_graph_warns():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(30, 3)) + 50, rng.normal(size=(30, 3)) - 50])
    with pytest.warns(UserWarning, match="2 disconnected components"):
        g = PaperKNNGraph(n_neighbors=5, metric="euclidean", device="cpu").fit(x)
    assert g.n_components_ == 2


def test_too_many_neighbours_warns_and_clamps():
    x = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.warns(UserWarning, match="using 5 neighbours"):
        g = PaperKNNGraph(n_neighbors=50, device="cpu").fit(x)
    assert g.affinity_.shape == (6, 6)


def test_query_of_training_rows_flags_exact_matches(blobs):
    x = blobs[0][:100]
    g = PaperKNNGraph(n_neighbors=8, device="cpu").fit(x)
    idx, w, match = g.query(x[:10])
    assert np.array_equal(match, np.arange(10))
    assert idx.shape == w.shape == (10, 8) and np.all(w > 0)
    _, _, match_new = g.query(x[:10] + 0.3)
    assert np.all(match_new == -1)
