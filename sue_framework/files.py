"""Files of numbers: reading arrays and pairs in the formats users have, and atomic writes (an
output is either the complete new file or the old one, never a torn mix, even under `kill -9`).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sue_framework.errors import InputError


def umask() -> int:
    """The process's file-mode creation mask (read, not changed, where /proc has it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; it replaces `path` only if the block ends
    without an error, with the user's umask (a new file's usual mode), after an fsync."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp made it 0600
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


SUPPORTED = ".npy, .npz, .csv, .tsv, .txt or .parquet"


def read_matrix(path: str | Path, name: str, key: str | None = None) -> np.ndarray:
    """The numbers in one file as an array: .npy, .npz (the array `key`, or its only array),
    .csv/.txt (commas) or .tsv (tabs), an optional header line, or .parquet (numeric columns,
    or one column of lists). Never unpickles. (`rows.NpyRows` reads a .npy larger than memory
    a block at a time.)"""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{name}: no file at {p} (resolved from {Path.cwd()})")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(p, allow_pickle=False)
        if suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                keys = list(z.keys())
                if key is None and len(keys) == 1:
                    key = keys[0]
                if key not in keys:
                    raise InputError(
                        f"{name}: {p} holds the arrays {keys}; name the one to use "
                        f"(key={key!r} is not among them)"
                    )
                return z[key]
        if suffix in {".csv", ".txt", ".tsv"}:
            sep = "\t" if suffix == ".tsv" else ","
            try:
                return np.loadtxt(p, delimiter=sep, ndmin=2)
            except ValueError:
                return np.loadtxt(p, delimiter=sep, ndmin=2, skiprows=1)  # a header line
        if suffix == ".parquet":
            return _read_parquet(p, name)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise InputError(
                f"{name}: {p} holds Python objects (dtype object), which are not loaded "
                "(pickle); save numbers instead, e.g. np.save(path, a.astype(np.float32))"
            ) from exc
        raise InputError(f"{name}: {p} could not be read as numbers ({exc})") from exc
    raise InputError(f"{name}: unsupported file type {suffix!r} ({p}); use {SUPPORTED}")


def _read_parquet(p: Path, name: str) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(
            f"{name}: reading {p} needs pyarrow; pip install 'sue-framework[parquet]'"
        ) from exc
    table = pq.read_table(p)
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(table.num_columns)]
    if len(columns) == 1 and columns[0].dtype == object:  # one column of vectors
        return np.stack([np.asarray(v, dtype=np.float64) for v in columns[0]])
    return np.column_stack(columns)


def read_pairs(path: str | Path) -> np.ndarray:
    """Pairs i, j (x[i] <-> y[j]): .npy (m, 2), or text with two integer columns (comma-, tab-
    or space-separated) and an optional header line.

    A header is a first line whose every field is non-numeric. When it names columns "x" and
    "y", those two are read and any others ignored, and a row with either still empty is left
    out (a file that `sue suggest` wrote and a person has filled in part of). Any other
    non-numeric field is an error naming its line and column.
    """
    p = Path(path)
    if p.suffix.lower() in {".npy", ".npz"}:
        return read_matrix(p, "pairs")
    if not p.is_file():
        raise InputError(f"pairs: no file at {p} (resolved from {Path.cwd()})")
    text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first field
    lines = [(k, ln.strip()) for k, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    split = (lambda ln: next(csv.reader([ln]))) if p.suffix.lower() == ".csv" else _fields
    cols, named = (0, 1), False
    if lines and not any(_is_int(f) for f in split(lines[0][1])):
        header = [f.strip().lower() for f in split(lines[0][1])]
        if "x" in header and "y" in header:
            cols, named = (header.index("x"), header.index("y")), True
        lines = lines[1:]
    rows, waiting = [], 0
    for k, ln in lines:
        fields = [f.strip() for f in split(ln)]
        if not named and len(fields) != 2:
            raise InputError(f"pairs: line {k} of {p} must hold exactly two integers i,j")
        if named and (max(cols) >= len(fields) or "" in (fields[cols[0]], fields[cols[1]])):
            waiting += 1  # a suggested row nobody has paired yet
            continue
        for c in cols:
            if not _is_int(fields[c]):
                raise InputError(
                    f"pairs: line {k}, column {c + 1} of {p} is {fields[c]!r}, not a row index"
                )
        rows.append([int(fields[c]) for c in cols])
    if waiting:
        warnings.warn(f"{p}: {waiting} row(s) have no partner yet and stay unpaired", stacklevel=2)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _fields(line: str) -> list[str]:
    return re.split(r"\s*,\s*|\s+", line)


def _is_int(field: str) -> bool:
    return re.fullmatch(r"\s*[+-]?\d+\s*", field) is not None
