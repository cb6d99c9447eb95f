"""Properties of every registered method, through the public API: a fit does not depend on the
order of the rows or of the pairs; `transform` is row-wise (any row order, any batching, any
numeric dtype of the same values); a saved model transforms exactly like the fitted one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sue_framework import WeaklyPairedData, paper_split, registry
from sue_framework.io.model_files import load_method, save_method
from tests.conftest import two_view_blobs

# small settings so that every method fits in about a second; the properties do not care
FAST = {
    "ae_ablation": {
        "solver_params": {"epochs": 5, "hidden": [32]},
        "matcher_params": {"epochs": 20, "patience": 20},
    },
    "contrastive": {"epochs": 20},
    "contrastive_cv": {
        "widths": [32], "temperatures": [0.1], "weight_decays": [1e-4], "epochs": 20, "folds": 2
    },
    "domain_confusion": {"matcher_params": {"epochs": 20, "patience": 20}},
    "se_mmd": {"matcher_params": {"epochs": 20, "patience": 20}},
    "sue": {"se_dim": 6, "out_dim": 4, "matcher_params": {"epochs": 20, "patience": 20}},
    "sue_select": {"matcher_params": {"epochs": 20, "patience": 20}},
    "self_train": {"out_dim": 6},
    "semi_cca": {"out_dim": 6},
}  # fmt: skip
METHODS = registry.names("method")
FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # `split` is module-scoped: never changes


@pytest.fixture(scope="module")
def split():
    x, y, _ = two_view_blobs(400, seed=5)
    return paper_split(x, y, n_pairs=30, n_test=60, seed=0)


def _fit(name: str, data: WeaklyPairedData):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return registry.get("method", name)(device="cpu", seed=0, **FAST.get(name, {})).fit(data)


_FITTED: dict[str, object] = {}


def fitted(name: str, split) -> object:
    if name not in _FITTED:
        _FITTED[name] = _fit(name, split.train)
    return _FITTED[name]


def _shuffled(data: WeaklyPairedData, seed: int) -> WeaklyPairedData:
    """The same rows and pairs in another order (pairs remapped and listed in another order)."""
    rng = np.random.default_rng(seed)
    px, py = rng.permutation(data.x.shape[0]), rng.permutation(data.y.shape[0])
    pairs = np.stack([np.argsort(px)[data.pairs[:, 0]], np.argsort(py)[data.pairs[:, 1]]], 1)
    return WeaklyPairedData(data.x[px], data.y[py], pairs[rng.permutation(len(pairs))])


@pytest.mark.parametrize("name", METHODS)
def test_a_fit_does_not_depend_on_the_order_of_rows_or_pairs(name, split):
    model, again = fitted(name, split), _fit(name, _shuffled(split.train, seed=1))
    for side, rows in (("x", split.x_test), ("y", split.y_test)):
        a, b = model.transform(rows, side), again.transform(rows, side)
        assert np.allclose(a, b, atol=1e-5 * max(1.0, np.abs(a).max())), f"{name} on {side}"


@pytest.mark.parametrize("name", METHODS)
def test_a_saved_model_transforms_exactly_like_the_fitted_one(name, split, tmp_path):
    model = fitted(name, split)
    loaded = load_method(save_method(model, tmp_path / f"{name}.sue"))
    assert type(loaded) is type(model)
    for side, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, side), model.transform(rows, side)), side


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(METHODS),
    side=st.sampled_from("xy"),
    seed=st.integers(0, 2**16),
    cut=st.integers(1, 59),
)
def test_transform_is_row_wise(split, name, side, seed, cut):
    """Any row order and any batching of the rows give the same embedding of each row."""
    model = fitted(name, split)
    rows = split.x_test if side == "x" else split.y_test
    whole = model.transform(rows, side)
    order = np.random.default_rng(seed).permutation(len(rows))
    tol = 1e-5 * max(1.0, np.abs(whole).max())
    assert np.allclose(model.transform(rows[order], side), whole[order], atol=tol)
    parts = np.vstack([model.transform(rows[:cut], side), model.transform(rows[cut:], side)])
    assert np.allclose(parts, whole, atol=tol)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(METHODS), side=st.sampled_from("xy"), integer=st.booleans())
def test_transform_does_not_depend_on_the_input_dtype(split, name, side, integer):
    """The same values as float16, float32, float64 (and int64 when they are whole) embed alike."""
    model = fitted(name, split)
    rows = split.x_test if side == "x" else split.y_test
    values = np.round(rows) if integer else np.round(rows * 64) / 64  # exact in float16
    want = model.transform(values.astype(np.float32), side)
    tol = 1e-4 * max(1.0, np.abs(want).max())
    dtypes = [np.float16, np.float64] + ([np.int64, np.int32] if integer else [])
    for dtype in dtypes:
        got = model.transform(values.astype(dtype), side)
        assert got.dtype == want.dtype and np.allclose(got, want, atol=tol), np.dtype(dtype).name
