"""Set membership: which papers a "which papers…" question is about, decided paper by paper.

A set question ("LoRA papers?", "anything on federated learning?") is turned into concepts, one
per thing it names (an alias group from assistant/data/aliases.toml, or a content word). Each
candidate paper gets, per concept, how prominently it states it (title > TL;DR and repeated
mentions in the abstract > a single mention > the other summary sections), and the concepts are
weighted by rarity (IDF). A paper belongs when that weighted presence is high enough, or when it is
fairly high and the dense retriever also ranks the paper close to the question.

Everything here is plain Python over the paper records: no model, no store (unit-tested fast).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.search.vocabulary import (
    Spelling,
    alias_groups,
    exact_word,
    exact_words,
    field_terms,
    find_phrase,
    generic_stems,
    plain,
    plain_words,
    spelling,
    stem,
    stem_words,
)
from assistant.text import has_cjk
from assistant.types import Paper

# Words that frame a set question rather than name its subject ("which papers study …", "anything on …").
FRAMING_EN = frozenset(stem(w) for w in """
a an the and or of in on about for to with by from into at as is are was were be been do does did
which what who whose any anything some something there here this that these those it its their them they he she his her
paper papers work works study studies studied studying research researches article articles preprint
list show find give tell me us i we you please look looking want need know interested
new recent latest today todays week digest digests collection arxiv stored
use uses using used apply applies applying applied propose proposes proposed proposing present presents
address addresses tackle tackles focus focused focusing concern concerning related relate regarding
deal deals cover covers covered involve involves involving consider considers topic topics area field
method methods approach approaches technique techniques all other else
combine combines combining combined rely relies relying tackle tackles tackling analyze analyzes analyse analyses
investigate investigates explore explores examine examines ways way rather ones one specific kind kinds type types
such like e g eg i ie etc including include includes without via instead especially particularly mainly various based
several different existing aim aims try tries make makes making get gets help helps
""".split())
FRAMING_ZH = ("有哪些", "哪几篇", "哪些", "有没有", "有关于", "关于", "相关的", "相关", "方面的", "方面", "的论文",
              "论文", "文章", "研究", "工作", "列出", "一下", "请", "吗", "呢", "有", "的", "和", "与", "及",
              "哪篇", "什么", "是否", "用到", "使用", "采用", "基于", "涉及", "讨论", "篇", "数据分析",
              "最新", "新的", "进展")
_STOP_STEMS = frozenset(stem(w) for w in "how why when where whether can could would should will may might not no "
                        "than then also just only very more most such each other same both between up down out off "
                        "over under".split())
# "Which papers work with EEG signals, and what tasks do they address?": the trailing question asks
# about the members, it does not choose them.
# "… language models rather than autoregressive ones": what the question sets its subject against
# is not part of the subject.
_CONTRAST = re.compile(r"\b(?:rather than|instead of|as opposed to|other than|unlike|except)\b[^,;?.()（）]*", re.I)
_FOLLOW_ON = re.compile(r"[,;]?\s+(?:and|also)\s+(?:what|how|which|who|where|when|why|do|does|are|is)\b.*$", re.I)

# Papers a set question considers before deciding membership: far beyond k, so that "which papers
# study X" can list all of them (each retriever contributes 4x this many chunks).
SET_CANDIDATES = 60
SHORT_SET_QUESTION = 3  # concepts at most: membership alone decides (no member: not in the digests)
# How prominently a paper states a concept: in its title; in its TL;DR (the digest's one-line summary
# of what the paper is about, where a Chinese spelling counts too); repeatedly or once in the abstract;
# only in the other summary sections.
TITLE, TLDR, OFTEN, TWICE, ONCE, ELSEWHERE = 1.0, 0.9, 0.8, 0.65, 0.5, 0.4
MEMBER_SCORE = 0.72  # weighted presence at which a paper belongs on its own
MEMBER_SCORE_WITH_DENSE = 0.55  # … or at which it belongs when dense retrieval also puts it close
DENSE_CLOSE = 0.45  # cosine of its best chunk to the question
# … or at which it belongs when it names every concept of the question (none prominently: each
# once or twice in the abstract) and dense retrieval does not put it far away. A paper that says
# "GRPO", "LLM" and "reasoning" in passing is about RL for LLM reasoning; one that misses a concept,
# or names it only word by word, needs the higher bars above. The dense bar keeps out a word used in
# another sense (a workshop report's "recommendations" is not a recommender system).
MEMBER_SCORE_ALL_STATED = 0.6
DENSE_NOT_FAR = 0.25
# A multi-word term met only word by word ("federated" without "learning") counts slightly less
# than the term. Its words are matched as written (plurals folded), not by stem: the stemmer hears
# "continual" in "continuous".
WORD_BY_WORD = 0.9
# A long question ("which papers propose ways to edit facts in multimodal LLMs without retraining?")
# is rarely stated word for word by any paper. Once some paper clearly belongs (the subject is in the
# digests), the papers retrieval ranks first join it when they state a good share of what the best
# candidate states: a large share on its own, a smaller one when dense retrieval also puts them close.
TOP_RANKS = 6  # the first n of the fused ranking
TOP_RANK_SHARE = 0.7  # share of the best candidate's score
TOP_RANK_SHARE_DENSE = 0.6  # … when dense retrieval puts the paper close
TOP_RANK_FLOOR = 0.3  # never below this weighted presence


@dataclass(frozen=True)
class Concept:
    """One thing a set question names: the ways to write it and how much it counts."""

    label: str
    spellings: tuple[Spelling, ...]
    weight: float = 1.0
    parts: tuple[Concept, ...] = ()  # a multi-word term may also be met word by word
    options: tuple[tuple[Concept, ...], ...] = ()  # "LLM generation or RL rollouts": either group of concepts
    example: bool = False  # named as an example ("(e.g. X)"): counts when stated, never against a paper
    # A Chinese word's English senses (bilingual.py): how a paper with no Chinese summary may state it.
    senses: tuple[Spelling, ...] = ()


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


# -- from question to concepts --------------------------------------------------------------------
ASIDE_WEIGHT = 0.35  # words in parentheses or after "such as" are examples, not requirements
GENERIC_WEIGHT = 0.35  # "EEG signals", "graph data": the generic noun names no subject of its own
_ASIDE = re.compile(r"\(([^()]*)\)|（([^（）]*)）|\b(?:such as|e\.g\.,?|for example|for instance)\s+([^,;?.]*)", re.I)


def topic_concepts(question: str, weight_of: Callable[[str], float], drop: tuple[str, ...] = (),
                   either_for_and: bool = False) -> list[Concept]:
    """The concepts a set question names. `weight_of(text)` gives a term's rarity (IDF);
    `drop` removes names already handled elsewhere (authors, categories, ids). With
    `either_for_and`, "weather and climate" reads as either term (the wider reading, for when no
    paper states both)."""
    text = _CONTRAST.sub(" ", _FOLLOW_ON.sub("", question))
    for name in drop:
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    concepts: list[Concept] = _gloss_concepts(text, weight_of) if has_cjk(text) else []
    text = _GLOSS.sub(" ", text)
    asides = " ".join(next(g for g in m.groups() if g is not None) for m in _ASIDE.finditer(text))
    main = _ASIDE.sub(" ", text)
    for part, scale in ((main, 1.0), (asides, ASIDE_WEIGHT)):
        found = _english_concepts(part, weight_of, ("or", "and") if either_for_and else ("or",))
        found += _chinese_alternatives(part, weight_of, [c.label for c in found])
        concepts += [c if scale == 1.0 else Concept(c.label, c.spellings, c.weight * scale, c.parts, c.options, True)
                     for c in found]
    merged: dict[str, Concept] = {}
    for concept in concepts:
        merged.setdefault(concept.label.lower(), concept)
    concepts = list(merged.values())
    # "fairness in ML": a term naming the whole field places the subject; it is an example, unless
    # it is all the question names.
    if any(not c.example and not _names_the_field(c) for c in concepts):
        concepts = [dataclasses.replace(c, example=True) if _names_the_field(c) else c for c in concepts]
    return concepts


def _names_the_field(concept: Concept) -> bool:
    """Its label or its group's first spelling ("machine learning" for 机器学习) is a field term."""
    first = concept.spellings[0].text.lower() if concept.spellings else ""
    return concept.label.lower() in field_terms() or first in field_terms()


