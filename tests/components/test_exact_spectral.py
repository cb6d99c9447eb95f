import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError
from sue_framework.components.graphs import PaperKNNGraph
from sue_framework.components.spectral import ExactSpectral


def reference_eigs(W, k):
    """Independent reference: scipy's dense non-symmetric eigensolver on P = D^-1 W itself."""
    P = W / W.sum(1, keepdims=True)
    vals, vecs = scipy.linalg.eig(P)
    order = np.argsort(-vals.real)
    return vals.real[order][1 : k + 1], vecs.real[:, order][:, 1 : k + 1]


def cos_up_to_sign(a, b):
    return np.abs(np.sum(a * b, 0)) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0))


def test_matches_scipy_eigenvectors_up_to_sign(blobs):
    x = blobs[0][:200]
    s = ExactSpectral(n_components=5, graph_params={"n_neighbors": 10, "device": "cpu"}).fit(x)
    assert s.graph_.n_components_ == 1
    vals, vecs = reference_eigs(s.graph_.affinity_.toarray(), 5)
    assert np.allclose(s.eigenvalues_, vals, atol=1e-6)
    assert np.all(np.diff(s.eigenvalues_) <= 1e-12) and np.all(s.eigenvalues_ < 1)
    assert np.all(cos_up_to_sign(s.embedding_, vecs) > 0.9999)


def test_nystrom_reproduces_training_rows_and_extends_smoothly(blobs):
    x = blobs[0]
    s = ExactSpectral(n_components=4, graph_params={"n_neighbors": 15, "device": "cpu"}).fit(x)
    assert np.allclose(s.transform(x), s.embedding_, atol=1e-6)
    # a tiny perturbation moves the extension only a little, by the eigenvector equation
    noisy = s.transform(x + 1e-3 * np.random.default_rng(0).normal(size=x.shape).astype(np.float32))
    assert np.all(cos_up_to_sign(noisy, s.embedding_) > 0.99)


def test_nystrom_on_held_out_points_agrees_with_refitting(blobs):
    x = blobs[0]
    train, held = x[:250], x[250:]
    fit_all = ExactSpectral(n_components=3, graph_params={"n_neighbors": 15, "device": "cpu"}).fit(
        x
    )
    fit_train = ExactSpectral(
        n_components=3, graph_params={"n_neighbors": 15, "device": "cpu"}
    ).fit(train)
    ext = fit_train.transform(held)
    assert np.all(cos_up_to_sign(ext, fit_all.embedding_[250:]) > 0.9)


def test_repeatable_with_seed(blobs):
    a = ExactSpectral(n_components=4, graph_params={"device": "cpu"}).fit(blobs[0]).embedding_
    b = ExactSpectral(n_components=4, graph_params={"device": "cpu"}).fit(blobs[0]).embedding_
    assert np.array_equal(a, b)


def test_accepts_a_graph_instance_without_mutating_it(blobs):
    g = PaperKNNGraph(n_neighbors=7, device="cpu")
    s = ExactSpectral(n_components=3, graph=g).fit(blobs[0])
    assert not hasattr(g, "affinity_") and s.graph_.n_neighbors == 7


def test_too_few_rows():
    with pytest.raises(InputError, match="at least 12 rows"):
        ExactSpectral(n_components=10, graph_params={"device": "cpu"}).fit(
            np.random.default_rng(0).normal(size=(11, 3))
        )


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_embedding_invariant_to_row_order(seed):
    from tests.conftest import two_view_blobs

    x = two_view_blobs(120, seed=seed % 7)[0]
    perm = np.random.default_rng(seed).permutation(len(x))
    a = ExactSpectral(n_components=3, graph_params={"n_neighbors": 10, "device": "cpu"}).fit(x)
    b = ExactSpectral(n_components=3, graph_params={"n_neighbors": 10, "device": "cpu"}).fit(
        x[perm]
    )
    gap = np.min(np.abs(np.diff(np.r_[1.0, a.eigenvalues_])))
    if gap > 1e-3:  # eigenvectors of well-separated eigenvalues are unique up to sign
        assert np.all(cos_up_to_sign(a.embedding_[perm], b.embedding_) > 0.999)
    assert np.allclose(a.eigenvalues_, b.eigenvalues_, atol=1e-6)


def test_lobpcg_matches_arpack(blobs):
    x = blobs[0]
    g = {"n_neighbors": 15, "device": "cpu"}
    a = ExactSpectral(n_components=4, graph_params=g).fit(x)
    b = ExactSpectral(n_components=4, graph_params=g, eigensolver="lobpcg").fit(x)
    assert np.allclose(a.eigenvalues_, b.eigenvalues_, atol=1e-8)
    assert np.all(cos_up_to_sign(a.embedding_, b.embedding_) > 0.9999)
    with pytest.raises(InputError, match="eigensolver"):
        ExactSpectral(n_components=2, graph_params=g, eigensolver="magic").fit(x)


def test_auto_eigensolver_is_arpack_on_cpu_and_cupy_needs_a_gpu(blobs, monkeypatch):
    from sue_framework.components.spectral import exact

    assert exact.pick_eigensolver("auto", "cpu") == "arpack"
    assert exact.pick_eigensolver("lobpcg", "cpu") == "lobpcg"
    monkeypatch.setattr(exact, "cupy_available", lambda: False)
    g = {"n_neighbors": 15, "device": "cpu"}
    with pytest.raises(InputError, match="CuPy"):
        ExactSpectral(n_components=2, graph_params=g, eigensolver="cupy").fit(blobs[0])


def test_auto_solver_is_exact_when_it_fits_and_parametric_beyond(blobs):
    from sue_framework.components.spectral import AutoSpectral

    x = blobs[0]
    g = {"n_neighbors": 15, "device": "cpu"}
    exact = ExactSpectral(n_components=3, graph_params=g).fit(x)
    small = AutoSpectral(n_components=3, graph_params=g, device="cpu").fit(x)
    assert bool(small.exact_) and np.array_equal(small.embedding_, exact.embedding_)
    big = AutoSpectral(
        n_components=3,
        graph_params=g,
        max_exact=200,
        device="cpu",
        spectralnet_params={"hidden": [64], "epochs": 60},
    ).fit(x)
    assert not bool(big.exact_) and big.transform(x).shape == (300, 3)
    restored = AutoSpectral(**big.get_params())
    restored.set_state(big.get_state())
    assert np.array_equal(restored.transform(x), big.transform(x))
