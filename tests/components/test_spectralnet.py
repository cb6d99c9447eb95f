"""SpectralNet against exact eigenvectors on graphs small enough to solve exactly."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs, make_moons, make_swiss_roll

from sue_framework import InputError
from sue_framework.components.spectral import ExactSpectral, SpectralNet
from sue_framework.components.spectral.accuracy import per_vector_sin2, subspace_sin2
from sue_framework.components.spectral.spectralnet import orthonormalizer


def ring(n=800, seed=0):
    """Known structure: on a ring the random-walk eigenvectors are cos/sin of the angle."""
    t = np.random.default_rng(seed).uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(t), np.sin(t)], 1) + 0.01 * np.random.default_rng(seed + 1).normal(
        size=(n, 2)
    )


DATASETS = {
    "two_moons": lambda: make_moons(800, noise=0.06, random_state=0)[0],
    "swiss_roll": lambda: make_swiss_roll(800, noise=0.1, random_state=0)[0],
    "gaussian_mixture": lambda: make_blobs(
        800, centers=4, cluster_std=2.5, n_features=5, random_state=0
    )[0],
    "digits": lambda: load_digits().data[:800],
    "ring": ring,
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_regression_mode_reaches_the_accuracy_target(name):
    x = DATASETS[name]().astype(np.float32)
    graph = {"n_neighbors": 15, "metric": "euclidean", "device": "cpu"}
    exact = ExactSpectral(n_components=10, graph_params=graph).fit(x)
    sn = SpectralNet(
        n_components=10,
        hidden=(256, 256),
        graph_params=graph,
        epochs=150,
        batch_size=256,
        patience=30,
        device="cpu",
    ).fit(x)
    sin2 = per_vector_sin2(sn.transform(x), exact.embedding_)
    assert sin2.mean() <= 0.05, sin2
    assert subspace_sin2(sn.transform(x), exact.embedding_) <= 0.5
    assert np.allclose(sn.eigenvalues_, exact.eigenvalues_)


def test_ring_eigenvectors_are_harmonics():
    x = ring(600)
    exact = ExactSpectral(
        n_components=2, graph_params={"n_neighbors": 10, "metric": "euclidean", "device": "cpu"}
    ).fit(x)
    t = np.arctan2(x[:, 1], x[:, 0])
    # sampling noise in the density bends them a little; a random 2-d subspace would score ~2
    assert subspace_sin2(exact.embedding_, np.stack([np.cos(t), np.sin(t)], 1)) < 0.2


@pytest.mark.slow  # trains SpectralNet to convergence twice
@pytest.mark.parametrize("name", ["gaussian_mixture", "swiss_roll"])
def test_rayleigh_mode_on_the_sampled_graph_finds_the_exact_eigenvectors(name):
    x = DATASETS[name]().astype(np.float32)
    graph = {"n_neighbors": 15, "metric": "euclidean", "device": "cpu"}
    exact = ExactSpectral(n_components=4, graph_params=graph).fit(x)
    sn = SpectralNet(
        n_components=4,
        hidden=(128, 128),
        graph_params=graph,
        training="rayleigh",
        epochs=200,
        batch_size=256,
        device="cpu",
    ).fit(x)
    z = sn.transform(x)
    assert subspace_sin2(z, exact.embedding_) < 0.3
    assert per_vector_sin2(z, exact.embedding_).mean() < 0.1
    assert np.allclose(sn.eigenvalues_, exact.eigenvalues_, atol=0.03)


def test_rayleigh_mode_with_batch_graphs_learns_an_ordered_spectral_subspace():
    x = make_moons(600, noise=0.06, random_state=0)[0]
    graph = {"n_neighbors": 15, "metric": "euclidean", "device": "cpu"}
    exact = ExactSpectral(n_components=3, graph_params=graph).fit(x)
    sn = SpectralNet(
        n_components=3,
        hidden=(128, 128),
        graph_params=graph,
        training="rayleigh",
        rayleigh_graph="batch",
        epochs=40,
        batch_size=600,
        device="cpu",
    ).fit(x)
    z = sn.transform(x)
    assert z.shape == (600, 3) and np.all(np.isfinite(z))
    assert np.all(np.diff(sn.eigenvalues_) <= 1e-9) and np.all(sn.eigenvalues_ <= 1 + 1e-9)
    # a random 3-d subspace of R^600 is at Grassmann distance ~3.0; the learned one (of the
    # coarser per-batch graphs, so not the exact one's) measured 1.03
    assert subspace_sin2(z, exact.embedding_) < 1.2
    params = sn.get_params()
    restored = SpectralNet(**params)
    restored.set_state(sn.get_state())  # k + 1 network outputs, restored from rotation_
    assert np.array_equal(restored.transform(x), z)


@pytest.mark.parametrize("laplacian", ["symmetric", "unnormalized"])
def test_other_laplacians_train(laplacian):
    x = make_moons(300, noise=0.06, random_state=1)[0]
    sn = SpectralNet(
        n_components=2,
        hidden=(64,),
        graph_params={"n_neighbors": 10, "metric": "euclidean"},
        training="rayleigh",
        laplacian=laplacian,
        rayleigh_graph="batch" if laplacian == "symmetric" else "sampled",
        epochs=5,
        batch_size=300,
        device="cpu",
    ).fit(x)
    exact = ExactSpectral(
        n_components=2, graph_params={"n_neighbors": 10, "metric": "euclidean"}
    ).fit(x)
    # a random 2-d subspace is at Grassmann distance ~2.0 from the exact random-walk
    # eigenvectors; five epochs of either Laplacian reach 0.86 on this graph
    assert subspace_sin2(sn.transform(x), exact.embedding_) < 1.2
    if laplacian == "symmetric":
        with pytest.raises(InputError, match="rayleigh_graph"):
            SpectralNet(training="rayleigh", laplacian=laplacian, device="cpu").fit(x)


def test_orthonormalizer_survives_rank_deficient_output():
    import torch

    Y = torch.randn(100, 3)
    Y = torch.cat([Y, Y[:, :1]], dim=1)  # duplicated column: Y^T Y is singular
    R = orthonormalizer(Y)
    assert torch.all(torch.isfinite(R))
    good = torch.randn(200, 4, dtype=torch.float64)
    Z = good @ orthonormalizer(good)
    assert torch.allclose(Z.T @ Z / 200, torch.eye(4, dtype=torch.float64), atol=1e-8)


def test_state_round_trip_and_diffusion_time():
    x = make_moons(300, noise=0.06, random_state=2)[0]
    kw = dict(
        n_components=3,
        hidden=(64,),
        graph_params={"n_neighbors": 10, "metric": "euclidean"},
        epochs=5,
        device="cpu",
    )
    a = SpectralNet(**kw).fit(x)
    b = SpectralNet(**kw)
    b.set_state(a.get_state())
    assert np.array_equal(a.transform(x), b.transform(x))
    d = SpectralNet(**kw, diffusion_time=2.0).fit(x)
    assert np.allclose(d.transform(x), a.transform(x) * a.eigenvalues_**2, atol=1e-5)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"lr_schedule": "sometimes"}, "lr_schedule must be one of"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"val_fraction": 1.0}, r"val_fraction must lie in \[0, 1\)"),
    ],
)
def test_bad_settings_are_refused_before_the_exact_eigensolve(bad, message, monkeypatch):
    import sue_framework.components.spectral.exact as exact

    def never(*args, **kwargs):
        raise AssertionError("the exact solver ran before the settings were checked")

    monkeypatch.setattr(exact.ExactSpectral, "fit", never)
    x = make_moons(200, noise=0.06, random_state=0)[0]
    with pytest.raises(InputError, match=message):
        SpectralNet(n_components=2, device="cpu", **bad).fit(x)


def test_subspace_sin2_is_the_squared_chordal_distance_and_the_old_name_warns():
    from sue_framework.components.spectral import accuracy

    e = np.eye(4)
    # spans {e0, e1} and {e0, cos t e1 + sin t e2}: one principal angle t, the other 0
    t = 0.3
    b = np.stack([e[0], np.cos(t) * e[1] + np.sin(t) * e[2]], 1)
    assert subspace_sin2(e[:, :2], b) == pytest.approx(np.sin(t) ** 2)
    assert subspace_sin2(e[:, :2], e[:, 2:]) == pytest.approx(2.0)  # orthogonal spans
    with pytest.warns(DeprecationWarning, match="subspace_sin2"):
        assert accuracy.grassmann_distance(e[:, :2], b) == subspace_sin2(e[:, :2], b)
