"""The thread policy: one decision per fit, side-by-side fits that never oversubscribe."""

import pytest
import torch

from sue_framework import InputError
from sue_framework.runtime.threads import (
    fit_thread_policy,
    fit_threads,
    map_fits,
    parallel_plan,
    torch_threads,
)


@pytest.mark.parametrize("cores", [1, 2, 3, 16])
def test_parallel_plan_never_oversubscribes(monkeypatch, cores):
    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: cores)
    cpu = torch.device("cpu")
    for tasks in (1, 2, 5, 30):
        for n_jobs in ("auto", 1, 2, 4):
            workers, threads = parallel_plan(tasks, cpu, n_jobs)
            assert 1 <= workers <= min(tasks, cores)
            if workers > 1:
                assert workers * threads <= cores
            else:  # nothing side by side: the caller's thread count stands
                assert threads == torch.get_num_threads()
            if n_jobs == 1 or tasks == 1:
                assert workers == 1
    assert parallel_plan(5, torch.device("cpu"), "auto")[0] == min(5, cores)
    assert parallel_plan(5, torch.device("cuda"), "auto")[0] == 1
    for bad in (0, "many"):
        with pytest.raises(InputError, match="n_jobs"):
            parallel_plan(5, cpu, bad)


def test_torch_threads_restores_the_callers_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_map_fits_keeps_task_order_on_threads(monkeypatch):
    import time

    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: 4)

    def slow_square(k):
        time.sleep(0.01 * (5 - k))  # the first tasks finish last
        return k * k

    tasks = [(k,) for k in range(5)]
    assert map_fits(slow_square, tasks, torch.device("cpu"), "auto") == [0, 1, 4, 9, 16]


def test_costly_tasks_start_first_and_a_partial_last_round_runs_alone_on_every_thread(
    monkeypatch,
):
    import threading

    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: 2)
    seen, lock = [], threading.Lock()

    def record(k):
        with lock:
            seen.append((k, torch.get_num_threads()))
        return -k

    costly = [False, True, False, True, True, True, True]
    tasks = [(k,) for k in range(len(costly))]
    with torch_threads(3):
        out = map_fits(record, tasks, torch.device("cpu"), "auto", costly=costly)
    assert out == [-k for k in range(len(costly))]
    # two workers of one thread: four costly tasks fill two rounds, then the cheap ones; the
    # fifth costly task would leave a core idle, so it runs last on the caller's three threads
    assert {k for k, _ in seen[:4]} == {1, 3, 4, 5}
    assert {k for k, _ in seen[4:6]} == {0, 2}
    assert seen[6] == (6, 3)
    assert all(threads == 1 for _, threads in seen[:6])
    with pytest.raises(InputError, match="costly marks 2 tasks"):
        map_fits(record, tasks, torch.device("cpu"), "auto", costly=[True, False])


def test_fit_threads_leave_busy_cores_to_other_jobs(monkeypatch):
    monkeypatch.delenv("SUE_NUM_THREADS", raising=False)
    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: 8)
    cpu = torch.device("cpu")
    with torch_threads(8):
        for busy, want in ((0, 8), (3, 5), (8, 1), (20, 1)):
            monkeypatch.setattr("sue_framework.runtime.threads._others_running", lambda b=busy: b)
            assert fit_threads(cpu) == want
        monkeypatch.setattr("sue_framework.runtime.threads._others_running", lambda: 0)
        with torch_threads(3):  # the caller's setting caps it
            assert fit_threads(cpu) == 3
        monkeypatch.setenv("SUE_NUM_THREADS", "2")
        assert fit_threads(cpu) == 2
        monkeypatch.setenv("SUE_NUM_THREADS", "two")
        with pytest.raises(InputError, match="SUE_NUM_THREADS"):
            fit_threads(cpu)


def test_a_fit_inside_a_fit_keeps_the_outer_thread_choice(monkeypatch):
    """The experiment runner wraps each fit, and SUE.fit wraps its own: the load is sampled once."""
    monkeypatch.delenv("SUE_NUM_THREADS", raising=False)
    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: 4)
    samples = []
    monkeypatch.setattr(
        "sue_framework.runtime.threads._others_running", lambda: samples.append(1) or 1
    )
    with torch_threads(4):
        with fit_thread_policy(torch.device("cpu")):
            assert torch.get_num_threads() == 3
            with fit_thread_policy(torch.device("cpu")):
                assert torch.get_num_threads() == 3
        assert torch.get_num_threads() == 4
    assert len(samples) == 1


def test_parallel_fits_inside_a_fit_share_its_threads(monkeypatch):
    """Folds side by side inside a fit use the threads that fit was given, not every core."""
    monkeypatch.setattr("sue_framework.runtime.threads.available_cores", lambda: 16)
    monkeypatch.setenv("SUE_NUM_THREADS", "2")
    cpu = torch.device("cpu")
    with torch_threads(16):
        assert parallel_plan(5, cpu, "auto") == (5, 3)
        with fit_thread_policy(cpu):
            assert parallel_plan(5, cpu, "auto") == (2, 1)
            assert parallel_plan(5, cpu, 4) == (2, 1)
