"""Issue 12: embed only what the model reads, the bulk ONNX encoder, the vector cache, progress."""

import numpy as np

from assistant.ingest.chunking import SECTION_LANGUAGE, chunk_paper
from assistant.ingest.parser import parse_digest_file
from assistant.ingest.store import Store
from assistant.types import SUMMARY_SECTIONS
from tests.factories import FIXTURES, make_app


def _sections(collection, paper_id=None) -> set[str]:
    got = collection.get(where={"paper_id": paper_id} if paper_id else None, include=["metadatas"])
    return {m["section"] for m in got["metadatas"]}


def test_bulk_onnx_vectors_match_the_torch_model_in_order(embedder):
    long = " ".join(f"Sentence {i} about sparse attention kernels and cache reuse." for i in range(80))  # > 256 tokens
    texts = ["KV cache", "title: A\n\nA longer passage about retrieval-augmented generation with citations.", long,
             "本文提出了一种新的检索方法", "x"] * 9  # > one batch of 32, mixed lengths: sorting must not reorder
    onnx = np.asarray(embedder.embed_texts(texts, bulk=True))
    torch = np.asarray(embedder.model.get_text_embedding_batch(texts))
    cosine = (onnx * torch).sum(1) / np.linalg.norm(onnx, axis=1) / np.linalg.norm(torch, axis=1)
    assert cosine.min() >= 0.999, cosine.min()


def test_only_the_english_passages_are_embedded_and_every_chunk_stays_searchable(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = fresh_app.store
    # The English passages: no Chinese section, and no title alone (each passage carries its title).
    assert _sections(store.chunks) == {"abstract"}
    assert set(SUMMARY_SECTIONS) | {"title"} <= _sections(store.text_chunks)
    everything = {c.section for c in store.iter_chunks()}
    assert {"title", "abstract", *SUMMARY_SECTIONS} <= everything
    assert store.stats()["chunks"] == store.chunks.count() + store.text_chunks.count()
    paper = next(iter(store.papers().values()))
    assert {c.section for c in store.chunks_of([paper.id])} >= {"title", "abstract", "tldr"}
    zh = next(c for c in store.chunks_of([paper.id]) if c.section == "tldr")
    hits = fresh_app.retriever.lexical().search(zh.text[:12], 5)
    assert any(h.chunk.id == zh.id for h in hits)  # a Chinese section is still found by its words
    vector = fresh_app.embedder.embed_query(zh.text)
    assert all(SECTION_LANGUAGE[h.chunk.section] == "en" for h in store.dense_query(vector, 20))


def test_a_multilingual_model_setting_embeds_the_chinese_sections_again(tmp_path, embedder):
    app = make_app(tmp_path / "store", embedder, embed_languages=("en", "zh"))
    app.ingest([FIXTURES / "2026-01-20.md"])
    assert set(SUMMARY_SECTIONS) | {"abstract"} <= _sections(app.store.chunks)
    assert _sections(app.store.text_chunks) == {"title"}  # nothing left that the model cannot read


def test_a_paper_without_an_abstract_is_still_reachable_by_meaning(embedder):
    paper = parse_digest_file(FIXTURES / "2026-01-20.md").papers[0]
    paper.abstract = ""
    from assistant.ingest.chunking import embedded

    chunks = chunk_paper(paper, embedder.count_tokens, 256)
    flags = embedded(chunks, ("en",))
    assert [c.section for c, f in zip(chunks, flags, strict=False) if f] == ["title"]


def test_a_store_written_before_schema_2_reads_and_an_edit_moves_its_chunks(fresh_app, embedder, copy_fixture):
    # The old layout: every chunk (title, Chinese sections too) in the embedded collection.
    store = Store(fresh_app.settings, create=True)
    papers = parse_digest_file(FIXTURES / "2026-01-21.md").papers
    store.write_papers([(p, cs, [[0.1] * 384 for _ in cs])
                        for p in papers for cs in [chunk_paper(p, embedder.count_tokens, 256)]])
    store.bump_generation()
    assert store.text_chunks.count() == 0
    report = fresh_app.ingest([FIXTURES / "2026-01-21.md"])
    assert (report.added, report.changed, report.chunks_written) == (0, 0, 0)  # readable as it is
    assert len(fresh_app.store.chunks_of(["2601.90007"])) == len(list(c for c in store.iter_chunks()
                                                                     if c.paper_id == "2601.90007"))
    edited = copy_fixture("2026-01-21_edited.md", "2026-01-21.md")
    assert fresh_app.ingest([edited]).changed == 1
    moved = fresh_app.store
    assert _sections(moved.chunks, "2601.90007") == {"abstract"}  # the old title vector is gone too
    assert {"title", "tldr"} <= _sections(moved.text_chunks, "2601.90007")
    chunks = moved.chunks_of(["2601.90007"])
    assert len({c.id for c in chunks}) == len(chunks) and {"title", "tldr"} <= {c.section for c in chunks}
    assert moved.orphan_chunk_ids() == []


def test_vectors_are_reused_from_the_cache_by_a_second_store(tmp_path, embedder):
    first = make_app(tmp_path / "one", embedder, cache_dir=tmp_path / "cache")
    assert first.ingest([FIXTURES / "2026-01-20.md"]).chunks_written > 0
    second = make_app(tmp_path / "two", embedder, cache_dir=tmp_path / "cache")
    assert second.ingest([FIXTURES / "2026-01-20.md"]).chunks_written == 0  # nothing embedded again
    got = [second.store.chunks.get(ids=[cid], include=["embeddings"])["embeddings"][0] for cid in
           first.store.chunks.get()["ids"][:3]]
    want = [first.store.chunks.get(ids=[cid], include=["embeddings"])["embeddings"][0] for cid in
            first.store.chunks.get()["ids"][:3]]
    assert np.allclose(got, want)


def test_token_counts_match_the_transformers_tokenizer(embedder):
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(embedder.path))
    reference.model_max_length = 10**9
    for text in ["", "x", "title: Sparse KV caches\n\nWe cut memory 4.2x.", "本文提出了一种新的检索方法。" * 40,
                 "Ünïcödé naïve café — “quotes” and LaTeX $O(n^2)$"]:
        assert embedder.count_tokens(text) == len(reference(text, add_special_tokens=True)["input_ids"])


