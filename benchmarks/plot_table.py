"""Plot a markdown table that a benchmark printed (docs/experiments/*/output.md), so a results
page can show its figures: lines of one column against another per group, or grouped bars.

    python benchmarks/plot_table.py docs/experiments/auto_scale/output.md --x "rows a side" \\
        --y seconds --group method --log --out docs/experiments/auto_scale/seconds_vs_rows.png
    python benchmarks/plot_table.py docs/benchmarks_mmd.md --bars "matcher s, before" \\
        "matcher s, now" --x "data set (pairs)" --out mmd.png

A cell is read as its first number ("62.5 (1370 s)" -> 62.5); rows without one are skipped.
Every table in the file with the named columns is read (a file may hold several runs).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.I)


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table in `text`, as rows of {header: cell}. A block of table lines with no
    header of its own (a run continued after a printed line) takes the previous header."""
    blocks: list[list[list[str]]] = [[]]
    for line in text.splitlines():
        if line.strip().startswith("|"):
            blocks[-1].append([c.strip() for c in line.strip().strip("|").split("|")])
        elif blocks[-1]:
            blocks.append([])
    found, header = [], None
    for block in filter(None, blocks):
        if len(block) > 1 and all(set(c) <= set("-: ") for c in block[1]):
            header, block = block[0], block[2:]
        if header is not None:
            found.append([dict(zip(header, cells, strict=False)) for cells in block])
    return found


def number(cell: str) -> float | None:
    m = NUMBER.search(cell or "")
    return float(m.group()) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", type=Path, help="markdown file holding the table(s)")
    ap.add_argument("--x", required=True, help="column along the x axis")
    ap.add_argument("--y", help="column along the y axis (lines)")
    ap.add_argument("--group", help="column whose values each get a line")
    ap.add_argument("--bars", nargs="+", help="columns drawn as grouped bars per x value")
    ap.add_argument("--log", action="store_true", help="logarithmic axes")
    ap.add_argument("--title", default="")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for t in tables(args.table.read_text()) for r in t if args.x in r]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if args.bars:
        labels = [r[args.x] for r in rows]
        width = 0.8 / len(args.bars)
        for k, col in enumerate(args.bars):
            values = [number(r.get(col, "")) or 0.0 for r in rows]
            ax.bar([i + k * width for i in range(len(rows))], values, width, label=col)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], labels, fontsize=8)
        ax.set_ylabel(", ".join(args.bars) if len(args.bars) == 1 else "")
    else:
        groups: dict[str, list[tuple[float, float]]] = {}
        for r in rows:
            x, y = number(r[args.x]), number(r.get(args.y, ""))
            if x is not None and y is not None:
                groups.setdefault(r.get(args.group, "") if args.group else "", []).append((x, y))
        for name, pts in groups.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name or None)
        ax.set_xlabel(args.x)
        ax.set_ylabel(args.y)
        if args.log:
            ax.set_xscale("log")
            ax.set_yscale("log")
    ax.set_title(args.title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} from {len(rows)} rows of {args.table}")


if __name__ == "__main__":
    main()
