import numpy as np
import pytest
from sue_tasks.retrieval import recall_at_k, true_match_ranks

from sue_framework import InputError, registry


def test_identical_embeddings_give_perfect_recall():
    z = np.random.default_rng(0).normal(size=(50, 8))
    r = registry.get("task", "retrieval")().evaluate(z, z)
    recalls = {f"{d}_R@{k}" for d in ("x2y", "y2x") for k in (1, 5, 10)}
    assert recalls <= set(r) and all(r[k] == 100.0 for k in recalls)
    assert r["x2y_median_rank"] == r["y2x_median_rank"] == 1.0


def test_ranks_match_brute_force_and_ties_count_against():
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    sim = qn @ gn.T
    expected = (sim > np.diag(sim)[:, None]).sum(1)
    assert np.array_equal(true_match_ranks(q, g, device="cpu"), expected)
    const = np.ones((10, 3))
    assert np.all(true_match_ranks(const, const, device="cpu") == 9)  # all tied: worst rank
    assert recall_at_k(np.array([0, 4, 9, 10]), (1, 5, 10)) == {1: 25.0, 5: 50.0, 10: 75.0}


def test_mismatched_sets_are_rejected():
    with pytest.raises(InputError, match="equal shape"):
        true_match_ranks(np.ones((3, 2)), np.ones((4, 2)))
