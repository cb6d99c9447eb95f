import json

from sue_framework.cli import main
from sue_framework.demo import format_table, run_demo, summarise


def test_small_demo_run_produces_table_plot_and_rows(tmp_path, capsys):
    assert (
        main(
            ["demo", "--pairs", "30", "--seeds", "1", "--out-dir", str(tmp_path), "--device", "cpu"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "SUE" in out and "Contrastive" in out and "CCA (raw)" in out
    rows = json.loads((tmp_path / "demo_results.json").read_text())
    assert {r["method"] for r in rows} == {"SUE", "Contrastive", "CCA (raw)"}
    assert all(0 <= r["x2y_R@10"] <= 100 for r in rows)
    assert (tmp_path / "demo_r10.png").stat().st_size > 1000


def test_summary_averages_seeds():
    rows = run_demo(
        pair_budgets=(20,), seeds=(0, 1), methods={"CCA (raw)": ("cca_raw", {})}, device="cpu"
    ).rows
    (s,) = summarise(rows)
    assert s["n_seeds"] == 2
    assert abs(s["x2y_R@1"] - (rows[0]["x2y_R@1"] + rows[1]["x2y_R@1"]) / 2) < 1e-9
    assert "CCA (raw)" in format_table([s])
