"""The `sue` command. Words for people live here; the work is done by the library.

`parser` builds the command line, one module per family of commands holds their handlers
(`fit`, `models`, `collection`, `labelling`, `grids`, `encode`, `plugins`), `common` what they
share, and `run` runs a command: logging, warnings and exit codes.
"""

from sue_framework.cli.parser import build_parser
from sue_framework.cli.run import main

__all__ = ["build_parser", "main"]
