"""Grids of fits: `sue demo` and `sue experiment`."""

from __future__ import annotations

import argparse
from pathlib import Path

from sue_framework.cli.common import (
    log,
)


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
