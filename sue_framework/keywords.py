"""Constructors take their settings by keyword after the first, as scikit-learn's estimators do
(`CCA(8, reg=0.1)`, never `CCA(8, 0.1)`): a call stays readable, and parameters can be added
or reordered without changing what a call means.

`keyword_only` marks such a constructor. For one release, settings given by position still
work, with a FutureWarning that names them; then they will be refused.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def keyword_only(init: F) -> F:
    """Decorate an `__init__` whose parameters after the first are keyword-only: positional
    values for them are still accepted, by name in signature order, with a FutureWarning.

    Parameters
    ----------
    init : callable
        The constructor, defined with ``*`` after its first parameter.
    """
    params = list(inspect.signature(init).parameters.values())[1:]  # past self
    positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
    later = [p.name for p in params if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > positional:
            extra = args[positional:]
            if len(extra) > len(later):
                raise TypeError(
                    f"{type(self).__name__}() takes at most {positional + len(later)} settings, "
                    f"got {len(args)} by position"
                )
            names = later[: len(extra)]
            clash = [n for n in names if n in kwargs]
            if clash:
                raise TypeError(f"{type(self).__name__}() got {clash} by position and by name")
            warnings.warn(
                f"{type(self).__name__}: give {', '.join(names)} by keyword "
                f"({', '.join(f'{n}=...' for n in names)}); settings after the first given by "
                "position will be refused in the next release",
                FutureWarning,
                stacklevel=2,
            )
            kwargs.update(zip(names, extra, strict=True))
            args = args[:positional]
        init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
