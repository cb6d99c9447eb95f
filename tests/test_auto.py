import numpy as np
import pytest

from sue_framework import InputError, WeaklyPairedData, paper_split, registry
from sue_framework.auto import Auto, CVSelect, method_cv_scores
from sue_framework.io import load_method


def _latent_views(n=700, k=8, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    x = z @ rng.normal(size=(k, 24)) + 0.5 * rng.normal(size=(n, 24))
    y = z @ rng.normal(size=(k, 20)) + 0.5 * rng.normal(size=(n, 20))
    return x.astype(np.float32), y.astype(np.float32)


@pytest.fixture(scope="module")
def split():
    x, y = _latent_views()
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


def test_picks_the_known_winner_even_when_it_is_listed_last(split):
    """Eight shared latent dimensions: a 2-d CCA loses most of them, an 8-d one keeps them."""
    sel = CVSelect(
        candidates=[("pair_cca", {"out_dim": 2}), ("pair_cca", {"out_dim": 8})], device="cpu"
    ).fit(split.train)
    assert sel.choice_ == "pair_cca out_dim=8"
    assert sel.cv_scores_["pair_cca out_dim=8"] > 1.5 * sel.cv_scores_["pair_cca out_dim=2"]


def test_a_tie_goes_to_the_first_candidate(split):
    """The same model under two labels scores the same on every query: the first one wins."""
    first, second = ("pair_cca", {"out_dim": 8}), ("pair_cca", {"out_dim": 8, "seed": 3})
    for order in ([first, second], [second, first]):
        sel = CVSelect(candidates=order, device="cpu").fit(split.train)
        assert sel.choice_ == CVSelect(candidates=order[:1]).fit(split.train).choice_


def test_cv_scores_are_reciprocal_ranks_of_every_held_out_pair(split):
    scores = method_cv_scores("pair_cca", {"out_dim": 8}, split.train, folds=4, device="cpu")
    assert scores.shape == (2 * split.train.n_pairs,)
    assert np.all((scores > 0) & (scores <= 1))


def test_auto_saves_and_loads_exactly(split, tmp_path):
    model = Auto(dims=(4, 8), device="cpu").fit(split.train)
    assert model.choice_ in model.cv_scores_
    path = model.save(tmp_path / "auto.sue")
    loaded = load_method(path)
    assert loaded.choice_ == model.choice_
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))


def test_folds_on_threads_give_the_same_scores_as_one_after_another(split):
    """Auto's candidates fitted side by side (threads, shared moment cache) repeat exactly."""
    runs = [
        Auto(dims=(4, 8), unpaired_dims=(8,), n_jobs=n, device="cpu").fit(split.train)
        for n in (1, 2)
    ]
    assert runs[0].cv_scores_ == runs[1].cv_scores_ and runs[0].choice_ == runs[1].choice_
    assert any(k.startswith("self_train") for k in runs[0].cv_scores_)


def test_pair_only_auto_never_considers_unpaired_methods(split):
    model = Auto(dims=(8,), pair_only=True, device="cpu").fit(split.train)
    assert all(k.startswith(("pair_cca", "asif")) for k in model.cv_scores_)


def test_few_pairs_skip_cv_and_bad_settings_are_refused():
    x, y = _latent_views(n=200)
    data = WeaklyPairedData(x, y, np.stack([np.arange(6), np.arange(6)], 1))
    model = Auto(device="cpu").fit(data)
    assert model.cv_scores_ == {} and model.choice_.startswith("self_train")
    cheap_first = Auto(device="cpu", prefer_unpaired=False).fit(data)
    assert cheap_first.choice_.startswith("pair_cca")
    with pytest.raises(InputError, match="families"):
        Auto(families=("magic",)).fit(data)
    with pytest.raises(InputError, match="folds"):
        CVSelect(folds=1).fit(data)


@pytest.mark.parametrize("name", ["pair_cca", "semi_cca", "self_train"])
def test_new_methods_save_and_load_exactly(split, tmp_path, name):
    model = registry.get("method", name)(out_dim=6, device="cpu").fit(split.train)
    path = model.save(tmp_path / f"{name}.sue")
    loaded = load_method(path)
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))


def test_pair_only_auto_tunes_asif_without_duplicate_settings():
    pytest.importorskip("sue_baselines")
    from sue_framework.auto import ASIF_GRID

    asif = lambda n: [p for f, p in Auto(pair_only=True)._candidates(n, 50) if f == "asif"]  # noqa: E731
    assert asif(60) == [dict(p) for p in ASIF_GRID]  # 48 pairs per fold: sparsity 10 bites
    few = asif(12)  # 9 pairs per fold: keeping 10 similarities keeps them all
    assert len(few) == 3 and all(p["n_nonzero"] is None for p in few)
    assert [p for f, p in Auto()._candidates(60, 50) if f == "asif"] == [{}]


def test_self_training_widths_are_not_capped_by_the_pairs():
    """Ten pairs leave 8 per fold: CCA gets at most 7 dims, self-training keeps its widths."""
    cands = Auto()._candidates(10, 384)
    assert [p["out_dim"] for f, p in cands if f == "self_train"] == [32, 64]
    assert [p["out_dim"] for f, p in cands if f == "pair_cca"] == [7]
    assert [p["out_dim"] for f, p in Auto()._candidates(10, 20) if f == "self_train"] == [20]


def test_narrower_candidates_scored_on_the_wider_fits_match_their_own_fits(split):
    """auto scores CCA at 4 dims, and self-training at 4 dims, on the first columns of the
    8-dim fits; fitting each candidate on its own gives the same scores."""
    auto = Auto(dims=(4, 8), unpaired_dims=(4, 8), device="cpu").fit(split.train)
    cands = auto._candidates(auto.n_pairs_, auto.width_)
    assert auto._nested(cands)  # some candidates did share fits
    alone = CVSelect(candidates=cands, device="cpu").fit(split.train)
    assert alone.cv_scores_.keys() == auto.cv_scores_.keys()
    for k, v in alone.cv_scores_.items():
        assert auto.cv_scores_[k] == pytest.approx(v, rel=1e-6)
