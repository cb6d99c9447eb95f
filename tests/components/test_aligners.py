import numpy as np
import pytest
import torch
from sklearn.covariance import ledoit_wolf_shrinkage as sk_lw
from sklearn.cross_decomposition import CCA as SkCCA

from sue_framework import InputError
from sue_framework.components.aligners import CCA, ledoit_wolf_shrinkage


def correlated_views(m=400, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(m, 3))
    a = z @ rng.normal(size=(3, 6)) + 0.5 * rng.normal(size=(m, 6)) + 3.0
    b = z @ rng.normal(size=(3, 5)) + 0.5 * rng.normal(size=(m, 5)) - 1.0
    return a, b


def test_matches_scikit_learn_cca():
    a, b = correlated_views()
    ours = CCA(n_components=3, reg=0.0, device="cpu").fit(a, b)
    sk = SkCCA(n_components=3, max_iter=5000, tol=1e-12).fit(a, b)
    sa, sb = sk.transform(a, b)
    za, zb = ours.transform(a, "x"), ours.transform(b, "y")
    for j in range(3):
        assert abs(np.corrcoef(za[:, j], sa[:, j])[0, 1]) > 0.999
        assert abs(np.corrcoef(zb[:, j], sb[:, j])[0, 1]) > 0.999
        assert ours.correlations_[j] == pytest.approx(
            np.corrcoef(sa[:, j], sb[:, j])[0, 1], abs=1e-4
        )
    # whitened, centred, ordered by correlation
    assert np.allclose(za.mean(0), 0, atol=1e-5) and np.allclose(
        np.cov(za.T, bias=True), np.eye(3), atol=1e-4
    )
    assert np.all(np.diff(ours.correlations_) <= 0)


def test_ledoit_wolf_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for n, p in ((10, 30), (200, 5)):
        x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))
        xc = x - x.mean(0)
        assert ledoit_wolf_shrinkage(torch.as_tensor(xc)) == pytest.approx(sk_lw(xc), rel=1e-6)


def _reference_cca(a, b, s, r):
    """Shrunk CCA written out in full: C_s^{-1/2} of each side, then an SVD of the whitened
    cross-covariance."""

    def isqrt(c):
        vals, vecs = np.linalg.eigh(c)
        return (vecs / np.sqrt(vals)) @ vecs.T

    ac, bc = a - a.mean(0), b - b.mean(0)
    ws = []
    for z in (ac, bc):
        c = z.T @ z / len(z)
        ws.append(isqrt((1 - s) * c + s * np.trace(c) / c.shape[0] * np.eye(c.shape[0])))
    u, _, vh = np.linalg.svd(ws[0] @ (ac.T @ bc / len(a)) @ ws[1])
    return ac @ ws[0] @ u[:, :r], bc @ ws[1] @ vh.T[:, :r]


@pytest.mark.parametrize("m", [9, 15, 400])  # fewer pairs than features, and more
def test_equals_the_written_out_shrunk_cca(m):
    rng = np.random.default_rng(3)
    a, b = correlated_views(m=m)
    a, b = np.hstack([a, rng.normal(size=(m, 6))]), np.hstack([b, rng.normal(size=(m, 7))])
    cca = CCA(n_components=4, reg=0.3, device="cpu").fit(a, b)
    ra, rb = _reference_cca(a, b, 0.3, 4)
    za, zb = cca.transform(a, "x"), cca.transform(b, "y")
    sign = np.sign((za * ra).sum(0))
    assert np.allclose(za * sign, ra, atol=1e-4) and np.allclose(zb * sign, rb, atol=1e-4)


def test_auto_shrinkage_keeps_few_pairs_sane():
    a, b = correlated_views(m=12)
    cca = CCA(n_components=4, device="cpu").fit(a[:, :6], np.hstack([b, b])[:, :10])
    assert cca.shrinkage_y_ > 0 and np.all(np.isfinite(cca.weights_y_))
    assert np.all(cca.correlations_ < 1.0 + 1e-9)


def test_too_few_pairs_and_shapes():
    a, b = correlated_views(m=8)
    with pytest.raises(InputError, match="needs more than 8 pairs"):
        CCA(n_components=8).fit(a, b)
    with pytest.raises(InputError, match="same number of paired rows"):
        CCA(n_components=2).fit(a, b[:5])
    with pytest.raises(InputError, match="at least 6 features"):
        CCA(n_components=6).fit(np.hstack([a, a]), b)
    cca = CCA(n_components=2, device="cpu").fit(a, b)
    with pytest.raises(InputError, match="but the aligner was fitted on rows of 6"):
        cca.transform(b, "x")
    with pytest.raises(InputError, match="modality"):
        cca.transform(a, "z")


def test_procrustes_matches_scipy_and_recovers_a_rotation():
    from scipy.linalg import orthogonal_procrustes
    from scipy.stats import special_ortho_group

    from sue_framework.components.aligners import Procrustes

    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 5))
    R = special_ortho_group.rvs(5, random_state=1)
    b = 2.0 * (a @ R.T) + 3.0  # rotated, scaled and shifted copy of a
    p = Procrustes(n_components=5, scaling=True, device="cpu").fit(a, b)
    ref, _ = orthogonal_procrustes(b - b.mean(0), a - a.mean(0))
    assert np.allclose(p.rotation_, ref, atol=1e-8)
    assert float(p.scale_) == pytest.approx(0.5)
    assert np.allclose(p.transform(b, "y"), p.transform(a, "x"), atol=1e-5)
    no_scale = Procrustes(n_components=3, device="cpu").fit(a, b)
    assert float(no_scale.scale_) == 1.0 and no_scale.transform(b, "y").shape == (50, 3)
    with pytest.raises(InputError, match="one shape"):
        Procrustes().fit(a, b[:, :4])
    with pytest.raises(InputError, match="n_components"):
        Procrustes(n_components=6).fit(a, b)


def test_sue_with_procrustes_by_name_aligns_by_procrustes(blobs):
    """The aligned stage is orthogonal Procrustes fitted on the pairs' spectral embeddings:
    x keeps its frame, y is rotated onto it (CCA would whiten and mix both)."""
    from sue_framework import SUE, paper_split
    from sue_framework.components.aligners import Procrustes

    x, y, _ = blobs
    s = paper_split(x, y, n_pairs=20, n_test=50, seed=0)
    m = SUE(
        aligner="procrustes",
        se_dim=6,
        out_dim=4,
        device="cpu",
        solver_params={"graph_params": {"n_neighbors": 10}},
        matcher="none",
    ).fit(s.train)
    assert isinstance(m.aligner_, Procrustes)
    sx = m.stage_outputs(s.train.x, "x")["se"]
    sy = m.stage_outputs(s.train.y, "y")["se"]
    want = Procrustes(n_components=4, device="cpu").fit(sx[s.train.pairs[:, 0]],
                                                        sy[s.train.pairs[:, 1]])  # fmt: skip
    for side, rows in (("x", s.x_test), ("y", s.y_test)):
        se = m.stage_outputs(rows, side)["se"]
        np.testing.assert_allclose(m.transform(rows, side), want.transform(se, side), atol=1e-5)
