"""`sue plugins`: what is registered, and by which package."""

from __future__ import annotations

import argparse


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
