"""Set questions, decided by meaning: every candidate paper gets a calibrated probability that a
reader would list it, and one of three outcomes.

1. Candidates, generously: the hybrid ranking (the question plus the other spellings of its
   terms, `SET_CANDIDATES` papers) and the papers closest in meaning over the whole store (a
   Chinese question read in its English rendering, search/bilingual.py; assistant/search/vectors.py:
   exact, not the approximate index).
2. The question measured once (features.py): its own concepts (concepts.py), the papers closest to
   it (the seeds), the subject in the seeds' own words (keyterms.py).
3. Each candidate's features -> probability (model.py, fitted by evals/calibrate.py). Where the
   model has a second reading, each candidate is then measured again against the papers that first
   probability ranks best (`feedback`: pseudo-relevance feedback from the first reading's own
   choice, not from the papers nearest the question's wording), and that reading decides.
4. The probability -> a tier:
   "member" (clearly about the subject), "related" (plausible, below the member bar: shown as
   such, cited) or "out". Nothing plausible at all is the only case a set question is declined.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.ingest.embeddings import embed_recurring
from assistant.search.retrieval import Filters, Retriever
from assistant.search.sets.concepts import Concept, topic_concepts
from assistant.search.sets.features import SetQuestion, subject_row
from assistant.search.sets.keyterms import KeyTerm, key_terms
from assistant.search.sets.model import RelevanceModel, load_model
from assistant.search.sets.presence import membership_score
from assistant.types import Paper, Source

SET_CANDIDATES = 60  # papers of the hybrid ranking judged (each retriever contributes 4x as many chunks)
DENSE_CANDIDATES = 60  # … plus the papers closest in meaning over the whole store
SEEDS = 3  # papers whose centroid is the subject's neighbourhood
FEEDBACK_SEEDS = 3  # the first reading's best papers whose centroid the second reading measures against
FEEDBACK_HITS = 400  # chunks the second reading's keyword search returns (the candidates' own, a few each)
MAX_RELATED = 5  # "may be related" papers listed at most
TERM_VECTORS_KEPT = 20000  # ~30 MB of 384-d vectors


@dataclass
class Verdict:
    """One candidate's outcome, kept on its Source for display, the answerers and tests."""

    source: Source
    probability: float
    tier: str  # "member" | "related" | "out"
    features: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.source.id


@dataclass
class SetResult:
    verdicts: list[Verdict]  # members, then related, then the rest; each by probability
    concepts: list[Concept]
    key_terms: list[KeyTerm]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def members(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.tier == "member"]

    @property
    def related(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.tier == "related"]


