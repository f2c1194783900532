"""Themes: papers grouped by embedding similarity, each group named from the terms its papers share.

Grouping is Ward agglomerative clustering of the papers' English vectors (the mean embedding of
their title and abstract chunks: the embedding model reads English only, so the Chinese summary
chunks would add noise), cut at k = round(sqrt(n / 2)) groups. It is implemented here in numpy
(Lance-Williams updates) so it is deterministic and needs no extra dependency.

Naming scores 1-3 word phrases: frequent in the group's titles and abstracts, rare in the other
selected papers, and made of terms with a high IDF over the whole store (so 'learning' or 'model'
never name a theme on their own). Phrases from titles are preferred.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.evidence import TermWeights
from assistant.search.lexical import EN_STOPWORDS
from assistant.search.vocabulary import category_names, plural_stem
from assistant.types import Paper

MAX_THEMES = 12
IDF_CAP = 4.0
MAX_NAME_CHARS = 48
CONTRAST = 0.5  # a name's phrase: in the rest of the selection at most half as often as in the group
MIN_COVER = 0.3  # ...and, with its second phrase, in at least 30% of the group's papers
OTHER_EN = "Other topics"
OTHER_ZH = "其他主题"

# Words that may sit inside a phrase but never start or end one (fillers, adjectives, verbs, prefixes).
_EDGE_BAD = frozenset("""towards toward beyond improving improved improve efficient effective efficiently
framework frameworks analysis approach approaches task tasks performance result results problem problems
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
architecture architectures knowledge order""".split())

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


def _display(surfaces: Counter) -> str:
    """The most common written form; lower-case forms are title-cased (acronyms kept)."""
    # Prefer forms written with capitals (titles), then frequency.
    best = max(surfaces.items(), key=lambda kv: (any(c.isupper() for c in kv[0]), kv[1], kv[0]))[0]
    words = re.split(r"(\s+|-)", " ".join(best.split()))
    return "".join(w[:1].upper() + w[1:] if w and w[0].islower() else w for w in words)


def ward_clusters(vectors: np.ndarray, k: int) -> list[int]:
    """Ward agglomerative clustering into k groups; returns a label per row (0..k-1, by first row)."""
    n = len(vectors)
    if n == 0:
        return []
    k = max(1, min(k, n))
    x = np.asarray(vectors, dtype=np.float64)
    sq = (x * x).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)  # squared Euclidean
    np.fill_diagonal(dist, np.inf)
    size = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members = {i: [i] for i in range(n)}
    for _ in range(n - k):
        masked = np.where(alive[:, None] & alive[None, :], dist, np.inf)
        flat = int(np.argmin(masked))
        i, j = divmod(flat, n)
        if i > j:
            i, j = j, i
        ni, nj, nk = size[i], size[j], size
        dij = dist[i, j]
        new = ((ni + nk) * dist[i] + (nj + nk) * dist[j] - nk * dij) / (ni + nj + nk)
        dist[i, :] = new
        dist[:, i] = new
        dist[i, i] = np.inf
        dist[j, :] = np.inf
        dist[:, j] = np.inf
        size[i] = ni + nj
        alive[j] = False
        members[i].extend(members.pop(j))
    labels = [0] * n
    for label, (_, rows) in enumerate(sorted(members.items(), key=lambda kv: min(kv[1]))):
        for r in rows:
            labels[r] = label
    return labels


def theme_count(n: int) -> int:
    if n <= 2:
        return 1
    if n <= 5:
        return 2
    return max(2, min(MAX_THEMES, round(math.sqrt(n / 2))))


def group_papers(ids: list[str], vectors: dict[str, np.ndarray]) -> list[list[str]]:
    """Groups of paper ids, largest first; within a group, the most central paper first.

    Singletons are gathered into one trailing group when there are several of them (the caller
    names it 'Other topics'); the last group is that one exactly when `leftover` is True."""
    if not ids:
        return []
    dim = next((len(v) for v in vectors.values() if v is not None and len(v)), 384)
    x = np.stack([np.asarray(vectors.get(i), dtype=np.float64) if vectors.get(i) is not None else np.zeros(dim)
                  for i in ids])
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    labels = ward_clusters(x, theme_count(len(ids)))
    groups: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        groups[label].append(row)
    out = []
    for rows in groups.values():
        centroid = x[rows].mean(0)
        rows = sorted(rows, key=lambda r: (-float(x[r] @ centroid), ids[r]))
        out.append([ids[r] for r in rows])
    out.sort(key=lambda g: (-len(g), g[0]))
    return out


def split_leftovers(groups: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Singleton groups, when there are at least two of them among three or more groups, become leftovers."""
    singles = [g for g in groups if len(g) == 1]
    if len(groups) >= 3 and len(singles) >= 2:
        return [g for g in groups if len(g) > 1], [g[0] for g in singles]
    return groups, []


