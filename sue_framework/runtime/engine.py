"""Device and determinism policy: where tensors live, seeding, chunk sizes, and the one engine
of a fit that carries them (its CPU threads: `threads`). No math here."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TypeVar

import numpy as np
import torch

from sue_framework.errors import InputError
from sue_framework.runtime.distributed import agree
from sue_framework.runtime.threads import fit_thread_policy

T = TypeVar("T")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Map "auto" to CUDA when present, else CPU; validate explicit choices.

    Parameters
    ----------
    device : str, torch.device or None
        "auto" (CUDA when present), "cpu", "cuda" or "cuda:N"; None is "auto".
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device {str(device)!r} was requested but no CUDA device is available; "
            "use device='auto' or 'cpu'"
        )
    if dev.type == "mps" and not mps_available():
        raise InputError(
            f"device {str(device)!r} was requested but Apple's MPS backend is not available "
            "(it needs macOS on Apple silicon and a torch built with MPS); use 'cpu'"
        )
    return dev


def mps_available() -> bool:
    """Whether Apple's Metal (MPS) backend can run here."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def inference_device(device: str | torch.device | None = "auto") -> torch.device:
    """The device for inference-only work (encoders): "auto" is CUDA, else MPS on Apple
    silicon, else the CPU. Fits keep `resolve_device`, which never picks MPS on its own: the
    fitting stages compute in float64, which MPS lacks.

    Parameters
    ----------
    device : str, torch.device or None
        "auto" (CUDA when present), "cpu", "cuda" or "cuda:N"; None is "auto".
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    return resolve_device(device)


WEIGHT_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def weight_dtype(name: str) -> torch.dtype:
    """An encoder's weight dtype by name ("float32", "bfloat16", "float16").

    Parameters
    ----------
    name : str
        "float32", "bfloat16" or "float16".
    """
    if name not in WEIGHT_DTYPES:
        raise InputError(f"dtype must be one of {sorted(WEIGHT_DTYPES)}, got {name!r}")
    return WEIGHT_DTYPES[name]


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16 autocast on CUDA when `enabled`; a no-op context on other devices.

    Parameters
    ----------
    device : torch.device
        Where the block computes.
    enabled : bool
        False gives a no-op context.
    """
    return torch.autocast(
        device_type=device.type,
        dtype=torch.bfloat16,
        enabled=bool(enabled) and device.type == "cuda",
    )


def resolve_seed(seed: int | None) -> int:
    """The one seed policy: an int is used as given (repeatable fits); None draws a fresh seed
    from the operating system (a different fit each time). Nothing global is seeded: every
    random draw goes through generators made from the resolved seed.

    Parameters
    ----------
    seed : int or None
        A seed, or None for a fresh one.
    """
    if seed is None:  # every process of a distributed fit draws the same batches: rank 0's seed
        return agree(secrets.randbits(63))
    return int(seed)


def generator(seed: int | None, offset: int = 0) -> torch.Generator:
    """A CPU torch generator for `resolve_seed(seed) + offset` (offsets keep streams apart).

    Parameters
    ----------
    seed : int or None
        The seed (None: a fresh one).
    offset : int
        Added to the seed, so that streams of one fit stay apart.
    """
    return torch.Generator().manual_seed(resolve_seed(seed) + offset)


