import numpy as np
import pytest

from sue_framework import InputError, WeaklyPairedData, paper_split, registry
from sue_framework.io.model_files import load_method
from sue_framework.methods.auto import Auto
from tests.conftest import latent_views


@pytest.fixture(scope="module")
def split():
    x, y = latent_views()
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


def test_auto_saves_and_loads_exactly(split, tmp_path):
    model = Auto(dims=(4, 8), device="cpu").fit(split.train)
    assert model.choice_ in model.cv_scores_
    path = model.save(tmp_path / "auto.sue")
    loaded = load_method(path)
    assert loaded.choice_ == model.choice_
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))


@pytest.mark.slow
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
    x, y = latent_views(n=200)
    data = WeaklyPairedData(x, y, np.stack([np.arange(6), np.arange(6)], 1))
    model = Auto(device="cpu").fit(data)
    assert model.cv_scores_ == {} and model.choice_.startswith("pair_cca")  # the cheapest
    with pytest.raises(InputError, match="families"):
        Auto(families=("magic",)).fit(data)
    with pytest.raises(InputError, match="folds"):
        Auto(folds=1).fit(data)
    with pytest.raises(InputError, match="rule must be"):
        Auto(rule="vote").fit(data)
    with pytest.raises(InputError, match="cv_max_rows"):
        Auto(cv_max_rows=0).fit(data)
    with pytest.raises(InputError, match="cv_tol"):
        Auto(cv_tol=-1.0).fit(data)
    with pytest.raises(InputError, match="cv_patience"):
        Auto(cv_patience=0).fit(data)


def test_the_folds_loosen_self_learning_and_the_refit_does_not(split):
    """`cv_tol`/`cv_patience` change what the folds fit (their scores), never the refit."""
    kw = dict(families=("self_train",), unpaired_dims=(8, 16), device="cpu")
    full = Auto(cv_tol=None, cv_patience=None, **kw).fit(split.train)
    loose = Auto(cv_tol=10.0, cv_patience=1, **kw).fit(split.train)  # every loop stops at once
    assert set(full.cv_scores_) == set(loose.cv_scores_) and len(full.cv_scores_) == 2
    # the folds' ranks differ (their -log r means can tie: 2 log 2 = log 4)
    assert all(
        not np.array_equal(full.cv_per_query_[k], loose.cv_per_query_[k]) for k in full.cv_scores_
    )
    assert full.choice_ == loose.choice_
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(full.transform(rows, mod), loose.transform(rows, mod))


@pytest.mark.parametrize("name", ["pair_cca", "semi_cca", "self_train"])
def test_new_methods_save_and_load_exactly(split, tmp_path, name):
    model = registry.get("method", name)(out_dim=6, device="cpu").fit(split.train)
    path = model.save(tmp_path / f"{name}.sue")
    loaded = load_method(path)
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))


def test_pair_only_auto_tunes_asif_without_duplicate_settings():
    pytest.importorskip("sue_baselines")
    from sue_framework.methods.auto import ASIF_GRID

    asif = lambda n: [p for f, p in Auto(pair_only=True)._candidates(n, 50) if f == "asif"]  # noqa: E731
    assert asif(60) == [dict(p) for p in ASIF_GRID]  # 48 pairs per fold: sparsity 10 bites
    few = asif(12)  # 9 pairs per fold: keeping 10 similarities keeps them all
    assert len(few) == 3 and all(p["n_nonzero"] is None for p in few)
    assert [p for f, p in Auto()._candidates(60, 50) if f == "asif"] == asif(60)


def test_self_training_widths_are_not_capped_by_the_pairs():
    """Ten pairs leave 8 per fold: CCA gets at most 7 dims, self-training keeps its widths."""
    cands = Auto()._candidates(10, 384)
    assert [p["out_dim"] for f, p in cands if f == "self_train"] == [32, 64]
    assert [p["out_dim"] for f, p in cands if f == "pair_cca"] == [4, 7]
    assert [p["out_dim"] for f, p in Auto()._candidates(10, 20) if f == "self_train"] == [20]


@pytest.mark.parametrize(("n_pairs", "width"), [(10, 384), (25, 300), (200, 40), (1000, 8)])
def test_auto_tries_every_candidate_that_the_pair_only_variant_tries(n_pairs, width):
    """So auto can be worse than auto(pair_only=True) only by its choice, never by its set."""
    everything = Auto()._candidates(n_pairs, width)
    pair_only = Auto(pair_only=True)._candidates(n_pairs, width)
    assert pair_only and all(c in everything for c in pair_only)
    assert [p["out_dim"] for f, p in pair_only if f == "pair_cca"][0] <= 8


