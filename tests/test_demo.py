import pytest

from sue_framework.cli import main
from sue_framework.experiment import read_results
from tests.conftest import needs


@pytest.mark.slow
@needs("sue_baselines")
def test_small_demo_run_produces_table_plots_and_rows(tmp_path, capsys):
    assert (
        main(
            [
                "demo",
                "--pairs",
                "30,60",
                "--seeds",
                "1",
                "--out-dir",
                str(tmp_path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "SUE" in out and "Contrastive" in out and "CCA (raw)" in out
    rows = read_results(tmp_path / "results.csv")
    assert {r["method"] for r in rows} == {"SUE", "Contrastive", "CCA (raw)"} and len(rows) == 6
    best = {m: max(r["x2y_R@10"] for r in rows if r["method"] == m) for m in ("SUE", "CCA (raw)")}
    assert min(best.values()) > 2 * 100 * 10 / 400  # above twice chance on the 400 test pairs
    for name in ("table.md", "r10_vs_pairs.png", "stages_2d.png"):
        assert (tmp_path / name).stat().st_size > 500
    assert "Imp." in (tmp_path / "table.md").read_text()


@pytest.mark.slow  # a demo grid
def test_the_demo_says_what_is_missing_and_runs_without_the_baselines(tmp_path, capsys):
    """The core does not silently need a plugin: without sue-baselines the demo says which
    package brings the baselines and runs SUE alone."""
    from sue_framework import Registry

    bare = Registry(autoload=False)  # the built-ins only, as if no plugin were installed
    with bare.use():
        code = main(["demo", "--pairs", "30", "--seeds", "1", "--out-dir", str(tmp_path),
                     "--device", "cpu"])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "contrastive, cca_raw are not installed" in err and "sue-baselines" in err
    assert {r["method"] for r in read_results(tmp_path / "results.csv")} == {"SUE"}
