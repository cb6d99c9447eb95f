"""sue_framework: shared embedding spaces for two modalities from mostly unpaired data.

`SUE` is imported on first use, so that `import sue_framework` (and `sue --help`) does not pay
for torch.
"""

import logging
from typing import TYPE_CHECKING, Any

from sue_framework import _moved  # noqa: F401  (old module paths still import, with a warning)
from sue_framework.data import PairView, WeaklyPairedData
from sue_framework.errors import (
    InputError,
    InputTypeError,
    ModelFileError,
    NotFittedError,
    NumericalError,
    SUEError,
    UnknownComponentError,
)
from sue_framework.hookspecs import hookimpl
from sue_framework.model_selection.splits import PairedSplit, paper_split
from sue_framework.registry import KINDS, Registry, registry
from sue_framework.suggest import suggest_pairs

if TYPE_CHECKING:
    from sue_framework.methods.sue import SUE

__version__ = "0.1.0"

# the library logs to "sue_framework.*" and shows nothing unless the application configures it
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "KINDS",
    "SUE",
    "InputError",
    "InputTypeError",
    "ModelFileError",
    "NotFittedError",
    "NumericalError",
    "PairView",
    "PairedSplit",
    "Registry",
    "SUEError",
    "UnknownComponentError",
    "WeaklyPairedData",
    "hookimpl",
    "paper_split",
    "registry",
    "suggest_pairs",
]


def __getattr__(name: str) -> Any:
    if name == "SUE":
        from sue_framework.methods.sue import SUE

        return SUE
    raise AttributeError(f"module 'sue_framework' has no attribute {name!r}")
