"""Work split across processes with torch.distributed (gloo on CPUs, NCCL on GPUs).

Two pieces, both run under ``torchrun --nproc_per_node N`` (or ``sue fit --nproc N``) once a
process group is initialised (``init_group``):

- `DataParallel`: the data-parallel minibatch step of every learned stage. Each process runs
  the networks on its slice of the global batch, the slices' outputs are gathered (with their
  gradients) so that the loss is the whole batch's, and the gradients are summed across
  processes before the optimiser steps: the all-reduce of DDP. Losses that couple the rows of a
  batch (MMD, InfoNCE, SpectralNet's orthonormalisation) stay exactly the single-process ones.
- `shard_rows`: the rows each process holds; `components.knn.sharded_knn` searches them (each
  process holds every query and one shard of the references, and the per-shard top-k lists
  are merged into the global top-k on every process).

With no process group (or one process) everything here is the identity.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
import torch.distributed as dist

from sue_framework.errors import InputError, SUEError

RowFn = Callable[[torch.Tensor], torch.Tensor]
T = TypeVar("T")


def world_size() -> int:
    """Processes in the default group; 1 without torch.distributed."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank in the default group; 0 without torch.distributed."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


LAUNCHER_ENV = "SUE_LAUNCHER_PID"  # set by `launch`: the `sue` process the workers belong to
JOIN_TIMEOUT_ENV = "SUE_DIST_TIMEOUT"  # seconds to wait for every rank outside torchrun


def init_group() -> bool:
    """Join the process group that the environment describes (RANK/WORLD_SIZE, and under
    torchrun its agent's store), NCCL when CUDA is present and gloo otherwise. Returns False,
    doing nothing, when there is none. Outside torchrun (variables left in a shell, another
    launcher) the ranks must all join within SUE_DIST_TIMEOUT seconds (default 60), or this
    fails with a message naming the variables, instead of waiting for ever."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        backend = "nccl" if cuda else "gloo"
        if "TORCHELASTIC_RUN_ID" in os.environ:  # torchrun: its agent hosts the rendezvous
            dist.init_process_group(backend)
        else:
            _join_bounded(backend)
    if LAUNCHER_ENV in os.environ:
        _exit_with(int(os.environ[LAUNCHER_ENV]))
    return True


def _join_bounded(backend: str) -> None:
    """Rendezvous through a TCP store with a deadline, then the group (whose collectives keep
    torch's own, longer, timeout)."""
    from datetime import timedelta

    names = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    described = " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in names)
    seconds = float(os.environ.get(JOIN_TIMEOUT_ENV, "60"))
    try:
        rank_, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        store = dist.TCPStore(
            os.environ["MASTER_ADDR"],
            int(os.environ["MASTER_PORT"]),
            world,
            is_master=rank_ == 0,
            timeout=timedelta(seconds=seconds),
            wait_for_workers=True,
        )
        dist.init_process_group(backend, store=store, rank=rank_, world_size=world)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise SUEError(
            f"the environment describes a process group ({described}) that could not be "
            f"joined within {seconds:g} s ({type(exc).__name__}: {str(exc).splitlines()[0]}). "
            "Unset these variables to run one process, use sue fit --nproc N, or start every "
            f"rank (set {JOIN_TIMEOUT_ENV} to wait longer)"
        ) from None


def launcher_alive() -> bool:
    """Whether the `sue` process that launched this worker still runs (True outside one)."""
    pid = os.environ.get(LAUNCHER_ENV)
    if pid is None:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (cannot happen for our own parent)
        return True
    return True


def _exit_with(pid: int) -> None:
    """End this worker as soon as the launching `sue` process is gone (kill -9 included),
    so that nothing it started goes on to write the user's output."""
    import threading
    import time

    def watch() -> None:
        while launcher_alive():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="sue-launcher-watch", daemon=True).start()


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m sue_framework *argv`` in `nproc` processes under torchrun (one machine)
    and return its exit code; the processes find each other through `init_group`. The
    torchrun agent dies with this process (Linux), and the workers with it.

    Parameters
    ----------
    nproc : int
        Processes.
    argv : list of str
        The `sue` arguments to run in each (its --nproc is dropped).
    """
    if nproc < 1:
        raise InputError(f"--nproc must be >= 1, got {nproc}")
    argv = _without_option(argv, "--nproc")  # torchrun would take it for its own --nproc-per-node
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "sue_framework", *argv]  # fmt: skip
    env = {**os.environ, LAUNCHER_ENV: str(os.getpid())}
    return subprocess.run(cmd, check=False, env=env, preexec_fn=_die_with_parent).returncode


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to kill it when its parent dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the workers' own watch still ends them
        pass


def _without_option(argv: list[str], flag: str) -> list[str]:
    """`argv` less `flag VALUE` and `flag=VALUE`."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(flag + "="):
            out.append(arg)
    return out


