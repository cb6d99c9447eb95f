"""A searchable index of one side's collection in a fitted model's shared space.

`build_index` embeds the rows block by block with the model (so the collection may be larger
than memory), stores unit-length shared-space vectors with the items (names, texts or image
paths) in a faiss index: exact (`IndexFlatIP`) up to `EXACT_LIMIT` rows, IVF above it, with the
number of lists probed chosen as the smallest that reaches a recall target against exact search
on a sample of the collection (the way autofaiss tunes an index to a budget). The file records
the digest of the model that made it, so a search with another model is refused.

Files are safetensors with a JSON manifest, written atomically: never pickle, and a process
killed while writing (or appending) leaves the index as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError, ModelFileError
from sue_framework.io.array_files import atomic_path, read_matrix

FORMAT = "sue_framework.index"
FORMAT_VERSION = 1
EXACT_LIMIT = 100_000  # rows an exact scan serves within the latency target on 2 cores
RECALL_TARGET = 0.95
NPROBES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MAX_K = 1000


def model_digest(model_path: str | Path) -> str:
    """The identity of a model file's fitted content: a digest of its manifest's array
    checksums and method, the same for every copy of the file.

    Parameters
    ----------
    model_path : str or Path
        A model file from `sue fit`.
    """
    from sue_framework.io.model_files import read_manifest

    manifest = read_manifest(model_path)
    what = {"method": manifest["method"], "checksums": manifest.get("checksums", {})}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


def _unit(z: np.ndarray) -> np.ndarray:
    z = np.ascontiguousarray(z, dtype=np.float32)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


@dataclass
class CollectionIndex:
    """Unit-length shared-space vectors of one side's collection, in a faiss index.

    Parameters
    ----------
    index : faiss.Index
        The search structure (inner product on unit rows: cosine).
    modality : str
        The side the collection is, "x" or "y".
    model : str
        `model_digest` of the model that embedded it.
    items : list of str, optional
        What each row is (a name, a text or an image file's path).
    about : dict
        How it was built: kind ("exact" or "ivf"), nlist, nprobe, measured recall@10.
    """

    index: Any
    modality: str
    model: str
    items: list[str] | None = None
    about: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, z: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and row ids of the `k` nearest rows to each query row `z`
        (queries already in the shared space); ids of -1 where fewer than k were found."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise InputError(
                f"queries must be (n, {self.dim}) shared-space rows, got shape {z.shape}"
            )
        if not 1 <= k <= MAX_K:
            raise InputError(f"k must lie in [1, {MAX_K}], got {k}")
        sims, ids = self.index.search(_unit(z), min(k, self.n_rows))
        return sims, ids.astype(np.int64)

    def vector(self, row: int) -> np.ndarray:
        """The stored shared-space vector of row `row` (1, dim)."""
        if not 0 <= row < self.n_rows:
            raise InputError(f"row {row} is outside the index's {self.n_rows} rows")
        _direct_map(self.index)
        return self.index.reconstruct(int(row))[None, :]

    def row_of(self, item: str) -> int:
        """The row of the item named `item` (its first occurrence)."""
        if self.items is None:
            raise InputError("this index holds no items; build it with --items or --item-dir")
        try:
            return self.items.index(item)
        except ValueError:
            raise InputError(f"no item {item!r} in the index ({self.n_rows} items)") from None


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise InputError("indexes need faiss: pip install faiss-cpu (or faiss-gpu)") from exc
    return faiss


def _direct_map(index: Any) -> None:
    faiss = _faiss()
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:
        ivf.make_direct_map()


def embedded_blocks(
    model: Any, rows: str | Path | np.ndarray, modality: str, block_rows: int = 65536
) -> Iterator[np.ndarray]:
    """The rows embedded by `model`, unit length, a block at a time (a .npy is memory-mapped,
    so it may be larger than memory).

    Parameters
    ----------
    model : fitted method or LinearMap
        Anything with ``transform(rows, modality)``.
    rows : str, Path or ndarray
        The collection (a file of `read_matrix` formats, or an array).
    modality : str
        Which side the rows are.
    block_rows : int
        Rows embedded per block.
    """
    arr = collection_rows(rows)
    if len(getattr(arr, "shape", ())) != 2 or arr.shape[0] == 0:
        raise InputError(f"the collection must be 2-D rows, got shape {getattr(arr, 'shape', ())}")
    for a in range(0, arr.shape[0], block_rows):
        yield _unit(model.transform(np.ascontiguousarray(arr[a : a + block_rows]), modality))


def _nlist(n: int) -> int:
    """IVF lists for n rows: about 4 sqrt(n), with 64 rows a list at least."""
    return int(max(16, min(n // 64, 4 * int(np.sqrt(n)))))


def collection_rows(rows: str | Path | np.ndarray) -> np.ndarray:
    """The collection's rows, read once: a .npy memory-mapped (so it may be larger than
    memory), another file read whole (`read_matrix`), an array as it is.

    Parameters
    ----------
    rows : str, Path or ndarray
        A file of `read_matrix` formats, or an array.
    """
    if isinstance(rows, (str, Path)):
        if Path(rows).suffix == ".npy":
            return np.load(rows, mmap_mode="r")
        return read_matrix(rows, "collection")
    return np.asarray(rows)


def _training_sample(
    model: Any, rows: np.ndarray, modality: str, n: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """`count` rows drawn across the whole collection (a .npy is read where they lie), embed-
    ded: the IVF centroids then cover all of it, not its first block."""
    pick = np.sort(rng.choice(n, min(count, n), replace=False))
    return _unit(model.transform(np.ascontiguousarray(rows[pick]), modality))


def _ivf(dim: int, n: int, sample: np.ndarray, seed: int) -> Any:
    faiss = _faiss()
    nlist = _nlist(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.cp.max_points_per_centroid = 64  # train on at most 64 rows a list: fast, enough
    index.train(sample)
    return index


def _tune_nprobe(index: Any, queries: np.ndarray, target: float, k: int = 10) -> tuple[int, float]:
    """The fewest lists probed whose recall@k against exact search reaches `target` on
    `queries` (rows of the collection: each query's own row is left out of both lists)."""
    faiss = _faiss()
    ivf = faiss.extract_index_ivf(index)
    _direct_map(index)
    exact = faiss.IndexFlatIP(index.d)
    exact.add(_reconstruct_all(index))
    _, truth = exact.search(queries, k + 1)
    best = (NPROBES[-1], 0.0)
    for nprobe in NPROBES:
        ivf.nprobe = min(nprobe, ivf.nlist)
        _, found = index.search(queries, k + 1)
        hits = [
            len((set(t[1:]) - {-1}) & set(f)) / max(1, len(set(t[1:]) - {-1}))
            for t, f in zip(truth, found, strict=True)
        ]
        recall = float(np.mean(hits))
        best = (ivf.nprobe, recall)
        if recall >= target or ivf.nprobe >= ivf.nlist:
            break
    ivf.nprobe = best[0]
    return best


def _reconstruct_all(index: Any, block: int = 65536) -> np.ndarray:
    return np.vstack(
        [
            index.reconstruct_n(a, min(block, index.ntotal - a))
            for a in range(0, index.ntotal, block)
        ]
    )


def build_index(
    model_path: str | Path,
    modality: str,
    rows: str | Path | np.ndarray,
    items: Sequence[str] | None = None,
    *,
    recall_target: float = RECALL_TARGET,
    exact_limit: int = EXACT_LIMIT,
    block_rows: int = 65536,
    seed: int = 0,
) -> CollectionIndex:
    """Embed `rows` of `modality` with the model file and index them.

    Parameters
    ----------
    model_path : str or Path
        The model file from `sue fit`.
    modality : str
        Which side the rows are, "x" or "y".
    rows : str, Path or ndarray
        The collection: a file (`read_matrix` formats; .npy is read a block at a time) or an
        array.
    items : sequence of str, optional
        One item per row (names, texts, or image files' paths), shown with the results.
    recall_target : float
        Above `exact_limit` rows: the recall@10 against exact search the IVF index must reach
        on a sample of the collection, in (0, 1].
    exact_limit : int
        Up to this many rows the index is exact.
    block_rows : int
        Rows embedded per block.
    seed : int
        Seeds the IVF training and the recall sample.
    """
    from sue_framework.io.model_files import load_transformer

    if modality not in ("x", "y"):
        raise InputError(f"modality must be 'x' or 'y', got {modality!r}")
    if not 0.0 < recall_target <= 1.0:
        raise InputError(f"recall_target must lie in (0, 1], got {recall_target}")
    faiss = _faiss()
    model = load_transformer(model_path)
    rows = collection_rows(rows)
    blocks = embedded_blocks(model, rows, modality, block_rows)
    first = next(blocks)
    n = int(rows.shape[0])
    if items is not None and len(items) != n:
        raise InputError(f"{len(items)} items for {n} rows; give one item per row, in order")
    dim = first.shape[1]
    about: dict[str, Any] = {"kind": "exact"}
    if n <= exact_limit:
        index = faiss.IndexFlatIP(dim)
        index.add(first)
        for b in blocks:
            index.add(b)
    else:
        rng = np.random.default_rng(seed)
        sample = _training_sample(model, rows, modality, n, 64 * _nlist(n), rng)
        index = _ivf(dim, n, sample, seed)
        index.add(first)
        for b in blocks:
            index.add(b)
        _direct_map(index)
        sample = rng.choice(n, min(1000, n), replace=False)
        queries = np.vstack([index.reconstruct(int(i)) for i in sample])
        nprobe, recall = _tune_nprobe(index, queries, recall_target)
        ivf = faiss.extract_index_ivf(index)
        about = {
            "kind": "ivf",
            "nlist": int(ivf.nlist),
            "nprobe": nprobe,
            "recall_at_10": round(recall, 4),
        }
    return CollectionIndex(
        index, modality, model_digest(model_path), list(items) if items is not None else None, about
    )


def save_index(index: CollectionIndex, path: str | Path) -> Path:
    """Write `index` to `path` atomically (safetensors + JSON manifest).

    Parameters
    ----------
    index : CollectionIndex
        The index to write.
    path : str or Path
        The .sueidx file.
    """
    from safetensors.numpy import save_file

    faiss = _faiss()
    arrays = {"faiss": faiss.serialize_index(index.index)}
    if index.items is not None:
        data = [s.encode("utf-8") for s in index.items]
        arrays["items_utf8"] = np.frombuffer(b"".join(data) or b"\0", dtype=np.uint8).copy()
        arrays["items_ends"] = np.cumsum([len(d) for d in data], dtype=np.int64)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "modality": index.modality,
        "model": index.model,
        "n_rows": index.n_rows,
        "dim": index.dim,
        **index.about,
        "checksums": {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in arrays.items()},
    }
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={"manifest": json.dumps(manifest)})
    return Path(path)


