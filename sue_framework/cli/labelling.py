"""`sue suggest`: which rows to pair next, as a file for a person to fill in."""

from __future__ import annotations

import argparse

from sue_framework.cli.common import (
    check_output,
    item_lines,
)
from sue_framework.errors import SUEError
from sue_framework.io.array_files import read_matrix, read_pairs


def cmd_suggest(args: argparse.Namespace) -> int:
    """`sue suggest`: which rows to pair next, as a file for a person to fill in.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    import csv

    from sue_framework.io.array_files import atomic_path
    from sue_framework.suggest import suggest_pairs

    check_output(args.out, args.x, args.y, args.pairs, args.model, args.items, suffixes=(".csv",))
    x = read_matrix(args.x, "x")
    y = read_matrix(args.y, "y") if args.y else None
    pairs = read_pairs(args.pairs) if args.pairs else None
    model = None
    if args.model:
        from sue_framework.io.model_files import load_method

        model = load_method(args.model)
    items = None
    if args.items:
        items = item_lines(args.items, "--items")
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
