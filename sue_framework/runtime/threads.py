"""CPU threads of fits: how many torch threads one fit takes on a shared machine, and
independent fits side by side on worker threads. Decided once per fit (`fit_thread_policy`,
entered by `engine.Engine.active`); no math here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import TypeVar

import torch

from sue_framework.errors import InputError
from sue_framework.runtime.distributed import world_size

T = TypeVar("T")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _own_running() -> int:
    """This process's threads that are running or ready to run (idle OpenMP workers spin)."""
    count = 0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/stat") as f:
                count += f.read().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, IndexError):
        return 1
    return count


def _others_running(samples: int = 5, pause: float = 0.005) -> int:
    """Threads of other processes ready to run now: the median over a few samples of the
    kernel's runnable count less this process's own; 0 where /proc is missing."""
    counts = []
    for k in range(samples):
        try:
            with open("/proc/loadavg") as f:
                total = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(total - _own_running())
        if k + 1 < samples:
            time.sleep(pause)
    return max(0, sorted(counts)[len(counts) // 2])


def fit_threads(device: torch.device) -> int:
    """Torch intra-op threads for one fit on `device`.

    On a CPU shared with other jobs, torch's default (one thread per core) makes every small
    operation wait for threads that the other jobs hold (docs/architecture.md has the reported
    figures). So a CPU fit takes the cores that other
    processes leave idle, at least one and never more than torch's current setting (which
    `torch.set_num_threads` or `SUE_NUM_THREADS` fixes). On a GPU the setting is left as it is.

    Parameters
    ----------
    device : torch.device
        The fit's device.
    """
    current = torch.get_num_threads()
    if device.type != "cpu" or current == 1:
        return current
    fixed = os.environ.get("SUE_NUM_THREADS")
    if fixed:
        try:
            return max(1, int(fixed))
        except ValueError:
            raise InputError(f"SUE_NUM_THREADS must be a whole number, got {fixed!r}") from None
    return max(1, min(current, available_cores() - _others_running()))


def parallel_plan(tasks: int, device: torch.device, n_jobs: int | str = "auto") -> tuple[int, int]:
    """(workers, torch threads per worker) for `tasks` independent CPU fits.

    Small fits (linear algebra on matrices of a few hundred columns) gain little from more
    torch threads, so independent fits are better run side by side, one thread each,
    than one after another on all cores: workers x threads never exceeds the cores (inside a
    fit, the threads `fit_threads` gave it), and they are shared out evenly. With one worker
    (one task, one core, `n_jobs=1`, or a GPU, where fits run one after another) torch's
    thread count stays as the caller set it.
    `n_jobs` caps the workers ("auto": as many as cores). Under torch.distributed fits run one
    after another: their collectives must come in the same order on every process.

    Parameters
    ----------
    tasks : int
        Independent fits to run.
    device : torch.device
        Their device (on a GPU, one after another).
    n_jobs : int or "auto"
        Workers at most ("auto": as the free cores allow).
    """
    if device.type != "cpu" or tasks <= 1 or world_size() > 1:
        return 1, torch.get_num_threads()
    # inside a fit, its thread decision (`fit_threads`) is the budget: one policy, not two
    cores = torch.get_num_threads() if _IN_FIT_POLICY.get() else available_cores()
    try:
        cap = cores if n_jobs == "auto" else int(n_jobs)
    except (TypeError, ValueError):
        cap = 0
    if cap < 1:
        raise InputError(f"n_jobs must be 'auto' or a whole number >= 1, got {n_jobs!r}")
    workers = max(1, min(tasks, cap, cores))
    return (workers, cores // workers) if workers > 1 else (1, torch.get_num_threads())


_IN_FIT_POLICY: ContextVar[bool] = ContextVar("sue_in_fit_policy", default=False)


@contextmanager
def fit_thread_policy(device: torch.device) -> Iterator[None]:
    """Run one fit on `fit_threads(device)` threads; inside another such block (the experiment
    runner fitting a `SUE`), keep the outer choice rather than sample the load again.

    Parameters
    ----------
    device : torch.device
        The fit's device.
    """
    if _IN_FIT_POLICY.get():
        yield
        return
    token = _IN_FIT_POLICY.set(True)
    try:
        with torch_threads(fit_threads(device)):
            yield
    finally:
        _IN_FIT_POLICY.reset(token)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads, then restore the caller's setting.

    Parameters
    ----------
    n : int
        Torch intra-op threads inside the block.
    """
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def map_fits(
    fn: Callable[..., T],
    tasks: Sequence[tuple],
    device: torch.device,
    n_jobs: int | str = 1,
    desc: str | None = None,
    costly: Sequence[bool] | None = None,
) -> list[T]:
    """[fn(*t) for t in tasks], side by side on threads as `parallel_plan` says, in order.

    Only for fits that draw no numbers from a global random generator: threads share it, so
    such fits would not repeat. Torch and BLAS release the GIL, so threads use every core.
    With `desc`, a progress bar counts the finished tasks (`progress.bar`).

    Tasks marked `costly` (fits that take far longer than the rest) start first, so the cheap
    ones fill the gaps; a last round of them too small to keep every worker busy (costly
    tasks beyond a multiple of the workers) runs after the others, one at a time on all the
    threads, instead of on one thread while the other cores idle.

    Parameters
    ----------
    fn : callable
        The fit, called as fn(*task).
    tasks : sequence of tuple
        Each call's arguments.
    device : torch.device
        The fits' device.
    n_jobs : int or "auto"
        Workers at most.
    desc : str, optional
        A progress bar's label; None shows none.
    costly : sequence of bool, optional
        Per task, whether it is one of the long fits (None: all alike).
    """
    from sue_framework.runtime.progress import bar, quiet

    def one(t: tuple) -> T:
        if desc is None:
            return fn(*t)
        with quiet():  # this bar speaks for the fits: theirs would interleave with it
            return fn(*t)

    workers, threads = parallel_plan(len(tasks), device, n_jobs)
    shared, alone = _schedule(len(tasks), workers, costly)
    out: dict[int, T] = {}
    with bar(total=len(tasks), desc=desc or "", unit="fit", enabled=desc is not None) as shown:
        if shared:
            context = copy_context()  # the caller's context (registry, fit policy) per thread
            with torch_threads(threads), ThreadPoolExecutor(workers) as pool:
                results = pool.map(lambda i: context.copy().run(one, tasks[i]), shared)
                for i, result in zip(shared, results, strict=True):
                    out[i] = result
                    shown.update(1)
        for i in alone:
            out[i] = one(tasks[i])
            shown.update(1)
    return [out[i] for i in range(len(tasks))]


def _schedule(n: int, workers: int, costly: Sequence[bool] | None) -> tuple[list[int], list[int]]:
    """(tasks run side by side on `workers` threads, in start order; tasks run after them one at
    a time on all threads), as `map_fits` says."""
    if costly is not None and len(costly) != n:
        raise InputError(f"costly marks {len(costly)} tasks, but there are {n}")
    if workers == 1:
        return [], list(range(n))
    if costly is None:
        return list(range(n)), []
    long = [i for i in range(n) if costly[i]]
    cut = len(long) - len(long) % workers
    return long[:cut] + [i for i in range(n) if not costly[i]], long[cut:]
