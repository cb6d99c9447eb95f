import numpy as np
import pytest

from sue_framework import InputError, registry
from sue_framework.components.features import ConcatSolver, IdentitySolver
from sue_framework.components.pca import PCA


def test_identity_passes_features_through():
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    s = IdentitySolver().fit(x)
    assert np.array_equal(s.embedding_, x) and np.array_equal(s.transform(x[:5]), x[:5])
    with pytest.raises(InputError, match="IdentitySolver is expecting 3 features"):
        s.transform(np.ones((2, 4)))


def test_concat_standardises_parts_side_by_side_and_round_trips(blobs):
    x = blobs[0]
    # by name through the registry, which turns the names into objects
    c = registry.build(
        "solver",
        "concat",
        {"parts": ["pca", "identity"], "parts_params": [{"whiten": False}, None]},
        {"n_components": 3},
    )
    assert all(not isinstance(p, str) for p in c.parts)
    z = c.fit_transform(x)
    assert z.shape == (len(x), 3 + x.shape[1])
    assert np.allclose(z.mean(0), 0, atol=1e-4) and np.allclose(z.std(0), 1, atol=1e-4)
    assert np.allclose(c.transform(x), z, atol=1e-5)
    # the first block is the PCA part, standardised
    pca = PCA(n_components=3, whiten=False, device="cpu").fit(x).transform(x)
    assert np.allclose(z[:, :3], (pca - pca.mean(0)) / pca.std(0), atol=1e-3)
    d = ConcatSolver(
        parts=[PCA(), IdentitySolver()], parts_params=[{"whiten": False}, None], n_components=3
    )
    d.set_state(c.get_state())
    assert np.array_equal(d.transform(x), c.transform(x))
    assert np.array_equal(d.fit_transform(x), z)  # the same parts, as objects
    with pytest.raises(InputError, match="one entry"):
        ConcatSolver(parts=[PCA()], parts_params=[None, None]).fit(x)
    with pytest.raises(InputError, match=r"parts\[0\] is the name 'pca'; components take objects"):
        ConcatSolver(parts=["pca"]).fit(x)
