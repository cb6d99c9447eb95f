"""The `sue` command. Words for people live here; the work is done by the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework import __version__
from sue_framework.array_files import MATRIX_OUTPUTS, SUPPORTED
from sue_framework.errors import InputError, SUEError

EXIT_USAGE = 2
PACKAGES = ("sue_framework", "sue_baselines", "sue_tasks", "sue_encoders", "sue_datasets")
log = logging.getLogger("sue_framework.cli")  # status lines: shown unless -q


def _load_matrix(path: str, name: str) -> np.ndarray:
    from sue_framework.array_files import read_matrix

    return read_matrix(path, name)


def _load_pairs(path: str) -> np.ndarray:
    from sue_framework.array_files import read_pairs

    return read_pairs(path)


def cmd_card(args: argparse.Namespace) -> int:
    """`sue card`: print a model card, or export / push the model with it.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.hub import export_folder, model_card, push_to_hub

    if args.export or args.push:  # the file as it was written, never loaded and saved again
        if args.export:
            log.info("wrote %s", export_folder(args.model, args.export, force=args.force))
        if args.push:
            log.info("pushed to %s: %s", args.push, push_to_hub(args.model, args.push))
        return 0
    print(model_card(args.model))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """`sue plugins`: every registered component with the package that provides it.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.registry import registry

    entries = registry.entries()
    w = max(len(e.name) for e in entries)
    print(f"{'kind':<8}  {'name':<{w}}  provider")
    for e in entries:
        print(f"{e.kind:<8}  {e.name:<{w}}  {e.provider}")
    return 0


def _check_output(path: str, *inputs: str | None, **policy: Any) -> None:
    """Refuse, before any work starts, an output that would replace an input or a non-file,
    that names another format, or that could not be written (array_files.check_output)."""
    from sue_framework.array_files import check_output

    check_output(path, inputs=inputs, **policy)


def _check_model_output(path: str, *inputs: str | None) -> None:
    from sue_framework.array_files import DATA_SUFFIXES

    _check_output(path, *inputs, refused_suffixes=DATA_SUFFIXES)


def cmd_fit(args: argparse.Namespace) -> int:
    """`sue fit`: fit a method on files and save the model (never a model that gives NaN).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework import distributed
    from sue_framework.data import WeaklyPairedData
    from sue_framework.model_files import save_method
    from sue_framework.pair_files import merge_pair_files
    from sue_framework.registry import registry
    from sue_framework.threads import available_cores
    from sue_framework.validation import check_fitted_outputs

    _check_model_output(args.out, args.x, args.y, *args.pairs)
    if args.nproc < 1:
        raise InputError(f"--nproc {args.nproc}: give 1 or more processes")
    params = _method_params(args)  # options the method does not take fail before any work
    cores = available_cores()
    if args.nproc > cores and not args.oversubscribe:
        warnings.warn(
            f"--nproc {args.nproc} is more than the {cores} CPU core(s) this process may use; "
            f"running {cores} (each process holds a copy of the data; pass --oversubscribe to "
            "run them all)",
            stacklevel=1,
        )
        args.nproc = cores
    under_torchrun = distributed.init_group()
    if args.nproc > 1 and not under_torchrun:
        return distributed.launch(args.nproc, args.argv)
    x: Any
    y: Any
    if args.rows_on_disk:
        from sue_framework.npy_rows import NpyRows

        x, y = NpyRows(args.x), NpyRows(args.y)
    else:
        x, y = _load_matrix(args.x, "x"), _load_matrix(args.y, "y")
    merged = merge_pair_files(args.pairs, x.shape[0], y.shape[0], allow_many=args.allow_many)
    if merged.duplicates:
        log.info("pairs: %d repeated line(s) dropped, %d pairs kept", merged.duplicates,
                 len(merged.pairs))  # fmt: skip
    if len(merged.pairs) == 0:
        raise InputError(
            f"--pairs {' '.join(args.pairs)} holds no pairs; every method needs some to align "
            "the two sides (CCA to d dimensions needs more than d). Add lines i,j, or let sue "
            "suggest which rows to pair: sue suggest --x ... --n 20 --out ask.csv"
        )
    data = WeaklyPairedData(x, y, merged.pairs, allow_many=args.allow_many)
    from sue_framework.settings import with_policy

    params = with_policy(params, "--params", "--seed and --device", seed=args.seed,
                         device=args.device)  # fmt: skip
    model = registry.get("method", args.method)(**params)
    log.info("fitting %s on %s", args.method, data)
    model.fit(data)
    if args.rows_on_disk:  # a file rewritten during the fit gives a model of neither version
        x.check_unchanged()
        y.check_unchanged()
    if hasattr(model, "choice_"):
        log.info("%s chose %s", args.method, model.choice_)
    check_fitted_outputs(model, data, args.method)  # never save a model that gives NaN
    if distributed.rank() != 0:  # every process holds the same model; rank 0 saves it
        return 0
    if not distributed.launcher_alive():  # the `sue` that launched us is gone: write nothing
        return 1
    out = save_method(model, args.out)
    print(f"saved {out}")
    return 0


