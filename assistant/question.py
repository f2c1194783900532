"""What a question asks for, decided before retrieval: its language, and whether it names papers
(arXiv ids), people (authors in the catalogue) or a whole category, or wants a list of papers.

Author and category questions are answered from every matching paper found through metadata,
not from the top-k of a similarity search.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .lexical import tokenize
from .retrieval import find_arxiv_ids
from .text import cjk_ratio
from .types import Paper

_CATEGORY = re.compile(r"(?<![\w.])([a-z]{2,8}(?:-[a-z]{2,6})?\.[A-Za-z]{2})(?![\w])")
_LIST_EN = re.compile(r"\b(which|what|any|list|find|show)\b[^?]*\b(papers?|works?|studies|methods|approaches|ones)\b"
                      r"|\bpapers? (that|which|on|about)\b|\bare there\b", re.I)
_LIST_ZH = re.compile(r"哪些|哪几篇|有没有|列出|有哪些")
_OVERVIEW_WORDS = frozenset("""what which about are is the papers paper in on do does category categories summarize summarise
summary overview topics topic cover covers covered published publish publishes wrote write written did have has
list show all tell me give any""".split())
_AUTHOR_CUE = re.compile(r"\b(publish\w*|wrote|written|author\w*|by)\b|发表|作者|写了", re.I)
_ID_QUESTION_WORDS = frozenset("report reports say says summarize summarise summary about tell explain describe find "
                               "finding findings result results contribution contributions main do does 讲 介绍 总结 内容 贡献".split())
_CATEGORY_CUE = re.compile(r"\b(main )?categor(y|ies)\b|\boverview\b|\bsummari[sz]e\b|\bpapers (are )?(in|under)\b|类别|分类|概览|综述", re.I)
# Follow-ups that point back at the previous answer's papers.
_FOLLOW_UP_EN = re.compile(r"^\s*(and|also|what about|how about)\b|\b(those|these|them|they|their|its|it|that paper|this paper|"
                           r"the (first|second|third|last|former|latter)( one| paper)?|which of (them|these|those))\b", re.I)
_FOLLOW_UP_ZH = re.compile(r"这些|那些|它们|它的|其中|上述|这篇|那篇|前者|后者|第[一二三]篇")


def fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w\s]", " ", (plain or text).lower()).split())


@dataclass
class Analysis:
    language: str  # "en" or "zh"
    ids: list[str] = field(default_factory=list)  # arXiv ids named in the question, known to the store
    unknown_ids: list[str] = field(default_factory=list)  # named but not stored
    authors: list[str] = field(default_factory=list)  # author names (as stored) named in the question
    categories: list[str] = field(default_factory=list)
    wants_list: bool = False  # "which papers ..." -> one line per paper
    overview: bool = False  # about an author/category as a whole -> every matching paper
    content_terms: list[str] = field(default_factory=list)  # what is left once names are removed
    follow_up: bool = False

    @property
    def content_terms_beyond_ids(self) -> bool:
        """True when the question asks about more than the ids it names ("what does X report" does not)."""
        return len([t for t in self.content_terms if t not in _ID_QUESTION_WORDS]) > 0

    @property
    def kind(self) -> str:
        if self.ids:
            return "id"
        if self.overview and self.authors:
            return "author"
        if self.overview and self.categories:
            return "category"
        return "list" if self.wants_list else "fact"


class QuestionAnalyzer:
    """Built once per catalogue: an index of author names for matching names in questions."""

    def __init__(self, catalog: dict[str, Paper]):
        self.catalog = catalog
        self.authors: dict[str, str] = {}  # folded name -> stored spelling
        self.categories = {p.category.lower(): p.category for p in catalog.values()}
        for paper in catalog.values():
            for author in paper.authors:
                folded = fold(author)
                if len(folded.split()) >= 2 or (folded and not folded.isascii()):
                    self.authors.setdefault(folded, author)
        self._max_name_words = max((len(n.split()) for n in self.authors), default=0)

    def analyze(self, question: str) -> Analysis:
        language = "zh" if cjk_ratio(question) > 0.15 else "en"
        named = find_arxiv_ids(question)
        analysis = Analysis(language=language, ids=[i for i in named if i in self.catalog],
                            unknown_ids=[i for i in named if i not in self.catalog])
        analysis.categories = list(dict.fromkeys(self.categories[c.lower()] for c in _CATEGORY.findall(question)
                                                 if c.lower() in self.categories))
        analysis.authors = self._find_authors(question)
        analysis.wants_list = bool(_LIST_EN.search(question) or _LIST_ZH.search(question))
        remaining = question
        for name in analysis.authors + analysis.categories + named:
            remaining = re.sub(re.escape(name), " ", remaining, flags=re.I)
        for name in analysis.authors:
            remaining = fold(remaining).replace(fold(name), " ")
        analysis.content_terms = [t for t in tokenize(remaining) if t not in _OVERVIEW_WORDS]
        if analysis.authors or analysis.categories:
            analysis.overview = (len(analysis.content_terms) <= 1
                                 or (bool(analysis.authors) and bool(_AUTHOR_CUE.search(question)) and len(analysis.content_terms) <= 2)
                                 or (bool(analysis.categories) and bool(_CATEGORY_CUE.search(question))))
        analysis.follow_up = bool(_FOLLOW_UP_EN.search(question) or _FOLLOW_UP_ZH.search(question))
        return analysis

    def _find_authors(self, question: str) -> list[str]:
        words = fold(question).split()
        found: list[str] = []
        for size in range(self._max_name_words, 0, -1):
            for start in range(0, len(words) - size + 1):
                candidate = " ".join(words[start:start + size])
                if candidate in self.authors and not any(candidate in fold(f) for f in found):
                    found.append(self.authors[candidate])
        # Chinese names written in Chinese characters appear verbatim.
        found += [a for f, a in self.authors.items() if not f.isascii() and a in question and a not in found]
        return found

    def papers_by_author(self, author: str) -> list[Paper]:
        target = fold(author)
        return [p for p in self.catalog.values() if any(fold(a) == target for a in p.authors)]

    def papers_in_category(self, category: str) -> list[Paper]:
        return [p for p in self.catalog.values() if p.category.lower() == category.lower()]
