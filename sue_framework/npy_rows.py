"""Rows on disk: a 2-D .npy file read one block (or one minibatch) at a time.

Plain positioned reads, not a memory map: a map of the whole file counts against a process's
address-space limit (``ulimit -v``) as if the file were in memory, a read of a block does not.
So a file larger than memory, or than such a cap, can be checked, fitted (by the stages that
stream rows: SpectralNet's regression training) and transformed (`npy_transform.transform_file`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

DEFAULT_BLOCK_BYTES = 64 << 20


def npy_header(path: str | Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """A .npy file's header, read without the data: (shape, Fortran order, dtype, the byte
    offset where the data starts).

    Parameters
    ----------
    path : str or Path
        The .npy file.
    """
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = (
                np.lib.format.read_array_header_1_0(f)
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0(f)
            )
        except ValueError as exc:
            raise InputError(f"{path} is not a readable .npy file: {exc}") from None
        return shape, bool(fortran), dtype, f.tell()


@dataclass(frozen=True)
class RowStats:
    """What one pass over the rows found: the first row holding NaN or inf (None if none),
    the largest magnitude, each column's min and max, mean and standard deviation.

    Parameters
    ----------
    first_bad_row : int or None
        The first row holding NaN or inf (None if none).
    peak : float
        The largest magnitude.
    low, high : ndarray
        Each column's min and max.
    mean, std : ndarray
        Each column's mean and standard deviation.
    """

    first_bad_row: int | None
    peak: float
    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    std: np.ndarray


class NpyRows:
    """Read-only rows of a 2-D C-ordered numeric .npy file, as float32 blocks.

    `rows[a:b]` reads rows a..b, `rows.take(idx)` any rows (sorted runs are read together),
    `rows.blocks()` walks the file in blocks of about `block_bytes`. The file stays open only
    while a read runs, so an instance can be shared across processes.

    Parameters
    ----------
    path : str or Path
        A 2-D, C-ordered numeric .npy file.
    block_bytes : int
        About how many bytes `blocks()` reads at a time.
    """

    @keyword_only
    def __init__(self, path: str | Path, *, block_bytes: int = DEFAULT_BLOCK_BYTES) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".npy" or not self.path.is_file():
            raise InputError(f"rows on disk must be an existing .npy file, got {self.path}")
        self._signature = self._identity(os.stat(self.path))
        shape, fortran, dtype, self._offset = npy_header(self.path)
        if len(shape) != 2 or 0 in shape:
            raise InputError(f"{self.path} must hold a non-empty 2-D array, got shape {shape}")
        if fortran:
            raise InputError(
                f"{self.path} is stored column-major (Fortran order); rows cannot be read one "
                "block at a time. Save it with np.save(path, np.ascontiguousarray(a))"
            )
        if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
            raise InputError(f"{self.path} must hold real numbers, got dtype {dtype}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        self.block_rows = max(1, int(block_bytes) // max(1, self.shape[1] * 4))
        self._stats: RowStats | None = None

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        """Always 2."""
        return 2

    def __repr__(self) -> str:
        return f"NpyRows({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    @staticmethod
    def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def check_unchanged(self) -> None:
        """Refuse rows whose file was replaced or rewritten since this object first read it:
        a fit over them would mix two versions and match neither."""
        try:
            now = self._identity(os.stat(self.path))
        except FileNotFoundError:
            now = None
        if now != self._signature:
            raise self._changed()

    def _changed(self) -> InputError:
        return InputError(
            f"{self.path} changed while it was being read (its size, time or inode differ from "
            "when it was first read); nothing was saved. Rerun once the file is final"
        )

    def _open(self):
        """The file, opened for a read, after checking it is still the one first read."""
        f = open(self.path, "rb")
        if self._identity(os.fstat(f.fileno())) != self._signature:
            f.close()
            raise self._changed()
        return f

    def _read_into(self, f, view: memoryview, start: int) -> None:
        if os.preadv(f.fileno(), [view], self._offset + start * self._row_bytes) != len(view):
            raise InputError(f"{self.path} ended early: it is shorter than its header says")

    def _float32(self, block: np.ndarray, start: int | None) -> np.ndarray:
        """`block` as float32; finite values beyond float32's range are refused by name
        rather than read as inf."""
        if self.dtype.itemsize > 4 and np.issubdtype(self.dtype, np.floating):
            finite = np.isfinite(block)
            big = finite & (np.abs(block) > np.finfo(np.float32).max)
            if big.any():
                at = (
                    "" if start is None else f" (first in row {start + int(np.nonzero(big)[0][0])})"
                )
                peak = float(np.abs(block[finite]).max())
                raise InputError(
                    f"{self.path} holds values up to {peak:.3g}{at}, beyond float32 (the "
                    "compute type, max "
                    f"{np.finfo(np.float32).max:.3g}); rescale it first, e.g. divide by "
                    "np.abs(a).max()"
                )
        return block.astype(np.float32, copy=False)

    def _read(self, f, start: int, stop: int) -> np.ndarray:
        buf = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        self._read_into(f, buf.data.cast("B"), start)
        return buf

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("NpyRows supports rows[a:b]; use take(indices) for other rows")
        start, stop, _ = index.indices(self.shape[0])
        if stop <= start:
            return np.empty((0, self.shape[1]), dtype=np.float32)
        with self._open() as f:
            return self._float32(self._read(f, start, stop), start)

    def take(self, indices: np.ndarray) -> np.ndarray:
        """Rows `indices` (any order, repeats allowed) as a float32 array."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
            raise InputError(f"row indices must lie in [0, {self.shape[0]}) for {self.path}")
        if idx.size == 0:
            return np.empty((0, self.shape[1]), dtype=np.float32)
        uniq, inverse = np.unique(idx, return_inverse=True)
        buf = np.empty((uniq.size, self.shape[1]), dtype=self.dtype)
        view = buf.data.cast("B")
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1  # runs of consecutive rows: one read each
        starts, ends = np.r_[0, breaks].tolist(), np.r_[breaks, uniq.size].tolist()
        rb = self._row_bytes
        with self._open() as f:
            for a, b in zip(starts, ends, strict=True):
                if b > a:
                    self._read_into(f, view[a * rb : b * rb], int(uniq[a]))
        return self._float32(buf, None)[inverse]

    def blocks(self, block_rows: int | None = None) -> Iterator[tuple[slice, np.ndarray]]:
        """(rows, float32 block) pairs covering the file in order."""
        step = int(block_rows or self.block_rows)
        with self._open() as f:
            # not engine.row_chunks: data.py imports this module; `sue --help` must not load torch
            for start in range(0, self.shape[0], step):
                stop = min(start + step, self.shape[0])
                yield slice(start, stop), self._float32(self._read(f, start, stop), start)

    def stats(self) -> RowStats:
        """One pass over the blocks (then remembered): finiteness, range, column moments."""
        if self._stats is not None:
            return self._stats
        d = self.shape[1]
        total, sq = np.zeros(d), np.zeros(d)
        low, high = np.full(d, np.inf), np.full(d, -np.inf)
        shift = self[0:1][0].astype(np.float64)  # sums of shifted values lose less precision
        first_bad: int | None = None
        for part, block in self.blocks():
            finite = np.isfinite(block).all(axis=1)
            if not finite.all():
                first_bad = part.start + int(np.argmin(finite))
                break
            low, high = np.minimum(low, block.min(0)), np.maximum(high, block.max(0))
            centred = block - shift
            total += centred.sum(0, dtype=np.float64)
            sq += np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
        peak = float(max(np.abs(low).max(), np.abs(high).max())) if first_bad is None else np.nan
        mean = total / self.shape[0]
        std = np.sqrt(np.maximum(sq / self.shape[0] - mean**2, 0.0))
        self._stats = RowStats(first_bad, peak, low, high, shift + mean, std)
        return self._stats

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Column means and standard deviations (float64), from `stats`."""
        s = self.stats()
        return s.mean, s.std
