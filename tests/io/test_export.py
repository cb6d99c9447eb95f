import importlib.util
import sys

import numpy as np
import pytest

from sue_framework import InputError, paper_split, registry
from sue_framework.cli import main
from sue_framework.io.export import export_model, onnx_transform
from sue_framework.io.model_files import load_method, read_linear_map
from tests.conftest import latent_views, needs

needs_onnx = pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in ("onnx", "onnxscript", "onnxruntime")),
    reason="needs onnx, onnxscript and onnxruntime (pip install 'sue-framework[export]')",
)
LINEAR = [
    ("pair_cca", {"out_dim": 6}),
    ("semi_cca", {"out_dim": 8}),
    ("self_train", {"out_dim": 8}),
    ("sue", {"solver": "identity", "aligner": "procrustes", "matcher": "none", "out_dim": 5}),
]


@pytest.fixture(scope="module")
def split():
    x, y = latent_views(n=500)
    return paper_split(x, y[:, :20], n_pairs=40, n_test=100, seed=0)


def _fit(split, name, params, path):
    if name == "sue":  # Procrustes needs two sides of one width
        from sue_framework import WeaklyPairedData

        tr = split.train
        data = WeaklyPairedData(tr.x[:, :20], tr.y, tr.pairs)
        model = registry.get("method", name)(seed=0, device="cpu", **params).fit(data)
        rows = {"x": split.x_test[:, :20], "y": split.y_test}
    else:
        model = registry.get("method", name)(seed=0, device="cpu", **params).fit(split.train)
        rows = {"x": split.x_test, "y": split.y_test}
    model.save(path)
    return model, rows


@pytest.mark.parametrize("name, params", LINEAR)
def test_a_linear_model_file_maps_with_numpy_alone_bit_for_bit(split, tmp_path, name, params):
    model, rows = _fit(split, name, params, tmp_path / "m.sue")
    linear = read_linear_map(tmp_path / "m.sue")
    assert linear is not None
    for side, r in rows.items():
        assert np.array_equal(linear.transform(r, side), model.transform(r, side))
        assert np.array_equal(load_method(tmp_path / "m.sue").transform(r, side),
                              model.transform(r, side))  # fmt: skip


@pytest.mark.slow  # fits the paper pipeline with its MMD network
def test_a_model_that_is_not_linear_carries_no_map(split, tmp_path):
    params = {"se_dim": 6, "out_dim": 4, "matcher_params": {"epochs": 2}}
    registry.get("method", "sue")(seed=0, device="cpu", **params).fit(split.train).save(
        tmp_path / "m.sue"
    )
    assert read_linear_map(tmp_path / "m.sue") is None
    with pytest.raises(InputError, match="not one linear map per side.*--format onnx"):
        export_model(tmp_path / "m.sue", tmp_path / "out", "npz")
    with pytest.raises(InputError, match="cannot be exported as ONNX yet"):
        export_model(tmp_path / "m.sue", tmp_path / "out2", "onnx")


@pytest.mark.parametrize("name, params", LINEAR)
def test_npz_export_reproduces_transform_by_its_readme_formula(split, tmp_path, name, params):
    model, rows = _fit(split, name, params, tmp_path / "m.sue")
    assert main(["export", "--model", str(tmp_path / "m.sue"), "--format", "npz", "--out",
                 str(tmp_path / "ex")]) == 0  # fmt: skip
    assert "scale * (v - mean) @ matrix" in (tmp_path / "ex" / "README.md").read_text()
    m = np.load(tmp_path / "ex" / "map.npz")
    for side, r in rows.items():
        z = m[f"{side}_scale"] * (r.astype(np.float64) - m[f"{side}_mean"]) @ m[f"{side}_matrix"]
        assert np.allclose(z, model.transform(r, side), rtol=0, atol=1e-5)


