"""Downstream tasks on cases with known answers."""

import numpy as np
import pytest
from sue_tasks import LatentConverter, class_prompts

from sue_framework import InputError, registry


@pytest.fixture
def clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6)) * 5
    labels = np.repeat(np.arange(4), 25)
    return centres, centres[labels] + 0.1 * rng.normal(size=(100, 6)), labels


def test_retrieval_extra_figures():
    z = np.random.default_rng(1).normal(size=(40, 5))
    r = registry.get("task", "retrieval")().evaluate(
        z, z, labels_x=np.arange(40) % 4, labels_y=np.arange(40) % 4
    )
    assert r["x2y_median_rank"] == 1.0 and r["y2x_mAP"] == 1.0 and r["x2y_class_P@1"] == 100.0
    shuffled = registry.get("task", "retrieval")().evaluate(z, z[::-1])
    assert shuffled["x2y_median_rank"] > 1.0 and shuffled["x2y_mAP"] < 0.5


def test_zero_shot_is_perfect_when_images_sit_on_their_class_prompts(clusters):
    centres, images, labels = clusters
    out = registry.get("task", "zero_shot")().evaluate(images, centres, labels_x=labels)
    assert out["accuracy"] == 100.0 and np.trace(out["confusion"]) == 100
    assert class_prompts(["cat", "dog"]) == ["A photo of a cat", "A photo of a dog"]
    with pytest.raises(InputError, match="template"):
        class_prompts(["cat"], "no slot")
    wrong = registry.get("task", "zero_shot")().evaluate(images, centres[::-1], labels_x=labels)
    assert wrong["accuracy"] == 0.0


def test_cross_domain_knn(clusters):
    _, z, labels = clusters
    out = registry.get("task", "cross_domain")().evaluate(
        z, z + 0.01, labels_x=labels, labels_y=labels
    )
    assert out == {"x2y_accuracy": 100.0, "y2x_accuracy": 100.0}
    with pytest.raises(InputError, match="labels"):
        registry.get("task", "cross_domain")().evaluate(z, z)


def test_arithmetic_finds_the_sum():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    gallery = np.vstack([rng.normal(size=(50, 8)), a + b])
    out = registry.get("task", "arithmetic")(k=1).evaluate(
        [a, b], gallery, targets=np.arange(50, 55)
    )
    assert out["hit@1"] == 100.0 and [n[0] for n in out["neighbours"]] == list(range(50, 55))


def test_modality_gap():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(200, 4))
    same = registry.get("task", "modality_gap")().evaluate(z[:100], z[100:])
    apart = registry.get("task", "modality_gap")().evaluate(z[:100], z[100:] + 5.0)
    assert same["linear_separability"] < 70 and apart["linear_separability"] > 99
    assert apart["relative_gap"] > 3 * same["relative_gap"]


def test_generation_converter_learns_a_linear_latent_map():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(300, 6)).astype(np.float32)
    w = z @ rng.normal(size=(6, 3)).astype(np.float32)
    task = registry.get("task", "generation")(
        hidden=(64,), epochs=200, lr=1e-2, batch_size=64, device="cpu"
    )
    out = task.evaluate(z[:200], w[:200], z[200:], w[200:])
    assert out["mean_cosine"] > 0.95
    conv = LatentConverter(hidden=(32,), epochs=5, device="cpu").fit(z, w)
    assert conv.generate(z[:3], decoder=lambda lat: lat.shape) == (3, 3)
