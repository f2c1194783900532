"""Every embedded chunk's vector in one matrix, for exact question-to-chunk similarity.

Set questions are judged by meaning (assistant/search/sets/): each candidate's cosine to the
question, where that cosine sits among every paper's (a question about a subject the digests do not
hold is far from all of them), and how close a candidate is to the papers that are clearly about
the subject. That needs every paper's similarity, not the top of an approximate index: one matrix
product over the chunk vectors (350 papers: ~600 x 384; 50,000 papers: ~150k x 384, 230 MB).
Dense retrieval for the embedded store reads the same matrix (`nearest`): every chunk scored, which
Chroma's HNSW index approximates (on the dev and holdout questions the answers are the same; the
index also answered slightly differently from one process to the next), with no Chroma in the
question's process at all.

The matrix is read from the store once and cached beside the keyword index (same folders, same
key: store id, generation and last write), as plain arrays mapped from the file, never unpickled.
Each row also names its chunk, and the chunk's row in the keyword index (whose table holds the
chunk's paper, section and text), checked on use.

Beside it, every embedded passage's sentences as vectors (ingest/sentence_vectors.py), int8 as
stored: a paper whose passages were stored without them (before they existed, or embedded by the
torch fallback) counts each passage vector as one sentence, so every paper has sentence scores.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assistant.compact import Strings, mapped_npz
from assistant.ingest.sentence_vectors import SCALE
from assistant.ingest.sentence_vectors import decode as decode_sentences
from assistant.ingest.store import SENTENCES_KEY, DenseHit, Store
from assistant.search.lexical import ChunkTable, lexical_cache_folders

VECTORS_FORMAT = 3  # 2: chunk ids, keyword-index rows and paper centroids beside the matrix; 3: sentences
_SCORED_AT_ONCE = 16384  # int8 sentence rows turned into float per matrix product (25 MB at 384 dims)
_PAGE = 5000


class PaperVectors:
    """Chunk vectors (unit length) with the paper each belongs to."""

    def __init__(self, paper_ids: list[str], rows: np.ndarray, matrix: np.ndarray,
                 chunk_ids: Strings | None = None, lexical_rows: np.ndarray | None = None,
                 sentences: np.ndarray | None = None, sentence_rows: np.ndarray | None = None):
        self.paper_ids = paper_ids  # one per paper, in the order of `rows`' codes
        self.rows = rows  # chunk -> paper code
        self.matrix = matrix  # chunks x dims, float32
        self.chunk_ids = chunk_ids  # chunk -> its id
        self.lexical_rows = lexical_rows  # chunk -> its row in the keyword index's chunk table
        self.position = {pid: i for i, pid in enumerate(paper_ids)}
        self._centroids: np.ndarray | None = None
        if sentences is None or sentence_rows is None:  # each passage vector stands for its sentences
            sentences, sentence_rows = quantize(matrix), rows
        self.sentences = sentences  # sentences x dims, int8 (unit vectors x 127)
        self.sentence_rows = sentence_rows  # sentence -> paper code
        self._sentence_scale: np.ndarray | None = None  # 1 / each int8 row's length, once a question needs it

    def __len__(self) -> int:
        return len(self.paper_ids)

    def paper_scores(self, vector: np.ndarray) -> np.ndarray:
        """Per paper, the cosine of its closest chunk to `vector` (-1 for a paper with none)."""
        best = np.full(len(self.paper_ids), -1.0, dtype=np.float32)
        if len(self.matrix):
            np.maximum.at(best, self.rows, self.matrix @ np.asarray(vector, dtype=np.float32))
        return best

    def sentence_scores(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per paper, the cosine of its closest sentence to `vector` and the mean of its two closest
        (its one sentence's, for a paper with one; -1 for a paper with none)."""
        vector = np.asarray(vector, dtype=np.float32)
        scores = np.empty(len(self.sentences), np.float32)
        scale = self._sentence_scale
        if scale is None:
            scale = np.empty(len(self.sentences), np.float32)
        for start in range(0, len(self.sentences), _SCORED_AT_ONCE):
            part = self.sentences[start:start + _SCORED_AT_ONCE].astype(np.float32)
            if self._sentence_scale is None:
                norms = np.linalg.norm(part, axis=1)
                scale[start:start + len(part)] = 1.0 / np.where(norms > 0, norms, 1.0)
            scores[start:start + len(part)] = (part @ vector) * scale[start:start + len(part)]
        self._sentence_scale = scale
        best = np.full(len(self.paper_ids), -1.0, np.float32)
        two = np.full(len(self.paper_ids), -1.0, np.float32)
        if not len(scores):
            return best, two
        order = np.lexsort((-scores, self.sentence_rows))  # by paper, then closest first
        papers, ranked = self.sentence_rows[order], scores[order]
        starts = np.flatnonzero(np.r_[True, papers[1:] != papers[:-1]])
        nexts = np.minimum(starts + 1, len(ranked) - 1)
        second = np.where(papers[nexts] == papers[starts], ranked[nexts], ranked[starts])
        best[papers[starts]] = ranked[starts]
        two[papers[starts]] = (ranked[starts] + second) / 2
        return best, two

    def nearest(self, vector, n: int, chunks: ChunkTable, paper_ids: set[str] | None = None) -> list[DenseHit]:
        """The `n` chunks closest to `vector` by cosine, best first (only these papers' chunks when
        `paper_ids` is given), each with its paper, section and text from the keyword index's
        `chunks` table."""
        if paper_ids is not None and not paper_ids or not len(self.matrix):
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        if paper_ids is None:
            candidates = np.arange(len(scores))
        else:
            codes = np.asarray([self.position[p] for p in paper_ids if p in self.position], dtype=np.int64)
            candidates = np.flatnonzero(np.isin(self.rows, codes))
        n = min(n, len(candidates))
        if n <= 0:
            return []
        top = candidates[np.argpartition(-scores[candidates], n - 1)[:n]]
        top = top[np.lexsort((top, -scores[top]))]  # best first; a tie in the store's order
        rows = self._rows_in(chunks, top)
        # (A chunk the keyword index lacks, -1, is one written after it was read: left out.)
        return [DenseHit(chunks[int(row)], float(scores[i])) for i, row in zip(top, rows, strict=True) if row >= 0]

    def _rows_in(self, chunks: ChunkTable, top: np.ndarray) -> np.ndarray:
        """The keyword-index rows of these chunks: as recorded when they name the same chunks (the
        usual case), else found again by id (the keyword index was rebuilt since)."""
        if self.lexical_rows is not None:
            rows = self.lexical_rows[top]
            if len(rows) and rows.min() >= 0 and rows.max() < len(chunks) \
                    and all(chunks.ids[int(r)] == self.chunk_ids[int(i)] for i, r in zip(top, rows, strict=True)):
                return rows
        self.lexical_rows = lexical_rows_of(self.chunk_ids, chunks)
        return self.lexical_rows[top]

    @property
    def centroids(self) -> np.ndarray:
        """Each paper's own vector: the normalised mean of its chunks' vectors."""
        if self._centroids is None:
            sums = np.zeros((len(self.paper_ids), self.matrix.shape[1] if self.matrix.ndim == 2 else 0), np.float32)
            np.add.at(sums, self.rows, self.matrix)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            self._centroids = sums / np.where(norms > 0, norms, 1.0)
        return self._centroids


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as the int8 the sentence matrix holds (sentence_vectors.SCALE)."""
    return np.clip(np.rint(np.asarray(vectors, np.float32) * SCALE), -127, 127).astype(np.int8)


def lexical_rows_of(chunk_ids: Strings, chunks: ChunkTable) -> np.ndarray:
    """Each chunk's row in the keyword index's table (-1 for one it lacks, which a store read
    between two writes could show)."""
    row_of = {cid: i for i, cid in enumerate(chunks.ids)}
    return np.fromiter((row_of.get(cid, -1) for cid in chunk_ids), dtype=np.int64, count=len(chunk_ids))


def vectors_cache_name(store: Store) -> str:
    return f"vectors-{store.settings.collection}-{store.cache_key()}-v{VECTORS_FORMAT}.npz"


_ARRAYS = ("rows", "matrix", "ids", "id_offsets", "lexical_rows", "centroids", "sentences", "sentence_rows", "header")


def load_vectors(path: Path, key: str) -> PaperVectors | None:
    """The cached matrix at `path` when well-formed and for this key, else None (never unpickles)."""
    try:
        a = mapped_npz(path, _ARRAYS)
        meta = json.loads(a["header"].tobytes().decode())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != VECTORS_FORMAT or meta.get("key") != key:
        return None
    papers = meta.get("papers")
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        return None
    rows, matrix, lexical_rows = a["rows"], a["matrix"], a["lexical_rows"]
    if matrix.ndim != 2 or matrix.dtype != np.float32 or rows.ndim != 1 or rows.dtype.kind not in "iu" \
            or len(rows) != len(matrix) or (len(rows) and (rows.min() < 0 or rows.max() >= len(papers))):
        return None
    if not Strings.well_formed(a["ids"], a["id_offsets"]) or len(a["id_offsets"]) - 1 != len(rows) \
            or lexical_rows.ndim != 1 or lexical_rows.dtype.kind != "i" or len(lexical_rows) != len(rows):
        return None
    centroids = a["centroids"]
    if centroids.dtype != np.float32 or centroids.shape != (len(papers), matrix.shape[1]):
        return None
    sentences, sentence_rows = a["sentences"], a["sentence_rows"]
    if sentences.dtype != np.int8 or sentences.ndim != 2 or sentences.shape[1] != matrix.shape[1] \
            or sentence_rows.ndim != 1 or sentence_rows.dtype.kind not in "iu" or len(sentence_rows) != len(sentences) \
            or (len(sentence_rows) and (sentence_rows.min() < 0 or sentence_rows.max() >= len(papers))):
        return None
    chunk_ids = Strings(a["ids"], a["id_offsets"].astype(np.int64, copy=False))
    vectors = PaperVectors(papers, rows.astype(np.int64, copy=False), matrix, chunk_ids,
                           lexical_rows.astype(np.int64, copy=False), sentences, sentence_rows.astype(np.int64, copy=False))
    vectors._centroids = centroids  # as `centroids` computed them when the file was written
    return vectors


def _read_from_store(store: Store, chunks: ChunkTable) -> PaperVectors:
    papers: dict[str, int] = {}
    rows: list[int] = []
    ids: list[str] = []
    blocks: list[np.ndarray] = []
    sentence_blocks: list[np.ndarray] = []
    sentence_rows: list[np.ndarray] = []
    collection = store.chunks
    for offset in range(0, collection.count(), _PAGE):
        got = collection.get(include=["embeddings", "metadatas"], limit=_PAGE, offset=offset)
        if not len(got["ids"]):
            continue
        codes = [papers.setdefault(m["paper_id"], len(papers)) for m in got["metadatas"]]
        rows.extend(codes)
        ids.extend(got["ids"])
        block = np.asarray(got["embeddings"], dtype=np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = block / np.where(norms > 0, norms, 1.0)
        blocks.append(block)
        for code, vector, metadata in zip(codes, block, got["metadatas"], strict=True):
            found = decode_sentences(metadata.get(SENTENCES_KEY), block.shape[1])
            found = quantize(found if found is not None and len(found) else vector[None, :])
            sentence_blocks.append(found)
            sentence_rows.append(np.full(len(found), code, np.int64))
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)
    chunk_ids = Strings.of(ids)
    sentences = np.concatenate(sentence_blocks) if sentence_blocks else np.zeros((0, matrix.shape[1]), np.int8)
    return PaperVectors(list(papers), np.asarray(rows, dtype=np.int64), matrix.astype(np.float32, copy=False),
                        chunk_ids, lexical_rows_of(chunk_ids, chunks), sentences,
                        np.concatenate(sentence_rows) if sentence_rows else np.zeros(0, np.int64))


def load_or_build_vectors(store: Store, chunks: ChunkTable) -> PaperVectors:
    """The chunk-vector matrix of what the store holds now: from a valid cache, or read and cached.
    `chunks`: the keyword index's table of the same store state (the rows recorded refer to it)."""
    name = vectors_cache_name(store)
    folders = lexical_cache_folders(store.settings)
    for folder in folders:
        found = load_vectors(folder / name, name)
        if found is not None:
            return found
    vectors = _read_from_store(store, chunks)
    if not len(vectors):
        return vectors
    header = np.frombuffer(json.dumps({"format": VECTORS_FORMAT, "key": name, "papers": vectors.paper_ids}).encode(),
                           dtype=np.uint8)
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob(f"vectors-{store.settings.collection}-*"):
                if not old.name.endswith(".tmp"):
                    old.unlink(missing_ok=True)
            path = folder / name
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.savez(fh, rows=vectors.rows, matrix=vectors.matrix, ids=vectors.chunk_ids.blob,
                         id_offsets=vectors.chunk_ids.offsets, lexical_rows=vectors.lexical_rows,
                         centroids=vectors.centroids, sentences=vectors.sentences,
                         sentence_rows=vectors.sentence_rows, header=header)  # (centroids: np.add.at is 0.1 s at 5k papers)
            tmp.replace(path)
            return vectors
        except OSError:
            continue
    return vectors
