"""What is measured of each candidate paper for a set question: the numbers calibration weighs.

Meaning (the embedding model reads English only: a Chinese question is read in its English rendering,
search/bilingual.py):
- `dense`: cosine of the paper's closest passage to the question;
- `dense_gap`: how far below the store's closest paper it is (a subject some paper clearly is
  about puts that paper near 0.6; a vague question puts every paper near 0.3);
- `dense_local`: how it stands among the 50 closest papers (z-score), so the cut follows the
  question's own spread;
- `dense_rank`: log of its rank among all papers;
- `above_gap`: whether it sits above the widest gap among the 15 closest papers (a topic's papers
  tend to cluster above one);
- `sentence`, `sentence2`: cosine of the paper's closest sentence, and the mean of its two closest
  (ingest/sentence_vectors.py: a paper is about a subject when a sentence or two say so, which a
  passage's vector blurs); `sentence2_local`: how the latter stands among the 50 best papers.
Neighbourhood (both languages): the seeds are the papers closest to the question in meaning:
- `neighbour`: cosine of the paper to the seeds' centroid (papers on one subject resemble each
  other, whatever the question's wording); `neighbour_local`: its z-score among the 50 closest.
Words:
- `words`: IDF-weighted presence of the question's own concepts (presence.py); `names_all`: 1 when
  it names every one of them;
- `key_words`: the same for the subject in the papers' own words (keyterms.py);
- `lexical`: BM25 of the question (and its alias spellings), relative to the best;
- `lexical_key`: BM25 of the key terms, relative to the best;
- `fused_rank`: log of its rank in the hybrid ranking (61 when not in it).
Of the question as a whole (the same for every candidate; they let the bar move with how clearly the
store holds the subject, and decide whether it holds it at all): `top_dense`, the closest paper's
cosine; `key_score`, how well the best key term is shared by the seeds, rare and close to the
question; `coherence`, how alike the seeds are (the papers closest to a subject the store holds
resemble each other; those closest to an absent one each match a different word of it).

Feedback (a second reading, judge.py `feedback`): the first reading's most probable papers stand for
the subject better than the question's own wording does (a reader's "forget specific training data"
is the papers' "unlearning"), so each candidate is measured again against them:
- `feedback_neighbour`: cosine of the paper to the probability-weighted centroid of the first
  reading's best `FEEDBACK_SEEDS` papers;
- `feedback_key_words`, `feedback_lexical_key`: `key_words` and `lexical_key` for the key terms of
  the first reading's best papers instead of the papers closest to the question's wording.

`pool`: how many papers the dense search scored (the whole store, or those the question's filters
allow): it chooses which model reads the others (sets/model.py), no model reads it.

Each value is a plain float; `FEATURES` is the full list in a fixed order (the calibration data
file names the ones each model uses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from assistant.search.sets.concepts import Concept
from assistant.search.sets.presence import membership_score, paper_words, stated
from assistant.types import Paper

FEATURES = ("dense", "dense_gap", "dense_local", "dense_rank", "above_gap", "neighbour", "neighbour_local",
            "words", "names_all", "key_words", "lexical", "lexical_key", "fused_rank", "top_dense", "key_score", "coherence",
            "sentence", "sentence2", "sentence2_local", "pool")
FEEDBACK_FEATURES = ("feedback_neighbour", "feedback_key_words", "feedback_lexical_key")
SUBJECT_FEATURES = ("top_dense", "key_score", "coherence", "top_words")  # of the question as a whole
LOCAL = 50  # papers the local z-scores are taken over
GAP_WINDOW = 15
ABSENT_RANK = 61  # beyond the candidates: rank when a paper is not in a ranking


@dataclass
class SetQuestion:
    """One set question as every candidate is measured against it (computed once per question)."""

    chinese: bool
    concepts: list[Concept]
    key_concepts: list[Concept]
    dense: dict[str, float] = field(default_factory=dict)  # paper id -> cosine (English questions)
    neighbour: dict[str, float] = field(default_factory=dict)  # paper id -> cosine to the seeds
    lexical: dict[str, float] = field(default_factory=dict)  # paper id -> BM25 relative to the best
    lexical_key: dict[str, float] = field(default_factory=dict)
    fused_rank: dict[str, int] = field(default_factory=dict)  # paper id -> 0-based rank
    key_score: float = 0.0  # the best key term's score (keyterms.py)
    coherence: float = 0.0  # mean pairwise cosine of the seeds' own vectors
    vector: np.ndarray | None = None  # what the model read of the question (unit length; None: nothing)
    sentence: dict[str, float] = field(default_factory=dict)  # paper id -> its closest sentence's cosine
    sentence2: dict[str, float] = field(default_factory=dict)  # paper id -> mean of its two closest

    def __post_init__(self):
        self._dense_stats = _stats(self.dense)
        self._neighbour_stats = _stats(self.neighbour)
        self._sentence2_stats = _stats(self.sentence2)
        ranked = sorted(self.dense.values(), reverse=True)
        self._dense_rank = {pid: r for r, pid in enumerate(sorted(self.dense, key=lambda p: -self.dense[p]))}
        window = ranked[:GAP_WINDOW]
        gaps = [a - b for a, b in zip(window, window[1:], strict=False)]
        self._gap_cut = window[int(np.argmax(gaps))] if gaps else -1.0

    def features(self, paper: Paper) -> dict[str, float]:
        pid = paper.id
        top, mean, spread = self._dense_stats
        d = self.dense.get(pid, mean)
        n_top, n_mean, n_spread = self._neighbour_stats
        n = self.neighbour.get(pid, n_mean)
        _, s_mean, s_spread = self._sentence2_stats
        s2 = self.sentence2.get(pid, s_mean)
        return {
            "dense": d,
            "dense_gap": d - top,
            "dense_local": (d - mean) / spread,
            "dense_rank": math.log1p(self._dense_rank.get(pid, len(self._dense_rank))),
            "above_gap": float(bool(self.dense) and d >= self._gap_cut),
            "neighbour": n,
            "neighbour_local": (n - n_mean) / n_spread,
            "words": membership_score(self.concepts, paper, self.chinese) if self.concepts else 0.0,
            "names_all": float(bool(self.concepts) and all(stated(c, paper_words(paper), self.chinese)
                                                           for c in self.concepts if not c.example)),
            "key_words": max((membership_score([c], paper, False) for c in self.key_concepts), default=0.0),
            "lexical": self.lexical.get(pid, 0.0),
            "lexical_key": self.lexical_key.get(pid, 0.0),
            "fused_rank": math.log1p(self.fused_rank.get(pid, ABSENT_RANK)),
            "top_dense": top,
            "key_score": self.key_score,
            "coherence": self.coherence,
            "sentence": self.sentence.get(pid, 0.0),
            "sentence2": s2,
            "sentence2_local": (s2 - s_mean) / s_spread,
            "pool": float(len(self.dense)),
        }



def subject_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """The question-level features, from its candidates' rows: the shared values, and `top_words`,
    how fully the candidate that states most of the question's own words states them (an absent
    subject's technical terms are stated by none; a paraphrase's plain words by few)."""
    if not rows:
        return {"top_dense": 0.0, "key_score": 0.0, "coherence": 0.0, "top_words": 0.0}
    first = rows[0]
    return {"top_dense": first["top_dense"], "key_score": first["key_score"], "coherence": first["coherence"],
            "top_words": max(r["words"] for r in rows)}


def _stats(scores: dict[str, float]) -> tuple[float, float, float]:
    """(best, mean of the LOCAL best, their spread) of a per-paper score; neutral when empty."""
    if not scores:
        return 0.0, 0.0, 1.0
    best = np.sort(np.fromiter(scores.values(), dtype=np.float64))[::-1][:LOCAL]
    return float(best[0]), float(best.mean()), float(best.std()) or 1.0
