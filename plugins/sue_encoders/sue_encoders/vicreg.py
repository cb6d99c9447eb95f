"""VICReg ResNet-50 image encoder (2048-d pooled features), without torchvision.

The network is ResNet-50 (v1.5: stride in the 3 x 3 convolution) with torchvision's parameter
names, so the official VICReg checkpoint (a backbone state dict, no classifier) loads as is.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sue_encoders.base import TorchImageEncoder, unavailable
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

VICREG_URL = "https://dl.fbaipublicfiles.com/vicreg/resnet50.pth"


class Bottleneck(nn.Module):
    """ResNet-50's bottleneck block (1x1, 3x3, 1x1 convolutions, a shortcut), as torchvision's.

    Parameters
    ----------
    inplanes : int
        Input channels.
    planes : int
        The block's width (output channels are 4x).
    stride : int
        The 3x3 convolution's stride.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    """ResNet-50 trunk: (b, 3, H, W) -> (b, 2048) global-average-pooled features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes, layers = 64, []
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            mods = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            mods += [Bottleneck(inplanes, planes) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*mods))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3))


def load_backbone_state(module: nn.Module, state: dict) -> nn.Module:
    """Load a ResNet-50 backbone state dict; a classifier head ("fc.*") is ignored, a missing
    or misshapen backbone tensor is an error that names it.

    Parameters
    ----------
    module : Module
        The ResNet-50 backbone.
    state : dict
        A state dict (a classifier head is ignored).
    """
    state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    bad = sorted(k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape))
    if missing or bad:
        raise InputError(
            "the checkpoint is not a ResNet-50 backbone: "
            + (f"missing {missing[:3]}{'...' if len(missing) > 3 else ''} " if missing else "")
            + (f"wrong shape for {bad[:3]}" if bad else "")
        )
    module.load_state_dict({k: state[k] for k in own})
    return module


class VICRegEncoder(TorchImageEncoder):
    """Images -> VICReg ResNet-50 features (2048-d), the paper's second image encoder.

    `model` is "resnet50" (the official checkpoint, taken from torch.hub's cache, or fetched
    when `allow_download`) or a path to a checkpoint file (.pth/.pt read with
    torch.load(weights_only=True), which runs no pickled code, or .safetensors).

    Parameters
    ----------
    model : str
        "resnet50" (the official checkpoint) or the path of a checkpoint file (.pth, .pt or
        .safetensors).
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
        model: str = "resnet50",
        *,
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
        self.device = device
        self.batch_size = batch_size
        self.amp = amp
        self.dtype = dtype
        self.num_workers = num_workers
        self.normalize = normalize
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.progress = progress
        self._module: torch.nn.Module | None = None

    @property
    def encoder_id(self) -> str:
        return f"vicreg:{self.model}:norm{int(self.normalize)}" + self._dtype_tag()

    def _checkpoint(self) -> Path | None:
        if self.model != "resnet50":
            path = Path(self.model)
            if not path.is_file():
                raise InputError(
                    f"no VICReg checkpoint at {path}: pass model='resnet50' or a file path"
                )
            return path
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(VICREG_URL).name
        return cached if cached.is_file() else None

    def _load(self) -> nn.Module:
        if self._module is not None:
            return self._module
        path = self._checkpoint()
        try:
            if path is None:
                if not self.allow_download:
                    raise FileNotFoundError(f"{VICREG_URL} is not in torch.hub's cache")
                state = torch.hub.load_state_dict_from_url(
                    VICREG_URL, map_location="cpu", weights_only=True
                )
            elif path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except InputError:
            raise
        except Exception as exc:
            raise unavailable(
                "VICReg",
                self.model,
                exc,
                f"Download {VICREG_URL} where it is reachable and pass model=PATH, or set "
                "allow_download=True.",
            ) from exc
        self._module = load_backbone_state(ResNet50(), state).eval()
        return self._module

    def _forward(self, module: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
        return module(pixels)
