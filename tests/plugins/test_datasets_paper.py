"""The paper's image data sets, each from a tiny fixture in its published format. Two stand-in
encoders (registered in a private registry) read the content back, so each test checks that
row i of x and row i of y come from the same item."""

import json
import re

import numpy as np
import pytest

from sue_framework import InputError, Registry, registry
from sue_framework.interfaces import Encoder

Image = pytest.importorskip("PIL.Image")


class RedLevel(Encoder):
    """An image -> its mean red level (0-255), three times."""

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def encode(self, items):
        from sue_encoders.images import load_image

        return np.array([[np.asarray(load_image(it))[..., 0].mean()] * 3 for it in items])


class NumberIn(Encoder):
    """A text -> the first number in it, three times."""

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def encode(self, items):
        return np.array([[float(re.search(r"\d+", t).group())] * 3 for t in items])


@pytest.fixture
def stand_ins():
    private = Registry()
    private.register("encoder", "red_level", RedLevel)
    private.register("encoder", "number_in", NumberIn)
    with private.use():
        yield {"encoder_x": "red_level", "encoder_y": "number_in"}


def _image(path, red, size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (red, 0, 0)).save(path)


def test_karpathy_captions_pair_each_image_with_its_caption(tmp_path, stand_ins):
    images = []
    for i in range(6):
        folder = "val2014" if i % 2 else "train2014"
        _image(tmp_path / "coco" / folder / f"COCO_{i}.png", red=20 * i)
        images.append({
            "filepath": folder, "filename": f"COCO_{i}.png",
            "split": "test" if i == 5 else ("train" if i < 3 else "restval"),
            "sentences": [{"raw": f"A photo number {20 * i}."}, {"raw": "another caption"}],
        })  # fmt: skip
    (tmp_path / "dataset_coco.json").write_text(json.dumps({"images": images}))
    params = {"split_json": str(tmp_path / "dataset_coco.json"),
              "image_root": str(tmp_path / "coco"), **stand_ins}  # fmt: skip
    x, y = registry.build("dataset", "karpathy_captions", params).load()
    assert x.shape == (5, 3) and np.allclose(x[:, 0], y[:, 0])  # the test split is left out
    test = registry.build("dataset", "karpathy_captions", {**params, "splits": ["test"]})
    assert np.allclose(test.load()[1][:, 0], [100])


def test_polyvore_items_pair_images_with_titles(tmp_path, stand_ins):
    meta = {}
    for i in range(5):
        _image(tmp_path / "polyvore" / "images" / f"{100 + i}.jpg", red=40 * i)
        meta[str(100 + i)] = {"title": f"item {40 * i}" if i != 2 else "",
                              "description": f"described as {40 * i}"}  # fmt: skip
    meta["999"] = {"title": "item 7 without an image"}
    (tmp_path / "polyvore" / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    ds = registry.build("dataset", "polyvore_items", {"root": str(tmp_path / "polyvore"),
                                                      **stand_ins})  # fmt: skip
    x, y = ds.load()
    assert x.shape == (5, 3) and np.allclose(x[:, 0], y[:, 0], atol=1.0)  # jpeg rounds colours


def test_edges2shoes_splits_each_image_into_its_halves(tmp_path, stand_ins):
    for i in range(4):
        both = Image.new("RGB", (16, 8), (10 * i, 0, 0))
        both.paste(Image.new("RGB", (8, 8), (10 * i + 100, 0, 0)), (8, 0))
        (tmp_path / "e2s" / "train").mkdir(parents=True, exist_ok=True)
        both.save(tmp_path / "e2s" / "train" / f"{i}_AB.png")
    ds = registry.build("dataset", "edges2shoes", {"root": str(tmp_path / "e2s"),
                                                   "encoder_x": "red_level",
                                                   "encoder_y": "red_level"})  # fmt: skip
    x, y = ds.load()
    assert np.allclose(y[:, 0] - x[:, 0], 100) and np.allclose(x[:, 0], [0, 10, 20, 30])


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("karpathy_captions", {"split_json": "nope.json", "image_root": "."},
         "no Karpathy split file at nope.json: download Karpathy's splits"),
        ("polyvore_items", {"root": "missing"}, "no Polyvore folder at missing: download"),
        ("edges2shoes", {"root": "missing"}, r"no train/ folder at missing/train: download"),
    ],
)  # fmt: skip
def test_a_missing_download_says_what_to_get_and_where(tmp_path, monkeypatch, name, params,
                                                       message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message):
        registry.build("dataset", name, params).load()


class MeanColour(Encoder):
    """An image -> its mean (r, g, b)."""

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def encode(self, items):
        from sue_encoders.images import load_image

        return np.array([np.asarray(load_image(it)).reshape(-1, 3).mean(0) for it in items])


def test_an_experiment_runs_on_a_paper_format_fixture(tmp_path):
    """Raw items to table: edges2shoes in its format, encoded, split, fitted and scored."""
    from sue_framework.experiment import ExperimentConfig, MethodSpec, run_experiment

    rng = np.random.default_rng(0)
    (tmp_path / "e2s" / "train").mkdir(parents=True)
    for i in range(90):
        r, g, b = (int(v) for v in rng.integers(0, 150, 3))
        both = Image.new("RGB", (8, 4), (r, g, b))
        both.paste(Image.new("RGB", (4, 4), (r + 100, g, 255 - b)), (4, 0))
        both.save(tmp_path / "e2s" / "train" / f"{i}_AB.png")
    private = Registry()
    private.register("encoder", "mean_colour", MeanColour)
    cfg = ExperimentConfig(
        name="e2s", dataset="edges2shoes", n_test=30, pairs=(12,), device="cpu",
        dataset_params={"root": str(tmp_path / "e2s"), "encoder_x": "mean_colour",
                        "encoder_y": "mean_colour"},
        methods=(MethodSpec("CCA", "cca_raw", {"out_dim": 3}),),
    )  # fmt: skip
    with private.use():
        (row,) = run_experiment(cfg, tmp_path / "out")
    assert row["x2y_R@1"] > 90  # y is an affine map of x: CCA on 12 pairs finds it
