"""The paper's split protocol (App. D.7) and the unpaired-budget axis: held-out test pairs, a few
training pairs, the rest unpaired."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sue_framework.data import WeaklyPairedData
from sue_framework.errors import InputError
from sue_framework.validation import as_matrix


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
