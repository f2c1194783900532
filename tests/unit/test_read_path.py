"""The read path of issue 29: what a question reads instead of Chroma's Python client, and that it
reads the same. A store written by the version before (tests/fixtures/store_7d2d5af.zip) prints
exactly what that version printed; the core, the catalogue read, the paper table, exact dense
search, the mapped caches and the memos each equal what they stand in for."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.factories import FIXTURES

# -- Chroma's core and the catalogue read straight from SQLite ----------------------------------------


def test_mapped_arrays_are_the_files_and_refuse_objects(tmp_path):
    from assistant.compact import mapped_npz

    path = tmp_path / "a.npz"
    arrays = {"a": np.arange(10, dtype=np.int32), "b": np.ones((3, 4), dtype=np.float32), "c": np.zeros(0, np.uint8)}
    np.savez(path, **arrays)
    got = mapped_npz(path, ("a", "b", "c"))
    assert all(np.array_equal(got[k], v) and got[k].dtype == v.dtype for k, v in arrays.items())
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        mapped_npz(path, ("a",))
    with pytest.raises(ValueError):
        mapped_npz(path, ("missing",))
    path.write_bytes(b"\x80\x04not a zip")
    with pytest.raises(ValueError):
        mapped_npz(path, ("a",))


# -- what a question's process loads ----------------------------------------------------------------


def test_paper_terms_are_the_tokenized_terms_chinese_ones_segmented_when_asked():
    from assistant.answer.evidence import PaperTerms
    from assistant.search.lexical import tokenize

    texts = ["KVSqueeze compresses the KV cache 4.2x with per-head low-rank projections.",
             "本文提出KVSqueeze，对KV缓存进行低秩压缩，显存降低4.2倍。 LongBench drops by 0.6 points.", ""]
    for text in texts:
        terms, want = PaperTerms.of(text), frozenset(tokenize(text))
        assert terms._chinese is None  # nothing segmented yet
        for term in list(want) + ["cache", "缓存", "压缩", "absent", "不存在", "k"]:
            assert (term in terms) == (term in want), term
        assert set(terms) == want and len(terms) == len(want)
        assert {"cache", "缓存", "zzz"} - terms == {"cache", "缓存", "zzz"} - want
    both = PaperTerms.union([PaperTerms.of(t) for t in texts])
    assert set(both) == frozenset().union(*(tokenize(t) for t in texts))


def test_remembered_chinese_runs_are_jiebas_words(tmp_path, monkeypatch):
    from assistant.search import lexical

    runs = lexical.ChineseRuns(tmp_path)
    first = runs.words("低秩适配")
    assert first == list(lexical._jieba().cut_for_search("低秩适配"))
    runs.save()
    monkeypatch.setattr(lexical, "_jieba", lambda: pytest.fail("jieba was loaded for a remembered run"))
    assert lexical.ChineseRuns(tmp_path).words("低秩适配") == first
    assert lexical.tokenize("LoRA 低秩适配", runs=lexical.ChineseRuns(tmp_path)) == \
        [t for t in ["lora"] + first if t.strip() and t not in lexical.ZH_STOPWORDS]
    runs.path.write_text("[1, 2", encoding="utf-8")  # damaged: read as nothing remembered
    assert lexical.ChineseRuns(tmp_path)._read() == {}


def test_pystemmer_stems_as_the_python_snowball_stemmer():
    import re

    from snowballstemmer import english_stemmer

    from assistant.search.vocabulary import _stemmer

    words = set(re.findall(r"[a-z0-9]+", "".join(p.read_text(encoding="utf-8").lower() for p in FIXTURES.glob("*.md"))))
    aliases = Path(__file__).parents[2] / "assistant" / "data" / "aliases.toml"
    words |= set(re.findall(r"[a-z0-9]+", aliases.read_text(encoding="utf-8").lower()))
    python = english_stemmer.EnglishStemmer()
    assert type(_stemmer()).__module__ == "Stemmer"  # the C build is installed and used
    assert [_stemmer().stemWord(w) for w in sorted(words)] == [python.stemWord(w) for w in sorted(words)]


def test_settings_of_paths_alone_are_the_validated_ones(tmp_path):
    from pydantic import TypeAdapter

    from assistant.config import Settings, load_settings

    for values in ({"store": tmp_path}, {"store": tmp_path, "cache_dir": tmp_path / "c"}, {}):
        assert load_settings(env={}, **values) == TypeAdapter(Settings).validate_python(values)
    assert load_settings(env={"DIGESTQA_STORE": str(tmp_path)}).store == tmp_path
