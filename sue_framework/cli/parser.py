"""The `sue` argument parser: every command, option, default and registered name. Handlers
are looked up on their modules when the parser is built."""

from __future__ import annotations

import argparse
from pathlib import Path

from sue_framework import __version__
from sue_framework.cli import collection, encode, fit, grids, labelling, models, plugins
from sue_framework.cli.fit import METHOD_OPTIONS
from sue_framework.io.array_files import MATRIX_OUTPUTS, SUPPORTED


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
    d.set_defaults(func=grids.cmd_demo)

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
    f.set_defaults(func=fit.cmd_fit)

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
    t.set_defaults(func=models.cmd_transform)

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
    e.set_defaults(func=models.cmd_evaluate)

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
    x.set_defaults(func=grids.cmd_experiment)

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
    en.set_defaults(func=encode.cmd_encode)

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
    sg.set_defaults(func=labelling.cmd_suggest)

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
    r.set_defaults(func=models.cmd_report)

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
    ex.set_defaults(func=models.cmd_export)

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
    ix.set_defaults(func=collection.cmd_index)

    se = command("search", "the nearest items of an index to a query, through the model")
    se.add_argument("--index", required=True, help="a .sueidx file from sue index")
    se.add_argument("--model", required=True, help="the model file the index was made with")
    se.add_argument("--modality", choices=["x", "y"],
                    help="the query's side (for --rows, --text, --image)")  # fmt: skip
    query = se.add_mutually_exclusive_group(required=True)
    query.add_argument("--rows", help=f"query rows of --modality: {formats}")
    query.add_argument(
        "--item",
        help="an item of the index (its nearest neighbours there), or of --item-index",
    )
    query.add_argument("--text", help="a text, embedded by --encoder, then mapped")
    query.add_argument("--image", help="an image file, embedded by --encoder, then mapped")
    _names_of(se.add_argument("--encoder", help="the encoder of the query's side, for --text "
                              "and --image"), "encoder")  # fmt: skip
    se.add_argument(
        "--item-index",
        help="the index of the query side's own collection, made with the same model, that "
        "--item names an item of: its nearest items in --index",
    )
    se.add_argument("--k", type=int, default=10, help="results per query")
    se.add_argument("--json", action="store_true", help="print the results as JSON")
    se.set_defaults(func=collection.cmd_search)

    sv = command("serve", "a local search page and JSON endpoint over an index and its model")
    sv.add_argument("--index", required=True, help="a .sueidx file from sue index")
    sv.add_argument("--model", required=True, help="the model file the index was made with")
    _names_of(sv.add_argument("--encoder", help="the query side's encoder, for free text"),
              "encoder")  # fmt: skip
    sv.add_argument("--encoder-params", help="the encoder's parameters as JSON")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (this machine only)")
    sv.add_argument("--port", type=int, default=8765, help="port to listen on")
    sv.set_defaults(func=collection.cmd_serve)

    pl = command("plugins", "list registered components and their providers")
    pl.set_defaults(func=plugins.cmd_plugins)

    c = command("card", "print a model file's model card (markdown), or share the model")
    c.add_argument("--model", required=True, help="model file from sue fit")
    c.add_argument("--export", help="write a folder with model.sue and its README.md card")
    c.add_argument("--push", help="upload to this Hugging Face Hub repository id (needs a token)")
    c.add_argument(
        "--force", action="store_true", help="--export into a folder that already holds files"
    )
    c.set_defaults(func=models.cmd_card)
    return p
