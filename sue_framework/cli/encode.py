"""`sue encode`: raw items embedded by a registered encoder."""

from __future__ import annotations

import argparse

import numpy as np

from sue_framework.cli.common import (
    check_output,
    json_params,
)


def cmd_encode(args: argparse.Namespace) -> int:
    """`sue encode`: embed raw items with a registered encoder, resumably.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework.io.array_files import manifest_path, write_embeddings
    from sue_framework.io.item_files import read_items
    from sue_framework.io.model_files import library_version
    from sue_framework.registry import registry

    check_output(args.out, args.input, suffixes=(".npy",))
    check_output(str(manifest_path(args.out)), args.input)
    items, ids = read_items(args.input, column=args.column, id_column=args.id_column)
    params = {"device": args.device, "progress": not args.quiet, **json_params(args.params)}
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
