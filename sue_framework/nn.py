"""Small torch building blocks shared by the learned components: MLPs and their array state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from sue_framework.engine import resolve_seed, to_numpy


def mlp(
    d_in: int, hidden: Sequence[int], d_out: int, act: type[nn.Module] = nn.ReLU
) -> nn.Sequential:
    """Linear layers of the given widths with `act` between them (none after the last)."""
    layers: list[nn.Module] = []
    width = d_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), act()]
        width = int(h)
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


class ResidualMLP(nn.Module):
    """x + MLP(x); the last layer starts at zero, so the map starts as the identity."""

    def __init__(self, dim: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.body = mlp(dim, hidden, dim)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


T = TypeVar("T")


def seeded(build: Callable[[], T], seed: int | None) -> T:
    """Build modules from `resolve_seed(seed)` (None: fresh) without touching the caller's
    global RNG state (torch initialises layers from it, so it is forked and restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(resolve_seed(seed))
        return build()


def module_state(module: nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """A module's parameters and buffers as named arrays, under `prefix.`."""
    return {f"{prefix}.{k}": to_numpy(v) for k, v in module.state_dict().items()}


def load_module_state(module: nn.Module, state: dict[str, np.ndarray], prefix: str) -> nn.Module:
    """Inverse of `module_state`; returns the module in eval mode."""
    p = prefix + "."
    module.load_state_dict(
        {k[len(p) :]: torch.as_tensor(v) for k, v in state.items() if k.startswith(p)}
    )
    return module.eval()
