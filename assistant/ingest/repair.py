"""A damaged vector index in an embedded store: found without unpickling anything, named in one
line, and rebuilt by `digestqa repair`.

Chroma keeps each collection's HNSW index in a folder of the store, with its id map in
`index_metadata.pickle`. When that file is truncated or replaced, every command that opens the
collection used to end in Chroma's traceback ("Error deserializing pickle file"). Chroma reads the
file with a data-only decoder, so nothing runs; here the file is checked the same way, opcode by
opcode with `pickletools` (which only parses), so nothing is ever unpickled by us either.

The repair moves the damaged index folder aside (`<store>/.damaged/`) and writes the collection
again from what its other half, the SQLite metadata, still holds: every record's id, text and
metadata. Vectors come back from the vector cache or the model (chunks), as the mean of a paper's
chunk vectors (papers), or are the 1-value placeholders the other collections hold. Rebuilding
from Chroma's own log is not enough: the log is trimmed once indexes are written (a store of 2,446
chunks kept 1,033 log entries).
"""
from __future__ import annotations

import pickletools
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import StoreError
from assistant.ingest.chunking import embed_text
from assistant.ingest.pipeline import ingest_lock
from assistant.ingest.store import _BATCH, _PAGE, INDEX_FILE, Store
from assistant.ingest.vector_cache import VectorCache, vector_cache_path

# A Chroma id map is a dict of plain values: these opcodes build such data and nothing else (no
# GLOBAL/REDUCE/BUILD/INST/OBJ: no object is made from a class named in the file).
_DATA_OPCODES = frozenset("""PROTO FRAME STOP MARK POP POP_MARK DUP MEMOIZE PUT BINPUT LONG_BINPUT GET BINGET LONG_BINGET
EMPTY_DICT EMPTY_LIST EMPTY_TUPLE EMPTY_SET DICT LIST TUPLE TUPLE1 TUPLE2 TUPLE3 SETITEM SETITEMS APPEND APPENDS ADDITEMS
FROZENSET NONE NEWTRUE NEWFALSE INT BININT BININT1 BININT2 LONG LONG1 LONG4 FLOAT BINFLOAT STRING BINSTRING
SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8 BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8""".split())
_MAX_INDEX_FILE = 2_000_000_000


def index_file_problem(path: Path) -> str | None:
    """Why an index file is not a Chroma id map ("truncated", "not Chroma's"), else None."""
    try:
        if path.stat().st_size > _MAX_INDEX_FILE:
            return "too large"
        data = path.read_bytes()
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    try:
        ops = [op.name for op, _, _ in pickletools.genops(data)]
    except Exception:  # pickletools raises ValueError and others on a damaged stream: any is damage
        return "damaged (truncated or overwritten)"
    if not ops or ops[-1] != "STOP" or not set(ops) <= _DATA_OPCODES:
        return "not Chroma's (it would build objects, which a Chroma index never does)"
    return None


def damaged_index_files(store_dir: Path) -> list[tuple[Path, str]]:
    """Every index file of the store that is not a Chroma id map, with why."""
    found = []
    for path in sorted(Path(store_dir).glob(f"*/{INDEX_FILE}")):
        problem = index_file_problem(path)
        if problem is not None:
            found.append((path, problem))
    return found


def damage_error(store_dir: Path, label: str, original: Path | None = None) -> StoreError | None:
    """The one-line error for a store with a damaged index file, or None when none is damaged.
    `original`: the read-only store a private copy (`store_dir`) was made of; the message names
    the original's file, which is the one to repair."""
    damaged = damaged_index_files(store_dir)
    if not damaged:
        return None
    path, problem = damaged[0]
    if original is not None:
        path = original / path.relative_to(store_dir)
        return StoreError(f"the store's index file {path} is {problem}; the store is read-only: copy it somewhere "
                          f"writable and run `digestqa repair --store COPY` (or ingest your digests again)")
    more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
    return StoreError(f"the store's index file {path} is {problem}{more}; run `digestqa repair --store {label}` "
                      "to rebuild it from the stored papers (or move the store aside and ingest again)")


def explain_failure(exc: BaseException, store) -> StoreError | None:
    """The one-line error for a failure that a damaged index file explains (Chroma's own error is
    a traceback naming a Rust decoder), else None. `store`: the Store that was being read."""
    if not (type(exc).__module__.startswith("chromadb") or "pickle" in str(exc).lower()):
        return None
    settings = store.settings
    if settings.uses_server:
        return None
    original = Path(settings.store)
    opened = getattr(store, "opened_path", None) or original
    damage = damage_error(opened, settings.store_label, original if opened != original else None)
    if damage is None and any(word in str(exc).lower() for word in ("hnsw", "pickle")):
        return StoreError(f"the vector index of the store at {settings.store_label} cannot be read "
                          f"({str(exc)[:160]}); move the store aside and ingest your digests again")
    return damage


