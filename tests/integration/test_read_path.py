"""The read path of issue 29: what a question reads instead of Chroma's Python client, and that it
reads the same. A store written by the version before (tests/fixtures/store_7d2d5af.zip) prints
exactly what that version printed; the core, the catalogue read, the paper table, exact dense
search, the mapped caches and the memos each equal what they stand in for."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assistant import cli
from assistant.ingest.store import Store
from tests.factories import FIXTURES, make_settings

OLD_STORE = FIXTURES / "store_7d2d5af.zip"
OLD_OUTPUTS = json.loads((FIXTURES / "store_7d2d5af.json").read_text(encoding="utf-8"))


@pytest.fixture
def default_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("DIGESTQA_"):
            monkeypatch.delenv(key)


def _unzip(tmp_path: Path) -> Path:
    store = tmp_path / "old-store"
    zipfile.ZipFile(OLD_STORE).extractall(store)
    return store


def _printed(capsys, store: Path, args: list[str]):
    code = cli.main(["--store", str(store), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    if isinstance(data, dict):
        data.pop("timings", None)
    return data


def _previous_read_path(monkeypatch) -> None:
    """Read as the version before issue 29 did: the chromadb client, every paper record, Chroma's
    index for dense search, no paper table."""
    from assistant.ingest import chroma_core
    from assistant.ingest import store as store_module
    from assistant.ingest.paper_table import PaperCatalog
    from assistant.search.retrieval import Retriever

    monkeypatch.setattr(Store, "core", None)
    monkeypatch.setattr(chroma_core, "read_records", lambda *args: None)
    monkeypatch.setattr(store_module, "load_or_save_table", lambda folders, collection, key, read: PaperCatalog.of(read()[0]))
    monkeypatch.setattr(Retriever, "dense", lambda self, vector, n, allowed: self.store.dense_query(vector, n, allowed))


def test_a_store_written_by_the_previous_version_reads_the_same(tmp_path, capsys, default_env, embedder, monkeypatch):
    store = _unzip(tmp_path)
    assert not list((store / ".cache").glob("papers-*")), "the old store has no paper table"
    for round_ in ("fresh copy", "own caches written"):
        for case in OLD_OUTPUTS["commands"]:
            now = _printed(capsys, store, case["args"])
            if case["args"][0] in ("papers", "show"):  # what the catalogue alone decides: as 7d2d5af printed it
                assert now == case["output"], (round_, case["args"])
            with monkeypatch.context() as previous:
                _previous_read_path(previous)
                assert now == _printed(capsys, store, case["args"]), (round_, case["args"])
        assert list((store / ".cache").glob("papers-*")) and list((store / ".cache").glob("vectors-*-v3.npz"))


# -- Chroma's core and the catalogue read straight from SQLite ----------------------------------------

def _client_store(path: Path) -> Store:
    """A Store that reads through the chromadb client only (as the previous version did)."""
    store = Store(make_settings(path))
    store.__dict__["core"] = None
    store._wrote = True  # also turns off the catalogue read and the paper table
    return store


def test_reads_through_the_core_are_the_clients(fixture_app):
    path = Path(fixture_app.settings.store)
    core, client = Store(make_settings(path)), _client_store(path)
    assert core.core is not None
    for suffix in ("chunks", "text", "papers", "meta"):
        ours, theirs = core._reader(suffix), client._reader(suffix)
        assert ours.count() == theirs.count()
        for include in (["documents", "metadatas"], ["embeddings"], []):
            a, b = ours.get(include=include, limit=1000), theirs.get(include=include, limit=1000)
            assert a["ids"] == b["ids"]
            for field in include:
                assert np.array_equal(np.asarray(a[field], dtype=object), np.asarray(b[field], dtype=object)), field
    rng = np.random.default_rng(29)
    for _ in range(5):
        vector = rng.normal(size=384).astype(np.float32)
        vector /= np.linalg.norm(vector)
        a = core._reader("chunks").query([vector.tolist()], n_results=5, where={"paper_id": {"$in": ["2601.90001"]}})
        b = client._reader("chunks").query(query_embeddings=[vector.tolist()], n_results=5,
                                           where={"paper_id": {"$in": ["2601.90001"]}})
        assert a["ids"] == b["ids"] and a["distances"] == b["distances"] and a["documents"] == b["documents"]
    assert core.cache_key() == client.cache_key() and core.state() == client.state()
    assert core.digest_records() == client.digest_records()


def test_the_catalogue_read_straight_from_sqlite_is_chromas(fixture_app, tmp_path):
    from assistant.ingest.chroma_core import read_records

    path = Path(fixture_app.settings.store)
    got = Store(make_settings(path)).meta.get(ids=["state", "written", "digests", "absent"],
                                              include=["metadatas", "documents"])
    assert read_records(path, "digestqa_meta", ("state", "written", "digests", "absent")) == \
        {i: (m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)}
    assert read_records(path, "no_such_collection", ("state",)) is None
    assert read_records(tmp_path, "digestqa_meta", ("state",)) is None  # no store there
    (tmp_path / "chroma.sqlite3").write_bytes(b"not a database")
    assert read_records(tmp_path, "digestqa_meta", ("state",)) is None


# -- the paper table --------------------------------------------------------------------------------

def test_the_paper_table_is_the_catalogue_and_follows_every_write(fresh_app, tmp_path):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    path = Path(fresh_app.settings.store)
    tables = list((path / ".cache").glob("papers-*.npz"))
    assert len(tables) == 1, "ingest writes the paper table"
    table, chroma = Store(make_settings(path)).papers(), _client_store(path).papers()
    assert list(table) == list(chroma) and all(table[pid] == chroma[pid] for pid in chroma)
    assert [c.id for c in table.cards()] == list(chroma) and table.cards()[0].title == chroma[table.cards()[0].id].title

    fresh_app.ingest([FIXTURES / "2026-01-21.md"])  # another process's write changes the key: a new table
    assert "2601.90008" in Store(make_settings(path)).papers()
    assert [p.name for p in (path / ".cache").glob("papers-*.npz")] != [tables[0].name]


def test_a_damaged_or_foreign_paper_table_is_read_again_from_the_store_never_unpickled(fresh_app):
    from assistant.ingest.paper_table import load_table

    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    path = Path(fresh_app.settings.store)
    table = next((path / ".cache").glob("papers-*.npz"))
    key = Store(make_settings(path)).cache_key()
    assert load_table(table, key) is not None and load_table(table, key + "x") is None
    np.savez(table, records=np.array([{"evil": 1}], dtype=object), record_offsets=np.array([0, 1]),
             header=np.frombuffer(b"{}", dtype=np.uint8))  # an object array would need unpickling
    assert load_table(table, key) is None
    table.write_bytes(table.read_bytes()[:100])
    assert load_table(table, key) is None
    assert "2601.90001" in Store(make_settings(path)).papers()  # read from the store, and written again
    assert load_table(table, key) is not None


def test_a_write_killed_halfway_leaves_a_key_no_cache_was_made_for(fresh_app, monkeypatch):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    store = Store(make_settings(Path(fresh_app.settings.store)), create=True)
    before = store.cache_key()
    paper = store.papers()["2601.90001"]
    monkeypatch.setattr(Store, "_upsert_chunks", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        store.write_papers([(paper, [], [])])
    assert Store(make_settings(Path(fresh_app.settings.store))).cache_key() != before


# -- exact dense search over the cached matrix ------------------------------------------------------

def test_exact_dense_search_is_every_chunks_cosine_best_first(fixture_app):
    retriever = fixture_app.retriever
    chunks = retriever.lexical().chunks
    got = Store(make_settings(Path(fixture_app.settings.store))).chunks.get(include=["embeddings", "documents",
                                                                                     "metadatas"], limit=1000)
    matrix = np.asarray(got["embeddings"], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    rng = np.random.default_rng(7)
    for allowed in (None, {"2601.90001", "2601.90007"}):
        vector = rng.normal(size=384).astype(np.float32)
        vector /= np.linalg.norm(vector)
        hits = retriever.vectors().nearest(vector, 6, chunks, allowed)
        rows = [i for i, m in enumerate(got["metadatas"]) if allowed is None or m["paper_id"] in allowed]
        scores = matrix[rows] @ vector
        want = [got["ids"][rows[i]] for i in np.argsort(-scores, kind="stable")[:6]]
        assert [h.chunk.id for h in hits] == want
        for hit in hits:
            i = got["ids"].index(hit.chunk.id)
            assert hit.chunk.text == got["documents"][i] and hit.chunk.paper_id == got["metadatas"][i]["paper_id"]
            assert hit.score == pytest.approx(float(matrix[i] @ vector), abs=1e-6)
    assert retriever.vectors().nearest(vector, 6, chunks, set()) == []


def test_dense_hits_are_found_again_when_the_keyword_index_was_rebuilt(fixture_app):
    from assistant.search.vectors import PaperVectors

    vectors, chunks = fixture_app.retriever.vectors(), fixture_app.retriever.lexical().chunks
    shuffled = PaperVectors(vectors.paper_ids, vectors.rows, vectors.matrix, vectors.chunk_ids,
                            np.roll(vectors.lexical_rows, 1))  # rows that name other chunks
    vector = vectors.matrix[0]
    assert [h.chunk.id for h in shuffled.nearest(vector, 4, chunks)] == \
        [h.chunk.id for h in vectors.nearest(vector, 4, chunks)]


# -- what a question's process loads ----------------------------------------------------------------

_LOADED = """
import sys
from pathlib import Path
from assistant.app import App
from assistant.config import load_settings
app = App(load_settings(env={{}}, store=Path({store!r})))
answer = app.ask({question!r})
assert answer.text
print(sorted(m for m in ("chromadb", "jieba", "llama_index.core", "torch") if m in sys.modules))
"""


@pytest.mark.parametrize("question,loaded", [
    ("How much does KVSqueeze reduce KV cache memory?", []),
    ("Which papers compress the KV cache?", []),
    ("哪篇论文研究了基数估计？", ["jieba"]),
])
def test_a_question_loads_neither_chromadb_nor_jieba_unless_chinese(fixture_app, question, loaded):
    store = fixture_app.settings.store
    fixture_app.ask(question)  # (the memo of jieba's words for an English set question's Chinese spellings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    out = subprocess.run([sys.executable, "-c", _LOADED.format(store=str(store), question=question)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().replace("'", '"')) == loaded


def test_hostile_read_caches_run_nothing_and_answers_are_unchanged(fixture_app, embedder, tmp_path):
    import pickle
    import shutil

    from assistant.ingest.paper_table import cache_folders, table_name
    from assistant.search.lexical import lexical_cache_name
    from assistant.search.vectors import vectors_cache_name
    from tests.factories import make_app
    from tests.integration.test_trust import _Payload  # (tested there to run when unpickled)

    store = tmp_path / "store"
    shutil.copytree(fixture_app.settings.store, store)
    question = "Which papers compress the KV cache?"

    def answer() -> dict:
        data = make_app(store, embedder).ask(question).to_json_dict()
        data.pop("timings")
        return data

    expected = answer()
    marker, app = tmp_path / "pwned", make_app(store, embedder)
    names = (table_name(app.settings.collection, app.store.cache_key()), vectors_cache_name(app.store),
             lexical_cache_name(app.store))
    for folder in cache_folders(app.settings):
        for name in names:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(pickle.dumps(_Payload(marker)))
    assert answer() == expected and not marker.exists()
    assert answer() == expected and not marker.exists()  # from the caches written again