def load_index(path: str | Path, model_path: str | Path | None = None) -> CollectionIndex:
    """Read an index file, checked; with `model_path`, refuse it unless that model made it.

    Parameters
    ----------
    path : str or Path
        A .sueidx file from `save_index` / `sue index`.
    model_path : str or Path, optional
        The model the index must have been made with.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no index file at {path}")
    try:
        with safe_open(str(path), framework="np") as fh:
            meta = fh.metadata() or {}
            arrays = {k: fh.get_tensor(k) for k in fh.keys()}
        manifest = json.loads(meta["manifest"])
    except Exception as exc:
        raise ModelFileError(
            f"{path} is not a sue_framework index, or it is damaged: {exc}"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a sue_framework index (a model file? give it to --model)"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} is index format {manifest.get('format_version')}; this "
            f"version reads {FORMAT_VERSION}: rebuild it with sue index"
        )
    bad = [
        k
        for k, v in arrays.items()
        if hashlib.sha256(v.tobytes()).hexdigest() != manifest["checksums"].get(k)
    ]
    if bad or set(arrays) != set(manifest["checksums"]):
        raise ModelFileError(
            f"{path} is damaged (arrays {bad or sorted(arrays)} do not match "
            "their checksums); rebuild it with sue index"
        )
    if model_path is not None and model_digest(model_path) != manifest["model"]:
        raise InputError(
            f"{path} was made with another model than {model_path}: its vectors live in that "
            "model's shared space. Index the collection again with this model (sue index)"
        )
    items = None
    if "items_ends" in arrays:
        raw, ends = arrays["items_utf8"].tobytes(), arrays["items_ends"].tolist()
        items = [raw[a:b].decode("utf-8") for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    index = _faiss().deserialize_index(arrays["faiss"])
    about = {k: manifest[k] for k in ("kind", "nlist", "nprobe", "recall_at_10") if k in manifest}
    if about.get("kind") == "ivf":
        _faiss().extract_index_ivf(index).nprobe = int(about["nprobe"])
    return CollectionIndex(index, manifest["modality"], manifest["model"], items, about)


def append_to_index(
    path: str | Path,
    model_path: str | Path,
    rows: str | Path | np.ndarray,
    items: Sequence[str] | None = None,
    block_rows: int = 65536,
) -> CollectionIndex:
    """Add rows (and their items) to an index file made with the same model; the file is
    replaced atomically, so an interrupted append leaves it as it was.

    Parameters
    ----------
    path : str or Path
        The index file.
    model_path : str or Path
        The model it was made with.
    rows : str, Path or ndarray
        The new rows of the index's side.
    items : sequence of str, optional
        Their items (required when the index holds items).
    block_rows : int
        Rows embedded per block.
    """
    from sue_framework.io.model_files import load_transformer

    index = load_index(path, model_path)
    rows = collection_rows(rows)
    n = int(rows.shape[0])
    if (index.items is None) != (items is None):
        raise InputError(
            "the index holds items, so give one per new row"
            if index.items is not None
            else "the index holds no items; append rows without them"
        )
    if items is not None and len(items) != n:
        raise InputError(f"{len(items)} items for {n} new rows; give one item per row")
    model = load_transformer(model_path)
    for block in embedded_blocks(model, rows, index.modality, block_rows):
        index.index.add(block)
    if index.items is not None and items is not None:
        index.items += list(items)
    save_index(index, path)
    return index
