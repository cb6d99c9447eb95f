"""The embedding cache under damage: flipped bytes, a truncated file, a cache from before
checksums. Damaged rows are reported and recomputed, never returned."""

import sqlite3

import numpy as np
import pytest
from sue_encoders import BatchedEncoder


class Counting(BatchedEncoder):
    """Item i -> a vector of its number plus a half; counts what it really computes."""

    encoder_id = "counting-v1"

    def __init__(self, cache_dir=None, batch_size=4):
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.computed = []

    def _encode_batch(self, items):
        self.computed += items
        return np.array([[float(i) + 0.5] * 8 for i in items], dtype=np.float32)


ITEMS = [str(i) for i in range(20)]
WANT = np.array([[i + 0.5] * 8 for i in range(20)], dtype=np.float32)


def _cache_file(tmp_path):
    return tmp_path / "embeddings.sqlite"


def test_a_flipped_byte_in_a_stored_embedding_is_caught_and_recomputed(tmp_path):
    Counting(str(tmp_path)).encode(ITEMS)
    raw = bytearray(_cache_file(tmp_path).read_bytes())
    at = raw.index(np.full(8, 7.5, dtype=np.float32).tobytes())  # item "7"
    raw[at + 5] ^= 0xFF
    _cache_file(tmp_path).write_bytes(bytes(raw))
    enc = Counting(str(tmp_path))
    with pytest.warns(UserWarning, match=r"embeddings.sqlite: 1 stored embedding\(s\) failed"):
        z = enc.encode(ITEMS)
    assert np.array_equal(z, WANT) and enc.computed == ["7"]
    again = Counting(str(tmp_path))
    assert np.array_equal(again.encode(ITEMS), WANT) and again.computed == []  # repaired


def test_a_truncated_cache_is_moved_aside_and_rebuilt(tmp_path):
    Counting(str(tmp_path)).encode(ITEMS)
    raw = _cache_file(tmp_path).read_bytes()
    _cache_file(tmp_path).write_bytes(raw[: len(raw) // 2])
    enc = Counting(str(tmp_path))
    with pytest.warns(UserWarning, match=r"embeddings.sqlite is damaged .*moved it to"):
        z = enc.encode(ITEMS)
    assert np.array_equal(z, WANT) and len(enc.computed) == 20
    assert len(list(tmp_path.glob("embeddings.sqlite.damaged-*"))) == 1


def test_a_cache_from_before_checksums_is_recomputed_once(tmp_path):
    db = sqlite3.connect(_cache_file(tmp_path))
    db.execute("CREATE TABLE emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
    enc = Counting(str(tmp_path))
    from sue_encoders.cache import EmbeddingCache

    keys = [EmbeddingCache.key(enc, item) for item in ITEMS[:5]]  # the same key function
    wrong = np.zeros(8, dtype=np.float32).tobytes()  # unverifiable rows must not be trusted
    db.executemany("INSERT INTO emb VALUES (?, 8, ?)", [(k, wrong) for k in keys])
    db.commit()
    db.close()
    with pytest.warns(UserWarning, match="5 embedding\\(s\\) from before checksums"):
        z = enc.encode(ITEMS)
    assert np.array_equal(z, WANT) and len(enc.computed) == 20
    again = Counting(str(tmp_path))
    assert np.array_equal(again.encode(ITEMS), WANT) and again.computed == []
