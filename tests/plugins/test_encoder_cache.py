"""The embedding cache under damage: flipped bytes, a truncated file, a cache from before
checksums. Damaged rows are reported and recomputed, never returned."""

import sqlite3
import threading
import time
import warnings

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


def _hold_lock(path, seconds, ready):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    db.execute("ROLLBACK")
    db.close()


@pytest.mark.slow
def test_a_cache_locked_for_a_while_is_waited_for_not_called_damaged(tmp_path):
    Counting(str(tmp_path)).encode(ITEMS[:10])
    ready = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(_cache_file(tmp_path), 6.0, ready))
    holder.start()
    ready.wait()
    enc = Counting(str(tmp_path))  # the old code gave up after SQLite's 5 s and moved it aside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = enc.encode(ITEMS)
    holder.join()
    assert np.array_equal(z, WANT) and enc.computed == ITEMS[10:]
    assert not list(tmp_path.glob("*.damaged-*"))


@pytest.mark.slow
def test_a_cache_locked_past_the_wait_is_left_alone_and_the_run_goes_on(tmp_path):
    from sue_encoders.cache import EmbeddingCache

    Counting(str(tmp_path)).encode(ITEMS[:10])
    ready = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(_cache_file(tmp_path), 3.0, ready))
    holder.start()
    ready.wait()
    with pytest.warns(UserWarning, match="stayed locked by another process for 1 s"):
        cache = EmbeddingCache(_cache_file(tmp_path), Counting.encoder_id, lock_wait=1.0)
    keys = [cache.key(i) for i in ITEMS]
    assert cache.get_many(keys) == {}
    cache.put_many(keys[:2], WANT[:2])  # a no-op, not an error
    cache.close()
    holder.join()
    assert not list(tmp_path.glob("*.damaged-*"))
    again = Counting(str(tmp_path))
    assert np.array_equal(again.encode(ITEMS), WANT) and again.computed == ITEMS[10:]


def test_a_read_only_cache_is_read_and_the_run_keeps_its_embeddings(tmp_path, monkeypatch):
    from sue_encoders.cache import EmbeddingCache

    Counting(str(tmp_path)).encode(ITEMS[:10])
    before = _cache_file(tmp_path).read_bytes()
    opened = EmbeddingCache._open

    def no_write(self, read_only=False):  # what SQLite says for a file it may not write (root
        if not read_only:  # ignores permission bits, so chmod cannot show it in a test)
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return opened(self, read_only=True)

    monkeypatch.setattr(EmbeddingCache, "_open", no_write)
    enc = Counting(str(tmp_path))
    with pytest.warns(UserWarning, match="is read-only .*stored embeddings are used"):
        z = enc.encode(ITEMS)
    assert np.array_equal(z, WANT) and enc.computed == ITEMS[10:]
    assert _cache_file(tmp_path).read_bytes() == before


def test_a_cache_that_refuses_a_write_midway_keeps_the_run_going(tmp_path):
    from sue_encoders.cache import EmbeddingCache

    cache = EmbeddingCache(_cache_file(tmp_path), Counting.encoder_id)
    cache._db.close()
    cache._db = sqlite3.connect(f"{_cache_file(tmp_path).as_uri()}?mode=ro", uri=True)
    with pytest.warns(UserWarning, match="cannot be written .*readonly"):
        cache.put_many([cache.key("a")], WANT[:1])
    cache.put_many([cache.key("b")], WANT[:1])  # said once; not tried again
    cache.close()
