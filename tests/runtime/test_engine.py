import numpy as np
import pytest
import torch

from sue_framework import InputError
from sue_framework.runtime.engine import (
    auto_chunk,
    generator,
    resolve_device,
    resolve_seed,
    row_chunks,
)
from sue_framework.runtime.threads import torch_threads


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
    from sue_framework.runtime.engine import Engine, current_engine, engine_for

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


SEEN: list[tuple[str, int, int]] = []  # (device, seed, thread) of every aligner fit


def _recording_cca(width: int):
    """A CCA that records the engine it computes with: what every stage of a fit sees."""
    import threading

    from sue_framework.components.aligners import CCA
    from sue_framework.runtime.engine import engine_for

    class RecordingCCA(CCA):
        def fit(self, a, b):
            e = engine_for(self.device)
            SEEN.append((e.device.type, e.seed, threading.get_ident()))
            return super().fit(a, b)

    return RecordingCCA(n_components=width)


def _data():
    from sue_framework.data import WeaklyPairedData

    rng = np.random.default_rng(0)
    z = rng.normal(size=(150, 4))
    return WeaklyPairedData(z @ rng.normal(size=(4, 7)), z @ rng.normal(size=(4, 6)),
                            np.stack([np.arange(30)] * 2, 1))  # fmt: skip


def _transforms(model, data):
    return [model.transform(data.x[:40], "x"), model.transform(data.y[:40], "y")]


def test_every_stage_of_a_fit_computes_on_its_one_device_and_seed():
    """With seed None a fit draws one seed: the graph, the eigensolver, the aligner and the
    matcher all compute with it (a stage drawing its own would not repeat), so refitting with
    that seed gives the same model bit for bit."""
    from sue_framework import SUE

    data = _data()
    SEEN.clear()
    params = {"se_dim": 4, "out_dim": 3, "matcher_params": {"epochs": 2}, "device": "cpu"}
    first = SUE(aligner=_recording_cca(3), seed=None, **params).fit(data)
    (device, seed, _), *rest = SEEN
    assert device == "cpu" and all(s[:2] == (device, seed) for s in rest)
    again = SUE(aligner=_recording_cca(3), seed=seed, **params).fit(data)
    pairs = zip(_transforms(first, data), _transforms(again, data), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    other = SUE(aligner=_recording_cca(3), seed=seed + 1, **params).fit(data)
    assert not np.array_equal(_transforms(first, data)[1], _transforms(other, data)[1])


def test_cross_validation_folds_on_worker_threads_share_the_fit_s_seed():
    """auto-style selection fits its candidates' folds on two worker threads: every fold and
    the refit compute with the one seed the selection drew, which `seed_` reports and which
    repeats the whole selection."""
    from sue_framework.model_selection.cv_select import CVSelect

    data = _data()
    cands = [("sue", {"solver": "identity", "aligner": _recording_cca(w), "matcher": "none",
                      "out_dim": w}) for w in (2, 3)]  # fmt: skip
    SEEN.clear()
    with torch_threads(2):
        first = CVSelect(candidates=cands, n_jobs=2, seed=None, device="cpu").fit(data)
    seeds = {s for _, s, _ in SEEN}
    assert seeds == {first.seed_} and len(SEEN) == 2 * 5 + 1  # two candidates' folds, refit
    assert len({t for _, _, t in SEEN}) >= 2  # the folds ran on worker threads
    again = CVSelect(candidates=cands, n_jobs=1, seed=first.seed_, device="cpu").fit(data)
    assert again.cv_scores_ == first.cv_scores_ and again.choice_ == first.choice_


def test_read_only_and_memory_mapped_rows_move_to_torch_without_a_warning(tmp_path):
    import warnings

    from sue_framework.runtime.engine import to_tensor

    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    frozen = np.ones((3, 2), dtype=np.float64)
    frozen.flags.writeable = False
    for a in (frozen, np.load(tmp_path / "a.npy", mmap_mode="r")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = to_tensor(a, torch.device("cpu"))
        np.testing.assert_array_equal(t.numpy(), np.asarray(a, dtype=np.float32))