# `sue fit`'s options that set a parameter of the method, with SUE's defaults (for the help:
# the parser is built without importing the pipeline; a test keeps the copy from drifting)
METHOD_OPTIONS = {
    "se_dim": ("--se-dim", 10),
    "out_dim": ("--out-dim", 8),
    "solver": ("--solver", "exact"),
    "aligner": ("--aligner", "cca"),
    "matcher": ("--matcher", "mmd"),
}


def _method_params(args: argparse.Namespace) -> dict[str, Any]:
    """The method's parameters from `sue fit`'s options and --params. An option the chosen
    method does not take is refused, naming what it does take: never ignored in silence."""
    import inspect

    from sue_framework.registry import registry

    factory = registry.get("method", args.method)
    try:
        takes = set(factory().get_params(deep=False))
    except TypeError:  # a factory with required arguments: its signature says what it takes
        takes = set(inspect.signature(factory).parameters)
    given = {
        name: getattr(args, name) for name in METHOD_OPTIONS if getattr(args, name) is not None
    }
    refused = [METHOD_OPTIONS[name][0] for name in given if name not in takes]
    if refused:
        hint = (
            "; auto chooses its width by pair cross-validation: set the widths it tries with "
            '--params \'{"dims": [4, 8], "unpaired_dims": [32]}\''
            if "out_dim" in given and {"dims", "unpaired_dims"} <= takes
            else ""
        )
        verb = "does" if len(refused) == 1 else "do"
        raise InputError(
            f"{' and '.join(refused)} {verb} not apply to --method {args.method}, which takes "
            f"no such parameter (it takes {', '.join(sorted(takes))}; give them with --params "
            f"JSON){hint}"
        )
    params: dict[str, Any] = dict(given)  # the rest keep the method's own defaults
    if "verbose" in takes:
        params["verbose"] = not args.quiet
    return {**params, **_json_params(args.params)}


