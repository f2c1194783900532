"""Every embedded chunk's vector in one matrix, for exact question-to-paper similarity.

Set questions are judged by meaning (assistant/search/sets/): each candidate's cosine to the
question, where that cosine sits among every paper's (a question about a subject the digests do not
hold is far from all of them), and how close a candidate is to the papers that are clearly about
the subject. That needs every paper's similarity, not the top of an approximate index: one matrix
product over the chunk vectors (350 papers: ~1,000 x 384; 50,000 papers: ~150k x 384, 230 MB).

The matrix is read from the store once and cached beside the keyword index (same folders, same
key: store id, generation and last write), as plain arrays read without pickle.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from assistant.ingest.store import Store
from assistant.search.lexical import lexical_cache_folders

VECTORS_FORMAT = 1
_PAGE = 5000


class PaperVectors:
    """Chunk vectors (unit length) with the paper each belongs to."""

    def __init__(self, paper_ids: list[str], rows: np.ndarray, matrix: np.ndarray):
        self.paper_ids = paper_ids  # one per paper, in the order of `rows`' codes
        self.rows = rows  # chunk -> paper code
        self.matrix = matrix  # chunks x dims, float32
        self.position = {pid: i for i, pid in enumerate(paper_ids)}
        self._centroids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.paper_ids)

    def paper_scores(self, vector: np.ndarray) -> np.ndarray:
        """Per paper, the cosine of its closest chunk to `vector` (-1 for a paper with none)."""
        best = np.full(len(self.paper_ids), -1.0, dtype=np.float32)
        if len(self.matrix):
            np.maximum.at(best, self.rows, self.matrix @ np.asarray(vector, dtype=np.float32))
        return best

    @property
    def centroids(self) -> np.ndarray:
        """Each paper's own vector: the normalised mean of its chunks' vectors."""
        if self._centroids is None:
            sums = np.zeros((len(self.paper_ids), self.matrix.shape[1] if self.matrix.ndim == 2 else 0), np.float32)
            np.add.at(sums, self.rows, self.matrix)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            self._centroids = sums / np.where(norms > 0, norms, 1.0)
        return self._centroids


def vectors_cache_name(store: Store) -> str:
    return f"vectors-{store.settings.collection}-{store.cache_key()}-v{VECTORS_FORMAT}.npz"


def load_vectors(path: Path, key: str) -> PaperVectors | None:
    """The cached matrix at `path` when well-formed and for this key, else None (never unpickles)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            rows, matrix, header = npz["rows"], npz["matrix"], npz["header"]
        meta = json.loads(header.tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != VECTORS_FORMAT or meta.get("key") != key:
        return None
    papers = meta.get("papers")
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        return None
    if matrix.ndim != 2 or matrix.dtype != np.float32 or rows.ndim != 1 or rows.dtype.kind not in "iu" \
            or len(rows) != len(matrix) or (len(rows) and (rows.min() < 0 or rows.max() >= len(papers))):
        return None
    return PaperVectors(papers, rows.astype(np.int64, copy=False), matrix)


def _read_from_store(store: Store) -> PaperVectors:
    papers: dict[str, int] = {}
    rows: list[int] = []
    blocks: list[np.ndarray] = []
    collection = store.chunks
    for offset in range(0, collection.count(), _PAGE):
        got = collection.get(include=["embeddings", "metadatas"], limit=_PAGE, offset=offset)
        if not len(got["ids"]):
            continue
        rows.extend(papers.setdefault(m["paper_id"], len(papers)) for m in got["metadatas"])
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms > 0, norms, 1.0)
    return PaperVectors(list(papers), np.asarray(rows, dtype=np.int64), matrix.astype(np.float32, copy=False))


def load_or_build_vectors(store: Store) -> PaperVectors:
    """The chunk-vector matrix of what the store holds now: from a valid cache, or read and cached."""
    name = vectors_cache_name(store)
    folders = lexical_cache_folders(store.settings)
    for folder in folders:
        found = load_vectors(folder / name, name)
        if found is not None:
            return found
    vectors = _read_from_store(store)
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
                np.savez(fh, rows=vectors.rows, matrix=vectors.matrix, header=header)
            tmp.replace(path)
            return vectors
        except OSError:
            continue
    return vectors
