"""How prominently a paper states a concept of a question: in its title, in its TL;DR (the digest's
one-line summary of what the paper is about, where a Chinese spelling counts too), repeatedly or
once in the abstract, only in the other summary sections. The IDF-weighted presence of a
question's concepts is one of the signals set membership is decided on (features.py).

Plain Python over the paper records: no model, no store.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from assistant.search.sets.concepts import Concept
from assistant.search.vocabulary import Spelling, find_phrase, plain_words, stem_words
from assistant.text import has_cjk
from assistant.types import Paper

TITLE, TLDR, OFTEN, TWICE, ONCE, ELSEWHERE = 1.0, 0.9, 0.8, 0.65, 0.5, 0.4
# A multi-word term met only word by word ("federated" without "learning") counts slightly less
# than the term. Its words are matched as written (plurals folded), not by stem: the stemmer hears
# "continual" in "continuous".
WORD_BY_WORD = 0.9


@dataclass
class PaperWords:
    """A paper's text as the stems and strings presence is measured on."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]
    tldr: tuple[str, ...]
    rest: tuple[str, ...]  # the other Chinese summary sections
    tldr_raw: str
    rest_raw: str
    exact: tuple[tuple[str, ...], ...] = ()  # title, abstract, tldr, rest as plain words (for exact spellings)
    chinese: bool = True  # it has a Chinese summary (45 of the 350 sample papers' summaries failed)


@lru_cache(maxsize=20000)
def _paper_words(paper_id: str, title: str, abstract: str, tldr: str, rest: str) -> PaperWords:
    return PaperWords(stem_words(title), stem_words(abstract), stem_words(tldr), stem_words(rest), tldr, rest,
                      tuple(plain_words(t) for t in (title, abstract, tldr, rest)), has_cjk(tldr + rest))


def paper_words(paper: Paper) -> PaperWords:
    rest = "\n".join([paper.motivation, paper.method, paper.result, paper.conclusion])
    return _paper_words(paper.id, paper.title, paper.abstract, paper.tldr, rest)


def _presence_of(s: Spelling, words: PaperWords, chinese_question: bool, english_elsewhere: bool = True) -> float:
    if s.chinese:
        if chinese_question:
            return TLDR if s.text in words.tldr_raw else (ELSEWHERE if s.text in words.rest_raw else 0.0)
        # For an English question a Chinese spelling only confirms, in the TL;DR, a term the English
        # text also uses: alone, a word such as 量化 (quantify or quantize) is too ambiguous.
        return TLDR if english_elsewhere and s.text in words.tldr_raw else 0.0
    title, abstract, tldr, rest = words.exact if s.exact else (words.title, words.abstract, words.tldr, words.rest)
    if find_phrase(title, s.words):
        return TITLE
    if find_phrase(tldr, s.words):
        return TLDR
    mentions = len(find_phrase(abstract, s.words))
    if mentions >= 3:
        return OFTEN
    if mentions:
        return TWICE if mentions == 2 else ONCE
    return ELSEWHERE if find_phrase(rest, s.words) else 0.0


def presence(concept: Concept, words: PaperWords, chinese_question: bool = False) -> float:
    """How prominently the paper states the concept (0 = not at all, 1 = in its title)."""
    if concept.options:
        return max(sum(c.weight * presence(c, words, chinese_question) for c in option) / (sum(c.weight for c in option) or 1.0)
                   for option in concept.options)
    english = max((_presence_of(s, words, chinese_question) for s in concept.spellings if not s.chinese), default=0.0)
    chinese = max((_presence_of(s, words, chinese_question, english > 0) for s in concept.spellings if s.chinese),
                  default=0.0)
    best = max(english, chinese, _guessed(concept, words, chinese_question))
    if concept.parts and best < TITLE:
        total = sum(p.weight for p in concept.parts) or 1.0
        by_parts = sum(p.weight * presence(p, words, chinese_question) for p in concept.parts) / total
        best = max(best, WORD_BY_WORD * by_parts)
    return best


def stated(concept: Concept, words: PaperWords, chinese_question: bool = False) -> bool:
    """Whether the paper names the concept in one of its spellings (word by word does not count)."""
    if concept.options:
        return any(all(stated(c, words, chinese_question) for c in option) for option in concept.options)
    english = any(_presence_of(s, words, chinese_question) > 0 for s in concept.spellings if not s.chinese)
    return english or any(_presence_of(s, words, chinese_question, english) > 0 for s in concept.spellings if s.chinese) \
        or _guessed(concept, words, chinese_question) > 0


def _guessed(concept: Concept, words: PaperWords, chinese_question: bool) -> float:
    """A Chinese word of the question in a paper that has no Chinese summary: its presence through
    the word's English senses. A sense is the dictionary's guess at the translation, so a single
    passing mention is no evidence: it counts from two mentions, the TL;DR or the title up."""
    if not (chinese_question and concept.senses) or words.chinese:
        return 0.0
    guess = max(_presence_of(s, words, False) for s in concept.senses)
    return guess if guess >= TWICE else 0.0


def membership_score(concepts: list[Concept], paper: Paper, chinese_question: bool = False) -> float:
    """IDF-weighted presence of the question's concepts in the paper, in [0, 1]. An example counts
    when the paper states it and is left out when it does not: it never takes anything away."""
    words = paper_words(paper)
    main = [(c.weight, presence(c, words, chinese_question)) for c in concepts if not c.example]
    examples = [(c.weight, presence(c, words, chinese_question)) for c in concepts if c.example]
    stated_examples = [(w, p) for w, p in examples if p > 0]

    def score(pairs: list[tuple[float, float]]) -> float:
        total = sum(w for w, _ in pairs)
        return sum(w * p for w, p in pairs) / total if total else 0.0

    if not main:
        return score(examples)
    return max(score(main), score(main + stated_examples))

