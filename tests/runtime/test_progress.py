"""Progress bars: shown for long steps on request (a terminal, SUE_PROGRESS=1), never under -q,
never where stderr is not a terminal by default."""

import numpy as np
import pytest

from sue_framework import WeaklyPairedData, progress, registry
from sue_framework.cli import main
from tests.conftest import two_view_blobs


@pytest.fixture
def data():
    x, y, _ = two_view_blobs(400, seed=2)
    return WeaklyPairedData(x, y, np.stack([np.arange(40)] * 2, 1))


@pytest.fixture(autouse=True)
def no_delay(monkeypatch):
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.delenv("SUE_PROGRESS", raising=False)


def _fit(data):
    return registry.get("method", "auto")(seed=0, device="cpu").fit(data)


@pytest.mark.slow  # two fits of auto
def test_cross_validation_and_self_learning_report_progress_when_asked(data, capsys):
    with progress.shown():
        _fit(data)
        assert "pair cross-validation" in capsys.readouterr().err
        registry.get("method", "self_train")(seed=0, device="cpu", out_dim=4).fit(data)
    assert "self-learning rounds" in capsys.readouterr().err


@pytest.mark.slow  # two fits of auto
def test_no_bars_by_default_off_a_terminal_or_inside_quiet(data, capsys, monkeypatch):
    _fit(data)  # capsys's stderr is not a terminal
    with progress.quiet():
        monkeypatch.setenv("SUE_PROGRESS", "1")  # quiet() wins over the environment
        _fit(data)
    assert "cross-validation" not in capsys.readouterr().err


@pytest.mark.slow  # two fits through the command line
def test_the_command_line_shows_bars_on_request_and_none_under_q(
    data, tmp_path, capsys, monkeypatch
):
    np.save(tmp_path / "x.npy", data.x)
    np.save(tmp_path / "y.npy", data.y)
    (tmp_path / "p.csv").write_text("\n".join(f"{i},{i}" for i in range(40)))
    args = ["fit", "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
            "--pairs", str(tmp_path / "p.csv"), "--out", str(tmp_path / "m.sue"),
            "--device", "cpu"]  # fmt: skip
    monkeypatch.setenv("SUE_PROGRESS", "1")
    assert main(args) == 0
    assert "pair cross-validation" in capsys.readouterr().err
    assert main(["-q", *args]) == 0
    assert "cross-validation" not in capsys.readouterr().err


@pytest.mark.slow  # waits 2.3 s for the bar's seconds to pass
def test_a_step_without_progress_of_its_own_counts_its_seconds(capsys, monkeypatch):
    import time

    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    with progress.shown(), progress.ticking("eigenvectors (arpack)"):
        time.sleep(2.3)
    err = capsys.readouterr().err
    assert "eigenvectors (arpack)" in err and "2s" in err.replace(" ", "")
    with progress.ticking("silent"):  # off a terminal: no bar, no thread
        time.sleep(0.1)
    assert "silent" not in capsys.readouterr().err
