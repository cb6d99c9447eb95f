import numpy as np
import pytest
import torch

from sue_framework.components.matchers import MMDResNet, mmd2_rbf


def test_mmd_is_zero_for_identical_and_positive_for_shifted():
    a = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    assert float(mmd2_rbf(a, a, (1.0,))) == 0.0
    assert float(mmd2_rbf(a, a + 2.0, (0.5, 1.0, 2.0))) > 0.1


def _autograd_mmd2(a, b, multipliers, bandwidth):
    """Eq. 1 written out, differentiated by autograd: the reference for the fused kernel."""
    z = torch.cat([a, b], 0)
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp(min=0.0)
    n = z.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    base = {"mean": lambda: d2.sum() / (n * n - n), "median": lambda: d2[off].median()}.get(
        bandwidth, lambda: torch.tensor(float(bandwidth), dtype=z.dtype)
    )()
    k = sum(torch.exp(-d2 / (base.detach() * m)) for m in multipliers)
    na = a.shape[0]
    return k[:na, :na].mean() + k[na:, na:].mean() - 2.0 * k[:na, na:].mean()


@pytest.mark.parametrize("multipliers", [(0.25, 0.5, 1.0, 2.0, 4.0), (1.0, 3.0), (2.0,)])
@pytest.mark.parametrize("bandwidth", ["mean", "median", 3.0])
def test_fused_mmd_value_and_gradient_equal_autograd(multipliers, bandwidth):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(23, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = (torch.randn(17, 4, generator=g, dtype=torch.float64) + 0.7).requires_grad_(True)
    b.data[3] = a.data[5]  # a duplicate row: a zero distance across the blocks
    got = mmd2_rbf(a, b, multipliers, bandwidth)
    want = _autograd_mmd2(a, b, multipliers, bandwidth)
    assert got.item() == pytest.approx(want.item(), rel=1e-10, abs=1e-14)
    for x, y in zip(
        torch.autograd.grad(got, (a, b)), torch.autograd.grad(want, (a, b)), strict=True
    ):
        assert torch.allclose(x, y, rtol=1e-8, atol=1e-12)
    with torch.no_grad():
        assert float(mmd2_rbf(a, b, multipliers, bandwidth)) == pytest.approx(
            float(want), rel=1e-10
        )


def test_matcher_reduces_mmd_and_starts_from_identity():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(600, 3)).astype(np.float32)
    moving = (rng.normal(size=(600, 3)) * 0.5 + [2.0, -1.0, 0.5]).astype(np.float32)
    untrained = MMDResNet(epochs=0, device="cpu").fit(target, moving)
    assert np.allclose(untrained.transform(moving), moving)  # zero-initialised residual
    m = MMDResNet(epochs=40, batch_size=128, device="cpu").fit(target, moving)
    out = m.transform(moving)
    mult = (0.25, 0.5, 1.0, 2.0, 4.0)
    before = float(mmd2_rbf(torch.as_tensor(moving), torch.as_tensor(target), mult))
    after = float(mmd2_rbf(torch.as_tensor(out), torch.as_tensor(target), mult))
    assert after < 0.2 * before
    assert np.abs(out.mean(0) - target.mean(0)).max() < 0.3


def test_matcher_is_repeatable_and_state_round_trips():
    rng = np.random.default_rng(1)
    t, mv = rng.normal(size=(2, 200, 2)).astype(np.float32)
    a = MMDResNet(epochs=3, batch_size=50, device="cpu", seed=4).fit(t, mv + 1)
    b = MMDResNet(epochs=3, batch_size=50, device="cpu", seed=4).fit(t, mv + 1)
    assert np.array_equal(a.transform(mv), b.transform(mv))
    c = MMDResNet(epochs=3, batch_size=50, device="cpu", seed=4)
    c.set_state(a.get_state())
    assert np.array_equal(c.transform(mv), a.transform(mv))


def _mmd2_reference(a: np.ndarray, b: np.ndarray, base: float) -> float:
    """Biased squared MMD with one RBF kernel exp(-d^2 / base), written out in numpy."""
    z = np.vstack([a, b]).astype(np.float64)
    k = np.exp(-((z[:, None] - z[None]) ** 2).sum(-1) / base)
    n = len(a)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())


def test_median_and_fixed_bandwidths_and_patience():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 3))
    b = a + rng.normal(size=(50, 3)) + 1.0
    z = np.vstack([a, b])
    d2 = ((z[:, None] - z[None]) ** 2).sum(-1)[~np.eye(100, dtype=bool)]
    for bw, base in (("mean", d2.mean()), ("median", np.median(d2)), (2.0, 2.0)):
        got = mmd2_rbf(torch.as_tensor(a), torch.as_tensor(b), (1.0,), bw)
        assert float(got) == pytest.approx(_mmd2_reference(a, b, base), rel=1e-5)
    t, mv = rng.normal(size=(2, 300, 2)).astype(np.float32)
    m = MMDResNet(epochs=50, patience=2, batch_size=64, device="cpu").fit(t, mv + 0.01)
    hist = m.val_history_
    # stopped two epochs after the best one, which the run kept
    assert len(hist) < 50 and int(np.argmin(hist)) == len(hist) - 3
    from sue_framework import InputError

    with pytest.raises(InputError, match="bandwidth"):
        MMDResNet(bandwidth="max", device="cpu").fit(t, mv)