def to_tensor(
    a: np.ndarray | torch.Tensor, device: torch.device, dtype=torch.float32
) -> torch.Tensor:
    """Move an array onto the engine's device with the engine's dtype (no copy when possible).

    Parameters
    ----------
    a : ndarray or Tensor
        The values.
    device : torch.device
        Where they go.
    dtype : torch.dtype
        Their type there.
    """
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # read-only or memory-mapped: torch warns on sharing it
        a = np.array(a)
    return torch.as_tensor(a, dtype=dtype, device=device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array on the CPU (detached).

    Parameters
    ----------
    t : Tensor
        Any tensor.
    """
    return t.detach().to("cpu").numpy()


def row_chunks(n: int, chunk: int) -> Iterator[slice]:
    """Slices of at most `chunk` rows covering range(n).

    Parameters
    ----------
    n : int
        Rows to cover.
    chunk : int
        Rows per slice at most.
    """
    for start in range(0, n, max(1, chunk)):
        yield slice(start, min(n, start + chunk))


def auto_chunk(n_ref: int, budget_floats: int = 2**26, device: torch.device | None = None) -> int:
    """Query rows per block so that a (chunk, n_ref) block stays under `budget_floats` floats.

    On a GPU the budget grows to a sixth of the free memory (at most 8192 rows), because GEMM
    and top-k there are efficient only on large blocks.

    Parameters
    ----------
    n_ref : int
        Reference rows each query row is compared with.
    budget_floats : int
        Floats a (chunk, n_ref) block may hold on CPU.
    device : torch.device, optional
        On a GPU the budget follows its free memory.
    """
    if device is not None and torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        budget_floats = max(budget_floats, free // (6 * 4))
        return int(max(1, min(8192, budget_floats // max(1, n_ref))))
    return int(max(1, min(65536, budget_floats // max(1, n_ref))))


@dataclass(frozen=True)
class Engine:
    """Where and how one fit computes: the device, the resolved seed and the block budget of
    chunked work (bf16 autocast stays each learned stage's own `amp` setting). Every method's
    fit (`fit_context`) and the experiment runner make one active; stages ask `engine_for`
    instead of resolving the device and seed again, so one fit runs on one device with one
    seed and one thread policy.

    The seed is resolved when first used (`seed`), so code that only asks for the device or
    the block size draws nothing: under torch.distributed a fresh seed is rank 0's, and an
    inference call on one process alone must not wait for the others.

    Parameters
    ----------
    device : torch.device
        Where the fit computes.
    requested_seed : int or None
        The seed asked for (None: a fresh one, drawn once).
    budget_floats : int
        The block budget of `chunk`.
    """

    device: torch.device
    requested_seed: int | None = None
    budget_floats: int = 2**26

    @classmethod
    def resolve(cls, device: str | torch.device | None = "auto", seed: int | None = None) -> Engine:
        """ "auto" -> CUDA when present, else CPU; None -> a fresh seed (see `resolve_seed`)."""
        return cls(resolve_device(device), seed)

    @cached_property
    def seed(self) -> int:
        """The requested seed, or a fresh one drawn on first use (see `resolve_seed`)."""
        return resolve_seed(self.requested_seed)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU torch generator for this seed + `offset` (offsets keep streams apart)."""
        return torch.Generator().manual_seed(self.seed + offset)

    def rng(self, offset: int = 0) -> np.random.Generator:
        """A numpy generator for this seed + `offset`."""
        return np.random.default_rng(self.seed + offset)

    def tensor(self, a: np.ndarray | torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        """`a` on this engine's device with `dtype`."""
        return to_tensor(a, self.device, dtype)

    def chunk(self, n_ref: int) -> int:
        """Query rows per block against `n_ref` reference rows (see `auto_chunk`)."""
        return auto_chunk(n_ref, self.budget_floats, self.device)

    @contextmanager
    def active(self) -> Iterator[Engine]:
        """Make this the engine of the fit running in this context (for `engine_for`), on
        `fit_threads` CPU threads; a fit inside another (an experiment or a cross-validation
        fitting methods) keeps the outer thread choice."""
        token = _ENGINE.set(self)
        try:
            with fit_thread_policy(self.device):
                yield self
        finally:
            _ENGINE.reset(token)


_ENGINE: ContextVar[Engine | None] = ContextVar("sue_engine", default=None)


def current_engine() -> Engine | None:
    """The engine of the fit running in this context, if any."""
    return _ENGINE.get()


def engine_for(device: str | torch.device | None = "auto", seed: int | None = None) -> Engine:
    """The engine a stage computes with, from its own `device` and `seed` settings.

    Inside a fit, "auto" (or the fit's own device) means the fit's device, and seed None the
    fit's seed, so a fit resolves both once. A stage that names another device gets it; outside
    a fit, both resolve as `Engine.resolve` does.

    Parameters
    ----------
    device : str, torch.device or None
        "auto" (CUDA when present), "cpu", "cuda" or "cuda:N"; None is "auto".
    seed : int or None
        The stage's seed.
    """
    fit = _ENGINE.get()
    if fit is None:
        return Engine.resolve(device, seed)
    if (
        device is None
        or (isinstance(device, str) and device == "auto")
        or _names(device, fit.device)
    ):
        dev = fit.device
    else:
        dev = resolve_device(device)
    return replace(fit, device=dev, requested_seed=fit.seed if seed is None else int(seed))


def _names(device: str | torch.device, dev: torch.device) -> bool:
    """Whether `device` names `dev` as it is ("cpu" for the CPU, "cuda:0" for cuda:0)."""
    try:
        return torch.device(device) == dev
    except (RuntimeError, TypeError):
        return False


def fit_context(fit: Callable[..., T]) -> Callable[..., T]:
    """Decorator of a method's `fit`: where its device, seed and CPU threads are decided, once.

    The estimator's own `device` and `seed` are resolved here and the result made the active
    engine (`Engine.active`), so every stage fitted inside, and every fit a cross-validation
    runs inside on its worker threads, inherits them through `engine_for` instead of deciding
    again. Inside another fit (an experiment, a cross-validation) the outer fit's threads stand.
    As scikit-learn's `_fit_context`, for third-party methods too.

    Parameters
    ----------
    fit : callable
        The method's fit, called as fit(self, *args, **kwargs).
    """

    @functools.wraps(fit)
    def decided(self, *args, **kwargs):
        engine = engine_for(getattr(self, "device", "auto"), getattr(self, "seed", None))
        with engine.active():
            return fit(self, *args, **kwargs)

    return decided
