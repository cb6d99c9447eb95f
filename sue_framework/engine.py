"""Device and determinism policy: where tensors live, seeding, chunk sizes. No math here."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch

from sue_framework.errors import InputError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Map "auto" to CUDA when present, else CPU; validate explicit choices."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device {str(device)!r} was requested but no CUDA device is available; "
            "use device='auto' or 'cpu'"
        )
    return dev


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16 autocast on CUDA when `enabled`; a no-op context on other devices."""
    return torch.autocast(
        device_type=device.type,
        dtype=torch.bfloat16,
        enabled=bool(enabled) and device.type == "cuda",
    )


def seed_everything(seed: int | None) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for explicit sampling."""
    gen = torch.Generator()
    if seed is None:
        gen.seed()
        return gen
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - seeds third-party code using the legacy API
    torch.manual_seed(seed)
    gen.manual_seed(seed)
    return gen


def to_tensor(
    a: np.ndarray | torch.Tensor, device: torch.device, dtype=torch.float32
) -> torch.Tensor:
    """Move an array onto the engine's device with the engine's dtype (no copy when possible)."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu").numpy()


def row_chunks(n: int, chunk: int) -> Iterator[slice]:
    """Slices of at most `chunk` rows covering range(n)."""
    for start in range(0, n, max(1, chunk)):
        yield slice(start, min(n, start + chunk))


def auto_chunk(n_ref: int, budget_floats: int = 2**26, device: torch.device | None = None) -> int:
    """Query rows per block so that a (chunk, n_ref) block stays under `budget_floats` floats.

    On a GPU the budget grows to a sixth of the free memory (at most 8192 rows), because GEMM
    and top-k there are efficient only on large blocks.
    """
    if device is not None and torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        budget_floats = max(budget_floats, free // (6 * 4))
        return int(max(1, min(8192, budget_floats // max(1, n_ref))))
    return int(max(1, min(65536, budget_floats // max(1, n_ref))))
