"""Themes: papers grouped under a phrase they state, so that each theme's name is true of its papers.

A reader groups a day's papers by what they are about and names each group by that ("Reinforcement
Learning", "KV Cache", "Time-Series Forecasting"). Themes are found the same way, from the phrases the
papers state (1-4 word runs of their titles and abstracts; "forecasts" and "forecasting" count as one):

1. candidates: phrases stated by at least two selected papers (a single word in the titles of at least
   half of its papers), naming something (not "model", not an adjective, not a title's opening verb;
   the category's own name only when at most half of the selection states it);
2. greedy: the phrase that gathers most papers not yet placed, weighted by how rare its words are among
   all stored papers, how many of its papers say it in their title, and how much closer its papers'
   embeddings lie than a random set of that size would (the phrase names one subject, not a word that
   many subjects use); until there are about sqrt(n) + 2 themes, more while over 15% are unplaced;
3. a paper stating several chosen phrases joins the theme whose papers it is most like;
4. a paper stating none joins the theme it is most like (nearly as like it as the selection as a
   whole), while that theme's phrase stays in more than half of its papers; the rest are "Other
   topics" (at most 15% in each sample category with 10 or more papers: tests/integration/test_briefing.py).

Chinese briefings name a theme in the words its papers' Chinese summaries use for the phrase (words
whose CC-CEDICT senses give the phrase's words), or keep the English phrase when they use none.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from assistant.markup import readable
from assistant.search.bilingual import glosses
from assistant.search.lexical import EN_STOPWORDS, chinese_words
from assistant.search.vocabulary import category_names, plural_stem, stem
from assistant.types import Paper

MAX_THEMES = 20  # a briefing of 287 papers (all of the sample's cs.LG) reads as at most this many themes
MAX_SHARE = 0.75  # a phrase stated by more of the selection than this says nothing that sets papers apart
LEFTOVER_SHARE = 0.15  # at most this share of the papers in "Other topics", where the phrases allow
MIN_SCORE = 0.025  # below it a phrase gathers too few, too common or too scattered papers to name a theme
TITLE_COHESION = 0.05  # what a phrase in every paper's title is worth, in the cohesion it stands in for
NEAREST_TRIED = 2  # a paper stating no theme's phrase may join the nearest or the second nearest theme,
ATTACH_FLOOR = 0.8  # ...if its likeness to it is at least this share of its likeness to the whole selection
RARITY_SAMPLE = 5000  # stored papers read to learn how rare a word is (enough for 50,000; ~0.3 s)
OTHER_EN = "Other topics"
OTHER_ZH = "其他主题"

# Words that may sit inside a phrase but never start or end one (fillers, adjectives, verbs, prefixes).
_EDGE_BAD = frozenset("""towards toward beyond improving improved improve efficient effective efficiently
framework frameworks analysis approach approaches task tasks performance result results problem problems
next exploring ground compute
small scale scalable robust general generalized simple fast faster better via rethinking revisiting understanding
unified unifying enhancing enhanced enabling leveraging case one two three first non multi high low real world
aware based driven guided free level wise agnostic oriented using across when does what why how can do more less
evaluation study empirical theoretical novel new method methods technique techniques application applications
perspective view joint existing recent state art significant significantly achieve achieves propose proposed
demonstrate experiment experiments paper show shows we our also however inter intra self pre post co cross semi
sub de re un anti over under toward versus vs beyond limit limits role power powered enable enables make makes
effect effects impact boost boosts key important good bad different various several many single fine
""".split())
# ...and words that are too general to name a theme on their own.
_ALONE_BAD = _EDGE_BAD | frozenset("""time deep neural network networks language model models modeling modelling
learning learned learn large training inference data dataset datasets system systems benchmark benchmarks
algorithm algorithms optimization representation representations structure structures function functions
prediction predictions generation space theory information feature features llm llms ai
architecture architectures knowledge order latent covariate kernel experts""".split())

_ADJECTIVE_ENDINGS = ("ive", "ous", "able", "ible", "ical", "ial", "ual", "ary")

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:'[a-z]+)?|\d+[A-Za-z]+[A-Za-z0-9]*")
_CLAUSE = re.compile(r"[:;,.!?()\[\]{}\"“”]|\s[-–—]\s")


def _norm(word: str) -> str:
    return plural_stem(word.lower())


@dataclass
class _Phrase:
    norm: tuple[str, ...]
    surfaces: Counter = field(default_factory=Counter)
    in_title: set = field(default_factory=set)
    in_text: set = field(default_factory=set)

    @property
    def key(self) -> tuple[str, ...]:
        """The phrase's words without inflection: 'time series forecasts' and 'time-series forecasting'
        are one topic ('covariance' and 'covariate' are two, which Snowball's stems would merge)."""
        return tuple(_uninflected(w) for w in self.norm)


def _uninflected(word: str) -> str:
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _phrases(text: str, max_n: int = 4) -> list[tuple[tuple[str, ...], str]]:
    """(normalised n-gram, surface text) for 1-3 word runs that do not cross clauses or stopwords."""
    out = []
    for clause in _CLAUSE.split(text):
        words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(clause)]
        run: list[tuple[str, int, int]] = []
        runs = []
        for w in words:
            if w[0].lower() in EN_STOPWORDS or len(w[0]) < 2:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(w)
        if run:
            runs.append(run)
        for run in runs:
            for i in range(len(run)):
                for n in range(1, max_n + 1):
                    if i + n > len(run):
                        break
                    gram = run[i:i + n]
                    norm = tuple(_norm(w[0]) for w in gram)
                    if norm[0] in _EDGE_BAD or norm[-1] in _EDGE_BAD or gram[-1][0].lower().endswith("ed"):
                        continue
                    if n == 1 and len(gram[0][0]) <= 3 and not gram[0][0].isupper():
                        continue  # 'rl' or 'vae' are kept written as acronyms; short lowercase words are noise
                    out.append((norm, clause[gram[0][1]:gram[-1][2]]))
    return out


