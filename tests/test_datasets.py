import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.datasets import digits_halves, make_two_modalities


def test_digits_halves_are_the_two_halves_of_each_real_image():
    from sklearn.datasets import load_digits

    x, y = digits_halves()
    images = load_digits().images
    assert x.shape == y.shape == (1797, 32)
    # row i of x and row i of y put side by side give image i back: left, then right
    whole = np.concatenate([x.reshape(-1, 8, 4), y.reshape(-1, 8, 4)], axis=2)
    np.testing.assert_array_equal(whole, images)


def test_synthetic_is_seeded_and_shaped():
    a = make_two_modalities(200, dim_x=7, dim_y=5, seed=1)
    b = make_two_modalities(200, dim_x=7, dim_y=5, seed=1)
    assert a.x.shape == (200, 7) and a.y.shape == (200, 5) and a.labels.shape == (200,)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, make_two_modalities(200, dim_x=7, dim_y=5, seed=2).x)


def test_synthetic_views_share_latent_geometry_until_noise_drowns_it():
    """Neighbours in x are neighbours in y when noise is low; much less so when it is high."""

    def neighbour_agreement(d):
        def nn(a):
            dist = ((a[:, None] - a[None]) ** 2).sum(-1)
            np.fill_diagonal(dist, np.inf)
            return np.argsort(dist, 1)[:, :10]

        nx, ny = nn(d.x), nn(d.y)
        return np.mean([len(set(p) & set(q)) / 10 for p, q in zip(nx, ny, strict=True)])

    clean = neighbour_agreement(make_two_modalities(300, noise=0.05, seed=0))
    noisy = neighbour_agreement(make_two_modalities(300, noise=3.0, seed=0))
    assert clean > 0.3 and noisy < clean / 2


def test_synthetic_rejects_bad_settings():
    with pytest.raises(InputError):
        make_two_modalities(100, noise=-1)


# -- your own arrays -------------------------------------------------------------------------------
def _views(n=500, seed=0):
    from tests.conftest import two_view_blobs

    x, y, _ = two_view_blobs(n, seed=seed)
    return x, y


def test_arrays_runs_an_experiment_from_a_config_on_files_a_user_made(tmp_path, monkeypatch):
    """Row i pairs row i: `sue experiment` on two .npy files, paths relative to the cwd."""
    from sue_framework.cli import main
    from sue_framework.experiment import read_results

    x, y = _views()
    np.save(tmp_path / "img.npy", x)
    np.save(tmp_path / "txt.npy", y)
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\ndataset = "arrays"\n'
        'dataset_params = { x = "img.npy", y = "txt.npy" }\n'
        'n_test = 100\npairs = [20]\nseeds = [0]\ndevice = "cpu"\n'
        '[[methods]]\nlabel = "CCA"\nname = "pair_cca"\nparams = { out_dim = 4 }\n'
        '[[methods]]\nlabel = "Semi-CCA"\nname = "semi_cca"\nparams = { out_dim = 4 }\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "mine.toml", "--out-dir", "out"]) == 0
    rows = read_results(tmp_path / "out" / "results.csv")
    assert [r["method"] for r in rows] == ["CCA", "Semi-CCA"]
    assert all(r["n_unpaired_x"] == 0.9 * 380 and r["x2y_R@10"] > 10 for r in rows)


