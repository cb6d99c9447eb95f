"""Running any task on files: each of the task's declared inputs (`Task.inputs`) is read from its
files and, for embeddings, passed through the fitted model first."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.interfaces import MODALITIES, Task
from sue_framework.io.array_files import read_matrix


def read_labels(path: str | Path, name: str) -> np.ndarray:
    """Class labels: a .npy array, or a text file with one label per line.

    Parameters
    ----------
    path : str or Path
        A .npy array, or a text file with one label per line.
    name : str
        What the labels are, for messages.
    """
    p = Path(path)
    if p.suffix.lower() == ".npy":
        return read_matrix(p, name).reshape(-1)
    if not p.is_file():
        raise InputError(f"{name}: no file at {p}")
    return np.array([ln.strip() for ln in p.read_text().splitlines() if ln.strip()])


def missing_inputs(task: Task, available: Container[str]) -> list[str]:
    """The required inputs of `task` (`Task.inputs`) that `available` (names) lacks.

    Parameters
    ----------
    task : Task
        A task instance (its class declares `inputs`).
    available : container of str
        The input names that can be supplied.
    """
    return [n for n, i in type(task).inputs.items() if i.required and n not in available]


def task_inputs(
    task: Task, model: Any, given: dict[str, list[tuple[str, str | None]]]
) -> dict[str, Any]:
    """The keyword inputs of `task.evaluate` from `given`: input name -> [(path, modality)].

    Embeddings are embedded by `model` on the modality given (or the input's default); labels
    and arrays are read as they are. Unknown names and missing required inputs are refused with
    the task's list of inputs.

    Parameters
    ----------
    task : Task
        The task to run.
    model : fitted method
        Embeds the inputs of kind "embedding".
    given : dict
        Input name -> [(path, modality or None)], as `sue evaluate --input` gives them.
    """
    declared = type(task).inputs
    listing = "; ".join(
        f"{n} ({i.kind}{'' if i.required else ', optional'}: {i.help})" for n, i in declared.items()
    )
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InputError(f"the task takes no input(s) {unknown}; it takes: {listing}")
    missing = missing_inputs(task, given)
    if missing:
        raise InputError(f"the task needs the input(s) {missing}; it takes: {listing}")
    out: dict[str, Any] = {}
    read: dict[str, tuple[str, tuple[int, ...]]] = {}  # each input's file and shape, as given
    for name, files in given.items():
        spec = declared[name]
        if len(files) > 1 and not spec.many:
            raise InputError(f"input {name} takes one file, got {len(files)}")
        values = []
        for path, modality in files:
            if spec.kind == "embedding":
                side = modality or spec.modality
                if side not in MODALITIES:
                    raise InputError(
                        f"input {name} needs the modality of its rows: {name}={path}@x or @y"
                    )
                rows = read_matrix(path, name)
                read[name] = (path, rows.shape)
                _check_paired_rows(task, read)
                values.append(model.transform(rows, side))
            elif modality is not None:
                raise InputError(f"input {name} is {spec.kind}, not rows; drop @{modality}")
            elif spec.kind == "labels":
                values.append(read_labels(path, name))
                read[name] = (path, np.shape(values[-1]))
                _check_paired_rows(task, read)
            else:
                values.append(read_matrix(path, name))
        out[name] = values if spec.many else values[0]
    return out


def _check_paired_rows(task: Task, read: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """Refuse inputs whose rows should pair one to one (`Task.paired_rows`) but whose files hold
    different numbers of rows, naming the files and their shapes, before any is embedded."""
    for a, b in type(task).paired_rows:
        if a in read and b in read and read[a][1][0] != read[b][1][0]:
            (pa, sa), (pb, sb) = read[a], read[b]
            raise InputError(
                f"{a} ({pa}, shape {sa}) and {b} ({pb}, shape {sb}) must hold the same number "
                f"of rows: row i of one belongs with row i of the other"
            )
