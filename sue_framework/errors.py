"""Exception types. Every error a user can cause says what is wrong and how to fix it."""

from __future__ import annotations


class SUEError(Exception):
    """Base class of the errors sue_framework raises on purpose."""


class InputError(SUEError, ValueError):
    """Bad user input: wrong shape, NaN/inf, empty, pairs out of range, too few pairs."""


class InputTypeError(InputError, TypeError):
    """Input holding values of a type that cannot be used, e.g. text where numbers belong."""


class NotFittedError(SUEError, AttributeError):
    """A fitted-only method was called before `fit`."""


class UnknownComponentError(SUEError, LookupError):
    """A registry name that no built-in or installed plugin provides."""


class ModelFileError(SUEError, ValueError):
    """A model file that is not ours, is corrupt, carries pickle, or comes from another version."""


class NumericalError(SUEError, ArithmeticError):
    """A stage produced NaN or inf; the message names the stage."""
