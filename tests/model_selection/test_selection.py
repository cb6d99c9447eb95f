import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError, paper_split, registry
from sue_framework.components.aligners import CCA
from sue_framework.io.model_files import load_method, save_method
from sue_framework.model_selection.selection import (
    CV_SCORES,
    RULES,
    choose,
    choose_dealt,
    pair_cv_scores,
    query_scores,
)
from tests.conftest import two_view_blobs


def test_cv_scores_separate_informative_from_random_features():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 10))  # shared latent; each view adds its own 3 noise dims
    fx = np.hstack([z, rng.normal(size=(400, 3))]) @ rng.normal(size=(13, 13))
    fy = np.hstack([z, rng.normal(size=(400, 3))]) @ rng.normal(size=(13, 13))
    pairs = np.stack([np.arange(100), np.arange(100)], axis=1)
    good = pair_cv_scores(fx, fy, pairs, lambda d: CCA(d, device="cpu"), out_dim=10)
    bad = pair_cv_scores(fx, rng.permutation(fy), pairs, lambda d: CCA(d, device="cpu"), out_dim=10)
    ranks = 1 / good - 1  # each score is 1 / (1 + the rank of the held-out partner)
    assert good.shape == (200,) and np.allclose(ranks, np.round(ranks)) and ranks.min() >= 0
    assert good.mean() > 0.3 and bad.mean() < 0.05


@pytest.fixture(scope="module")
def split():
    x, y, _ = two_view_blobs(600, seed=6)
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


SMALL = {
    "se_dim": 6,
    "out_dim": 4,
    "solver_params": {"graph_params": {"n_neighbors": 10}},
    "matcher_params": {"epochs": 3, "batch_size": 64},
    "device": "cpu",
}


def test_sue_select_picks_by_cv_and_round_trips(split, tmp_path):
    m = registry.get("method", "sue_select")(**SMALL).fit(split.train)
    assert set(m.cv_scores_) == {"se", "se+raw", "raw"} and m.choice_ in m.cv_scores_
    # the paired one-standard-error rule (auto's too), recomputed from the held-out queries'
    # scores: the first candidate whose per-query gap to the best is within its standard error
    q = m.cv_per_query_
    best = max(q, key=lambda c: q[c].mean())
    gaps = {c: q[best] - q[c] for c in q}
    within = [
        c for c in ("se", "se+raw", "raw")
        if gaps[c].mean() <= gaps[c].std(ddof=1) / np.sqrt(gaps[c].size)
    ]  # fmt: skip
    assert m.choice_ == within[0]
    assert all(m.cv_scores_[c] == pytest.approx(q[c].mean()) for c in q)
    z = m.transform(split.y_test, "y")
    assert np.array_equal(
        load_method(save_method(m, tmp_path / "s.sue")).transform(split.y_test, "y"), z
    )
    # a state written before SUESelect was a CVSelect: the choice as an index, nothing else
    old = {k: v for k, v in m.get_state().items() if k not in ("n_pairs", "width", "choice_label")}
    fresh = registry.get("method", "sue_select")(**SMALL)
    fresh.set_state(old)
    assert fresh.choice_ == m.choice_
    assert np.array_equal(fresh.transform(split.y_test, "y"), z)


def test_sue_select_with_few_pairs_keeps_the_first_candidate(split):
    from sue_framework import WeaklyPairedData

    few = WeaklyPairedData(split.train.x, split.train.y, split.train.pairs[:9])
    m = registry.get("method", "sue_select")(**SMALL).fit(few)
    assert m.choice_ == "se" and m.cv_scores_ == {}
    with pytest.raises(InputError, match="unknown candidate"):
        registry.get("method", "sue_select")(candidates=("pixels",)).fit(few)


def test_registry_build_applies_policy_and_checks_params():
    solver = registry.build("solver", "exact", {"n_components": 3}, {"n_components": 9, "seed": 4})
    assert solver.n_components == 3 and solver.seed == 4
    with pytest.raises(InputError, match="takes no parameter.*bogus"):
        registry.build("aligner", "cca", {"bogus": 1})


def test_one_ranking_rule_for_selection_and_evaluation():
    """Pair CV and the retrieval task rank alike; ties count against the query in both, so
    collapsed embeddings rank last, not first."""
    from sue_framework.model_selection.ranking import reciprocal_ranks, target_ranks

    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    figures = registry.get("task", "retrieval")(ks=(1, 5), device="cpu").evaluate(q, g)
    ranks = target_ranks(q, g, device="cpu")
    assert figures["x2y_R@5"] == pytest.approx(100 * np.mean(ranks < 5))  # the task's ranks
    tied = g.copy()
    tied[1] = g[0]  # a copy of query 0's target: an exact tie, which counts against the query
    s0 = (tied / np.linalg.norm(tied, axis=1, keepdims=True)) @ (q[0] / np.linalg.norm(q[0]))
    expected = int((np.delete(s0, 0) >= s0[0]).sum())
    assert s0[1] == s0[0] and expected == int((np.delete(s0, [0, 1]) > s0[0]).sum()) + 1
    assert target_ranks(q[:1], tied, device="cpu")[0] == expected
    sim = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        g / np.linalg.norm(g, axis=1, keepdims=True)
    ).T
    brute = np.array([(sim[i] > sim[i, i]).sum() for i in range(30)])
    assert np.array_equal(target_ranks(q, g, device="cpu"), brute)
    collapsed = np.ones((8, 3))
    assert np.all(reciprocal_ranks(collapsed, collapsed, np.arange(8)) == 1 / 8)


