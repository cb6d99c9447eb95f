"""DINOv2 image encoders (the paper's image encoder: ViT-S/14 and ViT-B/14), through Hugging
Face transformers (default) or torch.hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch

from sue_encoders.base import TorchImageEncoder, local_model, unavailable
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

# short names -> (Hugging Face hub name, torch.hub entry point)
MODELS = {
    "vits14": ("facebook/dinov2-small", "dinov2_vits14"),
    "vitb14": ("facebook/dinov2-base", "dinov2_vitb14"),
    "vitl14": ("facebook/dinov2-large", "dinov2_vitl14"),
    "vitg14": ("facebook/dinov2-giant", "dinov2_vitg14"),
}
POOLINGS = ("cls", "cls+mean", "mean")
SOURCES = ("hf", "hub")


class DINOv2Encoder(TorchImageEncoder):
    """Images -> DINOv2 features: the layer-normed CLS token (384-d for ViT-S/14, 768-d for
    ViT-B/14), or CLS concatenated with the mean patch token, as DINOv2's linear probes use.

    `model` is a short name (vits14, vitb14, vitl14, vitg14), a Hugging Face hub name or a
    local folder saved by transformers. `source="hub"` loads the official torch.hub entry point
    instead (facebookresearch/dinov2, or a local clone given as `hub_repo`). Without
    `allow_download` nothing is fetched: a model that is not on disk fails at once.

    Parameters
    ----------
    model : str
        A short name (vits14, vitb14, vitl14, vitg14), a Hugging Face hub name or a local folder.
    source : str
        "hf" (transformers) or "hub" (the official torch.hub entry point).
    pooling : str
        "cls" (the layer-normed CLS token), "cls+mean" (CLS and the mean patch token side by
        side) or "mean".
    hub_repo : str
        The torch.hub repository (or a local clone) for ``source="hub"``.
    device : str
        Where the network runs: "auto" (CUDA, else MPS, else CPU), "cpu", "cuda" or "cuda:N".
    batch_size : int
        Items per forward pass.
    amp : bool
        bfloat16 autocast on CUDA.
    dtype : str
        Weight dtype: "float32", "bfloat16" or "float16" (part of the cache key).
    num_workers : int
        Processes that load and preprocess images while the network runs (0: in this one).
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
        model: str = "vits14",
        *,
        source: str = "hf",
        pooling: str = "cls",
        hub_repo: str = "facebookresearch/dinov2",
        device: str = "auto",
        batch_size: int = 64,
        amp: bool = True,
        dtype: str = "float32",
        num_workers: int = 0,
        normalize: bool = False,
        allow_download: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.source = source
        self.pooling = pooling
        self.hub_repo = hub_repo
        self.device = device
        self.batch_size = batch_size
        self.amp = amp
        self.dtype = dtype
        self.num_workers = num_workers
        self.normalize = normalize
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.progress = progress
        self._module: Any = None  # a hub or transformers module, loaded on first use

    @property
    def encoder_id(self) -> str:
        return (
            f"dinov2:{self.source}:{self.model}:{self.pooling}:norm{int(self.normalize)}"
            + self._dtype_tag()
        )

    def _load(self) -> torch.nn.Module:
        if self._module is not None:
            return self._module
        if self.pooling not in POOLINGS:
            raise InputError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.source not in SOURCES:
            raise InputError(f"source must be one of {SOURCES}, got {self.source!r}")
        hf_name, hub_entry = MODELS.get(self.model, (self.model, None))
        if self.source == "hub":
            self._module = self._load_hub(hub_entry)
        else:
            self._module = self._load_hf(hf_name)
        return self._module.eval()

    def _load_hf(self, name: str) -> torch.nn.Module:
        try:
            from transformers import Dinov2Model
        except ImportError as exc:
            raise InputError("DINOv2 needs transformers: pip install transformers") from exc
        try:
            where = local_model(name, self.allow_download)
            return Dinov2Model.from_pretrained(where, local_files_only=not self.allow_download)
        except Exception as exc:
            raise unavailable(
                "DINOv2",
                self.model,
                exc,
                "Save it once where the hub is reachable (Dinov2Model.from_pretrained(NAME)"
                ".save_pretrained(FOLDER)) and pass model=FOLDER, or set allow_download=True.",
            ) from exc

    def _load_hub(self, entry: str | None) -> torch.nn.Module:
        if entry is None:
            raise InputError(
                f"source='hub' takes a short name ({', '.join(MODELS)}), got {self.model!r}"
            )
        local = Path(self.hub_repo).is_dir()
        # torch.hub keeps a GitHub checkout at <hub dir>/<owner>_<repo>_<ref>
        cached = Path(torch.hub.get_dir()) / f"{self.hub_repo.replace('/', '_')}_main"
        if not (local or cached.is_dir() or self.allow_download):
            raise InputError(
                f"DINOv2 {self.model!r} via torch.hub needs {self.hub_repo} locally: clone it "
                "and pass hub_repo=FOLDER, or set allow_download=True where GitHub is reachable"
            )
        try:
            return torch.hub.load(
                self.hub_repo if local else f"{self.hub_repo}:main",
                entry,
                source="local" if local else "github",
                trust_repo=True,  # the repository the caller named; never prompt on stdin
                pretrained=True,
                skip_validation=True,
            )
        except Exception as exc:
            raise unavailable("DINOv2", self.model, exc, "Check hub_repo and the weights.") from exc

    def _forward(self, module: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
        if self.source == "hub":
            feats = cast(Any, module).forward_features(pixels)  # torch.hub DINOv2 models have it
            cls, patches = feats["x_norm_clstoken"], feats["x_norm_patchtokens"]
        else:
            hidden = module(pixel_values=pixels).last_hidden_state  # layer-normed tokens
            cls, patches = hidden[:, 0], hidden[:, 1:]
        if self.pooling == "cls":
            return cls
        if self.pooling == "mean":
            return patches.mean(1)
        return torch.cat([cls, patches.mean(1)], dim=1)