def phrase_key(text: str) -> tuple[str, ...]:
    """The key under which `phrase_table` holds a phrase as written ('Time-Series Forecasting')."""
    return tuple(_uninflected(_norm(w)) for w in _WORD.findall(text))


def _display(surfaces: Counter) -> str:
    """The most common written form; lower-case forms are title-cased (acronyms kept)."""
    # Prefer forms written with capitals (titles), then frequency.
    best = max(surfaces.items(), key=lambda kv: (any(c.isupper() for c in kv[0]), kv[1], kv[0]))[0]
    words = re.split(r"(\s+|-)", " ".join(best.split()))
    return "".join(w[:1].upper() + w[1:] if w and w[0].islower() else w for w in words)


@dataclass
class Topic:
    """Every written form of one phrase among the selected papers."""

    key: tuple[str, ...]
    forms: list[_Phrase] = field(default_factory=list)
    papers: set[str] = field(default_factory=set)  # selected papers stating it (title or abstract)
    titled: set[str] = field(default_factory=set)  # ...in their title
    opening: int = 0  # titles it opens ("Accelerating …", "Towards …"): a verb or a preposition there

    @property
    def name(self) -> str:
        surfaces: Counter = Counter()
        for form in self.forms:
            surfaces.update(form.surfaces)
        return _display(surfaces)

    @property
    def words(self) -> tuple[str, ...]:
        return max(self.forms, key=lambda f: len(f.in_text)).norm


def phrase_table(papers: dict[str, Paper]) -> dict[tuple[str, ...], Topic]:
    """Stem key -> the topic: every 1-4 word phrase of the papers' titles and abstracts (LaTeX rendered)."""
    forms: dict[tuple[str, ...], _Phrase] = {}
    for pid, paper in papers.items():
        for text, in_title in ((readable(paper.title), True), (readable(paper.abstract), False)):
            for norm, surface in _phrases(text):
                phrase = forms.setdefault(norm, _Phrase(norm))
                phrase.surfaces[surface] += 2 if in_title else 1
                phrase.in_text.add(pid)
                if in_title:
                    phrase.in_title.add(pid)
    topics: dict[tuple[str, ...], Topic] = {}
    for phrase in forms.values():
        topic = topics.setdefault(phrase.key, Topic(phrase.key))
        topic.forms.append(phrase)
        topic.papers |= phrase.in_text
        topic.titled |= phrase.in_title
    for paper in papers.values():
        for part in readable(paper.title).split(":")[:2]:  # "SRT: Accelerating …" opens its second part
            first = _WORD.search(part)
            if first and (key := (_uninflected(_norm(first.group())),)) in topics:
                topics[key].opening += 1
    return topics


