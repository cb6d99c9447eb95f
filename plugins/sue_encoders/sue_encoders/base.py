"""Shared encoder behaviour: batching, a progress bar, the engine's device and the disk cache."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sue_encoders.cache import EmbeddingCache
from sue_framework.errors import InputError
from sue_framework.interfaces import Encoder


class BatchedEncoder(Encoder):
    """Subclasses give `encoder_id` (model and version, for cache keys and manifests) and
    `_encode_batch`; `encode` adds batching, progress and the optional cache in `cache_dir`."""

    batch_size: int = 64
    cache_dir: str | None = None
    progress: bool = False

    @property
    @abstractmethod
    def encoder_id(self) -> str:
        """Identifies the model and its version; part of every cache key."""

    @abstractmethod
    def _encode_batch(self, items: list) -> np.ndarray:
        """(len(items), d) float32 embeddings of one batch."""

    def encode(self, items: Sequence) -> np.ndarray:
        items = list(items)
        if not items:
            raise InputError("nothing to encode: the item list is empty")
        cache = (
            EmbeddingCache(Path(self.cache_dir) / "embeddings.sqlite", self.encoder_id)
            if self.cache_dir
            else None
        )
        keys = [cache.key(str(it)) for it in items] if cache else []
        found = cache.get_many(keys) if cache else {}
        todo = [i for i in range(len(items)) if not cache or keys[i] not in found]
        vecs: dict[int, np.ndarray] = {
            i: found[keys[i]] for i in range(len(items)) if cache and keys[i] in found
        }
        bs = max(1, int(self.batch_size))
        bar = tqdm(
            total=len(todo), desc=type(self).__name__, unit="item", disable=not self.progress
        )
        try:
            for s in range(0, len(todo), bs):
                idx = todo[s : s + bs]
                out = np.asarray(self._encode_batch([items[i] for i in idx]), dtype=np.float32)
                vecs.update(zip(idx, out, strict=True))
                if cache:
                    cache.put_many([keys[i] for i in idx], out)
                bar.update(len(idx))
        finally:
            bar.close()
            if cache:
                cache.close()
        return np.stack([vecs[i] for i in range(len(items))]).astype(np.float32)
