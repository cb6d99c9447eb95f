"""Image inputs for the image encoders: loading, content keys for the cache, preprocessing.

Items are image paths, PIL images, or H x W x 3 (or H x W) uint8 arrays. Preprocessing is the
usual evaluation transform (resize the shorter side, centre crop, scale to [0, 1], normalise per
channel), done with PIL and numpy so that no torchvision is needed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sue_framework.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pil():
    try:
        from PIL import Image
    except ImportError as exc:
        raise InputError("image encoders need Pillow: pip install pillow") from exc
    return Image


def load_image(item):
    """An RGB PIL image from a path, a PIL image, or an (H, W[, 3]) uint8 array.

    Parameters
    ----------
    item : str, Path, PIL image or ndarray
        The image.
    """
    Image = _pil()
    if isinstance(item, Image.Image):
        return item.convert("RGB")
    if isinstance(item, np.ndarray):
        if (
            item.dtype != np.uint8
            or item.ndim not in (2, 3)
            or (item.ndim == 3 and item.shape[2] != 3)
        ):
            raise InputError(
                f"image arrays must be H x W x 3 (or H x W) uint8, got {item.dtype} {item.shape}"
            )
        return Image.fromarray(item).convert("RGB")
    if isinstance(item, str | Path):
        path = Path(item)
        if not path.is_file():
            raise InputError(f"no image file at {path}")
        try:
            with Image.open(path) as im:
                return im.convert("RGB")
        except OSError as exc:
            raise InputError(f"{path} is not a readable image ({exc})") from exc
    raise InputError(
        f"image encoders take paths, PIL images or uint8 arrays, got {type(item).__name__}"
    )


def image_key(item) -> bytes:
    """Content bytes that identify an image for the cache: a file's bytes (so a changed file is
    re-encoded), an array's shape and pixels, a PIL image's size, mode and pixels.

    Parameters
    ----------
    item : str, Path, PIL image or ndarray
        The image.
    """
    Image = _pil()
    if isinstance(item, str | Path):
        path = Path(item)
        if not path.is_file():
            raise InputError(f"no image file at {path}")
        return hashlib.sha256(path.read_bytes()).digest()
    if isinstance(item, Image.Image):
        head = f"{item.mode}{item.size}".encode()
        return hashlib.sha256(head + item.tobytes()).digest()
    arr = np.ascontiguousarray(item)
    return hashlib.sha256(f"{arr.dtype}{arr.shape}".encode() + arr.tobytes()).digest()


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to `resize`, centre-crop `crop` x `crop`, normalise.

    Parameters
    ----------
    resize : int
        The shorter side after resizing.
    crop : int
        The side of the centre crop.
    mean, std : tuple of float
        Per-channel normalisation.
    """

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __call__(self, items: list) -> torch.Tensor:
        """(b, 3, crop, crop) float32 pixels."""
        Image = _pil()
        out = np.empty((len(items), 3, self.crop, self.crop), dtype=np.float32)
        for i, item in enumerate(items):
            im = load_image(item)
            w, h = im.size
            s = self.resize / min(w, h)
            nw, nh = max(self.crop, round(w * s)), max(self.crop, round(h * s))
            im = im.resize((nw, nh), Image.Resampling.BICUBIC)
            left, top = (nw - self.crop) // 2, (nh - self.crop) // 2
            im = im.crop((left, top, left + self.crop, top + self.crop))
            a = np.asarray(im, dtype=np.float32) / 255.0
            out[i] = ((a - np.asarray(self.mean)) / np.asarray(self.std)).transpose(2, 0, 1)
        return torch.from_numpy(out)
