"""Reading an embedded store through Chroma's own engine, without importing the chromadb package.

chromadb's Python layer (pydantic models, telemetry, auth; ~1 s to import on the 2-core dev
machine, most of a question's start-up) sits over a compiled core, `chromadb_rust_bindings`, that
does the reading: the same SQLite catalogue, the same HNSW index files, the same search. Questions
only read, so `Store` reads an embedded store through that core (~40 ms to import and open) and
keeps the Python client for writing, for a Chroma server and for a read-only store's private copy.
What is read is Chroma's own answer bit for bit: the calls below are the ones the client makes
(chromadb/api/rust.py), with the arguments it passes (tests/integration/test_read_path.py compares every
read). The core's call signatures are chromadb's internal API (pinned <1.6 in pyproject.toml): a
core that does not take them is not used, and the client reads instead.
"""
from __future__ import annotations

import json
import resource
import sqlite3
from pathlib import Path

import numpy as np

TENANT, DATABASE = "default_tenant", "default_database"  # chromadb.config's defaults, which Store uses
_PAGE = 1000  # collections per listing call


class CoreCollection:
    """One collection read through the core, answering `get`, `query` and `count` as chromadb's
    Collection does (same arguments, same result fields). A collection the store does not have
    reads as empty (the client would create it empty: nothing to read either way)."""

    def __init__(self, bindings, collection_id: str | None):
        self._bindings, self.id = bindings, collection_id

    def count(self) -> int:
        return 0 if self.id is None else int(self._bindings.count(self.id, TENANT, DATABASE))

    def get(self, ids: list[str] | None = None, where: dict | None = None, limit: int | None = None,
            offset: int | None = None, include: list[str] | tuple[str, ...] = ("metadatas", "documents")) -> dict:
        include = list(include)
        if self.id is None:
            return {"ids": [], "embeddings": np.array([]) if "embeddings" in include else None,
                    "documents": [] if "documents" in include else None,
                    "metadatas": [] if "metadatas" in include else None}
        got = self._bindings.get(self.id, ids, json.dumps(where) if where else None, limit, offset or 0, None,
                                 include, TENANT, DATABASE)
        return {"ids": got.ids, "embeddings": np.array(got.embeddings) if "embeddings" in include else None,
                "documents": got.documents, "metadatas": got.metadatas}

    def query(self, query_embeddings: list, n_results: int = 10, where: dict | None = None,
              include: list[str] | tuple[str, ...] = ("metadatas", "documents", "distances")) -> dict:
        include = list(include)
        if self.id is None:
            return {"ids": [[]], "documents": [[]], "metadatas": [[]], "distances": [[]]}
        # The client turns each query embedding into float32 numpy before the core sees it.
        embeddings = [np.asarray(e, dtype=np.float32) for e in query_embeddings]
        got = self._bindings.query(self.id, None, embeddings, n_results, json.dumps(where) if where else None, None,
                                   include, TENANT, DATABASE)
        return {"ids": got.ids, "documents": got.documents, "metadatas": got.metadatas, "distances": got.distances}


class ChromaCore:
    """The core opened on one embedded store directory (its collections listed once)."""

    def __init__(self, bindings, collection_ids: dict[str, str]):
        self._bindings = bindings
        self._ids = collection_ids

    @classmethod
    def open(cls, path: Path) -> ChromaCore | None:
        """The core on the store at `path`, opened as chromadb's PersistentClient opens it (same
        settings: migrations applied, MD5 migration hashes, its HNSW cache size); None when the
        core is missing or does not take these calls (another chromadb version). Errors of the
        store itself (a damaged database) are raised, as the client would raise them."""
        try:  # imported here: only a read that needs Chroma opens it (~40 ms), and a missing core means None
            import chromadb_rust_bindings as core

            config = core.SqliteDBConfig(hash_type=core.MigrationHash.MD5, migration_mode=core.MigrationMode.Apply,
                                         url=str(path / "chroma.sqlite3"))
            factory = core.Bindings
        except (ImportError, AttributeError, TypeError):
            return None
        # Each HNSW index has 4 data files and a metadata file (chromadb/api/rust.py sizes its cache so).
        cache_size = resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 5
        try:
            bindings = factory(allow_reset=False, sqlite_db_config=config, persist_path=str(path),
                               hnsw_cache_size=cache_size)
        except TypeError:  # another signature: another version
            return None
        ids: dict[str, str] = {}
        offset = 0
        while True:
            page = bindings.list_collections(_PAGE, offset, TENANT, DATABASE)
            ids.update({c.name: str(c.id) for c in page})
            if len(page) < _PAGE:
                break
            offset += _PAGE
        return cls(bindings, ids)

    def collection(self, name: str) -> CoreCollection:
        return CoreCollection(self._bindings, self._ids.get(name))


_RECORDS = """
SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value
FROM embeddings e CROSS JOIN embedding_metadata m ON m.id = e.id
WHERE e.segment_id = ? AND e.embedding_id IN ({marks})"""  # CROSS JOIN: by the record ids' index, not a scan
_SEGMENT = """
SELECT c.id, s.id, (SELECT seq_id FROM max_seq_id WHERE segment_id = s.id)
FROM collections c
JOIN databases d ON d.id = c.database_id AND d.name = ? AND d.tenant_id = ?
JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA'
WHERE c.name = ?"""
_LATEST_WRITE = "SELECT seq_id FROM embeddings_queue WHERE topic LIKE ? ORDER BY seq_id DESC LIMIT 1"


def read_records(path: Path, collection: str, ids: tuple[str, ...]) -> dict[str, tuple[dict, str | None]] | None:
    """These records of one collection, id -> (metadata, document), read straight from the
    store's SQLite catalogue (read-only, one transaction) when Chroma has applied every write of
    that collection to it; else None, and the caller asks Chroma: a write still in Chroma's log, a
    catalogue laid out otherwise than chromadb 1.5 lays it out, any error. For the few small records
    every command reads (the store's state: store.py), where even opening the core costs more
    (~50 ms) than the reading. A record that is not there is left out, as Chroma leaves it out."""
    database = path / "chroma.sqlite3"
    if not database.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=2,
                                     isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        connection.execute("BEGIN")  # the records and the log position from one state of the file
        segment = connection.execute(_SEGMENT, (DATABASE, TENANT, collection)).fetchall()
        if len(segment) != 1:
            return None
        collection_id, segment_id, applied = segment[0]
        latest = connection.execute(_LATEST_WRITE, (f"%/{collection_id}",)).fetchone()
        if latest is not None and (not isinstance(applied, int) or not isinstance(latest[0], int) or applied < latest[0]):
            return None  # Chroma has not applied a write to the catalogue yet: it would, reading
        rows = connection.execute(_RECORDS.format(marks=",".join("?" * len(ids))), (segment_id, *ids)).fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    found: dict[str, tuple[dict, str | None]] = {}
    for record, key, text, whole, real, flag in rows:
        metadata, document = found.get(record, ({}, None))
        values = [v for v in (text, whole, real) if v is not None] + ([bool(flag)] if flag is not None else [])
        if len(values) != 1:
            return None  # not how Chroma stores a value
        if key == "chroma:document":
            document = values[0]
        else:
            metadata[key] = values[0]
        found[record] = (metadata, document)
    return found