@dataclass
class RepairReport:
    rebuilt: dict[str, int] = field(default_factory=dict)  # collection -> records written
    moved: list[str] = field(default_factory=list)  # damaged index folders, where they went
    embedded: int = 0  # chunk vectors the model computed (the rest came from the vector cache)
    seconds: float = 0.0


def _collections_of(store_dir: Path, segment_ids: list[str]) -> dict[str, str]:
    """segment folder name -> collection name, read from Chroma's catalogue (read-only)."""
    db = sqlite3.connect(f"file:{store_dir / 'chroma.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT s.id, c.name FROM segments s JOIN collections c ON s.collection = c.id").fetchall()
    except sqlite3.Error as exc:
        raise StoreError(f"the store at {store_dir} cannot be read ({exc}); move it aside and ingest again") from None
    finally:
        db.close()
    names = dict(rows)
    return {sid: names[sid] for sid in segment_ids if sid in names}


def repair_store(settings, embedder) -> RepairReport:
    """Rebuild every damaged vector index of the embedded store (see top). Holds the ingest lock.
    `embedder`: a callable returning the Embedder, called only when chunk vectors are rebuilt."""
    started = time.perf_counter()
    if settings.uses_server:
        raise StoreError("repair works on an embedded store; a Chroma server repairs its own indexes")
    store_dir = Path(settings.store)
    if not (store_dir / "chroma.sqlite3").exists():
        raise StoreError(f"no store at {store_dir}: nothing to repair")
    report = RepairReport()
    lock = ingest_lock(settings)
    try:
        lock.acquire(timeout=0)
    except Exception:
        raise StoreError(f"an ingest is writing to {settings.store_label}; repair when it has finished") from None
    try:
        damaged = damaged_index_files(store_dir)
        if not damaged:
            return report
        names = _collections_of(store_dir, [path.parent.name for path, _ in damaged])
        aside = store_dir / ".damaged" / time.strftime("%Y%m%dT%H%M%S")
        aside.mkdir(parents=True, exist_ok=True)
        for path, _ in damaged:
            target = aside / path.parent.name
            path.parent.rename(target)
            report.moved.append(str(target))
        store = Store(settings)
        suffix = {name.removeprefix(f"{settings.collection}_") for name in names.values()}
        # Chunks before papers: a paper's vector is the mean of its chunks' vectors.
        for part in ("chunks", "text", "meta", "papers"):
            if part in suffix:
                report.rebuilt[f"{settings.collection}_{part}"] = _rebuild(store, part, embedder, report)
    finally:
        lock.release()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _rebuild(store, part: str, embedder, report: RepairReport) -> int:
    name = f"{store.settings.collection}_{part}"
    collection = store.client.get_collection(name, embedding_function=None)
    ids, documents, metadatas = [], [], []
    for offset in range(0, collection.count(), _PAGE):
        got = collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
        ids += got["ids"]
        documents += got["documents"]
        metadatas += got["metadatas"]
    if part == "chunks":
        embedder = embedder()
        texts = [embed_text((m or {}).get("title", ""), d or "") for d, m in zip(documents, metadatas, strict=True)]
        cache = VectorCache(vector_cache_path(store.settings, embedder.identity))
        try:
            known = cache.get_many(list(dict.fromkeys(texts)))
            todo = [t for t in dict.fromkeys(texts) if t not in known]
            if todo:
                known.update(zip(todo, embedder.embed_texts(todo, True), strict=True))
                cache.put_many(todo, [known[t] for t in todo])
            report.embedded += len(todo)
        finally:
            cache.close()
        vectors = [list(known[t]) for t in texts]
    elif part == "papers":
        by_paper: dict[str, list] = {}
        for i in range(0, store.chunks.count(), _PAGE):
            got = store.chunks.get(include=["embeddings", "metadatas"], limit=_PAGE, offset=i)
            for meta, vector in zip(got["metadatas"], got["embeddings"], strict=True):
                by_paper.setdefault(meta["paper_id"], []).append(vector)
        vectors = [store._paper_vector(by_paper.get(pid, [])) for pid in ids]
    else:
        vectors = [[1.0] for _ in ids]
    metadata = collection.metadata
    store.client.delete_collection(name)
    fresh = store.client.get_or_create_collection(name, embedding_function=None, metadata=metadata)
    for i in range(0, len(ids), _BATCH):
        docs = documents[i:i + _BATCH]
        fresh.upsert(ids=ids[i:i + _BATCH], embeddings=[np.asarray(v, dtype=np.float32).tolist() for v in vectors[i:i + _BATCH]],
                     documents=None if all(d is None for d in docs) else [d or "" for d in docs],
                     metadatas=metadatas[i:i + _BATCH])
    for attribute in ("chunks", "text_chunks", "papers_collection", "meta"):
        store.__dict__.pop(attribute, None)  # reopened on next use: the collection is new
    return len(ids)
