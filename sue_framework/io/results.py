"""The experiment results file: a CSV whose rows each end in a checksum, so that it survives
crashes and damage.

A run appends one complete line per finished cell. A crash (`kill -9`, a full disk, an editor)
can leave a torn or glued last line, or a changed figure. On resume every line is checked: a
damaged one is reported with the file and line number and dropped, so its cell is recomputed,
and the file is rewritten (atomically) with the good rows before new ones are appended.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sue_framework.errors import SUEError
from sue_framework.io.array_files import atomic_path

CHECKSUM = "checksum"
_SEP = "\x1f"  # joins a row's fields for its checksum; never in a CSV field we write


def _checksum(values: Iterable[str]) -> str:
    return f"{zlib.crc32(_SEP.join(values).encode()):08x}"


class ResultsFile:
    """Rows of `columns` in a CSV at `path`; `types` converts the stored text back to numbers.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    columns : list of str
        Its columns, in order (the checksum is added after them).
    types : dict
        Column -> the function that turns its stored text back into a value.
    """

    def __init__(
        self, path: str | Path, columns: list[str], types: dict[str, Callable[[str], object]]
    ) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.types = types

    def _line(self, row: dict) -> str:
        values = ["" if row.get(c) is None else str(row[c]) for c in self.columns]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([*values, _checksum(values)])
        return buf.getvalue()

    def read(self) -> list[dict]:
        """The intact rows; each damaged line is reported (file and line) and left out."""
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return []
            checked = header[-1:] == [CHECKSUM]
            names = header[:-1] if checked else header
            missing = [c for c in self.columns if c not in names]
            if missing:
                raise SUEError(
                    f"{self.path} line 1: the header lacks the columns {missing}; it was not "
                    "written by this experiment. Move it away, or rerun with --restart"
                )
            rows, damaged = [], []
            for values in reader:
                where = reader.line_num
                why = self._damage(values, names, checked)
                if why is None:
                    row: dict[str, Any] = dict(zip(names, values[: len(names)], strict=True))
                    try:
                        for key, convert in self.types.items():
                            row[key] = convert(row[key])
                    except ValueError as exc:
                        why = f"unreadable value ({exc})"
                if why is None:
                    rows.append(row)
                else:
                    damaged.append(f"line {where}: {why}")
        if damaged:
            warnings.warn(
                f"{self.path}: {len(damaged)} damaged row(s) left out and their cells will be "
                f"recomputed ({'; '.join(damaged[:5])}{' ...' if len(damaged) > 5 else ''})",
                stacklevel=2,
            )
        return rows

    @staticmethod
    def _damage(values: list[str], names: list[str], checked: bool) -> str | None:
        width = len(names) + int(checked)
        if len(values) != width:
            return f"{len(values)} fields where {width} belong (a torn or glued line)"
        if checked and _checksum(values[:-1]) != values[-1]:
            return "checksum mismatch (the line was changed after it was written)"
        return None

    def start(self, rows: list[dict]) -> None:
        """Replace the file, atomically, by the header and `rows` (those that survived)."""
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow([*self.columns, CHECKSUM])
            fh.writelines(self._line(r) for r in rows)

    def append(self, row: dict) -> None:
        """Add one row as one complete line, on disk before this returns."""
        with open(self.path, "a", newline="") as fh:
            fh.write(self._line(row))
            fh.flush()
            os.fsync(fh.fileno())