class SetJudge:
    """Built once per process by the chain, from what the retriever owns."""

    def __init__(self, retriever: Retriever, rarity: Callable[[str], float], model: RelevanceModel | None = None):
        self._model = model
        self.retriever = retriever
        self.rarity = rarity  # a term's IDF (of its rarest word)
        self._term_vectors: dict[str, np.ndarray] = {}  # key-term candidates recur across questions

    @property
    def model(self) -> RelevanceModel:
        """The calibration (read when first needed: the calibration script measures without one)."""
        if self._model is None:
            self._model = load_model()
        return self._model

    def concepts(self, question: str, drop: tuple[str, ...] = ()) -> list[Concept]:
        return topic_concepts(question, self.rarity, drop=drop)

    def measure(self, question: str, chinese: bool, drop: tuple[str, ...] = (),
                filters: Filters | None = None) -> tuple[SetQuestion, list[Source], list[KeyTerm], dict]:
        """The candidates and what they are measured against (the calibration script calls this too)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        concepts = self.concepts(question, drop)
        spellings = [s.text for c in concepts for s in c.spellings if s.text.lower() not in question.lower()]
        ranked = self.retriever.search(question, SET_CANDIDATES, filters, lexical_query=" ".join([question] + spellings)).sources
        timings["search_s"] = time.perf_counter() - started
        started = time.perf_counter()
        allowed = self.retriever.allowed_ids(filters)
        vectors = self.retriever.vectors()
        catalog = self.retriever.catalog
        dense: dict[str, float] = {}
        sentence: dict[str, float] = {}
        sentence2: dict[str, float] = {}
        question_vector = self.meaning_vector(question, chinese) if len(vectors) else None
        if question_vector is not None:
            scores = vectors.paper_scores(question_vector)
            best, two = vectors.sentence_scores(question_vector)
            kept = [(pid, i) for pid, i in vectors.position.items() if allowed is None or pid in allowed]
            dense = {pid: float(scores[i]) for pid, i in kept}
            sentence = {pid: float(best[i]) for pid, i in kept}
            sentence2 = {pid: float(two[i]) for pid, i in kept}
        candidates = list(ranked)
        known = {s.id for s in candidates}
        for pid in sorted(dense, key=lambda p: -dense[p])[:DENSE_CANDIDATES]:
            if pid not in known and pid in catalog:
                candidates.append(Source(catalog[pid], 0.0, [], ["dense"], {"dense": dense[pid]}))
                known.add(pid)
        # The seeds: closest in meaning, else (nothing the model can read) the first of the keyword-led ranking.
        seed_ids = (sorted(dense, key=lambda p: -dense[p]) if dense else [s.id for s in ranked])[:max(SEEDS, 5)]
        neighbour: dict[str, float] = {}
        centroid = None
        seed_rows = [vectors.position[p] for p in seed_ids[:SEEDS] if p in vectors.position]
        coherence = 0.0
        if seed_rows:
            seeds = vectors.centroids[seed_rows]
            pairs = seeds @ seeds.T
            coherence = float((pairs.sum() - np.trace(pairs)) / max(1, len(seed_rows) * (len(seed_rows) - 1)))
            centroid = vectors.centroids[seed_rows].mean(axis=0)
            centroid /= np.linalg.norm(centroid) or 1.0
            near = vectors.centroids @ centroid
            neighbour = {pid: float(near[i]) for pid, i in vectors.position.items() if allowed is None or pid in allowed}
        target = question_vector if question_vector is not None else centroid
        terms = key_terms([catalog[p] for p in seed_ids if p in catalog], target, self.rarity, self._embed_terms) \
            if target is not None else []
        key_concepts = [c for t in terms for c in topic_concepts(t.text, self.rarity)[:1]]
        timings["meaning_s"] = time.perf_counter() - started
        lexical = _relative({s.id: s.evidence.get("lexical", 0.0) for s in ranked})
        lexical_key = self._stating(terms, 4 * SET_CANDIDATES, allowed)
        measured = SetQuestion(chinese, concepts, key_concepts, dense, neighbour, lexical, lexical_key,
                               {s.id: r for r, s in enumerate(ranked)}, terms[0].score if terms else 0.0, coherence,
                               question_vector, sentence, sentence2)
        return measured, candidates, terms, timings

    def meaning_vector(self, question: str, chinese: bool) -> np.ndarray | None:
        """The question as the embedding model reads it (a Chinese question in its English rendering,
        bilingual.py); None when nothing is left to read."""
        text = self.retriever.english_rendering(question) if chinese else question
        return np.asarray(self.retriever.embedder.embed_query(text), np.float32) if text.strip() else None

    def feedback(self, vector: np.ndarray | None, papers: list[Paper], first: list[float]) -> list[dict[str, float]]:
        """Each candidate measured against the first reading's most probable papers (features.py,
        "Feedback"): their probability-weighted centroid and the key terms they share. `vector`: the
        question's (`meaning_vector`); `first`: the first reading's probability of each paper."""
        if not papers:
            return []
        vectors = self.retriever.vectors()
        order = sorted(range(len(papers)), key=lambda i: -first[i])
        best = [i for i in order if papers[i].id in vectors.position][:FEEDBACK_SEEDS]
        centroid = None
        if best:
            weights = np.asarray([first[i] for i in best], np.float32)[:, None]
            centroid = (vectors.centroids[[vectors.position[papers[i].id] for i in best]] * weights).sum(axis=0)
            centroid /= np.linalg.norm(centroid) or 1.0
        target = vector if vector is not None else centroid
        terms = key_terms([papers[i] for i in order], target, self.rarity, self._embed_terms) if target is not None else []
        concepts = [c for t in terms for c in topic_concepts(t.text, self.rarity)[:1]]
        stated = self._stating(terms, FEEDBACK_HITS, {p.id for p in papers})
        return [{"feedback_neighbour": float(vectors.centroids[vectors.position[p.id]] @ centroid)
                 if centroid is not None and p.id in vectors.position else 0.0,
                 "feedback_key_words": max((membership_score([c], p, False) for c in concepts), default=0.0),
                 "feedback_lexical_key": stated.get(p.id, 0.0)} for p in papers]

    def judge(self, question: str, chinese: bool, drop: tuple[str, ...] = (), filters: Filters | None = None,
              listing: bool = True) -> SetResult:
        """`listing`: the question asks for papers; False: it asked about one paper or fact and no
        single paper answered it (it expects one or two papers, so the bars are that case's)."""
        measured, candidates, terms, timings = self.measure(question, chinese, drop, filters)
        started = time.perf_counter()
        model = self.model.for_language("zh" if chinese else "en", len(measured.dense))
        rows = [measured.features(source.paper) for source in candidates]
        member, related = model.bars(listing)
        held = model.holds_subject(subject_row(rows))  # else nothing is plausible: every candidate is out
        papers = [source.paper for source in candidates]
        probabilities, rows = model.read(rows, lambda first: self.feedback(measured.vector, papers, first))
        verdicts = []
        for source, row, p in zip(candidates, rows, probabilities, strict=True):
            tier = "out" if not held else ("member" if p >= member else ("related" if p >= related else "out"))
            verdicts.append(Verdict(source, p, tier, row))
        order = {"member": 0, "related": 1, "out": 2}
        verdicts.sort(key=lambda v: (order[v.tier], -v.probability))
        for v in [v for v in verdicts if v.tier == "related"][MAX_RELATED:]:
            v.tier = "out"
        verdicts.sort(key=lambda v: (order[v.tier], -v.probability))
        timings["judge_s"] = time.perf_counter() - started
        return SetResult(verdicts, measured.concepts, terms, timings)

    def _stating(self, terms: list[KeyTerm], hits: int, allowed: set[str] | None) -> dict[str, float]:
        """Per paper, BM25 of the key terms (its best chunk among the first `hits`), relative to the best."""
        best: dict[str, float] = {}
        if terms:
            for hit in self.retriever.lexical().search(" ".join(t.text for t in terms), hits, allowed):
                best[hit.chunk.paper_id] = max(best.get(hit.chunk.paper_id, 0.0), hit.score)
        return _relative(best)

    def _embed_terms(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._term_vectors]
        if missing:
            if len(self._term_vectors) > TERM_VECTORS_KEPT:
                self._term_vectors.clear()
            fresh = np.asarray(embed_recurring(self.retriever.embedder, missing), dtype=np.float32)  # kept across processes too
            self._term_vectors.update(zip(missing, fresh, strict=True))
        return np.stack([self._term_vectors[t] for t in texts])


def _relative(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    return {pid: s / top for pid, s in scores.items()} if top > 0 else {}