class Rarity:
    """How rare a word is among the stored papers' titles and abstracts: 1 for a word one paper
    uses, 0 for a word every paper uses. (The keyword index's IDF counts chunks, most of them
    Chinese summaries, so nearly every English word looks rare there.)"""

    def __init__(self, catalog: dict[str, Paper]):
        sample = [catalog[pid] for pid in sorted(catalog)[:: max(1, len(catalog) // RARITY_SAMPLE)]]
        self.total = max(2, len(sample))
        self.df: Counter = Counter()
        for paper in sample:
            self.df.update({plural_stem(w.lower()) for w in _WORD.findall(f"{paper.title} {paper.abstract}")})

    def __call__(self, word: str) -> float:
        return math.log(self.total / max(1, self.df.get(word, 0))) / math.log(self.total)


@dataclass
class Themes:
    groups: list[tuple[Topic, list[str]]]  # largest first; in each, the most typical paper first
    leftovers: list[str]  # "Other topics"


def find_themes(papers: dict[str, Paper], vectors: dict[str, np.ndarray], rarity: Rarity | None = None) -> Themes:
    """Themes of the selected `papers` (see the module's docstring); `vectors` are their English
    embeddings, `rarity` how rare words are in the whole store."""
    ids = sorted(papers)
    if not ids:
        return Themes([], [])
    dim = next((len(v) for v in vectors.values() if v is not None and len(v)), 384)
    unit = {}
    for pid in ids:
        v = np.asarray(vectors.get(pid) if vectors.get(pid) is not None else np.zeros(dim), dtype=np.float64)
        unit[pid] = v / (np.linalg.norm(v) or 1.0)
    n = len(ids)
    category_words = {_norm(w) for c in {p.category for p in papers.values()} for name in category_names().get(c, ())
                      for w in _WORD.findall(name) if w.lower() not in EN_STOPWORDS}
    candidates = [t for t in phrase_table(papers).values() if _names_a_subject(t, n, category_words)]
    spread = float(np.linalg.norm(np.mean([unit[p] for p in ids], axis=0)))

    def cohesion_gain(members: set[str]) -> float:
        """How much closer the members lie than a random set of as many papers would."""
        m = len(members)
        mean = float(np.linalg.norm(np.mean([unit[p] for p in members], axis=0)))
        return mean - math.sqrt(spread ** 2 + (1 - spread ** 2) / m)

    def specificity(topic: Topic) -> float:
        words = [w for w in topic.words if w not in _ALONE_BAD] or list(topic.words)
        return max(rarity(w) for w in words) if rarity else 1.0

    placed: dict[str, Topic] = {}
    chosen: list[Topic] = []
    limit = min(MAX_THEMES, max(2, round(math.sqrt(n)) + 2))
    stalled = False
    while len(chosen) < MAX_THEMES and (len(chosen) < limit or n - len(placed) > LEFTOVER_SHARE * n):
        # Up to the planned number, a theme must be worth naming; past it (or when no phrase is),
        # while too many papers are unplaced, any subject its papers' titles name will do.
        extending = stalled or len(chosen) >= limit
        best, best_score = None, 0.0 if extending else MIN_SCORE
        for topic in candidates:
            if any(set(topic.key) & set(c.key) for c in chosen):
                continue  # 'Time Series' and 'Time-Series Forecasting' are one theme, not two
            new = topic.papers - set(placed)
            if len(new) < 2:
                continue
            titled = len(topic.titled & new) / len(new)
            # A phrase most of its papers put in their title names their subject even when their
            # abstracts differ ('Estimation': of channels, of directions, of ranges).
            gain = cohesion_gain(new) + (TITLE_COHESION * titled if extending else 0.0)
            if gain <= 0:
                continue
            score = len(new) * specificity(topic) * (1 + 0.3 * (len(topic.key) - 1)) * (0.5 + 0.5 * titled) * gain
            if score > best_score:
                best, best_score = topic, score
        if best is None:
            if extending or n - len(placed) <= LEFTOVER_SHARE * n:
                break
            stalled = True
            continue
        chosen.append(best)
        for pid in best.papers - set(placed):
            placed[pid] = best
    if not chosen:
        return Themes([], ids)
    # A paper stating several chosen phrases joins the theme whose papers it is most like.
    centroids = _centroids(chosen, placed, unit)
    for pid in placed:
        placed[pid] = max((t for t in chosen if pid in t.papers), key=lambda t: float(unit[pid] @ centroids[t.key]))
    members = {t.key: [pid for pid in ids if placed.get(pid) is t] for t in chosen}
    centroids = _centroids(chosen, placed, unit)
    # A paper stating none joins the theme it is most like, while the theme's phrase stays in most of its papers.
    rest = [pid for pid in ids if pid not in placed]
    rest.sort(key=lambda pid: -max(float(unit[pid] @ c) for c in centroids.values()))
    leftovers = []
    overall = np.mean([unit[p] for p in ids], axis=0)
    overall /= np.linalg.norm(overall) or 1.0
    for pid in rest:
        nearest = sorted((t for t in chosen if members[t.key]), key=lambda t: -float(unit[pid] @ centroids[t.key]))
        # Only to a theme it is nearly as like as it is like the selection as a whole (not to just any).
        floor = ATTACH_FLOOR * float(unit[pid] @ overall)
        near = [t for t in nearest[:NEAREST_TRIED] if float(unit[pid] @ centroids[t.key]) > floor]
        for topic in near:
            if sum(1 for p in members[topic.key] if p in topic.papers) > 0.5 * (len(members[topic.key]) + 1):
                members[topic.key].append(pid)
                break
        else:
            leftovers.append(pid)
    groups = []
    for topic in chosen:
        rows = members[topic.key]
        if rows:
            centre = np.mean([unit[p] for p in rows], axis=0)
            rows.sort(key=lambda p: (p not in topic.papers, -float(unit[p] @ centre), p))
            groups.append((topic, rows))
    groups.sort(key=lambda g: (-len(g[1]), g[0].name))
    return Themes(groups, leftovers)


def _centroids(chosen: list[Topic], placed: dict[str, Topic], unit: dict[str, np.ndarray]) -> dict[tuple, np.ndarray]:
    out = {}
    for topic in chosen:
        rows = [unit[p] for p, t in placed.items() if t is topic]
        centre = np.mean(rows, axis=0) if rows else np.zeros_like(next(iter(unit.values())))
        out[topic.key] = centre / (np.linalg.norm(centre) or 1.0)
    return out


def _names_a_subject(topic: Topic, n: int, category_words: set[str]) -> bool:
    """A phrase that can name a theme: stated by two or more papers but not by most of the selection
    (nor, when it is the category's own name, by half), with a word that is not generic, and (a single
    word) a noun in the titles of at least half of its papers ('Clustering', 'Bandits'; not 'Hybrid')."""
    words = topic.words
    if not 2 <= len(topic.papers) <= MAX_SHARE * n or not topic.titled:
        return False
    if all(w in _ALONE_BAD for w in words):
        return False
    if set(words) <= category_words and len(topic.papers) > 0.5 * n:
        return False  # 'Database' in cs.DB says nothing; 'Retrieval' for 4 of cs.IR's 10 papers does
    if len(words) == 1:
        word = words[0]
        adjective = word.endswith(_ADJECTIVE_ENDINGS + ("ic", "al", "ed", "id")) and not word.endswith("val")  # retrieval
        return (not adjective
                and len(topic.titled) >= max(2, 0.5 * len(topic.papers))
                # "Breaking the Bottlenecks", "GIFT: Unlocking …": a verb opening a title
                and topic.opening < (1 if topic.forms[0].norm[0].endswith("ing") else 0.5 * len(topic.titled)))
    return True


# -- Chinese names ---------------------------------------------------------------------------------
_ZH_RUN = re.compile(r"[\u3400-\u9fffA-Za-z0-9]*[\u3400-\u9fff][\u3400-\u9fffA-Za-z0-9]*")  # "KV缓存" is one run
_ZH_PARTICLES = frozenset("的 了 和 与 及 在 是 对 为 将 把 被 或 并 中 上 下 等".split())  # never open or close a name
ZH_NAME_SHARE = 0.3  # a Chinese name is written by at least this share of its theme's papers


class ChineseNamer:
    """Chinese names for themes, in the words their papers' Chinese summaries use: the run of one to
    three words (时间序列, 强化学习) that most of a theme's papers write and the rest of the selection
    does not, preferring one whose dictionary senses (CC-CEDICT) give the English phrase's words."""

    def __init__(self, papers: dict[str, Paper]):
        self.grams: dict[str, set[str]] = {}  # paper id -> the word runs its summary uses
        self.parts: dict[str, tuple[str, ...]] = {}  # run -> its words
        for pid, paper in papers.items():
            used: set[str] = set()
            for run in _ZH_RUN.findall(" ".join([paper.tldr, paper.method, paper.result])):
                words = chinese_words(run)
                for i in range(len(words)):
                    for size in (1, 2, 3):
                        gram = "".join(words[i:i + size])
                        if (i + size <= len(words) and 2 <= len(gram) <= 12 and re.search(r"[\u3400-\u9fff]", gram)
                                and words[i] not in _ZH_PARTICLES and words[i + size - 1] not in _ZH_PARTICLES):
                            used.add(gram)
                            self.parts.setdefault(gram, tuple(words[i:i + size]))
            if used:
                self.grams[pid] = used

    def name(self, topic: Topic, rows: list[str]) -> str:
        """The theme's Chinese name, or its English phrase when its papers share no Chinese words for it."""
        members = [pid for pid in rows if pid in self.grams]
        others = [pid for pid in self.grams if pid not in set(rows)]
        if not members:
            return topic.name
        wanted = {stem(w) for w in topic.words if w not in EN_STOPWORDS}
        inside: Counter = Counter(g for pid in members for g in self.grams[pid])
        outside: Counter = Counter(g for pid in others for g in self.grams[pid])
        best, best_score = None, 0.0
        for gram, count in inside.items():
            if count < min(2, len(members)) or count < ZH_NAME_SHARE * len(members):
                continue
            senses = set().union(*(_senses(w) for w in self.parts[gram]))
            covered = len(wanted & senses)
            share, elsewhere = count / len(members), (outside[gram] / len(others) if others else 0.0)
            # The dictionary gives the phrase's words (高斯过程: Gaussian process), or some of them in a
            # run of words only these papers write (强化学习: 学习 is "learn"; 强化 lacks "reinforce").
            translates = covered >= max(1, math.ceil(0.6 * len(wanted)))
            partly = covered >= 1 and len(self.parts[gram]) >= 2 and elsewhere <= min(0.2, share / 3)
            score = share - elsewhere + 0.1 * covered + 0.01 * len(gram)
            if (translates or partly) and score > best_score:
                best, best_score = gram, score
        return best or topic.name


def _senses(word: str) -> set[str]:
    """The stems of a Chinese word's dictionary senses; a word the dictionary lacks ('强化学习')
    has its parts' senses (强化, 学习)."""
    if not re.search(r"[\u3400-\u9fff]", word):
        return {stem(word.lower())}  # "KV" in "KV缓存" is its own translation
    found = glosses(word, single=True)
    if not found and len(word) >= 4:
        parts = [p for p in chinese_words(word) if p != word] or [word[:2], word[2:]]
        return set().union(*(_senses(p) for p in parts if p != word))
    return {stem(t) for sense in found for t in sense}
