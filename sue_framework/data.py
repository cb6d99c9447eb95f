"""The data model: two unpaired sets plus a few pairs (`WeaklyPairedData`), its scikit-learn
adapter (`PairView`) and the coercion every fit starts with (`training_data`). Validation lives
in `validation`, the split protocol in `splits`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.npy_rows import NpyRows
from sue_framework.validation import (  # noqa: F401  (re-exported: plugins import them from here)
    as_matrix,
    as_pairs,
    check_fit_input,
    check_rows_on_disk,
    check_stage_output,
    describe_conflicts,
    pair_conflicts,
)


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
    allow_many : bool
        Whether a row may have several partners (a word with several translations, a picture
        with several captions). False: pairs that give a row a second partner are accepted with
        a warning that names them, as they are most often a labelling slip. The command line
        refuses them unless given --allow-many.
    """

    # arrays for every fit but those that stream rows on disk, which alone accept NpyRows here
    # (`training_data` refuses them elsewhere)
    x: np.ndarray
    y: np.ndarray

    def __init__(
        self, x: object, y: object, pairs: object = None, *, allow_many: bool = False
    ) -> None:
        self.x, self.y = _training_rows(x, "x"), _training_rows(y, "y")
        self.pairs = as_pairs(pairs, self.x.shape[0], self.y.shape[0])
        self.allow_many = bool(allow_many)
        if not self.allow_many:
            conflicts = pair_conflicts(self.pairs)
            if conflicts:
                warnings.warn(
                    describe_conflicts(self.pairs, conflicts) + "; fix the pairs, or pass "
                    "allow_many=True where items truly have several partners",
                    stacklevel=2,
                )

    def subset(self, pairs: np.ndarray) -> WeaklyPairedData:
        """The same rows with only `pairs` (checked again; the many-partner rule carries over).

        Parameters
        ----------
        pairs : ndarray of shape (m, 2)
            Some of this data's pairs, or others within its rows.
        """
        return WeaklyPairedData(self.x, self.y, pairs, allow_many=self.allow_many)

    @classmethod
    def _trusted(cls, x: np.ndarray, y: np.ndarray, pairs: np.ndarray) -> WeaklyPairedData:
        """Built from arrays already checked (no copies, no checks)."""
        data = cls.__new__(cls)
        data.x, data.y, data.pairs = x, y, pairs
        data.allow_many = True  # checked (and warned about) where the pairs came from
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
        return PairView(d.subset(d.pairs[np.asarray(index)].reshape(-1, 2)))

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
