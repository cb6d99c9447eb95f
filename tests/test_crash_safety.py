"""`kill -9` during `sue fit`, `sue experiment` and `sue encode`: no partial output where a
complete one is expected, and a rerun finishes with the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs, two_view_blobs

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals"),
    pytest.mark.slow,  # each test starts and kills `sue` processes
]


def _sue(args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sue_framework", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL `proc` as soon as `ready()` holds (it must still be running then)."""
    t0 = time.monotonic()
    while not ready():
        assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
        assert time.monotonic() - t0 < timeout, "never reached the point to kill it"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _stderr_so_far(proc: subprocess.Popen) -> str:
    """What `proc` has written to stderr so far, without blocking."""
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        chunk = b""
    proc.seen = getattr(proc, "seen", "") + chunk.decode(errors="replace")
    return proc.seen


def _finish(args: list[str], env: dict | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "sue_framework", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_kill_during_fit_keeps_the_old_model_and_a_rerun_matches(tmp_path):
    x, y, _ = two_view_blobs(800, seed=4)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "pairs.csv").write_text("\n".join(f"{i},{i}" for i in range(40)))
    fit = ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--pairs",
           str(tmp_path / "pairs.csv"), "--device", "cpu"]  # fmt: skip
    from sue_framework import WeaklyPairedData, registry
    from sue_framework.io.model_files import load_method, save_method

    pairs = np.stack([np.arange(40)] * 2, axis=1)
    good = registry.get("method", "pair_cca")().fit(WeaklyPairedData(x, y, pairs))
    old = save_method(good, tmp_path / "m.sue").read_bytes()
    slow = ["--method", "sue", "--params", '{"matcher_params": {"epochs": 60, "patience": 60}}']
    proc = _sue([*fit, "--out", str(tmp_path / "m.sue"), *slow])
    _kill_when(proc, lambda: "fitting sue" in _stderr_so_far(proc))
    assert (tmp_path / "m.sue").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir() if "m.sue" in p.name) == ["m.sue"]
    _finish([*fit, "--out", str(tmp_path / "m.sue"), *slow])  # the rerun
    _finish([*fit, "--out", str(tmp_path / "a.sue"), *slow])  # a run never interrupted
    a, b = (load_method(tmp_path / f"{n}.sue").get_state() for n in "ma")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


SLOW_METHOD = '''
import time
from sue_baselines.cca_raw import CCARaw
from sue_framework import hookimpl


class SlowCCA(CCARaw):
    """cca_raw that takes 0.3 s a fit, so that a kill lands between two cells on any machine."""

    def fit(self, data, *args, **kwargs):
        time.sleep(0.3)
        return super().fit(data, *args, **kwargs)


@hookimpl
def sue_register(registry):
    registry.register("method", "slow_cca", SlowCCA)
'''


