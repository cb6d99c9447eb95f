"""`sue fit`: fit a method on files and save the model; the options a method takes."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from sue_framework.cli.common import (
    check_model_output,
    json_params,
    log,
)
from sue_framework.errors import InputError
from sue_framework.io.array_files import read_matrix


def cmd_fit(args: argparse.Namespace) -> int:
    """`sue fit`: fit a method on files and save the model (never a model that gives NaN).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (`build_parser`).
    """
    from sue_framework import distributed
    from sue_framework.data import WeaklyPairedData
    from sue_framework.io.model_files import save_method
    from sue_framework.io.pair_files import merge_pair_files
    from sue_framework.registry import registry
    from sue_framework.runtime.threads import available_cores
    from sue_framework.validation import check_fitted_outputs

    check_model_output(args.out, args.x, args.y, *args.pairs)
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
        x, y = read_matrix(args.x, "x"), read_matrix(args.y, "y")
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
    from sue_framework.runtime.settings import with_policy

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
    return {**params, **json_params(args.params)}
