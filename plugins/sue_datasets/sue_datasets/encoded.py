"""Data sets whose rows are raw items (texts, images) embedded by two registered encoders,
with their embeddings kept in the embedding cache."""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path

import numpy as np

from sue_framework.errors import InputError
from sue_framework.interfaces import Dataset
from sue_framework.keywords import keyword_only
from sue_framework.registry import registry


def default_cache_dir() -> str:
    """$SUE_CACHE_DIR, else ~/.cache/sue_framework: where embeddings of data sets are kept."""
    return os.environ.get("SUE_CACHE_DIR") or str(Path.home() / ".cache" / "sue_framework")


def build_encoder(name: str, params: dict | None, cache_dir: str | None):
    """A registered encoder that keeps its embeddings in `cache_dir` (default: see above).

    Parameters
    ----------
    name : str
        A registered encoder.
    params : dict, optional
        Its parameters.
    cache_dir : str, optional
        Its embedding cache folder.
    """
    params = {"cache_dir": cache_dir or default_cache_dir(), **(params or {})}
    return registry.build("encoder", name, params)


class EncodedItemPairs(Dataset):
    """Paired items (image paths, image arrays, texts) -> two embedding matrices through two
    registered encoders. At most `max_rows` pairs are drawn (fixed seed) before encoding, so a
    quick run on a large set encodes only what it uses.

    Parameters
    ----------
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    max_rows : int, optional
        At most this many pairs, drawn with a fixed seed before encoding (None: all).
    cache_dir : str, optional
        Embedding cache folder.
    """

    @keyword_only
    def __init__(
        self,
        encoder_x: str,
        *,
        encoder_x_params: dict | None,
        encoder_y: str,
        encoder_y_params: dict | None,
        max_rows: int | None,
        cache_dir: str | None,
    ) -> None:
        self.encoder_x = encoder_x
        self.encoder_x_params = encoder_x_params
        self.encoder_y = encoder_y
        self.encoder_y_params = encoder_y_params
        self.max_rows = max_rows
        self.cache_dir = cache_dir

    @abstractmethod
    def items(self) -> tuple[list, list]:
        """(x items, y items), x[i] <-> y[i]."""

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        ix, iy = self.items()
        if not ix:
            raise InputError(f"{type(self).__name__} found no pairs in its files")
        keep = np.arange(len(ix))
        if self.max_rows is not None and keep.size > self.max_rows:
            keep = np.sort(np.random.default_rng(0).choice(keep, self.max_rows, replace=False))
        self.items_x_ = [ix[i] for i in keep]
        self.items_y_ = [iy[i] for i in keep]
        x = build_encoder(self.encoder_x, self.encoder_x_params, self.cache_dir)
        y = build_encoder(self.encoder_y, self.encoder_y_params, self.cache_dir)
        return x.encode(self.items_x_), y.encode(self.items_y_)
