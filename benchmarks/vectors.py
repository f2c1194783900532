"""Embedding vectors computed once with the real model and cached on disk, for the scale benchmark.

A real 50k-paper ingest embeds ~400k chunks: hours on a 2-core laptop. The scale benchmark
therefore runs the real `assistant.ingest.pipeline.ingest` (parser, chunker, Chroma store, paper
catalogue, BM25 index all real) with `CachingEmbedder` standing in for the model:

- every vector the real model ever computed here is cached by the SHA-1 of the exact text it
  embedded (`VectorCache`), so a later store of any size reuses it bit for bit;
- texts listed as "must be real" (the chunks of papers that planted questions target) are
  embedded by the real model when not cached;
- any other uncached text gets a *pool* vector: a real cached vector of the same kind of chunk
  (title / English passage / Chinese passage), the very same Chinese passage under another title
  when one was embedded, else one picked by a stable hash of the text; it is jittered slightly
  and re-normalised so that the HNSW index sees distinct points, as it would with real data.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.ingest.embeddings import Embedder
from assistant.text import has_cjk

KINDS = ("title", "en", "zh")
JITTER_SIGMA = 0.01  # per dimension; cosine to the source vector ~0.98 after re-normalising
_TITLE_PREFIX = "title: "


def _sha(text: str) -> bytes:
    return hashlib.sha1(text.encode()).digest()


def split_embed_text(text: str) -> tuple[str, str]:
    """Inverse of assistant.ingest.chunking.embed_text: 'title: T\\n\\nP' -> (T, P)."""
    if text.startswith(_TITLE_PREFIX) and "\n\n" in text:
        title, passage = text[len(_TITLE_PREFIX):].split("\n\n", 1)
        return title, passage
    return "", text


def kind_of(text: str) -> int:
    title, passage = split_embed_text(text)
    if passage == title:
        return 0
    return 2 if has_cjk(passage) else 1


@dataclass
class VectorCache:
    """text SHA-1 -> float32 vector, plus each text's kind and passage SHA-1 (for pool reuse)."""

    path: Path
    keys: list[bytes] = field(default_factory=list)
    passage_keys: list[bytes] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    index: dict[bytes, int] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def load(cls, path: Path) -> VectorCache:
        cache = cls(path)
        if (path / "vectors.npy").exists():
            vectors = np.load(path / "vectors.npy", allow_pickle=False)
            meta = np.load(path / "meta.npy", allow_pickle=False)
            cache.rows = list(vectors)
            cache.keys = [bytes(k) for k in meta["key"]]
            cache.passage_keys = [bytes(k) for k in meta["passage"]]
            cache.kinds = [int(k) for k in meta["kind"]]
            cache.index = {k: i for i, k in enumerate(cache.keys)}
        return cache

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, text: str) -> np.ndarray | None:
        row = self.index.get(_sha(text))
        return None if row is None else self.rows[row]

    def put(self, text: str, vector) -> None:
        key = _sha(text)
        if key in self.index:
            return
        self.index[key] = len(self.keys)
        self.keys.append(key)
        self.passage_keys.append(_sha(split_embed_text(text)[1]))
        self.kinds.append(kind_of(text))
        self.rows.append(np.asarray(vector, dtype=np.float32))
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        meta = np.zeros(len(self.keys), dtype=[("key", "S20"), ("passage", "S20"), ("kind", "i1")])
        meta["key"], meta["passage"], meta["kind"] = self.keys, self.passage_keys, self.kinds
        # Write then rename: a benchmark killed mid-save must not leave a cache that does not load.
        for name, array in (("vectors.npy", np.stack(self.rows)), ("meta.npy", meta)):
            tmp = self.path / f".{name}.tmp.npy"
            np.save(tmp, array)
            tmp.replace(self.path / name)
        self.dirty = False


class Pool:
    """Real cached vectors grouped by chunk kind, to stand in for chunks never embedded."""

    def __init__(self, cache: VectorCache):
        self.matrix = np.stack(cache.rows) if cache.rows else np.zeros((0, 384), np.float32)
        kinds = np.asarray(cache.kinds, dtype=np.int8)
        self.by_kind = {k: np.flatnonzero(kinds == k) for k in range(len(KINDS))}
        self.by_passage: dict[bytes, int] = {}
        for row, (passage, kind) in enumerate(zip(cache.passage_keys, cache.kinds, strict=False)):
            if kind == 2:
                self.by_passage.setdefault(passage, row)
        if any(len(rows) == 0 for rows in self.by_kind.values()):
            raise ValueError("the vector pool needs real vectors of every chunk kind: run a real ingest first")

    def vector_for(self, text: str) -> np.ndarray:
        key = _sha(text)
        kind = kind_of(text)
        row = self.by_passage.get(_sha(split_embed_text(text)[1])) if kind == 2 else None
        if row is None:
            rows = self.by_kind[kind]
            row = int(rows[int.from_bytes(key[:8], "little") % len(rows)])
        rng = np.random.default_rng(int.from_bytes(key[8:16], "little"))
        vector = self.matrix[row] + rng.normal(0.0, JITTER_SIGMA, self.matrix.shape[1]).astype(np.float32)
        return vector / np.linalg.norm(vector)


@dataclass
class EmbedCounts:
    computed: int = 0  # embedded by the real model in this run
    cached: int = 0  # real vectors read from the cache
    pooled: int = 0  # stand-in vectors (see Pool)
    compute_s: float = 0.0


class CachingEmbedder:
    """Duck-types the parts of assistant.ingest.embeddings.Embedder that ingest() uses.

    mode="record": every text is embedded by the real model (an honest cold-ingest timing) and
    its vector cached. mode="reuse": cached vectors first; texts for which `must_be_real(text)`
    holds are embedded for real; everything else gets a pool vector.
    """

    def __init__(self, real: Embedder, cache: VectorCache, mode: str = "record",
                 must_be_real: Callable[[str], bool] | None = None, pool: Pool | None = None):
        if mode not in ("record", "reuse"):
            raise ValueError(mode)
        self.real = real
        self.settings = real.settings
        self.cache = cache
        self.mode = mode
        self.must_be_real = must_be_real or (lambda text: False)
        self.pool = pool
        self.counts = EmbedCounts()

    @property
    def name(self) -> str:
        return self.real.name

    @property
    def onnx(self):
        return self.real.onnx

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return self.real.count_tokens_many(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)

    def embed_texts(self, texts: list[str], bulk: bool = False) -> list[list[float]]:
        import time

        out: list[np.ndarray | None] = [None] * len(texts)
        todo: list[int] = []
        for i, text in enumerate(texts):
            hit = self.cache.get(text) if self.mode == "reuse" else None
            if hit is not None:
                out[i] = hit
                self.counts.cached += 1
            elif self.mode == "record" or self.must_be_real(text) or self.pool is None:
                todo.append(i)
            else:
                out[i] = self.pool.vector_for(text)
                self.counts.pooled += 1
        if todo:
            started = time.perf_counter()
            vectors = self.real.embed_texts([texts[i] for i in todo], bulk=True)
            self.counts.compute_s += time.perf_counter() - started
            self.counts.computed += len(todo)
            for i, vector in zip(todo, vectors, strict=False):
                self.cache.put(texts[i], vector)
                out[i] = np.asarray(vector, dtype=np.float32)
        return [v.tolist() for v in out]
