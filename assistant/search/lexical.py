"""BM25 over every chunk, with Chinese segmented by jieba (its dictionary ships in the wheel).

The English embedding model cannot read Chinese, so this index is how a Chinese question finds
papers through their Chinese summary sections.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.ingest.store import Store, StoredChunk
from assistant.search.vocabulary import plural_stem

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:[.\-+][a-z0-9]+)*")
EN_STOPWORDS = frozenset("""a an and are as at be been being but by can could did do does for from had has have how
i if in into is it its itself may might more most of on or our over paper papers s such than that the their them
then there these they this those through to under up upon us using via was we were what when where which while who
whom why will with within without would you your about across after against all also among any both each few
further here just no nor not only other out own same so some too very between before during does doing once
propose proposed proposes present presents study studies show shows shown work works approach method methods
based new novel use used uses digest digests""".split())
ZH_STOPWORDS = frozenset("""的 了 和 是 在 与 及 或 对 中 为 以 等 并 将 该 其 这 那 哪 哪些 哪篇 什么 如何 怎么 论文 研究 本文
一种 一个 通过 进行 提出 方法 使用 基于 吗 呢 了吗 有 有没有 篇 些 个 ？ 。 ，
把 被 给 让 从 到 多少 几 怎样 怎么样 是否 能否 可以 能 会 为什么 是什么 介绍 一下 请 关于 哪个 哪种 多大 多快 了多少 主要 哪一篇
讲 讲了 说 说了 做 做了 用 用了 得到 结果 效果 论文中 文中""".split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group()
        if "\u3400" <= piece[0] <= "\u9fff":
            tokens.extend(w for w in _jieba().cut_for_search(piece) if w.strip() and w not in ZH_STOPWORDS)
        elif piece not in EN_STOPWORDS and len(piece) > 1:
            tokens.append(plural_stem(piece))
    return tokens


@dataclass(frozen=True)
class LexicalHit:
    chunk: StoredChunk
    score: float


class LexicalIndex:
    """An in-memory BM25 index over chunks; rebuilt when the store's generation changes."""

    def __init__(self, chunks: list[StoredChunk], bm25=None, known_tokens: Mapping[str, list[str]] | None = None):
        """`known_tokens`: chunk id -> tokenize(text), already computed (by the ingest that wrote them)."""
        import bm25s

        self.chunks = chunks
        self.paper_of = np.array([c.paper_id for c in chunks], dtype=object)
        if bm25 is None:
            bm25 = bm25s.BM25()
            known = known_tokens or {}
            corpus = [(known[c.id] if c.id in known else tokenize(c.text)) or ["\u0000"] for c in chunks]
            if corpus:
                bm25.index(corpus, show_progress=False)
        self._bm25 = bm25

    def document_frequencies(self) -> dict[str, int]:
        """Chunks containing each term (read off the BM25 matrix's token columns)."""
        if not self.chunks:
            return {}
        indptr = self._bm25.scores["indptr"]
        # bm25s adds an empty-string token past the matrix's last column; it has no documents.
        return {term: int(indptr[i + 1] - indptr[i]) for term, i in self._bm25.vocab_dict.items() if i + 1 < len(indptr)}

    def search(self, query: str, n: int, paper_ids: set[str] | None = None) -> list[LexicalHit]:
        terms = tokenize(query)
        if not terms or not self.chunks:
            return []
        scores = self._bm25.get_scores(terms)
        if paper_ids is not None:
            scores = np.where(np.isin(self.paper_of, list(paper_ids)), scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [LexicalHit(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]


LEXICAL_FORMAT = 3  # bump when tokenize() or the cache layout changes: old caches are ignored


# The on-disk cache is data only: one .npz of the BM25 matrix (numeric arrays, read with
# allow_pickle=False) plus a JSON header (key, vocabulary, chunks) stored as bytes. Stores are shared
# (a lab's network disk, a zip), so nothing read from one may run code: the format used to be a
# pickle, which does. Every field is checked against the others before use; anything odd is rebuilt.
def lexical_cache_folders(settings) -> list[Path]:
    """Where the cache may live, in order: inside the store, else the user's cache_dir (read-only
    stores, servers)."""
    if settings.uses_server:
        where = f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}"
    else:
        where = str(Path(settings.store).expanduser().resolve())
    key = hashlib.sha1(where.encode()).hexdigest()[:12]
    fallback = Path(settings.cache_dir).expanduser() / "lexical" / key
    return [fallback] if settings.uses_server else [Path(settings.store) / ".cache", fallback]


def lexical_cache_name(store: Store) -> str:
    return f"lexical-{store.settings.collection}-{store.cache_key()}-v{LEXICAL_FORMAT}.npz"


def lexical_cache_path(store: Store) -> Path:
    """The cache file this store generation would use first."""
    return lexical_cache_folders(store.settings)[0] / lexical_cache_name(store)


def save_lexical(index: LexicalIndex, path: Path, key: str) -> None:
    scores = index._bm25.scores
    header = {"format": LEXICAL_FORMAT, "key": key, "vocab": index._bm25.vocab_dict,
              "chunks": [[c.id, c.paper_id, c.section, c.text] for c in index.chunks]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, data=np.asarray(scores["data"]), indices=np.asarray(scores["indices"]),
                 indptr=np.asarray(scores["indptr"]),
                 header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8))
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file


