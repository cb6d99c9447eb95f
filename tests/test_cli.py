import re

import numpy as np
import pytest

from sue_framework import InputError
from sue_framework.cli import main
from tests.conftest import needs, two_view_blobs


def fit_args(files, pairs="pairs.csv", x="x.npy"):
    return [
        "fit",
        "--x",
        str(files / x),
        "--y",
        str(files / "y.npy"),
        "--pairs",
        str(files / pairs),
        "--out",
        str(files / "m.sue"),
    ]


@pytest.fixture
def files(tmp_path):
    x, y, _ = two_view_blobs(300, seed=3)
    np.save(tmp_path / "x.npy", x[:250])
    np.save(tmp_path / "y.npy", y[:250])
    np.save(tmp_path / "xt.npy", x[250:])
    np.save(tmp_path / "yt.npy", y[250:])
    (tmp_path / "pairs.csv").write_text("i,j\n" + "\n".join(f"{i},{i}" for i in range(20)))
    return tmp_path


def test_fit_defaults_to_auto_and_says_what_it_chose(files, capsys):
    assert main([*fit_args(files), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "fitting auto" in err and "auto chose " in err
    from sue_framework.io.model_files import read_manifest

    assert read_manifest(files / "m.sue")["method"]["name"] == "auto"


def test_fit_transform_evaluate(files, capsys):
    model = files / "m.sue"
    params = (
        '{"solver_params": {"graph_params": {"n_neighbors": 10}}, "matcher_params": {"epochs": 3}}'
    )
    assert (
        main(
            [
                *fit_args(files),
                "--method",
                "sue",
                "--se-dim",
                "6",
                "--out-dim",
                "4",
                "--params",
                params,
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "transform",
                "--model",
                str(model),
                "--modality",
                "y",
                "--input",
                str(files / "yt.npy"),
                "--out",
                str(files / "z.npy"),
            ]
        )
        == 0
    )
    assert np.load(files / "z.npy").shape == (50, 4)
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model),
                "--x",
                str(files / "xt.npy"),
                "--y",
                str(files / "yt.npy"),
            ]
        )
        == 0
    )
    lines = {ln.split()[0]: ln.split()[1:] for ln in capsys.readouterr().out.splitlines()}
    assert lines["x2y_R@10"][1] == "%" and lines["y2x_R@1"][1] == "%"
    assert lines["x2y_mAP"][1] == "(0-1)" and 0 < float(lines["x2y_mAP"][0]) <= 1


@pytest.mark.parametrize(
    "pairs_text, message",
    [
        ("0,999\n", "outside y"),
        ("0,1,2\n", "exactly two integers"),
        ("a,b\nx,y\n", "bad.csv is 'x', not a row index"),
    ],
)
def test_bad_input_exits_with_one_line(files, capsys, pairs_text, message):
    (files / "bad.csv").write_text(pairs_text)
    code = main(fit_args(files, pairs="bad.csv"))
    err = capsys.readouterr().err.strip()
    assert code != 0 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (files / "m.sue").exists()


def test_nan_input_and_debug_traceback(files, capsys):
    x = np.load(files / "x.npy")
    x[3, 1] = np.nan
    np.save(files / "xnan.npy", x)
    args = fit_args(files, x="xnan.npy")
    assert main(args) == 2
    assert "NaN or inf in 1 row" in capsys.readouterr().err
    with pytest.raises(InputError, match="NaN or inf in 1 row"):  # the library's own error
        main(["--debug", *args])


@needs("sue_baselines")
def test_plugins_lists_kind_name_provider(capsys):
    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["kind", "name", "provider"]
    assert any(ln.split() == ["method", "contrastive", "sue-baselines"] for ln in lines)
    assert any(ln.split() == ["solver", "exact", "sue-framework"] for ln in lines)


