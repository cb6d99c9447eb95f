"""Pictures with names: emoji drawn in different styles, from the ``emoji-datasource-<style>``
npm packages (MIT; the images are each vendor's, under its licence: Google's Noto Emoji
Apache-2.0, Twitter's Twemoji CC-BY 4.0, Facebook's and Apple's their own terms).

Get a style with npm, no account needed::

    npm pack emoji-datasource-google@16.0.0 && tar xzf emoji-datasource-google-16.0.0.tgz \\
        && mv package emoji-datasource-google

Each package holds ``emoji.json`` (every emoji's name, code points and image file name) and
``img/<style>/64/*.png`` (64 x 64 pictures, transparent background). Skin-tone variants are
left out: about 1,900 emoji, each with one picture per style.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sue_datasets.encoded import EncodedItemPairs
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

STYLES = ("google", "twitter", "apple", "facebook")
EMOJI_DIR = "emoji-datasource-{style}"


def emoji_pictures(folder: Path, style: str) -> dict[str, tuple[Path, str]]:
    """Code points -> (picture path, lower-case name) of every emoji the package draws.

    Parameters
    ----------
    folder : Path
        An unpacked emoji-datasource-<style> package.
    style : str
        The picture style.
    """
    if style not in STYLES:
        raise InputError(f"style must be one of {STYLES}, got {style!r}")
    folder = Path(folder)
    index = folder / "emoji.json"
    if not index.is_file():
        raise InputError(
            f"{index} not found: get the pictures with `npm pack emoji-datasource-{style}` and "
            f"unpack the tarball there (sue_datasets.pictures says how), or pass the folder"
        )
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{index} is not a readable emoji index ({exc})") from exc
    out: dict[str, tuple[Path, str]] = {}
    for e in entries:
        path = folder / "img" / style / "64" / str(e.get("image", ""))
        name = str(e.get("name") or "").strip().lower()
        if e.get(f"has_img_{style}") and name and path.is_file():
            out[str(e["unified"])] = (path, name)
    if not out:
        raise InputError(f"{folder} holds no {style} pictures under img/{style}/64")
    return out


def flatten_alpha(path: Path) -> np.ndarray:
    """An RGBA picture composited on white, as an H x W x 3 uint8 array (a transparent
    background would otherwise turn black).

    Parameters
    ----------
    path : Path
        A picture with an alpha channel.
    """
    from PIL import Image

    with Image.open(path) as im:
        rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


class _EmojiSet(EncodedItemPairs):
    """Shared loading: where a style's package lies; pictures flattened on white."""

    data_dir: str | None = None

    def _folder(self, folder: str | None, style: str) -> Path:
        """`folder`, else emoji-datasource-<style> in `data_dir` ($SUE_DATA_DIR, else the
        working directory)."""
        if folder:
            return Path(folder)
        root = Path(self.data_dir or os.environ.get("SUE_DATA_DIR") or ".")
        return root / EMOJI_DIR.format(style=style)

    @staticmethod
    def _pixels(paths: list[Path]) -> list[np.ndarray]:
        return [flatten_alpha(p) for p in paths]


class EmojiPictureName(_EmojiSet):
    """An emoji's picture (EfficientNet-Lite0, 1280-d) <-> its English name (MiniLM, 384-d):
    pictures against text, about 1,900 pairs.

    Parameters
    ----------
    data_dir : str, optional
        Folder holding emoji-datasource-<style> (default $SUE_DATA_DIR, else the working folder).
    style : str
        The picture style: "google", "twitter", ...
    folder : str, optional
        The style's package folder itself (overrides `data_dir`).
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
        data_dir: str | None = None,
        *,
        style: str = "google",
        folder: str | None = None,
        encoder_x: str = "efficientnet_lite",
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
        self.data_dir = data_dir
        self.style = style
        self.folder = folder

    def items(self) -> tuple[list, list]:
        pics = emoji_pictures(self._folder(self.folder, self.style), self.style)
        keys = sorted(pics)
        return self._pixels([pics[k][0] for k in keys]), [pics[k][1] for k in keys]


class EmojiTwoStyles(_EmojiSet):
    """The same emoji drawn in two styles (Google <-> Twitter by default), each through an
    image encoder (EfficientNet-Lite0 for both by default): about 1,900 pairs.

    Parameters
    ----------
    data_dir : str, optional
        Folder holding emoji-datasource-<style> (default $SUE_DATA_DIR, else the working folder).
    style_x, style_y : str
        The two picture styles.
    folder_x, folder_y : str, optional
        Each style's package folder itself (overrides `data_dir`).
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
        data_dir: str | None = None,
        *,
        style_x: str = "google",
        style_y: str = "twitter",
        folder_x: str | None = None,
        folder_y: str | None = None,
        encoder_x: str = "efficientnet_lite",
        encoder_x_params: dict | None = None,
        encoder_y: str = "efficientnet_lite",
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
        self.data_dir = data_dir
        self.style_x = style_x
        self.style_y = style_y
        self.folder_x = folder_x
        self.folder_y = folder_y

    def items(self) -> tuple[list, list]:
        if self.style_x == self.style_y:
            raise InputError(f"style_x and style_y must differ, both are {self.style_x!r}")
        px = emoji_pictures(self._folder(self.folder_x, self.style_x), self.style_x)
        py = emoji_pictures(self._folder(self.folder_y, self.style_y), self.style_y)
        keys = sorted(set(px) & set(py))
        return self._pixels([px[k][0] for k in keys]), self._pixels([py[k][0] for k in keys])