def agree(value: T) -> T:
    """Rank 0's `value` on every process (decisions such as early stopping or a fresh seed must
    be the same everywhere, or the processes stop calling the same collectives).

    Parameters
    ----------
    value : any
        This process's value (rank 0's wins).
    """
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class DataParallel:
    """Minibatch steps of a learned stage split over the processes of the default group.

    Every process draws the same global batch (same seed), `apply` runs a row-wise function on
    this process's slice of it and gathers all slices back, with gradients, so the loss is the
    single-process loss of the whole batch on every process; `step` back-propagates it, sums
    the gradients over processes and steps the optimiser. The update then equals the
    single-process one up to the order of float sums. The networks start equal on every
    process (seeded; rank 0's weights are broadcast to make sure). One process: the identity.

    Parameters
    ----------
    modules : iterable of Module
        The networks whose weights start equal on every process.
    """

    def __init__(self, modules: Iterable[torch.nn.Module] = ()) -> None:
        self.world, self.rank = world_size(), rank()
        if self.world > 1:
            with torch.no_grad():
                for m in modules:
                    for t in m.state_dict().values():
                        dist.broadcast(t, src=0)

    def apply(self, fn: RowFn, rows: torch.Tensor) -> torch.Tensor:
        """`fn(rows)` for a row-wise `fn` (one output row per input row), computed on this
        process's slice of `rows` and gathered from all processes."""
        if self.world == 1:
            return fn(rows)
        # the autograd-aware all-gather that torch.distributed.nn.functional now points to
        import torch.distributed._functional_collectives as funcol

        parts = [shard_rows(rows.shape[0], self.world, r) for r in range(self.world)]
        out = fn(rows[parts[self.rank]])
        size = parts[0].stop - parts[0].start  # the largest slice; all_gather wants one shape
        if out.shape[0] < size:
            out = torch.cat([out, out.new_zeros((size - out.shape[0], *out.shape[1:]))])
        pieces = funcol.all_gather_single(out, 0, list(range(self.world))).split(size)
        return torch.cat([p[: s.stop - s.start] for p, s in zip(pieces, parts, strict=True)])

    def wrap(self, fn: RowFn) -> RowFn:
        """`fn` as a function that `apply`s it (for code that calls a network on a batch)."""
        return fn if self.world == 1 else (lambda rows: self.apply(fn, rows))

    def step(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """zero_grad, backward, all-reduce of the gradients, optimiser step."""
        opt.zero_grad(set_to_none=True)
        if self.world == 1:
            loss.backward()
        else:
            # every process holds the same whole-batch loss; the gathers' backward sums the
            # processes' gradients, so each back-propagates 1/world of it
            (loss / self.world).backward()
            grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
            if grads:
                flat = torch.cat([g.reshape(-1) for g in grads])
                dist.all_reduce(flat)
                for g, new in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
                    g.copy_(new.view_as(g))
        opt.step()


def shard_rows(n: int, world: int, rank: int) -> slice:
    """The rows of `n` that process `rank` of `world` holds: contiguous, sizes differing by at
    most one.

    Parameters
    ----------
    n : int
        Rows.
    world : int
        Processes.
    rank : int
        This process.
    """
    if not 0 <= rank < world:
        raise InputError(f"rank must lie in [0, {world}), got {rank}")
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))
