"""The paper store: Chroma collections behind one class, embedded on disk or on a Chroma server.

Schema (owned here and nowhere else):
- `<prefix>_chunks`: the dense index: one record per embedded chunk (sections in a language the
  embedding model reads, `Settings.embed_languages`), written as llama-index TextNodes (so
  llama-index's ChromaVectorStore can read them) with metadata paper_id, title, category, section,
  digests, dates, and `sentence_vectors`: the passage's sentences as vectors from the same forward
  pass (ingest/sentence_vectors.py; absent in a store written before Dec 2026 or by the torch fallback).
- `<prefix>_text`: the chunks that are not embedded (the title alone, sections in other languages),
  with a 1-dim placeholder vector, the same metadata but no llama-index node record, and the text
  in metadata "text" as a JSON string literal (ASCII-only) rather than the document (see `_papers`
  for why; a store written before Dec 2026 has llama-index records with the text as the document):
  searched lexically and read by the answerers.
  `iter_chunks`/`chunks_of` read both collections; `dense_query` only the first. A store written
  before schema 2 has every chunk in `_chunks`; it reads the same way.
- `<prefix>_papers`: one record per paper; metadata "paper" = the Paper as JSON (a store written
  before Dec 2026 has it as the document: read either), content hash and where it appeared;
  embedding = the mean of its chunk embeddings. Not the document, because Chroma builds a
  full-text (trigram) index over every document, which nothing here queries; and ASCII-only JSON
  (Chinese as backslash-u escapes, the same JSON value), because Chroma writes a string with
  Chinese in it ~4x slower than an ASCII one (1,500 paper-sized records: 8.4 s as UTF-8, 2.0 s
  escaped).
- `<prefix>_meta`: one record holding the store generation (bumped by every write) and last ingest,
  and one ("digests") holding each digest's date, ingest order and ingest time (see digests.py).

Write order per batch of papers makes a killed ingest safe to resume: chunks (both collections) are upserted first, stale
chunks deleted next, and the paper record (with its content hash) written last. A paper whose
record is missing or stale is simply processed again by the next ingest.

Reading (what every command does, so it is made cheap): an embedded store is read through
Chroma's compiled core rather than the chromadb package until this Store writes
(chroma_core.py); the state records (`cache_key`, `state`, `digest_records`) straight from
Chroma's SQLite catalogue when Chroma has applied every write to it; the catalogue from the paper
table kept beside the keyword index (paper_table.py). A server, an ingest's Store (`create`) and a
private copy read through the client, as before.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import StoreError, StoreMissing
from assistant.ingest import chroma_core
from assistant.ingest.paper_table import PaperCatalog, cache_folders, load_or_save_table
from assistant.types import Chunk, Paper

_BATCH = 1000  # ids per Chroma get/delete call (keeps request sizes sane on a server)
# Records per page when reading a whole collection. Each offset page costs Chroma more the further
# it starts, so fewer, larger pages read faster: at 50k papers the catalogue took 8.8 s in 1,000-record
# pages and 1.3 s in 5,000-record ones (a scan of 350k chunks is dominated by volume, not paging).
_PAGE = 5000
SENTENCES_KEY = "sentence_vectors"  # an embedded chunk's sentences as vectors (sentence_vectors.py), in its metadata
INDEX_FILE = "index_metadata.pickle"  # the id map in each of Chroma's HNSW index folders (repair.py reads it)
SCHEMA_VERSION = 2  # 2: chunks that are not embedded live in `<prefix>_text`


@dataclass(frozen=True)
class StoredChunk:
    id: str
    paper_id: str
    section: str
    text: str


@dataclass(frozen=True)
class DenseHit:
    chunk: StoredChunk
    score: float  # cosine similarity


_NO_SPACE = ("disk is full", "no space left", "(code: 13)")
_READ_ONLY = ("readonly database", "read-only file system", "(code: 8)")


def _paper_of(metadata: dict | None, document: str | None) -> Paper | None:
    """A paper record (JSON in metadata "paper", or as the document in older stores). A record
    that does not read as a paper (a damaged or foreign store) is left out, never a traceback: the
    next ingest of its digest writes it again."""
    raw = (metadata or {}).get("paper") or document
    if not isinstance(raw, str):
        return None
    try:
        return Paper.from_json(raw)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None


def _text_of(metadata: dict) -> str:
    """A text-collection chunk's text, kept in metadata as a JSON string literal (see top). A
    value that is not one (a damaged or foreign store) reads as no text, never as an error."""
    raw = (metadata or {}).get("text")
    if not isinstance(raw, str):
        return ""
    try:
        text = json.loads(raw)
    except (ValueError, RecursionError):
        return ""
    return text if isinstance(text, str) else ""


def _stored_chunks(got: dict) -> Iterator[StoredChunk]:
    """The chunks of one Chroma `get` result (documents and metadatas included), from either collection."""
    for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=False):
        yield StoredChunk(cid, meta["paper_id"], meta.get("section", ""), doc or _text_of(meta))


def store_fault(exc: BaseException, label: str, path: Path | None = None) -> StoreError | None:
    """The user-level error for a disk fault met while using the store at `label`, else None.

    Chroma reports SQLite's codes inside its own exception types (code 13: full, code 8: read-only),
    Python reports errno; both are named here so no fault ends in a traceback or in the advice to
    move a store aside that is merely read-only."""
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    # The free-space check only for what Chroma reports when a full disk stopped its compaction:
    # any other error on a nearly full disk is that other error.
    compaction = type(exc).__module__.startswith("chromadb") and "compact" in text
    if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _NO_SPACE) or (compaction and _disk_full(path)):
        return StoreError(f"no space left on device while writing to {label}; free some space and re-run "
                          "(what was written is kept and consistent)")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        return StoreError(f"the store at {label} is read-only (no write permission); questions work, "
                          "but ingest needs write access (or copy the store somewhere writable)")
    return None


def _disk_full(path: Path | None) -> bool:
    """Chroma sometimes reports a full disk only as a failed compaction: ask the file system."""
    if path is None:
        return False
    try:
        return shutil.disk_usage(path if path.exists() else path.parent).free < 16 * 1024 * 1024
    except OSError:
        return False


def is_read_only(path: Path) -> bool:
    """True when this process may not write to an existing store directory (permissions, a
    read-only mount)."""
    db = path / "chroma.sqlite3"
    return db.exists() and not (os.access(path, os.W_OK) and os.access(db, os.W_OK))


def _readonly_snapshot(path: Path, cache_dir: Path) -> Path:
    """A private copy of a read-only store to open: Chroma writes to its database even to read it.

    Keyed by the store's path and its files' sizes and times, so the copy is made once per
    store state; earlier copies of the same store are removed."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and ".cache" not in p.relative_to(path).parts)
    stamp = hashlib.sha1("|".join(f"{p.relative_to(path)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                                  for p in files).encode()).hexdigest()[:12]
    home = cache_dir / "readonly-stores" / hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache_dir either: a throw-away copy
        home = Path(tempfile.mkdtemp(prefix="digestqa-readonly-"))
    try:
        return _copy_into(path, home, stamp)
    except OSError:  # no room where copies are kept (a full disk): a throw-away copy in the temp folder
        return _copy_into(path, Path(tempfile.mkdtemp(prefix="digestqa-readonly-")), stamp)


def _copy_into(path: Path, home: Path, stamp: str) -> Path:
    target = home / stamp
    if (target / "chroma.sqlite3").exists() and not _same_index_files(path, target):
        shutil.rmtree(target, ignore_errors=True)  # the copy was damaged after it was made: make it again
    if not (target / "chroma.sqlite3").exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / f".{stamp}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(path, tmp, ignore=shutil.ignore_patterns(".cache", ".ingest.lock", ".damaged"),
                            copy_function=shutil.copy)
        except (OSError, shutil.Error):
            shutil.rmtree(tmp, ignore_errors=True)
            raise OSError(errno.ENOSPC, f"cannot copy {path}") from None
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)  # the copy is ours to write
        tmp.rename(target)
        for old in home.iterdir():
            if old != target and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
    return target


