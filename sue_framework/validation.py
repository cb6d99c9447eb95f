"""Input validation: arrays, pairs and stage outputs checked before any work, with messages that
say what is wrong and how to fix it (shapes, NaN/inf, float32 range, identical rows, pairs out of
range)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sue_framework.errors import InputError, InputTypeError, NumericalError
from sue_framework.npy_rows import NpyRows

_F32_MAX = float(np.finfo(np.float32).max)
# sums of n*d squares must stay inside float32 (the compute type) with this headroom
_HEADROOM = 1e-4
# peaks below this: squares (and products of two rows) underflow float32's normal range
_F32_SMALL = float(np.sqrt(np.finfo(np.float32).tiny)) * 1e2
# rows that differ by less than this fraction of their magnitude count as identical
_SPREAD_TOL = 1e-6


def as_matrix(
    a: object,
    name: str,
    n_features: int | None = None,
    fitted: str = "the model",
    other_features: int | None = None,
) -> np.ndarray:
    """Return `a` as a finite 2-D float array, or raise an InputError naming the problem.

    With `n_features`, rows of another width are refused too, saying which component (`fitted`)
    was fitted on how many features: the one width check every transform uses.

    Parameters
    ----------
    a : array-like
        The rows.
    name : str
        What they are, for messages.
    n_features : int, optional
        The width a fitted component expects (rows to transform).
    fitted : str
        That component's name, for the message.
    other_features : int, optional
        The width of the other modality's rows, when the component has one: rows of that width
        get a hint that the two sides were swapped.
    """
    if isinstance(a, NpyRows):
        raise InputError(
            f"{name} are rows on disk ({a.path}, {a.shape}), which only `sue` with "
            "solver='spectralnet' fits from; load them into memory with np.load first"
        )
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    if type(a).__module__.startswith("scipy.sparse"):
        raise InputError(
            f"{name} is a scipy sparse matrix; sparse input is not supported: densify it with "
            ".toarray() (or reduce it, e.g. with TruncatedSVD, first)"
        )
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"{name} could not be read as an array: {exc}") from exc
    if arr.dtype == object:  # e.g. a pandas frame of mixed columns: numbers are fine
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InputTypeError(
                f"{name} must hold numbers, got dtype object with a non-numeric entry ({exc}); "
                "convert or drop those columns"
            ) from None
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(
            f"{name} must be real-valued (Complex data not supported), got dtype {arr.dtype}"
        )
    if arr.ndim != 2:
        raise InputError(
            f"{name} must be 2-D (rows, features), got shape {arr.shape}. Reshape your data: "
            "a single row with a[None, :], or flatten extra axes"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        what = "0 sample(s)" if arr.shape[0] == 0 else "0 feature(s)"
        raise InputError(
            f"{name} is empty: {what} (shape={arr.shape}) while a minimum of 1 is required."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    if not arr.dtype.isnative:  # big-endian files: torch and faiss take native order only
        arr = arr.astype(arr.dtype.newbyteorder("="))
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        shown = ", ".join(map(str, rows[:5])) + (" ..." if rows.size > 5 else "")
        raise InputError(
            f"{name} contains NaN or inf in {rows.size} row(s) (first: {shown}); "
            "drop or impute those rows before fitting"
        )
    peak = float(np.abs(arr).max())
    if peak > _F32_MAX:
        raise InputError(
            f"{name} holds values up to {peak:.3g}, beyond float32 (the compute type, max "
            f"{_F32_MAX:.3g}); rescale it first, e.g. divide by np.abs(a).max()"
        )
    if n_features is not None and arr.shape[1] != int(n_features):
        raise width_error(name, arr.shape[1], int(n_features), fitted, other_features)
    if n_features is not None:  # rows to transform: each row's own sums must stay finite
        limit = float(np.sqrt(_HEADROOM * _F32_MAX / arr.shape[1]))
        if peak > limit:
            raise InputError(
                f"{name} holds values up to {peak:.3g}: sums of squares over a row of "
                f"{arr.shape[1]} features overflow float32 (the compute type) above about "
                f"{limit:.3g}, and every row would land on the same point. Rescale them as the "
                "training rows were"
            )
    return arr


def width_error(name: str, got: int, own: int, fitted: str, other: int | None = None) -> InputError:
    """The error for rows of the wrong width, with a hint when they have the other side's.

    Parameters
    ----------
    name : str
        What the rows are ("x rows").
    got, own : int
        Their width, and the width the component was fitted on.
    fitted : str
        The component, for the message ("this SUE").
    other : int, optional
        The other modality's width, where the component has one.
    """
    hint = (
        f"{got} is the other side's width: did you swap x and y?"
        if other is not None and got == int(other) != int(own)
        else "give rows of that width"
    )
    if name == "X":  # scikit-learn's wording, which its estimator checks look for
        return InputError(
            f"X has {got} features, but {fitted} is expecting {own} features as input; {hint}"
        )
    return InputError(f"{name}: {got} features, but {fitted} was fitted on rows of {own}; {hint}")


def check_fit_input(arr: np.ndarray, name: str) -> None:
    """Refuse training rows that would overflow float32 arithmetic or that are all identical.

    Parameters
    ----------
    arr : ndarray
        Training rows.
    name : str
        What they are, for messages.
    """
    spread = float((arr.max(axis=0) - arr.min(axis=0)).max())
    _check_fit_stats(name, arr.shape, float(np.abs(arr).max()), spread)


def check_rows_on_disk(rows: NpyRows, name: str) -> NpyRows:
    """`as_matrix` and `check_fit_input` for rows on disk, block by block: finite, inside
    float32, not all identical. Returns `rows`.

    Parameters
    ----------
    rows : NpyRows
        Training rows on disk.
    name : str
        What they are, for messages.
    """
    stats = rows.stats()  # values beyond float32 read as inf
    if stats.first_bad_row is not None:
        raise InputError(
            f"{name} ({rows.path}) contains NaN, inf or values beyond float32 (first in row "
            f"{stats.first_bad_row}); drop, impute or rescale them before fitting"
        )
    _check_fit_stats(name, rows.shape, stats.peak, float((stats.high - stats.low).max()))
    return rows


def _check_fit_stats(name: str, shape: tuple[int, ...], peak: float, spread: float) -> None:
    n, d = shape
    if 0 < peak < _F32_SMALL:
        raise InputError(
            f"{name} holds values no larger than {peak:.3g}: products of such values underflow "
            f"float32 (the compute type, smallest normal {np.finfo(np.float32).tiny:.3g}), so "
            "distances and similarities come out zero. Rescale it before fitting, e.g. divide "
            "by np.abs(a).max() or standardise each feature"
        )
    limit = float(np.sqrt(_HEADROOM * _F32_MAX / (n * d)))
    if peak > limit:
        raise InputError(
            f"{name} holds values up to {peak:.3g}: with {n} rows x {d} features, sums of squares "
            f"overflow float32 (the compute type) above about {limit:.3g}. Rescale it before "
            "fitting, e.g. divide by np.abs(a).max() or standardise each feature"
        )
    if spread <= _SPREAD_TOL * max(peak, float(np.finfo(np.float32).tiny)):
        raise InputError(
            f"{name}: all {n} rows are identical (they differ by at most {spread:.3g}, against "
            f"values up to {peak:.3g}), so there is no structure to embed; check that the right "
            "file was given and that the encoder produced varied outputs"
        )


def check_stage_output(arr: object, stage: str) -> None:
    """Raise a NumericalError naming `stage` when its output holds NaN or inf.

    Parameters
    ----------
    arr : array-like
        A stage's output.
    stage : str
        The stage's name, for the message.
    """
    values = arr.detach().cpu().numpy() if hasattr(arr, "detach") else np.asarray(arr)
    bad = ~np.isfinite(values)
    if bad.any():
        raise NumericalError(
            f"the {stage} produced NaN or inf in {int(bad.any(axis=-1).sum())} of "
            f"{values.shape[0]} rows; the fit stopped there. Standardise the inputs, or lower "
            "the stage's learning rate / raise its regularisation"
        )


def check_fitted_outputs(model: Any, data: Any, name: str, rows: int = 512) -> None:
    """Raise a NumericalError when a fitted method maps the first `rows` rows of either side
    of `data` to NaN or inf: such a model is refused before it is saved or used.

    Parameters
    ----------
    model : Method
        A fitted method (its `transform(rows, modality)`).
    data : WeaklyPairedData
        The data it was fitted on (`x`, `y`).
    name : str
        The method's name, for the message.
    rows : int
        Rows of each side that are checked.
    """
    for side in ("x", "y"):
        sample = getattr(data, side)[:rows]
        check_stage_output(model.transform(sample, side), f"fitted {name} on {side}")


def as_pairs(pairs: object, n_x: int, n_y: int) -> np.ndarray:
    """Validate an (m, 2) integer array of (i, j) rows meaning x[i] <-> y[j].

    Parameters
    ----------
    pairs : array-like of shape (m, 2)
        Integer pairs (i, j).
    n_x, n_y : int
        Rows of x and y, the bounds of i and j.
    """
    if pairs is None:
        return np.zeros((0, 2), dtype=np.int64)
    if hasattr(pairs, "detach"):
        pairs = pairs.detach().cpu().numpy()
    arr = np.asarray(pairs)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(f"pairs must have shape (m, 2) with rows (i, j), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InputError("pairs must hold whole row indices, found non-integer values")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"pairs must hold integer row indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    check_pair_bounds(arr, n_x, n_y)
    uniq = np.unique(arr, axis=0)
    if uniq.shape[0] != arr.shape[0]:
        raise InputError(
            f"pairs holds {arr.shape[0] - uniq.shape[0]} duplicate row(s); list each pair once"
        )
    return arr


def check_pair_bounds(pairs: np.ndarray, n_x: int, n_y: int, label: Any = None) -> None:
    """Refuse the first pair (in order; its x before its y) that points outside the rows.

    Parameters
    ----------
    pairs : ndarray of shape (m, 2)
        Integer pairs (i, j).
    n_x, n_y : int
        Rows of x and y, the bounds of i and j.
    label : callable, optional
        `label(k)` names pair k in the message (default "pair k (counting from 0)"; the
        command line gives the file and line).
    """
    bad = np.stack([(pairs[:, c] < 0) | (pairs[:, c] >= n) for c, n in ((0, n_x), (1, n_y))], 1)
    if not bad.any():
        return
    k, col = (int(v) for v in np.argwhere(bad)[0])  # row-major: the first pair, x first
    side, n = ("x", n_x) if col == 0 else ("y", n_y)
    name = label(k) if label else f"pair {k} (counting from 0)"
    raise InputError(
        f"{name} = ({pairs[k, 0]}, {pairs[k, 1]}) points outside {side}: {side} has {n} "
        f"rows, so its indices must lie in [0, {n - 1}]"
    )


def pair_conflicts(pairs: np.ndarray) -> list[tuple[int, int, str]]:
    """Pairs that give one row two different partners: (k, first, side) for each pair k whose
    `side` row ("x" or "y") was already paired, by pair `first`, with another row.

    Parameters
    ----------
    pairs : ndarray of shape (m, 2)
        Checked pairs (i, j), each listed once.
    """
    out = []
    for col, side in ((0, "x"), (1, "y")):
        seen: dict[int, int] = {}
        for k, row in enumerate(pairs[:, col].tolist()):
            if row in seen:
                out.append((k, seen[row], side))
            else:
                seen[row] = k
    return sorted(out)


def describe_conflicts(
    pairs: np.ndarray, conflicts: list[tuple[int, int, str]], label: Any = None
) -> str:
    """Words for `pair_conflicts`' finding: how many, and the first few with their partners.

    Parameters
    ----------
    pairs : ndarray of shape (m, 2)
        The pairs checked.
    conflicts : list of (int, int, str)
        `pair_conflicts(pairs)`.
    label : callable, optional
        `label(k)` names pair k in the words (default "pair k"; the CLI gives file lines).
    """
    name = label or (lambda k: f"pair {k}")
    shown = "; ".join(
        f"{side} row {pairs[k, 0 if side == 'x' else 1]} is paired with "
        f"{'y' if side == 'x' else 'x'} row {pairs[first, 1 if side == 'x' else 0]} "
        f"({name(first)}) and {pairs[k, 1 if side == 'x' else 0]} ({name(k)})"
        for k, first, side in conflicts[:3]
    )
    more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
    return f"{len(conflicts)} pair(s) give a row a second partner: {shown}{more}"
