"""How well retrieved papers cover a question, measured the same way for every answerer and eval.

Coverage is the IDF-weighted share of the question's content terms found in a paper's text: rare
terms ('sawtooth', 'GB10') count for much more than common ones ('model', 'learning').
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Set
from functools import lru_cache

from assistant.search.lexical import LexicalIndex, is_chinese_term, tokenize
from assistant.search.vocabulary import stem
from assistant.text import FRAMING_ZH, has_cjk, paper_text
from assistant.types import Paper


class PaperTerms(Set):
    """The set of terms of some papers' texts (`tokenize`), whose Chinese words are segmented only
    when a Chinese term is first looked up or the whole set is read: loading jieba costs ~0.6-1 s,
    and an English question looks up English terms only. Membership is exact either way (a
    Chinese term is only ever among the Chinese words, any other only among the other words)."""

    def __init__(self, texts: tuple[str, ...], other: frozenset[str]):
        self._texts, self._other = texts, other
        self._chinese: frozenset[str] | None = None

    @classmethod
    def of(cls, text: str) -> PaperTerms:
        return cls((text,), frozenset(tokenize(text, chinese=False)))

    @classmethod
    def union(cls, parts: Iterable[PaperTerms]) -> PaperTerms:
        parts = list(parts)
        return cls(tuple(t for p in parts for t in p._texts), frozenset().union(*(p._other for p in parts)))

    @property
    def chinese(self) -> frozenset[str]:
        if self._chinese is None:
            self._chinese = frozenset(t for text in self._texts for t in tokenize(text, other=False))
        return self._chinese

    def __contains__(self, term) -> bool:
        return term in (self.chinese if isinstance(term, str) and is_chinese_term(term) else self._other)

    def __iter__(self) -> Iterator[str]:
        return iter(self._other | self.chinese)

    def __len__(self) -> int:
        return len(self._other | self.chinese)

    @classmethod
    def _from_iterable(cls, items) -> frozenset[str]:  # what `set - PaperTerms` (and the like) gives
        return frozenset(items)


@lru_cache(maxsize=20000)
def _paper_terms(paper_id: str, text: str) -> PaperTerms:
    return PaperTerms.of(text)


def paper_terms(paper: Paper) -> PaperTerms:
    return _paper_terms(paper.id, paper_text(paper))


class TermWeights:
    """Inverse document frequency of terms over the store's chunks (from the BM25 index)."""

    def __init__(self, lexical: LexicalIndex):
        self.total = max(1, len(lexical.chunks))
        self._df = lexical.document_frequency  # per term when asked (a dict of every term: 30 ms at 5k papers)
        self.papers_stating = lexical.paper_frequency

    def frequency(self, term: str) -> int:
        """Chunks that contain the term (0: the store never states it)."""
        return self._df(term)

    def idf(self, term: str) -> float:
        df = self._df(term)
        return math.log(1 + (self.total - df + 0.5) / (df + 0.5))

    def rarity(self, text: str) -> float:
        """How rare a term is, however many words it has: the IDF of its rarest word."""
        return max([self.idf(t) for t in tokenize(text)], default=1.0)

    def coverage(self, terms: list[str], available: Set[str],
                 glosses: Mapping[str, tuple[tuple[str, ...], ...]] | None = None) -> float:
        """The IDF-weighted share of `terms` found in `available`. With `glosses` (a Chinese
        question's terms -> English senses), a Chinese term also counts when the paper states one of
        its senses in English. Only whole Chinese words of two or more characters count: not the
        pieces that search-mode segmentation adds (无人机, not also 无人 and 人机: one matched word
        would weigh three times), nor single characters (连, 都, 算: function words or fragments
        whose rarity says little; the dictionary is not asked about them either)."""
        unique = list(dict.fromkeys(terms))
        if glosses is not None:
            unique = [t for t in unique if not has_cjk(t) or (len(t) > 1 and t not in _ZH_FRAMING
                                                              and not any(t != u and t in u for u in unique))]
        if not unique:
            return 0.0
        total = sum(self.idf(t) for t in unique)
        found = {t for t in unique if t in available}
        if glosses:
            found |= {t for t in unique if t not in found
                      and any(self.share(sense, available) >= 0.5 for sense in glosses.get(t, ()))}
        return sum(self.idf(t) for t in unique if t in found) / total if total else 0.0

    def share(self, terms: tuple[str, ...], available: Set[str]) -> float:
        """The IDF-weighted share of a phrase's terms present ("world expo": mostly "expo"); a
        dictionary sense is matched by stem ("poison" ~ "poisoning", "robust" ~ "robustness")."""
        total = sum(self.idf(t) for t in terms)
        stems = _stems(frozenset(available))
        return sum(self.idf(t) for t in terms if t in available or stem(t) in stems) / total if total else 0.0


# Words that frame a Chinese question ("有没有…的工作") rather than say what it is about.
_ZH_FRAMING = frozenset(w for w in FRAMING_ZH if len(w) > 1) | {"没有"}


@lru_cache(maxsize=4096)
def _stems(terms: frozenset[str]) -> frozenset[str]:
    return frozenset(stem(t) for t in terms if not has_cjk(t))