def _same_index_files(original: Path, copy: Path) -> bool:
    """True when the copy's index id maps are byte for byte the original's (small files; the rest
    of a copy is checked by the sizes and times its folder is named after)."""
    for theirs in original.glob(f"*/{INDEX_FILE}"):
        ours = copy / theirs.relative_to(original)
        try:
            if ours.read_bytes() != theirs.read_bytes():
                return False
        except OSError:
            return False
    return True


def _chroma_settings():
    # chromadb: ~1 s to import; questions read the store without it (chroma_core.py), only writes,
    # a server and the fall-backs open the client (here and below)
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class _Collection:
    """One of the store's collections: `get`, `query` and `count` read through `Store._reader`;
    anything else (upsert, delete, update, …) is the chromadb client's collection, and marks the
    Store as written."""

    def __init__(self, store: Store, suffix: str):
        self._store, self._suffix = store, suffix
        if store._create:  # a store being written: its collections exist once named, as Chroma's do
            store._client_collection(suffix)

    def get(self, *args, **kwargs):
        return self._store._reader(self._suffix).get(*args, **kwargs)

    def query(self, *args, **kwargs):
        return self._store._reader(self._suffix).query(*args, **kwargs)

    def count(self) -> int:
        return self._store._reader(self._suffix).count()

    def __getattr__(self, name: str):
        self._store._wrote = True
        return getattr(self._store._client_collection(self._suffix), name)


