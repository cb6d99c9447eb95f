import numpy as np
import pytest
import torch
from sklearn.base import clone

from sue_framework import SUE, InputError, NotFittedError, WeaklyPairedData, paper_split
from sue_framework.components.spectral import ExactSpectral
from tests.conftest import needs, two_view_blobs


@pytest.fixture
def split():
    x, y, _ = two_view_blobs(500, seed=1)
    return paper_split(x, y, n_pairs=30, n_test=100, seed=0)


def test_fit_transform_shapes_and_repeatability(split, small_sue_params):
    a = SUE(**small_sue_params).fit(split.train)
    zx, zy = a.transform(split.x_test, "x"), a.transform(split.y_test, modality="y")
    assert zx.shape == zy.shape == (100, 4) and zx.dtype == np.float32
    b = SUE(**small_sue_params).fit(split.train)
    assert np.array_equal(zx, b.transform(split.x_test, "x"))
    assert np.array_equal(zy, b.transform(split.y_test, "y"))
    stages = a.stage_outputs(split.y_test, "y")
    assert stages["se"].shape == (100, 6) and np.allclose(stages["universal"], zy)


def test_alignment_beats_chance(split, small_sue_params):
    from sue_framework.evaluation.retrieval import RetrievalTask

    params = {**small_sue_params, "matcher_params": {"epochs": 20, "batch_size": 64}}
    m = SUE(**params).fit(split.train)
    r = RetrievalTask().evaluate(m.transform(split.x_test, "x"), m.transform(split.y_test, "y"))
    assert r["x2y_R@10"] > 25 and r["y2x_R@10"] > 25  # chance is 10 % with 100 test pairs


def test_estimator_contract(small_sue_params):
    m = SUE(**small_sue_params)
    assert clone(m).get_params() == m.get_params()
    m.set_params(out_dim=3)
    assert m.out_dim == 3
    with pytest.raises(NotFittedError):
        m.transform(np.ones((2, 3)))


def test_component_instances_are_cloned_not_mutated(split, small_sue_params):
    solver = ExactSpectral(n_components=6, graph_params={"n_neighbors": 10, "device": "cpu"})
    params = {k: v for k, v in small_sue_params.items() if k != "solver_params"}
    m = SUE(solver=solver, **params).fit(split.train)
    assert not hasattr(solver, "embedding_") and m.solver_x_ is not solver


def test_bad_inputs(split, small_sue_params):
    x, y = split.train.x, split.train.y
    with pytest.raises(InputError, match="needs at least 5 pairs, got 4"):
        SUE(**small_sue_params).fit(WeaklyPairedData(x, y, split.train.pairs[:4]))
    with pytest.raises(InputError, match="exceeds se_dim"):
        SUE(**{**small_sue_params, "out_dim": 7}).fit(split.train)
    m = SUE(**small_sue_params).fit(split.train)
    with pytest.raises(InputError, match=r"x rows: \d+ features, but this SUE was fitted on"):
        m.transform(y, "x")
    with pytest.raises(InputError, match="NaN"):
        m.transform(np.full((2, 12), np.nan), "x")
    with pytest.raises(InputError, match="modality"):
        m.transform(x, "z")
    with pytest.raises(InputError, match="WeaklyPairedData"):
        SUE().fit(x)


def test_pipeline_device_and_seed_reach_every_stage(split, small_sue_params):
    m = SUE(**{**small_sue_params, "seed": 3}).fit(split.train)
    assert m.solver_x_.graph_.device == "cpu" and m.solver_y_.device == "cpu"
    assert m.aligner_.device == "cpu" and m.matcher_.device == "cpu"
    assert m.solver_x_.seed == 3 and m.matcher_.seed == 3
    assert m.solver_x_.n_components == 6 and m.aligner_.n_components == 4


def test_ablation_stages_by_name(split, small_sue_params, tmp_path):
    """matcher="none" gives SE + CCA; aligner="none" gives SE + MMD without pairs for alignment."""
    with pytest.raises(InputError, match="matcher 'none' takes no parameter.* epochs"):
        SUE(**{**small_sue_params, "matcher": "none"}).fit(split.train)
    no_mmd = SUE(**{**small_sue_params, "matcher": "none", "matcher_params": None})
    no_mmd.fit(split.train)
    stages = no_mmd.stage_outputs(split.y_test, "y")
    assert np.array_equal(stages["aligned"], stages["universal"])
    no_cca = SUE(**{**small_sue_params, "aligner": "none", "matcher_params": {"epochs": 1}})
    no_cca.fit(split.train)
    se = no_cca.stage_outputs(split.x_test, "x")
    assert np.array_equal(se["aligned"], se["se"][:, :4])
    again = SUE.load(no_mmd.save(tmp_path / "no_mmd.sue"))
    assert np.array_equal(again.transform(split.y_test, "y"), no_mmd.transform(split.y_test, "y"))


