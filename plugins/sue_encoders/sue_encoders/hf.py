"""Any Hugging Face `AutoModel`, for texts or images, with a choice of pooling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from sue_encoders.base import BatchedEncoder, local_model, unavailable
from sue_encoders.images import IMAGENET_MEAN, IMAGENET_STD, Preprocess
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import autocast, inference_device

POOLINGS = ("mean", "cls", "pooler", "max")
MODALITIES = ("text", "image")


def _size(value, default: int) -> int:
    """An image size from a preprocessor config: an int, or a dict of edge / height."""
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        for key in ("shortest_edge", "height", "width"):
            if key in value:
                return int(value[key])
    return default


class HFEncoder(BatchedEncoder):
    """Texts or images -> pooled hidden states of a transformers `AutoModel`.

    Pooling: "mean" (over non-padding tokens for text, all tokens for images), "cls" (first
    token), "pooler" (the model's pooler output) or "max". Texts are tokenised with the model's
    own tokenizer; images are resized, centre-cropped and normalised with the sizes and
    statistics of the model's preprocessor_config.json when it has one (ImageNet defaults
    otherwise). Nothing is fetched unless `allow_download`.

    Parameters
    ----------
    model : str
        A Hugging Face hub name or a local folder saved by transformers.
    modality : str
        "text" or "image".
    pooling : str
        "mean", "cls", "pooler" or "max".
    max_length : int
        Texts are truncated to this many tokens.
    device : str
        Where the network runs: "auto" (CUDA, else MPS, else CPU), "cpu", "cuda" or "cuda:N".
    batch_size : int
        Items per forward pass.
    amp : bool
        bfloat16 autocast on CUDA.
    prompt : str, optional
        Text template applied before encoding ("A photo of a {}"; without "{}" it is prepended).
    normalize : bool
        L2-normalise each embedding.
    allow_download : bool
        Fetch a model that is not on disk; without it a missing model fails at once.
    cache_dir : str, optional
        Folder of the resumable embedding cache (keyed by content and model); None: no cache.
    progress : bool
        Show a progress bar over the batches.
    """

    @keyword_only
    def __init__(
        self,
        model: str,
        *,
        modality: str = "text",
        pooling: str = "mean",
        max_length: int = 256,
        device: str = "auto",
        batch_size: int = 64,
        amp: bool = True,
        prompt: str | None = None,
        normalize: bool = False,
        allow_download: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.modality = modality
        self.pooling = pooling
        self.max_length = max_length
        self.device = device
        self.batch_size = batch_size
        self.amp = amp
        self.prompt = prompt
        self.normalize = normalize
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.progress = progress
        self._loaded = None

    @property
    def encoder_id(self) -> str:
        return (
            f"hf:{self.model}:{self.modality}:{self.pooling}:{self.max_length}:"
            f"norm{int(self.normalize)}"
        )

    def _load(self):
        if self._loaded is not None:
            return self._loaded
        if self.modality not in MODALITIES:
            raise InputError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        if self.pooling not in POOLINGS:
            raise InputError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise InputError("the hf encoder needs transformers: pip install transformers") from exc
        local_only = not self.allow_download
        try:
            where = local_model(self.model, self.allow_download)
            net = AutoModel.from_pretrained(where, local_files_only=local_only).eval()
            if self.modality == "text":
                prep = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
            else:
                prep = self._image_preprocess(Path(where))
        except Exception as exc:
            raise unavailable(
                "Hugging Face",
                self.model,
                exc,
                "Pass a local folder saved with save_pretrained as model=FOLDER, or set "
                "allow_download=True where the hub is reachable.",
            ) from exc
        self._loaded = (net, prep)
        return self._loaded

    def _image_preprocess(self, folder: Path) -> Preprocess:
        cfg_path = folder / "preprocessor_config.json"
        if not cfg_path.is_file():
            return Preprocess()
        cfg = json.loads(cfg_path.read_text())
        crop = _size(cfg.get("crop_size"), _size(cfg.get("size"), 224))
        resize = _size(cfg.get("size"), crop) if cfg.get("do_resize", True) else crop
        return Preprocess(
            resize=max(resize, crop),
            crop=crop,
            mean=tuple(cfg.get("image_mean", IMAGENET_MEAN)),
            std=tuple(cfg.get("image_std", IMAGENET_STD)),
        )

    def _encode_batch(self, items: list) -> np.ndarray:
        net, prep = self._load()
        dev = inference_device(self.device)
        net.to(dev)
        if self.modality == "text":
            if not all(isinstance(t, str) for t in items):
                raise InputError("a text hf encoder takes texts (str)")
            batch = prep(
                items,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(dev)
            inputs, mask = dict(batch), batch["attention_mask"]
        else:
            inputs = {"pixel_values": prep(items).to(dev)}
            mask = None
        with torch.no_grad(), autocast(dev, self.amp):
            out = net(**inputs)
        return self._finish(self._pool(out, mask))

    def _pool(self, out, mask: torch.Tensor | None) -> torch.Tensor:
        if self.pooling == "pooler":
            pooled = getattr(out, "pooler_output", None)
            if pooled is None:
                raise InputError(f"{self.model} has no pooler output; use pooling='mean' or 'cls'")
            return pooled
        hidden = out.last_hidden_state.float()
        if hidden.ndim == 4:  # convolutional models: (b, c, h, w) feature maps
            hidden = hidden.flatten(2).transpose(1, 2)
        if self.pooling == "cls":
            return hidden[:, 0]
        m = (
            torch.ones(hidden.shape[:2], device=hidden.device)
            if mask is None
            else mask.to(hidden.dtype)
        )
        if self.pooling == "max":
            return hidden.masked_fill(m[..., None] == 0, float("-inf")).amax(1)
        return (hidden * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
