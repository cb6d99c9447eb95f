import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sue_framework import InputError, UnknownComponentError, WeaklyPairedData, paper_split
from sue_framework.data import training_data
from sue_framework.model_selection.cv_select import (
    CVSelect,
    _cv_plan,
    _in_pair_order,
    method_cv_scores,
)
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


def test_repeated_deals_score_each_query_by_its_mean_over_the_deals(split):
    """`cv_repeats` deals the pairs into other folds; a query's score is its mean over them,
    and a candidate's ranks from each deal line up pair by pair."""
    cands = [("pair_cca", {"out_dim": 2}), ("pair_cca", {"out_dim": 8})]
    one = CVSelect(candidates=cands, cv_score="log_rank", device="cpu").fit(split.train)
    three = CVSelect(candidates=cands, cv_score="log_rank", cv_repeats=3, device="cpu").fit(
        split.train
    )
    assert three.cv_draws_ == {"pair_cca out_dim=2": 3, "pair_cca out_dim=8": 3}
    assert one.cv_draws_ == {"pair_cca out_dim=2": 1, "pair_cca out_dim=8": 1}
    for label, first in one.cv_per_query_.items():
        assert np.array_equal(three.cv_per_query_[label], first)  # deal 0 is the one deal
        assert three.cv_scores_[label] != pytest.approx(one.cv_scores_[label], abs=1e-12)
    sel = CVSelect(candidates=cands, cv_repeats=3, device="cpu")
    data = training_data(split.train, "CVSelect")
    deals = [sel._cross_validate(data, cands, 0, d) for d in range(3)]
    for k, label in enumerate(three._labels(cands)):
        mean = np.mean([np.log(runs[k][0]) for runs in deals], axis=0)
        assert three.cv_scores_[label] == pytest.approx(mean.mean())
        assert three.cv_sem_[label] == pytest.approx(mean.std(ddof=1) / np.sqrt(mean.size))
    assert not np.array_equal(deals[0][0][0], deals[1][0][0])  # another split of the pairs


@hyp_settings(max_examples=40, deadline=None)
@given(n_pairs=st.integers(2, 60), folds=st.integers(2, 8), seed=st.integers(0, 2**31))
def test_ranks_of_any_deal_come_back_by_pair(n_pairs, folds, seed):
    """Each fold's x -> y then y -> x ranks land at their pairs' places, whatever the deal."""
    folds = min(folds, n_pairs)
    x = np.arange(n_pairs, dtype=float)[:, None]
    data = WeaklyPairedData(x, x, np.stack([np.arange(n_pairs)] * 2, 1))
    plan = _cv_plan(data, folds, seed, 20000, draw=seed % 3)
    parts = [np.concatenate([held + 0.25, -(held + 0.25)]) for held, _, _ in plan]
    got = _in_pair_order(parts, plan, n_pairs)
    expected = np.arange(n_pairs) + 0.25
    assert np.array_equal(got, np.concatenate([expected, -expected]))


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_bad_repeats_are_refused(split, bad):
    with pytest.raises(InputError, match="cv_repeats must be"):
        CVSelect(cv_repeats=bad, device="cpu").fit(split.train)


class _OneCostly(CVSelect):
    """CVSelect that counts its candidate `costly` as costly (as auto counts self-learning)."""

    def __init__(self, costly: int = 1, **kw):
        super().__init__(**kw)
        self.costly = costly

    def _costly(self, cands):
        return {self.costly}


@pytest.mark.parametrize("costly", [0, 1])
def test_a_clear_lead_stops_the_costly_folds_after_the_first_round(split, costly):
    """8 shared dimensions: CCA at 8 dims leads CCA at 2 by far on any two folds. Listed as
    costly, the 8-d one wins after two folds; listed as costly, the 2-d one is ruled out after
    two. Either way the choice is that of every fold, and the folds run are those of the full
    deal (same ranks, NaN elsewhere)."""
    cands = [("pair_cca", {"out_dim": 2}), ("pair_cca", {"out_dim": 8})]
    kw = dict(candidates=cands, cv_score="log_rank", device="cpu", costly=costly)
    full = _OneCostly(**kw).fit(split.train)
    early = _OneCostly(cv_stop_z=3.0, **kw).fit(split.train)
    labels = early._labels(cands)
    assert early.choice_ == full.choice_ == "pair_cca out_dim=8"
    assert full.cv_folds_ == {labels[0]: 5, labels[1]: 5}
    assert early.cv_folds_ == {labels[costly]: 2, labels[1 - costly]: 5}
    mine, every = early.cv_per_query_[labels[costly]], full.cv_per_query_[labels[costly]]
    data = training_data(split.train, "CVSelect")
    held = np.concatenate([h for h, _, _ in _cv_plan(data, 5, 0, 20000)[:2]])
    scored = np.zeros(2 * data.n_pairs, bool)
    scored[held], scored[data.n_pairs + held] = True, True
    assert np.array_equal(mine[scored], every[scored]) and np.isnan(mine[~scored]).all()
    assert np.array_equal(
        early.cv_per_query_[labels[1 - costly]], full.cv_per_query_[labels[1 - costly]]
    )
    assert early.cv_scores_[labels[costly]] == pytest.approx(np.log(mine[scored]).mean())


def test_a_tie_never_stops_the_costly_folds(split):
    """The same model under two labels: no lead, so every fold runs, and the tie goes to the
    first candidate as without the stop."""
    cands = [("pair_cca", {"out_dim": 8}), ("pair_cca", {"out_dim": 8, "matcher": "none"})]
    sel = _OneCostly(candidates=cands, cv_stop_z=0.5, device="cpu").fit(split.train)
    assert set(sel.cv_folds_.values()) == {5}
    assert sel.choice_ == "pair_cca out_dim=8"


@pytest.mark.parametrize("bad", [0, -1.0, True, "3", float("inf"), float("nan")])
def test_a_bad_early_stop_is_refused(split, bad):
    with pytest.raises(InputError, match="cv_stop_z must be a number > 0 or None"):
        CVSelect(cv_stop_z=bad, device="cpu").fit(split.train)
