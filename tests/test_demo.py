from sue_framework.cli import main
from sue_framework.experiment import read_results


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
    assert all(0 <= r["x2y_R@10"] <= 100 for r in rows)
    for name in ("table.md", "r10_vs_pairs.png", "stages_2d.png"):
        assert (tmp_path / name).stat().st_size > 500
    assert "Imp." in (tmp_path / "table.md").read_text()
