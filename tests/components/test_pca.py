import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from sue_framework import InputError
from sue_framework.components.pca import PCA


def test_matches_scikit_learn_up_to_sign():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 5.0
    ours = PCA(n_components=3, whiten=True, device="cpu").fit(x)
    ref = SkPCA(n_components=3, whiten=True).fit(x)
    a, b = ours.transform(x), ref.transform(x)
    assert np.allclose(np.abs(a), np.abs(b), atol=1e-4)
    assert np.allclose(ours.eigenvalues_, ref.explained_variance_, rtol=1e-6)
    assert np.allclose(np.std(a, axis=0, ddof=1), 1.0, atol=1e-5)


def test_bad_dimension():
    with pytest.raises(InputError, match="n_components"):
        PCA(n_components=5).fit(np.ones((10, 3)))