def _group_of_words(words: tuple[str, ...], plains: tuple[str, ...] = ()):
    """The alias group one of whose English spellings is `words` (stems), or `plains` (the words as
    written, for a spelling matched exactly)."""
    for group in alias_groups():
        if any(not s.chinese and s.words == (plains if s.exact else words) for s in group.spellings):
            return group
    return None


def _english_concepts(text: str, weight_of, joiners: tuple[str, ...] = ("or",)) -> list[Concept]:
    english = re.sub(r"[\u3400-\u9fff]+", " ", text)
    english = re.sub(r"(?<=[A-Za-z0-9])/(?=[A-Za-z])", " or ", english)  # "knowledge/model editing"
    raw_words = re.findall(r"[A-Za-z0-9]+", english)
    stems = tuple(stem(w) for w in raw_words)
    plains = tuple(plain(w) for w in raw_words)
    used = [False] * len(stems)
    concepts: list[tuple[int, Concept]] = []  # (position of its first word, concept)
    # Alias phrases first, longest first, so "low-rank adaptation" is one concept, not three words.
    candidates = sorted(((s, g) for g in alias_groups() for s in g.spellings if not s.chinese),
                        key=lambda sg: -len(sg[0].words))
    for s, group in candidates:
        for start in find_phrase(plains if s.exact else stems, s.words):
            span = range(start, start + len(s.words))
            if any(used[i] for i in span) or (len(span) == 1 and not s.exact and plains[start] in exact_words()):
                continue
            for i in span:
                used[i] = True
            label = " ".join(raw_words[i] for i in span)
            parts = tuple(_word_concept(raw_words[i], stems[i], weight_of, exact=True) for i in span
                          if stems[i] not in FRAMING_EN and stems[i] not in _STOP_STEMS) if len(span) > 1 else ()
            weight = max([weight_of(label)] + [p.weight for p in parts])
            concepts.append((start, Concept(label, group.spellings + group.kinds, weight, parts)))
    for i, (raw, st) in enumerate(zip(raw_words, stems, strict=False)):
        if used[i] or st in FRAMING_EN or st in _STOP_STEMS or (len(st) < 2 and not st.isdigit()):
            continue
        concepts.append((i, _word_concept(raw, st, weight_of)))
    concepts.sort(key=lambda pc: pc[0])
    # "analyze or attack": one side of "or" is satisfied by any paper (it only frames), so the other
    # side is an example, not a requirement.
    optional = {i + 1 for i, w in enumerate(raw_words[:-1]) if w.lower() == "or" and i and stems[i - 1] in FRAMING_EN} | \
               {i - 1 for i, w in enumerate(raw_words[1:-1], 1) if w.lower() == "or" and stems[i + 1] in FRAMING_EN}
    concepts = [(i, dataclasses.replace(c, example=True) if i in optional else c) for i, c in concepts]
    return _join_alternatives(raw_words, concepts, joiners)