def test_sue_select_ties_are_paired_like_auto(split, monkeypatch):
    """A candidate a hair behind the best on every query is behind by more than the noise of
    the differences (paired), though well within the best's own spread (unpaired)."""
    rng = np.random.default_rng(0)
    best = rng.uniform(0.05, 1.0, size=200)  # widely spread per-query scores
    designed = {"se": best - 0.01 + rng.normal(0, 0.002, 200), "se+raw": best, "raw": best - 0.5}
    cls = registry.get("method", "sue_select")
    monkeypatch.setattr(cls, "_cv", lambda self, choice, data, seed: designed[choice])
    m = cls(**SMALL).fit(split.train)
    assert m.choice_ == "se+raw"
    unpaired_sem = best.std(ddof=1) / np.sqrt(best.size)
    assert designed["se"].mean() >= best.mean() - unpaired_sem  # the old rule would tie "se"


def test_the_rules_pick_by_the_evidence():
    """Rule "best" takes the highest mean; "one_se" the first candidate within one paired
    standard error of it, so a later candidate wins only by more than the noise."""
    base = np.random.default_rng(0).uniform(size=200)
    swing = np.tile([1.0, -1.0], 100)  # mean 0: the difference's noise, exactly
    close = {"cheap": base, "dear": base + 0.01 + 0.2 * swing}  # 0.01 < its SE, 0.014
    far = {"cheap": base, "dear": base + 0.1 + 0.05 * swing}  # 0.1 > its SE, 0.0035
    order = ["cheap", "dear"]
    assert choose(close, order, "best") == 1 and choose(close, order, "one_se") == 0
    assert choose(far, order, "best") == 1 and choose(far, order, "one_se") == 1


def test_query_scores_are_the_named_functions_of_the_rank():
    ranks = np.array([1.0, 2.0, 4.0, 100.0])
    assert np.allclose(query_scores(1 / ranks, "reciprocal_rank"), [1.0, 0.5, 0.25, 0.01])
    assert np.allclose(query_scores(1 / ranks, "root_rank"), [1.0, 0.5**0.5, 0.5, 0.1])
    assert np.allclose(query_scores(1 / ranks, "log_rank"), -np.log(ranks))
    with pytest.raises(ValueError, match="how must be one of"):
        query_scores(1 / ranks, "mean_rank")


def test_flatter_scores_prefer_the_steady_candidate_over_a_few_lucky_first_places():
    """`lucky` ranks 6 of 50 queries first and the rest 300th; `steady` ranks every query
    10th. The mean reciprocal rank (0.123 against 0.1) rests on the six first places; the
    rank's root and log count every query."""
    lucky = 1 / np.array([1.0] * 6 + [300.0] * 44)
    steady = 1 / np.full(50, 10.0)
    order = ["lucky", "steady"]
    picks = {
        how: order[choose({k: query_scores(v, how) for k, v in
                           zip(order, (lucky, steady), strict=True)}, order, "best")]
        for how in CV_SCORES
    }  # fmt: skip
    assert picks == {"reciprocal_rank": "lucky", "root_rank": "steady", "log_rank": "steady"}


def test_pairs_rank_both_ways_among_every_row_of_the_other_side():
    from sue_framework.model_selection.ranking import paired_reciprocal_ranks

    rng = np.random.default_rng(5)
    zx, zy = rng.normal(size=(12, 4)), rng.normal(size=(9, 4))
    i, j = np.array([3, 0, 11]), np.array([8, 2, 2])  # y row 2 is in two pairs
    unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    sim = unit(zx) @ unit(zy).T
    x_to_y = [(np.delete(sim[a], b) >= sim[a, b]).sum() for a, b in zip(i, j, strict=True)]
    y_to_x = [(np.delete(sim[:, b], a) >= sim[a, b]).sum() for a, b in zip(i, j, strict=True)]
    want = 1 / (1 + np.array(x_to_y + y_to_x))
    np.testing.assert_allclose(paired_reciprocal_ranks(zx, zy, i, j), want)


def _q(*values: float) -> list[np.ndarray]:
    """Per-query scores of one candidate in each deal: 30 queries around each value."""
    noise = np.random.default_rng(0).normal(0, 0.01, 30)
    return [v + noise for v in values]


def test_dealt_choice_compares_a_first_deal_candidate_on_the_first_deal():
    """The cheap candidates are ranked by their mean over the deals; the winner then meets
    the candidates scored on the first deal alone, on that deal only."""
    per_deal = {"a": _q(0.3, 0.9, 0.9), "d": _q(0.45, 0.1, 0.1), "costly": _q(0.4)}
    order = ["a", "d", "costly"]
    # a's deals average 0.7 > costly's 0.4, but on the deal they share costly leads (0.4 > 0.3);
    # d leads costly on that deal too, yet lost the first round to a
    for rule in RULES:
        assert choose_dealt(per_deal, order, rule) == 2
    per_deal["costly"] = _q(0.2)
    assert choose_dealt(per_deal, order, "best") == 0


@settings(max_examples=50, deadline=None)
@given(
    means=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
    rule=st.sampled_from(RULES),
    seed=st.integers(0, 2**31),
)
def test_with_one_deal_each_the_dealt_choice_is_the_plain_one(means, rule, seed):
    rng = np.random.default_rng(seed)
    per_query = {f"c{i}": m + rng.normal(0, 0.05, 25) for i, m in enumerate(means)}
    order = list(per_query)
    dealt = {k: [v] for k, v in per_query.items()}
    assert choose_dealt(dealt, order, rule) == choose(per_query, order, rule)
