"""Search an index of one side's collection with a query from either side: rows, an item of
the index, or a text or image embedded by an encoder plugin and mapped by the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.io.array_files import read_matrix
from sue_framework.search.index import CollectionIndex, load_index

MAX_QUERY_ROWS = 10_000


def search(
    index: str | Path | CollectionIndex,
    model: str | Path,
    modality: str | None = None,
    *,
    rows: str | Path | np.ndarray | None = None,
    item: str | None = None,
    text: str | None = None,
    image: str | Path | None = None,
    encoder: str | None = None,
    k: int = 10,
    item_index: str | Path | CollectionIndex | None = None,
) -> list[list[dict[str, Any]]]:
    """The `k` nearest items of `index` to each query, as [{"row", "score", "item"}] per query.

    Give exactly one query: `rows` of `modality` (a file or an array), `item` (an item of the
    index: its nearest neighbours there; or, with `item_index`, an item of the other side's own
    collection, indexed with the same model), or `text` / `image` (embedded by the registered
    `encoder` of the query's side, then mapped by the model).

    Parameters
    ----------
    index : str, Path or CollectionIndex
        The index (a .sueidx file is checked against `model`).
    model : str or Path
        The model file the index was made with.
    modality : str, optional
        The query's side, "x" or "y" (for `rows`, `text` and `image`).
    rows, item, text, image
        The query (one of them).
    encoder : str, optional
        The registered encoder for `text` or `image`.
    k : int
        Results per query.
    item_index : str, Path or CollectionIndex, optional
        The index `item` is looked up in (default: `index` itself), made with the same model:
        a name of the query side's collection finds the other side's nearest items.
    """
    given = [
        name
        for name, v in (("rows", rows), ("item", item), ("text", text), ("image", image))
        if v is not None
    ]
    if len(given) != 1:
        raise InputError(
            f"give exactly one query (rows, item, text or image), got {given or 'none'}"
        )
    if not isinstance(index, CollectionIndex):
        index = load_index(index, model)
    if item is not None:
        source = index if item_index is None else item_index
        if not isinstance(source, CollectionIndex):
            source = load_index(source, model)
        elif source.model != index.model:
            raise InputError("the two indexes were made with different models")
        z = source.vector(source.row_of(item))
    else:
        if modality not in ("x", "y"):
            raise InputError(f"say which side the query is: modality 'x' or 'y', got {modality!r}")
        z = _mapped(model, modality, _query_rows(rows, text, image, encoder))
    if z.shape[1] != index.dim:
        raise InputError(f"the model maps into {z.shape[1]} dims, the index holds {index.dim}")
    sims, ids = index.search(z, k)
    return [
        [
            {
                "row": int(i),
                "score": float(s),
                "item": index.items[int(i)] if index.items is not None else None,
            }
            for s, i in zip(srow, irow, strict=True)
            if i >= 0
        ]
        for srow, irow in zip(sims, ids, strict=True)
    ]


def _query_rows(rows: Any, text: str | None, image: Any, encoder: str | None) -> np.ndarray:
    if rows is not None:
        q = read_matrix(rows, "query rows") if isinstance(rows, (str, Path)) else np.asarray(rows)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or not 1 <= q.shape[0] <= MAX_QUERY_ROWS:
            raise InputError(
                f"query rows must be (n, d) with 1 <= n <= {MAX_QUERY_ROWS}, got shape {q.shape}"
            )
        return q
    if not encoder:
        raise InputError("a text or image query needs --encoder, the encoder of its side")
    from sue_framework.registry import registry

    enc = registry.get("encoder", encoder)(device="cpu", progress=False)
    if image is not None:
        if not Path(image).is_file():
            raise InputError(f"no image file at {image}")
        return np.asarray(enc.encode([str(image)]), dtype=np.float32)
    return np.asarray(enc.encode([str(text)]), dtype=np.float32)


def _mapped(model_path: str | Path, modality: str, q: np.ndarray) -> np.ndarray:
    from sue_framework.io.model_files import load_transformer

    model = load_transformer(model_path)
    return np.asarray(model.transform(q, modality), dtype=np.float32)
