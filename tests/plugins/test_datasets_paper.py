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
        ("class_folders", {"root": "missing"}, "no class folder at missing: give root=FOLDER"),
        ("office31", {"root": "missing"}, "no Office-31 folder at missing: download Office-31"),
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


class Numbers(Encoder):
    """A text -> the first three numbers in it."""

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def encode(self, items):
        return np.array([[float(v) for v in re.findall(r"\d+", t)[:3]] for t in items])


@pytest.fixture
def colour_encoders():
    private = Registry()
    private.register("encoder", "mean_colour", MeanColour)
    private.register("encoder", "numbers", Numbers)
    private.register("encoder", "red_level", RedLevel)
    with private.use():
        yield


COLOURS = {"tabby_cat": (200, 30, 30), "dog": (30, 200, 30), "shore": (30, 30, 200),
           "snow": (200, 200, 30)}  # fmt: skip


def _class_folders(root, per_class, seed, layout="{domain}/{cls}", domain="", shift=0):
    """Images whose mean colour is their class's colour (+ `shift`) with a little noise."""
    rng = np.random.default_rng(seed)
    for cls, colour in COLOURS.items():
        for i in range(per_class):
            rgb = tuple(int(np.clip(c + shift + rng.integers(-8, 9), 0, 255)) for c in colour)
            folder = root / layout.format(domain=domain, cls=cls).lstrip("/")
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (4, 4), rgb).save(folder / f"{cls}_{i}.png")


def test_class_folders_pair_each_image_with_its_class_prompt(tmp_path, stand_ins):
    for k, cls in enumerate(["n001", "n002", "n003"]):
        for i in range(2 + k):
            _image(tmp_path / "imagenet" / cls / f"{i}.JPEG", red=10 * (k + 1))
    (tmp_path / "LOC_synset_mapping.txt").write_text(
        "n001 10 cats, felines\nn002 20 dogs\nn003 30 shores\n"
    )
    ds = registry.build("dataset", "class_folders", {
        "root": str(tmp_path / "imagenet"), "classes": ["n003", "n001"],
        "synset_mapping": str(tmp_path / "LOC_synset_mapping.txt"), **stand_ins})  # fmt: skip
    x, y = ds.load()
    labels_x, labels_y = ds.labels()
    assert x.shape == (6, 3) and np.allclose(x[:, 0], y[:, 0])  # image <-> its class's prompt
    assert labels_x.tolist() == [0, 0, 0, 0, 1, 1] and labels_y.tolist() == labels_x.tolist()
    assert ds.prompts_ == ["A photo of a 30 shores", "A photo of a 10 cats"]
    assert np.allclose(ds.task_inputs()["zy"][:, 0], [30, 10])  # one prompt per class, in order
    capped = registry.build("dataset", "class_folders", {
        "root": str(tmp_path / "imagenet"), "max_per_class": 1, "template": "{} photo",
        "class_names": {"n002": "20 hounds"}, **stand_ins})  # fmt: skip
    capped.load()
    assert capped.prompts_ == ["n001 photo", "20 hounds photo", "n003 photo"]
    assert capped.labels()[0].tolist() == [0, 1, 2]
    with pytest.raises(InputError, match=r"classes \['n009'\] have no image folder"):
        params = {"root": str(tmp_path / "imagenet"), "classes": ["n009"], **stand_ins}
        registry.build("dataset", "class_folders", params).load()


def test_office31_pairs_images_of_the_same_class_across_domains(tmp_path, colour_encoders):
    root = tmp_path / "office31"
    _class_folders(root, 3, seed=0, layout="{domain}/images/{cls}", domain="amazon")
    for cls in COLOURS:  # the other layout, and a class with more images on this side
        for i in range(2 if cls != "dog" else 5):
            _image(root / "dslr" / cls / f"{i}.jpg", red=COLOURS[cls][0])
    _image(root / "dslr" / "only_here" / "0.jpg", red=1)
    ds = registry.build("dataset", "office31", {
        "root": str(root), "encoder_x": "red_level", "encoder_y": "red_level"})  # fmt: skip
    x, y = ds.load()
    lx, ly = ds.labels()
    ux, uy = ds.unpaired()
    assert ds.classes_ == sorted(COLOURS)  # classes in both domains only
    assert x.shape == (9, 3) and (lx == ly).all()  # per class min(3, 2) or min(3, 5) pairs
    assert np.abs(x[:, 0] - y[:, 0]).max() < 12  # both rows of a pair show the class colour
    assert ux.shape[0] == 3 * 3 + 3 - 9 and uy.shape[0] == 2 * 3 + 5 - 9
    with pytest.raises(InputError, match="no webcam/ domain folder"):
        registry.build("dataset", "office31", {"root": str(root), "domain_y": "webcam"}).load()


def test_zero_shot_experiment_on_class_folders_and_a_held_out_set(tmp_path, colour_encoders):
    """Raw images to zero-shot accuracy: fit on one set of class folders, classify its test
    rows against the class prompts, then images of a held-out set (`eval_dataset`)."""
    from sue_framework.experiment import ExperimentConfig, MethodSpec, run_experiment

    _class_folders(tmp_path / "train", 25, seed=1)
    _class_folders(tmp_path / "held_out", 5, seed=2)
    names = {c: " ".join(map(str, rgb)) for c, rgb in COLOURS.items()}  # prompt -> its colour
    params = {"root": str(tmp_path / "train"), "class_names": names,
              "encoder_x": "mean_colour", "encoder_y": "numbers"}  # fmt: skip
    cfg = ExperimentConfig(
        name="zs", dataset="class_folders", dataset_params=params, task="zero_shot",
        n_test=40, pairs=(12,), device="cpu",
        methods=(MethodSpec("CCA", "cca_raw", {"out_dim": 3}),),
    )  # fmt: skip
    (row,) = run_experiment(cfg, tmp_path / "out")
    assert row["accuracy"] > 95
    held = {**params, "root": str(tmp_path / "held_out")}
    cfg2 = ExperimentConfig(**{**cfg.__dict__, "eval_dataset": "class_folders",
                               "eval_dataset_params": held})  # fmt: skip
    (row2,) = run_experiment(cfg2, tmp_path / "out2")
    assert row2["accuracy"] > 95
    bad = ExperimentConfig(**{**cfg.__dict__, "dataset": "digits_halves", "dataset_params": {}})
    with pytest.raises(InputError, match=r"needs \['labels_x'\], which dataset 'digits_halves'"):
        run_experiment(bad, tmp_path / "out3")


def test_cross_domain_experiment_on_office31(tmp_path, colour_encoders):
    root = tmp_path / "office31"
    _class_folders(root, 20, seed=3, domain="amazon")
    _class_folders(root, 15, seed=4, domain="dslr", shift=-25)  # another camera, darker
    from sue_framework.experiment import ExperimentConfig, MethodSpec, run_experiment

    cfg = ExperimentConfig(
        name="office", dataset="office31", task="cross_domain", n_test=30, pairs=(20,),
        device="cpu", dataset_params={"root": str(root), "encoder_x": "mean_colour",
                                      "encoder_y": "mean_colour"},
        methods=(MethodSpec("CCA", "cca_raw", {"out_dim": 3}),),
    )  # fmt: skip
    (row,) = run_experiment(cfg, tmp_path / "out")
    assert row["x2y_accuracy"] > 90 and row["y2x_accuracy"] > 90