def load_lexical(path: Path, key: str) -> LexicalIndex | None:
    """The cached index at `path` when it is well-formed and for this key, else None. Never
    unpickles (allow_pickle=False refuses object arrays and pickle files alike)."""
    import bm25s

    try:
        with np.load(path, allow_pickle=False) as npz:
            data, indices, indptr = npz["data"], npz["indices"], npz["indptr"]
            header = json.loads(npz["header"].tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("format") != LEXICAL_FORMAT or header.get("key") != key:
        return None
    rows, vocab = header.get("chunks"), header.get("vocab")
    if not isinstance(rows, list) or not isinstance(vocab, dict) or not rows:
        return None
    if not all(isinstance(r, list) and len(r) == 4 and all(isinstance(x, str) for x in r) for r in rows):
        return None
    if (data.ndim, indices.ndim, indptr.ndim) != (1, 1, 1) or data.dtype.kind != "f" \
            or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" or len(indptr) < 1:
        return None
    if indptr[0] != 0 or indptr[-1] != len(data) or len(indices) != len(data) or np.any(np.diff(indptr) < 0):
        return None
    if len(indices) and (indices.min() < 0 or indices.max() >= len(rows)):
        return None
    if not all(isinstance(t, str) and isinstance(i, int) and 0 <= i < len(indptr) for t, i in vocab.items()):
        return None
    bm25 = bm25s.BM25()
    bm25.scores = {"data": data.astype(np.float32, copy=False), "indices": indices.astype(np.int32, copy=False),
                   "indptr": indptr, "num_docs": len(rows)}
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(vocab.values())
    bm25.nonoccurrence_array = None  # the default "lucene" method has none
    return LexicalIndex([StoredChunk(*r) for r in rows], bm25)


def load_or_build_lexical(store: Store, generation, known_tokens: Mapping[str, list[str]] | None = None) -> LexicalIndex:
    """The BM25 index for what the store holds now: from a valid cache, or built and cached
    (`known_tokens`: chunks already tokenized, by chunk id).

    The key follows every write (store id, generation and the last write's stamp), so papers written
    by an ingest that was killed before it finished are indexed too."""
    name = lexical_cache_name(store) if generation else None
    key = name
    folders = lexical_cache_folders(store.settings)
    for folder in folders if name else []:
        index = load_lexical(folder / name, key)
        if index is not None:
            return index
    index = LexicalIndex(list(store.iter_chunks()), known_tokens=known_tokens)
    if not name or not index.chunks:
        return index
    for folder in folders:
        try:
            for old in folder.glob(f"lexical-{store.settings.collection}-*"):
                if not old.name.endswith(".tmp"):  # another process's file being written
                    old.unlink(missing_ok=True)  # earlier generations (and old pickles) are never read again
            save_lexical(index, folder / name, key)
            return index
        except OSError:
            continue  # a read-only store or a full disk: try the next place, else work from memory
    return index
