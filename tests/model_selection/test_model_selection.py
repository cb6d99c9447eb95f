"""scikit-learn model selection over the pairs: PairView, Method.score, GridSearchCV."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sue_framework import InputError, PairView, WeaklyPairedData, registry
from sue_framework.model_selection.selection import pair_scores


def _data(n=240, n_pairs=60, seed=0):
    """y is a noisy linear map of x's first four features; the first n_pairs rows are paired."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    y = x[:, :4] @ rng.normal(size=(4, 6)) + 0.3 * rng.normal(size=(n, 6))
    return WeaklyPairedData(x, y, np.stack([np.arange(n_pairs)] * 2, 1))


def test_a_pair_view_indexes_pairs_and_keeps_every_row():
    data = _data()
    view = PairView(data)
    assert len(view) == 60 and view.shape == (60,)
    part = view[np.array([3, 7]), ...]  # how scikit-learn indexes
    assert part.data.pairs.tolist() == [[3, 3], [7, 7]]
    assert part.data.x is data.x and part.data.y is data.y
    with pytest.raises(InputError, match="PairView takes a WeaklyPairedData"):
        PairView(np.zeros((3, 2)))


def test_score_is_the_mean_reciprocal_rank_of_the_pairs():
    data = _data()
    model = registry.build("method", "pair_cca", {"out_dim": 4, "device": "cpu"}).fit(data)
    rr = pair_scores(model, data)
    assert rr.shape == (120,) and model.score(data) == pytest.approx(rr.mean())
    assert model.score(PairView(data)) == pytest.approx(rr.mean())
    # a model fit on rows whose pairs are shuffled scores near chance on the true pairs
    rng = np.random.default_rng(1)
    wrong = WeaklyPairedData(data.x, data.y, np.stack([np.arange(60), rng.permutation(60)], 1))
    chance = registry.build("method", "pair_cca", {"out_dim": 4, "device": "cpu"}).fit(wrong)
    assert model.score(data) > 0.5 > 3 * chance.score(data)


def test_grid_search_tunes_a_method_over_pair_folds():
    data = _data()
    base = registry.build("method", "pair_cca", {"device": "cpu"})
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(base, {"out_dim": [1, 4]}, cv=cv).fit(PairView(data))
    assert search.best_params_ == {"out_dim": 4}  # y depends on four directions of x
    # each fold's score is a fit on that fold's training pairs, scored on its held-out pairs
    train, test = next(cv.split(np.zeros(60)))
    fold = registry.build("method", "pair_cca", {"device": "cpu", "out_dim": 4})
    fold.fit(PairView(data)[train])
    by_hand = fold.score(PairView(data)[test])
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(by_hand)
    scores = cross_val_score(registry.build("method", "sue", {
        "se_dim": 6, "out_dim": 4, "device": "cpu", "matcher_params": {"epochs": 2}}),
        PairView(data), cv=2)  # fmt: skip
    chance = np.log(240) / 240  # the mean reciprocal rank of a random ranking of 240 rows
    assert scores.shape == (2,) and np.all(scores > 3 * chance)
