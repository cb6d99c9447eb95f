import os
from pathlib import Path

import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.experiment import (
    ExperimentConfig,
    MethodSpec,
    load_config,
    markdown_table,
    read_results,
    relative_improvement,
    run_experiment,
    smoke,
    summarise,
    write_report,
)
from tests.conftest import needs

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "sue_framework" / "configs").glob("*.toml"))


def tiny(**kw) -> ExperimentConfig:
    base = dict(
        name="tiny",
        dataset="synthetic",
        dataset_params={"n": 700, "dim_x": 10, "dim_y": 8},
        n_test=100,
        methods=(
            MethodSpec("CCA", "pair_cca", {"out_dim": 4}),
            MethodSpec("CCA-2", "pair_cca", {"out_dim": 2}),
        ),
        pairs=(20, 40),
        seeds=(0, 1),
        baseline="CCA-2",
        device="cpu",
    )
    return ExperimentConfig(**{**base, **kw})


def test_grid_rows_resume_and_report(tmp_path):
    cfg = tiny()
    calls = []
    rows = run_experiment(cfg, tmp_path, on_cell=lambda row, skipped: calls.append(skipped))
    assert len(rows) == 8 and calls == [False] * 8
    again = run_experiment(cfg, tmp_path, on_cell=lambda row, skipped: calls.append(skipped))
    assert calls[8:] == [True] * 8 and len(again) == 8  # resumed: nothing refit
    assert len(read_results(tmp_path / "results.csv")) == 8
    written = write_report(cfg, again, tmp_path)
    assert {"table", "pairs"} <= set(written) and "Imp." in written["table"].read_text()


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    cfg = tiny(seeds=(0,))
    run_experiment(tiny(seeds=(0,), pairs=(20,)), tmp_path)  # as if stopped after the first budget
    fresh = []
    run_experiment(
        cfg, tmp_path, on_cell=lambda row, skipped: fresh.append((row["n_pairs"], skipped))
    )
    assert fresh == [(20, True), (20, True), (40, False), (40, False)]


def test_unpaired_axis_and_its_plot(tmp_path):
    cfg = tiny(pairs=(20,), seeds=(0,), unpaired=(50, 200, "all"))
    rows = run_experiment(cfg, tmp_path)
    assert sorted({r["n_unpaired_x"] for r in rows}) == [50, 200, rows[-1]["n_unpaired_x"]]
    assert "unpaired_p20" in write_report(cfg, rows, tmp_path)


def test_summary_statistics_and_improvement():
    rows = [
        {
            "method": "A",
            "n_pairs": 5,
            "unpaired_budget": "all",
            "seed": s,
            "n_unpaired_x": 10,
            "fit_seconds": 1.0,
            **{k: v for k in ("x2y_R@1", "x2y_R@5", "x2y_R@10", "y2x_R@1", "y2x_R@5", "y2x_R@10")},
        }
        for s, v in ((0, 10.0), (1, 20.0))
    ]
    base = [dict(r, method="B", **{k: 10.0 for k in r if "@" in k}) for r in rows]
    summary = summarise(rows + base)
    a = next(s for s in summary if s["method"] == "A")
    assert a["x2y_R@10"] == 15.0 and a["x2y_R@10_std"] == pytest.approx(7.0710678)
    assert relative_improvement(a, next(s for s in summary if s["method"] == "B")) == pytest.approx(
        50.0
    )
    assert "+50.0%" in markdown_table(summary, "B")


