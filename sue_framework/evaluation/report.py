"""A retrieval report to look at: one self-contained HTML page that shows what a fitted model
does with test pairs (row i of x belongs with row i of y).

The page holds R@k both ways, retrieval examples (a query, its true partner's rank, the top k
retrieved, as text or as thumbnails when the items are image files), the queries retrieved
worst, a 2-D map of both modalities in the shared space (PCA of the embedded rows, an inline
SVG) and the model card. No script, no file or network access when it is opened: images are
embedded as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.validation import as_matrix

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                  ".gif": "image/gif", ".webp": "image/webp", ".bmp": "image/bmp"}  # fmt: skip
THUMB_PIXELS = 96
MAP_POINTS = 600  # per modality; more make the map unreadable, not more informative
SIDES = {"x2y": ("x", "y"), "y2x": ("y", "x")}


def retrieval_report(
    model: Any,
    x: Any,
    y: Any,
    *,
    x_items: Sequence[str] | None = None,
    y_items: Sequence[str] | None = None,
    k: int = 10,
    n_examples: int = 6,
    n_worst: int = 6,
    max_rows: int = 5000,
    seed: int = 0,
    card: str | None = None,
    title: str = "Retrieval report",
    card_html: str | None = None,
) -> str:
    """The report page (HTML) of a fitted `model` on test pairs `x[i]` <-> `y[i]`.

    Parameters
    ----------
    model : fitted method
        Anything with ``transform(rows, modality)``, e.g. a loaded model file.
    x, y : array-like of shape (n, d_x) and (n, d_y)
        Test rows of each modality; row i of `x` pairs with row i of `y`.
    x_items, y_items : sequence of str, optional
        What each row is, for people: a text, or the path of an image file (shown as a
        thumbnail). Default: the row numbers.
    k : int
        How many retrieved items each example shows, and the largest R@k reported.
    n_examples, n_worst : int
        How many random queries, and how many of the worst-retrieved queries, to show per
        direction.
    max_rows : int
        Test pairs used at most (a seeded sample beyond it): every query is ranked against
        every row of the other side.
    seed : int
        Seeds the sample of pairs and of the example queries.
    card : str, optional
        The model card as markdown, shown at the end as preformatted text.
    title : str
        The page's heading.
    card_html : str, optional
        The model card as an HTML fragment (`hub.card_html`), shown at the end as it is (in
        place of `card`): tables and lists, not markdown source. Trusted HTML only.
    """
    from sue_framework.model_selection.ranking import target_ranks

    x, y = as_matrix(x, "x"), as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise InputError(
            f"x has {x.shape[0]} rows and y {y.shape[0]}; the report needs test pairs, row i of "
            "x with row i of y"
        )
    items = {"x": _items(x_items, x.shape[0], "x"), "y": _items(y_items, y.shape[0], "y")}
    if k < 1 or n_examples < 0 or n_worst < 0 or max_rows < 2:
        raise InputError("k >= 1, n_examples >= 0, n_worst >= 0 and max_rows >= 2 are needed")
    rng = np.random.default_rng(seed)
    rows = np.arange(x.shape[0])
    if rows.size > max_rows:
        rows = np.sort(rng.choice(rows, max_rows, replace=False))
    z = {"x": model.transform(x[rows], "x"), "y": model.transform(y[rows], "y")}
    unit = {
        side: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        for side, v in z.items()
    }
    ks = sorted({kk for kk in (1, 5, 10) if kk < k} | {k})
    parts = [f"<h1>{html.escape(title)}</h1>", _intro(rows.size, x.shape[0])]
    recall_rows = []
    sections = []
    for direction, (q, g) in SIDES.items():
        ranks = target_ranks(z[q], z[g], device="cpu")
        recall_rows.append((direction, [100.0 * float((ranks < kk).mean()) for kk in ks]))
        picked = rng.choice(rows.size, min(n_examples, rows.size), replace=False)
        worst = np.argsort(-ranks, kind="stable")[: min(n_worst, rows.size)]
        sections.append(
            _examples(direction, "Examples", picked, ranks, unit[q], unit[g], rows, items, q, g, k)
        )
        sections.append(
            _examples(
                direction, "Retrieved worst", worst, ranks, unit[q], unit[g], rows, items, q, g, k
            )  # fmt: skip
        )
    parts.append(_recall_table(ks, recall_rows))
    parts += sections
    parts.append(_map(z, rows, items, rng))
    if card_html:
        parts.append(f"<section class='card'><h2>Model card</h2>{card_html}</section>")
    elif card:
        parts.append(f"<h2>Model card</h2><pre class='card'>{html.escape(card)}</pre>")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _items(given: Sequence[str] | None, n: int, side: str) -> list[str] | None:
    if given is None:
        return None
    given = list(given)
    if len(given) != n:
        raise InputError(
            f"{side} items: {len(given)} given for {n} rows; give one item per row, in row order"
        )
    return given


def _intro(used: int, total: int) -> str:
    sample = "" if used == total else f" (a seeded sample of {used} of the {total})"
    return (
        f"<p>{used} test pairs{sample}: each row of one modality is a query, ranked against "
        "every row of the other by cosine similarity in the shared space; its true partner is "
        "the row with the same number. Rank 1 is first; ties count against the query.</p>"
    )


def _recall_table(ks: list[int], rows: list[tuple[str, list[float]]]) -> str:
    head = "".join(f"<th>R@{k}</th>" for k in ks)
    body = "".join(
        f"<tr><td>{d} ({SIDES[d][0]} &rarr; {SIDES[d][1]})</td>"
        + "".join(f"<td class='num'>{v:.1f}</td>" for v in values)
        + "</tr>"
        for d, values in rows
    )
    return (
        "<h2>Recall at k (%)</h2><table class='recall'><tr><th>direction</th>"
        f"{head}</tr>{body}</table>"
    )


def _examples(direction, heading, queries, ranks, uq, ug, rows, items, q, g, k) -> str:
    """A table of queries: the item, its true partner's rank, the top k retrieved."""
    if len(queries) == 0:
        return ""
    out = [f"<h2>{heading}: {direction} ({q} &rarr; {g})</h2><table class='examples'>"]
    out.append("<tr><th>query</th><th>true partner's rank</th><th>top retrieved</th></tr>")
    for i in queries:
        top = np.argsort(-(ug @ uq[i]), kind="stable")[:k]
        cells = "".join(
            f"<div class='hit{' correct' if j == i else ''}'>{_item(items[g], rows[j], g)}</div>"
            for j in top
        )
        out.append(
            f"<tr class='query' data-rank='{int(ranks[i]) + 1}'><td>{_item(items[q], rows[i], q)}"
            f"</td><td class='num'>{int(ranks[i]) + 1}</td><td class='hits'>{cells}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _item(items: list[str] | None, row: int, side: str) -> str:
    """One item as HTML: a thumbnail for an image file, else its text, with its row number."""
    label = f"<span class='row'>{side}[{row}]</span>"
    if items is None:
        return label
    text = items[row]
    thumb = _thumbnail(text)
    if thumb is not None:
        return f"<img src='{thumb}' alt='{html.escape(text)}' title='{html.escape(text)}'>{label}"
    shown = text if len(text) <= 160 else text[:157] + "..."
    return f"<span class='text'>{html.escape(shown)}</span>{label}"


def _thumbnail(text: str) -> str | None:
    """A data URI of a small copy of the image at path `text` (None if it is not one)."""
    path = Path(text)
    mime = IMAGE_SUFFIXES.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
        data, mime = buf.getvalue(), "image/png"
    except ImportError:
        data = path.read_bytes()  # without Pillow the original file goes in as it is
    except OSError:
        return None  # not a readable image after all: shown as its path
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _map(z: dict[str, np.ndarray], rows: np.ndarray, items, rng) -> str:
    """Both modalities' embeddings projected on their two main axes, as an inline SVG, with
    a line between each shown pair's two points."""
    m = min(rows.size, MAP_POINTS)
    pick = np.sort(rng.choice(rows.size, m, replace=False))
    both = np.vstack([z["x"][pick], z["y"][pick]]).astype(np.float64)
    both -= both.mean(0)
    _, _, vt = np.linalg.svd(both, full_matrices=False)
    xy = both @ vt[:2].T if vt.shape[0] >= 2 else np.c_[both @ vt[:1].T, np.zeros(len(both))]
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    size, pad = 560, 20
    p = pad + (xy - lo) / span * (size - 2 * pad)
    p[:, 1] = size - p[:, 1]
    px, py = p[:m], p[m:]
    lines = "".join(
        f"<line x1='{a[0]:.1f}' y1='{a[1]:.1f}' x2='{b[0]:.1f}' y2='{b[1]:.1f}'/>"
        for a, b in zip(px[:40], py[:40], strict=True)
    )

    def dots(points, side):
        return "".join(
            f"<circle class='{side}' cx='{c[0]:.1f}' cy='{c[1]:.1f}' r='3'><title>"
            f"{html.escape(_label(items[side], rows[pick[i]], side))}</title></circle>"
            for i, c in enumerate(points)
        )

    legend = (
        "<g class='legend'><rect x='6' y='6' width='150' height='62' rx='4'/>"
        "<circle class='x mark' cx='20' cy='20' r='4'/><text x='32' y='24'>x rows</text>"
        "<circle class='y mark' cx='20' cy='38' r='4'/><text x='32' y='42'>y rows</text>"
        "<line x1='14' y1='56' x2='26' y2='56'/><text x='32' y='60'>a true pair</text></g>"
    )
    return (
        f"<h2>The shared space, in two dimensions</h2><p>{m} pairs: x in red, y in blue, a grey "
        "line joins the two sides of the first 40 pairs (short lines: partners land together). "
        "The axes are the two main directions of both modalities' embeddings together.</p>"
        f"<svg class='map' width='{size}' height='{size}' viewBox='0 0 {size} {size}' "
        f"xmlns='http://www.w3.org/2000/svg'><g class='pairs'>{lines}</g>{dots(px, 'x')}"
        f"{dots(py, 'y')}{legend}</svg>"
    )


def _label(items: list[str] | None, row: int, side: str) -> str:
    return f"{side}[{row}]" if items is None else f"{side}[{row}] {items[row][:80]}"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hits { display: flex; flex-wrap: wrap; gap: 4px; }
.hit { border: 1px solid #ddd; padding: 2px 4px; max-width: 180px; font-size: 0.85em; }
.hit.correct { border: 2px solid #2a2; background: #efe; }
.row { color: #888; font-size: 0.8em; margin-left: 4px; }
img { display: block; max-width: 96px; max-height: 96px; }
svg.map { border: 1px solid #ccc; background: #fff; }
svg.map line { stroke: #aaa; stroke-width: 1; }
circle.x { fill: #d33; fill-opacity: 0.6; }
circle.y { fill: #36c; fill-opacity: 0.6; }
pre.card { background: #f6f6f6; padding: 1em; white-space: pre-wrap; }
svg.map g.legend rect { fill: #fff; fill-opacity: 0.9; stroke: #ccc; }
svg.map g.legend text { font-size: 12px; fill: #222; }
svg.map g.legend line { stroke: #aaa; stroke-width: 2; }
section.card { border-top: 1px solid #ccc; margin-top: 2em; }
"""


def write_retrieval_report(path: str | Path, *args: Any, **kwargs: Any) -> Path:
    """Write `retrieval_report(*args, **kwargs)` to `path` atomically; returns the path.

    Parameters
    ----------
    path : str or Path
        The .html file to write.
    *args, **kwargs
        Those of `retrieval_report`.
    """
    from sue_framework.io.array_files import atomic_path

    page = retrieval_report(*args, **kwargs)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(path)
