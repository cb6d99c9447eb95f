"""Shared encoder behaviour: batching, a progress bar, the engine's device and the disk cache."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from sue_encoders.cache import EmbeddingCache
from sue_encoders.images import Preprocess, image_key
from sue_framework.errors import InputError
from sue_framework.interfaces import Encoder
from sue_framework.runtime.engine import autocast, inference_device, weight_dtype


class BatchedEncoder(Encoder):
    """Subclasses give `encoder_id` (model and version, for cache keys and manifests) and
    `_encode_batch`; `encode` adds batching, progress and the optional cache in `cache_dir`.

    `_encode_batch` receives `chunk_batches` batches at a time (one by default); an encoder
    whose library batches and sorts by length on its own (sentence-transformers) takes large
    chunks so that the sorting spans them. The cache is written chunk by chunk, so an
    interrupted run loses at most one chunk."""

    batch_size: int = 64
    chunk_batches: int = 1
    prompt: str | None = None
    dtype: str = "float32"  # weight dtype, for encoders that offer one
    cache_dir: str | None = None
    progress: bool = False
    modality: str = "text"
    normalize: bool = False

    @property
    @abstractmethod
    def encoder_id(self) -> str:
        """Identifies the model and its version; part of every cache key."""

    @abstractmethod
    def _encode_batch(self, items: list) -> np.ndarray:
        """(len(items), d) float32 embeddings of one batch."""

    def _dtype_tag(self) -> str:
        """ ":bfloat16" / ":float16" for encoders run in a lower weight dtype (their embeddings
        differ, so their cache entries must too); "" for float32."""
        return "" if self.dtype == "float32" else f":{self.dtype}"

    def _item_key(self, item) -> str | bytes:
        """What identifies an item's content in the cache: the text, or the image's bytes."""
        return image_key(item) if self.modality == "image" else str(item)

    def _finish(self, z: torch.Tensor) -> np.ndarray:
        """float32 on the host, L2-normalised when `normalize` is set."""
        z = z.float()
        if self.normalize:
            z = torch.nn.functional.normalize(z, dim=1)
        return z.cpu().numpy()

    def _prompted(self, items: list) -> list:
        """Texts with the `prompt` template applied ("query: {}", "A photo of a {}"; a
        template without "{}" is prepended), so that cache keys see the texts as encoded."""
        if not self.prompt or self.modality != "text":
            return items
        if "{}" in self.prompt:
            return [self.prompt.format(t) for t in items]
        return [self.prompt + str(t) for t in items]

    def encode(self, items: Sequence) -> np.ndarray:
        """(len(items), d) float32 embeddings, in batches, from and into the cache."""
        items = self._prompted(list(items))
        if not items:
            raise InputError("nothing to encode: the item list is empty")
        cache = (
            EmbeddingCache(Path(self.cache_dir) / "embeddings.sqlite", self.encoder_id)
            if self.cache_dir
            else None
        )
        keys = [cache.key(self._item_key(it)) for it in items] if cache else []
        found = cache.get_many(keys) if cache else {}
        todo = [i for i in range(len(items)) if not cache or keys[i] not in found]
        vecs: dict[int, np.ndarray] = {
            i: found[keys[i]] for i in range(len(items)) if cache and keys[i] in found
        }
        bs = max(1, int(self.batch_size)) * max(1, int(self.chunk_batches))
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


def local_model(name: str, allow_download: bool) -> str:
    """A local folder for a model: the path itself, or the Hugging Face cache's snapshot of a
    hub name. Without `allow_download` a hub name that is not cached raises at once; loading
    from the folder then never touches the network (transformers otherwise still probes the
    hub for adapter files, with retries, even under local_files_only).

    Parameters
    ----------
    name : str
        A folder, or a Hugging Face hub name.
    allow_download : bool
        Fetch a hub model that is not cached.
    """
    if Path(name).exists() or allow_download:
        return name
    from huggingface_hub import snapshot_download

    return snapshot_download(name, local_files_only=True)


def unavailable(family: str, model: str, exc: BaseException, how: str) -> InputError:
    """The one message for a model that cannot be loaded: which, why, and how to provide it.

    Parameters
    ----------
    family : str
        The encoder family ("sbert", "dinov2", ...).
    model : str
        The model asked for.
    exc : BaseException
        Why it could not be loaded.
    how : str
        How to provide it.
    """
    return InputError(
        f"{family} model {model!r} is not available locally ({type(exc).__name__}: "
        f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). {how}"
    )


class TorchImageEncoder(BatchedEncoder):
    """Images -> embeddings with a torch module on the engine's device.

    Subclasses give `_load()` (the module, in eval mode) and `_forward(module, pixels)`; this
    class loads and preprocesses images, runs bf16 autocast on GPUs and L2-normalises on request.
    Cache keys hash the image content, not its path.
    """

    device: str = "auto"
    amp: bool = True
    num_workers: int = 0
    modality = "image"

    @abstractmethod
    def _load(self) -> torch.nn.Module:
        """The network, loaded once."""

    @abstractmethod
    def _forward(self, module: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
        """(b, d) embeddings of (b, 3, H, W) normalised pixels."""

    def _preprocess(self) -> Preprocess:
        return Preprocess()

    @property
    def chunk_batches(self) -> int:  # type: ignore[override]
        """With worker processes, hand them several batches at once (startup is per chunk)."""
        return 8 if self.num_workers > 0 else 1

    def _encode_batch(self, items: list) -> np.ndarray:
        module = self._load()
        dev = inference_device(self.device)
        dtype = weight_dtype(self.dtype)
        module.to(device=dev, dtype=dtype)
        outs = []
        with torch.no_grad(), autocast(dev, self.amp and dtype == torch.float32):
            for pixels in self._pixel_batches(items):
                outs.append(self._forward(module, pixels.to(device=dev, dtype=dtype)))
        return self._finish(torch.cat(outs))

    def _pixel_batches(self, items: list):
        """Preprocessed (b, 3, H, W) batches of `items`: in this process, or decoded and
        preprocessed by `num_workers` worker processes while the network runs."""
        prep, bs = self._preprocess(), max(1, int(self.batch_size))
        batches = [items[s : s + bs] for s in range(0, len(items), bs)]
        if self.num_workers <= 0 or len(batches) == 1:
            yield from (prep(b) for b in batches)
            return
        loader: torch.utils.data.DataLoader = torch.utils.data.DataLoader(
            batches,  # type: ignore[arg-type]  # a list is a map-style data set
            batch_size=None,
            num_workers=min(int(self.num_workers), len(batches)),
            collate_fn=prep,
        )
        yield from loader
