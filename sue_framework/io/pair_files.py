"""Pairs from one or more files, merged into one checked set: a labelling history kept in
several files (the pairs one had, the rows `sue suggest` asked for once filled in) fits as one.

Each pair keeps the file and line it came from, so that every message names where to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sue_framework.errors import InputError
from sue_framework.io.array_files import read_pair_lines
from sue_framework.validation import check_pair_bounds, describe_conflicts, pair_conflicts


@dataclass(frozen=True)
class MergedPairs:
    """Pairs read from files, merged.

    Parameters
    ----------
    pairs : ndarray of shape (m, 2)
        The pairs, each listed once, in the order first read.
    sources : list of str
        Where pair k came from ("FILE line N", or "FILE row N" for .npy).
    duplicates : int
        Lines dropped as repeats of an earlier pair.
    """

    pairs: np.ndarray
    sources: list[str]
    duplicates: int


def merge_pair_files(
    paths: Sequence[str | Path], n_x: int, n_y: int, *, allow_many: bool = False
) -> MergedPairs:
    """Read every file of `paths`, in order, and merge their pairs.

    A pair listed again (in the same file or another) is dropped and counted. A pair outside
    the rows is an error naming its file and line. Pairs that give a row a second partner are
    an error naming both lines, unless `allow_many` (items that truly have several partners).

    Parameters
    ----------
    paths : sequence of str or Path
        Pair files (`read_pairs` formats), read in order.
    n_x, n_y : int
        Rows of x and of y: the bounds of the indices.
    allow_many : bool
        Accept rows with several partners.
    """
    blocks, sources = [], []
    for path in paths:
        pairs, lines = read_pair_lines(path)
        if pairs.ndim != 2 or (pairs.size and pairs.shape[1] != 2):
            raise InputError(f"pairs: {path} must hold (m, 2) row pairs, got shape {pairs.shape}")
        pairs = pairs.reshape(-1, 2)
        unit = "row" if Path(path).suffix.lower() in (".npy", ".npz") else "line"
        sources += [f"{path} {unit} {line}" for line in lines.tolist()]
        blocks.append(pairs)
    every = np.concatenate(blocks) if blocks else np.zeros((0, 2), dtype=np.int64)
    check_pair_bounds(every, n_x, n_y, lambda k: f"pairs: {sources[k]}")
    _, first = np.unique(every, axis=0, return_index=True)
    keep = np.sort(first)
    merged = every[keep].astype(np.int64).reshape(-1, 2)
    kept = [sources[k] for k in keep.tolist()]
    if not allow_many:
        conflicts = pair_conflicts(merged)
        if conflicts:
            raise InputError(
                "pairs: "
                + describe_conflicts(merged, conflicts, lambda k: kept[k])
                + "; fix the lines, or pass --allow-many where items truly have several partners"
            )
    return MergedPairs(merged, kept, int(every.shape[0] - merged.shape[0]))
