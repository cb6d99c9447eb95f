"""Regenerate the demo figure and table of docs/demo.md from a fresh run: never hand-kept.

    python docs/regenerate.py            # about a minute of fitting on 2 CPU cores

Runs the `sue demo` grid (seeds 0 and 1), copies its R@10 plot to docs/demo_r10.png and
rewrites the table between the demo-table markers of docs/demo.md.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
START, END = "<!-- demo-table: written by docs/regenerate.py -->\n", "<!-- /demo-table -->\n"


def main() -> int:
    from sue_framework.demo import demo_config
    from sue_framework.experiment import run_experiment, summarise, text_table, write_report

    config = demo_config(device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_experiment(config, tmp, resume=False)
        written = write_report(config, rows, tmp)
        shutil.copyfile(written["pairs"], DOCS / "demo_r10.png")
    table = text_table(summarise(rows))
    page = DOCS / "demo.md"
    text = page.read_text()
    if START not in text or END not in text:
        print(f"{page} lacks the demo-table markers", file=sys.stderr)
        return 1
    block = f"{START}```\n{table}\n```\n{END}"
    page.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text,
                           flags=re.S))  # fmt: skip
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
