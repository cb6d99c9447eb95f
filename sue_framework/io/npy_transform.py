"""Embedding inputs larger than memory: a .npy in, a .npy out, one block of rows at a time, so
that neither file is ever held in memory (or mapped into the address space) whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.io.array_files import atomic_path
from sue_framework.npy_rows import NpyRows, npy_header


def transform_file(
    model: Any, source: str | Path, modality: str, dest: str | Path, block_rows: int = 65536
) -> tuple[int, int]:
    """Embed the rows of the .npy `source` with a fitted `model` into the .npy `dest`, block by
    block (read with `NpyRows`, appended to `dest` after its header; atomically, so a crash
    leaves no partial `dest`). Returns the output shape.

    Parameters
    ----------
    model : fitted method
        Anything with ``transform(rows, modality)``.
    source : str or Path
        The .npy file of rows to embed (C order; Fortran order is read through a memory map).
    modality : str
        Which side the rows are, "x" or "y".
    dest : str or Path
        The .npy file to write.
    block_rows : int
        Rows embedded per block.
    """
    if Path(source).suffix.lower() != ".npy" or Path(dest).suffix.lower() != ".npy":
        raise InputError("block-wise transform reads and writes .npy files")
    if block_rows < 1:
        raise InputError(f"block_rows must be >= 1, got {block_rows}")
    blocks: Iterator[tuple[slice, np.ndarray]]
    _, fortran, _, _ = npy_header(source)
    if fortran:  # columns stored together: read row blocks from a memory map
        mapped = np.load(source, mmap_mode="r")
        n = mapped.shape[0]
        blocks = (
            (slice(a, min(a + block_rows, n)), np.ascontiguousarray(mapped[a : a + block_rows]))
            for a in range(0, n, block_rows)
        )
    else:
        rows = NpyRows(source)
        n = rows.shape[0]
        blocks = rows.blocks(block_rows)
    _, first_block = next(blocks)
    first = np.asarray(model.transform(first_block, modality), dtype="<f4")
    header = {"descr": "<f4", "fortran_order": False, "shape": (n, int(first.shape[1]))}
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        np.lib.format.write_array_header_1_0(out, header)
        out.write(first.tobytes())
        for _, block in blocks:
            out.write(np.asarray(model.transform(block, modality), dtype="<f4").tobytes())
    return n, int(first.shape[1])