def test_the_keyword_index_takes_the_ingests_chunks_and_is_the_same_as_built_afresh(fresh_app):
    from assistant.ingest.pipeline import ingest
    from assistant.search.lexical import LexicalBuilder, LexicalIndex, load_or_build_lexical

    collected = LexicalBuilder()
    ingest([FIXTURES / "2026-01-20.md"], fresh_app.settings, fresh_app.embedder, lexical=collected)
    chunks = list(fresh_app.store.iter_chunks())
    assert {c.id for c in chunks} == collected.known  # every chunk written was collected during the ingest
    store = fresh_app.store
    read_back = []
    store.chunks_by_id = lambda ids: read_back.extend(ids) or iter(())
    given = load_or_build_lexical(store, None, collected)
    assert read_back == []  # nothing was read back from the store
    afresh = LexicalIndex(chunks)
    assert given.document_frequencies() == afresh.document_frequencies()
    assert sorted(given.chunks, key=lambda c: c.id) == sorted(chunks, key=lambda c: c.id)
    for query in ("KV cache eviction", "联邦学习", "cardinality estimation joins"):
        # Every chunk's score (chunks of equal score may come in either index's row order).
        assert {h.chunk.id: round(h.score, 6) for h in given.search(query, len(chunks))} == \
               {h.chunk.id: round(h.score, 6) for h in afresh.search(query, len(chunks))}


def test_bulk_embedding_on_a_cpu_uses_small_batches_with_the_same_vectors(embedder):
    texts = ["title: A\n\n" + "word " * n for n in (3, 200, 5, 180, 40, 7, 220, 9, 60, 11)]
    small = np.asarray(embedder.onnx.embed(texts, embedder.settings.embed_bulk_batch_size))
    large = np.asarray(embedder.onnx.embed(texts, 32))
    assert embedder.settings.embed_bulk_batch_size < embedder.settings.embed_batch_size
    assert (small * large).sum(1).min() >= 0.9999
    sizes = []
    real = embedder.onnx.embed
    embedder.onnx.embed = lambda texts, size: sizes.append(size) or real(texts, size)
    try:
        embedder.embed_texts(texts, bulk=True)
        embedder.embed_texts(texts)  # question time: one text, the usual batch
    finally:
        del embedder.onnx.embed
    if embedder.bulk_onnx is embedder.onnx:  # a CPU (on a GPU the bulk encoder is another one, with large batches)
        assert sizes == [embedder.settings.embed_bulk_batch_size, embedder.settings.embed_batch_size]


def test_the_first_group_embeds_before_the_store_opens_and_an_unchanged_rerun_embeds_nothing(tmp_path, embedder,
                                                                                               monkeypatch):
    from assistant.ingest import pipeline as ingest_module

    fresh_app = make_app(tmp_path / "store", embedder, cache_dir=tmp_path / "cache")  # an empty vector cache
    events: list[str] = []
    submit, states = ingest_module._EmbedWorker.submit, Store.paper_states
    monkeypatch.setattr(ingest_module._EmbedWorker, "submit",
                        lambda self, texts: events.append("embed") or submit(self, texts))
    monkeypatch.setattr(Store, "paper_states", lambda self: events.append("store") or states(self))
    first = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert first.chunks_written and events[:2] == ["embed", "store"]
    assert events.count("embed") == 1  # the fixture is one group: the early start was all it needed
    events.clear()
    again = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert again.unchanged == first.added and events == ["store"]
