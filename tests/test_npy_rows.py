"""Rows on disk (`NpyRows`): reads equal np.load, checks stream, and a SUE fit streams them, also
under an address-space cap smaller than the file."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sue_framework import InputError, WeaklyPairedData, registry
from sue_framework.cli import main
from sue_framework.io.model_files import load_method
from sue_framework.methods.sue import SUE
from sue_framework.npy_rows import NpyRows
from sue_framework.validation import check_rows_on_disk

ROWS = np.random.default_rng(0).normal(size=(97, 5))


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "x.npy"
    np.save(path, ROWS)  # float64 on disk, float32 out
    return path


@given(idx=st.lists(st.integers(0, 96), max_size=40))
@settings(max_examples=40, deadline=None)
def test_take_returns_the_rows_asked_for_in_their_order(npy, idx):
    got = NpyRows(npy).take(np.asarray(idx, dtype=np.int64))
    np.testing.assert_array_equal(got, ROWS[idx].astype(np.float32).reshape(len(idx), 5))


def test_slices_and_blocks_equal_the_loaded_array(npy):
    rows = NpyRows(npy, block_bytes=5 * 4 * 10)  # 10 rows a block
    assert (rows.shape, len(rows), rows.block_rows) == ((97, 5), 97, 10)
    np.testing.assert_array_equal(rows[3:50], ROWS[3:50].astype(np.float32))
    assert rows[60:60].shape == (0, 5)
    parts = list(rows.blocks())
    assert [p.stop - p.start for p, _ in parts] == [10] * 9 + [7]
    np.testing.assert_array_equal(np.concatenate([b for _, b in parts]), ROWS.astype(np.float32))
    mean, std = rows.moments()
    np.testing.assert_allclose(mean, ROWS.astype(np.float32).mean(0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(std, ROWS.astype(np.float32).std(0), rtol=1e-6)
    with pytest.raises(InputError, match=r"\[0, 97\)"):
        rows.take([97])


def test_version_2_headers_are_read(tmp_path):
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, ROWS.astype(np.float32), version=(2, 0))
    np.testing.assert_array_equal(NpyRows(tmp_path / "v2.npy")[:], ROWS.astype(np.float32))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.save(p, np.asfortranarray(ROWS)), "Fortran order"),
        (lambda p: np.save(p, np.zeros((2, 3, 4))), "2-D array"),
        (lambda p: np.save(p, np.array([["a", "b"]])), "real numbers"),
        (lambda p: p.write_bytes(b"not a npy file"), "not a readable .npy"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises(InputError, match=message):
        NpyRows(path)


def test_a_truncated_file_says_so(tmp_path):
    np.save(tmp_path / "x.npy", ROWS)
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[: len(data) - 8 * 5 * 3])  # three rows short
    rows = NpyRows(tmp_path / "x.npy")
    rows[:10]  # the rows that are there read fine
    with pytest.raises(InputError, match="shorter than its header"):
        rows[90:97]


def test_checks_stream_and_name_the_row(tmp_path):
    bad = ROWS.copy()
    bad[37, 2] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(InputError, match="row 37"):
        check_rows_on_disk(NpyRows(tmp_path / "nan.npy", block_bytes=200), "x")
    np.save(tmp_path / "same.npy", np.ones((20, 3)))
    with pytest.raises(InputError, match="identical"):
        check_rows_on_disk(NpyRows(tmp_path / "same.npy"), "x")


def _data(tmp_path, n=600):
    """Weakly paired data saved in its canonical row order (the order an in-memory fit uses;
    a fit from disk keeps the file's), so both fits see the same rows in the same order."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    y = np.tanh(x[:, :8] @ rng.normal(size=(8, 8))).astype(np.float32)
    data = WeaklyPairedData(x, y, np.stack([np.arange(40)] * 2, 1)).canonical()
    np.save(tmp_path / "x.npy", data.x)
    np.save(tmp_path / "y.npy", data.y)
    return data


SUE_PARAMS = dict(solver="spectralnet", se_dim=5, out_dim=3, device="cpu",
                  solver_params=dict(hidden=(32,), epochs=3, max_exact=300),
                  matcher_params=dict(hidden=(16,), epochs=2))  # fmt: skip


def test_a_sue_fit_from_disk_equals_the_fit_in_memory(tmp_path):
    data = _data(tmp_path)
    on_disk = WeaklyPairedData(
        NpyRows(tmp_path / "x.npy", block_bytes=4096), NpyRows(tmp_path / "y.npy"), data.pairs
    )
    assert on_disk.on_disk and not data.on_disk
    memory, disk = SUE(**SUE_PARAMS).fit(data), SUE(**SUE_PARAMS).fit(on_disk)
    for side, rows in (("x", data.x), ("y", data.y)):
        want = memory.transform(rows, side)
        # the column means are summed in float64 on disk, in float32 in memory: not bitwise
        np.testing.assert_allclose(disk.transform(rows, side), want, rtol=0,
                                   atol=1e-4 * np.abs(want).max())  # fmt: skip


def test_fits_that_need_rows_in_memory_refuse_rows_on_disk(tmp_path):
    data = _data(tmp_path, n=100)
    on_disk = WeaklyPairedData(NpyRows(tmp_path / "x.npy"), data.y, data.pairs)
    with pytest.raises(InputError, match="solver='spectralnet'"):
        SUE(se_dim=5, out_dim=3, device="cpu").fit(on_disk)  # the exact solver
    with pytest.raises(InputError, match="training='regression'"):
        SUE(**{**SUE_PARAMS, "solver_params": {"training": "rayleigh"}}).fit(on_disk)
    with pytest.raises(InputError, match="rows on disk"):
        registry.get("method", "auto")(device="cpu").fit(on_disk)


def test_sue_fit_rows_on_disk_from_the_command_line(tmp_path):
    data = _data(tmp_path, n=300)
    np.savetxt(tmp_path / "p.csv", data.pairs, fmt="%d", delimiter=",")
    args = ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--pairs",
            str(tmp_path / "p.csv"), "--method", "sue", "--solver", "spectralnet", "--device",
            "cpu", "--rows-on-disk", "--out", str(tmp_path / "m.sue"), "--params",
            '{"solver_params": {"epochs": 2}, "matcher_params": {"epochs": 1}}']  # fmt: skip
    assert main(args) == 0
    model = load_method(tmp_path / "m.sue")
    # the command fitted from the files on disk exactly what the library fits from them
    from sue_framework.npy_rows import NpyRows

    on_disk = WeaklyPairedData(NpyRows(tmp_path / "x.npy"), NpyRows(tmp_path / "y.npy"), data.pairs)
    same = registry.get("method", "sue")(
        solver="spectralnet", device="cpu", verbose=False,
        solver_params={"epochs": 2}, matcher_params={"epochs": 1},
    ).fit(on_disk)  # fmt: skip
    for side, rows in (("x", data.x), ("y", data.y)):
        assert np.array_equal(model.transform(rows, side), same.transform(rows, side))
    assert model.training_ == same.training_ and model.training_["pairs"] == len(data.pairs)


