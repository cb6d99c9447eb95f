import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.datasets import digits_halves, make_two_modalities


def test_digits_halves_are_real_paired_views():
    x, y = digits_halves()
    assert x.shape == y.shape == (1797, 32)
    assert not np.array_equal(x, y)


def test_synthetic_is_seeded_and_shaped():
    a = make_two_modalities(200, dim_x=7, dim_y=5, seed=1)
    b = make_two_modalities(200, dim_x=7, dim_y=5, seed=1)
    assert a.x.shape == (200, 7) and a.y.shape == (200, 5) and a.labels.shape == (200,)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, make_two_modalities(200, dim_x=7, dim_y=5, seed=2).x)


def test_synthetic_views_share_latent_geometry_until_noise_drowns_it():
    """Neighbours in x are neighbours in y when noise is low; much less so when it is high."""

    def neighbour_agreement(d):
        def nn(a):
            dist = ((a[:, None] - a[None]) ** 2).sum(-1)
            np.fill_diagonal(dist, np.inf)
            return np.argsort(dist, 1)[:, :10]

        nx, ny = nn(d.x), nn(d.y)
        return np.mean([len(set(p) & set(q)) / 10 for p, q in zip(nx, ny, strict=True)])

    clean = neighbour_agreement(make_two_modalities(300, noise=0.05, seed=0))
    noisy = neighbour_agreement(make_two_modalities(300, noise=3.0, seed=0))
    assert clean > 0.3 and noisy < clean / 2


def test_synthetic_rejects_bad_settings():
    with pytest.raises(InputError):
        make_two_modalities(100, noise=-1)
