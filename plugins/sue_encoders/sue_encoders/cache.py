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
    row; damaged rows are dropped and recomputed, a damaged file is moved aside.

    A cache that another process holds locked is waited for (up to `lock_wait` seconds, then
    the run goes on without it); one that cannot be written (a read-only file or folder) is
    read but not added to; one that cannot be opened at all is left alone. Each case is said
    once, and the embeddings are computed either way.

    Parameters
    ----------
    path : str or Path
        The SQLite file.
    encoder_id : str
        The encoder and its version; part of every key.
    lock_wait : float
        Seconds to wait for a lock another process holds before going on without the cache.
    """

    def __init__(self, path: str | Path, encoder_id: str, lock_wait: float = 120.0) -> None:
        self.path = Path(path)
        self.encoder_id = encoder_id
        self.lock_wait = float(lock_wait)
        self.writable = True
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
        except sqlite3.OperationalError as exc:
            self._not_usable(exc)
        except sqlite3.DatabaseError as exc:
            self._move_aside(exc)
        except OSError as exc:
            self._warn(f"cannot be created ({exc}); encoding without a cache")

    def _warn(self, what: str) -> None:
        warnings.warn(f"the embedding cache {self.path} {what}", stacklevel=4)

    def _not_usable(self, exc: sqlite3.OperationalError) -> None:
        """A lock held past the wait, or a file that cannot be written or opened."""
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            self._warn(
                f"stayed locked by another process for {self.lock_wait:.0f} s; encoding without "
                "it (nothing is read from it or stored in it this run)"
            )
            return
        try:
            self._db = self._open(read_only=True)
        except sqlite3.DatabaseError:
            self._warn(f"cannot be opened ({exc}); encoding without a cache")
            return
        self.writable = False
        self._warn(
            f"is read-only ({exc}); its stored embeddings are used, new ones are computed "
            "but not stored"
        )

    def _move_aside(self, exc: sqlite3.DatabaseError) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            self.path.replace(aside)
            self._db = self._open()
        except (OSError, sqlite3.DatabaseError) as again:
            self._warn(f"is damaged ({exc}) and could not be replaced ({again}); encoding "
                       "without a cache")  # fmt: skip
            return
        self._warn(
            f"is damaged ({exc}); moved it to {aside} and started an empty cache, so its "
            "embeddings will be recomputed"
        )

    def _open(self, read_only: bool = False) -> sqlite3.Connection:
        if read_only:
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                 timeout=self.lock_wait)  # fmt: skip
        else:
            db = sqlite3.connect(str(self.path), timeout=self.lock_wait)
        try:
            ok = db.execute("PRAGMA quick_check(1)").fetchone()
            if ok is None or ok[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {ok[0] if ok else 'no answer'}")
            if read_only:
                return db
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
        if self._db is None:
            return out
        damaged: list[str] = []
        unchecked = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT key, dim, vec, digest FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            try:
                found = self._db.execute(q, chunk).fetchall()
            except sqlite3.OperationalError as exc:  # a read-only cache made before the table
                if "no such table" not in str(exc):
                    raise
                return out
            for k, dim, blob, digest in found:
                if digest is None:
                    unchecked += 1
                elif digest != _row_digest(k, blob) or len(blob) != 4 * dim:
                    damaged.append(k)
                else:
                    out[k] = np.frombuffer(blob, dtype=np.float32)
        if damaged:
            self._write("DELETE FROM emb WHERE key = ?", [(k,) for k in damaged])
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
        self._write("INSERT OR REPLACE INTO emb VALUES (?, ?, ?, ?)", rows)

    def _write(self, sql: str, rows: list[tuple]) -> None:
        """One transaction; a cache that turns out read-only or stays locked is not written
        again this run (said once), and the embeddings are kept in memory all the same."""
        if self._db is None or not self.writable:
            return
        try:
            self._db.executemany(sql, rows)
            self._db.commit()
        except sqlite3.OperationalError as exc:
            self._db.rollback()
            self.writable = False
            self._warn(f"cannot be written ({exc}); the rest of this run is not cached")

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