def test_arrays_with_a_pairs_file_keeps_the_other_rows_as_unpaired(tmp_path):
    from sue_framework.experiment import ExperimentConfig, MethodSpec, run_experiment

    x, y = _views(600, seed=1)
    order = np.random.default_rng(0).permutation(600)  # y stored in another order
    np.savez(tmp_path / "x.npz", feats=x, ids=np.arange(600))
    np.save(tmp_path / "y.npy", y[order])
    where = np.argsort(order)  # row i of x pairs row where[i] of y
    listed = np.arange(0, 600, 2)  # only half of the true pairs are known
    lines = "\n".join(f"{i}\t{where[i]}" for i in listed)
    (tmp_path / "pairs.tsv").write_text("x_row\ty_row\n" + lines)
    from sue_framework import registry

    params = {"x": str(tmp_path / "x.npz"), "x_key": "feats", "y": str(tmp_path / "y.npy"),
              "pairs": str(tmp_path / "pairs.tsv")}  # fmt: skip
    ds = registry.build("dataset", "arrays", params)
    px, py = ds.load()
    assert np.array_equal(px, x[listed].astype(px.dtype)) and np.allclose(py, y[listed])
    ux, uy = ds.unpaired()
    assert ux.shape[0] == uy.shape[0] == 300
    cfg = ExperimentConfig(
        name="p", dataset="arrays", dataset_params=params, n_test=100, pairs=(20,),
        methods=(MethodSpec("CCA", "pair_cca", {"out_dim": 4}),), device="cpu",
    )  # fmt: skip
    (row,) = run_experiment(cfg, tmp_path / "out")
    assert row["n_unpaired_x"] == round(0.9 * 180) + 300  # the split's rows plus the unknown


@pytest.mark.parametrize(
    "files, params, message",
    [
        ({}, {"x": "nope.npy", "y": "y.npy"}, "x: no file at nope.npy"),
        ({"x.npy": 5, "y.npy": 6}, {"x": "x.npy", "y": "y.npy"}, "has 5 rows and y .* 6"),
        ({"x.npz": 5, "y.npy": 5}, {"x": "x.npz", "y": "y.npy"}, r"holds the arrays \['a', 'b'\]"),
        ({"x.npy": 5, "y.npy": 5, "p.csv": "0,1\n0,2"}, {"x": "x.npy", "y": "y.npy",
         "pairs": "p.csv"}, "use a row of x twice"),
        ({"x.bin": 5, "y.npy": 5}, {"x": "x.bin", "y": "y.npy"}, "unsupported file type '.bin'"),
    ],
)  # fmt: skip
def test_arrays_says_what_is_wrong_with_the_files(tmp_path, monkeypatch, files, params, message):
    from sue_framework import registry

    rng = np.random.default_rng(0)
    for name, content in files.items():
        if name.endswith(".npy"):
            np.save(tmp_path / name, rng.normal(size=(content, 3)))
        elif name.endswith(".npz"):
            np.savez(tmp_path / name, a=rng.normal(size=(content, 3)), b=np.ones(2))
        elif name.endswith(".csv"):
            (tmp_path / name).write_text(content)
        else:
            (tmp_path / name).write_bytes(b"\0" * 8)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message):
        registry.build("dataset", "arrays", params).load()


def test_arrays_reads_csv_with_a_header_and_parquet(tmp_path):
    from sue_framework import registry

    x, y = _views(200)
    header = ",".join(f"f{i}" for i in range(x.shape[1]))
    np.savetxt(tmp_path / "x.csv", x, delimiter=",", header=header, comments="")
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({f"g{i}": y[:, i] for i in range(y.shape[1])}), tmp_path / "y.parquet")
    pq.write_table(pa.table({"emb": list(y)}), tmp_path / "y_list.parquet")
    for y_file in ("y.parquet", "y_list.parquet"):
        params = {"x": str(tmp_path / "x.csv"), "y": str(tmp_path / y_file)}
        gx, gy = registry.build("dataset", "arrays", params).load()
        assert np.allclose(gx, x, atol=1e-6) and np.allclose(gy, y), y_file


def test_digits_views_are_pixels_and_fourier_magnitudes_that_a_half_turn_cannot_change():
    from sklearn.datasets import load_digits

    from sue_framework.datasets import digits_views

    x, y = digits_views()
    images = load_digits().images
    assert x.shape == (1797, 64) and y.shape == (1797, 40)
    assert np.array_equal(x[5], images[5].ravel())
    turned = np.rot90(images[5], 2)
    # a half turn changes the pixels but no Fourier magnitude: y cannot tell the two apart
    np.testing.assert_allclose(np.abs(np.fft.rfft2(turned)).ravel(), y[5], rtol=1e-5, atol=1e-4)
    assert not np.allclose(turned.ravel(), x[5])
