"""BM25 over every chunk, with Chinese segmented by jieba (its dictionary ships in the wheel).

The English embedding model cannot read Chinese, so this index is how a Chinese question finds
papers through their Chinese summary sections.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .store import Store, StoredChunk

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:[.\-+][a-z0-9]+)*")
EN_STOPWORDS = frozenset("""a an and are as at be been being but by can could did do does for from had has have how
i if in into is it its itself may might more most of on or our over paper papers s such than that the their them
then there these they this those through to under up upon us using via was we were what when where which while who
whom why will with within without would you your about across after against all also among any both each few
further here just no nor not only other out own same so some too very between before during does doing once
propose proposed proposes present presents study studies show shows shown work works approach method methods
based new novel use used uses digest digests""".split())
ZH_STOPWORDS = frozenset("""的 了 和 是 在 与 及 或 对 中 为 以 等 并 将 该 其 这 那 哪 哪些 哪篇 什么 如何 怎么 论文 研究 本文 一种 一个 通过 进行 提出 方法 使用 基于 吗 呢 了吗 有 有没有 篇 些 个 ？ 。 ，
把 被 给 让 从 到 多少 几 怎样 怎么样 是否 能否 可以 能 会 为什么 是什么 介绍 一下 请 关于 哪个 哪种 多大 多快 了多少 主要 哪一篇
讲 讲了 说 说了 做 做了 用 用了 得到 结果 效果 论文中 文中""".split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _stem(word: str) -> str:
    """A deliberately light English normaliser: plurals only (caches -> cache, misses -> miss)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and not word.endswith("us"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group()
        if "\u3400" <= piece[0] <= "\u9fff":
            tokens.extend(w for w in _jieba().cut_for_search(piece) if w.strip() and w not in ZH_STOPWORDS)
        elif piece not in EN_STOPWORDS and len(piece) > 1:
            tokens.append(_stem(piece))
    return tokens


@dataclass(frozen=True)
class LexicalHit:
    chunk: StoredChunk
    score: float


class LexicalIndex:
    """An in-memory BM25 index over chunks; rebuilt when the store's generation changes."""

    def __init__(self, chunks: list[StoredChunk]):
        import bm25s

        self.chunks = chunks
        self.paper_of = np.array([c.paper_id for c in chunks], dtype=object)
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(c.text) or ["\u0000"] for c in chunks]
        if corpus:
            self._bm25.index(corpus, show_progress=False)

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


LEXICAL_FORMAT = 2  # bump when tokenize() or the index layout changes: old caches are ignored


def lexical_cache_path(store: Store) -> Path:
    settings = store.settings
    if settings.uses_server:
        key = hashlib.sha1(f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}".encode()).hexdigest()[:12]
        folder = Path(settings.cache_dir).expanduser() / "lexical" / key
    else:
        folder = Path(settings.store) / ".cache"
    return folder / f"lexical-{settings.collection}-{store.cache_key()}-v{LEXICAL_FORMAT}.pkl"


def load_or_build_lexical(store: Store, generation) -> LexicalIndex:
    """The BM25 index for this store generation: from the on-disk cache, or built and cached."""
    path = lexical_cache_path(store)
    if generation and path.exists():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except Exception:  # a cache is only a cache: rebuild on any problem
            path.unlink(missing_ok=True)
    index = LexicalIndex(list(store.iter_chunks()))
    if generation:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob(f"lexical-{store.settings.collection}-*.pkl"):
                old.unlink(missing_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        except OSError:
            pass  # read-only store: work from memory
    return index
