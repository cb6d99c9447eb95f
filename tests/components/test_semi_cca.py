import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.components.aligners import CCA
from sue_framework.components.semi_cca import SemiCCA


def _views(n, d1, d2, k=4, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    x = z @ rng.normal(size=(k, d1)) + noise * rng.normal(size=(n, d1)) + 3.0
    y = z @ rng.normal(size=(k, d2)) + noise * rng.normal(size=(n, d2)) - 1.0
    return x, y


def _same_up_to_sign(a, b, atol=1e-5):
    signs = np.sign((a * b).sum(0))
    np.testing.assert_allclose(a, b * signs, atol=atol)


@pytest.mark.parametrize(("n", "d1", "d2", "r"), [(200, 10, 8, 4), (30, 50, 40, 5)])
@pytest.mark.parametrize("reg", [0.0, 0.3, 1.0])
def test_equals_cca_when_every_row_is_paired(n, d1, d2, r, reg):
    """Both the direct SVD (pairs >= dims) and the thin QR route (pairs < dims) are checked."""
    if reg == 0.0 and n < max(d1, d2):
        pytest.skip("unregularised CCA is singular with fewer pairs than dimensions")
    x, y = _views(n, d1, d2)
    semi = SemiCCA(n_components=r, reg=reg, device="cpu").fit(x, y)
    cca = CCA(n_components=r, reg=reg, device="cpu").fit(x, y)
    for mod, rows in (("x", x), ("y", y)):
        _same_up_to_sign(semi.transform(rows, mod), cca.transform(rows, mod), atol=1e-3)


@pytest.mark.parametrize("block", [1, 7, 50, 1000])
def test_moments_in_blocks_equal_the_whole_pool_at_once(block):
    """The two-pass blocked mean and covariance (so 10^6 rows never sit in float64 at once)
    equal numpy's on the whole pool, whatever the block size."""
    import torch

    from sue_framework.components.semi_cca import _Moments

    x, _ = _views(50, 6, 2, seed=3)
    x = x.astype(np.float32)
    m = _Moments(x, torch.device("cpu"), block=block)
    cov = np.cov(x.astype(np.float64), rowvar=False, bias=True)
    np.testing.assert_allclose(m.mean.numpy(), x.astype(np.float64).mean(0), rtol=1e-12)
    rebuilt = (m.evecs * m.evals) @ m.evecs.T
    np.testing.assert_allclose(rebuilt.numpy(), cov, rtol=1e-9, atol=1e-12)


def test_statistics_come_from_every_row():
    x, y = _views(600, 12, 9, seed=1)
    pairs = np.arange(15)
    semi = SemiCCA(n_components=3, reg=0.5, device="cpu").fit(x[pairs], y[pairs], x=x, y=y)
    np.testing.assert_allclose(semi.mean_x_, x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(semi.mean_y_, y.mean(0), rtol=1e-6)
    # unpaired rows change the fit: the pairs alone give another whitening
    alone = SemiCCA(n_components=3, reg=0.5, device="cpu").fit(x[pairs], y[pairs])
    assert not np.allclose(np.abs(alone.weights_x_), np.abs(semi.weights_x_), atol=1e-3)


def _loud(n, seed):
    """Shared signal in quiet features, loud independent noise in the others: whitening (little
    shrinkage) finds the signal, shrinkage towards the identity drowns it."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    x = np.hstack([z @ rng.normal(size=(4, 6)) + 0.1 * rng.normal(size=(n, 6)),
                   6 * rng.normal(size=(n, 14))])  # fmt: skip
    y = np.hstack([z @ rng.normal(size=(4, 6)) + 0.1 * rng.normal(size=(n, 6)),
                   6 * rng.normal(size=(n, 10))])  # fmt: skip
    return x, y


def _test_mrr(model, x, y):
    zx, zy = model.transform(x, "x"), model.transform(y, "y")
    zx /= np.linalg.norm(zx, axis=1, keepdims=True)
    zy /= np.linalg.norm(zy, axis=1, keepdims=True)
    s = zx @ zy.T
    return float((1.0 / (1 + (s > np.diag(s)[:, None]).sum(1))).mean())


@pytest.mark.parametrize(
    "views, pairs, width",
    [(lambda: _views(800, 60, 50, seed=3), 8, 5), (lambda: _loud(800, 0), 200, 4)],
)
def test_cv_picks_the_shrinkage_that_is_best_on_fresh_pairs(views, pairs, width):
    """Few pairs of wide views want strong shrinkage; quiet signal under loud noise wants
    whitening: in both, the grid value cross-validation picks is the one that retrieves fresh
    test pairs best."""
    x, y = views()
    rows, test = slice(0, 600), slice(600, 800)
    grid = (0.05, 0.95)
    semi = SemiCCA(n_components=width, reg="cv", reg_grid=grid, device="cpu")
    semi.fit(x[:pairs], y[:pairs], x=x[rows], y=y[rows])
    fixed = {
        g: SemiCCA(n_components=width, reg=g, device="cpu").fit(
            x[:pairs], y[:pairs], x=x[rows], y=y[rows]
        )
        for g in grid
    }
    best = max(grid, key=lambda g: _test_mrr(fixed[g], x[test], y[test]))
    assert float(semi.shrinkage_) == best


def test_the_output_width_follows_the_pairs():
    x, y = _views(500, 20, 16, seed=2)
    semi = SemiCCA(n_components=8, reg="cv", reg_grid=(0.2, 0.9), device="cpu")
    semi.fit(x[:6], y[:6], x=x, y=y)
    assert semi.transform(x, "x").shape == (500, 5)  # 6 pairs support 5 directions


def test_bad_inputs_are_refused():
    x, y = _views(50, 6, 5)
    with pytest.raises(InputError, match="reg must be"):
        SemiCCA(reg=2.0).fit(x, y)
    with pytest.raises(InputError, match="widths"):
        SemiCCA(reg=0.5).fit(x[:5], y[:5], x=x[:, :4], y=y)
    with pytest.raises(InputError, match="at least 2 pairs"):
        SemiCCA(reg=0.5).fit(x[:1], y[:1], x=x, y=y)
