"""Each passage's sentences as vectors pooled from its own forward pass (ingest/sentence_vectors.py),
stored as text, cached, and read per paper (search/vectors.py)."""
from __future__ import annotations

import numpy as np

from assistant.ingest.chunking import embed_text
from assistant.ingest.sentence_vectors import decode, encode, pool_spans, sentence_spans
from assistant.ingest.vector_cache import VectorCache
from assistant.search.vectors import PaperVectors, quantize


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_spans_are_the_passages_sentences_not_the_title_header():
    text = embed_text("KV caches. A title with a period", "We compress the KV cache. It helps a lot. (ii) Ok.")
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["We compress the KV cache.", "It helps a lot."]  # "(ii) Ok." too short
    assert all(a > text.index("\n\n") for a, _ in spans)


def test_each_span_pools_its_own_tokens_and_no_special_token():
    states = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [9.0, -9.0]], np.float32)
    offsets = [(0, 0), (0, 4), (5, 8), (10, 14), (0, 0)]  # [CLS] w1 w2 | w3 [SEP]
    pooled = pool_spans(states, offsets, [(0, 8), (10, 14), (20, 30)])  # the last span has no token
    assert pooled.shape == (2, 2)
    assert np.allclose(pooled[0], [1.0, 0.0]) and np.allclose(pooled[1], [0.0, 1.0])


def test_stored_form_reads_back_within_the_quantisation_and_rejects_anything_else():
    rng = np.random.default_rng(3)
    vectors = _unit(rng.normal(size=(5, 384)))
    back = decode(encode(vectors), 384)
    assert back.shape == (5, 384)
    assert np.min(np.sum(back * vectors, axis=1)) > 0.998
    for bad in (None, "", 42, "not base64!", encode(vectors)[:-8], encode(np.zeros((1, 384)))):
        assert decode(bad, 384) is None
    assert decode(encode(vectors), 383) is None


def test_the_vector_cache_keeps_sentence_vectors_and_ignores_bad_ones(tmp_path):
    cache = VectorCache(tmp_path / "model.sqlite3")
    good = encode(_unit(np.ones((2, 384))))
    cache.put_sentences(["a", "b", "c"], [good, None, "garbage"])
    assert cache.get_sentences(["a", "b", "c", "d"], 384) == {"a": good}
    cache.close()
    assert VectorCache(tmp_path / "model.sqlite3").get_sentences(["a"], 384) == {"a": good}  # on disk


def test_each_paper_scores_its_closest_sentence_and_its_two_closest():
    dims = 4
    passages = _unit(np.eye(dims)[[0, 1, 2]])
    sentences = _unit(np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0], [0.6, 0, 0.8, 0], [0, 0, 0.8, 0.6]], np.float32))
    vectors = PaperVectors(["p", "q", "r"], np.array([0, 1, 2]), passages, sentences=quantize(sentences),
                           sentence_rows=np.array([0, 0, 1, 2]))
    best, two = vectors.sentence_scores(np.array([1, 0, 0, 0], np.float32))
    assert np.allclose(best, [1.0, 0.6, 0.0], atol=0.01)
    assert np.allclose(two, [0.8, 0.6, 0.0], atol=0.01)  # "q" has one sentence: its own score


def test_a_store_without_sentence_vectors_scores_each_passage_as_one_sentence():
    passages = _unit(np.array([[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]], np.float32))
    vectors = PaperVectors(["p", "q"], np.array([0, 1, 1]), passages)
    best, two = vectors.sentence_scores(np.array([0, 1, 0], np.float32))
    assert np.allclose(best, vectors.paper_scores(np.array([0, 1, 0], np.float32)), atol=0.01)
    assert np.allclose(two, [0.0, 0.9], atol=0.01)