def test_version_from_the_cli_and_python_dash_m(capsys):
    import subprocess
    import sys
    from importlib.metadata import version

    import sue_framework

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.split() == ["sue", sue_framework.__version__]
    assert version("sue-framework") == sue_framework.__version__  # one source for both
    out = subprocess.run(
        [sys.executable, "-m", "sue_framework", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.split() == ["sue", sue_framework.__version__]


def test_an_unwritable_out_is_refused_before_the_fit(files, capsys):
    (files / "taken").write_text("a file, not a folder")
    for out, message in ((files, "is a directory"), (files / "taken" / "m.sue", "is a file")):
        args = fit_args(files)
        args[args.index("--out") + 1] = str(out)
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and "fitting" not in err  # refused before any work
    args = fit_args(files)
    args[args.index("--out") + 1] = str(files / "new" / "deeper" / "m.sue")
    assert main([*args, "--method", "pair_cca", "--device", "cpu"]) == 0  # new folders are fine


def test_object_arrays_and_tab_separated_pairs(files, capsys):
    np.save(files / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    assert main(fit_args(files, x="obj.npy")) == 2
    err = capsys.readouterr().err
    assert "dtype object" in err and "astype" in err and len(err.strip().splitlines()) == 1
    (files / "pairs.tsv").write_text("i\tj\n" + "\n".join(f"{i}\t{i}" for i in range(20)))
    args = [*fit_args(files, pairs="pairs.tsv"), "--method", "pair_cca", "--device", "cpu"]
    assert main(args) == 0


def test_sue_fit_options_default_to_what_sue_itself_defaults_to():
    """The parser is built without importing the pipeline (fast start), so its help restates
    SUE's defaults; this keeps the copy from drifting. Options left out are not passed, so the
    method's own defaults apply."""
    import argparse
    import inspect

    from sue_framework import SUE
    from sue_framework.cli import build_parser
    from sue_framework.cli.fit import METHOD_OPTIONS, _method_params

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub.choices["fit"]._actions}
    own = inspect.signature(SUE).parameters
    for name, (_, default) in METHOD_OPTIONS.items():
        assert default == own[name].default, name
        assert f"default {default} with --method sue" in helps[name], name
    args = build_parser().parse_args(["fit", "--x", "a", "--y", "b", "--pairs", "p", "--out",
                                      "m.sue", "--method", "sue"])  # fmt: skip
    assert set(_method_params(args)) == {"verbose"}


@needs("sue_baselines")
def test_every_option_has_help_and_shows_its_default():
    import argparse

    from sue_framework.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        text = " ".join(parser.format_help().split())  # undo line wrapping
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"sue {name} {action.dest} has no help"
            if action.default is not None and not isinstance(action.default, bool):
                assert f"(default: {action.default})" in text, f"sue {name} {action.dest}"
    fit_help = " ".join(sub.choices["fit"].format_help().split())
    for kind, name in (("method", "contrastive"), ("solver", "spectralnet"), ("matcher", "mmd")):
        assert f"--{kind} {kind.upper()}" in fit_help and name in fit_help


@pytest.mark.slow
@needs("sue_encoders")
def test_help_and_plugins_start_without_heavy_imports():
    """`sue --help` once crashed on the '%' of a command's help, and paid seconds for torch;
    `sue plugins` lists the encoders without importing their optional stacks."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom sue_framework.cli import main\n"
        "try:\n    code = main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules]\n"
        "print('EXIT', code, 'HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "evaluate" in out.stdout and "R@k in %)" in " ".join(out.stdout.split())
    assert "EXIT 0 HEAVY []" in out.stdout
    optional = ("transformers", "sentence_transformers", "open_clip", "spacy", "timm", "PIL")
    plugins = code.replace("['--help']", "['plugins']").replace(
        "('torch', 'sklearn', 'scipy')", repr(optional)
    )
    out = subprocess.run([sys.executable, "-c", plugins], capture_output=True, text=True)
    assert "sbert" in out.stdout and "EXIT 0 HEAVY []" in out.stdout, out.stdout[-300:]
    for command in (["plugins"], ["fit", "--help"], ["experiment", "--help"]):
        # the registry lists names from references: no component module is imported
        light = code.replace("['--help']", repr(command))
        out = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True)
        assert "EXIT 0 HEAVY []" in out.stdout, (command, out.stdout[-300:], out.stderr[-300:])


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda x: x * 1e30, "overflow float32"),
        (lambda x: np.ones_like(x), "all 250 rows are identical"),
    ],
)
def test_a_refused_fit_keeps_the_existing_model_byte_identical(files, capsys, bad, message):
    args = [*fit_args(files), "--method", "pair_cca", "--device", "cpu"]
    assert main(args) == 0
    good = (files / "m.sue").read_bytes()
    capsys.readouterr()
    np.save(files / "x.npy", bad(np.load(files / "x.npy")))
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert (files / "m.sue").read_bytes() == good
    assert sorted(p.name for p in files.iterdir() if p.name.startswith("m.")) == ["m.sue"]


def test_a_method_that_embeds_to_nan_is_never_saved(files, capsys):
    from sue_framework import registry
    from sue_framework.interfaces import Method

    class Broken(Method):
        def __init__(self, seed=0, device="cpu"):
            self.seed, self.device = seed, device

        def fit(self, data):
            return self

        def transform(self, X, modality="x"):
            return np.full((len(X), 2), np.nan, dtype=np.float32)

    registry.register("method", "broken_for_test", Broken)
    try:
        assert main([*fit_args(files), "--method", "broken_for_test"]) == 2
    finally:
        registry._entries["method"].pop("broken_for_test")
    assert "fitted broken_for_test on x produced NaN or inf" in capsys.readouterr().err
    assert not (files / "m.sue").exists()


def test_warnings_are_one_line_for_people(tmp_path, capsys):
    config = tmp_path / "g.toml"
    config.write_text(
        'name = "g"\ndataset = "synthetic"\ndataset_params = { n = 600, dim_x = 6, dim_y = 5 }\n'
        'n_test = 100\npairs = [20]\nseeds = [0]\ndevice = "cpu"\n'
        '[[methods]]\nlabel = "CCA"\nname = "pair_cca"\nparams = { out_dim = 3 }\n'
    )
    out = str(tmp_path / "out")
    assert main(["experiment", str(config), "--out-dir", out]) == 0
    csv = tmp_path / "out" / "results.csv"
    csv.write_text(csv.read_text()[:-9])  # a torn last line
    capsys.readouterr()
    assert main(["experiment", str(config), "--out-dir", out]) == 0
    err = capsys.readouterr().err
    warned = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warned) == 1 and "sue: warning: " in warned[0]
    assert "results.csv: 1 damaged row(s)" in warned[0] and "line 2: " in warned[0]


@needs("sue_tasks")
def test_evaluate_runs_any_task_from_its_declared_inputs(files, capsys):
    """Each task names its inputs; sue evaluate reads and embeds them: retrieval through the
    --x/--y shortcuts, modality_gap, arithmetic with a list of terms, and clear refusals."""
    assert main([*fit_args(files), "--method", "pair_cca", "--device", "cpu"]) == 0
    model = str(files / "m.sue")
    xt, yt = str(files / "xt.npy"), str(files / "yt.npy")
    capsys.readouterr()
    assert main(["evaluate", "--model", model, "--x", xt, "--y", yt]) == 0
    assert "x2y_R@10" in capsys.readouterr().out
    assert main(["evaluate", "--model", model, "--task", "modality_gap",
                 "--input", f"zx={xt}", "--input", f"zy={yt}"]) == 0  # fmt: skip
    assert "relative_gap" in capsys.readouterr().out
    np.save(files / "targets.npy", np.arange(50))
    args = ["evaluate", "--model", model, "--task", "arithmetic", "--input",
            f"terms={xt}@x,{xt}@x", "--input", f"gallery={xt}@x", "--input",
            f"targets={files / 'targets.npy'}"]  # fmt: skip
    assert main(args) == 0
    hits = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("hit@5")]
    assert hits and hits[0].split()[1] == "100.00"  # x + x is closest to x itself
    assert main([*args[:6], f"terms={xt}@x", "--input", f"gallery={xt}"]) == 2
    assert "input gallery needs the modality of its rows" in capsys.readouterr().err
    assert main(["evaluate", "--model", model, "--task", "cross_domain", "--x", xt, "--y", yt]) == 2
    err = capsys.readouterr().err
    assert "needs the input(s) ['labels_x', 'labels_y']" in err and "class of each x row" in err


def test_verbose_logs_each_stage_with_its_time_and_quiet_prints_results_only(files, capsys):
    sue = [*fit_args(files), "--device", "cpu", "--method", "sue", "--se-dim", "6",
           "--out-dim", "4", "--params", '{"matcher_params": {"epochs": 2}}']  # fmt: skip
    assert main(["-v", *sue]) == 0
    err = capsys.readouterr().err
    stages = (
        "kNN graph (PaperKNNGraph) on 250 rows",
        "7 eigenpairs (arpack)",
        "spectral stage (ExactSpectral)",
        "aligner (CCA) on 20 pairs",
        "matcher (MMD",
    )
    for stage in stages:
        assert re.search(re.escape(stage) + r".* in \d+\.\d\d s", err), err
    assert main(["-v", *fit_args(files), "--device", "cpu"]) == 0
    assert re.search(r"pair-CV \w+_rank -?\d+\.\d{4}", capsys.readouterr().err)  # auto's candidates
    assert main(["-q", *sue]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("saved ")
    assert main(sue) == 0  # by default: the status line, no stage log
    err = capsys.readouterr().err
    assert "fitting sue" in err and "spectral stage" not in err


def test_outputs_that_would_replace_an_input_or_a_device_are_refused(files, capsys):
    assert main([*fit_args(files), "--method", "pair_cca", "--params", '{"out_dim": 4}']) == 0
    model = str(files / "m.sue")
    before = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    x = str(files / "xt.npy")
    cases = [
        (["transform", "--model", model, "--modality", "x", "--input", x, "--out", x],
         "is the input"),
        (["transform", "--model", model, "--modality", "x", "--input", x, "--out", model],
         "is the input"),
        (["transform", "--model", model, "--modality", "x", "--input", x, "--out", "/dev/null"],
         "not a regular file"),
        (["transform", "--model", model, "--modality", "x", "--input", x, "--out",
          str(files / "z.parquet")], "writes .npy or .csv or .tsv or .txt, not .parquet"),
        ([*fit_args(files)[:-1], str(files / "x.npy")], "is the input"),
        ([*fit_args(files)[:-1], str(files / "pairs.csv")], "is the input"),
        ([*fit_args(files)[:-1], str(files / "new.csv")], "names another format"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(args) == 2, args
        assert message in capsys.readouterr().err, args
    assert {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()} == before


def test_transform_writes_text_when_asked_and_reads_fortran_order(files, capsys):
    assert main([*fit_args(files), "--method", "pair_cca", "--params", '{"out_dim": 4}']) == 0
    model = str(files / "m.sue")
    xt = np.load(files / "xt.npy")
    np.save(files / "xf.npy", np.asfortranarray(xt))
    assert main(["transform", "--model", model, "--modality", "x", "--input",
                 str(files / "xf.npy"), "--out", str(files / "zf.npy")]) == 0  # fmt: skip
    assert main(["transform", "--model", model, "--modality", "x", "--input",
                 str(files / "xt.npy"), "--out", str(files / "z.csv")]) == 0  # fmt: skip
    from sue_framework.io.model_files import load_method

    want = load_method(model).transform(xt, "x")
    np.testing.assert_allclose(np.load(files / "zf.npy"), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.loadtxt(files / "z.csv", delimiter=","), want, rtol=1e-6)


def test_scale_and_byte_order_cases_get_their_own_message(files, capsys):
    x = np.load(files / "x.npy")
    np.save(files / "xbig_endian.npy", x.astype(">f8"))
    assert main(fit_args(files, x="xbig_endian.npy") + ["--method", "pair_cca", "--params",
                '{"out_dim": 4}']) == 0  # fmt: skip
    model = str(files / "m.sue")
    np.save(files / "huge.npy", x[:20].astype(np.float64) * 1e20)
    np.save(files / "beyond.npy", x[:20].astype(np.float64) * 1e300)
    np.save(files / "tiny.npy", x.astype(np.float64) * 1e-30)
    (files / "none.csv").write_text("")
    cases = [
        (["transform", "--model", model, "--modality", "x", "--input", str(files / "huge.npy"),
          "--out", str(files / "z.npy")], "overflow float32"),
        (["transform", "--model", model, "--modality", "x", "--input", str(files / "beyond.npy"),
          "--out", str(files / "z.npy")], "beyond float32"),
        (fit_args(files, x="tiny.npy") + ["--method", "sue"], "underflow float32"),
        (fit_args(files, pairs="none.csv"), "holds no pairs"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and "NaN" not in err, (args, err)
    assert not (files / "z.npy").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--out-dim", "4"], "--out-dim does not apply to --method auto, which takes"),
        (["--out-dim", "4", "--solver", "pca"], "--out-dim and --solver do not apply"),
        (["--method", "SUE"], "no method named 'SUE'; did you mean 'sue'?"),
        (["--method", "pair-cca"], "did you mean 'pair_cca'?"),
    ],
)
def test_an_option_the_method_does_not_take_is_refused_never_ignored(files, capsys, extra,
                                                                      message):  # fmt: skip
    assert main([*fit_args(files), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (files / "m.sue").exists()


def test_an_option_a_variant_takes_applies(files):
    from sue_framework.io.model_files import load_method

    assert (
        main([*fit_args(files), "--method", "pair_cca", "--out-dim", "3", "--device", "cpu"]) == 0
    )
    assert load_method(files / "m.sue").transform(np.load(files / "xt.npy"), "x").shape == (50, 3)


def test_swapped_sides_and_unequal_test_sets_get_words_about_the_files(files, capsys):
    rng = np.random.default_rng(0)
    np.save(files / "x.npy", rng.normal(size=(250, 40)).astype(np.float32))
    np.save(files / "xt.npy", rng.normal(size=(200, 40)).astype(np.float32))
    np.save(files / "yt150.npy", np.load(files / "yt.npy").repeat(3, axis=0)[:150])
    assert main([*fit_args(files), "--method", "pair_cca", "--device", "cpu"]) == 0
    capsys.readouterr()
    model = str(files / "m.sue")
    y_width = np.load(files / "y.npy").shape[1]
    code = main(["transform", "--model", model, "--modality", "x", "--input",
                 str(files / "yt.npy"), "--out", str(files / "z.npy")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"x rows: {y_width} features, but the sue model was fitted on rows of 40" in err
    assert "did you swap x and y?" in err
    code = main(["evaluate", "--model", model, "--x", str(files / "xt.npy"), "--y",
                 str(files / "yt150.npy")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"zx ({files / 'xt.npy'}, shape (200, 40)) and zy ({files / 'yt150.npy'}" in err


def test_a_choosing_method_names_itself_when_rows_have_the_wrong_width():
    from sue_framework.methods.auto import Auto
    from tests.conftest import latent_views

    x, y = latent_views(n=200)
    y = y[:, :-3]
    model = Auto(dims=(4,), families=("pair_cca",), device="cpu").fit(
        (x, y, np.stack([np.arange(30), np.arange(30)], 1))
    )
    with pytest.raises(InputError, match="this Auto was fitted on rows of .*did you swap x and y"):
        model.transform(y[:5], "x")


def test_help_names_every_format_the_row_reader_takes():
    import argparse

    from sue_framework.cli import build_parser
    from sue_framework.io.array_files import SUPPORTED

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, option in [("fit", "x"), ("fit", "y"), ("transform", "input"),
                            ("evaluate", "x"), ("report", "y"), ("suggest", "x")]:  # fmt: skip
        helps = {a.dest: a.help for a in sub.choices[command]._actions}
        assert SUPPORTED in helps[option], (command, option)
    assert ".parquet" in SUPPORTED


def test_ctrl_c_gives_exit_130_as_a_program_and_stops_a_caller(monkeypatch, capsys):
    from sue_framework.cli import plugins

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(plugins, "cmd_plugins", interrupted)
    with pytest.raises(KeyboardInterrupt):  # a test run (or notebook) that called main stops
        main(["plugins"])
    monkeypatch.setattr("sys.argv", ["sue", "plugins"])
    assert main() == 130  # the `sue` program: a notice and the shell's code for SIGINT
    assert capsys.readouterr().err.count("sue: interrupted") == 2
