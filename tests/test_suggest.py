import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError, WeaklyPairedData, registry, suggest_pairs
from sue_framework.cli import main


def _clusters(n=600, k=8, d=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 6
    label = rng.integers(0, k, n)
    return (centres[label] + rng.normal(size=(n, d))).astype(np.float32), label


@given(st.integers(0, 10_000), st.integers(0, 30), st.sampled_from(["diversity", "design", "auto"]))
@settings(max_examples=15, deadline=None)
def test_never_a_paired_row_never_twice_and_the_same_for_a_seed(seed, n_paired, strategy):
    x, _ = _clusters(n=120, seed=seed % 7)
    rng = np.random.default_rng(seed)
    pairs = np.stack([rng.choice(120, n_paired, replace=False), np.arange(n_paired)], 1)
    got = suggest_pairs(x, 10, pairs=pairs, strategy=strategy, seed=seed)
    assert got.size == 10 and np.unique(got).size == 10
    assert not np.isin(got, pairs[:, 0]).any()
    assert np.array_equal(got, suggest_pairs(x, 10, pairs=pairs, strategy=strategy, seed=seed))


def test_diversity_takes_one_row_of_every_planted_cluster():
    x, label = _clusters()
    got = suggest_pairs(x, 8, strategy="diversity")
    assert sorted(label[got].tolist()) == list(range(8))
    # clusters that already hold a pair are covered: the next picks go elsewhere
    pairs = np.stack([np.flatnonzero(label == 0)[:3], np.arange(3)], 1)
    assert 0 not in label[suggest_pairs(x, 7, pairs=pairs, strategy="diversity")]


def _axes(seed, per=60, k=6, d=12):
    """Rows in 2k clusters at +-e_j (j < k) in a random rotation: k directions, 2k regions."""
    rng = np.random.default_rng(seed)
    rot = np.linalg.qr(rng.normal(size=(d, d)))[0]
    axis = np.repeat(np.arange(k), 2 * per)
    sign = np.tile(np.repeat([1.0, -1.0], per), k)
    rows = np.eye(d)[axis] * sign[:, None] + 0.15 * rng.normal(size=(axis.size, d))
    return (rows @ rot).astype(np.float32), axis


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_design_spreads_a_batch_over_directions_and_counts_the_pairs_made(seed):
    x, axis = _axes(seed)
    # a row at -e_j tells a linear map nothing that one at +e_j did not: one per direction
    assert sorted(axis[suggest_pairs(x, 6, strategy="design", seed=seed)]) == list(range(6))
    # rows along directions 0 and 1 already paired: the next four take the other four
    made = np.flatnonzero(axis < 2)[[0, 70, 130, 200]]
    pairs = np.stack([made, np.arange(4)], 1)
    got = suggest_pairs(x, 4, pairs=pairs, strategy="design", seed=seed)
    assert sorted(axis[got]) == [2, 3, 4, 5]


@pytest.mark.parametrize("strategy", ["design", "diversity"])
def test_outlying_rows_are_not_asked_for(strategy):
    """Eight rows in directions no cluster shares, which a design over directions alone would
    rate highest: neither strategy asks for more than one."""
    for seed in range(3):
        x, _ = _clusters(seed=seed)
        outliers = np.random.default_rng(100 + seed).normal(size=(8, 10)).astype(np.float32) * 6
        got = suggest_pairs(np.vstack([x, outliers]), 8, strategy=strategy, seed=seed)
        assert (got >= x.shape[0]).sum() <= 1
    with pytest.raises(InputError, match="dims and per_pair"):
        registry.get("selector", "design")(dims=0)


def test_uncertainty_prefers_rows_whose_partner_has_a_near_twin():
    """A map fit on every pair is right; x rows whose partner has a near-identical twin among
    the y rows are the ones whose match it cannot be sure of."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 10)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    y = (x @ q).astype(np.float32)
    twins = rng.choice(200, 20, replace=False)
    y_all = np.vstack([y, y[twins] + 1e-3 * rng.normal(size=(20, 10)).astype(np.float32)])
    model = registry.get("method", "pair_cca")(out_dim=10, device="cpu")
    model.fit(WeaklyPairedData(x, y, np.stack([np.arange(200)] * 2, 1)))
    got = suggest_pairs(x, 10, y=y_all, model=model, strategy="uncertainty")
    assert np.isin(got, twins).sum() >= 8
    # auto is diversity, with a model too (docs/active_pairs.md: it served self-learning better)
    assert np.array_equal(suggest_pairs(x, 10, y=y_all, model=model), suggest_pairs(x, 10))
    assert np.isin(suggest_pairs(x, 10, strategy="diversity"), twins).sum() <= 4


def test_suggesting_rows_of_y_and_bad_requests():
    x, _ = _clusters(n=50)
    y = x[:, :6] + 1.0
    got = suggest_pairs(x, 5, y=y, side="y", pairs=np.array([[0, 1], [1, 2]]))
    assert not np.isin(got, [1, 2]).any() and got.max() < 50
    with pytest.raises(InputError, match="only 48 rows of x are not paired"):
        suggest_pairs(x, 49, pairs=np.array([[0, 0], [1, 1]]))
    with pytest.raises(InputError, match="points outside x"):
        suggest_pairs(x, 3, pairs=np.array([[50, 0]]))
    with pytest.raises(InputError, match="side='y'"):
        suggest_pairs(x, 3, side="y")
    with pytest.raises(InputError, match="needs a fitted model"):
        suggest_pairs(x, 3, y=y, strategy="uncertainty")
    model = registry.get("method", "pair_cca")(out_dim=3, device="cpu")
    model.fit(WeaklyPairedData(x[:, :4], y, np.stack([np.arange(20)] * 2, 1)))
    with pytest.raises(InputError, match="rows of 4"):  # fit on 4-wide x rows, given 10
        suggest_pairs(x, 3, y=y, model=model)
    with pytest.raises(InputError, match="positive whole number"):
        suggest_pairs(x, 0)


def test_a_hundred_thousand_rows_are_clustered_on_a_sample_that_keeps_every_region():
    """100,000 rows in 20 well-separated groups of very unequal sizes (the five smallest 300
    rows each): the 20 suggestions, clustered on a sample, spread over the groups, small ones
    included, where 20 rows drawn at random fall in about 9 groups and rarely in a small one."""
    rng = np.random.default_rng(0)
    sizes = np.r_[[300] * 5, [2_000] * 10, [15_000] * 5]
    sizes[-1] += 100_000 - sizes.sum()
    centres = rng.normal(size=(20, 16)) * 20.0
    group = np.repeat(np.arange(20), sizes)
    big = (centres[group] + rng.normal(size=(100_000, 16))).astype(np.float32)
    got = suggest_pairs(big, 20)
    assert len(set(got.tolist())) == 20 and len(set(group[got].tolist())) >= 19
    assert len(set(group[got].tolist()) & set(range(5))) >= 4  # the small groups
    assert np.array_equal(got, suggest_pairs(big, 20))  # seeded: the same rows again


def test_sue_suggest_writes_a_file_that_sue_fit_takes_once_filled_in(tmp_path, capsys):
    x, _ = _clusters(n=300)
    rng = np.random.default_rng(2)
    y = (x @ rng.normal(size=(10, 8))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "items.txt").write_text("\n".join(f"thing {i}" for i in range(300)) + "\n")
    ask = tmp_path / "ask.csv"
    assert (
        main(
            [
                "suggest",
                "--x",
                str(tmp_path / "x.npy"),
                "--n",
                "12",
                "--out",
                str(ask),
                "--items",
                str(tmp_path / "items.txt"),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(ask.open()))
    assert len(rows) == 12 and all(r["y"] == "" and r["x_item"] == f"thing {r['x']}" for r in rows)
    # a person pairs ten of them (here row i of x pairs row i of y) and leaves two for later
    for r in rows[:10]:
        r["y"] = r["x"]
    with ask.open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["x", "y", "x_item"])
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "m.sue"
    code = main(
        [
            "fit",
            "--x",
            str(tmp_path / "x.npy"),
            "--y",
            str(tmp_path / "y.npy"),
            "--pairs",
            str(ask),
            "--method",
            "pair_cca",
            "--params",
            '{"out_dim": 4}',
            "--out",
            str(out),
            "--device",
            "cpu",
        ]
    )
    assert code == 0 and out.is_file()
    assert "2 row(s) have no partner yet" in capsys.readouterr().err
    # the next round: the model and the pairs made so far
    assert (
        main(
            [
                "suggest",
                "--x",
                str(tmp_path / "x.npy"),
                "--y",
                str(tmp_path / "y.npy"),
                "--pairs",
                str(ask),
                "--model",
                str(out),
                "--n",
                "5",
                "--out",
                str(tmp_path / "ask2.csv"),
            ]
        )
        == 0
    )
    again = [int(r["x"]) for r in csv.DictReader((tmp_path / "ask2.csv").open())]
    assert not set(again) & {int(r["x"]) for r in rows[:10]}
    assert (
        main(
            [
                "suggest",
                "--x",
                str(tmp_path / "x.npy"),
                "--n",
                "5",
                "--out",
                str(tmp_path / "a3.csv"),
                "--items",
                str(tmp_path / "y.npy"),
            ]
        )
        == 2
    )
