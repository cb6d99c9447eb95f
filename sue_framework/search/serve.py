"""`sue serve`: a local search page and JSON endpoint over an index and the model that made it.

The page has a search box and shows results with their items (text, or a thumbnail when an item
is an image file's path listed in the index); a click on a result searches from it. The JSON
endpoint answers the same queries. Built on Starlette and uvicorn (`pip install
'sue-framework[serve]'`); it binds to 127.0.0.1 unless told otherwise.

What a request may ask is bounded: k, the query's length and rows, the body's size. Thumbnails
are served by row number only, and only for rows whose item is an image file: no path comes
from the request.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError, SUEError
from sue_framework.search.index import CollectionIndex, load_index

MAX_K = 100
MAX_BODY = 64 * 1024  # bytes of a request body
MAX_TEXT = 1000  # characters of a text query
MAX_ROWS = 100  # rows of one query
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}


class Searcher:
    """The index, the model and an optional encoder, loaded once and shared by requests.

    Parameters
    ----------
    index_path : str or Path
        A .sueidx file from `sue index`.
    model_path : str or Path
        The model file the index was made with (another is refused).
    encoder : str, optional
        The registered encoder of the query side, for free-text (or image) queries; without
        one, text finds items of the index by name.
    encoder_params : dict, optional
        The encoder's parameters (e.g. its model name).
    """

    def __init__(
        self,
        index_path: str | Path,
        model_path: str | Path,
        encoder: str | None = None,
        encoder_params: dict | None = None,
    ) -> None:
        from sue_framework.io.model_files import load_transformer

        self.index: CollectionIndex = load_index(index_path, model_path)
        self.model = load_transformer(model_path)
        self.query_side = "x" if self.index.modality == "y" else "y"
        self.encoder = None
        self.encoder_name = encoder
        if encoder:
            from sue_framework.registry import registry

            params = {"device": "cpu", "progress": False, **(encoder_params or {})}
            self.encoder = registry.get("encoder", encoder)(**params)
        self.items = self.index.items
        self._lower = [s.lower() for s in self.items] if self.items is not None else None
        self.images = {
            row: Path(item)
            for row, item in enumerate(self.items or [])
            if Path(item).suffix.lower() in IMAGE_TYPES and Path(item).is_file()
        }

    def search(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one query: {"text" | "item" | "rows": ..., "k": int}."""
        k = request.get("k", 10)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be an integer in [1, {MAX_K}], got {k!r}")
        given = [key for key in ("text", "item", "rows") if request.get(key) is not None]
        if len(given) != 1:
            raise InputError("give exactly one of text, item or rows")
        about: dict[str, Any] = {}
        if "item" in given:
            row = self.index.row_of(str(request["item"]))
            z = self.index.vector(row)
            about["from_item"] = self.items[row] if self.items else None
        elif "rows" in given:
            rows = np.asarray(request["rows"], dtype=np.float32)
            if rows.ndim != 2 or not 1 <= rows.shape[0] <= MAX_ROWS:
                raise InputError(f"rows must be a list of 1 to {MAX_ROWS} rows of numbers")
            z = self.model.transform(rows, self.query_side)[:1]
        else:
            text = str(request["text"])
            if not 0 < len(text) <= MAX_TEXT:
                raise InputError(f"text must hold 1 to {MAX_TEXT} characters")
            if self.encoder is not None:
                z = self.model.transform(
                    np.asarray(self.encoder.encode([text]), dtype=np.float32), self.query_side
                )
            else:  # no encoder: the text names an item of the index
                row = self._find(text)
                z = self.index.vector(row)
                about["from_item"] = self.items[row] if self.items else None
        sims, ids = self.index.search(z, k)
        results = [
            {
                "row": int(i),
                "score": round(float(s), 4),
                "item": self.items[int(i)] if self.items is not None else None,
                "thumbnail": f"thumb/{int(i)}" if int(i) in self.images else None,
            }
            for s, i in zip(sims[0], ids[0], strict=True)
            if i >= 0
        ]
        return {**about, "results": results}

    def _find(self, text: str) -> int:
        if self._lower is None:
            raise InputError(
                "this index holds no items and the server has no --encoder: query it with rows"
            )
        needle = text.lower()
        for row, item in enumerate(self._lower):
            if item == needle:
                return row
        for row, item in enumerate(self._lower):
            if needle in item:
                return row
        raise InputError(f"no item matches {text!r}; without --encoder the box finds items by name")


