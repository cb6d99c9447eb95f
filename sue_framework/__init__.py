"""sue_framework: shared embedding spaces for two modalities from mostly unpaired data."""

from sue_framework.data import PairedSplit, WeaklyPairedData, paper_split
from sue_framework.errors import (
    InputError,
    ModelFileError,
    NotFittedError,
    SUEError,
    UnknownComponentError,
)
from sue_framework.hookspecs import hookimpl
from sue_framework.pipeline import SUE
from sue_framework.registry import KINDS, Registry, registry

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "SUE",
    "InputError",
    "ModelFileError",
    "NotFittedError",
    "PairedSplit",
    "Registry",
    "SUEError",
    "UnknownComponentError",
    "WeaklyPairedData",
    "hookimpl",
    "paper_split",
    "registry",
]