@pytest.mark.parametrize(
    ("rows", "own", "expected"),
    [
        (4000, {}, "exact"),  # the refit mines 4,000 rows a side exactly, so do the folds
        (64000, {}, "faiss-ivf"),  # the refit mines a 10,000-row sample with IVF
        (64000, {"max_rows": 4000}, "exact"),  # a sample small enough for the exact scan
        (64000, {"knn": "faiss-hnsw"}, "faiss-hnsw"),  # the user's engine, folds and refit
    ],
)
def test_the_folds_mine_with_the_search_the_refit_runs(rows, own, expected):
    pytest.importorskip("faiss")
    x = np.random.default_rng(0).normal(size=(rows, 2))  # only the shapes matter here
    data = WeaklyPairedData(x, x, np.stack([np.arange(50)] * 2, 1))
    cands = [("pair_cca", {"out_dim": 4}), ("self_train", {"out_dim": 8, "aligner_params": own})]
    folded = Auto(cv_tol=1e-3)._fold_candidates(cands, data)
    assert folded[0] == cands[0]  # the other families as they are
    assert folded[1][1]["aligner_params"] == {**own, "tol": 1e-3, "knn": expected}


def test_a_fresh_seed_is_drawn_once_for_the_folds_and_the_refit(split):
    """auto(seed=None) is auto(seed=s) for the seed s it drew: same folds, same refit."""
    drawn = Auto(dims=(4, 8), families=("pair_cca", "self_train"), seed=None, device="cpu")
    drawn.fit(split.train)
    fixed = Auto(dims=(4, 8), families=("pair_cca", "self_train"), seed=drawn.seed_,
                 device="cpu").fit(split.train)  # fmt: skip
    assert drawn.cv_scores_ == fixed.cv_scores_ and drawn.model_.seed == drawn.seed_
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(drawn.transform(rows, mod), fixed.transform(rows, mod))


