"""The paper's image data sets, read from their published formats and embedded by registered
encoders through the embedding cache. Nothing is downloaded: each loader says what to download
and where to put it when its files are missing.

- ``karpathy_captions``: COCO or Flickr30k images <-> one of their captions, from Karpathy's
  split files (``dataset_coco.json`` / ``dataset_flickr30k.json``) and the image folders.
- ``polyvore_items``: Polyvore Outfits item images <-> their titles (or descriptions), from
  ``polyvore_item_metadata.json`` and ``images/``.
- ``edges2shoes``: pix2pix's side-by-side ``edges | photo`` images: the left half (an edge map)
  <-> the right half (the photo).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sue_datasets.encoded import EncodedItemPairs
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

KARPATHY_HELP = (
    "download Karpathy's splits (caption_datasets.zip, holding dataset_coco.json and "
    "dataset_flickr30k.json: https://cs.stanford.edu/people/karpathy/deepimagesent/) and the "
    "images (COCO train2014 + val2014: https://cocodataset.org; Flickr30k: "
    "https://shannon.cs.illinois.edu/DenotationGraph/), then give split_json=PATH and "
    "image_root=FOLDER so that FOLDER/filepath/filename names each image"
)
POLYVORE_HELP = (
    "download Polyvore Outfits (https://github.com/mvasil/fashion-compatibility) and give "
    "root=FOLDER holding polyvore_item_metadata.json and images/ITEM_ID.jpg"
)
EDGES2SHOES_HELP = (
    "download edges2shoes.tar.gz from the pix2pix data sets "
    "(http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/) and give root=FOLDER holding "
    "train/ and val/ with the side-by-side edges|photo images"
)


def _need(path: Path, what: str, how: str) -> Path:
    if not path.exists():
        raise InputError(f"no {what} at {path}: {how}")
    return path


class KarpathyCaptions(EncodedItemPairs):
    """COCO / Flickr30k: image <-> caption number `caption` (0-4) of the `splits` chosen.

    Parameters
    ----------
    split_json : str
        Karpathy's dataset_coco.json or dataset_flickr30k.json.
    image_root : str
        Folder the JSON's image paths are relative to.
    splits : sequence of str
        Which of Karpathy's splits to use ("train", "restval", "val", "test").
    caption : int
        Which of each image's captions (0-4).
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    max_rows : int, optional
        At most this many pairs, drawn with a fixed seed before encoding (None: all).
    cache_dir : str, optional
        Embedding cache folder (resumable, keyed by content and model); None: no cache.
    """

    @keyword_only
    def __init__(
        self,
        split_json: str,
        *,
        image_root: str,
        splits: tuple[str, ...] | list[str] = ("train", "restval"),
        caption: int = 0,
        encoder_x: str = "dinov2",
        encoder_x_params: dict | None = None,
        encoder_y: str = "sbert",
        encoder_y_params: dict | None = None,
        max_rows: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(
            encoder_x,
            encoder_x_params=encoder_x_params,
            encoder_y=encoder_y,
            encoder_y_params=encoder_y_params,
            max_rows=max_rows,
            cache_dir=cache_dir,
        )
        self.split_json = split_json
        self.image_root = image_root
        self.splits = splits
        self.caption = caption

    def items(self) -> tuple[list, list]:
        spec = _need(Path(self.split_json), "Karpathy split file", KARPATHY_HELP)
        root = _need(Path(self.image_root), "image folder", KARPATHY_HELP)
        try:
            images = json.loads(spec.read_text())["images"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{spec} is not a Karpathy split file (no 'images' list)") from exc
        wanted = {self.splits} if isinstance(self.splits, str) else set(self.splits)
        paths, captions = [], []
        for im in images:
            if im.get("split") not in wanted or not im.get("sentences"):
                continue
            sentences = im["sentences"]
            paths.append(root / im.get("filepath", "") / im["filename"])
            captions.append(sentences[min(self.caption, len(sentences) - 1)]["raw"].strip())
        if paths and not paths[0].is_file():
            raise InputError(f"no image at {paths[0]} (listed in {spec}): {KARPATHY_HELP}")
        return [str(p) for p in paths], captions


class PolyvoreItems(EncodedItemPairs):
    """Polyvore Outfits: item image <-> its title (its description when the title is empty).

    Parameters
    ----------
    root : str
        The Polyvore Outfits folder (item metadata and images).
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    max_rows : int, optional
        At most this many pairs, drawn with a fixed seed before encoding (None: all).
    cache_dir : str, optional
        Embedding cache folder (resumable, keyed by content and model); None: no cache.
    """

    @keyword_only
    def __init__(
        self,
        root: str,
        *,
        encoder_x: str = "dinov2",
        encoder_x_params: dict | None = None,
        encoder_y: str = "sbert",
        encoder_y_params: dict | None = None,
        max_rows: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(
            encoder_x,
            encoder_x_params=encoder_x_params,
            encoder_y=encoder_y,
            encoder_y_params=encoder_y_params,
            max_rows=max_rows,
            cache_dir=cache_dir,
        )
        self.root = root

    def items(self) -> tuple[list, list]:
        root = _need(Path(self.root), "Polyvore folder", POLYVORE_HELP)
        meta_file = _need(root / "polyvore_item_metadata.json", "item metadata", POLYVORE_HELP)
        images = _need(root / "images", "image folder", POLYVORE_HELP)
        paths, texts = [], []
        for item_id, meta in sorted(json.loads(meta_file.read_text()).items()):
            text = (meta.get("title") or meta.get("description") or "").strip()
            path = images / f"{item_id}.jpg"
            if text and path.is_file():
                paths.append(str(path))
                texts.append(text)
        return paths, texts


class Edges2Shoes(EncodedItemPairs):
    """pix2pix edges2shoes: the edge map (left half) <-> the photo (right half) of each image.

    Parameters
    ----------
    root : str
        The edges2shoes folder (with train/ and val/).
    split : str
        "train" or "val".
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    max_rows : int, optional
        At most this many pairs, drawn with a fixed seed before encoding (None: all).
    cache_dir : str, optional
        Embedding cache folder (resumable, keyed by content and model); None: no cache.
    """

    @keyword_only
    def __init__(
        self,
        root: str,
        *,
        split: str = "train",
        encoder_x: str = "dinov2",
        encoder_x_params: dict | None = None,
        encoder_y: str = "dinov2",
        encoder_y_params: dict | None = None,
        max_rows: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(
            encoder_x,
            encoder_x_params=encoder_x_params,
            encoder_y=encoder_y,
            encoder_y_params=encoder_y_params,
            max_rows=max_rows,
            cache_dir=cache_dir,
        )
        self.root = root
        self.split = split

    def items(self) -> tuple[list, list]:
        from sue_encoders.images import load_image

        folder = _need(Path(self.root) / self.split, f"{self.split}/ folder", EDGES2SHOES_HELP)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".png"})
        edges, photos = [], []
        for path in files:
            pixels = np.asarray(load_image(path))
            half = pixels.shape[1] // 2
            if half == 0 or pixels.shape[1] % 2:
                raise InputError(f"{path} is not a side-by-side pair (width {pixels.shape[1]})")
            edges.append(np.ascontiguousarray(pixels[:, :half]))
            photos.append(np.ascontiguousarray(pixels[:, half:]))
        return edges, photos