def _span_end(item: tuple[int, Concept]) -> int:
    return item[0] + len(item[1].label.split())


def _join_alternatives(raw_words: list[str], concepts: list[tuple[int, Concept]],
                       joiners: tuple[str, ...] = ("or",)) -> list[Concept]:
    """ "compress or evict", "LLM generation or RL rollouts": the run of terms on each side of "or"
    (or another of `joiners`) becomes one concept that either side satisfies."""
    out: list[tuple[int, Concept]] = []
    i = 0
    while i < len(concepts):
        position, concept = concepts[i]
        out.append((position, concept))
        i += 1
        if i >= len(concepts):
            break
        end = _span_end(out[-1])
        if not (end < len(raw_words) and raw_words[end].lower() in joiners and concepts[i][0] == end + 1):
            continue
        left = [out.pop()]  # the run of contiguous concepts ending just before "or"
        while out and _span_end(out[-1]) == left[0][0]:
            left.insert(0, out.pop())
        right = [concepts[i]]
        i += 1
        while i < len(concepts) and concepts[i][0] == _span_end(right[-1]):
            right.append(concepts[i])
            i += 1
        joined = _either([c for _, c in left], [c for _, c in right], raw_words[end].lower())
        out.append((left[0][0], joined))
    return [c for _, c in out]