def cmd_transform(args: argparse.Namespace) -> int:
    """`sue transform`: embed rows of one modality with a saved model.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.array_files import write_matrix
    from sue_framework.model_files import load_method, read_linear_map

    _check_output(args.out, args.input, args.model, suffixes=MATRIX_OUTPUTS)
    # a linear model maps with numpy alone, without building the method (or importing torch)
    model = read_linear_map(args.model) or load_method(args.model)
    if Path(args.input).suffix.lower() == ".npy" and Path(args.out).suffix.lower() == ".npy":
        from sue_framework.npy_transform import transform_file  # inputs larger than memory

        shape = transform_file(model, args.input, args.modality, args.out, args.block_rows)
    else:
        z = model.transform(_load_matrix(args.input, "input"), args.modality)
        write_matrix(z, args.out)
        shape = z.shape
    print(f"wrote {args.out} {tuple(shape)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """`sue export`: a model's maps as plain arrays or ONNX graphs, with a README.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.export import export_model

    written = export_model(args.model, args.out, args.format, force=args.force)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """`sue index`: embed one side's collection with a model and index it for search.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.collection_index import append_to_index, build_index, save_index

    items = None
    if args.items:
        items = _item_lines(args.items, "--items")
    elif args.item_dir:
        from sue_framework.item_files import read_items

        items = read_items(args.item_dir)[0]  # the order `sue encode --input DIR` embeds
    if args.append:
        index = append_to_index(args.out, args.model, args.input, items, args.block_rows)
        print(f"appended to {args.out}: {index.n_rows} rows")
        return 0
    _check_output(args.out, args.input, args.model, args.items, suffixes=(".sueidx",))
    index = build_index(
        args.model,
        args.modality,
        args.input,
        items,
        recall_target=args.recall,
        exact_limit=args.exact_limit,
        block_rows=args.block_rows,
    )
    save_index(index, args.out)
    how = ", ".join(f"{k} {v}" for k, v in index.about.items())
    print(f"wrote {args.out}: {index.n_rows} rows of {args.modality}, {index.dim} dims ({how})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """`sue search`: the nearest items of an index to a query, through the model.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.search import search

    hits = search(
        args.index,
        args.model,
        args.modality,
        rows=args.rows,
        item=args.item,
        text=args.text,
        image=args.image,
        encoder=args.encoder,
        k=args.k,
    )
    if args.json:
        print(json.dumps(hits, ensure_ascii=False))
        return 0
    for q, found in enumerate(hits):
        if len(hits) > 1:
            print(f"query {q}")
        print(f"{'rank':>4}  {'score':>6}  {'row':>7}  item")
        for rank, hit in enumerate(found, 1):
            item = hit["item"] if hit["item"] is not None else ""
            print(f"{rank:>4}  {hit['score']:>6.3f}  {hit['row']:>7}  {item}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """`sue serve`: a local search page and JSON endpoint over an index and its model.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(
            f"sue serve needs {' and '.join(missing)}: pip install 'sue-framework[serve]'"
        )
    from sue_framework.serve import Searcher, run_server

    searcher = Searcher(args.index, args.model, args.encoder, _json_params(args.encoder_params))
    log.info("serving %s on http://%s:%d/ (Ctrl-C stops)", args.index, args.host, args.port)
    run_server(searcher, args.host, args.port)
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """`sue suggest`: which rows to pair next, as a file for a person to fill in.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    import csv

    from sue_framework.array_files import atomic_path
    from sue_framework.suggest import suggest_pairs

    _check_output(args.out, args.x, args.y, args.pairs, args.model, args.items, suffixes=(".csv",))
    x = _load_matrix(args.x, "x")
    y = _load_matrix(args.y, "y") if args.y else None
    pairs = _load_pairs(args.pairs) if args.pairs else None
    model = None
    if args.model:
        from sue_framework.model_files import load_method

        model = load_method(args.model)
    items = None
    if args.items:
        items = _item_lines(args.items, "--items")
        n_rows = (x if args.side == "x" else y).shape[0]  # type: ignore[union-attr]
        if len(items) != n_rows:
            raise SUEError(
                f"--items {args.items} has {len(items)} lines but {args.side} has {n_rows} "
                "rows; give one item per row, in row order"
            )
    rows = suggest_pairs(
        x,
        args.n,
        y=y,
        pairs=pairs,
        model=model,
        strategy=args.strategy,
        side=args.side,
        seed=args.seed,
    )
    with atomic_path(args.out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "y"] + ([f"{args.side}_item"] if items else []))
        for r in rows.tolist():
            pair = [r, ""] if args.side == "x" else ["", r]
            w.writerow(pair + ([items[r]] if items else []))
        if args.keep_pairs and pairs is not None:  # the labelling history, after the new rows
            for i, j in pairs.tolist():
                w.writerow([i, j] + ([items[i if args.side == "x" else j]] if items else []))
    other = "y" if args.side == "x" else "x"
    kept = (
        f", then the {len(pairs)} pairs of {args.pairs}"
        if args.keep_pairs and pairs is not None
        else ""
    )
    then = (
        f"sue fit --pairs {args.out}"
        if kept or not args.pairs
        else f"sue fit --pairs {args.pairs} --pairs {args.out}"
    )
    print(
        f"wrote {args.out}: {len(rows)} rows of {args.side} to pair, best first{kept}; fill in "
        f"column {other} with each partner's row, then {then}"
    )
    return 0


def _item_lines(path: str, flag: str) -> list[str]:
    """One item per line of a UTF-8 text file (names, texts, or paths of image files)."""
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{flag} {path} is not UTF-8 text (one item per line)") from exc


def cmd_report(args: argparse.Namespace) -> int:
    """`sue report`: one HTML page showing what a model does with test pairs.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.hub import card_html
    from sue_framework.model_files import load_method, read_manifest
    from sue_framework.retrieval_report import write_retrieval_report

    _check_output(
        args.out, args.model, args.x, args.y, args.x_items, args.y_items, suffixes=(".html",)
    )
    model = load_method(args.model)
    x, y = _load_matrix(args.x, "x"), _load_matrix(args.y, "y")
    items = {
        side: _item_lines(path, f"--{side}-items") if path else None
        for side, path in (("x", args.x_items), ("y", args.y_items))
    }
    out = write_retrieval_report(
        args.out,
        model,
        x,
        y,
        x_items=items["x"],
        y_items=items["y"],
        k=args.k,
        n_examples=args.examples,
        n_worst=args.examples,
        max_rows=args.max_rows,
        seed=args.seed,
        card_html=card_html(read_manifest(args.model)),  # load_method verified the arrays
        title=f"Retrieval report: {Path(args.model).name}",
    )
    print(f"wrote {out}; open it in a browser")
    return 0


def _unit(metric: str) -> str:
    """The unit a task's figure is printed in."""
    if "@" in metric:
        return "%"
    if metric.endswith("median_rank"):
        return "(rank, 1 = first)"
    if metric.endswith("mAP"):
        return "(0-1)"
    return ""


def _given_inputs(args: argparse.Namespace) -> dict[str, list[tuple[str, str | None]]]:
    """--input NAME=PATH[@x|@y][,PATH...] plus the shortcuts --x, --y, --labels-x, --labels-y."""
    given: dict[str, list[tuple[str, str | None]]] = {}
    shortcuts = {"zx": args.x, "zy": args.y, "labels_x": args.labels_x, "labels_y": args.labels_y}
    for name, path in shortcuts.items():
        if path:
            given[name] = [(path, None)]
    for item in args.input or []:
        name, sep, files = item.partition("=")
        if not sep or not name or not files:
            raise InputError(f"--input {item!r}: write NAME=PATH, e.g. zx=test_x.npy")
        given[name] = [_path_and_side(f) for f in files.split(",")]
    return given


def _path_and_side(text: str) -> tuple[str, str | None]:
    path, at, side = text.rpartition("@")
    return (path, side) if at and side in ("x", "y") else (text, None)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`sue evaluate`: run a task on a saved model and the inputs the task declares.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.evaluation import task_inputs
    from sue_framework.model_files import load_method
    from sue_framework.registry import registry

    model = load_method(args.model)
    task = registry.get("task", args.task)()
    figures = task.evaluate(**task_inputs(task, model, _given_inputs(args)))
    for k, v in figures.items():
        shown = f"{v:10.2f} {_unit(k)}" if isinstance(v, float) else json.dumps(v)
        print(f"{k:<20} {shown}".rstrip())
    return 0


def _run_grid(config, out_dir: str, resume: bool, quiet: bool = False) -> int:
    from tqdm.auto import tqdm

    from sue_framework.experiment import run_experiment, summarise, text_table, write_report

    total = len(config.pairs) * len(config.unpaired) * len(config.seeds) * len(config.methods)
    bar = tqdm(total=total, desc=config.name, unit="fit", disable=quiet)
    rows = run_experiment(
        config, out_dir, resume=resume, on_cell=lambda row, skipped: bar.update(1)
    )
    bar.close()
    print(f"{config.name}: mean over {len(config.seeds)} seed(s); R@k in %")
    print(text_table(summarise(rows)))
    written = write_report(config, rows, out_dir)
    print(
        "wrote "
        + ", ".join(str(p) for p in written.values())
        + f", {Path(out_dir) / 'results.csv'}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """`sue demo`: the offline digits table and plot.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.demo import BASELINES_PACKAGE, demo_config, missing_methods

    budgets = tuple(int(v) for v in args.pairs.split(","))
    if missing_methods():
        log.info(
            "sue: note: the baselines %s are not installed; they come with %s. "
            "Running without them.",
            ", ".join(missing_methods()),
            BASELINES_PACKAGE,
        )
    config = demo_config(pairs=budgets, seeds=tuple(range(args.seeds)), device=args.device)
    log.info(
        "digits: left half (x) <-> right half (y); paper protocol, 400 test pairs; "
        "chance R@10 = 2.5 %"
    )
    return _run_grid(config, args.out_dir, resume=False, quiet=args.quiet)


def cmd_experiment(args: argparse.Namespace) -> int:
    """`sue experiment`: run (or resume) a grid from a TOML config.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from dataclasses import replace

    from sue_framework.experiment import load_config, smoke

    config = load_config(args.config)
    if args.smoke:
        config = smoke(config)
    if args.device:
        config = replace(config, device=args.device)
    out_dir = args.out_dir or str(Path("experiments") / config.name)
    return _run_grid(config, out_dir, resume=not args.restart, quiet=args.quiet)


def _json_params(text: str | None) -> dict:
    """--params as a JSON object, with a message that says what is wrong with it."""
    if not text:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--params is not valid JSON ({exc.msg}): {text!r}") from exc
    if not isinstance(params, dict):
        raise InputError(f'--params must be a JSON object such as {{"pooling": "cls"}}: {text!r}')
    return params


def cmd_encode(args: argparse.Namespace) -> int:
    """`sue encode`: embed raw items with a registered encoder, resumably.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.array_files import manifest_path, write_embeddings
    from sue_framework.item_files import read_items
    from sue_framework.model_files import library_version
    from sue_framework.registry import registry

    _check_output(args.out, args.input, suffixes=(".npy",))
    _check_output(str(manifest_path(args.out)), args.input)
    items, ids = read_items(args.input, column=args.column, id_column=args.id_column)
    params = {"device": args.device, "progress": not args.quiet, **_json_params(args.params)}
    if args.model:
        params["model"] = args.model
    if args.cache:
        params["cache_dir"] = args.cache
    encoder = registry.get("encoder", args.encoder)(**params)
    z = encoder.encode(items)
    about = {
        "encoder": args.encoder,
        "encoder_id": getattr(encoder, "encoder_id", args.encoder),
        "sue_framework": library_version(),
        "input": str(args.input),
        "ids": ids,
    }
    man = write_embeddings(z, args.out, about)
    print(f"wrote {args.out} {tuple(np.shape(z))} and {man}")
    return 0


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Options' help ends with their default, where there is one worth saying, and with the
    registered names an option accepts (read from the registry only when help is printed)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        kind = getattr(action, "registry_kind", None)
        if kind:
            from sue_framework.registry import registry

            text += f"; registered: {', '.join(registry.names(kind))}"
        if (
            action.required
            or action.default in (None, argparse.SUPPRESS)
            or isinstance(action.default, bool)
        ):
            return text
        return text + " (default: %(default)s)"


def _names_of(action: argparse.Action, kind: str) -> None:
    """Mark an option as taking a registered name of `kind` (listed in its help)."""
    action.registry_kind = kind  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    """The `sue` argument parser: every command, option, default and registered name."""
    p = argparse.ArgumentParser(
        prog="sue", description="Shared embeddings from mostly unpaired data (SUE)."
    )
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log each stage with its timing (-vv: also engine and search details)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print results and errors only: no status "
        "lines, warnings or progress bars"
    )  # fmt: skip
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=text.replace("%", "%%"),  # help strings are %-formatted, descriptions are not
            description=text,
            formatter_class=_HelpWithDefaults,
        )

    device_help = "auto (CUDA when present, else CPU), cpu, cuda or cuda:N"
    formats = SUPPORTED  # every format `read_matrix` reads

    d = command("demo", "offline demo on scikit-learn digits")
    d.add_argument("--pairs", default="10,25,50,100,200", help="comma-separated pair budgets")
    d.add_argument("--seeds", type=int, default=2, help="number of seeds per budget")
    d.add_argument("--out-dir", default="sue_demo_out", help="folder for the table and plot")
    d.add_argument("--device", default="auto", help=device_help)
    d.set_defaults(func=cmd_demo)

    f = command("fit", "fit a method and save the model file")
    f.add_argument("--x", required=True, help=f"x rows: {formats}")
    f.add_argument("--y", required=True, help=f"y rows: {formats}")
    f.add_argument(
        "--pairs",
        required=True,
        action="append",
        help="pairs i,j (.csv, .tsv, .txt or .npy): x[i] <-> y[j]; repeat to merge several files "
        "(repeated pairs are dropped with a count; a row given two partners is refused)",
    )
    f.add_argument(
        "--allow-many",
        action="store_true",
        help="accept pairs that give a row several partners (a word with several translations)",
    )
    f.add_argument("--out", required=True, help="model file to write")
    _names_of(
        f.add_argument(
            "--method",
            default="auto",
            help="auto chooses by pair cross-validation; sue is the paper's method",
        ),
        "method",
    )
    for flag, kind, what in (
        ("--solver", "solver", "spectral solver"),
        ("--aligner", "aligner", "aligner"),
        ("--matcher", "matcher", "distribution matcher"),
    ):
        default = METHOD_OPTIONS[kind][1]
        _names_of(
            f.add_argument(
                flag,
                help=f"{what} (default {default} with --method sue; refused by "
                "methods that take none)",
            ),  # fmt: skip
            kind,
        )
    f.add_argument(
        "--se-dim", type=int, help=f"spectral dims (default {METHOD_OPTIONS['se_dim'][1]} with "
        "--method sue)"
    )  # fmt: skip
    f.add_argument(
        "--out-dim", type=int, help=f"shared dims (default {METHOD_OPTIONS['out_dim'][1]} with "
        "--method sue; refused by auto, which chooses its width by cross-validation)"
    )  # fmt: skip
    f.add_argument("--params", help="extra method parameters as JSON")
    f.add_argument("--seed", type=int, default=0, help="random seed (the same seed repeats)")
    f.add_argument("--device", default="auto", help=device_help)
    f.add_argument(
        "--rows-on-disk",
        action="store_true",
        help="read the .npy rows a block at a time instead of loading them (files larger than "
        "memory; --method sue --solver spectralnet)",
    )
    f.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="processes for data-parallel training under torchrun (gloo on CPU, NCCL on GPU)",
    )
    f.add_argument(
        "--oversubscribe",
        action="store_true",
        help="run --nproc processes even when they exceed the CPU cores (else capped at them)",
    )
    f.set_defaults(func=cmd_fit)

    t = command("transform", "embed rows of one modality with a saved model")
    t.add_argument("--model", required=True, help="model file from sue fit")
    t.add_argument("--modality", required=True, choices=["x", "y"], help="which side the rows are")
    t.add_argument("--input", required=True, help=f"rows: {formats}")
    t.add_argument("--out", required=True, help=f"embeddings to write: {', '.join(MATRIX_OUTPUTS)}")
    t.add_argument(
        "--block-rows",
        type=int,
        default=65536,
        help=".npy in and out: rows embedded per block (the input is memory-mapped, so it may "
        "be larger than memory)",
    )
    t.set_defaults(func=cmd_transform)

    e = command(
        "evaluate",
        "run a task on test rows embedded by a model (default: cross-modal retrieval, R@k in %)",
    )
    e.add_argument("--model", required=True, help="model file from sue fit")
    e.add_argument("--x", help=f"x test rows (the input zx); row i pairs with y row i: {formats}")
    e.add_argument("--y", help=f"y test rows (the input zy): {formats}")
    e.add_argument(
        "--input",
        action="append",
        metavar="NAME=PATH[@x|@y]",
        help="any input the task declares, e.g. gallery=g.npy@y or terms=a.npy@x,b.npy@y "
        "(rows are embedded by the model on the side after @); repeat for several",
    )
    _names_of(e.add_argument("--task", default="retrieval", help="downstream task"), "task")
    e.add_argument("--labels-x", help="class labels of the x rows (.npy or one per line)")
    e.add_argument("--labels-y", help="class labels of the y rows (.npy or one per line)")
    e.set_defaults(func=cmd_evaluate)

    x = command("experiment", "run a TOML experiment grid (resumable)")
    shipped = sorted(p.stem for p in (Path(__file__).parent / "configs").glob("*.toml"))
    x.add_argument(
        "config",
        help="a TOML config file, or the name of a shipped one: " + ", ".join(shipped),
    )
    x.add_argument("--out-dir", help="results folder (default experiments/NAME)")
    x.add_argument(
        "--smoke",
        action="store_true",
        help="a minute-long check of a config: one seed, its first budgets, small data",
    )
    x.add_argument("--restart", action="store_true", help="ignore finished cells and start over")
    x.add_argument("--device", help="override the config's device")
    x.set_defaults(func=cmd_experiment)

    en = command("encode", "embed raw items with a registered encoder")
    _names_of(en.add_argument("--encoder", required=True, help="encoder, e.g. sbert"), "encoder")
    en.add_argument(
        "--input", required=True, help="text file (one item per line), .csv/.jsonl, or image folder"
    )
    en.add_argument(
        "--out", required=True, help="embeddings .npy (a .manifest.json is written beside it)"
    )
    en.add_argument("--model", help="model name or local folder")
    en.add_argument("--column", help="column of items in a .csv/.jsonl input")
    en.add_argument("--id-column", help="column of item ids in a .csv/.jsonl input")
    en.add_argument("--cache", help="cache folder: resumes interrupted runs, repeats are free")
    en.add_argument(
        "--params",
        help='encoder options as JSON, e.g. \'{"modality": "text", "pretrained": "openai"}\'',
    )
    en.add_argument("--device", default="auto", help=device_help)
    en.set_defaults(func=cmd_encode)

    sg = command("suggest", "choose which rows to pair next and write them for a person to fill in")
    sg.add_argument("--x", required=True, help=f"x rows: {formats}")
    sg.add_argument("--y", help="y rows (needed with --side y and with --model)")
    sg.add_argument("--pairs", help="pairs already made (i,j per line): never suggested again")
    sg.add_argument(
        "--keep-pairs",
        action="store_true",
        help="also copy the --pairs rows into --out, below the new ones, so that one file holds "
        "the whole labelling history",
    )
    sg.add_argument("--model", help="a model file from sue fit, for model-aware strategies")
    sg.add_argument("--n", type=int, required=True, help="how many rows to suggest")
    sg.add_argument("--out", required=True, help="CSV to write: columns x, y (one left blank)")
    sg.add_argument("--items", help="one item per row of --side (names or paths), copied beside")
    sg.add_argument("--side", choices=["x", "y"], default="x", help="which modality to suggest")
    _names_of(
        sg.add_argument(
            "--strategy", default="auto", help="auto is diversity; uncertainty needs --model"
        ),
        "selector",
    )
    sg.add_argument("--seed", type=int, default=0, help="seeds the clustering")
    sg.set_defaults(func=cmd_suggest)

    r = command(
        "report",
        "write one HTML page that shows a model at work on test pairs: R@k, retrieval "
        "examples, the worst-retrieved queries, a 2-D map of the shared space, the model card",
    )
    r.add_argument("--model", required=True, help="model file from sue fit")
    r.add_argument("--x", required=True, help=f"x test rows; row i pairs with y row i: {formats}")
    r.add_argument("--y", required=True, help=f"y test rows: {formats}")
    r.add_argument("--x-items", help="one item per x row (text, or an image file's path)")
    r.add_argument("--y-items", help="one item per y row (text, or an image file's path)")
    r.add_argument("--out", required=True, help="the .html page to write")
    r.add_argument("--k", type=int, default=10, help="retrieved items shown per query")
    r.add_argument("--examples", type=int, default=6, help="queries shown per list")
    r.add_argument("--max-rows", type=int, default=5000, help="test pairs used at most")
    r.add_argument("--seed", type=int, default=0, help="seeds the sample and the examples")
    r.set_defaults(func=cmd_report)

    ex = command(
        "export",
        "write a model's maps where other tools read them: plain arrays (npz, linear maps) or "
        "ONNX graphs, one per side, with a README that states what they compute",
    )
    ex.add_argument("--model", required=True, help="model file from sue fit")
    ex.add_argument("--format", required=True, choices=["npz", "onnx"], help="what to write")
    ex.add_argument("--out", required=True, help="folder to write into")
    ex.add_argument(
        "--force", action="store_true", help="write into a folder that already holds files"
    )
    ex.set_defaults(func=cmd_export)

    ix = command(
        "index",
        "embed one side's collection with a model and index it for search (exact up to "
        "--exact-limit rows, faiss IVF tuned to --recall above)",
    )
    ix.add_argument("--model", required=True, help="model file from sue fit")
    ix.add_argument("--modality", required=True, choices=["x", "y"], help="which side the rows are")
    ix.add_argument("--input", required=True, help=f"the collection's rows: {formats}")
    items = ix.add_mutually_exclusive_group()
    items.add_argument("--items", help="one item per row (a name, a text or an image path)")
    items.add_argument(
        "--item-dir", help="the image folder the rows were encoded from (sue encode --input DIR)"
    )
    ix.add_argument("--out", required=True, help="the .sueidx file to write (or append to)")
    ix.add_argument("--append", action="store_true", help="add the rows to the index --out")
    ix.add_argument("--recall", type=float, default=0.95,
                    help="recall@10 against exact search an IVF index must reach")  # fmt: skip
    ix.add_argument("--exact-limit", type=int, default=100_000,
                    help="collections up to this many rows get an exact index")  # fmt: skip
    ix.add_argument("--block-rows", type=int, default=65536, help="rows embedded per block")
    ix.set_defaults(func=cmd_index)

    se = command("search", "the nearest items of an index to a query, through the model")
    se.add_argument("--index", required=True, help="a .sueidx file from sue index")
    se.add_argument("--model", required=True, help="the model file the index was made with")
    se.add_argument("--modality", choices=["x", "y"],
                    help="the query's side (for --rows, --text, --image)")  # fmt: skip
    query = se.add_mutually_exclusive_group(required=True)
    query.add_argument("--rows", help=f"query rows of --modality: {formats}")
    query.add_argument("--item", help="an item of the index: its nearest neighbours there")
    query.add_argument("--text", help="a text, embedded by --encoder, then mapped")
    query.add_argument("--image", help="an image file, embedded by --encoder, then mapped")
    _names_of(se.add_argument("--encoder", help="the encoder of the query's side, for --text "
                              "and --image"), "encoder")  # fmt: skip
    se.add_argument("--k", type=int, default=10, help="results per query")
    se.add_argument("--json", action="store_true", help="print the results as JSON")
    se.set_defaults(func=cmd_search)

    sv = command("serve", "a local search page and JSON endpoint over an index and its model")
    sv.add_argument("--index", required=True, help="a .sueidx file from sue index")
    sv.add_argument("--model", required=True, help="the model file the index was made with")
    _names_of(sv.add_argument("--encoder", help="the query side's encoder, for free text"),
              "encoder")  # fmt: skip
    sv.add_argument("--encoder-params", help="the encoder's parameters as JSON")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (this machine only)")
    sv.add_argument("--port", type=int, default=8765, help="port to listen on")
    sv.set_defaults(func=cmd_serve)

    pl = command("plugins", "list registered components and their providers")
    pl.set_defaults(func=cmd_plugins)

    c = command("card", "print a model file's model card (markdown), or share the model")
    c.add_argument("--model", required=True, help="model file from sue fit")
    c.add_argument("--export", help="write a folder with model.sue and its README.md card")
    c.add_argument("--push", help="upload to this Hugging Face Hub repository id (needs a token)")
    c.add_argument(
        "--force", action="store_true", help="--export into a folder that already holds files"
    )
    c.set_defaults(func=cmd_card)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line for people; --debug keeps Python's form with the source line."""
    print(f"sue: warning: {message}", file=file or sys.stderr)