def test_matcher_can_move_x_instead_of_y(split, small_sue_params):
    params = {**small_sue_params, "matcher_params": {"epochs": 3, "batch_size": 64, "moving": "x"}}
    m = SUE(**params).fit(split.train)
    assert m.moving_ == "x"
    sx, sy = m.stage_outputs(split.x_test, "x"), m.stage_outputs(split.y_test, "y")
    assert np.array_equal(sy["aligned"], sy["universal"])  # y stays put
    assert not np.array_equal(sx["aligned"], sx["universal"])  # x is moved


class _NaNOnY(ExactSpectral):
    """A spectral solver that breaks on one row of its input, as an unstable stage would."""

    def fit_transform(self, X):
        out = super().fit_transform(X)
        if X.shape[1] == 9:  # the y side of two_view_blobs
            out[3] = np.nan
        return out


def test_a_stage_that_produces_nan_is_named(split):
    from sue_framework import NumericalError

    model = SUE(solver=_NaNOnY(n_components=6), se_dim=6, out_dim=4, matcher="none", device="cpu")
    with pytest.raises(
        NumericalError,
        match=r"first stage \(_NaNOnY\) on y produced NaN or inf "
        r"in 1 of \d+ rows",
    ):
        model.fit(split.train)
    assert not hasattr(model, "matcher_")


@pytest.mark.parametrize(
    "name",
    ["sue", pytest.param("contrastive", marks=needs("sue_baselines")),
     pytest.param("ae_ablation", marks=needs("sue_baselines"))],
)  # fmt: skip
def test_one_seed_policy_and_the_callers_random_state_is_untouched(split, name):
    """An int seed repeats bitwise on CPU; seed=None is fresh each fit (every stage, the networks
    too); no fit reads or changes the caller's global random state."""
    import random

    from sue_framework import registry

    fast = {
        "sue": {"se_dim": 6, "out_dim": 4, "matcher_params": {"epochs": 15, "patience": 15}},
        "contrastive": {"epochs": 15},
        "ae_ablation": {"solver_params": {"epochs": 3, "hidden": [16]},
                        "matcher_params": {"epochs": 5}},
    }[name]  # fmt: skip

    def embed(seed):
        model = registry.get("method", name)(seed=seed, device="cpu", **fast).fit(split.train)
        return model.transform(split.y_test, "y")

    random.seed(11)
    np.random.seed(11)  # noqa: NPY002 - the caller's legacy global state
    torch.manual_seed(11)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())  # noqa: NPY002
    assert np.array_equal(embed(3), embed(3))
    assert not np.allclose(embed(None), embed(None))
    after = (random.getstate(), np.random.get_state()[1], torch.get_rng_state())  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    assert torch.equal(before[2], after[2])


def test_nested_parameters_reach_the_fit_or_are_refused(split):
    """set_params(solver__n_components=...) changes the fit, for a stage given by name or as an
    instance; a stage setting that contradicts an explicit se_dim is refused, never dropped."""
    from sue_framework import InputError

    base = dict(se_dim=10, out_dim=4, matcher="none", device="cpu")
    by_name = SUE(**base).set_params(solver__n_components=7)
    assert by_name.get_params()["solver_params"] == {"n_components": 7}
    assert by_name.fit(split.train).stage_outputs(split.x_test, "x")["se"].shape[1] == 7
    instance = SUE(solver=ExactSpectral(n_components=5), **base)
    instance.set_params(solver__n_components=7)
    assert instance.get_params()["solver__n_components"] == 7
    assert instance.fit(split.train).stage_outputs(split.x_test, "x")["se"].shape[1] == 7
    clash = SUE(**{**base, "se_dim": 6}).set_params(solver__n_components=7)
    with pytest.raises(InputError, match=r"'exact' sets n_components=7 but the pipeline.s se_dim"):
        clash.fit(split.train)
    with pytest.raises(InputError, match="set deeper levels inside solver_params"):
        SUE(**base).set_params(solver__graph__n_neighbors=5)
    agree = SUE(solver=ExactSpectral(n_components=6, device="cpu"), **{**base, "se_dim": 6})
    assert agree.fit(split.train).stage_outputs(split.y_test, "y")["se"].shape[1] == 6
