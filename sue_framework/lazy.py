"""Lazy exports for plugin packages: `from my_plugin import MyClass` works, but importing the
package (which its entry point does whenever the registry loads) imports none of its modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each name of `exports` (name ->
    module) on first access.

    Parameters
    ----------
    package : str
        The package's `__name__`, for the error on an unknown name.
    exports : dict of str to str
        Each exported name and the module that defines it.
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
