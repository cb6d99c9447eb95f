"""A disk cache of embeddings keyed by (encoder id, item content) hashes, in one SQLite file.

Rows are committed per batch, so an interrupted encoding run resumes where it stopped and a
repeated run costs only the lookups. Every row carries a checksum of its key and vector: a row
that fails it (flipped bytes) is reported and recomputed, never returned. A database file that
SQLite cannot read (truncated, malformed) is moved aside with a warning and a fresh cache starts.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import warnings
from pathlib import Path

import numpy as np


def _row_digest(key: str, blob: bytes) -> str:
    return hashlib.sha256(key.encode() + b"\0" + blob).hexdigest()[:32]


class EmbeddingCache:
    """An SQLite store of embeddings keyed by item content and encoder id, with a checksum per
    row; damaged rows are dropped and recomputed, a damaged file is moved aside."""

    def __init__(self, path: str | Path, encoder_id: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.encoder_id = encoder_id
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
            self.path.replace(aside)
            warnings.warn(
                f"the embedding cache {self.path} is damaged ({exc}); moved it to {aside} and "
                "started an empty cache, so its embeddings will be recomputed",
                stacklevel=2,
            )
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path))
        try:
            ok = db.execute("PRAGMA quick_check(1)").fetchone()
            if ok is None or ok[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {ok[0] if ok else 'no answer'}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb "
                "(key TEXT PRIMARY KEY, dim INTEGER, vec BLOB, digest TEXT)"
            )
            columns = {row[1] for row in db.execute("PRAGMA table_info(emb)")}
            if "digest" not in columns:  # a cache from before checksums: its rows get recomputed
                db.execute("ALTER TABLE emb ADD COLUMN digest TEXT")
                db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def key(self, item: str | bytes) -> str:
        """Hash of the encoder id and the item's content (a text, or bytes for other media)."""
        body = item if isinstance(item, bytes) else item.encode()
        return hashlib.sha256(self.encoder_id.encode() + b"\0" + body).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of `keys` that pass their checksum; damaged rows are dropped."""
        out: dict[str, np.ndarray] = {}
        damaged: list[str] = []
        unchecked = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT key, dim, vec, digest FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            for k, dim, blob, digest in self._db.execute(q, chunk):
                if digest is None:
                    unchecked += 1
                elif digest != _row_digest(k, blob) or len(blob) != 4 * dim:
                    damaged.append(k)
                else:
                    out[k] = np.frombuffer(blob, dtype=np.float32)
        if damaged:
            self._db.executemany("DELETE FROM emb WHERE key = ?", [(k,) for k in damaged])
            self._db.commit()
            warnings.warn(
                f"the embedding cache {self.path}: {len(damaged)} stored embedding(s) failed "
                "their checksum (the file was changed on disk); they are dropped and recomputed",
                stacklevel=2,
            )
        if unchecked:
            warnings.warn(
                f"the embedding cache {self.path} holds {unchecked} embedding(s) from before "
                "checksums; they are recomputed once",
                stacklevel=2,
            )
        return out

    def put_many(self, keys: list[str], vecs: np.ndarray) -> None:
        """Store the embedding of each key (one transaction)."""
        rows = []
        for k, v in zip(keys, vecs, strict=True):
            blob = np.ascontiguousarray(v, dtype=np.float32).tobytes()
            rows.append((k, int(v.shape[0]), blob, _row_digest(k, blob)))
        self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()
