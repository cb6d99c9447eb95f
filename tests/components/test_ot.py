import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework.components.ot import kl_plan_surrogate, plan_kl, sinkhorn_plan


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 12),
    m=st.integers(2, 12),
    eps=st.sampled_from([0.3, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_plans_meet_their_marginals(n, m, eps, seed):
    """Scores in [-1, 1] and eps >= 0.3 keep Sinkhorn's contraction fast enough for the budget;
    at small eps a near-permutation plan converges like exp(-range / eps) per round."""
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(n, m, generator=g, dtype=torch.float64) * 2 - 1
    plan = sinkhorn_plan(scores, eps, n_iter=5000, tol=1e-10)
    assert torch.all(plan >= 0)
    np.testing.assert_allclose(plan.sum(1).numpy(), np.full(n, 1 / n), rtol=1e-6)
    np.testing.assert_allclose(plan.sum(0).numpy(), np.full(m, 1 / m), rtol=1e-6)


def test_a_permutation_is_recovered_at_small_eps():
    perm = torch.tensor([2, 0, 3, 1])
    scores = torch.eye(4, dtype=torch.float64)[perm]
    plan = sinkhorn_plan(scores, 0.01)
    assert torch.equal(plan.argmax(1), scores.argmax(1))
    assert float(plan.max(1).values.min()) > 0.24


def test_kl_between_plans_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(0)
    eps, eps_teacher = 0.5, 0.05
    teacher = sinkhorn_plan(torch.rand(5, 4, generator=g, dtype=torch.float64), eps_teacher)
    scores = torch.rand(5, 4, generator=g, dtype=torch.float64).requires_grad_(True)
    opts = {"n_iter": 20000, "tol": 1e-13}
    kl_plan_surrogate(scores, teacher, eps, **opts).backward()

    def kl(s: torch.Tensor) -> float:
        return float(plan_kl(teacher, sinkhorn_plan(s, eps, **opts)))

    h = 1e-5
    numeric = torch.zeros_like(scores)
    base = scores.detach()
    for i in range(5):
        for j in range(4):
            up, down = base.clone(), base.clone()
            up[i, j] += h
            down[i, j] -= h
            numeric[i, j] = (kl(up) - kl(down)) / (2 * h)
    np.testing.assert_allclose(scores.grad.numpy(), numeric.numpy(), atol=1e-6)
