"""OpenCLIP encoders through open_clip_torch: any architecture and pretrained tag, either tower.

Hub models load by their hf-hub name, e.g. Marqo FashionSigLIP as
``model="hf-hub:Marqo/marqo-fashionSigLIP"``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from sue_encoders.base import BatchedEncoder, local_model, unavailable
from sue_encoders.images import load_image
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only
from sue_framework.runtime.engine import autocast, inference_device

MODALITIES = ("image", "text")


@contextmanager
def _hub_offline(offline: bool):
    """Keep huggingface_hub off the network while a model loads. Its offline switch is read
    from the environment at import, so the module's flag is set for the duration."""
    if not offline:
        yield
        return
    from huggingface_hub import constants

    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old


class OpenCLIPEncoder(BatchedEncoder):
    """Images or texts -> the image or text tower of an OpenCLIP model (L2-normalised by
    default, as CLIP embeddings are compared).

    `model` is an architecture name ("ViT-B-32") or "hf-hub:ORG/NAME"; `pretrained` is a tag
    ("laion2b_s34b_b79k"), a checkpoint path, or None for random weights (tests, timing).
    Without `allow_download` huggingface_hub is kept offline, so a model not in its cache
    fails at once.

    Parameters
    ----------
    model : str
        An architecture name ("ViT-B-32") or "hf-hub:ORG/NAME".
    pretrained : str, optional
        A pretrained tag ("laion2b_s34b_b79k"), a checkpoint path, or None for random weights.
    modality : str
        "image" or "text": which tower encodes.
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
        model: str = "ViT-B-32",
        *,
        pretrained: str | None = None,
        modality: str = "image",
        device: str = "auto",
        batch_size: int = 64,
        amp: bool = True,
        prompt: str | None = None,
        normalize: bool = True,
        allow_download: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.pretrained = pretrained
        self.modality = modality
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
        import open_clip

        return (
            f"open_clip:{self.model}:{self.pretrained}:{self.modality}:"
            f"oc{open_clip.__version__}:norm{int(self.normalize)}"
        )

    def _load(self):
        if self._loaded is not None:
            return self._loaded
        if self.modality not in MODALITIES:
            raise InputError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        try:
            import open_clip
        except ImportError as exc:
            raise InputError(
                "the open_clip encoder needs open_clip_torch (and torchvision): "
                "pip install open_clip_torch"
            ) from exc
        pretrained = self.pretrained
        if pretrained and Path(pretrained).exists():
            pretrained = str(Path(pretrained))
        try:
            name = self.model
            if name.startswith("hf-hub:") and not self.allow_download:
                # the cached snapshot, loaded as a local folder: nothing goes to the network
                name = "local-dir:" + local_model(name.removeprefix("hf-hub:"), False)
            with _hub_offline(not self.allow_download):
                net, _, preprocess = open_clip.create_model_and_transforms(
                    name, pretrained=pretrained
                )
                tokenizer = open_clip.get_tokenizer(name)
        except Exception as exc:
            raise unavailable(
                "OpenCLIP",
                f"{self.model} ({self.pretrained})",
                exc,
                "Pass a local checkpoint as pretrained=PATH or a saved folder as "
                "model='local-dir:FOLDER', or set allow_download=True where the hub is reachable.",
            ) from exc
        self._loaded = (net.eval(), preprocess, tokenizer)
        return self._loaded

    def _encode_batch(self, items: list) -> np.ndarray:
        net, preprocess, tokenizer = self._load()
        dev = inference_device(self.device)
        net.to(dev)
        with torch.no_grad(), autocast(dev, self.amp):
            if self.modality == "text":
                if not all(isinstance(t, str) for t in items):
                    raise InputError("a text open_clip encoder takes texts (str)")
                z = net.encode_text(tokenizer(items).to(dev))
            else:
                pixels = torch.stack([preprocess(load_image(it)) for it in items]).to(dev)
                z = net.encode_image(pixels)
        return self._finish(z)
