"""From a set question to the concepts it names: one per thing it names, each an alias group
from assistant/data/aliases.toml (LoRA / low-rank adaptation / 低秩适配) or a content word, weighted
by rarity (IDF). Asides ("(e.g. X)", "such as X") are examples; "A or B" is either; what a question
sets its subject against ("rather than X") is dropped.

Plain Python over the question text: no model, no store.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.search.sets.framing import CONTRAST, FOLLOW_ON, FRAMING_EN, STOP_STEMS
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
from assistant.text import FRAMING_ZH, has_cjk


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
    text = CONTRAST.sub(" ", FOLLOW_ON.sub("", question))
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
                          if stems[i] not in FRAMING_EN and stems[i] not in STOP_STEMS) if len(span) > 1 else ()
            weight = max([weight_of(label)] + [p.weight for p in parts])
            concepts.append((start, Concept(label, group.spellings + group.kinds, weight, parts)))
    for i, (raw, st) in enumerate(zip(raw_words, stems, strict=False)):
        if used[i] or st in FRAMING_EN or st in STOP_STEMS or (len(st) < 2 and not st.isdigit()):
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
                  if stem(w) not in FRAMING_EN and stem(w) not in STOP_STEMS) if english else ()
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

