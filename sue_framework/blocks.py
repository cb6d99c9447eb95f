"""Embedding inputs larger than memory: a memory-mapped .npy in, a .npy out, one block of rows
at a time, so that neither file is ever held in memory whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.files import atomic_path, read_matrix


def transform_file(
    model: Any, source: str | Path, modality: str, dest: str | Path, block_rows: int = 65536
) -> tuple[int, int]:
    """Embed the rows of the .npy `source` with a fitted `model` into the .npy `dest`, block by
    block (input memory-mapped, output written through a memory-mapped .npy; atomically, so a
    crash leaves no partial `dest`). Returns the output shape."""
    if Path(source).suffix.lower() != ".npy" or Path(dest).suffix.lower() != ".npy":
        raise InputError("block-wise transform reads and writes .npy files")
    if block_rows < 1:
        raise InputError(f"block_rows must be >= 1, got {block_rows}")
    rows = read_matrix(source, "input", mmap=True)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise InputError(f"input {source} must hold a non-empty 2-D array, got {rows.shape}")
    n = rows.shape[0]
    first = np.asarray(model.transform(np.array(rows[:block_rows]), modality), np.float32)
    with atomic_path(dest) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                        shape=(n, first.shape[1]))  # fmt: skip
        out[: first.shape[0]] = first
        for start in range(first.shape[0], n, block_rows):
            block = np.array(rows[start : start + block_rows])  # this block, in memory
            out[start : start + block.shape[0]] = model.transform(block, modality)
        out.flush()
        del out
    return n, first.shape[1]
