import numpy as np
import pytest

from sue_framework import SUE, InputError, WeaklyPairedData, paper_split, registry
from sue_framework.io.model_files import load_method, save_method
from tests.conftest import two_view_blobs

SMALL_SUE = {
    "se_dim": 6,
    "out_dim": 4,
    "solver_params": {"graph_params": {"n_neighbors": 10}},
    "matcher_params": {"epochs": 5, "batch_size": 64},
}
# (name, params, uses the pairs to align: must beat chance clearly)
METHODS = [
    ("contrastive", {"out_dim": 4, "epochs": 30}, True),
    ("cca_raw", {"out_dim": 4}, True),
    ("asif", {}, True),
    ("procrustes_raw", {"out_dim": 4, "se_dim": 4}, True),
    ("se_cca", {**SMALL_SUE, "matcher_params": None}, True),
    ("se_mmd", SMALL_SUE, False),
    ("domain_confusion", {"out_dim": 4, "se_dim": 4, "matcher_params": {"epochs": 5}}, False),
    ("ae_ablation", {**SMALL_SUE, "solver_params": {"epochs": 20, "hidden": [32]}}, True),
]


@pytest.fixture(scope="module")
def split():
    x, y, _ = two_view_blobs(500, seed=4)
    return paper_split(x, y, n_pairs=60, n_test=100, seed=0)


@pytest.mark.parametrize("name, params, aligns", METHODS, ids=[m[0] for m in METHODS])
def test_baseline_contract_and_round_trip(split, tmp_path, name, params, aligns):
    m = registry.get("method", name)(**params, seed=0, device="cpu").fit(split.train)
    zx, zy = m.transform(split.x_test, "x"), m.transform(split.y_test, "y")
    assert zx.shape[0] == zy.shape[0] == 100 and zx.shape[1] == zy.shape[1]
    assert np.all(np.isfinite(zx)) and np.all(np.isfinite(zy))
    r = registry.get("task", "retrieval")().evaluate(zx, zy)
    if aligns:
        assert r["x2y_R@10"] > 20 and r["y2x_R@10"] > 20, r  # chance is 10 %
    loaded = load_method(save_method(m, tmp_path / f"{name}.sue"))
    assert np.array_equal(loaded.transform(split.y_test, "y"), zy)


def test_variants_are_sue_with_stages_swapped():
    assert isinstance(registry.get("method", "se_cca")(), SUE)
    assert registry.get("method", "se_cca")().matcher == "none"
    assert registry.get("method", "se_mmd")().aligner == "none"
    assert registry.get("method", "ae_ablation")(se_dim=12).get_params()["se_dim"] == 12


def test_domain_confusion_ignores_pairs(split):
    f = registry.get("method", "domain_confusion")
    params = {"out_dim": 4, "se_dim": 4, "matcher_params": {"epochs": 3}, "device": "cpu"}
    with_pairs = f(**params).fit(split.train).transform(split.y_test, "y")
    no_pairs = (
        f(**params).fit(WeaklyPairedData(split.train.x, split.train.y)).transform(split.y_test, "y")
    )
    assert np.array_equal(with_pairs, no_pairs)


def test_asif_keeps_top_entries_and_needs_anchors(split):
    m = registry.get("method", "asif")(n_nonzero=5, device="cpu").fit(split.train)
    z = m.transform(split.x_test, "x")
    assert z.shape == (100, 60) and np.all((z > 0).sum(1) <= 5)
    assert np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="at least 1 pair"):
        registry.get("method", "asif")().fit(WeaklyPairedData(split.train.x, split.train.y))


def test_contrastive_is_repeatable_and_needs_two_pairs(split):
    f = registry.get("method", "contrastive")
    a = f(epochs=10, device="cpu").fit(split.train).transform(split.x_test, "x")
    b = f(epochs=10, device="cpu").fit(split.train).transform(split.x_test, "x")
    assert np.array_equal(a, b)
    with pytest.raises(InputError, match="at least 2 pairs"):
        f(device="cpu").fit(WeaklyPairedData(split.train.x, split.train.y, split.train.pairs[:1]))


def test_contrastive_early_stopping_keeps_the_best_held_out_epoch(split):
    f = registry.get("method", "contrastive")
    model = f(out_dim=4, epochs=400, val_fraction=0.3, patience=5, lr=3e-3, device="cpu")
    h = np.asarray(model.fit(split.train).val_history_)
    assert len(h) < 400  # 60 pairs overfit long before 400 epochs
    assert len(h) - 1 - int(h.argmin()) == 5  # stopped 5 epochs after the best one
    with pytest.raises(InputError, match="val_fraction"):
        f(val_fraction=1.0, device="cpu").fit(split.train)


def test_contrastive_cv_tunes_by_pair_cv_and_saves_exactly(split, tmp_path):
    model = registry.get("method", "contrastive_cv")(
        widths=(16,),
        temperatures=(0.07, 0.5),
        weight_decays=(1e-4,),
        out_dim=4,
        epochs=20,
        folds=3,
        device="cpu",
    ).fit(split.train)
    assert len(model.cv_scores_) == 2 and model.choice_ in model.cv_scores_
    loaded = load_method(save_method(model, tmp_path / "ccv.sue"))
    for mod, rows in (("x", split.x_test), ("y", split.y_test)):
        assert np.array_equal(loaded.transform(rows, mod), model.transform(rows, mod))


def test_autoencoder_solver_reconstructs_and_has_no_eigenvalues(split):
    ae = registry.get("solver", "autoencoder")(n_components=4, hidden=[32], epochs=30, device="cpu")
    z = ae.fit_transform(split.train.x)
    assert z.shape == (split.train.x.shape[0], 4) and np.all(np.isnan(ae.eigenvalues_))
    assert np.array_equal(ae.transform(split.train.x), z)
