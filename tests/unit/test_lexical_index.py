"""The keyword index built without bm25s's per-token Python objects: same scores as bm25s, compact
chunk rows, a data-only cache that refuses inconsistent arrays. No embedding model needed."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.compact import Strings
from assistant.ingest.store import StoredChunk
from assistant.search.lexical import LexicalBuilder, LexicalIndex, load_lexical, save_lexical, tokenize

CHUNKS = [
    StoredChunk("2601.00001#abstract#a", "2601.00001", "abstract", "Federated learning with differential privacy for hospitals."),
    StoredChunk("2601.00001#tldr#b", "2601.00001", "tldr", "本文提出联邦学习中的隐私保护方法。"),
    StoredChunk("2601.00002#abstract#c", "2601.00002", "abstract", "KV cache eviction for long-context LLM inference; "
                "the KV cache shrinks 4x."),
    StoredChunk("2601.00003#abstract#d", "2601.00003", "abstract", "Cardinality estimation for joins in databases."),
    StoredChunk("2601.00003#title#e", "2601.00003", "title", ""),  # an empty chunk still gets a row
    StoredChunk("2601.00004#abstract#f", "2601.00004", "abstract", "Federated optimisation of KV caches at the edge."),
]
QUERIES = ["federated learning", "KV cache", "联邦学习 隐私", "cardinality estimation joins", "nothing matches zzz"]


def test_scores_are_bm25s_scores_bit_for_bit():
    bm25s = pytest.importorskip("bm25s")
    reference = bm25s.BM25()
    reference.index([tokenize(c.text) or ["\u0000"] for c in CHUNKS], show_progress=False)
    index = LexicalIndex(CHUNKS)
    for query in QUERIES:
        terms = tokenize(query)
        ours = index.matrix.scores([index.term_id[t] for t in terms if t in index.term_id], len(CHUNKS))
        known = [t for t in terms if t in reference.vocab_dict]
        theirs = reference.get_scores(known) if known else np.zeros(len(CHUNKS), dtype=np.float32)
        assert np.array_equal(ours, theirs), query


def test_search_ranks_filters_and_returns_whole_chunks():
    index = LexicalIndex(CHUNKS)
    hits = index.search("KV cache", 10)
    assert [h.chunk.paper_id for h in hits] == ["2601.00002", "2601.00004"]  # twice the term ranks first
    assert hits[0].chunk == CHUNKS[2]
    assert [h.chunk.paper_id for h in index.search("KV cache", 10, paper_ids={"2601.00004", "2609.99999"})] == ["2601.00004"]
    assert index.search("KV cache", 10, paper_ids=set()) == []
    assert index.search("nothing matches zzz", 10) == []
    assert index.document_frequencies()[tokenize("federated")[0]] == 2


def test_a_builder_keeps_only_the_chunks_asked_for_and_skips_repeats():
    builder = LexicalBuilder()
    for chunk in CHUNKS + CHUNKS[:2]:  # a chunk added twice counts once
        builder.add(chunk)
    assert len(builder) == len(CHUNKS)
    keep = {c.id for c in CHUNKS if c.paper_id != "2601.00002"}  # e.g. a paper whose chunks were replaced
    index = builder.build(keep=keep)
    assert {c.id for c in index.chunks} == keep
    expected = LexicalIndex([c for c in CHUNKS if c.id in keep])
    for query in QUERIES:
        assert [(h.chunk.id, h.score) for h in index.search(query, 10)] == \
               [(h.chunk.id, h.score) for h in expected.search(query, 10)]
    assert "2601.00002" not in {h.chunk.paper_id for h in index.search("KV cache", 10)}


def test_compact_strings_give_back_what_went_in():
    texts = ["", "plain", "联邦学习 — “quotes” $O(n^2)$", "\U0001f600 emoji", "x" * 10_000]
    strings = Strings.of(texts)
    assert list(strings) == texts and len(strings) == len(texts)
    assert Strings.well_formed(strings.blob, strings.offsets)
    assert not Strings.well_formed(strings.blob, strings.offsets[::-1].copy())
    assert list(strings.subset(np.array([2, 0]))) == [texts[2], texts[0]]


def test_the_cache_round_trips_and_refuses_arrays_that_disagree(tmp_path):
    index = LexicalIndex(CHUNKS)
    path = tmp_path / "lexical.npz"
    save_lexical(index, path, "key-1")
    loaded = load_lexical(path, "key-1")
    assert loaded is not None and list(loaded.chunks) == list(index.chunks)
    for query in QUERIES:
        assert [(h.chunk, h.score) for h in loaded.search(query, 10)] == [(h.chunk, h.score) for h in index.search(query, 10)]
    assert load_lexical(path, "another-key") is None
    with np.load(path, allow_pickle=False) as npz:
        parts = dict(npz)
    for name, broken in [("text_offsets", parts["text_offsets"][:-1]),  # one text fewer than ids
                         ("papers", parts["papers"] + 100),  # codes past the names
                         ("indptr", parts["indptr"][:-1]),  # a vocabulary longer than the matrix
                         ("texts", parts["texts"][:-3])]:  # offsets past the buffer
        with open(path, "wb") as fh:
            np.savez(fh, **{**parts, name: broken})
        assert load_lexical(path, "key-1") is None, name


def test_the_matrix_built_block_by_block_is_the_same(monkeypatch):
    import assistant.search.lexical as lexical

    whole = LexicalIndex(CHUNKS)
    monkeypatch.setattr(lexical, "BUILD_BLOCK", 3)  # entries of one term spread over many blocks
    blocks = LexicalIndex(CHUNKS)
    for name in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(whole.matrix, name), getattr(blocks.matrix, name)), name