class ThemeNamer:
    """Names groups of papers from the phrases they share and the rest of the selection lacks."""

    def __init__(self, papers: dict[str, Paper], weights: TermWeights | None):
        self.papers = papers
        self.weights = weights
        self.table: dict[tuple[str, ...], _Phrase] = {}
        self.used: set[tuple[str, ...]] = set()
        # The category's own names: inside a briefing of one category, a theme called after the
        # category ('Database' in cs.DB, 'Software Engineering' in cs.SE) says nothing.
        names = category_names()
        self.category_words = {_norm(w) for c in {p.category for p in papers.values()} for name in names.get(c, ())
                               for w in _WORD.findall(name) if w.lower() not in EN_STOPWORDS}
        for pid, paper in papers.items():
            for norm, surface in _phrases(paper.title):
                ph = self.table.setdefault(norm, _Phrase(norm))
                ph.surfaces[surface] += 2
                ph.in_title.add(pid)
                ph.in_text.add(pid)
            for norm, surface in _phrases(paper.abstract):
                ph = self.table.setdefault(norm, _Phrase(norm))
                ph.surfaces[surface] += 1
                ph.in_text.add(pid)

    def _idf(self, norm: tuple[str, ...]) -> float:
        """Mean IDF of the phrase's words over the store, scaled to 0..1 (rare words count fully)."""
        if self.weights is None:
            return 1.0
        values = [min(self.weights.idf(t), IDF_CAP) / IDF_CAP for t in norm]
        specific = [v for t, v in zip(norm, values, strict=False) if t not in _ALONE_BAD]
        # 'reinforcement learning' is as specific as 'reinforcement'; 'language model' is only half so.
        return sum(specific) / len(specific) if specific else 0.5 * sum(values) / len(values)

    def candidates(self, group: list[str]) -> list[tuple[float, _Phrase]]:
        members = set(group)
        m, total = len(members), len(self.papers)
        scored = []
        for ph in self.table.values():
            a = len(ph.in_text & members)
            if a == 0 or (m >= 2 and a < 2):
                continue
            rest = len(ph.in_text) - a
            if m < total and rest / (total - m) > CONTRAST * a / m:
                continue  # the rest of the selection says it nearly as often ('Database' in cs.DB)
            if len(ph.norm) == 1 and ph.norm[0] in _ALONE_BAD or set(ph.norm) <= self.category_words:
                continue
            t = len(ph.in_title & members)
            if (m == 1 or len(ph.norm) == 1) and t == 0:
                continue  # a single paper's theme is named from its title
            b = len(ph.in_text) - a
            precision = a / (a + b)
            if total > m and precision < 0.5 and m > 1:
                continue
            share = (a + 1.5 * t) / (2.5 * m)
            score = share * precision * self._idf(ph.norm) * (1 + 0.3 * (len(ph.norm) - 1))
            if len(ph.norm) == 1 and ph.norm[0].endswith(_ADJECTIVE_ENDINGS):
                score *= 0.6  # 'generative', 'continual': better as part of a phrase
            scored.append((score, a, ph))
        # A word or phrase inside a longer candidate that covers (nearly) the same papers gives way to it.
        longer = [(a, ph) for _, a, ph in scored if len(ph.norm) > 1]
        kept = []
        for score, a, ph in scored:
            if any(_contains(big.norm, ph.norm) and a_big >= a for a_big, big in longer if big is not ph):
                continue
            kept.append((score, ph))
        kept.sort(key=lambda sp: (-sp[0], sp[1].norm))
        return kept

    def assorted(self, group: list[str], limit: int = 3) -> str:
        """For a group that shares no phrase: 'Assorted: Data Lakes, Vector Search', from the title
        phrases of its most central papers (as many as fit, whole phrases only)."""
        parts: list[str] = []
        for pid in group:
            best = next((ph for _, ph in self.candidates([pid]) if pid in ph.in_title), None)
            shown = _display(best.surfaces) if best else ""
            if not shown or shown in parts:
                continue
            if len("Assorted: " + ", ".join(parts + [shown])) > MAX_NAME_CHARS + 12:
                continue  # too long beside the others: a shorter one may fit
            parts.append(shown)
            if len(parts) >= limit:
                break
        return "Assorted: " + ", ".join(parts) if len(parts) >= 2 else ""

    def name(self, group: list[str]) -> str:
        """A name for the group from its strongest one or two phrases ('' when nothing is shared).

        Names already given to other groups by this namer are not reused."""
        picks: list[_Phrase] = []
        best = None
        limit = 1 if len(group) == 1 else 2
        for score, ph in self.candidates(group):
            if ph.norm in self.used:
                continue
            if best is None:
                best, picks = score, [ph]
                continue
            if score < 0.55 * best:
                break
            wider = next((i for i, p in enumerate(picks) if _contains(ph.norm, p.norm)), None)
            if wider is not None:
                picks[wider] = ph  # 'Forecasting' -> 'Time Series Forecasting' when nearly as strong
                continue
            if len(picks) >= limit:
                continue
            if any(set(ph.norm) & set(p.norm) for p in picks) or any(_acronym(ph, p) for p in picks):
                continue  # overlaps a phrase already chosen, or is its abbreviation
            if len((ph.in_text & set(group)) - picks[0].in_text) < 2:
                continue  # a second phrase names other papers of the group, or it only adds words
            picks.append(ph)
        if not picks:
            return ""
        if len(group) >= 3 and len(set(group) & set().union(*(p.in_text for p in picks))) < MIN_COVER * len(group):
            return ""  # a phrase of a few of its papers would misname the rest: see assorted()
        self.used.update(p.norm for p in picks)
        if len(picks) == 2:  # 'Time Series' + 'Forecasting' -> 'Time Series Forecasting' when that is written
            for joined in (picks[0].norm + picks[1].norm, picks[1].norm + picks[0].norm):
                if joined in self.table and len(self.table[joined].in_title & set(group)) >= min(2, len(group)):
                    self.used.add(joined)
                    return _display(self.table[joined].surfaces)
            shown = [_display(p.surfaces) for p in picks]
            folded = [re.sub(r"[^a-z0-9]+", " ", t.lower()).strip() for t in shown]
            if folded[0] in folded[1] or folded[1] in folded[0]:  # 'Time-Series Forecasting' & 'Forecasting'
                return max(shown, key=len)
            text = " & ".join(shown)
            if len(text) <= MAX_NAME_CHARS:
                return text
        return _display(picks[0].surfaces)


def _acronym(a: _Phrase, b: _Phrase) -> bool:
    """'GNN' abbreviates 'graph neural network' (either way round)."""
    for short, long in ((a, b), (b, a)):
        if len(short.norm) == 1 and len(long.norm) > 1:
            letters = short.norm[0].rstrip("s")
            if letters == "".join(w[0] for w in long.norm):
                return True
    return False


def _contains(big: tuple[str, ...], small: tuple[str, ...]) -> bool:
    n = len(small)
    return len(big) > n and any(big[i:i + n] == small for i in range(len(big) - n + 1))