def _plugin_env(tmp_path: Path, module: str, source: str) -> dict:
    """An environment in which `module` (with `source`) is an installed sue_framework plugin."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    name = module.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[sue_framework]\n{module} = {module}\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


@needs("sue_baselines")
def test_kill_during_an_experiment_resumes_to_the_same_table(tmp_path):
    env = _plugin_env(tmp_path, "slow_cca_plugin", SLOW_METHOD)
    config = tmp_path / "grid.toml"
    config.write_text(
        textwrap.dedent("""
        name = "grid"
        dataset = "synthetic"
        dataset_params = { n = 900, dim_x = 10, dim_y = 8 }
        n_test = 100
        pairs = [20, 40, 60]
        seeds = [0, 1]
        device = "cpu"
        [[methods]]
        label = "CCA"
        name = "slow_cca"
        params = { out_dim = 4 }
        [[methods]]
        label = "semi"
        name = "semi_cca"
        params = { out_dim = 4 }
    """)
    )
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    csv = killed / "results.csv"
    proc = _sue(["experiment", str(config), "--out-dir", str(killed)], env=env)
    _kill_when(proc, lambda: csv.is_file() and csv.read_text().count("\n") >= 3)
    done_before = csv.read_text().count("\n") - 1
    assert 2 <= done_before < 12
    _finish(["experiment", str(config), "--out-dir", str(killed)], env=env)
    _finish(["experiment", str(config), "--out-dir", str(clean)], env=env)

    def figures(path: Path) -> list[list[str]]:
        rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
        return sorted(r[:11] for r in rows)  # all but fit_seconds and the checksum

    assert len(figures(csv)) == 12 and figures(csv) == figures(clean / "results.csv")


SLOW_ENCODER = '''
import time
from pathlib import Path
import numpy as np
from sue_encoders import BatchedEncoder
from sue_framework import hookimpl


class SlowHash(BatchedEncoder):
    """item -> 8 numbers from its text; logs what it computes; 0.2 s a batch."""
    encoder_id = "slow-hash-v1"

    def __init__(self, cache_dir=None, progress=False, device="cpu", log=None, batch_size=4):
        self.cache_dir, self.progress, self.device = cache_dir, progress, device
        self.log, self.batch_size = log, batch_size

    def _encode_batch(self, items):
        time.sleep(0.2)
        with open(self.log, "a") as fh:
            fh.write("".join(f"{it}\\n" for it in items))
        return np.array([[len(it) + k * sum(map(ord, it)) % 97 for k in range(8)]
                         for it in items], dtype=np.float32)


@hookimpl
def sue_register(registry):
    registry.register("encoder", "slow_hash", SlowHash)
'''


@needs("sue_encoders")
def test_kill_during_encode_resumes_from_the_cache(tmp_path):
    env = _plugin_env(tmp_path, "slow_hash_plugin", SLOW_ENCODER)
    items = tmp_path / "items.txt"
    items.write_text("\n".join(f"item number {i}" for i in range(80)))
    log = tmp_path / "computed.log"
    out = tmp_path / "z.npy"

    def encode(dest: Path, cache: Path) -> list[str]:
        params = json.dumps({"log": str(log)})
        return ["encode", "--encoder", "slow_hash", "--input", str(items), "--out", str(dest),
                "--cache", str(cache), "--params", params]  # fmt: skip

    proc = _sue(encode(out, tmp_path / "cache"), env=env)
    _kill_when(proc, lambda: log.is_file() and log.read_text().count("\n") >= 12)
    assert not out.exists() and not Path(f"{out}.manifest.json").exists()
    first = log.read_text().splitlines()
    _finish(encode(out, tmp_path / "cache"), env=env)
    again = log.read_text().splitlines()[len(first) :]
    assert len(first) + len(again) <= 80 + 4  # at most the batch in flight is computed twice
    _finish(encode(tmp_path / "clean.npy", tmp_path / "fresh_cache"), env=env)
    assert np.array_equal(np.load(out), np.load(tmp_path / "clean.npy"))
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(np.load(out).tobytes()).hexdigest()


SLEEPY_METHOD = '''
import os
import time
from pathlib import Path
from sue_baselines.cca_raw import CCARaw
from sue_framework import hookimpl


class SleepyCCA(CCARaw):
    """cca_raw that says which process fits it (pid and parent) and then sleeps 60 s."""

    def fit(self, data, *args, **kwargs):
        marks = Path(os.environ["SUE_TEST_MARKS"])
        (marks / f"{os.getpid()}.{os.getppid()}").write_text("")
        time.sleep(60)
        return super().fit(data, *args, **kwargs)


@hookimpl
def sue_register(registry):
    registry.register("method", "sleepy_cca", SleepyCCA)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split(") ")[-1].startswith("Z"))


@needs("sue_baselines")
def test_kill_of_a_distributed_fit_ends_its_workers_before_they_write(tmp_path):
    if not Path("/proc").is_dir():
        pytest.skip("checks processes through /proc")
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {
        **_plugin_env(tmp_path, "sleepy_cca_plugin", SLEEPY_METHOD),
        "SUE_TEST_MARKS": str(marks),
    }
    x, y, _ = two_view_blobs(200, seed=4)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "pairs.csv").write_text("\n".join(f"{i},{i}" for i in range(20)))
    out = tmp_path / "m.sue"
    proc = _sue(["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
                 "--pairs", str(tmp_path / "pairs.csv"), "--method", "sleepy_cca", "--device",
                 "cpu", "--nproc", "2", "--oversubscribe", "--out", str(out)], env=env)  # fmt: skip
    _kill_when(proc, lambda: len(list(marks.iterdir())) == 2, timeout=240)
    started = [tuple(int(v) for v in m.name.split(".")) for m in marks.iterdir()]
    pids = {p for pair in started for p in pair}  # the two workers and the torchrun agent
    t0 = time.monotonic()
    while any(_alive(p) for p in pids) and time.monotonic() - t0 < 20:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids), "workers outlived the sue process that started them"
    assert not out.exists()
