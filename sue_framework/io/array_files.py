"""Files of numbers: reading arrays and pairs in the formats users have, and atomic writes (an
output is either the complete new file or the old one, never a torn mix, even under `kill -9`).
"""

from __future__ import annotations

import csv
import hashlib
import json
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
    without an error, with the user's umask (a new file's usual mode), after an fsync.

    Parameters
    ----------
    path : str or Path
        The file the block's output replaces when the block ends without an error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:  # a file being replaced keeps its permission bits; a new one gets the umask's
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~umask()  # mkstemp made it 0600
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


SUPPORTED = ".npy, .npz, .csv, .tsv, .txt or .parquet"
MATRIX_OUTPUTS = (".npy", ".csv", ".tsv", ".txt")
DATA_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".txt", ".parquet", ".json", ".jsonl")


def check_output(
    path: str | Path,
    *,
    inputs: tuple[str | Path | None, ...] = (),
    flag: str = "--out",
    suffixes: tuple[str, ...] | None = None,
    refused_suffixes: tuple[str, ...] = (),
) -> None:
    """Refuse, before any work starts, an output that would lose something the user has or
    could not be written: the same file as an input (same inode, whatever the spelling), an
    existing node that is not a regular file (a folder, a device, a FIFO, a socket), a name
    whose extension says another format, or a folder that is missing write permission.

    Parameters
    ----------
    path : str or Path
        The output to check.
    inputs : tuple of paths
        The command's inputs; None entries are skipped.
    flag : str
        The option that named the output, for messages.
    suffixes : tuple of str, optional
        The extensions this command writes; None accepts any.
    refused_suffixes : tuple of str
        Extensions that name another format than the one written.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag} {path} is a directory; give a file name, e.g. {p / 'out'}")
    if p.exists() and not p.is_file():
        raise InputError(
            f"{flag} {path} exists and is not a regular file (a device, FIFO or socket); "
            "give the path of a file to write"
        )
    for given in inputs:
        if given is not None and _same_file(p, Path(given)):
            raise InputError(
                f"{flag} {path} is the input {given}; writing it would destroy that input. "
                "Give another output path"
            )
    suffix = p.suffix.lower()
    if suffixes is not None and suffix not in suffixes:
        named = suffix or "no extension"
        raise InputError(
            f"{flag} {path}: this command writes {' or '.join(suffixes)}, not {named}; name the "
            "output with one of those extensions"
        )
    if suffix in refused_suffixes:
        raise InputError(
            f"{flag} {path}: the extension {suffix} names another format than the one written "
            "here; use .sue for a model file"
        )
    parent = p.parent if str(p.parent) else Path(".")
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise InputError(f"{flag} {path}: {ancestor} is a file, not a folder")
            if not os.access(ancestor, os.W_OK):
                raise InputError(f"{flag} {path}: the folder {ancestor} is not writable")
            break


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_matrix(z: np.ndarray, path: str | Path) -> None:
    """Write rows in the format `path`'s extension names (.npy, or text: .csv and .txt with
    commas, .tsv with tabs; floats to 9 significant digits, which float32 reads back exactly),
    atomically: a crash leaves the old file.

    Parameters
    ----------
    z : ndarray
        The rows to write.
    path : str or Path
        .npy, or .csv/.txt (commas) or .tsv (tabs) text.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in MATRIX_OUTPUTS:
        raise InputError(f"{path}: rows are written as {', '.join(MATRIX_OUTPUTS)}, not {suffix!r}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if suffix == ".npy":
            np.save(fh, z)
        else:
            np.savetxt(fh, z, fmt="%.9g", delimiter="\t" if suffix == ".tsv" else ",")


def manifest_path(path: str | Path) -> Path:
    """Where `write_embeddings` puts the manifest of embeddings written to `path`.

    Parameters
    ----------
    path : str or Path
        The embeddings' .npy.
    """
    return Path(f"{path}.manifest.json")


def write_embeddings(z: np.ndarray, path: str | Path, about: dict) -> Path:
    """Write embeddings as a float32 .npy and, beside it, `<path>.manifest.json`: `about`
    (what made them: encoder, input, row ids) plus their shape and the SHA-256 of the float32
    rows in C order, so a later reader can tell the two files belong together. Both writes
    are atomic and the rows go first: a crash in between leaves a manifest whose SHA-256 does
    not match, never one that vouches for rows it did not see. Returns the manifest's path.

    Parameters
    ----------
    z : ndarray
        The embeddings, one row per item.
    path : str or Path
        The .npy to write.
    about : dict
        JSON-serialisable fields for the manifest.
    """
    rows = np.ascontiguousarray(z, dtype=np.float32)
    manifest = {**about, "shape": list(rows.shape),
                "sha256": hashlib.sha256(rows.tobytes()).hexdigest()}  # fmt: skip
    write_matrix(rows, path)
    man = manifest_path(path)
    with atomic_path(man) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return man


def read_matrix(path: str | Path, name: str, key: str | None = None) -> np.ndarray:
    """The numbers in one file as an array: .npy, .npz (the array `key`, or its only array),
    .csv/.txt (commas) or .tsv (tabs), an optional header line, or .parquet (numeric columns,
    or one column of lists). Never unpickles. (`npy_rows.NpyRows` reads a .npy larger than memory
    a block at a time.)

    Parameters
    ----------
    path : str or Path
        The file to read.
    name : str
        What the rows are ("x", "y"), for messages.
    key : str, optional
        The array to read from an .npz holding several.
    """
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
            return _read_text_matrix(p, name, "\t" if suffix == ".tsv" else ",")
        if suffix == ".parquet":
            return _read_parquet(p, name)
    except InputError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise InputError(
                f"{name}: {p} holds Python objects (dtype object), which are not loaded "
                "(pickle); save numbers instead, e.g. np.save(path, a.astype(np.float32))"
            ) from exc
        raise InputError(f"{name}: {p} could not be read as numbers ({exc})") from exc
    raise InputError(f"{name}: unsupported file type {suffix!r} ({p}); use {SUPPORTED}")


def _read_text(p: Path, name: str) -> str:
    """A text file's content as UTF-8 (a byte-order mark dropped, line ends of any kind)."""
    raw = p.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) > 1 and b"\x00" in raw[:64]):
        raise InputError(
            f"{name}: {p} is UTF-16 (or binary), not UTF-8 text; save it as UTF-8, e.g. "
            f"iconv -f UTF-16 -t UTF-8 {p.name} > utf8_{p.name}"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: {p} is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from None


def _read_text_matrix(p: Path, name: str, sep: str) -> np.ndarray:
    """Rows of numbers from text; a header is a first line none of whose fields is a number.
    Any other field that is not a number is an error naming its line and column."""
    lines = [(k, ln) for k, ln in enumerate(_read_text(p, name).splitlines(), 1) if ln.strip()]
    if not lines:
        raise InputError(f"{name}: {p} holds no rows")
    if not any(_is_number(f) for f in lines[0][1].split(sep)):
        lines = lines[1:]
        if not lines:
            raise InputError(f"{name}: {p} holds a header line and no rows")
    try:
        return np.loadtxt([ln for _, ln in lines], delimiter=sep, ndmin=2)
    except ValueError:
        pass  # find the field to name
    width = len(lines[0][1].split(sep))
    for k, ln in lines:
        fields = ln.split(sep)
        bad = [c for c, f in enumerate(fields) if not _is_number(f)]
        if bad:
            raise InputError(
                f"{name}: line {k}, column {bad[0] + 1} of {p} is {fields[bad[0]].strip()!r}, "
                "not a number"
            )
        if len(fields) != width:
            raise InputError(
                f"{name}: line {k} of {p} has {len(fields)} fields where the first row has {width}"
            )
    raise InputError(f"{name}: {p} could not be read as rows of numbers")


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


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

    Parameters
    ----------
    path : str or Path
        A .npy (m, 2) array or a text file of i,j lines.
    """
    return read_pair_lines(path)[0]


def read_pair_lines(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """`read_pairs`, with the line of the file each pair came from (1-based; for .npy the row,
    counting from 1), so that messages about a pair can name where to fix it.

    Parameters
    ----------
    path : str or Path
        A .npy (m, 2) array or a text file of i,j lines.
    """
    p = Path(path)
    if p.suffix.lower() in {".npy", ".npz"}:
        pairs = read_matrix(p, "pairs")
        return pairs, np.arange(1, pairs.shape[0] + 1) if pairs.ndim == 2 else np.zeros(0, int)
    if not p.is_file():
        raise InputError(f"pairs: no file at {p} (resolved from {Path.cwd()})")
    text = _read_text(p, "pairs")  # a byte-order mark is not part of the first field
    lines = [(k, ln.strip()) for k, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    split = (lambda ln: next(csv.reader([ln]))) if p.suffix.lower() == ".csv" else _fields
    cols, named = (0, 1), False
    if lines and not any(_is_int(f) for f in split(lines[0][1])):
        header = [f.strip().lower() for f in split(lines[0][1])]
        if "x" in header and "y" in header:
            cols, named = (header.index("x"), header.index("y")), True
        lines = lines[1:]
    rows, where, waiting = [], [], 0
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
                    + (
                        " (a second header: join pair files with sue fit --pairs A --pairs B, "
                        "not cat)"
                        if fields[c].lower() in ("x", "y", "i", "j")
                        else ""
                    )
                )
        pair = [int(fields[c]) for c in cols]
        if max(abs(v) for v in pair) >= 2**62:
            raise InputError(f"pairs: line {k} of {p} holds an index far beyond any row: {ln}")
        rows.append(pair)
        where.append(k)
    if waiting:
        warnings.warn(f"{p}: {waiting} row(s) have no partner yet and stay unpaired", stacklevel=3)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2), np.asarray(where, dtype=np.int64)


def _fields(line: str) -> list[str]:
    return re.split(r"\s*,\s*|\s+", line)


def _is_int(field: str) -> bool:
    return re.fullmatch(r"\s*[+-]?\d+\s*", field) is not None