def _either(left: list[Concept], right: list[Concept], joiner: str = "or") -> Concept:
    """One concept that either run of concepts satisfies: two single terms become one term with
    both sets of spellings, longer runs two options."""
    label = " ".join(c.label for c in left) + f" {joiner} " + " ".join(c.label for c in right)
    weight = max(c.weight for c in left + right)
    if len(left) == 1 and len(right) == 1:
        return Concept(label, left[0].spellings + right[0].spellings, weight)
    return Concept(label, (), weight, options=(tuple(left), tuple(right)))


def _word_concept(raw: str, st: str, weight_of, exact: bool = False) -> Concept:
    """One word of the question: its alias group when it has one, else the word (by stem, or as
    written when it is part of a longer term). A generic noun counts less."""
    group = _group_of_words((st,), (plain(raw),))
    exact = exact or plain(raw) in exact_words()
    spellings = group.spellings + group.kinds if group else ((exact_word(raw),) if exact else (Spelling(raw, (st,), False),))
    return Concept(raw, spellings, weight_of(raw) * (GENERIC_WEIGHT if st in generic_stems() else 1.0))


_GLOSS = re.compile(r"([\u3400-\u9fff]{2,})\s*[（(]\s*([A-Za-z][A-Za-z0-9 .\-]*?)\s*[)）]")


def _group_concept(group, label: str, weight_of, extra: tuple[Spelling, ...] = ()) -> Concept:
    """A concept for an alias group; its English multi-word name may also be met word by word."""
    english = next((x for x in group.spellings if not x.chinese and len(x.words) > 1), None)
    parts = tuple(Concept(w, (exact_word(w),), weight_of(w)) for w in english.text.replace("-", " ").split()
                  if stem(w) not in FRAMING_EN and stem(w) not in _STOP_STEMS) if english else ()
    weight = max([weight_of(s.text) for s in group.spellings[:3]] + [p.weight for p in parts])
    return Concept(label, group.spellings + group.kinds + extra, weight, parts)


def _gloss_concepts(text: str, weight_of) -> list[Concept]:
    """"多臂老虎机（bandit）": a Chinese term glossed in English is one concept with both spellings."""
    concepts = []
    for zh, en in _GLOSS.findall(text):
        for phrase in FRAMING_ZH:
            zh = zh.replace(phrase, "")
        if not zh:
            continue
        group = _group_of_words(stem_words(en), plain_words(en)) or next(
            (g for g in alias_groups() if any(s.text == zh for s in g.spellings)), None)
        extra = (spelling(zh), spelling(en))
        concepts.append(_group_concept(group, en, weight_of, extra) if group
                        else Concept(en, extra, max(weight_of(zh), weight_of(en))))
    return concepts


_ZH_OR = re.compile(r"或者|或是|还是|或(?![许然])")


def _chinese_alternatives(text: str, weight_of, known: list[str]) -> list[Concept]:
    """"组学或单细胞数据的论文": the terms on each side of 或 become one concept either side satisfies."""
    sides = _ZH_OR.split(text)
    if len(sides) == 2 and all(has_cjk(side) for side in sides):
        left, right = (_chinese_concepts(side, weight_of, known) for side in sides)
        if left and right:
            return [_either(left, right)]
    return _chinese_concepts(text, weight_of, known)


