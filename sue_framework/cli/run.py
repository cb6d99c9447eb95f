"""Running the `sue` command: logging, warnings as one line, exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings

from sue_framework.cli.common import (
    EXIT_USAGE,
    PACKAGES,
    log,
)
from sue_framework.cli.parser import build_parser
from sue_framework.errors import SUEError


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

    from sue_framework.runtime.progress import quiet

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
