import numpy as np
import pytest

from sue_framework import InputError, UnknownComponentError, paper_split
from sue_framework.cv_select import CVSelect, method_cv_scores
from tests.conftest import latent_views


@pytest.fixture(scope="module")
def split():
    x, y = latent_views()
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


def test_picks_the_known_winner_even_when_it_is_listed_last(split):
    """Eight shared latent dimensions: a 2-d CCA loses most of them, an 8-d one keeps them."""
    sel = CVSelect(
        candidates=[("pair_cca", {"out_dim": 2}), ("pair_cca", {"out_dim": 8})], device="cpu"
    ).fit(split.train)
    assert sel.choice_ == "pair_cca out_dim=8"
    assert sel.choice_candidate_ == ("pair_cca", {"out_dim": 8})
    assert sel.cv_scores_["pair_cca out_dim=8"] > 1.5 * sel.cv_scores_["pair_cca out_dim=2"]


def test_a_tie_goes_to_the_first_candidate(split):
    """The same model under two labels scores the same on every query: the first one wins."""
    first, second = ("pair_cca", {"out_dim": 8}), ("pair_cca", {"out_dim": 8, "matcher": "none"})
    for order in ([first, second], [second, first]):
        sel = CVSelect(candidates=order, device="cpu").fit(split.train)
        assert sel.choice_ == CVSelect(candidates=order[:1]).fit(split.train).choice_


def test_cv_scores_are_reciprocal_ranks_of_every_held_out_pair(split):
    scores = method_cv_scores("pair_cca", {"out_dim": 8}, split.train, folds=4, device="cpu")
    assert scores.shape == (2 * split.train.n_pairs,)
    ranks = 1 / scores - 1  # each score is 1 / (1 + the rank of a held-out pair's partner)
    gallery = min(split.train.x.shape[0], split.train.y.shape[0])
    assert np.allclose(ranks, np.round(ranks)) and ranks.min() >= 0
    assert ranks.max() <= max(split.train.x.shape[0], split.train.y.shape[0])
    assert scores.mean() > 3 * np.log(gallery) / gallery  # well above a random ranking


def test_bad_settings_are_refused_saying_what_is_wrong(split):
    for settings, what in (
        ({"folds": 1}, "folds must be >= 2"),
        ({"rule": "vote"}, "rule must be one of"),
        ({"cv_max_rows": 0}, "cv_max_rows must be >= 1"),
        ({"cv_score": "mrr"}, "cv_score must be one of"),
        ({"candidates": [("no_such_method", {})]}, "no method named 'no_such_method'"),
    ):
        with pytest.raises((InputError, UnknownComponentError), match=what):
            CVSelect(device="cpu", **settings).fit(split.train)


def test_the_cv_score_is_the_mean_of_each_query_score_and_picks_by_it(split):
    """`cv_per_query_` stays the reciprocal ranks; `cv_scores_` and the pick follow `cv_score`."""
    cands = [("pair_cca", {"out_dim": 2}), ("pair_cca", {"out_dim": 8})]
    by = {h: CVSelect(candidates=cands, cv_score=h, device="cpu").fit(split.train) for h in
          ("reciprocal_rank", "log_rank")}  # fmt: skip
    rr, log = by["reciprocal_rank"], by["log_rank"]
    for label, q in rr.cv_per_query_.items():
        assert np.array_equal(log.cv_per_query_[label], q)
        assert log.cv_scores_[label] == pytest.approx(np.log(q).mean())
        assert log.cv_sem_[label] == pytest.approx(np.log(q).std(ddof=1) / np.sqrt(q.size))
    assert rr.choice_ == log.choice_ == "pair_cca out_dim=8"
