"""The OpenCLIP encoder on a tiny randomly initialised CLIP (needs open_clip_torch, and so a
torchvision that matches torch; skipped where they are missing, run on the GPU machine)."""

import json

import numpy as np
import pytest
import torch

from sue_framework import registry

open_clip = pytest.importorskip("open_clip")

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("oc") / "sue-tiny-clip.json"
    path.write_text(json.dumps(TINY))
    open_clip.add_model_config(path)
    return "sue-tiny-clip"


def test_both_towers_match_open_clip(tiny):
    torch.manual_seed(0)
    img = [np.random.default_rng(i).integers(0, 256, (48, 40, 3), dtype=np.uint8) for i in range(3)]
    texts = ["a red dress", "a pair of shoes"]
    enc_i = registry.get("encoder", "open_clip")(model=tiny, modality="image", device="cpu")
    enc_t = registry.get("encoder", "open_clip")(model=tiny, modality="text", device="cpu")
    enc_t._loaded = enc_i._load()  # same random weights for both towers
    zi, zt = enc_i.encode(img), enc_t.encode(texts)
    assert zi.shape == (3, 32) and zt.shape == (2, 32)
    assert np.allclose(np.linalg.norm(zi, axis=1), 1, atol=1e-5)
    net, preprocess, tokenizer = enc_i._loaded
    from PIL import Image

    with torch.no_grad():
        ref_i = net.encode_image(torch.stack([preprocess(Image.fromarray(a)) for a in img]))
        ref_t = net.encode_text(tokenizer(texts))
    ref_i = torch.nn.functional.normalize(ref_i, dim=1).numpy()
    ref_t = torch.nn.functional.normalize(ref_t, dim=1).numpy()
    assert np.allclose(zi, ref_i, atol=1e-5) and np.allclose(zt, ref_t, atol=1e-5)


def test_uncached_hub_model_fails_fast(tiny):
    import time

    from sue_framework import InputError

    start = time.perf_counter()
    with pytest.raises(InputError, match="OpenCLIP.*marqo-fashionSigLIP"):
        registry.get("encoder", "open_clip")(model="hf-hub:Marqo/marqo-fashionSigLIP").encode(
            ["a dress"]
        )
    with pytest.raises(InputError, match="OpenCLIP"):
        registry.get("encoder", "open_clip")(model="ViT-B-32", pretrained="openai").encode(
            ["a dress"]
        )
    assert time.perf_counter() - start < 20