@needs_onnx
@pytest.mark.slow
@pytest.mark.parametrize("name, params", [LINEAR[0], LINEAR[3]])
def test_onnx_export_reproduces_transform(split, tmp_path, name, params):
    model, rows = _fit(split, name, params, tmp_path / "m.sue")
    assert main(["export", "--model", str(tmp_path / "m.sue"), "--format", "onnx", "--out",
                 str(tmp_path / "ex")]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["README.md", "x.onnx", "y.onnx"]
    (tmp_path / "ex").rename(tmp_path / "moved")  # self-contained: no weights file beside it
    for side, r in rows.items():
        for n in (1, len(r)):  # any number of rows
            z = onnx_transform(tmp_path / "moved" / f"{side}.onnx", r[:n])
            assert np.allclose(z, model.transform(r[:n], side), rtol=0, atol=1e-4)


@needs_onnx
@needs("sue_baselines")
@pytest.mark.slow
def test_onnx_export_of_asif_chosen_by_auto(split, tmp_path):
    model = registry.get("method", "auto")(families=("asif",), device="cpu").fit(split.train)
    model.save(tmp_path / "m.sue")
    assert read_linear_map(tmp_path / "m.sue") is None
    export_model(tmp_path / "m.sue", tmp_path / "ex", "onnx")
    for side, r in (("x", split.x_test), ("y", split.y_test)):
        z = onnx_transform(tmp_path / "ex" / f"{side}.onnx", r)
        assert np.allclose(z, model.transform(r, side), rtol=0, atol=1e-4)


def test_export_refuses_a_folder_with_files_and_an_unknown_format(split, tmp_path):
    _fit(split, "pair_cca", {"out_dim": 4}, tmp_path / "m.sue")
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty"):
        export_model(tmp_path / "m.sue", tmp_path / "ex", "npz")
    with pytest.raises(InputError, match="format must be one of"):
        export_model(tmp_path / "m.sue", tmp_path / "ex2", "csv")
    export_model(tmp_path / "m.sue", tmp_path / "ex", "npz", force=True)
    assert (tmp_path / "ex" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_sue_transform_of_a_linear_model_imports_no_torch(split, tmp_path):
    import subprocess

    _, rows = _fit(split, "pair_cca", {"out_dim": 4}, tmp_path / "m.sue")
    np.save(tmp_path / "x.npy", rows["x"])
    code = (
        "import sys; from sue_framework.cli import main; "
        f"rc = main(['transform', '--model', {str(tmp_path / 'm.sue')!r}, '--modality', 'x', "
        f"'--input', {str(tmp_path / 'x.npy')!r}, '--out', {str(tmp_path / 'z.npy')!r}]); "
        "print(sorted(m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules)); "
        "sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert np.load(tmp_path / "z.npy").shape == (len(rows["x"]), 4)


@needs_onnx
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, params",
    [
        ("domain_confusion", {"matcher_params": {"epochs": 3}}),  # PCA, then the MMD network
        ("sue", {"solver": "identity", "out_dim": 4, "matcher": "adversarial",
                 "matcher_params": {"epochs": 2}}),  # fmt: skip
    ],
)
@needs("sue_baselines")
def test_onnx_export_of_a_pipeline_with_a_network(split, tmp_path, name, params):
    """A SUE pipeline whose first stage is PCA or the identity exports whole: the first stage,
    the aligner's map and the matcher's network on the moving side, in one graph per side."""
    model = registry.get("method", name)(seed=0, device="cpu", **params).fit(split.train)
    model.save(tmp_path / "m.sue")
    assert read_linear_map(tmp_path / "m.sue") is None  # not linear: the network moves y
    export_model(tmp_path / "m.sue", tmp_path / "ex", "onnx")
    for side, r in (("x", split.x_test), ("y", split.y_test)):
        z = onnx_transform(tmp_path / "ex" / f"{side}.onnx", r)
        assert np.allclose(z, model.transform(r, side), rtol=0, atol=1e-4)