@pytest.mark.parametrize(
    ("cls", "setting", "message"),
    [
        ("MMDResNet", {"bandwidth": -1.0}, "bandwidth"),
        ("MMDResNet", {"epochs": -1}, "epochs"),
        ("MMDResNet", {"val_fraction": 1.0}, "val_fraction"),
        ("MMDResNet", {"min_delta": -0.1}, "min_delta"),
        ("AdversarialMatcher", {"loss": "hinge"}, "loss"),
        ("AdversarialMatcher", {"disc_steps": 0}, "disc_steps"),
        ("OTMatcher", {"teacher_eps": 0.0}, "teacher_eps"),
        ("OTMatcher", {"patience": 0}, "patience"),
    ],
)
def test_bad_settings_are_refused_before_any_work(cls, setting, message, monkeypatch):
    from sue_framework import InputError
    from sue_framework.components import matchers

    def no_work(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(matchers.residual, "train_epochs", no_work)  # where the loop is started
    t = np.zeros((20, 2), dtype=np.float32)
    with pytest.raises(InputError, match=message):
        getattr(matchers, cls)(device="cpu", **setting).fit(t, t + 1)


def test_every_matcher_setting_is_a_reported_parameter():
    """No class attribute acts as a hidden setting, and a fit leaves no scratch on the object."""
    from sue_framework.components import matchers

    t, mv = np.random.default_rng(0).normal(size=(2, 60, 2)).astype(np.float32)
    for cls in (matchers.MMDResNet, matchers.AdversarialMatcher, matchers.OTMatcher):
        fitted = cls(epochs=1, batch_size=32, device="cpu").fit(t, mv)
        params = set(fitted.get_params())
        hidden = {
            k for c in cls.__mro__ if c.__module__.startswith("sue_framework")
            for k, v in vars(c).items()
            if not k.startswith("_") and not k.endswith("_request") and not callable(v)
        }  # fmt: skip
        assert hidden <= params, (cls.__name__, hidden - params)
        extra = {k for k in vars(fitted) if k not in params}
        assert extra == {"net_", "dim_", "val_history_"}, cls.__name__


def test_min_delta_stops_on_small_gains():
    """A slow, steady descent: every epoch improves, but by less than 20 %."""
    rng = np.random.default_rng(3)
    t, mv = rng.normal(size=(2, 300, 2)).astype(np.float32)
    kw = {"epochs": 30, "patience": 3, "batch_size": 64, "lr": 1e-4, "device": "cpu"}
    steady = MMDResNet(**kw).fit(t, mv + 2.0).val_history_
    strict = MMDResNet(**kw, min_delta=0.2).fit(t, mv + 2.0).val_history_
    assert len(steady) > 10 and np.all(np.diff(steady[:10]) < 0)
    assert len(strict) == 4  # epochs 2-4 each failed to cut epoch 1's value by 20 %
    assert np.array_equal(strict, steady[:4])


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["lsgan", "wgan-gp"])
def test_adversarial_matcher_moves_towards_target(loss):
    from sue_framework.components.matchers import AdversarialMatcher

    rng = np.random.default_rng(3)
    target = rng.normal(size=(600, 2)).astype(np.float32)
    moving = (rng.normal(size=(600, 2)) + [1.5, -1.0]).astype(np.float32)
    m = AdversarialMatcher(
        loss=loss, epochs=30, batch_size=128, lr=1e-3, disc_lr=1e-3, device="cpu"
    )
    out = m.fit(target, moving).transform(moving)
    mult = (0.25, 0.5, 1.0, 2.0, 4.0)
    before = float(mmd2_rbf(torch.as_tensor(moving), torch.as_tensor(target), mult))
    after = float(mmd2_rbf(torch.as_tensor(out), torch.as_tensor(target), mult))
    assert after < 0.5 * before
    again = AdversarialMatcher(
        loss=loss, epochs=30, batch_size=128, lr=1e-3, disc_lr=1e-3, device="cpu"
    )
    assert np.array_equal(again.fit(target, moving).transform(moving), out)  # seeded: repeatable


def test_ot_matcher_steps_lower_the_plan_kl_and_state_round_trips():
    """The surrogate's steps move a residual net towards the teacher's plan on a batch pair."""
    from sue_framework.components.matchers import OTMatcher, _cosine
    from sue_framework.components.ot import kl_plan_surrogate, plan_kl, sinkhorn_plan
    from sue_framework.runtime.nn import ResidualMLP, seeded

    rng = np.random.default_rng(0)
    t = torch.tensor(rng.normal(size=(32, 4)), dtype=torch.float32)
    m = t[torch.as_tensor(rng.permutation(32))] * 0.5 + 0.3
    matcher = OTMatcher(hidden=(16,), device="cpu")
    teacher = matcher._teacher(t, m)
    net = seeded(lambda: ResidualMLP(4, (16,)), 0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def kl() -> float:
        with torch.no_grad():
            return float(plan_kl(teacher, sinkhorn_plan(_cosine(t, net(m)), matcher.eps, 500)))

    start = kl()
    for _ in range(60):
        loss = kl_plan_surrogate(_cosine(t, net(m)), teacher, matcher.eps, n_iter=100)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert kl() < 0.95 * start

    target = rng.normal(size=(200, 4)).astype(np.float32)
    fitted = OTMatcher(hidden=(8,), epochs=1, batch_size=64, sinkhorn_iter=20, device="cpu")
    fitted.fit(target, target + 1)
    again = OTMatcher(hidden=(8,), epochs=1, batch_size=64, sinkhorn_iter=20, device="cpu")
    again.set_state(fitted.get_state())
    assert np.array_equal(again.transform(target), fitted.transform(target))
