import numpy as np
import pytest
import torch

from sue_framework import InputError
from sue_framework.engine import auto_chunk, generator, resolve_device, resolve_seed, row_chunks
from sue_framework.threads import torch_threads


def test_auto_device_matches_cuda_availability():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_request_without_cuda_is_clear():
    with pytest.raises(InputError, match="no CUDA device"):
        resolve_device("cuda")


def test_an_int_seed_repeats_and_none_is_fresh():
    assert resolve_seed(5) == 5 and resolve_seed(np.int64(5)) == 5
    assert len({resolve_seed(None) for _ in range(5)}) == 5
    draw = lambda seed: torch.rand(3, generator=generator(seed, offset=1))  # noqa: E731
    assert torch.equal(draw(5), draw(5)) and not torch.equal(draw(5), draw(6))
    assert not torch.equal(draw(None), draw(None))


def test_row_chunks_cover_exactly():
    covered = np.concatenate([np.arange(10)[s] for s in row_chunks(10, 3)])
    assert np.array_equal(covered, np.arange(10))
    # a block of auto_chunk(n) rows against n reference rows stays within the float budget,
    # and uses most of it; past the budget one row at a time is the floor
    for n in (1000, 70_000, 10**6):
        rows = auto_chunk(n, budget_floats=2**26)
        assert rows * n <= 2**26 and (rows + 1) * n > 2**26 or rows == 65536
    assert auto_chunk(10, budget_floats=2**26) == 65536  # capped for tiny galleries
    assert auto_chunk(10**9, budget_floats=2**26) == 1


def test_a_sue_fit_runs_on_the_chosen_threads_and_restores_the_callers(monkeypatch):
    from sue_framework import registry
    from sue_framework.components import aligners

    monkeypatch.setenv("SUE_NUM_THREADS", "1")
    seen = []
    real_fit = aligners.CCA.fit
    monkeypatch.setattr(
        aligners.CCA,
        "fit",
        lambda self, a, b: (seen.append(torch.get_num_threads()), real_fit(self, a, b))[1],
    )
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), rng.normal(size=(60, 4))
    before = torch.get_num_threads()
    with torch_threads(2):
        registry.get("method", "pair_cca")(out_dim=2, device="cpu").fit((x, y, np.c_[:20, :20]))
        assert torch.get_num_threads() == 2
    assert seen == [1] and torch.get_num_threads() == before


def test_stages_take_the_device_and_seed_of_the_fit_they_run_in():
    from sue_framework.engine import Engine, current_engine, engine_for

    assert current_engine() is None
    outside = engine_for("auto", 5)
    assert outside.device == resolve_device("auto") and outside.seed == 5
    fit = Engine(torch.device("meta"), 11)  # a device "auto" would never pick
    with fit.active():
        assert current_engine() is fit
        assert engine_for("auto").device.type == "meta" and engine_for("auto").seed == 11
        assert engine_for("auto", 3).seed == 3  # a stage's own seed wins
        assert engine_for("cpu").device.type == "cpu"  # as does its own device
        with Engine(torch.device("cpu"), 2).active():  # a fit inside a fit
            assert engine_for().seed == 2 and engine_for().device.type == "cpu"
        assert current_engine() is fit
    assert current_engine() is None
    draws = torch.rand(3, generator=fit.generator(1))
    assert torch.equal(draws, torch.rand(3, generator=generator(11, 1)))
    assert not torch.equal(draws, torch.rand(3, generator=fit.generator(0)))


def test_a_sue_fit_resolves_its_device_once(monkeypatch):
    """Every stage (graph, kNN, eigensolver, aligner, matcher) computes on the fit's engine:
    the device is resolved when the fit starts, never again inside it."""
    import sue_framework.engine as engine
    from sue_framework import SUE
    from sue_framework.data import WeaklyPairedData

    calls = []
    real = engine.resolve_device
    monkeypatch.setattr(engine, "resolve_device", lambda d="auto": calls.append(d) or real(d))
    rng = np.random.default_rng(0)
    data = WeaklyPairedData(rng.normal(size=(120, 6)), rng.normal(size=(110, 5)),
                            np.stack([np.arange(20)] * 2, 1))  # fmt: skip
    SUE(se_dim=4, out_dim=3, matcher_params={"epochs": 2}).fit(data)
    assert calls == ["auto"]


FITS = {
    "sue": {"se_dim": 4, "out_dim": 3, "matcher_params": {"epochs": 2}},
    "sue_select": {"se_dim": 4, "out_dim": 3, "matcher": "none"},
    "self_train": {"out_dim": 3},
    # auto's folds run on worker threads (two workers on the two threads the fit is given)
    "auto": {"n_jobs": 2, "dims": (2, 3), "unpaired_dims": (3,)},
}


@pytest.mark.parametrize("method", sorted(FITS))
@pytest.mark.parametrize("seed", [0, None])
def test_a_fit_decides_device_seed_and_threads_once(monkeypatch, method, seed):
    """The outermost fit resolves the device, draws the seed (when None) and samples the CPU
    load; every stage, every cross-validation fold (on any thread) and the refit inherit it."""
    import sue_framework.engine as engine
    import sue_framework.threads as threads
    from sue_framework import registry
    from sue_framework.data import WeaklyPairedData

    calls = {"device": 0, "seed": 0, "threads": 0}

    def counted(key, real):
        return lambda *a, **k: calls.__setitem__(key, calls[key] + 1) or real(*a, **k)

    monkeypatch.setattr(engine, "resolve_device", counted("device", engine.resolve_device))
    monkeypatch.setattr(engine.secrets, "randbits", counted("seed", engine.secrets.randbits))
    monkeypatch.setattr(threads, "fit_threads", counted("threads", threads.fit_threads))
    monkeypatch.setenv("SUE_NUM_THREADS", "2")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(150, 4))
    data = WeaklyPairedData(z @ rng.normal(size=(4, 7)), z @ rng.normal(size=(4, 6)),
                            np.stack([np.arange(30)] * 2, 1))  # fmt: skip
    with torch_threads(2):
        registry.get("method", method)(**FITS[method], seed=seed).fit(data)
    assert calls == {"device": 1, "seed": int(seed is None), "threads": 1}


def test_read_only_and_memory_mapped_rows_move_to_torch_without_a_warning(tmp_path):
    import warnings

    from sue_framework.engine import to_tensor

    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    frozen = np.ones((3, 2), dtype=np.float64)
    frozen.flags.writeable = False
    for a in (frozen, np.load(tmp_path / "a.npy", mmap_mode="r")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = to_tensor(a, torch.device("cpu"))
        np.testing.assert_array_equal(t.numpy(), np.asarray(a, dtype=np.float32))
