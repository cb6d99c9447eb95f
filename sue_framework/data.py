"""The data model: two unpaired sets plus a few pairs, and the paper's split protocol (App. D.7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sue_framework.errors import InputError, InputTypeError, NumericalError
from sue_framework.rows import NpyRows

_F32_MAX = float(np.finfo(np.float32).max)
# sums of n*d squares must stay inside float32 (the compute type) with this headroom
_HEADROOM = 1e-4
# peaks below this: squares (and products of two rows) underflow float32's normal range
_F32_SMALL = float(np.sqrt(np.finfo(np.float32).tiny)) * 1e2
# rows that differ by less than this fraction of their magnitude count as identical
_SPREAD_TOL = 1e-6


def as_matrix(
    a: object, name: str, n_features: int | None = None, fitted: str = "the model"
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
        raise InputError(
            f"{name} has {arr.shape[1]} features, but {fitted} is expecting {int(n_features)} "
            f"features as input (it was fitted on {int(n_features)}); give rows of that width"
        )
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
    for col, n, side in ((0, n_x, "x"), (1, n_y, "y")):
        out = (arr[:, col] < 0) | (arr[:, col] >= n)
        if out.any():
            k = int(np.nonzero(out)[0][0])
            raise InputError(
                f"pair {k} = ({arr[k, 0]}, {arr[k, 1]}) points outside {side}: "
                f"{side} has {n} rows, so its indices must lie in [0, {n - 1}]"
            )
    uniq = np.unique(arr, axis=0)
    if uniq.shape[0] != arr.shape[0]:
        raise InputError(
            f"pairs holds {arr.shape[0] - uniq.shape[0]} duplicate row(s); list each pair once"
        )
    return arr


class WeaklyPairedData:
    """Two unpaired sets `x` (n1, d1) and `y` (n2, d2) and `pairs` (m, 2): x[i] <-> y[j].

    The paired rows are part of `x` and `y`, as in the paper. Inputs are validated on construction
    and copied into float arrays; the caller's arrays are never modified. Either side may be
    `NpyRows` (rows on disk, checked block by block) for the fits that stream rows.

    Parameters
    ----------
    x : array-like of shape (n1, d1), or NpyRows
        Every row of modality x, paired ones included.
    y : array-like of shape (n2, d2), or NpyRows
        Every row of modality y, paired ones included.
    pairs : array-like of shape (m, 2), optional
        Integer pairs (i, j): x[i] belongs with y[j]. None: no pairs.
    """

    # arrays for every fit but those that stream rows on disk, which alone accept NpyRows here
    # (`training_data` refuses them elsewhere)
    x: np.ndarray
    y: np.ndarray

    def __init__(self, x: object, y: object, pairs: object = None) -> None:
        self.x, self.y = _training_rows(x, "x"), _training_rows(y, "y")
        self.pairs = as_pairs(pairs, self.x.shape[0], self.y.shape[0])

    @classmethod
    def _trusted(cls, x: np.ndarray, y: np.ndarray, pairs: np.ndarray) -> WeaklyPairedData:
        """Built from arrays already checked (no copies, no checks)."""
        data = cls.__new__(cls)
        data.x, data.y, data.pairs = x, y, pairs
        return data

    def canonical(self) -> WeaklyPairedData:
        """The same data with each modality's rows in an order fixed by their content, and the
        pairs sorted, so that a fit on it does not depend on the order the rows came in
        (minibatch training otherwise does). Rows on disk keep the file's order (reordering
        them would turn every block read into random reads): such a fit is repeatable for the
        same file, not for the same rows in another order."""
        if self.on_disk:
            order = np.lexsort((self.pairs[:, 1], self.pairs[:, 0]))
            return WeaklyPairedData._trusted(self.x, self.y, self.pairs[order])
        (ox, kx), (oy, ky) = _content_order(self.x), _content_order(self.y)
        px, py = np.empty_like(ox), np.empty_like(oy)
        px[ox], py[oy] = np.arange(ox.size), np.arange(oy.size)
        pairs = np.stack([px[self.pairs[:, 0]], py[self.pairs[:, 1]]], axis=1)
        # list the pairs by their rows' content, which identical rows share
        rank_x, rank_y = (
            np.unique(kx, return_inverse=True)[1],
            np.unique(ky, return_inverse=True)[1],
        )
        pairs = pairs[np.lexsort((rank_y[self.pairs[:, 1]], rank_x[self.pairs[:, 0]]))]
        in_place = lambda a, o: a if np.array_equal(o, np.arange(o.size)) else a[o]  # noqa: E731
        return WeaklyPairedData._trusted(in_place(self.x, ox), in_place(self.y, oy), pairs)

    @property
    def n_pairs(self) -> int:
        return int(self.pairs.shape[0])

    @property
    def on_disk(self) -> bool:
        """Whether either side is rows on disk (`NpyRows`)."""
        return isinstance(self.x, NpyRows) or isinstance(self.y, NpyRows)

    @property
    def x_paired(self) -> np.ndarray:
        return take_rows(self.x, self.pairs[:, 0])

    @property
    def y_paired(self) -> np.ndarray:
        return take_rows(self.y, self.pairs[:, 1])

    def summary(self) -> dict[str, int]:
        """The shapes a fit saw (model cards record them): rows and features per side, pairs."""
        return {
            "x_rows": int(self.x.shape[0]),
            "x_features": int(self.x.shape[1]),
            "y_rows": int(self.y.shape[0]),
            "y_features": int(self.y.shape[1]),
            "pairs": self.n_pairs,
        }

    def __repr__(self) -> str:
        return f"WeaklyPairedData(x={self.x.shape}, y={self.y.shape}, pairs={self.n_pairs})"


def _training_rows(a: object, name: str) -> Any:
    """Checked training rows: an array, or `NpyRows` as they are."""
    if isinstance(a, NpyRows):
        return check_rows_on_disk(a, name)
    arr = as_matrix(a, name)
    check_fit_input(arr, name)
    return arr


def take_rows(rows: np.ndarray | NpyRows, idx: np.ndarray) -> np.ndarray:
    """Rows `idx` of an array or of rows on disk, as an array.

    Parameters
    ----------
    rows : ndarray or NpyRows
        Rows in memory or on disk.
    idx : ndarray
        The rows to take.
    """
    return rows.take(idx) if isinstance(rows, NpyRows) else rows[idx]


def _content_order(a: np.ndarray, block: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """(row order, key): rows sorted by a fixed random projection of each row (float64, in
    blocks). The same rows get the same order whatever order they came in; identical rows share
    a key and are interchangeable."""
    r = np.random.default_rng(0x5E5).standard_normal(a.shape[1])
    key = np.concatenate([a[s : s + block].astype(np.float64) @ r for s in range(0, len(a), block)])
    return np.argsort(key, kind="stable"), key


class PairView:
    """Weakly paired data as scikit-learn's model selection sees it: one sample per pair.

    ``GridSearchCV(method, grid).fit(PairView(data))`` or ``cross_val_score(method,
    PairView(data))`` split the pairs into folds. Indexing keeps every row of x and y and
    selects pairs, so a training fold keeps the held-out pairs' rows as unpaired rows (rows
    without a known partner, as in `selection.pair_cv_scores`), and a test fold's pairs are
    scored by `Method.score` against every row of the other side.

    Parameters
    ----------
    data : WeaklyPairedData
        The weakly paired data the view indexes by pair.
    """

    def __init__(self, data: object) -> None:
        if isinstance(data, PairView):
            data = data.data
        elif isinstance(data, tuple) and len(data) == 3:
            data = WeaklyPairedData(*data)
        if not isinstance(data, WeaklyPairedData):
            raise InputError(f"PairView takes a WeaklyPairedData, got {type(data).__name__}")
        self.data: WeaklyPairedData = data

    @property
    def shape(self) -> tuple[int]:
        return (self.data.n_pairs,)

    def __len__(self) -> int:
        return self.data.n_pairs

    def __getitem__(self, index: object) -> PairView:
        if isinstance(index, tuple):  # scikit-learn indexes as view[rows, ...]
            index = index[0]
        d = self.data
        return PairView(WeaklyPairedData(d.x, d.y, d.pairs[np.asarray(index)].reshape(-1, 2)))

    def __repr__(self) -> str:
        d = self.data
        return f"PairView({d.n_pairs} pairs, {d.x.shape[0]} x rows, {d.y.shape[0]} y rows)"


def as_data(data: object, who: str) -> WeaklyPairedData:
    """A WeaklyPairedData from one, a tuple (x, y, pairs) or a `PairView`, else an InputError.

    Parameters
    ----------
    data : WeaklyPairedData, tuple or PairView
        The data, or (x, y, pairs).
    who : str
        The caller, for the message.
    """
    if isinstance(data, PairView):
        return data.data
    if isinstance(data, tuple) and len(data) == 3:
        return WeaklyPairedData(*data)
    if not isinstance(data, WeaklyPairedData):
        raise InputError(
            f"{who} takes a WeaklyPairedData(x, y, pairs), a tuple (x, y, pairs) or a "
            f"PairView, got {type(data).__name__}"
        )
    return data


def training_data(data: object, who: str, rows_on_disk: bool = False) -> WeaklyPairedData:
    """The data a method's `fit` trains on: a WeaklyPairedData (or a tuple (x, y, pairs), or a
    `PairView`), in the content order of `WeaklyPairedData.canonical`. Rows on disk are refused
    unless the fit streams them (`rows_on_disk`).

    Parameters
    ----------
    data : WeaklyPairedData or tuple
        The data, or (x, y, pairs).
    who : str
        The fitting class, for messages.
    rows_on_disk : bool
        Whether this fit accepts rows on disk (`NpyRows`).
    """
    data = as_data(data, f"{who}.fit")
    if data.on_disk and not rows_on_disk:
        raise InputError(
            f"{who} fits rows held in memory, and this data has rows on disk (NpyRows); load "
            "them with np.load, or fit `sue` with solver='spectralnet', which streams them"
        )
    return data.canonical()


@dataclass(frozen=True)
class PairedSplit:
    """The output of `paper_split`: a weakly paired training set and a fully paired test set.

    Parameters
    ----------
    train : WeaklyPairedData
        The training rows with their known pairs.
    x_test, y_test : ndarray
        The held-out test pairs: x_test[i] belongs with y_test[i].
    test_index : ndarray
        The rows of the original set that became the test pairs.
    """

    train: WeaklyPairedData
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray  # rows of the original arrays used for the test set


def paper_split(
    x: object,
    y: object,
    *,
    n_pairs: int,
    n_test: int = 400,
    drop_fraction: float = 0.1,
    seed: int = 0,
) -> PairedSplit:
    """Turn a fully paired set (x[i] <-> y[i]) into the paper's weakly paired protocol (App. D.7).

    Holds out `n_test` true pairs for testing, keeps `n_pairs` training pairs, drops
    `drop_fraction` of the remaining rows of each modality independently and shuffles each
    modality's row order, so that only the returned `pairs` link the two training sets.

    Parameters
    ----------
    x, y : array-like of shape (n, d_x) and (n, d_y)
        A fully paired set: x[i] belongs with y[i].
    n_pairs : int
        Training pairs kept.
    n_test : int
        True pairs held out for testing.
    drop_fraction : float
        Share of the remaining rows dropped from each modality, independently.
    seed : int
        Seeds the split, the drops and the shuffles.
    """
    x = as_matrix(x, "x")
    y = as_matrix(y, "y")
    n = x.shape[0]
    if y.shape[0] != n:
        raise InputError(
            f"paper_split needs fully paired input (x[i] <-> y[i]), got {n} x rows and "
            f"{y.shape[0]} y rows"
        )
    if not 0.0 <= drop_fraction < 1.0:
        raise InputError(f"drop_fraction must lie in [0, 1), got {drop_fraction}")
    if n_test < 1 or n_pairs < 0 or n_test + n_pairs > n:
        raise InputError(
            f"cannot hold out {n_test} test pairs and keep {n_pairs} training pairs from {n} rows; "
            "lower n_test or n_pairs"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    test_idx, paired_idx, rest = (
        order[:n_test],
        order[n_test : n_test + n_pairs],
        order[n_test + n_pairs :],
    )
    n_keep = int(round(rest.size * (1.0 - drop_fraction)))
    keep_x = rng.permutation(rest)[:n_keep]
    keep_y = rng.permutation(rest)[:n_keep]

    rows_x = np.concatenate([paired_idx, keep_x])
    rows_y = np.concatenate([paired_idx, keep_y])
    perm_x, perm_y = rng.permutation(rows_x.size), rng.permutation(rows_y.size)
    rows_x, rows_y = rows_x[perm_x], rows_y[perm_y]
    # position of each original paired row in the shuffled training arrays
    pos_x = np.argsort(perm_x)[:n_pairs]
    pos_y = np.argsort(perm_y)[:n_pairs]
    pairs = np.stack([pos_x, pos_y], axis=1)
    train = WeaklyPairedData(x[rows_x], y[rows_y], pairs)
    return PairedSplit(train=train, x_test=x[test_idx], y_test=y[test_idx], test_index=test_idx)


def with_unpaired(data: WeaklyPairedData, x_rows: object, y_rows: object) -> WeaklyPairedData:
    """`data` with extra rows (partners unknown) after its own rows; the pairs keep pointing at
    the same rows.

    Parameters
    ----------
    data : WeaklyPairedData
        The data to extend.
    x_rows, y_rows : array-like
        Extra rows of each side, partners unknown.
    """
    x_rows, y_rows = np.asarray(x_rows), np.asarray(y_rows)
    if x_rows.shape[0] == 0 and y_rows.shape[0] == 0:
        return data
    return WeaklyPairedData(
        np.concatenate([data.x, x_rows]), np.concatenate([data.y, y_rows]), data.pairs
    )


def limit_unpaired(data: WeaklyPairedData, n_unpaired: int, seed: int = 0) -> WeaklyPairedData:
    """Keep every paired row and at most `n_unpaired` other rows of each modality (seeded).

    This is the unpaired-budget axis of the paper's Fig. 5b: the pairs stay, the rest shrinks.

    Parameters
    ----------
    data : WeaklyPairedData
        The data.
    n_unpaired : int
        Unpaired rows kept per modality at most.
    seed : int
        Seeds which rows are kept.
    """
    if n_unpaired < 0:
        raise InputError(f"n_unpaired must be >= 0, got {n_unpaired}")
    rng = np.random.default_rng(seed)
    keep = []
    for col, n in ((0, data.x.shape[0]), (1, data.y.shape[0])):
        paired = data.pairs[:, col]
        rest = np.setdiff1d(np.arange(n), paired)
        extra = rng.permutation(rest)[: min(n_unpaired, rest.size)]
        keep.append(np.sort(np.concatenate([paired, extra])))
    remap = [np.full(n, -1) for n in (data.x.shape[0], data.y.shape[0])]
    for r, k in zip(remap, keep, strict=True):
        r[k] = np.arange(k.size)
    pairs = np.stack([remap[0][data.pairs[:, 0]], remap[1][data.pairs[:, 1]]], axis=1)
    return WeaklyPairedData(data.x[keep[0]], data.y[keep[1]], pairs)
