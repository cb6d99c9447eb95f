"""A disk cache of embeddings keyed by (encoder id, item content) hashes, in one SQLite file.

Rows are committed per batch, so an interrupted encoding run resumes where it stopped and a
repeated run costs only the lookups.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: str | Path, encoder_id: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.encoder_id = encoder_id
        self._db = sqlite3.connect(str(self.path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)"
        )

    def key(self, item: str | bytes) -> str:
        """Hash of the encoder id and the item's content (a text, or bytes for other media)."""
        body = item if isinstance(item, bytes) else item.encode()
        return hashlib.sha256(self.encoder_id.encode() + b"\0" + body).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            for k, blob in self._db.execute(q, chunk):
                out[k] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, keys: list[str], vecs: np.ndarray) -> None:
        rows = [
            (k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for k, v in zip(keys, vecs, strict=True)
        ]
        self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        self._db.close()
