"""The paper store: Chroma collections behind one class, embedded on disk or on a Chroma server.

Schema (owned here and nowhere else):
- `<prefix>_chunks`: one record per chunk, written as llama-index TextNodes (so llama-index's
  ChromaVectorStore can read them) with metadata paper_id, title, category, section, digests, dates.
- `<prefix>_papers`: one record per paper; document = the Paper as JSON, embedding = the mean of
  its chunk embeddings, metadata = content hash and where it appeared.
- `<prefix>_meta`: one record holding the store generation (bumped by every write) and last ingest,
  and one ("digests") holding each digest's date, ingest order and ingest time (see digests.py).

Write order per batch of papers makes a killed ingest safe to resume: chunks are upserted first, stale
chunks deleted next, and the paper record (with its content hash) written last. A paper whose
record is missing or stale is simply processed again by the next ingest.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .config import Settings
from .errors import StoreError
from .types import Chunk, Paper

_BATCH = 1000  # ids per Chroma get/delete call (keeps request sizes sane on a server)
# Records per page when reading a whole collection. Each offset page costs Chroma more the further
# it starts, so fewer, larger pages read faster: at 50k papers the catalogue took 8.8 s in 1,000-record
# pages and 1.3 s in 5,000-record ones (a scan of 350k chunks is dominated by volume, not paging).
_PAGE = 5000
SCHEMA_VERSION = 1


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


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


class Store:
    def __init__(self, settings: Settings, create: bool = False):
        self.settings = settings
        self._create = create
        self._papers_cache: dict[str, Paper] | None = None

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
            raise StoreError(f"no store at {path}: run `digestqa ingest PATH` first (or pass --store DIR)")
        if path.exists() and not path.is_dir():
            raise StoreError(f"store path {path} is a file, not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        except Exception as exc:
            raise StoreError(f"the store at {path} cannot be opened ({type(exc).__name__}: {str(exc)[:120]}); "
                             "it may be corrupt: move it aside and ingest again") from None

    def _collection(self, suffix: str):
        name = f"{self.settings.collection}_{suffix}"
        try:
            # embedding_function=None: never let Chroma fall back to its downloading default model.
            return self.client.get_or_create_collection(name, embedding_function=None,
                                                        metadata={"hnsw:space": "cosine"})
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open collection '{name}' in {self.settings.store_label} "
                             f"({type(exc).__name__}: {str(exc)[:120]})") from None

    @cached_property
    def chunks(self):
        return self._collection("chunks")

    @cached_property
    def papers_collection(self):
        return self._collection("papers")

    @cached_property
    def meta(self):
        return self._collection("meta")

    @cached_property
    def vector_store(self):
        """llama-index's view of the chunk collection (used by retrieval and baselines)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks, flat_metadata=False)

    # -- reading ----------------------------------------------------------------------------
    def papers(self) -> dict[str, Paper]:
        """Every stored paper by id (cached for the life of this Store; writes invalidate it)."""
        if self._papers_cache is None:
            out: dict[str, Paper] = {}
            for offset in range(0, self.papers_collection.count(), _PAGE):
                got = self.papers_collection.get(include=["documents"], limit=_PAGE, offset=offset)
                for doc in got["documents"]:
                    paper = Paper.from_json(doc)
                    out[paper.id] = paper
            self._papers_cache = out
        return self._papers_cache

    def paper_states(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """id -> (content hash, digests) as recorded: what ingest compares against."""
        states = {}
        for offset in range(0, self.papers_collection.count(), _PAGE):
            got = self.papers_collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for pid, meta in zip(got["ids"], got["metadatas"]):
                states[pid] = (meta.get("content_hash", ""), tuple(meta.get("digests") or ()))
        return states

    def chunk_embeddings(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        out = {}
        for i in range(0, len(chunk_ids), _BATCH):
            got = self.chunks.get(ids=chunk_ids[i:i + _BATCH], include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"]):
                out[cid] = list(emb)
        return out

    def iter_chunks(self) -> Iterator[StoredChunk]:
        for offset in range(0, self.chunks.count(), _PAGE):
            got = self.chunks.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield StoredChunk(cid, meta["paper_id"], meta.get("section", ""), doc or "")

    def chunks_of(self, paper_ids: Iterable[str]) -> list[StoredChunk]:
        ids = list(paper_ids)
        out = []
        for i in range(0, len(ids), _BATCH):
            got = self.chunks.get(where={"paper_id": {"$in": ids[i:i + _BATCH]}}, include=["documents", "metadatas"])
            out.extend(StoredChunk(cid, m["paper_id"], m.get("section", ""), d or "")
                       for cid, d, m in zip(got["ids"], got["documents"], got["metadatas"]))
        return out

    def dense_query(self, embedding: list[float], n: int, paper_ids: set[str] | None = None) -> list[DenseHit]:
        """Nearest chunks by cosine similarity, optionally restricted to some papers."""
        if paper_ids is not None and not paper_ids:
            return []
        where = {"paper_id": {"$in": sorted(paper_ids)}} if paper_ids is not None else None
        total = self.chunks.count()
        if total == 0:
            return []
        got = self.chunks.query(query_embeddings=[embedding], n_results=min(n, total), where=where,
                                include=["documents", "metadatas", "distances"])
        return [DenseHit(StoredChunk(cid, m["paper_id"], m.get("section", ""), d or ""), 1.0 - float(dist))
                for cid, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def paper_vectors(self, paper_ids: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for i in range(0, len(paper_ids), _BATCH):
            got = self.papers_collection.get(ids=paper_ids[i:i + _BATCH], include=["embeddings"])
            out.update({pid: np.asarray(e, dtype=np.float32) for pid, e in zip(got["ids"], got["embeddings"])})
        return out

    def state(self) -> dict:
        got = self.meta.get(ids=["state"], include=["metadatas"])
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
            "chunks": self.chunks.count(),
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

    def orphan_chunk_ids(self) -> list[str]:
        """Chunks whose paper has no record (left by a killed ingest before its paper was written)."""
        known = set(self.paper_states())
        return [c.id for c in self.iter_chunks() if c.paper_id not in known]

    # -- writing ----------------------------------------------------------------------------
    def write_paper(self, paper: Paper, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        """Replace one paper's chunks and record, in the crash-safe order described above."""
        self.write_papers([(paper, chunks, embeddings)])

    def write_papers(self, batch: list[tuple[Paper, list[Chunk], list[list[float]]]]) -> None:
        """Replace several papers' chunks and records: every chunk first, stale chunks next, every
        paper record last (the crash-safe order described above, per batch). One upsert per
        collection for the whole batch, because each Chroma call pays a disk sync (~33 ms here)
        whatever its size; per-paper calls made writing cost more than parsing and chunking."""
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        from .chunking import chunk_to_node

        if not batch:
            return
        nodes, vectors = [], []
        for paper, chunks, embeddings in batch:
            nodes += [chunk_to_node(c, paper) for c in chunks]
            vectors += list(embeddings)
        for i in range(0, len(nodes), _BATCH):
            part = nodes[i:i + _BATCH]
            self.chunks.upsert(ids=[n.node_id for n in part], embeddings=vectors[i:i + _BATCH],
                               documents=[n.get_content() for n in part],
                               metadatas=[node_to_metadata_dict(n, remove_text=True, flat_metadata=False) for n in part])
        keep = {n.node_id for n in nodes}
        stale = [c.id for c in self.chunks_of([paper.id for paper, _, _ in batch]) if c.id not in keep]
        self.delete_chunks(stale)
        records = [(paper, self._paper_vector(embeddings)) for paper, _, embeddings in batch]
        self.papers_collection.upsert(
            ids=[paper.id for paper, _ in records], embeddings=[vector for _, vector in records],
            documents=[paper.to_json() for paper, _ in records],
            metadatas=[{"content_hash": paper.content_hash(), "category": paper.category,
                        "digests": list(paper.digests) or [""], "dates": list(paper.dates) or [""]}
                       for paper, _ in records])
        self._papers_cache = None

    @staticmethod
    def _paper_vector(embeddings: list[list[float]]) -> list[float]:
        """A paper's own vector: the normalised mean of its chunks' vectors."""
        vector = np.mean(np.asarray(embeddings, dtype=np.float32), axis=0) if len(embeddings) else np.zeros(384, np.float32)
        norm = float(np.linalg.norm(vector)) or 1.0
        return (vector / norm).tolist()

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        for i in range(0, len(chunk_ids), _BATCH):
            self.chunks.delete(ids=chunk_ids[i:i + _BATCH])

    def bump_generation(self) -> None:
        """Mark a completed write. Caches derived from the store are keyed by (store_id, generation)."""
        state = self.state()
        generation = int(state.get("generation") or 0) + 1
        store_id = state.get("store_id") or uuid.uuid4().hex[:12]
        self.meta.upsert(ids=["state"], embeddings=[[1.0]], documents=[json.dumps({"schema": SCHEMA_VERSION})],
                         metadatas=[{"generation": generation, "last_ingest": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                     "schema": SCHEMA_VERSION, "store_id": store_id}])

    def digest_records(self) -> dict[str, dict]:
        """name -> {date, order, ingested_at} as recorded by ingest ({} for older stores)."""
        got = self.meta.get(ids=["digests"], include=["documents"])
        return json.loads(got["documents"][0]) if got["ids"] and got["documents"][0] else {}

    def record_digests(self, digests: list[tuple[str, str | None]]) -> None:
        """Remember (name, date) of each ingested digest: a new name gets the next ingest order (its
        first ingest decides), a known one keeps its order and takes a newly given date."""
        records = self.digest_records()
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for name, day in digests:
            record = records.get(name)
            if record is None:
                records[name] = {"date": day, "order": len(records) + 1, "ingested_at": now}
            elif day and record.get("date") != day:
                record["date"] = day
        self.meta.upsert(ids=["digests"], embeddings=[[1.0]], documents=[json.dumps(records, ensure_ascii=False)],
                         metadatas=[{"schema": SCHEMA_VERSION}])

    def cache_key(self) -> str:
        state = self.state()
        return f"{state.get('store_id', 'none')}-g{state.get('generation', 0)}"
