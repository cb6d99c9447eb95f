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
    x = np.vstack([rng.normal(size=(30, 3)) + 50, rng.normal(size=(20, 3)) - 50])
    with pytest.warns(
        UserWarning,
        match=r"2 disconnected components \(sizes 30, 20\).*Raise "
        r"n_neighbors \(now 5\).*fit each component",
    ):
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


def _dense_kernel_reference(x, k, weight):
    """Euclidean kNN written out densely; weight(d_row, i, d_all) gives row i's k edge weights."""
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, axis=1)[:, :k]
    knn_d = np.take_along_axis(d, nb, 1)
    W = np.zeros_like(d)
    for i in range(len(x)):
        W[i, nb[i]] = weight(knn_d, i, nb[i])
    return (W + W.T) / 2


@pytest.mark.parametrize("name", ["gaussian_knn", "laplace_knn", "self_tuning_knn"])
def test_other_kernels_match_dense_references(blobs, name):
    from sue_framework import registry

    x = blobs[0][:100].astype(np.float64)
    g = registry.get("graph", name)(n_neighbors=8, metric="euclidean", device="cpu").fit(x)
    if name == "gaussian_knn":
        sig = lambda kd: np.median(kd[:, 7])  # noqa: E731 - scale_neighbor 14 clamps to k = 8
        ref = _dense_kernel_reference(x, 8, lambda kd, i, nb: np.exp(-((kd[i] / sig(kd)) ** 2)))
    elif name == "laplace_knn":
        ref = _dense_kernel_reference(x, 8, lambda kd, i, nb: np.exp(-kd[i] / kd[i].mean()))
    else:
        ref = _dense_kernel_reference(
            x, 8, lambda kd, i, nb: np.exp(-(kd[i] ** 2) / (kd[i, 6] * kd[nb, 6]))
        )
    assert np.allclose(g.affinity_.toarray(), ref, atol=1e-4)
    idx, w, match = g.query(x[:5])
    assert np.array_equal(match, np.arange(5)) and np.all(w >= 0)


def test_duplicate_rows_warn():
    x = np.vstack([np.ones((6, 3)), np.random.default_rng(0).normal(size=(30, 3))])
    with pytest.warns(UserWarning, match="duplicates"):
        PaperKNNGraph(n_neighbors=4, metric="euclidean", device="cpu").fit(x)


@pytest.mark.parametrize("name", ["paper_knn", "gaussian_knn", "laplace_knn", "self_tuning_knn"])
def test_dense_batch_affinity_equals_the_sparse_graph(blobs, name):
    import torch

    from sue_framework import registry

    x = blobs[0][:90].astype(np.float32)
    g = registry.get("graph", name)(n_neighbors=7, device="cpu")
    W = g.dense_affinity(torch.as_tensor(x))
    assert isinstance(W, torch.Tensor) and W.shape == (90, 90)
    assert np.allclose(W.numpy(), g.fit(x).affinity_.toarray(), atol=1e-6)