def _logging(verbose: int, quiet: bool) -> logging.Handler:
    """Status lines (the CLI's own logger) at INFO; the library's stage logs with -v, its
    details with -vv; errors only with -q. Returns the handler, removed when the command ends."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    library = logging.ERROR if quiet else (logging.WARNING, logging.INFO)[min(verbose, 1)]
    if verbose >= 2 and not quiet:
        library = logging.DEBUG
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(library)
        logger.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else min(library, logging.INFO))
    return handler


def main(argv: list[str] | None = None) -> int:
    """Run the `sue` command; returns the exit code (0 ok, 2 bad input, 1 unexpected, 130
    interrupted). Called with `argv` from another program (a test, a notebook), Ctrl-C stops
    that program too: the KeyboardInterrupt is raised again after the one-line notice.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after `sue` (default: the process's own, as the `sue` program).
    """
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for a relaunch under torchrun
    args.embedded = argv is not None
    handler = _logging(args.verbose, args.quiet)
    try:
        with warnings.catch_warnings():  # the caller's warning settings come back afterwards
            if args.quiet:
                warnings.simplefilter("ignore")
            elif not args.debug:
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning
            return _run(args)
    finally:
        for name in PACKAGES:
            logging.getLogger(name).removeHandler(handler)


def _run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from sue_framework.progress import quiet

    try:
        with quiet() if args.quiet else nullcontext():
            return int(args.func(args) or 0)
    except (SUEError, json.JSONDecodeError, OSError) as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"sue: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sue: interrupted", file=sys.stderr)
        if args.embedded:
            raise
        return 130
    except Exception as exc:  # an unexpected failure: one line, the traceback behind --debug
        if args.debug:
            raise
        print(
            f"sue: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
