import numpy as np
import pytest

from sue_framework import InputError, WeaklyPairedData, paper_split, registry
from sue_framework.io import load_method, save_method
from tests.conftest import two_view_blobs


@pytest.fixture(scope="module")
def split():
    x, y, _ = two_view_blobs(500, seed=4)
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


@pytest.mark.parametrize("name, params", [("contrastive", {"epochs": 30}), ("cca_raw", {})])
def test_baseline_contract_learning_and_round_trip(split, tmp_path, name, params):
    m = registry.get("method", name)(out_dim=4, seed=0, device="cpu", **params).fit(split.train)
    zx, zy = m.transform(split.x_test, "x"), m.transform(split.y_test, "y")
    assert zx.shape == zy.shape == (100, 4)
    r = registry.get("task", "retrieval")().evaluate(zx, zy)
    assert r["x2y_R@10"] > 20  # chance is 10 %
    loaded = load_method(save_method(m, tmp_path / f"{name}.sue"))
    assert np.array_equal(loaded.transform(split.y_test, "y"), zy)


def test_contrastive_is_repeatable_and_needs_two_pairs(split):
    f = registry.get("method", "contrastive")
    a = f(epochs=10, device="cpu").fit(split.train).transform(split.x_test, "x")
    b = f(epochs=10, device="cpu").fit(split.train).transform(split.x_test, "x")
    assert np.array_equal(a, b)
    with pytest.raises(InputError, match="at least 2 pairs"):
        f(device="cpu").fit(WeaklyPairedData(split.train.x, split.train.y, split.train.pairs[:1]))
