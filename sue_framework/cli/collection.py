"""Search over a collection: `sue index`, `sue search` and `sue serve`."""

from __future__ import annotations

import argparse
import json

from sue_framework.cli.common import (
    check_output,
    item_lines,
    json_params,
    log,
)
from sue_framework.errors import InputError


def cmd_index(args: argparse.Namespace) -> int:
    """`sue index`: embed one side's collection with a model and index it for search.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.search.index import append_to_index, build_index, save_index

    items = None
    if args.items:
        items = item_lines(args.items, "--items")
    elif args.item_dir:
        from sue_framework.io.item_files import read_items

        items = read_items(args.item_dir)[0]  # the order `sue encode --input DIR` embeds
    if args.append:
        index = append_to_index(args.out, args.model, args.input, items, args.block_rows)
        print(f"appended to {args.out}: {index.n_rows} rows")
        return 0
    check_output(args.out, args.input, args.model, args.items, suffixes=(".sueidx",))
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
    from sue_framework.search.query import search

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
        item_index=args.item_index,
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
    from sue_framework.search.serve import Searcher, run_server

    searcher = Searcher(args.index, args.model, args.encoder, json_params(args.encoder_params))
    log.info("serving %s on http://%s:%d/ (Ctrl-C stops)", args.index, args.host, args.port)
    run_server(searcher, args.host, args.port)
    return 0
