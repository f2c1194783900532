"""The subject of a question in the papers' own words.

A reader asks for "papers that run LLMs at reduced numeric precision"; the papers say
"quantization". The papers closest in meaning to the question (the seeds) share the words their
field uses for the subject: a term that most seeds state, that is rare in the store and that is
close in meaning to the question is how the papers name what was asked. Those terms then count like
the question's own words (presence in title, TL;DR, abstract), so a paper that states the subject
in its title is found even when its abstract sits far from the question's wording.

This is pseudo-relevance feedback: when the seeds are wrong the terms are too, so the terms are one
signal among several (features.py), weighed by calibration, never a rule on their own.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from assistant.search.lexical import EN_STOPWORDS
from assistant.search.sets.framing import FRAMING_EN, STOP_STEMS
from assistant.search.vocabulary import stem
from assistant.types import Paper

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
SEEDS = 5  # papers whose words are read
MIN_SEEDS_STATING = 2  # a term stated by one seed is that paper's name for itself, not the field's
TERMS = 2  # key terms kept
MAX_CANDIDATES = 60  # terms embedded per question (each ~3 ms)


@dataclass(frozen=True)
class KeyTerm:
    text: str  # as a paper writes it ("quantization", "knowledge editing")
    score: float  # share of seeds stating it x rarity x closeness to the question


def _grams(paper: Paper) -> set[str]:
    """Words and two-word terms of a paper's title and abstract, lower-cased, framing left out."""
    out: set[str] = set()
    for sentence in re.split(r"[.;:!?()\[\]]", f"{paper.title}. {paper.abstract[:4000]}"):
        words = [w.lower() for w in _WORD.findall(sentence)]
        content = [w if (w not in EN_STOPWORDS and stem(w) not in FRAMING_EN and stem(w) not in STOP_STEMS
                         and len(w) > 2) else None for w in words]
        out.update(w for w in content if w)
        out.update(f"{a} {b}" for a, b in zip(content, content[1:], strict=False) if a and b)
    return out


def key_terms(seeds: list[Paper], target: np.ndarray, rarity, embed) -> list[KeyTerm]:
    """The terms the seed papers use for the subject. `target`: the unit vector the terms must be
    close to (the question's; for a Chinese question, the seeds' centroid, as the model reads no
    Chinese); `rarity(text)`: IDF of a term's rarest word; `embed(texts)`: unit vectors."""
    seeds = seeds[:SEEDS]
    if len(seeds) < MIN_SEEDS_STATING:
        return []
    counts = Counter(g for paper in seeds for g in _grams(paper))
    shared = [g for g, n in counts.items() if n >= MIN_SEEDS_STATING]
    if not shared:
        return []
    # Rarer first, so the embedding budget goes to the terms that can name a subject.
    shared = sorted(shared, key=lambda g: -(counts[g] * rarity(g)))[:MAX_CANDIDATES]
    closeness = np.asarray(embed(shared), dtype=np.float32) @ np.asarray(target, dtype=np.float32)
    scored = [KeyTerm(g, float(counts[g] / len(seeds) * rarity(g) * max(0.0, float(c))))
              for g, c in zip(shared, closeness, strict=True)]
    scored.sort(key=lambda t: -t.score)
    kept: list[KeyTerm] = []
    for term in scored:
        # "knowledge editing" and "editing" name one subject: keep the first of overlapping terms.
        if any(set(term.text.split()) & set(k.text.split()) for k in kept):
            continue
        kept.append(term)
        if len(kept) == TERMS:
            break
    return kept
