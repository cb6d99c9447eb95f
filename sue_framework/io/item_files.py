"""Reading raw items for encoders: a text file (one item per line), a CSV or JSONL column, or a
folder of images. Returns the items and stable ids (line numbers, a CSV id column, file names)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sue_framework.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def read_items(
    path: str | Path, column: str | None = None, id_column: str | None = None
) -> tuple[list, list]:
    """(items, ids) from `path`. A folder yields its image files (sorted); .csv/.jsonl need
    `column`; any other file is read as one item per non-empty line.

    Parameters
    ----------
    path : str or Path
        A folder of images, a .csv/.jsonl file, or a text file of one item per line.
    column : str, optional
        The column of items in a .csv/.jsonl file.
    id_column : str, optional
        A column of item ids in a .csv/.jsonl file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"no input at {p}")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{p} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return [str(f) for f in files], [f.name for f in files]
    if p.suffix in (".csv", ".jsonl"):
        if not column:
            raise InputError(f"{p.name} is a table: name the column of items with --column")
        if p.suffix == ".csv":
            with open(p, newline="") as fh:
                rows = list(csv.DictReader(fh))
        else:
            rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
        if rows and column not in rows[0]:
            raise InputError(f"{p.name} has no column {column!r}; columns: {sorted(rows[0])}")
        items = [r[column] for r in rows]
        ids = [str(r[id_column]) for r in rows] if id_column else [str(i) for i in range(len(rows))]
        return items, ids
    lines = [ln for ln in p.read_text().splitlines() if ln.strip()]
    return lines, [str(i) for i in range(len(lines))]