def test_bad_configs_are_named(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('pairs = [10]\nfoo = 1\n[[methods]]\nname = "sue"\n')
    with pytest.raises(InputError, match="unknown key"):
        load_config(p)
    p.write_text("pairs = [10]\n")
    with pytest.raises(InputError, match="at least one"):
        load_config(p)
    p.write_text('pairs = [10]\nbaseline = "X"\n[[methods]]\nname = "sue"\n')
    with pytest.raises(InputError, match="baseline"):
        load_config(p)
    p.write_text("pairs = [10\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(p)


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
@needs("sue_baselines", "sue_tasks")
def test_shipped_config_runs_at_smoke_size(path, tmp_path):
    if path.stem.startswith("real_") and not os.environ.get("SUE_REAL_DATA"):
        pytest.skip("real-embedding configs need Debian data and encoders; set SUE_REAL_DATA=1")
    cfg = smoke(load_config(path))
    rows = run_experiment(cfg, tmp_path)
    assert len(rows) == len(cfg.methods)
    # each smoke cell's figures are the retrieval task's on that cell's test pairs: above the
    # chance level of R@10 for the test set (10 / n_test), for the best method of the grid
    chance = 100 * 10 / cfg.n_test
    assert max(r["x2y_R@10"] for r in rows) > 2 * chance
    assert write_report(cfg, rows, tmp_path)["table"].is_file()


def test_configs_ship_inside_the_package_and_load_by_name(tmp_path, monkeypatch):
    import sue_framework
    from sue_framework.experiment.config import shipped_configs

    shipped = shipped_configs()
    package = Path(sue_framework.__file__).resolve().parent
    assert {p.stem for p in CONFIGS} <= set(shipped) and "synthetic_table1" in shipped
    assert all(package in p.parents for p in shipped.values())  # package data, in the wheel
    monkeypatch.chdir(tmp_path)  # no configs/ folder here: names and old paths still resolve
    assert load_config("synthetic_table1").name == "synthetic_table1"
    assert load_config("configs/digits_table1.toml").name == "digits_table1"
    with pytest.raises(InputError, match="no shipped config named 'nope'; shipped: digits_"):
        load_config("nope")


def test_rows_keep_the_recall_columns_whatever_else_a_task_reports(tmp_path):
    """Retrieval also reports median rank and mAP; the CSV keeps the R@k columns it tabulates."""
    rows = run_experiment(tiny(pairs=(20,), seeds=(0,)), tmp_path)
    stored = read_results(tmp_path / "results.csv")
    assert set(stored[0]) >= {"x2y_R@10", "y2x_R@1"} and len(rows) == len(stored) == 2


def _figures(rows):
    return sorted((r["method"], r["n_pairs"], r["seed"], r["x2y_R@10"], r["y2x_R@1"]) for r in rows)


@pytest.mark.parametrize("damage", ["no_final_newline", "torn_last_line", "changed_figure"])
def test_a_damaged_results_file_is_reported_and_its_cells_recomputed(tmp_path, damage):
    cfg = tiny(pairs=(20,))
    clean = run_experiment(cfg, tmp_path / "clean")
    path = tmp_path / "results.csv"
    run_experiment(cfg, tmp_path)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    if damage == "no_final_newline":
        path.write_text(text.rstrip("\n"))
    elif damage == "torn_last_line":
        path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    else:
        fields = lines[2].split(",")
        fields[5] = "99.0" if fields[5] != "99.0" else "98.0"  # x2y_R@1 of the second row
        lines[2] = ",".join(fields)
        path.write_text("".join(lines))
    if damage == "no_final_newline":  # nothing is damaged; the next row must not be glued on
        rerun = run_experiment(tiny(pairs=(20, 40)), tmp_path)
        assert len(rerun) == 8
    else:
        where = "line 5" if damage == "torn_last_line" else "line 3"
        with pytest.warns(UserWarning, match=rf"results.csv: 1 damaged row.*{where}: "):
            rerun = run_experiment(cfg, tmp_path)
        assert _figures(rerun) == _figures(clean)
    again = read_results(path)  # the file itself is whole again: every line checks out
    assert len(again) == len(rerun) and all(
        line.count(",") == text.splitlines()[0].count(",") for line in path.read_text().splitlines()
    )


def test_a_results_file_from_before_checksums_still_resumes(tmp_path):
    cfg = tiny(pairs=(20,))
    run_experiment(cfg, tmp_path)
    path = tmp_path / "results.csv"
    old = "".join(line.rsplit(",", 1)[0] + "\n" for line in path.read_text().splitlines())
    path.write_text(old)
    skipped = []
    run_experiment(cfg, tmp_path, on_cell=lambda row, s: skipped.append(s))
    assert skipped == [True] * 4


def test_a_foreign_results_file_is_refused_not_overwritten(tmp_path):
    from sue_framework import SUEError

    path = tmp_path / "results.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SUEError, match=r"results.csv line 1: the header lacks"):
        run_experiment(tiny(pairs=(20,)), tmp_path)
    assert path.read_text() == "a,b\n1,2\n"


@pytest.mark.slow
def test_a_dataset_plugin_installed_by_entry_point_runs_in_an_experiment(tmp_path):
    import subprocess
    import sys

    from tests.test_registry import _install

    _install(tmp_path, "toy_data_plugin", """
        import numpy as np
        from sue_framework import hookimpl
        from sue_framework.interfaces import Dataset

        class Rotated(Dataset):
            def __init__(self, n=500):
                self.n = n
            def load(self):
                rng = np.random.default_rng(0)
                x = rng.normal(size=(self.n, 6)) * np.arange(1, 7)
                q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
                return x, x @ q + 0.05 * rng.normal(size=(self.n, 6))

        @hookimpl
        def sue_register(registry):
            registry.register("dataset", "rotated", Rotated)
    """)  # fmt: skip
    config = tmp_path / "rot.toml"
    config.write_text(
        'name = "rot"\ndataset = "rotated"\ndataset_params = { n = 400 }\nn_test = 100\n'
        'pairs = [15]\nseeds = [0]\ndevice = "cpu"\n'
        '[[methods]]\nlabel = "Procrustes"\nname = "sue"\n'
        'params = { solver = "identity", aligner = "procrustes", matcher = "none", out_dim = 6 }\n'
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sue_framework.cli import main;"
        "main(['plugins']);"
        "sys.exit(main(['experiment', sys.argv[2], '--out-dir', sys.argv[3]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(config), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert any(ln.split()[:3] == ["dataset", "rotated", "toy-data-plugin"]
               for ln in out.stdout.splitlines())  # fmt: skip
    (row,) = read_results(tmp_path / "out" / "results.csv")
    assert row["method"] == "Procrustes" and row["x2y_R@1"] > 50  # a rotation is easy


@needs("sue_tasks")
def test_the_task_is_configurable_and_its_figures_are_the_columns(tmp_path):
    """A task other than retrieval: its own figures become the CSV's columns and the table's."""
    cfg = tiny(pairs=(20,), seeds=(0, 1), task="modality_gap", baseline=None)
    rows = run_experiment(cfg, tmp_path)
    from sue_framework import registry

    figures = registry.get("task", "modality_gap")().evaluate(
        np.ones((4, 3)), np.arange(12.0).reshape(4, 3)
    )
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert [c for c in header if c in figures] == list(figures)
    assert "x2y_R@10" not in header and len(read_results(tmp_path / "results.csv")) == 4
    table = write_report(cfg, rows, tmp_path)["table"].read_text()
    assert all(name in table for name in figures) and "R@10" not in table


def test_retrieval_records_every_figure_it_reports(tmp_path):
    rows = run_experiment(tiny(pairs=(20,), seeds=(0,)), tmp_path)
    stored = read_results(tmp_path / "results.csv")[0]
    assert {"x2y_median_rank", "y2x_mAP"} <= set(stored)
    assert stored["x2y_mAP"] == pytest.approx(rows[0]["x2y_mAP"])


def test_warnings_from_fits_are_shown_once_per_kind_not_swallowed(tmp_path):
    import warnings

    from sue_framework import Registry
    from sue_framework.methods.sue import SUE

    class Grumpy(SUE):
        def fit(self, data, y=None):
            warnings.warn(f"row {data.x.shape[0]} looks odd", UserWarning, stacklevel=2)
            return super().fit(data)

    private = Registry()
    fixed = {"solver": "identity", "matcher": "none"}
    private.register("method", "grumpy", lambda **p: Grumpy(**{**fixed, **p}))
    cfg = tiny(methods=(MethodSpec("G", "grumpy", {"out_dim": 3}),), baseline=None)
    with private.use(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_experiment(cfg, tmp_path)
    texts = [str(w.message) for w in caught]
    assert len([t for t in texts if "looks odd" in t]) == 1  # four cells, one kind
    assert texts[0].startswith("G, 20 pairs, seed 0: row ") and texts[0].endswith("looks odd")
    assert "3 more warning(s) of the kinds above came up in later fits" in texts


def test_a_changed_config_is_refused_naming_the_cells_not_reported_stale(tmp_path):
    cfg = tiny(pairs=(20,), seeds=(0,))
    run_experiment(cfg, tmp_path)
    before = (tmp_path / "results.csv").read_text(), (tmp_path / "config.json").read_text()
    from sue_framework import SUEError

    changed = [
        tiny(pairs=(20,), seeds=(0,), dataset_params={"n": 700, "dim_x": 10, "dim_y": 9}),
        tiny(
            pairs=(20,),
            seeds=(0,),
            baseline=None,
            methods=(MethodSpec("CCA", "pair_cca", {"out_dim": 3}),),
        ),
        tiny(pairs=(20,), seeds=(0,), n_test=120),
    ]
    for config in changed:
        with pytest.raises(SUEError, match=r"fitted under other settings .*CCA, 20 pairs"):
            run_experiment(config, tmp_path)
        assert ((tmp_path / "results.csv").read_text(),
                (tmp_path / "config.json").read_text()) == before  # fmt: skip
    rows = run_experiment(changed[1], tmp_path, resume=False)  # --restart replaces them
    assert [r["method"] for r in rows] == ["CCA"]


def test_duplicate_cells_count_once_and_two_runs_cannot_share_a_folder(tmp_path):
    cfg = tiny(pairs=(20,), seeds=(0,))
    run_experiment(cfg, tmp_path)
    path = tmp_path / "results.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, *lines[1:]]) + "\n")  # a second run's copies
    with pytest.warns(UserWarning, match="2 duplicate row"):
        rows = read_results(path)
    assert len(rows) == 2
    import fcntl

    with open(tmp_path / ".lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        from sue_framework import SUEError

        with pytest.raises(SUEError, match="another experiment .* is writing into"):
            run_experiment(cfg, tmp_path)
    with pytest.warns(UserWarning, match="duplicate row"):
        again = run_experiment(cfg, tmp_path)  # the lock is free again; the file is cleaned
    assert len(again) == 2 and len(path.read_text().splitlines()) == 3


def test_a_results_file_from_before_cell_digests_is_refused_with_what_to_do(tmp_path):
    from sue_framework import SUEError

    cfg = tiny(pairs=(20,), seeds=(0,))
    run_experiment(cfg, tmp_path)
    path = tmp_path / "results.csv"
    old = "".join(",".join(line.split(",")[:-2]) + "\n" for line in path.read_text().splitlines())
    path.write_text(old)  # no cell and no checksum column, as written two versions ago
    assert len(read_results(path)) == 2  # still readable for reports
    with pytest.raises(SUEError, match="did not record what defines each cell.*--restart"):
        run_experiment(cfg, tmp_path)
    assert path.read_text() == old


def test_the_console_table_keeps_its_columns_with_long_labels():
    from sue_framework.experiment import text_table

    rows = [
        {"method": name, "n_pairs": 20, "unpaired_budget": "all", "seed": 0, "n_unpaired_x": 5,
         "n_unpaired_y": 5, "fit_seconds": 1.0, "a_very_long_figure_name": 1.0 + k}
        for k, name in enumerate(["CCA", "a method label far longer than eighteen characters"])
    ]  # fmt: skip
    lines = text_table(summarise(rows)).splitlines()
    ends = {len(line) for line in lines if not line.startswith("-")}
    assert len(ends) == 1  # every row as wide as the header: the figures line up under it
    assert lines[0].endswith("a_very_long_figure_name") and lines[-1].endswith("2.00")


def test_a_one_budget_grid_still_draws_a_figure_and_smoke_plots_the_cell_it_ran(tmp_path):
    cfg = tiny(pairs=(20,), seeds=(0,))
    rows = run_experiment(cfg, tmp_path)
    written = write_report(cfg, rows, tmp_path)
    assert written["methods"].name == "r10_by_method.png" and written["methods"].stat().st_size
    shipped = smoke(load_config("digits_table1"))
    assert shipped.stages_plot["pairs"] == shipped.pairs[0] == 25