def make_app(searcher: Searcher) -> Any:
    """The Starlette application: the page (/), the JSON endpoint (/api/search, GET with
    ?text= or ?item= and &k=, or POST with a JSON body), /api/info and /thumb/ROW.

    Parameters
    ----------
    searcher : Searcher
        What answers the queries.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    def error(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def page(request: Request) -> Response:
        return HTMLResponse(_page(searcher))

    async def info(request: Request) -> Response:
        idx = searcher.index
        return JSONResponse(
            {
                "rows": idx.n_rows,
                "dim": idx.dim,
                "indexed_side": idx.modality,
                "query_side": searcher.query_side,
                "encoder": searcher.encoder_name,
                "items": idx.items is not None,
                **idx.about,
            }
        )

    async def api(request: Request) -> Response:
        if request.method == "POST":
            if int(request.headers.get("content-length") or 0) > MAX_BODY:
                return error(f"the request body may hold at most {MAX_BODY} bytes", 413)
            body = await request.body()
            if len(body) > MAX_BODY:
                return error(f"the request body may hold at most {MAX_BODY} bytes", 413)
            try:
                query = json.loads(body or b"{}")
            except json.JSONDecodeError:
                return error("the body is not JSON")
            if not isinstance(query, dict):
                return error("the body must be a JSON object")
        else:
            query = {
                key: request.query_params[key]
                for key in ("text", "item")
                if key in request.query_params
            }
            if "k" in request.query_params:
                try:
                    query["k"] = int(request.query_params["k"])
                except ValueError:
                    return error("k must be an integer")
        try:
            from starlette.concurrency import run_in_threadpool

            return JSONResponse(await run_in_threadpool(searcher.search, query))
        except (SUEError, ValueError, TypeError) as exc:
            return error(str(exc).splitlines()[0])

    async def thumb(request: Request) -> Response:
        row = request.path_params["row"]
        path = searcher.images.get(row)
        if path is None:
            return error("no image for that row", 404)
        return FileResponse(path, media_type=IMAGE_TYPES[path.suffix.lower()])

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/info", info),
            Route("/api/search", api, methods=["GET", "POST"]),
            Route("/thumb/{row:int}", thumb),
        ]
    )


def run_server(searcher: Searcher, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted.

    Parameters
    ----------
    searcher : Searcher
        What answers the queries.
    host : str
        The address to bind (127.0.0.1: this machine only).
    port : int
        The port.
    """
    import uvicorn

    uvicorn.run(make_app(searcher), host=host, port=port, log_level="warning")


def _page(searcher: Searcher) -> str:
    idx = searcher.index
    how = (
        f"a text, embedded by {html.escape(searcher.encoder_name)}"
        if searcher.encoder_name
        else "an item's name (no encoder: the box finds items of the index)"
    )
    return _PAGE.replace("$TITLE", f"Search {idx.n_rows} items ({idx.modality} side)").replace(
        "$HOW", how
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$TITLE</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 900px; color: #222; }
input[type=search] { width: 70%; font-size: 1.1em; padding: 0.3em; }
ol { padding-left: 1.5em; }
li.hit { margin: 0.3em 0; cursor: pointer; }
li.hit:hover { background: #f0f4ff; }
li.hit img { max-width: 72px; max-height: 72px; vertical-align: middle; margin-right: 0.5em; }
.score { color: #888; font-size: 0.85em; margin-left: 0.5em; }
#status { color: #555; margin: 0.5em 0; }
#status.error { color: #b00; }
</style></head>
<body>
<h1>$TITLE</h1>
<form id="form"><input id="q" type="search" autofocus placeholder="Search">
<button type="submit">Search</button></form>
<p>Type $HOW. Click a result to search from it.</p>
<div id="status"></div>
<ol id="results"></ol>
<script>
const results = document.getElementById("results");
const status = document.getElementById("status");
async function ask(params) {
  status.className = ""; status.textContent = "searching...";
  const reply = await fetch("api/search?" + new URLSearchParams(params));
  const body = await reply.json();
  results.replaceChildren();
  if (!reply.ok) { status.className = "error"; status.textContent = body.error; return; }
  status.textContent = body.from_item ? "like: " + body.from_item : "";
  for (const hit of body.results) {
    const li = document.createElement("li");
    li.className = "hit";
    li.dataset.item = hit.item === null ? "" : hit.item;
    if (hit.thumbnail) {
      const img = document.createElement("img");
      img.src = hit.thumbnail; img.alt = "";
      li.appendChild(img);
    }
    // a picture shows its file's name beside the thumbnail, not the whole path
    const label = hit.item === null ? "row " + hit.row
      : hit.thumbnail ? hit.item.split(/[\\/]/).pop() : hit.item;
    li.appendChild(document.createTextNode(label));
    const score = document.createElement("span");
    score.className = "score"; score.textContent = hit.score.toFixed(3);
    li.appendChild(score);
    if (hit.item !== null) li.addEventListener("click", () => ask({item: hit.item, k: 10}));
    results.appendChild(li);
  }
}
document.getElementById("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) ask({text: q, k: 10});
});
</script>
</body></html>
"""