class Store:
    def __init__(self, settings: Settings, create: bool = False, private_copy: bool = False):
        """`private_copy`: open a private copy of the store (as for a read-only one), for reading
        when the store's disk is full."""
        self.settings = settings
        self._create = create
        self._private_copy = private_copy
        self._papers_cache: PaperCatalog | None = None
        self._papers_key: str | None = None  # the cache key the catalogue was read for
        self.read_only = False  # set when the store directory cannot be written: a snapshot is read
        self.opened_path: Path | None = None  # the directory Chroma opened (a private copy when read-only)
        self._client_collections: dict[str, object] = {}
        self._wrote = False  # set by the first write: from then on the client reads too

    # -- connection -------------------------------------------------------------------------
    @cached_property
    def client(self):
        import chromadb

        s = self.settings
        if s.uses_server:
            try:
                client = chromadb.HttpClient(host=s.chroma_host, port=s.chroma_port, settings=_chroma_settings())
                client.heartbeat()
            except Exception as exc:  # chromadb raises several types for a down server
                raise StoreError(f"cannot reach the Chroma server at {s.chroma_host}:{s.chroma_port} "
                                 f"({type(exc).__name__}); is `chroma run` up?") from None
            return client
        path = Path(s.store)
        if not self._create and not (path / "chroma.sqlite3").exists():
            raise StoreMissing(f"no store at {path}: run `digestqa ingest PATH` first (or pass --store DIR)")
        if path.exists() and not path.is_dir():
            raise StoreError(f"store path {path} is a file, not a directory")
        if self._private_copy and not self._create:
            return self._open_copy(path, None)
        try:
            if is_read_only(path):
                if self._create:  # an ingest: say so before anything is attempted
                    raise store_fault(OSError(errno.EROFS, "read-only"), str(path))
                self.read_only = True
                path = _readonly_snapshot(path, Path(s.cache_dir).expanduser())
            else:
                path.mkdir(parents=True, exist_ok=True)
            self.opened_path = path
            return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        except StoreError:
            raise
        except Exception as exc:
            fault = store_fault(exc, str(s.store))
            if fault is not None and "no space left" in str(fault) and not self._create and not self.read_only:
                # Chroma writes to its database even to open it: on a full disk a question is
                # answered from a private copy made where there is room (like a read-only store).
                return self._open_copy(path, fault)
            if fault is not None:
                raise fault from None
            raise StoreError(f"the store at {path} cannot be opened ({type(exc).__name__}: {str(exc)[:120]}); "
                             "it may be corrupt: move it aside and ingest again") from None

    def _open_copy(self, path: Path, fault: StoreError | None):
        import chromadb

        try:
            copy = _readonly_snapshot(path, Path(self.settings.cache_dir).expanduser())
        except OSError:
            raise StoreError(f"no space left on device: the store at {path} cannot even be opened for reading "
                             "(Chroma writes to its database when it opens it), and no copy of it fits elsewhere; "
                             "free some space and re-run") from None
        self.read_only, self.opened_path = True, copy
        return chromadb.PersistentClient(path=str(copy), settings=_chroma_settings())

    @cached_property
    def core(self):
        """Chroma's engine opened for reading without the chromadb package (chroma_core.py), or
        None where the client reads: a server, an ingest's store (`create`), a private copy, a
        read-only store, a store that is not there or does not open (the client says why)."""
        s = self.settings
        if s.uses_server or self._create or self._private_copy or "client" in self.__dict__:
            return None
        path = Path(s.store)
        if not (path / "chroma.sqlite3").is_file() or is_read_only(path):
            return None
        try:
            core = chroma_core.ChromaCore.open(path)
        except Exception:  # whatever it is, the client meets it too and names it (full disk, damage)
            return None
        if core is not None:
            self.opened_path = path
        return core

    def _reader(self, suffix: str):
        """What reads collection `suffix`: the core until this Store writes, then the client (so
        a process reads its own writes through the one engine that made them)."""
        core = None if self._wrote else self.core
        return core.collection(f"{self.settings.collection}_{suffix}") if core is not None else self._client_collection(suffix)

    def _client_collection(self, suffix: str):
        if suffix not in self._client_collections:
            self._client_collections[suffix] = self._collection(suffix)
        return self._client_collections[suffix]

    def _collection(self, suffix: str):
        name = f"{self.settings.collection}_{suffix}"
        try:
            # embedding_function=None: never let Chroma fall back to its downloading default model.
            return self.client.get_or_create_collection(name, embedding_function=None,
                                                        metadata={"hnsw:space": "cosine"})
        except StoreError:
            raise
        except Exception as exc:
            fault = store_fault(exc, self.settings.store_label)
            if fault is not None:
                raise fault from None
            raise StoreError(f"cannot open collection '{name}' in {self.settings.store_label} "
                             f"({type(exc).__name__}: {str(exc)[:120]})") from None

    # The collections, opened on first use: the embedded chunks (English passages), the chunks kept
    # for BM25 and the answerers only (Chinese sections), one record per paper, and the store's state.
    chunks = cached_property(lambda self: _Collection(self, "chunks"))
    text_chunks = cached_property(lambda self: _Collection(self, "text"))
    papers_collection = cached_property(lambda self: _Collection(self, "papers"))
    meta = cached_property(lambda self: _Collection(self, "meta"))

    @property
    def chunk_collections(self):
        return (self.chunks, self.text_chunks)

    def chunk_count(self) -> int:
        return sum(c.count() for c in self.chunk_collections)

    # -- reading ----------------------------------------------------------------------------
    def papers(self) -> PaperCatalog:
        """Every stored paper by id, in the store's order (cached for the life of this Store; writes
        invalidate it). Read from the paper table when one is valid for what the store holds now
        (paper_table.py), else from the records (and the table written, unless the store changed
        meanwhile). A store being written (an ingest's) is always read from its records."""
        if self._papers_cache is None:
            if self._create or self._wrote:
                self._papers_key, self._papers_cache = None, PaperCatalog.of(self._read_papers())
            else:
                key = self.cache_key()
                self._papers_cache = load_or_save_table(cache_folders(self.settings), self.settings.collection, key,
                                                        lambda: (self._read_papers(), self.cache_key()))
                self._papers_key = key
        return self._papers_cache

    def _read_papers(self) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for offset in range(0, self.papers_collection.count(), _PAGE):
            got = self.papers_collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            for doc, meta in zip(got["documents"], got["metadatas"], strict=False):
                paper = _paper_of(meta, doc)
                if paper is not None:
                    out[paper.id] = paper
        return out

    def forget_papers(self, unless_read_for: str | None = None) -> None:
        """Drop the cached catalogue: the next `papers()` reads the store again (unless it was read
        for the key `unless_read_for`: then it is what the store holds now)."""
        if unless_read_for is None or unless_read_for != self._papers_key:
            self._papers_cache = None

    def paper_states(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """id -> (content hash, digests) as recorded: what ingest compares against."""
        states = {}
        for offset in range(0, self.papers_collection.count(), _PAGE):
            got = self.papers_collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for pid, meta in zip(got["ids"], got["metadatas"], strict=False):
                states[pid] = (meta.get("content_hash", ""), tuple(meta.get("digests") or ()))
        return states

    def chunk_embeddings(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        return {cid: list(emb) for cid, emb, _ in self._chunk_rows(chunk_ids, sentences=False)}

    def passage_vectors(self, chunk_ids: list[str]) -> tuple[dict[str, list[float]], dict[str, str]]:
        """The stored vectors of those chunks, and the sentence vectors of those that have them
        (as stored: sentence_vectors.encode)."""
        vectors: dict[str, list[float]] = {}
        sentences: dict[str, str] = {}
        for cid, emb, meta in self._chunk_rows(chunk_ids, sentences=True):
            vectors[cid] = list(emb)
            if isinstance(meta, dict) and isinstance(meta.get(SENTENCES_KEY), str):
                sentences[cid] = meta[SENTENCES_KEY]
        return vectors, sentences

    def _chunk_rows(self, chunk_ids: list[str], sentences: bool) -> Iterator[tuple[str, object, object]]:
        """(id, embedding, metadata or None) of those chunks; the metadata (with every sentence vector) only
        when `sentences`: the briefing's reads need the embeddings alone."""
        include = ["embeddings", "metadatas"] if sentences else ["embeddings"]
        for i in range(0, len(chunk_ids), _BATCH):
            got = self.chunks.get(ids=chunk_ids[i:i + _BATCH], include=include)
            metas = (got["metadatas"] or []) if sentences else [None] * len(got["ids"])
            yield from zip(got["ids"], got["embeddings"], metas, strict=False)

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk, embedded or not (what the lexical index is built from)."""
        for collection in self.chunk_collections:
            for offset in range(0, collection.count(), _PAGE):
                yield from _stored_chunks(collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset))

    def chunk_ids(self) -> Iterator[str]:
        """Every chunk's id, embedded or not (ids alone: no text is read)."""
        for collection in self.chunk_collections:
            for offset in range(0, collection.count(), _PAGE):
                yield from collection.get(include=[], limit=_PAGE, offset=offset)["ids"]

    def chunks_by_id(self, chunk_ids: list[str]) -> Iterator[StoredChunk]:
        """These chunks (those that exist), from whichever collection holds them."""
        for collection in self.chunk_collections:
            for i in range(0, len(chunk_ids), _BATCH):
                yield from _stored_chunks(collection.get(ids=chunk_ids[i:i + _BATCH], include=["documents", "metadatas"]))

    def chunks_of(self, paper_ids: Iterable[str]) -> list[StoredChunk]:
        """Every chunk of these papers, embedded or not."""
        return [c for collection in self.chunk_collections for c in self._chunks_in(collection, list(paper_ids))]

    @staticmethod
    def _chunks_in(collection, ids: list[str]) -> list[StoredChunk]:
        out = []
        for i in range(0, len(ids), _BATCH):
            out.extend(_stored_chunks(collection.get(where={"paper_id": {"$in": ids[i:i + _BATCH]}},
                                                     include=["documents", "metadatas"])))
        return out

    def dense_query(self, embedding: list[float], n: int, paper_ids: set[str] | None = None) -> list[DenseHit]:
        """Nearest chunks by cosine similarity, optionally restricted to some papers, through Chroma's
        (approximate) HNSW index. Questions search exactly instead (search/vectors.py)."""
        if paper_ids is not None and not paper_ids:
            return []
        where = {"paper_id": {"$in": sorted(paper_ids)}} if paper_ids is not None else None
        total = self.chunks.count()
        if total == 0:
            return []
        got = self.chunks.query(query_embeddings=[embedding], n_results=min(n, total), where=where,
                                include=["documents", "metadatas", "distances"])
        return [DenseHit(StoredChunk(cid, m["paper_id"], m.get("section", ""), d or ""), 1.0 - float(dist))
                for cid, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
                                           strict=False)]

    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for i in range(0, len(paper_ids), _BATCH):
            got = self.papers_collection.get(ids=paper_ids[i:i + _BATCH], include=["embeddings"])
            out.update({pid: np.asarray(e, dtype=np.float32) for pid, e in zip(got["ids"], got["embeddings"], strict=False)})
        return out

    def _meta_get(self, ids: list[str], include: list[str]) -> dict:
        """`meta.get(ids=…, include=…)`, read straight from the catalogue where it can be
        (chroma_core.read_records: every command reads these few records, and opening even the
        core costs more than reading them), else through Chroma."""
        if not (self.settings.uses_server or self._create or self._wrote or self._private_copy):
            found = chroma_core.read_records(Path(self.settings.store), f"{self.settings.collection}_meta", tuple(ids))
            if found is not None:
                present = [i for i in ids if i in found]
                return {"ids": present, "metadatas": [found[i][0] for i in present],
                        "documents": [found[i][1] for i in present]}
        return self.meta.get(ids=ids, include=include)

    def state(self) -> dict:
        got = self._meta_get(["state"], ["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else {"generation": 0, "last_ingest": None}

    def stats(self) -> dict:
        papers = self.papers()
        categories: dict[str, int] = {}
        digests: set[str] = set()
        for paper in papers.values():
            categories[paper.category] = categories.get(paper.category, 0) + 1
            digests.update(paper.digests)
        return {
            "papers": len(papers),
            "chunks": self.chunk_count(),
            "digests": len(digests),
            "digest_names": sorted(digests),
            "categories": dict(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
            "store_bytes": self.size_bytes(),
            "store": self.settings.store_label,
            "last_ingest": self.state().get("last_ingest"),
        }

    def size_bytes(self) -> int | None:
        if self.settings.uses_server:
            return None  # the server owns its disk
        return sum(p.stat().st_size for p in Path(self.settings.store).rglob("*") if p.is_file())

    def orphan_chunk_ids(self, known: set[str] | None = None) -> list[str]:
        """Chunks whose paper has no record (left by a killed ingest before its paper was written)."""
        known = set(self.paper_states()) if known is None else known
        # A chunk id starts with its paper's id (`paper#section#hash`): ids alone answer this, without
        # reading every chunk's text (which made an unchanged re-ingest of 350 papers cost a second).
        return [cid for cid in self.chunk_ids() if cid.split("#", 1)[0] not in known]

    # -- writing ----------------------------------------------------------------------------
    def write_papers(self, batch: list[tuple[Paper, list[Chunk], list[list[float] | None]]],
                     sentences: dict[str, str] | None = None) -> None:
        """Replace several papers' chunks and records: every chunk first, stale chunks next, every
        paper record last (the crash-safe order described above, per batch). A chunk whose
        embedding is None is not embedded and goes to the text collection. One upsert per
        collection for the whole batch, because each Chroma call pays a disk sync (~33 ms here)
        whatever its size; per-paper calls made writing cost more than parsing and chunking.
        `sentences`: chunk id -> its sentence vectors (sentence_vectors.encode), kept with the chunk."""
        if not batch:
            return
        sentences = sentences or {}
        dense: list[tuple] = []
        text: list[tuple] = []
        for paper, chunks, embeddings in batch:
            for chunk, vector in zip(chunks, embeddings, strict=False):
                if vector is None:
                    text.append((chunk, paper, [1.0], None))  # placeholder: this collection is never queried by vector
                else:
                    dense.append((chunk, paper, vector, sentences.get(chunk.id)))
        paper_ids = [paper.id for paper, _, _ in batch]
        self._stamp_write()  # before as well as after: see _stamp_write
        self._upsert_chunks(self.chunks, dense)
        self._upsert_chunks(self.text_chunks, text, text_in_metadata=True)
        for collection, rows in ((self.chunks, dense), (self.text_chunks, text)):
            keep = {chunk.id for chunk, _, _, _ in rows}
            stale = [c.id for c in self._chunks_in(collection, paper_ids) if c.id not in keep]
            for i in range(0, len(stale), _BATCH):
                collection.delete(ids=stale[i:i + _BATCH])
        records = [(paper, self._paper_vector([v for v in embeddings if v is not None])) for paper, _, embeddings in batch]
        self.papers_collection.upsert(
            ids=[paper.id for paper, _ in records], embeddings=[vector for _, vector in records],
            metadatas=[{"paper": paper.to_json(ascii_only=True), "content_hash": paper.content_hash(), "category": paper.category,
                        "digests": list(paper.digests) or [""], "dates": list(paper.dates) or [""]}
                       for paper, _ in records])
        self._papers_cache = None
        self._stamp_write()

    @staticmethod
    def _upsert_chunks(collection, rows: list[tuple], text_in_metadata: bool = False) -> None:
        # Writes only: llama-index takes ~1 s to import, and no read needs chunking's node helpers.
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        from assistant.ingest.chunking import chunk_to_node

        for i in range(0, len(rows), _BATCH):
            part = rows[i:i + _BATCH]
            nodes = [chunk_to_node(chunk, paper) for chunk, paper, _, _ in part]
            if text_in_metadata:
                # No llama-index node record (~690 characters a chunk, as much again to write as the
                # text) and no filter keys: this collection is read by id and paper id only, and each
                # metadata key is a row Chroma indexes (0.49 -> 0.30 ms a chunk to write).
                metadatas = [{"paper_id": n.metadata["paper_id"], "section": n.metadata["section"],
                              "text": json.dumps(n.get_content())} for n in nodes]
            else:
                metadatas = [node_to_metadata_dict(n, remove_text=True, flat_metadata=False) for n in nodes]
                for metadata, (_, _, _, encoded) in zip(metadatas, part, strict=True):
                    if encoded:
                        metadata[SENTENCES_KEY] = encoded
            collection.upsert(ids=[n.node_id for n in nodes], embeddings=[list(v) for _, _, v, _ in part],
                              documents=None if text_in_metadata else [n.get_content() for n in nodes],
                              metadatas=metadatas)

    @staticmethod
    def _paper_vector(embeddings: list[list[float]]) -> list[float]:
        """A paper's own vector: the normalised mean of its chunks' vectors."""
        vector = np.mean(np.asarray(embeddings, dtype=np.float32), axis=0) if len(embeddings) else np.zeros(384, np.float32)
        norm = float(np.linalg.norm(vector)) or 1.0
        return (vector / norm).tolist()

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        for collection in self.chunk_collections:
            present = set()
            for i in range(0, len(chunk_ids), _BATCH):
                present.update(collection.get(ids=chunk_ids[i:i + _BATCH], include=[])["ids"])
            ids = [cid for cid in chunk_ids if cid in present]
            if ids:
                self._stamp_write()
            for i in range(0, len(ids), _BATCH):
                collection.delete(ids=ids[i:i + _BATCH])
        if chunk_ids:
            self._stamp_write()

    def delete_papers(self, paper_ids: list[str]) -> None:
        """Remove papers entirely: their chunks first, then their records (a kill in between leaves
        orphan chunks, which the next ingest removes)."""
        if not paper_ids:
            return
        self._stamp_write()
        self.delete_chunks([c.id for c in self.chunks_of(paper_ids)])
        for i in range(0, len(paper_ids), _BATCH):
            self.papers_collection.delete(ids=paper_ids[i:i + _BATCH])
        self._papers_cache = None
        self._stamp_write()

    def relist_papers(self, papers: list[Paper]) -> None:
        """Rewrite where these stored papers appeared (digests, dates) without touching their text,
        chunks or vectors: the paper records are what filters read."""
        if papers:
            self._stamp_write()
        for i in range(0, len(papers), _BATCH):
            part = papers[i:i + _BATCH]
            self.papers_collection.update(
                ids=[p.id for p in part],
                metadatas=[{"paper": p.to_json(ascii_only=True), "content_hash": p.content_hash(), "category": p.category,
                            "digests": list(p.digests) or [""], "dates": list(p.dates) or [""]} for p in part])
        if papers:
            self._papers_cache = None
            self._stamp_write()

    def _stamp_write(self) -> None:
        """Record that the content changed. Caches key on this stamp as well as the generation, so
        the papers an ingest wrote before it was killed (no generation bump) are not hidden behind
        a cache built before them. Every write stamps before it changes anything as well as after:
        a write killed halfway then still leaves a key no cache was built for (the catalogue itself
        is a cache now, paper_table.py); one more small upsert per group of papers (~1% of an
        ingest's time)."""
        self.meta.upsert(ids=["written"], embeddings=[[1.0]], documents=["{}"],
                         metadatas=[{"stamp": uuid.uuid4().hex[:12]}])

    def bump_generation(self, sentence_vectors: bool | None = None) -> None:
        """Mark a completed write. Caches derived from the store are keyed by (store_id, generation).
        `sentence_vectors`: whether every embedded chunk now has its sentence vectors (None: as before)."""
        state = self.state()
        generation = int(state.get("generation") or 0) + 1
        store_id = state.get("store_id") or uuid.uuid4().hex[:12]
        complete = bool(state.get(SENTENCES_KEY)) if sentence_vectors is None else sentence_vectors
        self.meta.upsert(ids=["state"], embeddings=[[1.0]], documents=[json.dumps({"schema": SCHEMA_VERSION})],
                         metadatas=[{"generation": generation, "last_ingest": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                     "schema": SCHEMA_VERSION, "store_id": store_id, SENTENCES_KEY: complete}])

    def papers_without_sentence_vectors(self) -> set[str]:
        """Papers with an embedded chunk that has no sentence vectors (written before they existed,
        or by the torch fallback): a scan of the chunks' metadata, which ingest does until a store
        records that every chunk has them (`state()[SENTENCES_KEY]`)."""
        lacking: set[str] = set()
        for offset in range(0, self.chunks.count(), _PAGE):
            for metadata in self.chunks.get(include=["metadatas"], limit=_PAGE, offset=offset)["metadatas"]:
                if isinstance(metadata, dict) and not isinstance(metadata.get(SENTENCES_KEY), str):
                    lacking.add(str(metadata.get("paper_id")))
        return lacking

    def digest_records(self) -> dict[str, dict]:
        """name -> {date, order, ingested_at} as recorded by ingest ({} for older stores)."""
        got = self._meta_get(["digests"], ["documents"])
        if not (got["ids"] and got["documents"][0]):
            return {}
        try:  # a damaged record reads as none (labels then come from the papers), never a traceback
            records = json.loads(got["documents"][0])
        except (ValueError, RecursionError):
            return {}
        return {k: v for k, v in records.items() if isinstance(v, dict)} if isinstance(records, dict) else {}

    def record_digests(self, digests: list[tuple[str, str | None]], sample: frozenset[str] = frozenset()) -> None:
        """Remember (name, date) of each ingested digest: a new name gets the next ingest order (its
        first ingest decides), a known one keeps its order and takes a newly given date. Names in
        `sample` are the packaged sample's (assistant/ingest/sample.py)."""
        records = self.digest_records()
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for name, day in digests:
            record = records.get(name)
            if record is None:
                records[name] = record = {"date": day, "order": max((r.get("order", 0) for r in records.values()),
                                                                    default=0) + 1, "ingested_at": now}
            elif day and record.get("date") != day:
                record["date"] = day
            if name in sample:
                record["sample"] = True
        self._write_digest_records(records)

    def forget_digests(self, names: list[str]) -> None:
        records = self.digest_records()
        if any(name in records for name in names):
            self._write_digest_records({n: r for n, r in records.items() if n not in names})

    def _write_digest_records(self, records: dict[str, dict]) -> None:
        self.meta.upsert(ids=["digests"], embeddings=[[1.0]], documents=[json.dumps(records, ensure_ascii=False)],
                         metadatas=[{"schema": SCHEMA_VERSION}])

    def cache_key(self) -> str:
        """Names what the store holds now: store id, generation and the last write's stamp."""
        got = self._meta_get(["state", "written"], ["metadatas"])
        found = dict(zip(got["ids"], got["metadatas"], strict=False))
        state, written = found.get("state") or {}, found.get("written") or {}
        return f"{state.get('store_id', 'none')}-g{state.get('generation', 0)}-w{written.get('stamp', '0')}"
