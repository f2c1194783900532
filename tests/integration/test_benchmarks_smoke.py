"""Keeps the benchmark scripts working: a tiny scale run with no timing assertions.

No embedding model is loaded: the vector cache is filled with random unit vectors (the benchmark
fills it with the real model's), so only the tokenizer and the ONNX query model are needed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_scale  # noqa: E402
from benchmarks.synthetic import write_synthetic_digests  # noqa: E402
from benchmarks.vectors import VectorCache  # noqa: E402


def _fake_vectors(corpus: Path, vectors: Path, settings) -> None:
    from assistant.ingest.chunking import chunk_paper, embed_text, header_title
    from assistant.ingest.embeddings import Embedder
    from assistant.ingest.parser import parse_digest_file

    embedder = Embedder(settings)
    cache = VectorCache.load(vectors)
    rng = np.random.default_rng(0)
    for paper in parse_digest_file(sorted(corpus.glob("*.md"))[0]).papers[:10]:
        for chunk in chunk_paper(paper, embedder.count_tokens, settings.embed_max_tokens):
            vector = rng.normal(size=384).astype(np.float32)
            cache.put(embed_text(header_title(paper), chunk.text), vector / np.linalg.norm(vector))
    cache.save()


def test_tiny_scale_run(tmp_path):
    corpus, vectors, store = tmp_path / "corpus", tmp_path / "vectors", tmp_path / "store"
    questions = write_synthetic_digests(corpus, 100, per_file=bench_scale.PER_FILE)
    assert len(questions) == 100 and len(list(corpus.glob("*.md"))) == 2
    assert len({q.question for q in questions}) == 100
    _fake_vectors(corpus, vectors, bench_scale._settings(str(store)))

    bulk = bench_scale.phase_bulk_build(str(store), str(corpus), 50, "reuse", str(vectors), [])
    assert bulk["papers_in_store"] == 50 and bulk["vectors_cached"] > 0 and bulk["vectors_pooled"] > 0
    grown = bench_scale.phase_ingest(str(store), str(corpus), 100, "reuse", str(vectors), [])
    assert grown["papers_in_store"] == 100 and grown["added"] == 50 and grown["unchanged"] == 50

    planted = [json.loads(line) for line in (corpus / "planted_questions.jsonl").read_text().splitlines()]
    result = bench_scale.phase_query(str(store), planted[45:55:3], 1, ["hybrid", "lexical"])
    assert result["papers"] == 100 and set(result["search"]) == {"hybrid", "lexical"}
    assert result["search"]["lexical"]["hit_at_5"] == 1.0  # each planted name is unique to its paper


def test_a_batched_write_stores_what_paper_by_paper_writes_store(tmp_path):
    from assistant.ingest.chunking import chunk_paper
    from assistant.ingest.embeddings import Embedder
    from assistant.ingest.store import Store
    from benchmarks.synthetic import synthetic_papers

    papers, _ = synthetic_papers(3, seed=11)
    settings_a = bench_scale._settings(str(tmp_path / "a"))
    settings_b = bench_scale._settings(str(tmp_path / "b"))
    embedder = Embedder(settings_a)
    rng = np.random.default_rng(1)
    batch = []
    for paper in papers:
        chunks = chunk_paper(paper, embedder.count_tokens, settings_a.embed_max_tokens)
        batch.append((paper, chunks, rng.normal(size=(len(chunks), 384)).astype(np.float32).tolist()))
    real, bulk = Store(settings_a, create=True), Store(settings_b, create=True)
    for paper, chunks, vectors in batch:
        real.write_papers([(paper, chunks, vectors)])  # one paper at a time, as a small ingest writes
    bulk.write_papers(batch)
    for name in ("chunks", "papers_collection"):
        a = getattr(real, name).get(include=["documents", "metadatas", "embeddings"])
        b = getattr(bulk, name).get(include=["documents", "metadatas", "embeddings"])
        order_a, order_b = np.argsort(a["ids"]), np.argsort(b["ids"])
        assert [a["ids"][i] for i in order_a] == [b["ids"][i] for i in order_b]
        assert [a["documents"][i] for i in order_a] == [b["documents"][i] for i in order_b]
        assert [a["metadatas"][i] for i in order_a] == [b["metadatas"][i] for i in order_b]
        assert np.allclose(np.asarray(a["embeddings"])[order_a], np.asarray(b["embeddings"])[order_b])
