"""Issue 12: embed only what the model reads, the bulk ONNX encoder, the vector cache, progress."""
import sqlite3

from assistant.config import load_settings
from assistant.ingest.vector_cache import VectorCache
from assistant.ui_support.uploads import progress_line


def test_the_vector_cache_validates_what_it_reads_and_rebuilds_a_bad_file(tmp_path):
    path = tmp_path / "vectors.sqlite3"
    cache = VectorCache(path)
    cache.put_many(["a", "b", "c"], [[0.6, 0.8], [float("nan"), 1.0], [0.0, 0.0]])
    assert cache.get_many(["a", "b", "c", "d"], dim=2) == {"a": [0.6000000238418579, 0.800000011920929]}
    assert cache.get_many(["a"], dim=3) == {}  # another dimension: ignored, not trusted
    cache.close()
    with open(path, "rb") as fh:
        assert fh.read(16) == b"SQLite format 3\x00"  # data, not pickle
    path.write_bytes(b"\x80\x04garbage that is not a database" * 10)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"vectors.sqlite3{suffix}").unlink(missing_ok=True)
    rebuilt = VectorCache(path)
    assert rebuilt.get_many(["a"]) == {}
    rebuilt.put_many(["a"], [[1.0, 0.0]])
    assert rebuilt.get_many(["a"], dim=2) == {"a": [1.0, 0.0]}
    sqlite3.connect(str(path)).execute("SELECT count(*) FROM vectors")


def test_embed_languages_is_configurable_from_the_environment():
    assert load_settings(env={}).embed_languages == ("en",)
    assert load_settings(env={"DIGESTQA_EMBED_LANGUAGES": "en, zh"}).embed_languages == ("en", "zh")


def test_upload_progress_says_papers_per_second_and_time_left():
    assert progress_line(0, 350, 0.0) == "Embedding and storing papers: 0 of 350"
    assert progress_line(64, 350, 16.0) == "Embedding and storing papers: 64 of 350 · 4.0 papers/s · about 1 min 11 s left"
    assert progress_line(350, 350, 70.0).endswith("· 5.0 papers/s")
