"""Live progress for the long steps (auto's cross-validation fits, self-learning rounds, kNN
search over blocks, the eigensolver's seconds): a tqdm bar on stderr that appears only once a
step has run for `DELAY_SECONDS`, only on a terminal, and never under `quiet()` (the CLI's -q).

``SUE_PROGRESS=0`` switches the bars off everywhere, ``SUE_PROGRESS=1`` on even when stderr is
not a terminal (a log file then holds them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tqdm.auto import tqdm

DELAY_SECONDS = 2.0  # a step shorter than this never shows a bar
_SHOW: ContextVar[bool | None] = ContextVar("sue_progress", default=None)


@contextmanager
def quiet() -> Iterator[None]:
    """No progress bars inside the block (this thread and the fits it starts)."""
    token = _SHOW.set(False)
    try:
        yield
    finally:
        _SHOW.reset(token)


@contextmanager
def shown() -> Iterator[None]:
    """Progress bars inside the block even when stderr is not a terminal."""
    token = _SHOW.set(True)
    try:
        yield
    finally:
        _SHOW.reset(token)


def _disable() -> bool | None:
    """tqdm's `disable`: True off, False on, None on only for a terminal."""
    setting = _SHOW.get()
    if setting is None:
        env = os.environ.get("SUE_PROGRESS", "").strip().lower()
        setting = {"0": False, "false": False, "no": False, "1": True, "true": True}.get(env)
    return None if setting is None else not setting


def bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str = "it",
    enabled: bool = True,
) -> Any:
    """A tqdm bar over `iterable` (or updated by hand up to `total`) under the policy above;
    `enabled=False` gives a silent one (for steps too small to report).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar updated by hand.
    total : int, optional
        The count the bar goes to (None: unknown).
    desc : str
        The bar's label.
    unit : str
        What is counted.
    enabled : bool
        False gives a silent bar.
    """
    disable = True if not enabled else _disable()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                delay=DELAY_SECONDS, mininterval=0.5, dynamic_ncols=True)  # fmt: skip


@contextmanager
def ticking(desc: str) -> Iterator[None]:
    """A bar that counts the seconds of a step that reports no progress of its own (an
    eigensolver call), under the same policy as `bar`.

    Parameters
    ----------
    desc : str
        The bar's label.
    """
    shown = bar(total=None, desc=desc, unit="s")
    if shown.disable:
        yield
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            shown.update(1)

    ticker = threading.Thread(target=tick, name="sue-progress-tick", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        shown.close()
