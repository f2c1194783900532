"""Vectors already computed, keyed by (model identity, exact embedded text), shared by every store.

An edited entry re-embeds only its changed passages, a paper seen in another digest or ingested into
a second store is not embedded again. One SQLite file per model under `Settings.cache_dir/vectors`,
float32 blobs (no pickle: a cache file is data, never code), and beside them each passage's sentence
vectors as ingest stores them (sentence_vectors.py). What is read is validated (length,
finite values); a bad row is ignored, an unreadable file is moved aside and rebuilt. A cache is only
a cache: every failure falls back to embedding.
"""
from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from assistant.config import Settings
from assistant.ingest.sentence_vectors import decode

T = TypeVar("T")
_LOOKUP = 500  # keys per SELECT (SQLite's variable limit is 999 on old builds)


def vector_cache_path(settings: Settings, model_identity: str) -> Path:
    return Path(settings.cache_dir).expanduser() / "vectors" / f"{model_identity}.sqlite3"


class VectorCache:
    def __init__(self, path: Path | None):
        """`path` None: a disabled cache (finds nothing, keeps nothing)."""
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._open()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            _create(db)
            db.execute("PRAGMA journal_mode=WAL")  # a concurrent ingest into another store may read it
            db.commit()
            self._db = db
        except (sqlite3.Error, OSError):
            self._reset()

    def _reset(self) -> None:
        """Move an unreadable file aside once and start empty; stay disabled if even that fails."""
        if self._db is not None:
            self._db.close()
        self._db = None
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            _create(db)
            db.commit()
            self._db = db
        except (sqlite3.Error, OSError):
            self._db = None

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def get_many(self, texts: list[str], dim: int | None = None) -> dict[str, list[float]]:
        """The cached vectors of those texts that have a valid one (of `dim` values when given)."""
        return self._read("vectors", "vector", texts, lambda blob: _decode(blob, dim))

    def put_many(self, texts: list[str], vectors: list[list[float]]) -> None:
        self._write("vectors", "vector", [(self.key(t), np.asarray(v, dtype="<f4").tobytes())
                                          for t, v in zip(texts, vectors, strict=False)])

    def get_sentences(self, texts: list[str], dims: int) -> dict[str, str]:
        """The stored sentence vectors (sentence_vectors.encode) of those passages that have valid ones."""
        return self._read("sentences", "vectors", texts, lambda text: text if decode(text, dims) is not None else None)

    def put_sentences(self, texts: list[str], encoded: list[str | None]) -> None:
        self._write("sentences", "vectors", [(self.key(t), e) for t, e in zip(texts, encoded, strict=False) if e])

    def _read(self, table: str, column: str, texts: list[str], valid: Callable[[object], T | None]) -> dict[str, T]:
        """Text -> `valid(value)` for the texts `table` holds a value for that `valid` accepts."""
        if self._db is None or not texts:
            return {}
        by_key = {self.key(t): t for t in texts}
        keys = list(by_key)
        out: dict[str, T] = {}
        try:
            for i in range(0, len(keys), _LOOKUP):
                part = keys[i:i + _LOOKUP]
                rows = self._db.execute(f"SELECT key, {column} FROM {table} WHERE key IN ({','.join('?' * len(part))})",
                                        part).fetchall()
                for key, value in rows:
                    checked = valid(value)
                    if checked is not None:
                        out[by_key[bytes(key)]] = checked
        except sqlite3.OperationalError:  # locked too long, I/O error: embed instead
            return {}
        except sqlite3.DatabaseError:  # not a database / corrupt: start afresh
            self._reset()
            return {}
        return out

    def _write(self, table: str, column: str, rows: list[tuple[bytes, object]]) -> None:
        if self._db is None or not rows:
            return
        try:
            with self._db:
                self._db.executemany(f"INSERT OR REPLACE INTO {table} (key, {column}) VALUES (?, ?)", rows)
        except sqlite3.OperationalError:
            pass  # disk full, locked too long: the vectors are in the store anyway
        except sqlite3.DatabaseError:
            self._reset()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _create(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS sentences (key BLOB PRIMARY KEY, vectors TEXT NOT NULL)")


def _decode(blob, dim: int | None) -> list[float] | None:
    if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) == 0 or len(blob) % 4:
        return None
    vector = np.frombuffer(bytes(blob), dtype="<f4")
    if (dim is not None and vector.size != dim) or not np.all(np.isfinite(vector)) or not np.any(vector):
        return None
    return vector.tolist()
