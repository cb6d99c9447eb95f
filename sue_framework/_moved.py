"""Old import paths of the modules that moved into sub-packages keep working for one release:
`import sue_framework.engine` gives `sue_framework.runtime.engine` itself (the same module
object), with a DeprecationWarning naming the new path."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

MOVED = {
    f"sue_framework.{old}": f"sue_framework.{new}"
    for old, new in {
        "array_files": "io.array_files",
        "npy_transform": "io.npy_transform",
        "item_files": "io.item_files",
        "model_files": "io.model_files",
        "results": "io.results",
        "pair_files": "io.pair_files",
        "linear_map": "io.linear_map",
        "export": "io.export",
        "hub": "io.hub",
        "engine": "runtime.engine",
        "threads": "runtime.threads",
        "distributed": "runtime.distributed",
        "progress": "runtime.progress",
        "settings": "runtime.settings",
        "nn": "runtime.nn",
        "selection": "model_selection.selection",
        "ranking": "model_selection.ranking",
        "splits": "model_selection.splits",
        "cv_folds": "model_selection.folds",
        "cv_select": "model_selection.cv_select",
        "pipeline": "methods.sue",
        "auto": "methods.auto",
        "sue_select": "methods.sue_select",
        "retrieval": "evaluation.retrieval",
        "retrieval_report": "evaluation.report",
        "collection_index": "search.index",
        "serve": "search.serve",
    }.items()
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; import it from there (the old path will be "
            "removed in the next release)",
            DeprecationWarning,
            stacklevel=2,  # warnings skips the import machinery's frames: the importer
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """The module was executed at its new path."""


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put the finder on `sys.meta_path` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())


install()
