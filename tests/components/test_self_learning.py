import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError
from sue_framework.components.self_learning import (
    SelfLearning,
    hard_dictionary,
    polar,
    soft_cross,
)
from sue_framework.components.semi_cca import SemiCCA


def _clustered_rotation(n=900, d=16, clusters=30, noise=0.4, seed=1):
    """x with cluster structure and y an orthogonal map of it, plus noise: both sides share
    their neighbourhoods, so the unpaired rows determine the map once a few pairs anchor it."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) * 2
    x = centres[rng.integers(0, clusters, n)] + 0.5 * rng.normal(size=(n, d))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return x.astype(np.float32), (x @ q + noise * rng.normal(size=(n, d))).astype(np.float32)


def _r10(model, x, y) -> float:
    """Share of x rows whose partner is among their 10 most cosine-similar y rows."""
    zx, zy = model.transform(x, "x"), model.transform(y, "y")
    zx /= np.linalg.norm(zx, axis=1, keepdims=True)
    zy /= np.linalg.norm(zy, axis=1, keepdims=True)
    s = zx @ zy.T
    return float(np.mean((s > s[np.arange(len(x)), np.arange(len(x))][:, None]).sum(1) < 10))


def _lists(s: np.ndarray, k: int):
    """Top-k candidate lists of a similarity matrix, both ways (at most every row), by brute
    force."""
    t = torch.from_numpy(s)
    fv, fi = t.topk(min(k, s.shape[1]), dim=1)
    bv, bi = t.T.topk(min(k, s.shape[0]), dim=1)
    return (fv, fi), (bv, bi)


@given(st.integers(1, 6), st.integers(4, 9), st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_polar_keeps_only_what_the_pairs_determine(m, d, seed):
    """m < d pairs: the map is a partial isometry of rank m (W W^T a projection), and it does
    not depend on the order the pairs come in."""
    rng = np.random.default_rng(seed)
    a, b = torch.randn(m, d, dtype=torch.float64), torch.randn(m, d, dtype=torch.float64)
    w = polar(a.T @ b).double()
    p = w @ w.T
    torch.testing.assert_close(p @ p, p, atol=1e-5, rtol=0)
    assert round(float(torch.trace(p))) == min(m, d)
    perm = torch.from_numpy(rng.permutation(m))
    torch.testing.assert_close(polar(a[perm].T @ b[perm]).double(), w, atol=1e-5, rtol=0)


def test_hard_dictionary_takes_each_rows_best_csls_partner():
    rng = np.random.default_rng(3)
    s = rng.uniform(-1, 1, size=(9, 7)).astype(np.float32)
    k, csls_k = 9, 3  # every row listed: the result is the exact CSLS argmax
    rx = np.sort(s, 1)[:, -csls_k:].mean(1)
    ry = np.sort(s, 0)[-csls_k:, :].mean(0)
    c = 2 * s - rx[:, None] - ry[None, :]
    dx, dy, obj = hard_dictionary(*_lists(s, k), csls_k)
    want = {(i, int(c[i].argmax())) for i in range(9)} | {
        (int(c[:, j].argmax()), j) for j in range(7)
    }
    assert set(zip(dx.tolist(), dy.tolist(), strict=True)) == want
    assert obj == pytest.approx(0.5 * (s.max(1).mean() + s.max(0).mean()), rel=1e-5)


def test_dropping_every_candidate_leaves_an_empty_dictionary_and_keep_one_drops_none():
    s = np.random.default_rng(0).uniform(size=(5, 4)).astype(np.float32)
    gen = torch.Generator().manual_seed(0)
    dx, _, _ = hard_dictionary(*_lists(s, 4), 2, keep=1e-9, generator=gen)
    assert dx.size == 0
    dx, _, _ = hard_dictionary(*_lists(s, 4), 2, keep=1.0, generator=gen)
    assert dx.size == 9


def test_soft_dictionary_tends_to_the_hard_one_as_the_temperature_falls():
    gen = torch.Generator().manual_seed(5)
    px = torch.nn.functional.normalize(torch.randn(8, 3, generator=gen), dim=1)
    py = torch.nn.functional.normalize(torch.randn(6, 3, generator=gen), dim=1)
    s = (px @ py.T).numpy()
    fwd, bwd = _lists(s, 8)  # every row a candidate
    dx, dy, _ = hard_dictionary(fwd, bwd, 2)
    hard = px[dx].T @ py[dy]
    cold, _ = soft_cross(fwd, bwd, px, py, 2, 1e-4)
    warm, _ = soft_cross(fwd, bwd, px, py, 2, 1e6)
    torch.testing.assert_close(cold, hard, atol=1e-4, rtol=0)
    # very warm: every candidate weighs the same, each row's target is the mean of all rows
    want = px.T @ py.mean(0).expand(8, 3) + px.mean(0).expand(6, 3).T @ py
    torch.testing.assert_close(warm, want, atol=1e-4, rtol=0)


def test_soft_cross_product_is_the_csls_weighted_sum_over_every_candidate():
    rng = np.random.default_rng(3)
    px = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(7, 4))).float(), dim=1)
    py = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(6, 4))).float(), dim=1)
    s = (px @ py.T).numpy()
    fwd, bwd = _lists(s, 3)
    csls_k, temperature = 2, 0.05
    fv, fi, bv, bi = (t.numpy().astype(np.float64) for t in (*fwd, *bwd))
    fi, bi = fi.astype(int), bi.astype(int)
    rx, ry = np.sort(fv, 1)[:, -csls_k:].mean(1), np.sort(bv, 1)[:, -csls_k:].mean(1)
    a, b = px.double().numpy(), py.double().numpy()
    want = np.zeros((4, 4))
    for vals, idx, r_other, rows, others in ((fv, fi, ry, a, b), (bv, bi, rx, b, a)):
        for i in range(len(rows)):
            w = np.exp((2 * vals[i] - r_other[idx[i]]) / temperature)
            w /= w.sum()
            for weight, j in zip(w, idx[i], strict=True):
                outer = np.outer(rows[i], others[j])
                want += weight * (outer if rows is a else outer.T)
    got, _ = soft_cross(fwd, bwd, px, py, csls_k, temperature)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


def test_four_pairs_and_the_unpaired_rows_recover_a_rotation_that_pairs_alone_cannot():
    x, y = _clustered_rotation()
    kw = {"n_components": 16, "base_params": {"reg": 0.5}, "device": "cpu"}
    alone = SelfLearning(max_iter=0, **kw).fit(x[:4], y[:4], x=x, y=y)
    learned = SelfLearning(**kw).fit(x[:4], y[:4], x=x, y=y)
    assert _r10(alone, x, y) < 0.5 and _r10(learned, x, y) > 0.95
    assert learned.n_iter_ > 1 and learned.n_pseudo_ >= len(x)
    assert learned.mining_engine_ == "exact"


def test_zero_iterations_is_the_base_aligner_on_the_pairs():
    x, y = _clustered_rotation(n=300)
    base = SemiCCA(n_components=6, reg=0.5, device="cpu").fit(x[:10], y[:10], x=x, y=y)
    sl = SelfLearning(n_components=6, base_params={"reg": 0.5}, max_iter=0, device="cpu")
    sl.fit(x[:10], y[:10], x=x, y=y)
    for mod, rows in (("x", x), ("y", y)):
        assert np.array_equal(sl.transform(rows, mod), base.transform(rows, mod))


def test_a_fit_repeats_and_does_not_depend_on_the_order_of_the_rows():
    x, y = _clustered_rotation(n=500)
    kw = {"n_components": 8, "device": "cpu"}
    first = SelfLearning(**kw).fit(x[:6], y[:6], x=x, y=y)
    again = SelfLearning(**kw).fit(x[:6], y[:6], x=x, y=y)
    assert np.array_equal(first.transform(x, "x"), again.transform(x, "x"))
    perm = np.random.default_rng(1).permutation(len(x))
    shuffled = SelfLearning(**kw).fit(x[:6], y[:6], x=x[perm], y=y[perm[::-1]])
    np.testing.assert_allclose(shuffled.transform(x, "x"), first.transform(x, "x"), atol=1e-3)


def test_an_exact_faiss_index_mines_the_same_dictionary_as_the_exact_scan():
    pytest.importorskip("faiss")
    x, y = _clustered_rotation(n=400)
    kw = {"n_components": 8, "device": "cpu"}
    exact = SelfLearning(knn="exact", **kw).fit(x[:6], y[:6], x=x, y=y)
    flat = SelfLearning(knn="faiss-flat", **kw).fit(x[:6], y[:6], x=x, y=y)
    assert flat.mining_engine_ == "faiss-flat" and flat.n_iter_ == exact.n_iter_
    np.testing.assert_allclose(flat.transform(x, "x"), exact.transform(x, "x"), atol=1e-3)
    ivf = SelfLearning(knn="faiss-ivf", **kw).fit(x[:6], y[:6], x=x, y=y)
    assert _r10(ivf, x, y) > 0.9


def test_pools_larger_than_max_rows_are_mined_on_a_sample():
    x, y = _clustered_rotation(n=900)
    sl = SelfLearning(n_components=16, max_rows=300, device="cpu").fit(x[:6], y[:6], x=x, y=y)
    assert sl.n_pseudo_ <= 2 * 300 and _r10(sl, x, y) > 0.8


def test_the_stochastic_induction_of_vecmap_also_converges_here():
    x, y = _clustered_rotation()
    sl = SelfLearning(n_components=16, induction="stochastic", device="cpu")
    assert _r10(sl.fit(x[:4], y[:4], x=x, y=y), x, y) > 0.9


def test_when_the_unpaired_rows_mislead_the_guard_falls_back_to_the_pairs_alone():
    """y's unpaired rows come from a neighbourhood structure unrelated to x's (each row's
    partner drawn from another cluster), while the pairs follow one linear map: the mined
    dictionary is wrong, and the guarded fit must equal the base fit on the pairs."""
    rng = np.random.default_rng(7)
    x, y = _clustered_rotation(n=600, seed=7)
    y = y[rng.permutation(len(y))]  # rows shuffled: no partner is where the map sends x
    a, b = x[:40], x[:40] @ np.linalg.qr(rng.normal(size=(16, 16)))[0]
    kw = {"n_components": 8, "base_params": {"reg": 0.5}, "device": "cpu"}
    guarded = SelfLearning(guard_folds=3, **kw).fit(a, b, x=x, y=y)
    base = SelfLearning(max_iter=0, **kw).fit(a, b, x=x, y=y)
    assert guarded.fell_back_ and guarded.guard_scores_["pairs"] > guarded.guard_scores_["learned"]
    for mod, rows in (("x", x), ("y", y)):
        assert np.array_equal(guarded.transform(rows, mod), base.transform(rows, mod))
    # where the rows do share neighbourhoods, the guard keeps the learned map
    x, y = _clustered_rotation()
    kept = SelfLearning(guard_folds=3, n_components=16, device="cpu").fit(x[:12], y[:12], x=x, y=y)
    assert not kept.fell_back_ and _r10(kept, x, y) > 0.9


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"induction": "greedy"}, "induction must be"),
        ({"temperature": 0.0}, "temperature"),
        ({"keep_initial": 0.0}, "keep_initial"),
        ({"guard_folds": 1}, "guard_folds"),
        ({"knn": "annoy"}, "knn must be"),
        ({"max_rows": 1}, "max_rows"),
    ],
)
def test_bad_settings_are_refused_before_any_work(params, message):
    x, y = _clustered_rotation(n=50)
    with pytest.raises(InputError, match=message):
        SelfLearning(**params).fit(x[:5], y[:5], x=x, y=y)


def test_padding_from_an_index_that_found_fewer_candidates_stays_out_of_the_dictionary():
    s = np.array([[0.9, 0.1, -np.inf], [0.8, 0.2, -np.inf]], dtype=np.float32)
    fwd = (torch.from_numpy(s), torch.tensor([[0, 1, 0], [1, 0, 0]]))
    bwd = (torch.tensor([[0.9, 0.2], [0.8, 0.1]]), torch.tensor([[0, 1], [1, 0]]))
    dx, dy, obj = hard_dictionary(fwd, bwd, 2)
    assert np.isfinite(obj) and set(zip(dx.tolist(), dy.tolist(), strict=True)) == {(0, 0), (1, 1)}
    px = torch.eye(2)
    cross, _ = soft_cross(fwd, bwd, px, px, 2, 0.1)
    assert torch.isfinite(cross).all()
