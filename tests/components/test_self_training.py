import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.components.pseudo_pairs import mutual_nearest, ot_matches
from sue_framework.components.self_training import SelfTraining
from sue_framework.components.semi_cca import SemiCCA


def _rotated(n=400, d=12, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return x, x @ q + noise * rng.normal(size=(n, d))


@pytest.mark.parametrize("duplicates", [False, True])
def test_mutual_nearest_equals_brute_force_in_any_block_size(duplicates):
    rng = np.random.default_rng(1)
    zx, zy = rng.normal(size=(57, 5)), rng.normal(size=(43, 5))
    if duplicates:  # exact ties: the lowest index wins, as with argmax
        zx[30:40], zy[20:30] = zx[:10], zy[:10]
    ux = zx / np.linalg.norm(zx, axis=1, keepdims=True)
    uy = zy / np.linalg.norm(zy, axis=1, keepdims=True)
    s = ux @ uy.T
    want = sorted((i, int(s[i].argmax())) for i in range(57) if s[:, s[i].argmax()].argmax() == i)
    for chunk in (1, 7, None):
        i, j, conf = mutual_nearest(zx, zy, chunk=chunk)
        assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == want
        np.testing.assert_allclose(conf, s[i, j], rtol=1e-5)


def test_csls_mutual_nearest_equals_brute_force():
    rng = np.random.default_rng(4)
    zx, zy = rng.normal(size=(61, 6)), rng.normal(size=(47, 6))
    zx[:5] *= 0.1
    zx[:5] += zy[:1]  # hubs: five x rows near one y row
    ux = zx / np.linalg.norm(zx, axis=1, keepdims=True)
    uy = zy / np.linalg.norm(zy, axis=1, keepdims=True)
    s = ux @ uy.T
    k = 4
    rx = np.sort(s, axis=1)[:, -k:].mean(1)
    ry = np.sort(s, axis=0)[-k:, :].mean(0)
    c = 2 * s - rx[:, None] - ry[None, :]
    want = sorted((i, int(c[i].argmax())) for i in range(61) if c[:, c[i].argmax()].argmax() == i)
    assert want != sorted(
        (i, int(s[i].argmax())) for i in range(61) if s[:, s[i].argmax()].argmax() == i
    )  # the data make CSLS differ from plain cosine
    for chunk in (5, None):
        i, j, score = mutual_nearest(zx, zy, chunk=chunk, csls_k=k)
        assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == want
        np.testing.assert_allclose(score, c[i, j], rtol=1e-5, atol=1e-6)


def test_ot_matches_recover_a_shuffled_copy():
    rng = np.random.default_rng(2)
    zx = rng.normal(size=(60, 8))
    perm = rng.permutation(60)
    i, j, conf = ot_matches(zx, zx[perm] + 0.01 * rng.normal(size=(60, 8)), eps=0.01)
    assert len(i) >= 55 and np.mean(perm[j] == i) > 0.95 and np.all(conf <= 1 + 1e-6)


def test_zero_rounds_is_the_base_aligner():
    x, y = _rotated()
    base = SemiCCA(n_components=4, reg=0.5, device="cpu").fit(x[:10], y[:10], x=x, y=y)
    st = SelfTraining(
        base=SemiCCA(), base_params={"reg": 0.5}, n_components=4, rounds=0, device="cpu"
    ).fit(x[:10], y[:10], x=x, y=y)
    for mod, rows in (("x", x), ("y", y)):
        assert np.array_equal(st.transform(rows, mod), base.transform(rows, mod))


@pytest.mark.parametrize("pseudo", ["mnn", "ot"])
def test_pseudo_pairs_improve_a_few_pair_fit(pseudo):
    """Six pairs give a rough map of a rotated copy; pseudo-pairs from the other rows repair it."""
    x, y = _rotated(n=600, d=20, noise=0.3)

    def r1(aligner):
        zx, zy = aligner.transform(x, "x"), aligner.transform(y, "y")
        zx /= np.linalg.norm(zx, axis=1, keepdims=True)
        zy /= np.linalg.norm(zy, axis=1, keepdims=True)
        return np.mean((zx @ zy.T).argmax(1) == np.arange(len(x)))

    kw = {
        "base": SemiCCA(),
        "base_params": {"reg": 0.9},
        "n_components": 20,
        "device": "cpu",
        "pseudo": pseudo,
        "ot_eps": 0.02,
    }
    before = r1(SelfTraining(rounds=0, **kw).fit(x[:6], y[:6], x=x, y=y))
    st = SelfTraining(rounds=3, **kw).fit(x[:6], y[:6], x=x, y=y)
    assert before < 0.5 and r1(st) > 0.95 and len(st.n_pseudo_) == 3


def test_bad_settings_are_refused():
    x, y = _rotated(n=50)
    with pytest.raises(InputError, match="pseudo must be"):
        SelfTraining(pseudo="knn").fit(x[:5], y[:5])
    with pytest.raises(InputError, match="max_fraction"):
        SelfTraining(max_fraction=2.0).fit(x[:5], y[:5])


def test_mining_in_a_wider_space_gives_the_wider_fits_first_columns():
    x, y = _rotated(n=500, d=16, noise=0.3)
    kw = {"base": SemiCCA(), "rounds": 2, "device": "cpu"}
    wide = SelfTraining(n_components=8, **kw).fit(x[:12], y[:12], x=x, y=y)
    narrow = SelfTraining(n_components=3, mine_components=8, **kw).fit(x[:12], y[:12], x=x, y=y)
    alone = SelfTraining(n_components=3, **kw).fit(x[:12], y[:12], x=x, y=y)
    for mod, rows in (("x", x), ("y", y)):
        np.testing.assert_allclose(
            narrow.transform(rows, mod), wide.transform(rows, mod)[:, :3], rtol=1e-5, atol=1e-5
        )
    assert not np.allclose(alone.transform(x, "x"), narrow.transform(x, "x"), atol=1e-3)


@pytest.mark.parametrize("csls_k", [0, 4])
def test_mutual_pairs_from_lists_equal_the_full_scan_and_are_mutual(csls_k):
    from sue_framework.components.pseudo_pairs import mutual_nearest_from_lists

    rng = np.random.default_rng(8)
    zx, zy = rng.normal(size=(80, 6)), rng.normal(size=(70, 6))
    want = mutual_nearest(zx, zy, csls_k=csls_k)
    got = mutual_nearest_from_lists(zx, zy, k=80, csls_k=csls_k, engine="exact")
    assert np.array_equal(np.sort(got[0]), np.sort(want[0]))
    order = np.argsort(got[0])
    assert np.array_equal(got[1][order], want[1][np.argsort(want[0])])
    ux = zx / np.linalg.norm(zx, axis=1, keepdims=True)
    uy = zy / np.linalg.norm(zy, axis=1, keepdims=True)
    s = ux @ uy.T
    if csls_k:
        s = 2 * s - np.sort(s, 1)[:, -csls_k:].mean(1)[:, None] - np.sort(s, 0)[-csls_k:].mean(0)
    for i, j in zip(*got[:2], strict=True):  # each is the other's best
        assert s[i].argmax() == j and s[:, j].argmax() == i
    # cosine pairs from 5-long lists: a subset of the full scan's (a row's best is listed)
    short = mutual_nearest_from_lists(zx, zy, k=5, engine="exact")
    assert set(short[0].tolist()) <= set(mutual_nearest(zx, zy)[0].tolist())
