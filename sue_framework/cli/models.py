"""The commands that use a fitted model file: transform, evaluate, report, card, export."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sue_framework.cli.common import (
    check_output,
    item_lines,
    log,
)
from sue_framework.errors import InputError
from sue_framework.io.array_files import MATRIX_OUTPUTS, read_matrix


def cmd_transform(args: argparse.Namespace) -> int:
    """`sue transform`: embed rows of one modality with a saved model.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.io.array_files import write_matrix
    from sue_framework.io.model_files import load_transformer

    check_output(args.out, args.input, args.model, suffixes=MATRIX_OUTPUTS)
    # a linear model maps with numpy alone, without building the method (or importing torch)
    model = load_transformer(args.model)
    if Path(args.input).suffix.lower() == ".npy" and Path(args.out).suffix.lower() == ".npy":
        from sue_framework.io.npy_transform import transform_file  # inputs larger than memory

        shape = transform_file(model, args.input, args.modality, args.out, args.block_rows)
    else:
        z = model.transform(read_matrix(args.input, "input"), args.modality)
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
    from sue_framework.io.export import export_model

    written = export_model(args.model, args.out, args.format, force=args.force)
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`sue report`: one HTML page showing what a model does with test pairs.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.evaluation.report import write_retrieval_report
    from sue_framework.io.hub import card_html
    from sue_framework.io.model_files import load_method, read_manifest

    check_output(
        args.out, args.model, args.x, args.y, args.x_items, args.y_items, suffixes=(".html",)
    )
    model = load_method(args.model)
    x, y = read_matrix(args.x, "x"), read_matrix(args.y, "y")
    items = {
        side: item_lines(path, f"--{side}-items") if path else None
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
    from sue_framework.evaluation.inputs import task_inputs
    from sue_framework.io.model_files import load_method
    from sue_framework.registry import registry

    model = load_method(args.model)
    task = registry.get("task", args.task)()
    figures = task.evaluate(**task_inputs(task, model, _given_inputs(args)))
    for k, v in figures.items():
        shown = f"{v:10.2f} {_unit(k)}" if isinstance(v, float) else json.dumps(v)
        print(f"{k:<20} {shown}".rstrip())
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    """`sue card`: print a model card, or export / push the model with it.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.io.hub import export_folder, model_card, push_to_hub

    if args.export or args.push:  # the file as it was written, never loaded and saved again
        if args.export:
            log.info("wrote %s", export_folder(args.model, args.export, force=args.force))
        if args.push:
            log.info("pushed to %s: %s", args.push, push_to_hub(args.model, args.push))
        return 0
    print(model_card(args.model))
    return 0
