import json

import pytest

from assistant.errors import InputError, StoreError
from assistant.ingest.pipeline import ingest_lock
from assistant.ingest.store import Store
from assistant.search.lexical import lexical_cache_path
from tests.factories import FIXTURES


def test_first_ingest_adds_and_second_changes_nothing(fresh_app):
    first = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert (first.added, first.changed, first.unchanged) == (6, 0, 0)
    chunks_before = fresh_app.stats()["chunks"]
    again = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert (again.added, again.changed, again.unchanged) == (0, 0, 6)
    assert again.chunks_written == 0
    assert fresh_app.stats()["chunks"] == chunks_before


def test_ingest_leaves_the_keyword_index_built_for_the_new_store_generation(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    cache = lexical_cache_path(fresh_app.store)
    assert cache.is_file() and f"-g{fresh_app.store.state()['generation']}-" in cache.name  # built, no query yet
    fresh_app.ingest([FIXTURES / "2026-01-21.md"])
    rebuilt = lexical_cache_path(fresh_app.store)
    assert rebuilt.is_file() and rebuilt != cache and not cache.exists()
    assert "2601.90007" in {c.paper_id for c in fresh_app.retriever.lexical().chunks}


def test_paper_in_two_digests_is_one_paper_remembering_both(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    report = fresh_app.ingest([FIXTURES / "2026-01-21.md"])
    assert (report.added, report.changed, report.unchanged) == (3, 0, 1)
    paper = fresh_app.store.papers()["2601.90001"]
    assert paper.digests == ["2026-01-20", "2026-01-21"] and paper.dates == ["2026-01-20", "2026-01-21"]
    assert paper.category == "cs.LG"  # its own Main category line, not the cs.CL heading it sat under
    chunk_digests = {tuple(m["digests"]) for m in fresh_app.store.chunks.get(where={"paper_id": "2601.90001"})["metadatas"]}
    assert chunk_digests == {("2026-01-20", "2026-01-21")}
    assert fresh_app.stats()["papers"] == 9


def test_edited_entry_replaces_its_old_chunks(fresh_app, copy_fixture):
    fresh_app.ingest([FIXTURES / "2026-01-21.md"])
    before = {c.id for c in fresh_app.store.chunks_of(["2601.90007"])}
    edited = copy_fixture("2026-01-21_edited.md", "2026-01-21.md")
    report = fresh_app.ingest([edited])
    assert (report.added, report.changed, report.unchanged) == (0, 1, 3)
    after = fresh_app.store.chunks_of(["2601.90007"])
    assert {c.id for c in after} != before
    abstract = " ".join(c.text for c in after if c.section == "abstract")
    assert "6.3x" in abstract and "5.6x" not in abstract
    assert len({c.id for c in after}) == len(after)
    assert fresh_app.store.orphan_chunk_ids() == []


def test_skipped_and_partial_entries_are_reported_and_good_ones_stored(fresh_app):
    report = fresh_app.ingest([FIXTURES / "malformed.md", FIXTURES / "empty.md", FIXTURES / "not_a_digest.md"])
    assert report.added == 6
    reasons = {(item["file"].rsplit("/", 1)[-1], item["reason"].split(" (")[0]) for item in report.skipped}
    assert ("empty.md", "empty file") in reasons
    assert any(f == "not_a_digest.md" for f, _ in reasons)
    assert any(f == "malformed.md" and "arXiv link" in r for f, r in reasons)
    assert all({"file", "line", "reason"} <= set(item) for item in report.skipped)


def test_a_killed_ingest_leaves_a_usable_store_and_the_rerun_completes(fresh_app, embedder):
    # Simulate kill -9 after a paper's chunks were written but before its record was:
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = Store(fresh_app.settings)
    from assistant.ingest.chunking import chunk_paper
    from assistant.ingest.parser import parse_digest_file

    paper = parse_digest_file(FIXTURES / "2026-01-21.md").papers[1]  # 2601.90008, not yet stored
    chunks = chunk_paper(paper, embedder.count_tokens, 256)
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from assistant.ingest.chunking import chunk_to_node

    nodes = [chunk_to_node(c, paper) for c in chunks]
    store.chunks.upsert(ids=[n.node_id for n in nodes], embeddings=[[0.1] * 384 for _ in nodes],
                        documents=[n.text for n in nodes],
                        metadatas=[node_to_metadata_dict(n, remove_text=True, flat_metadata=False) for n in nodes])
    assert store.orphan_chunk_ids()  # the half-written paper
    assert fresh_app.search("KVSqueeze KV cache").sources  # still usable
    report = fresh_app.ingest([FIXTURES / "2026-01-21.md"])
    assert report.added == 3
    check = Store(fresh_app.settings)
    assert check.orphan_chunk_ids() == []
    assert len(check.papers()) == len({c.paper_id for c in check.iter_chunks()}) == 9


def test_orphans_of_papers_not_in_the_rerun_are_removed(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = Store(fresh_app.settings)
    store.chunks.upsert(ids=["2601.99998#abstract#x"], embeddings=[[0.1] * 384], documents=["orphan"],
                        metadatas=[{"paper_id": "2601.99998", "section": "abstract"}])
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert Store(fresh_app.settings).orphan_chunk_ids() == []


def test_two_ingests_at_once_the_second_fails_clearly(fresh_app):
    lock = ingest_lock(fresh_app.settings)
    with lock:
        with pytest.raises(StoreError, match="another ingest"):
            fresh_app.ingest([FIXTURES / "2026-01-20.md"])


def test_missing_path_and_empty_folder_are_user_errors(fresh_app, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        fresh_app.ingest([tmp_path / "nope"])
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(InputError, match="no digest files"):
        fresh_app.ingest([tmp_path / "empty-dir"])


def test_reading_a_missing_store_is_a_clear_error(tmp_path, embedder):
    from tests.factories import make_app

    with pytest.raises(StoreError, match="no store at"):
        make_app(tmp_path / "missing", embedder).stats()


def test_a_store_written_with_texts_as_documents_reads_the_same(fresh_app):
    # Stores written before Dec 2026 hold the paper JSON and the unembedded chunks' text as Chroma
    # documents; this code writes them as metadata (no full-text index to build). Both must read.
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = fresh_app.store
    papers_before = store.papers()
    chunks_before = sorted(store.iter_chunks(), key=lambda c: c.id)
    for collection, key, decode in ((store.papers_collection, "paper", str), (store.text_chunks, "text", json.loads)):
        got = collection.get(include=["metadatas", "embeddings"])
        assert all(m.get(key) and m[key].isascii() for m in got["metadatas"])  # Chinese escaped: see store.py
        collection.upsert(ids=got["ids"], embeddings=got["embeddings"],
                          documents=[decode(m[key]) for m in got["metadatas"]],
                          metadatas=[{k: v for k, v in m.items() if k != key} for m in got["metadatas"]])
    store.forget_papers()
    assert store.papers() == papers_before
    assert sorted(store.iter_chunks(), key=lambda c: c.id) == chunks_before
    again = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert (again.added, again.changed, again.unchanged) == (0, 0, 6)


def test_an_unreadable_paper_record_is_left_out_and_the_next_ingest_writes_it_again(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = fresh_app.store
    got = store.papers_collection.get(limit=2, include=["metadatas"])
    damaged = [{**got["metadatas"][0], "paper": "not json {"}, {**got["metadatas"][1], "paper": 7}]
    store.papers_collection.update(ids=got["ids"], metadatas=damaged)
    store.forget_papers()
    assert len(store.papers()) == 4 and not set(got["ids"]) & set(store.papers())
    again = fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    assert (again.added, again.unchanged) == (2, 4)
    store.forget_papers()
    assert set(got["ids"]) <= set(store.papers())


def test_an_upload_of_a_digest_and_notes_counts_one_digest(fresh_app):
    from assistant.ui_support.uploads import Upload, ingest_uploads

    summary = ingest_uploads(fresh_app, [Upload("2026-01-20.md", (FIXTURES / "2026-01-20.md").read_bytes()),
                                         Upload("notes.txt", b"Remember to read the KV cache papers.\n")])
    assert "from 1 digest(s)" in summary.headline and summary.added == 6
    assert [row["file"] for row in summary.skipped] == ["notes.txt"]


def _sentence_vectors(app, paper_id: str) -> list:
    from assistant.ingest.sentence_vectors import decode

    got = app.store.chunks.get(where={"paper_id": paper_id}, include=["metadatas"])
    return [decode(m.get("sentence_vectors"), 384) for m in got["metadatas"]]


def test_each_passages_sentences_are_stored_as_vectors_read_in_context(fresh_app, embedder):
    import numpy as np

    from assistant.ingest.chunking import embed_text, header_title
    from assistant.ingest.sentence_vectors import decode, sentence_spans

    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    paper = fresh_app.store.papers()["2601.90001"]
    stored = {c.id: c for c in fresh_app.store.chunks_of([paper.id])}
    got = fresh_app.store.chunks.get(where={"paper_id": paper.id}, include=["metadatas"])
    checked = 0
    for cid, metadata in zip(got["ids"], got["metadatas"], strict=True):
        text = embed_text(header_title(paper), stored[cid].text)
        spans = sentence_spans(text)
        pooled = decode(metadata["sentence_vectors"], 384)
        assert pooled is not None and len(pooled) == len(spans) >= 2
        alone = np.asarray(embedder.embed_texts([text[a:b] for a, b in spans]), np.float32)
        # Read in context, each pooled vector carries its passage too; still, of the passage's pooled
        # vectors, each sentence embedded alone is closest to its own.
        assert list(np.argmax(pooled @ alone.T, axis=0)) == list(range(len(spans)))
        checked += 1
    assert checked


def test_sentence_vectors_survive_a_relisting_and_come_back_for_an_old_cache(tmp_path, embedder):
    import sqlite3

    from assistant.ingest.vector_cache import vector_cache_path
    from tests.factories import make_app

    cache_dir = tmp_path / "user-cache"  # this test empties a cache table: never the developer's own
    first = make_app(tmp_path / "store", embedder, cache_dir=cache_dir)
    first.ingest([FIXTURES / "2026-01-20.md"])
    first.ingest([FIXTURES / "2026-01-21.md"])  # 2601.90001 again: relisted, its vectors reused
    assert all(v is not None for v in _sentence_vectors(first, "2601.90001"))
    # A vector cache written before sentence vectors existed: its passages are embedded once more.
    with sqlite3.connect(vector_cache_path(first.settings, embedder.identity)) as db:
        db.execute("DELETE FROM sentences")
    second = make_app(tmp_path / "second-store", embedder, cache_dir=cache_dir)
    report = second.ingest([FIXTURES / "2026-01-20.md"])
    assert report.chunks_written and all(v is not None for v in _sentence_vectors(second, "2601.90001"))
    again = make_app(tmp_path / "third-store", embedder, cache_dir=cache_dir).ingest([FIXTURES / "2026-01-20.md"])
    assert again.chunks_written == 0  # now cached with their sentences


def test_a_store_written_before_sentence_vectors_gets_them_at_its_next_ingest_once(tmp_path, embedder):
    import zipfile

    from assistant.ingest.store import SENTENCES_KEY
    from tests.factories import make_app

    store = tmp_path / "old-store"
    zipfile.ZipFile(FIXTURES / "store_7d2d5af.zip").extractall(store)
    app = make_app(store, embedder, cache_dir=tmp_path / "user-cache")
    before = set(app.store.papers())
    assert app.store.papers_without_sentence_vectors() == before  # written before they existed
    report = app.ingest([FIXTURES / "2026-01-20.md"])
    assert any("sentence vectors" in note for note in report.notes)
    assert app.store.papers_without_sentence_vectors() == set() and app.store.state()[SENTENCES_KEY] is True
    assert before <= set(app.store.papers())  # nothing lost
    again = app.ingest([FIXTURES / "2026-01-20.md"])
    assert again.chunks_written == 0 and not any("sentence vectors" in note for note in again.notes)