CAPPED = textwrap.dedent(
    """
    import os, resource, sys, warnings
    import numpy as np
    from sue_framework.io.npy_transform import transform_file
    from sue_framework.data import WeaklyPairedData
    from sue_framework.methods.sue import SUE
    from sue_framework.npy_rows import NpyRows

    warnings.simplefilter("ignore")
    out, d = sys.argv[1], 8192  # wide rows: fewer rows (reads, steps) for the same bytes
    params = dict(solver="spectralnet", se_dim=4, out_dim=3, device="cpu",
                  solver_params=dict(hidden=(16,), epochs=1, batch_size=2048, max_exact=100),
                  matcher_params=dict(hidden=(16,), epochs=1, batch_size=4096))
    rng = np.random.default_rng(0)
    y = rng.normal(size=(400, 8)).astype(np.float32)
    pairs = np.stack([np.arange(40)] * 2, 1)
    # a small fit first, so threads and allocator arenas exist before the address space is
    # measured; the cap is what that took plus 512 MiB, the file 64 MiB more than the cap
    SUE(**params).fit(WeaklyPairedData(rng.normal(size=(400, 64)), y, pairs))
    peak = lambda: next(int(line.split()[1]) << 10 for line in open("/proc/self/status")
                        if line.startswith("VmPeak"))
    cap = peak() + (512 << 20)
    n = (cap + (64 << 20)) // (4 * d) + 1
    centres = rng.normal(size=(8, d)).astype(np.float32)
    noise = 0.3 * rng.normal(size=(1024 + 7, d)).astype(np.float32)
    with open(f"{out}/x.npy", "wb") as f:
        header = {"descr": "<f4", "fortran_order": False, "shape": (n, d)}
        np.lib.format.write_array_header_1_0(f, header)
        for s in range(0, n, 1024):
            m, k = min(1024, n - s), s // 1024 % 7
            f.write((centres[rng.integers(8, size=m)] + noise[k : k + m]).tobytes())
    assert os.path.getsize(f"{out}/x.npy") > cap
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        np.load(f"{out}/x.npy")
        sys.exit("the cap does not bite: the whole file loaded")
    except MemoryError:
        pass
    model = SUE(**params).fit(WeaklyPairedData(NpyRows(f"{out}/x.npy"), y, pairs))
    transform_file(model, f"{out}/x.npy", "x", f"{out}/z.npy", block_rows=4096)
    rows = NpyRows(f"{out}/x.npy")
    z = NpyRows(f"{out}/z.npy")
    np.savez(f"{out}/check.npz", shape=z.shape, n=n, head=z[:200],
             want=model.transform(rows[:200], "x"), tail=z[n - 200 :],
             want_tail=model.transform(rows[n - 200 :], "x"), cap=cap, peak=peak())
    os.remove(f"{out}/x.npy")
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; RLIMIT_AS")
def test_a_file_larger_than_the_address_space_cap_fits_and_transforms(tmp_path):
    """`ulimit -v` below the input file's size: np.load fails, the streamed fit and the
    block-wise transform succeed, and the transform's rows are the model's."""
    (tmp_path / "capped.py").write_text(CAPPED)
    env = {**os.environ, "SUE_NUM_THREADS": "2", "MALLOC_ARENA_MAX": "2"}
    run = subprocess.run([sys.executable, str(tmp_path / "capped.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=900, env=env)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    got = np.load(tmp_path / "check.npz")
    assert tuple(got["shape"]) == (int(got["n"]), 3)
    assert got["peak"] <= got["cap"]
    np.testing.assert_allclose(got["head"], got["want"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["tail"], got["want_tail"], rtol=1e-5, atol=1e-5)


def test_a_file_rewritten_between_reads_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(40, dtype=np.float32).reshape(10, 4))
    rows = NpyRows(path)
    assert rows[0:2].shape == (2, 4)
    rows.check_unchanged()
    np.save(path, np.arange(40, dtype=np.float32).reshape(10, 4) + 1)  # same size, new bytes
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(InputError, match="changed while it was being read"):
        rows[0:2]
    with pytest.raises(InputError, match="changed while it was being read"):
        rows.check_unchanged()
    path.unlink()
    with pytest.raises(InputError, match="changed while it was being read"):
        rows.check_unchanged()