def _chinese_concepts(text: str, weight_of, known: list[str]) -> list[Concept]:
    if not has_cjk(text):
        return []
    concepts = []
    chinese = "".join(re.findall(r"[\u3400-\u9fff]+|\s", text))
    # Longest spelling first across all groups, so 时间序列预测 is one concept (time-series
    # forecasting), not 时间序列 and a stray 预测.
    found: list = []
    for group, s in sorted(((g, s) for g in alias_groups() for s in g.spellings if s.chinese), key=lambda gs: -len(gs[1].text)):
        if s.text in chinese and group not in found:
            chinese = chinese.replace(s.text, " ")
            found.append(group)
    for group in alias_groups():  # in the data file's order, as before
        if group in found:
            english = next((x.text for x in group.spellings if not x.chinese), group.name)
            if english.lower() not in (k.lower() for k in known):
                concepts.append(_group_concept(group, english, weight_of))
    for phrase in FRAMING_ZH:
        chinese = chinese.replace(phrase, " ")
    from assistant.search.lexical import ZH_STOPWORDS, _jieba

    for segment in chinese.split():
        words = [w for w in (w.strip() for w in _jieba().cut(segment)) if len(w) >= 2 and w not in ZH_STOPWORDS]
        if len(words) > 1 and len(segment) <= 8:
            # "机器遗忘": the term as written, or failing that its words.
            parts = tuple(Concept(w, (spelling(w),), weight_of(w), senses=_senses(w)) for w in words)
            concepts.append(Concept(segment, (spelling(segment),), max(p.weight for p in parts), parts,
                                    senses=_senses(segment)))
        else:
            concepts += [Concept(w, (spelling(w),), weight_of(w), senses=_senses(w)) for w in words]
    return concepts


def _senses(word: str) -> tuple[Spelling, ...]:
    from assistant.search.bilingual import glosses

    return tuple(spelling(" ".join(sense)) for sense in glosses(word))


# -- deciding membership ----------------------------------------------------------------------------
@dataclass
class Judgement:
    """Why a candidate paper is (or is not) in the set: kept on the Source for display and tests."""

    paper_id: str
    score: float  # weighted presence of the question's concepts
    dense: float | None = None  # cosine of its best chunk to the question, when dense retrieval saw it
    member: bool = False
    missing: list[str] = field(default_factory=list)  # concepts the paper does not state
    names_all: bool = False  # it names every concept in one of its spellings


def judge(concepts: list[Concept], papers: list[Paper], dense: dict[str, float] | None = None,
          chinese_question: bool = False) -> list[Judgement]:
    """Judge every candidate (`papers` in retrieval order, best first); members first, each group by
    score. Pure function of its inputs."""
    dense = dense or {}
    out = []
    for paper in papers:
        words = paper_words(paper)
        score = membership_score(concepts, paper, chinese_question)
        missing = [c.label for c in concepts if presence(c, words, chinese_question) == 0.0 and not c.example]
        named_all = all(stated(c, words, chinese_question) for c in concepts if not c.example)
        out.append(Judgement(paper.id, round(score, 4), dense.get(paper.id), False, missing, named_all))
    best = max((j.score for j in out), default=0.0)
    for j in out:
        close = j.dense is not None and j.dense >= DENSE_CLOSE
        j.member = (j.score >= MEMBER_SCORE or (close and j.score >= MEMBER_SCORE_WITH_DENSE)
                    or (j.names_all and j.score >= MEMBER_SCORE_ALL_STATED and (j.dense or 0.0) >= DENSE_NOT_FAR))
    if any(j.member for j in out):
        for j in out[:TOP_RANKS]:
            close = j.dense is not None and j.dense >= DENSE_CLOSE
            share = TOP_RANK_SHARE_DENSE if close else TOP_RANK_SHARE
            j.member = j.member or (j.score >= TOP_RANK_FLOOR and j.score >= share * best)
    out.sort(key=lambda j: (not j.member, -j.score, -(j.dense or 0.0)))
    return out
