"""Torch building blocks shared by the learned components: MLPs, their array state, and the one
training loop (`train_epochs`) that every learned stage runs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from sue_framework.runtime.distributed import agree, rank
from sue_framework.runtime.engine import resolve_seed, to_numpy


def mlp(
    d_in: int, hidden: Sequence[int], d_out: int, act: type[nn.Module] = nn.ReLU
) -> nn.Sequential:
    """Linear layers of the given widths with `act` between them (none after the last).

    Parameters
    ----------
    d_in : int
        Input width.
    hidden : sequence of int
        Hidden widths.
    d_out : int
        Output width.
    act : type of Module
        The activation between layers.
    """
    layers: list[nn.Module] = []
    width = d_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), act()]
        width = int(h)
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


class ResidualMLP(nn.Module):
    """x + MLP(x); the last layer starts at zero, so the map starts as the identity.

    Parameters
    ----------
    dim : int
        Input and output width.
    hidden : sequence of int
        Hidden widths.
    """

    def __init__(self, dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.body = mlp(dim, hidden, dim)
        last = self.body[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


T = TypeVar("T")


def seeded(build: Callable[[], T], seed: int | None) -> T:
    """Build modules from `resolve_seed(seed)` (None: fresh) without touching the caller's
    global RNG state (torch initialises layers from it, so it is forked and restored).

    Parameters
    ----------
    build : callable
        Builds the modules.
    seed : int or None
        The seed they are initialised from.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(resolve_seed(seed))
        return build()


def module_state(module: nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """A module's parameters and buffers as named arrays, under `prefix.`.

    Parameters
    ----------
    module : Module
        The module.
    prefix : str
        Prepended to each array's name.
    """
    return {f"{prefix}.{k}": to_numpy(v) for k, v in module.state_dict().items()}


M = TypeVar("M", bound=nn.Module)


def load_module_state(module: M, state: dict[str, np.ndarray], prefix: str) -> M:
    """Inverse of `module_state`; returns the module in eval mode.

    Parameters
    ----------
    module : Module
        The module to fill.
    state : dict of str to ndarray
        Arrays from `module_state`.
    prefix : str
        Their prefix.
    """
    p = prefix + "."
    module.load_state_dict(
        {k[len(p) :]: torch.as_tensor(v) for k, v in state.items() if k.startswith(p)}
    )
    return module.eval()


@dataclass
class EpochLog:
    """What `train_epochs` saw: the loss each epoch was judged by and its wall time.

    Parameters
    ----------
    losses : list of float
        The loss each epoch was judged by.
    seconds : list of float
        Each epoch's wall time.
    """

    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _snapshot(keep: Sequence[nn.Module | torch.Tensor]) -> list:
    return [
        {k: v.detach().clone() for k, v in m.state_dict().items()}
        if isinstance(m, nn.Module)
        else m.detach().clone()
        for m in keep
    ]


def _restore(keep: Sequence[nn.Module | torch.Tensor], saved: list) -> None:
    with torch.no_grad():
        for m, s in zip(keep, saved, strict=True):
            if isinstance(m, nn.Module):
                m.load_state_dict(s)
            else:
                m.copy_(s)


def train_epochs(
    epochs: int,
    run_epoch: Callable[[], float | None],
    *,
    keep: Sequence[nn.Module | torch.Tensor],
    validate: Callable[[], float] | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    after_epoch: Callable[[float | None], None] | None = None,
    progress: bool = False,
    desc: str = "",
) -> EpochLog:
    """The one training loop of every learned stage.

    Each epoch runs `run_epoch()` (the stage's own minibatch steps; it returns its mean loss or
    None) with the modules of `keep` in train mode, then judges the epoch by `validate()` (in
    eval mode, without gradients) or else by `run_epoch`'s loss. The best-judged state of `keep`
    (modules and loose tensors) is restored at the end; training stops early after `patience`
    epochs without an improvement of more than `min_delta` (relative). Epochs judged by None
    (no loss at all) just run. `after_epoch(loss)` steps schedules. Under torch.distributed
    every process judges by rank 0's loss, so all stop at the same epoch and keep the same
    state (their losses agree up to float sums anyway).

    Parameters
    ----------
    epochs : int
        Epochs at most.
    run_epoch : callable
        One epoch's minibatch steps; returns its mean loss or None.
    keep : sequence of Module or Tensor
        What is trained, and restored to its best-judged state at the end.
    validate : callable, optional
        Returns the validation loss that judges each epoch.
    patience : int or None
        Epochs without improvement before stopping (None: never early).
    min_delta : float
        Relative improvement that counts.
    after_epoch : callable, optional
        Called with the epoch's loss (steps schedules).
    progress : bool
        Show a progress bar.
    desc : str
        Its label.
    """
    log = EpochLog()
    best, ref, best_state, since = math.inf, math.inf, None, 0
    modules = [m for m in keep if isinstance(m, nn.Module)]
    bar = tqdm(range(epochs), desc=desc, disable=not progress or rank() != 0, leave=False)
    for _ in bar:
        start = time.perf_counter()
        for m in modules:
            m.train()
        loss = run_epoch()
        for m in modules:
            m.eval()
        if validate is not None:
            with torch.no_grad():
                loss = validate()
        loss = agree(loss)
        if after_epoch is not None:
            after_epoch(loss)
        log.seconds.append(time.perf_counter() - start)
        if loss is None:
            continue
        log.losses.append(loss)
        bar.set_postfix(loss=f"{loss:.4g}")
        if loss < best:
            best_state = _snapshot(keep)
        if loss < min(best, ref * (1.0 - min_delta)):
            ref, since = loss, 0  # a real improvement restarts the patience count
        else:
            since += 1
        best = min(best, loss)
        if patience is not None and since >= patience:
            break
    if best_state is not None:
        _restore(keep, best_state)
    return log
