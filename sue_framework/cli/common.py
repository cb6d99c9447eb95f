"""What the `sue` commands share: the status logger, file loading and output checks."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sue_framework import array_files
from sue_framework.errors import InputError

EXIT_USAGE = 2
PACKAGES = ("sue_framework", "sue_baselines", "sue_tasks", "sue_encoders", "sue_datasets")
log = logging.getLogger("sue_framework.cli")  # status lines: shown unless -q


def check_output(path: str, *inputs: str | None, **policy: Any) -> None:
    """Refuse, before any work starts, an output that would replace an input or a non-file,
    that names another format, or that could not be written (array_files.check_output).

    Parameters
    ----------
    path : str
        The output to write.
    *inputs : str or None
        The command's input files (None: not given).
    **policy
        `array_files.check_output`'s suffix rules.
    """
    array_files.check_output(path, inputs=inputs, **policy)


def check_model_output(path: str, *inputs: str | None) -> None:
    """`check_output` for a model file: never a name that reads as a data file.

    Parameters
    ----------
    path : str
        The model file to write.
    *inputs : str or None
        The command's input files.
    """
    check_output(path, *inputs, refused_suffixes=array_files.DATA_SUFFIXES)


def item_lines(path: str, flag: str) -> list[str]:
    """One item per line of a UTF-8 text file (names, texts, or paths of image files).

    Parameters
    ----------
    path : str
        The text file.
    flag : str
        The option that named it, for messages.
    """
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{flag} {path} is not UTF-8 text (one item per line)") from exc


def json_params(text: str | None) -> dict:
    """--params as a JSON object, with a message that says what is wrong with it.

    Parameters
    ----------
    text : str or None
        The option's value.
    """
    if not text:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--params is not valid JSON ({exc.msg}): {text!r}") from exc
    if not isinstance(params, dict):
        raise InputError(f'--params must be a JSON object such as {{"pooling": "cls"}}: {text!r}')
    return params