def _shared_clusters(n=900, seed=1):
    """Clustered rows and an orthogonal map of them: the unpaired rows pin the map down."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(30, 16)) * 2
    x = centres[rng.integers(0, 30, n)] + 0.5 * rng.normal(size=(n, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    return x.astype(np.float32), (x @ q + 0.4 * rng.normal(size=(n, 16))).astype(np.float32)


def _misleading(tr: WeaklyPairedData) -> WeaklyPairedData:
    """`tr` with its unpaired y rows replaced by another orthogonal map of x rows: the pool
    says one map and the pairs (and test pairs) another, so mined partners are wrong."""
    rng = np.random.default_rng(3)
    q2, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    free = np.setdiff1d(np.arange(len(tr.y)), tr.pairs[:, 1])
    y2 = tr.y.copy()
    y2[free] = tr.x[rng.choice(len(tr.x), free.size, replace=False)] @ q2
    return WeaklyPairedData(tr.x, y2, tr.pairs)


@pytest.mark.parametrize("n_pairs", [12, 150])
def test_auto_picks_self_learning_where_the_rows_agree_and_the_pairs_where_they_do_not(n_pairs):
    x, y = _shared_clusters()
    split = paper_split(x, y, n_pairs=n_pairs, n_test=200, seed=0)
    tr = split.train
    if n_pairs == 12:  # a few pairs cannot pin down a 16-d map; the unpaired rows can
        agree = Auto(unpaired_dims=(16,), device="cpu").fit(tr)
        assert agree.choice_.startswith("self_train")
    mislead = Auto(unpaired_dims=(16,), device="cpu").fit(_misleading(tr))
    assert not mislead.choice_.startswith("self_train")  # semi-CCA's covariances stay right


def test_a_saved_auto_keeps_its_choice_when_a_later_version_lists_other_candidates(
    split, tmp_path, monkeypatch
):
    model = Auto(dims=(4, 8), families=("pair_cca", "semi_cca"), device="cpu").fit(split.train)
    path = model.save(tmp_path / "auto.sue")
    original = Auto._candidates
    monkeypatch.setattr(Auto, "_candidates", lambda self, n, w: original(self, n, w)[::-1])
    loaded = load_method(path)
    assert loaded.choice_ == model.choice_
    assert np.array_equal(loaded.transform(split.x_test, "x"), model.transform(split.x_test, "x"))
    monkeypatch.setattr(Auto, "_candidates", lambda self, n, w: [("pair_cca", {"out_dim": 2})])
    with pytest.raises(InputError, match="not among this version's candidates"):
        load_method(path)


def test_no_pairs_is_refused_with_what_to_do(split):
    from sue_framework import WeaklyPairedData

    empty = WeaklyPairedData(split.train.x, split.train.y, np.zeros((0, 2), dtype=int))
    with pytest.raises(InputError, match="Auto chooses a method by cross-validation .* got none"):
        Auto(device="cpu").fit(empty)


@pytest.mark.slow
def test_repeated_deals_spare_self_learning_and_only_run_where_they_can_change_the_choice():
    """`cv_repeats` deals the pairs again for the cheap families only (self-learning's folds
    take tens of iterations over the pool each), and only where a cheap candidate leads
    self-learning on the first deal: otherwise the choice stays self-learning whatever the
    other deals say."""
    x, y = _shared_clusters()
    tr = paper_split(x, y, n_pairs=12, n_test=200, seed=0).train
    kw = dict(dims=(4, 8), unpaired_dims=(16,), families=("pair_cca", "self_train"))
    agree = Auto(cv_repeats=3, device="cpu", **kw).fit(tr)
    assert agree.choice_.startswith("self_train")
    assert set(agree.cv_draws_.values()) == {1}  # no other deal could change that
    mislead = Auto(cv_repeats=3, device="cpu", **kw).fit(_misleading(tr))
    assert mislead.choice_.startswith("pair_cca")
    assert mislead.cv_draws_ == {
        "pair_cca out_dim=4": 3, "pair_cca out_dim=8": 3,
        "self_train out_dim=16, aligner_params={'select_components': 16}": 1,
    }  # fmt: skip
    with pytest.raises(InputError, match="cv_repeats"):
        Auto(cv_repeats=0).fit(tr)


@pytest.mark.parametrize("mislead", [False, True])
def test_self_learnings_folds_stop_once_it_clearly_wins_or_loses(mislead):
    """Where the pool agrees with the pairs self-learning leads CCA by far on the first two
    folds, and where it misleads it trails by far: either way its other three folds are not
    fitted, and the choice is the one every fold gives."""
    x, y = _shared_clusters()
    tr = paper_split(x, y, n_pairs=12, n_test=200, seed=0).train
    data = _misleading(tr) if mislead else tr
    kw = dict(dims=(4, 8), unpaired_dims=(16,), families=("pair_cca", "self_train"), device="cpu")
    every = Auto(cv_stop_z=None, **kw).fit(data)
    early = Auto(**kw).fit(data)
    learner = "self_train out_dim=16, aligner_params={'select_components': 16}"
    assert early.choice_ == every.choice_
    assert early.choice_.startswith("pair_cca" if mislead else "self_train")
    assert early.cv_folds_[learner] == 2 and every.cv_folds_[learner] == 5
    assert early.cv_folds_["pair_cca out_dim=8"] == 5
    # folds of 3, 3, 2, 2 and 2 pairs: the last three folds' 6 pairs, both ways, unscored
    assert np.isnan(early.cv_per_query_[learner]).sum() == 12
    assert not np.isnan(every.cv_per_query_[learner]).any()


@pytest.mark.parametrize("n_pairs", [2, 3, 9])
def test_too_few_pairs_never_give_a_width_one_map_and_say_so(n_pairs, tmp_path):
    """With fewer pairs than CV needs, auto takes its first candidate untested: never a map of
    one dimension (where every cosine ties), with a warning that the card keeps."""
    from sue_framework.io.hub import model_card

    x, y = latent_views(n=200)
    data = WeaklyPairedData(x, y, np.stack([np.arange(n_pairs), np.arange(n_pairs)], 1))
    with pytest.warns(UserWarning, match=f"{n_pairs} pairs are too few to choose"):
        model = Auto(device="cpu").fit(data)
    z = model.transform(x[:50], "x")
    assert z.shape[1] >= 2
    # the map ranks: the 50 rows are not all at one cosine from a query
    zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    assert np.unique(np.round(zn @ zn[0], 4)).size > 2
    card = model_card(model.save(tmp_path / "few.sue"))
    assert "## Warnings" in card and f"{n_pairs} pairs are too few" in card


def test_one_pair_is_refused_with_what_each_candidate_needs():
    x, y = latent_views(n=200)
    with pytest.raises(InputError, match="1 pair.*too few for any of auto's candidates"):
        Auto(device="cpu").fit(WeaklyPairedData(x, y, [[0, 0]]))


def test_enough_pairs_for_cv_fit_without_a_warning(split):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Auto(dims=(4,), families=("pair_cca",), device="cpu").fit(split.train)
    assert model.fit_warnings_ == []
