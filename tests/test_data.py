import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError, WeaklyPairedData, paper_split


def test_valid_data_is_copied_as_float():
    x = np.arange(12).reshape(4, 3)
    d = WeaklyPairedData(x, x[:3], [[0, 1], [2, 2]])
    assert d.x.dtype.kind == "f" and d.n_pairs == 2
    assert np.array_equal(d.x_paired, d.x[[0, 2]])
    assert np.array_equal(d.y_paired, d.y[[1, 2]])


V = np.arange(6.0).reshape(3, 2)  # three distinct rows


@pytest.mark.parametrize(
    "x, y, pairs, message",
    [
        (np.full((3, 2), np.nan), V, None, "NaN or inf"),
        (V, np.array([[1.0, np.inf]]), None, "NaN or inf"),
        (np.ones(3), V, None, "2-D"),
        (np.ones((0, 2)), V, None, "empty"),
        (V, V, [[0, 3]], "outside y"),
        (V, V, [[-1, 0]], "outside x"),
        (V, V, [[0, 1, 2]], r"shape \(m, 2\)"),
        (V, V, [[0.5, 1]], "whole row indices"),
        (V, V, [[0, 1], [0, 1]], "duplicate"),
        (np.array([["a", "b"]]), V, None, "numbers"),
        (V * 1e30, V, None, r"values up to 5e\+30.*overflow float32.*Rescale"),
        (V, np.array([[1e300, 0.0]]), None, "beyond float32"),
        (np.ones((3, 2)), V, None, "x: all 3 rows are identical"),
        (V, 7.0 + 1e-9 * V, None, "y: all 3 rows are identical"),
        (V[:1], V, None, "x: all 1 rows are identical"),
    ],
)
def test_bad_input_is_named(x, y, pairs, message):
    with pytest.raises(InputError, match=message):
        WeaklyPairedData(x, y, pairs)


def test_the_overflow_limit_scales_with_the_data_size():
    """Values that are fine for a small set overflow float32 sums for a large one."""
    rng = np.random.default_rng(0)
    big = rng.normal(size=(2000, 50)) * 3e14
    WeaklyPairedData(big[:20, :5], V)
    with pytest.raises(InputError, match="2000 rows x 50 features"):
        WeaklyPairedData(big, V)


def test_inputs_are_not_modified():
    x = np.arange(8.0).reshape(4, 2)
    before = x.copy()
    WeaklyPairedData(x, x, [[0, 0]])
    assert np.array_equal(x, before)


def test_paper_split_protocol():
    n = 1000
    x = np.arange(n, dtype=float)[:, None] * np.ones((1, 3))
    y = -np.arange(n, dtype=float)[:, None] * np.ones((1, 2))
    s = paper_split(x, y, n_pairs=50, n_test=400, seed=3)
    # test pairs are true pairs, disjoint from training rows
    assert np.array_equal(s.x_test[:, 0], -s.y_test[:, 0])
    train_ids_x, train_ids_y = set(s.train.x[:, 0]), set(-s.train.y[:, 0])
    assert not train_ids_x & set(s.x_test[:, 0]) and not train_ids_y & set(s.x_test[:, 0])
    # pairs link true partners; 10 % of the unpaired rest dropped per modality
    assert s.train.n_pairs == 50
    assert np.array_equal(s.train.x_paired[:, 0], -s.train.y_paired[:, 0])
    assert s.train.x.shape[0] == 50 + round(550 * 0.9) == s.train.y.shape[0]
    assert train_ids_x != train_ids_y  # dropped independently
    # shuffled: the paired rows are not simply the first rows
    assert not np.array_equal(s.train.pairs[:, 0], np.arange(50))


def test_paper_split_is_seeded():
    x, y = np.random.default_rng(0).normal(size=(2, 600, 3))
    a, b = paper_split(x, y, n_pairs=20, seed=7), paper_split(x, y, n_pairs=20, seed=7)
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.train.pairs, b.train.pairs)
    c = paper_split(x, y, n_pairs=20, seed=8)
    assert not np.array_equal(a.test_index, c.test_index)


def test_paper_split_rejects_impossible_budgets():
    x = np.ones((100, 2))
    with pytest.raises(InputError, match="cannot hold out"):
        paper_split(x, x, n_pairs=50, n_test=60)
    with pytest.raises(InputError, match="fully paired"):
        paper_split(x, x[:90], n_pairs=5, n_test=10)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(20, 200), m=st.integers(0, 10), seed=st.integers(0, 2**31), drop=st.floats(0, 0.5)
)
def test_paper_split_pairs_always_true_partners(n, m, seed, drop):
    x = np.arange(n, dtype=float)[:, None]
    s = paper_split(x, x * 2, n_pairs=m, n_test=10, drop_fraction=drop, seed=seed)
    assert np.array_equal(s.train.x_paired * 2, s.train.y_paired)


def test_limit_unpaired_keeps_pairs_and_caps_the_rest():
    from sue_framework.model_selection.splits import limit_unpaired

    n = 500
    x = np.arange(n, dtype=float)[:, None]
    s = paper_split(x, -x, n_pairs=30, n_test=100, seed=0)
    small = limit_unpaired(s.train, 50, seed=1)
    assert small.x.shape[0] == small.y.shape[0] == 80 and small.n_pairs == 30
    assert np.array_equal(small.x_paired, -small.y_paired)
    assert limit_unpaired(s.train, 10**6).x.shape[0] == s.train.x.shape[0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n_pairs=st.integers(0, 6))
def test_canonical_order_is_the_same_whatever_order_the_rows_came_in(seed, n_pairs):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(7, 2)).astype(np.float32)
    x[4] = x[1]  # identical rows are interchangeable
    pairs = np.stack([rng.permutation(9)[:n_pairs], rng.permutation(7)[:n_pairs]], axis=1)
    data = WeaklyPairedData(x, y, pairs)
    px, py = rng.permutation(9), rng.permutation(7)
    moved = np.stack([np.argsort(px)[pairs[:, 0]], np.argsort(py)[pairs[:, 1]]], axis=1)
    other = WeaklyPairedData(x[px], y[py], moved[rng.permutation(n_pairs)])
    a, b = data.canonical(), other.canonical()
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert np.array_equal(a.x_paired, b.x_paired) and np.array_equal(a.y_paired, b.y_paired)
    assert sorted(map(tuple, a.x.tolist())) == sorted(map(tuple, x.tolist()))  # same rows
    assert a.x.dtype == x.dtype and a.y.dtype == np.float32
