"""Fit the relevance model's weights and bars on the labelled question sets, and report how well
they carry over to a set they were not fitted on.

    .venv/bin/python evals/calibrate.py                      # every evals/datasets/*.jsonl
    .venv/bin/python evals/calibrate.py --dry-run            # report only, write nothing
    .venv/bin/python evals/calibrate.py A.jsonl B.jsonl      # these sets only

Writes assistant/data/relevance.json (the model the product loads: assistant/search/sets/model.py)
and evals/reports/calibration.md (leave-one-set-out: fit on every set but one, score the one left
out, for each set in turn; then the fit on all). Needs the store holding the papers the sets are
about (the 350 sample papers: `digestqa ingest ../shared/digests`).

What is fitted, all by the same rule for every question (nothing is keyed to a question or a set):
- set questions (the questions the product routes to set retrieval): for each candidate paper, its
  features (assistant/search/sets/features.py) and whether it is gold (ok papers are left out of
  the fit: a reader may or may not list them). Gradient-boosted trees per language (TREES), and
  a logistic regression per channel for stores where few papers compete (TREES_MIN_POOL); the
  subject gate (question-level features); the bars for "member" and "may be related" by grid
  search for the best recall of what is listed at a precision of at least
  PRECISION_TARGET (members and related papers are both cited; ok papers count as correct, as in
  the eval), with each unanswerable set question counting as right when nothing clears the lower bar;
  then the second reading (FEEDBACK): each candidate measured again against the papers the first
  reading, fitted without the question's set, ranked best; trees over both, and the bars again on
  their out-of-fold predictions (this part reads the store, so calibration always needs one);
- fact questions: the top source's answerability features (the extractive answerer's
  `answerability`), positive when the question is answerable and a gold paper is among the first
  three sources, negative when it is unanswerable; the bar at the best balanced accuracy.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.chain import may_ask_for_papers  # noqa: E402
from assistant.app import App  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.errors import DigestQAError  # noqa: E402
from assistant.evaluation.dataset import load_dataset  # noqa: E402
from assistant.search.retrieval import Filters  # noqa: E402
from assistant.search.sets.features import FEEDBACK_FEATURES, SUBJECT_FEATURES, subject_row  # noqa: E402
from assistant.search.sets.model import (  # noqa: E402
    DATA_FILE,
    STANDING_FEATURES,
    LanguageModel,
    Logistic,
    RelevanceModel,
    Trees,
    standing_rows,
)

# The model's shape (which features each channel reads) is a design choice, argued in
# assistant/search/sets/model.py; the numbers are fitted here.
_QUESTION = ("top_dense", "coherence", "key_score")  # the same for every candidate of a question
# Each paper's closest sentences (ingest/sentence_vectors.py). Measured on all 32 labelled sets, each
# scored by models fitted without its group of sets (8 groups, both readings refitted), against the
# passages alone: the 23 own-words and fact sets' English set questions recall 0.487 -> 0.486 at
# precision 0.801 -> 0.804, false declines 56 -> 51 of 447, off-corpus declined 16 -> 18 of 72; Chinese
# recall 0.585 -> 0.614 at 0.858 -> 0.875; the tuned sets' English 0.741 -> 0.755 at 0.863 -> 0.852.
# `sentence2` and its local z-score alone (without `sentence`): English false declines 47 but
# off-corpus declined 15, Chinese 0.598 at 0.860.
_SENTENCES = ("sentence", "sentence2", "sentence2_local")
CHANNELS = {
    "en": {"meaning": ("dense", "dense_gap", "dense_local", "dense_rank", "above_gap", "neighbour", "neighbour_local",
                       "lexical", "lexical_key", "key_words", "fused_rank") + _QUESTION + _SENTENCES,
           "words": ("words", "lexical", "dense_local", "dense_gap", "fused_rank", "names_all") + _QUESTION},
    # A Chinese question's meaning is read through its English rendering (search/bilingual.py).
    "zh": {"meaning": ("dense", "dense_gap", "dense_local", "dense_rank", "above_gap", "neighbour", "neighbour_local",
                       "lexical", "lexical_key", "key_words", "fused_rank") + _QUESTION + _SENTENCES,
           "words": ("words", "lexical", "lexical_key", "key_words", "neighbour", "neighbour_local", "fused_rank",
                     "key_score", "coherence")},
}
# `sentence`: the question's cosine to the lead paper's closest abstract sentence (a paper described in
# other words tends to have one sentence saying what the question says). Measured with it, fitted on
# the shipped sets, on 11 own-words sets left out of the fit: fact questions answered 99 -> 114 of 119,
# unanswerable ones declined 11 -> 8 of 24.
ANSWERABLE = {"en": ("coverage", "closest", "named", "sentence"), "zh": ("coverage", "named")}
# The same, with how far the top paper stands out from the others the dense search found: the
# measure that tells a paper described in other words (it stands well above the rest) from a
# neighbouring subject the store lacks (the first few level). A z-score needs a population: in a
# store of a dozen papers (the quick start's sample) it says little, so this one ships with the
# smallest dense pool it was fitted on and applies only from there (sets/model.py).
ANSWERABLE_POOLED = {"en": ("coverage", "closest", "named", "standout", "sentence")}
MIN_NEGATIVES = 3
SUBJECT_GATE = True
# Separate bars for fact questions that fell back to set retrieval: measured, they decline too many
# of the questions a single paper answers; one pair of bars for every set question.
ROUTE_BARS = False
STANDING = False  # a second stage reading each candidate beside its question's best: measured, no better
QUESTION_WEIGHTS = True
# Set membership from gradient-boosted trees over every channel's features (None: the logistic
# channels, the larger counting). Measured on all 32 labelled sets, each set scored by the model
# fitted without its group of sets (8 groups), on the 23 own-words and fact sets, against the logistic
# model fitted on the other 9: English recall 0.40 -> 0.46 at precision 0.78 -> 0.80, false declines
# 86 -> 66 of 447 (0.49 and 54 with the lines below fitted on all sets too), off-corpus declined
# 28 -> 17 of 72; Chinese recall 0.54 -> 0.60 at precision 0.83 -> 0.85. The logistic channels fitted
# on all 32 the same way: English recall 0.37 (more data alone did not help). Small trees with many
# questions' candidates in each leaf (min_samples_leaf), so they follow kinds of questions, not
# single ones.
TREES = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40, "l2_regularization": 1.0}
# More evidence never makes a paper less likely to belong (closer in meaning, more of the question's
# words, nearer the top of a ranking); the question-level features may act either way. Without this,
# trees fitted on 350 papers let a paper none of whose words match rank its way in where only a few
# papers compete (a category's four papers, a small store): trees do not extrapolate.
MONOTONE = {f: 1 for f in ("dense", "dense_gap", "dense_local", "above_gap", "neighbour", "neighbour_local", "words",
                           "names_all", "key_words", "lexical", "lexical_key") + _SENTENCES}
MONOTONE |= {"dense_rank": -1, "fused_rank": -1}
# Where the dense search scored fewer papers than this (a category of a few papers, a small store), the
# logistic channels decide instead of the trees (sets/model.py): the local z-scores are taken over
# this many papers (features.LOCAL), and nearly every question the trees learned from had them all.
TREES_MIN_POOL = 50
# A second reading (set judge `feedback`): trees over the first reading's features plus each candidate
# measured against the first reading's best papers (their centroid, their key terms). The first
# reading's probabilities it is fitted on are out of fold (INNER_FOLDS), as a new question's are.
# Measured on all 32 labelled sets, each scored by models fitted without its group of sets (8 groups,
# both readings refitted), against the trees reading once: the 23 own-words and fact sets' English set
# questions recall 0.462 -> 0.487 at precision 0.804 -> 0.801, false declines 66 -> 56 of 447; Chinese
# 0.598 -> 0.585 at 0.854 -> 0.858; the 9 tuned sets' English 0.723 -> 0.741 at 0.845 -> 0.863. At
# matched precision (0.78-0.80) on the own-words sets: English recall +0.02-0.04, Chinese +0.01-0.03.
FEEDBACK = True
MONOTONE |= {f: 1 for f in FEEDBACK_FEATURES}
INNER_FOLDS = 5  # bars are chosen on predictions from trees fitted without the question's set
FALSE_DECLINE_COST = 2.0
# A false decline is the more damaging mistake (the reader stops looking): unanswerable questions weigh
# this much of answerable ones in the bars' objective (0.5 and 1.0 measured: more declines of both).
UNANSWERABLE_WEIGHT = 0.35
PLATEAU = 0.01  # objective values this close to the best count as equally good
# The bars aim at the issue's own target, recall at a citation precision of at least this much (ok
# papers count as correct): of the bar pairs whose listed papers reach it on the fitted questions,
# the one with the best recall (plus the unanswerable questions' share declined, weighed as above).
# Mean F1 instead, measured on all labelled sets (each sixth left out in turn): English recall 0.62 at
# precision 0.68, and a third of what it lists off the subject. No pair reaching it: mean F1.
PRECISION_TARGET = 0.8
MAX_FALSE_DECLINES = 0.05  # the subject gate's bar: at most this share of answerable set questions declined
L2 = 1.0
BARS = np.round(np.arange(0.05, 0.96, 0.025), 3)


@dataclass
class SetCase:
    dataset: str
    qid: str
    language: str
    answerable: bool
    gold: set[str]
    ok: set[str]
    rows: list[tuple[str, dict[str, float]]]  # (paper id, features) per candidate
    listing: bool = True  # routed to set retrieval (else: a fact question that fell back to it)
    question: str = ""  # its text: the second reading measures it again (FEEDBACK)


# Each candidate of a case measured against the papers a first reading found most probable (given
# that reading's probability of each candidate): the set judge's `feedback`, reading the store.
FeedbackOf = Callable[[SetCase, list[float]], list[dict[str, float]]]


@dataclass
class FactCase:
    dataset: str
    qid: str
    language: str
    label: bool
    row: dict[str, float]


@dataclass
class Collected:
    sets: list[SetCase] = field(default_factory=list)
    facts: list[FactCase] = field(default_factory=list)


def collect(app: App, paths: list[Path]) -> Collected:
    chain = app.chain
    out = Collected()
    for path in paths:
        dataset = load_dataset(path)
        for q in dataset:
            analysis = chain.analyzer.analyze(q.question)
            if analysis.kind in ("id", "author", "category"):
                continue
            names = tuple(analysis.names)
            is_set = analysis.kind == "list" and not analysis.wants_single and chain.set_judge.concepts(q.question, names)
            if analysis.unknown_ids or analysis.unmentioned:
                continue  # declined before any bar is read
            filters = chain.narrowed(analysis, Filters())
            if is_set or (may_ask_for_papers(q.question, analysis) and chain.set_judge.concepts(q.question, names)):
                # A fact question that no single paper answers falls back to the set judge, so the
                # set model meets those too.
                measured, candidates, _, _ = chain.set_judge.measure(q.question, analysis.language == "zh", names, filters)
                rows = [(s.id, measured.features(s.paper)) for s in candidates]
                out.sets.append(SetCase(path.stem, q.qid, analysis.language, q.answerable, set(q.gold_ids), set(q.ok_ids), rows,
                                        bool(is_set), q.question))
            if is_set or len(q.gold_ids) > 1:
                continue  # a single-paper answer is not what these ask for
            sources = chain.fact_sources(q.question, analysis, filters, app.settings.top_k).sources
            if sources and analysis.figures:
                sources = chain.stating_figures(q.question, analysis, sources)
                if analysis.unstated:
                    continue  # declined before any bar is read: the paper states no such figure
            sources = chain.extractive.lead_first(analysis, sources)
            if not sources:
                continue
            if q.answerable and not set(q.gold_ids) & {s.id for s in sources[:3]}:
                continue  # retrieval missed: whether to answer is not the question here
            row = chain.extractive.answerability(q.question, analysis, sources[0])
            out.facts.append(FactCase(path.stem, q.qid, analysis.language, q.answerable, row))
    return out


def feedback_reader(app: App) -> FeedbackOf:
    """The set judge's second reading of a measured case (its question's vector read once)."""
    judge, catalog, vectors = app.chain.set_judge, app.retriever.catalog, {}

    def read(case: SetCase, first: list[float]) -> list[dict[str, float]]:
        key = (case.question, case.language)
        if key not in vectors:
            vectors[key] = judge.meaning_vector(case.question, case.language == "zh")
        return judge.feedback(vectors[key], [catalog[pid] for pid, _ in case.rows], first)

    return read


def write_features(data: Collected, path: Path) -> None:
    path.write_text(json.dumps({"sets": [vars(c) | {"gold": sorted(c.gold), "ok": sorted(c.ok)} for c in data.sets],
                                "facts": [vars(c) for c in data.facts]}), encoding="utf-8")


def read_features(path: Path) -> Collected:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Collected([SetCase(**(c | {"gold": set(c["gold"]), "ok": set(c["ok"]), "rows": [tuple(r) for r in c["rows"]]}))
                      for c in raw["sets"]], [FactCase(**c) for c in raw["facts"]])


# -- fitting ---------------------------------------------------------------------------------------
def fit_logistic(rows: list[dict[str, float]], labels: list[bool], features: tuple[str, ...],
                 weights: list[float] | None = None) -> Logistic:
    """L2-regularised logistic regression on standardised features (full-batch gradient descent:
    a few hundred to a few thousand rows, a dozen features). `weights`: per row (default 1)."""
    x = np.array([[r[f] for f in features] for r in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    sw = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64) * len(y) / sum(weights)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w, b = np.zeros(len(features)), 0.0
    for _ in range(4000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * sw
        w -= 0.2 * (z.T @ g / len(y) + L2 * w / len(y))
        b -= 0.2 * g.mean()
    return Logistic(features, tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, w)), float(b))


def ranked(model: LanguageModel, cases: list[SetCase], feedback_of: FeedbackOf | None = None
           ) -> list[tuple[list[tuple[float, str]], bool]]:
    """Per case, its candidates by probability (best first) and whether the subject gate passes."""
    out = []
    for case in cases:
        rows = [r for _, r in case.rows]
        probs, _ = model.read(rows, (lambda first, case=case: feedback_of(case, first)) if feedback_of else None)
        out.append((sorted(zip(probs, (pid for pid, _ in case.rows), strict=True), reverse=True),
                    bool(rows) and model.holds_subject(subject_row(rows))))
    return out


def set_scores(model: LanguageModel, cases: list[SetCase], member: float, related: float, scored=None,
               single: tuple[float, float] | None = None, feedback_of: FeedbackOf | None = None) -> dict:
    """What the listed papers (members, and up to five related) score against the gold. `scored`:
    `ranked(model, cases)`, when already computed; `single`: the bars of fallen-back fact questions
    (default: the same as the others')."""
    recalls, precisions, member_precisions, declined_ok, declined_bad = [], [], [], [], []
    for case, (probs, held) in zip(cases, scored or ranked(model, cases, feedback_of), strict=True):
        member, related = (member, related) if case.listing or single is None else single
        members = [pid for p, pid in probs if p >= member] if held else []
        related_ids = [pid for p, pid in probs if related <= p < member][:5] if held else []
        shown = members + related_ids
        if not case.answerable:
            declined_ok.append(not shown)
            continue
        declined_bad.append(not shown)
        recalls.append(len(case.gold & set(shown)) / len(case.gold))
        if shown:
            precisions.append(len((case.gold | case.ok) & set(shown)) / len(shown))
        if members:
            member_precisions.append(len((case.gold | case.ok) & set(members)) / len(members))
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    r, p = mean(recalls), mean(precisions)
    f1 = [2 * a * b / (a + b) if a + b else 0.0 for a, b in zip(recalls, precisions + [0.0] * len(recalls), strict=False)]
    return {"n": len(recalls), "recall": r, "precision": p, "member_precision": mean(member_precisions),
            "false_declines": sum(declined_bad), "n_unanswerable": len(declined_ok), "declined": sum(declined_ok),
            "f1": mean(f1)}


def _training_rows(cases: list[SetCase]) -> tuple[list[dict[str, float]], list[bool], list[float]]:
    rows, labels, weights = [], [], []
    for case in cases:
        kept = [(pid, row) for pid, row in case.rows if pid not in case.ok]
        for pid, row in kept:  # an unanswerable question's candidates are all negatives
            rows.append(row)
            labels.append(pid in case.gold)
            # Every question weighs the same, however many candidates it brought.
            weights.append(1.0 / len(kept) if QUESTION_WEIGHTS else 1.0)
    return rows, labels, weights


def fit_channels(cases: list[SetCase], language: str, trees: bool, extra: tuple[str, ...] = ()) -> tuple[Logistic | Trees, ...]:
    """`extra`: features the trees read beside the channels' (the second reading's)."""
    rows, labels, weights = _training_rows(cases)
    if trees:
        features = tuple(dict.fromkeys(f for fs in CHANNELS[language].values() for f in fs)) + extra
        return (fit_trees(rows, labels, features, weights),)
    return tuple(fit_logistic(rows, labels, features, weights) for features in CHANNELS[language].values())


def fit_sets(cases: list[SetCase], language: str, trees: bool = True, feedback_of: FeedbackOf | None = None
             ) -> LanguageModel | None:
    """The set model of one language: trees (TREES) or the logistic channels; with `feedback_of` (and
    FEEDBACK), trees read a second time."""
    cases = [c for c in cases if c.language == language]
    trees = trees and TREES is not None
    if not cases:
        return None
    channels = fit_channels(cases, language, trees)
    subject, subject_bar = fit_subject(cases) if SUBJECT_GATE else (None, 0.0)
    standing = fit_standing(cases, LanguageModel(tuple(channels), 1.0, 1.0)) if STANDING else None
    scored = ranked(LanguageModel(tuple(channels), 1.0, 1.0, subject=subject, subject_bar=subject_bar, standing=standing), cases)
    feedback = None
    if trees:
        scored = out_of_fold(cases, language, scored)
        if FEEDBACK and feedback_of is not None:
            # The second reading is fitted on what it will meet: first-reading probabilities of
            # questions that reading was not fitted on; its bars on its own out-of-fold predictions.
            read = []
            for case, (probs, _) in zip(cases, scored, strict=True):
                first = dict((pid, p) for p, pid in probs)
                more = feedback_of(case, [first[pid] for pid, _ in case.rows])
                rows = [(pid, row | m) for (pid, row), m in zip(case.rows, more, strict=True)]
                read.append(dataclasses.replace(case, rows=rows))
            (feedback,) = fit_channels(read, language, True, FEEDBACK_FEATURES)
            scored = out_of_fold(read, language, scored, FEEDBACK_FEATURES)
    if ROUTE_BARS:  # each route's bars on its own questions
        bars = {}
        for listing in (True, False):
            part = [i for i, c in enumerate(cases) if c.listing == listing]
            bars[listing] = best_bars([cases[i] for i in part], [scored[i] for i in part]) if part else bars[True]
        (member, related), single = bars[True], bars[False]
    else:
        (member, related), single = best_bars(cases, scored), (None, None)
    return LanguageModel(tuple(channels), member, related, *single, subject=subject, subject_bar=subject_bar, standing=standing,
                         feedback=feedback)


def out_of_fold(cases: list[SetCase], language: str, scored, extra: tuple[str, ...] = ()):
    """Each case's candidates as ranked by trees fitted without its set (sets dealt into
    INNER_FOLDS groups), with the gate as fitted on all: trees fit their own training rows closely, so
    bars chosen on those would sit where no new question's papers reach. One set: as fitted."""
    names = sorted({c.dataset for c in cases})
    if len(names) < 2:
        return scored
    fold = {name: i % INNER_FOLDS for i, name in enumerate(names)}
    out = list(scored)
    for k in set(fold.values()):
        inside = [i for i, c in enumerate(cases) if fold[c.dataset] == k]
        model = LanguageModel(fit_channels([c for c in cases if fold[c.dataset] != k], language, True, extra), 1.0, 1.0)
        for i, (probs, _) in zip(inside, ranked(model, [cases[i] for i in inside]), strict=True):
            out[i] = (probs, scored[i][1])
    return out


def fit_trees(rows: list[dict[str, float]], labels: list[bool], features: tuple[str, ...], weights: list[float]) -> Trees:
    """Gradient-boosted trees (scikit-learn's histogram GBM), exported node by node for
    assistant/search/sets/model.py's `Trees`, which needs no scikit-learn."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.array([[r[f] for f in features] for r in rows], dtype=np.float64)
    model = HistGradientBoostingClassifier(**TREES, random_state=0, monotonic_cst=[MONOTONE.get(f, 0) for f in features])
    model.fit(x, np.array(labels), sample_weight=np.asarray(weights, dtype=np.float64) * len(weights) / sum(weights))
    trees = []
    for (predictor,) in model._predictors:  # one tree per boosting round (binary: one per round)
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append((tuple(int(f) if not is_leaf else -1 for f, is_leaf in zip(nodes["feature_idx"], leaf, strict=True)),
                      tuple(float(t) for t in nodes["num_threshold"]), tuple(int(i) for i in nodes["left"]),
                      tuple(int(i) for i in nodes["right"]),
                      tuple(float(v) if is_leaf else 0.0 for v, is_leaf in zip(nodes["value"], leaf, strict=True))))
    return Trees(features, float(np.ravel(model._baseline_prediction)[0]), tuple(trees))


def best_bars(cases: list[SetCase], scored) -> tuple[float, float]:
    """The (member, related) bars with the best objective: recall where the precision reaches
    PRECISION_TARGET, else mean F1. The objective is flat near its top (a few questions flip between
    neighbouring bars), so of the bars within PLATEAU of the best the middle one is taken: a refit on
    slightly different data then moves the bars little."""
    reaching, results = [], []
    for member in BARS:
        for related in BARS[BARS <= member]:
            s = set_scores(LanguageModel((), float(member), float(related)), cases, float(member), float(related), scored)
            # Answerable questions: their recall (or mean F1); unanswerable ones: the share declined;
            # the two classes weigh as UNANSWERABLE_WEIGHT says, however many questions each has.
            declined = s["declined"] / s["n_unanswerable"] if s["n_unanswerable"] else 1.0
            f1 = s["f1"] if s["n"] else 1.0
            results.append(((f1 + UNANSWERABLE_WEIGHT * declined) / (1 + UNANSWERABLE_WEIGHT), float(member), float(related)))
            if s["n"] and s["precision"] >= PRECISION_TARGET:
                reaching.append(((s["recall"] + UNANSWERABLE_WEIGHT * declined) / (1 + UNANSWERABLE_WEIGHT),
                                 float(member), float(related)))
    results = reaching or results
    top = max(score for score, _, _ in results)
    near = [(m, r) for score, m, r in results if score >= top - PLATEAU]
    members = sorted({m for m, _ in near})
    member = members[len(members) // 2]
    relateds = sorted(r for m, r in near if m == member)
    return member, relateds[len(relateds) // 2]


def fit_standing(cases: list[SetCase], first: LanguageModel) -> Logistic:
    """The second stage: each candidate's first-stage probability beside its question's best."""
    rows, labels, weights = [], [], []
    for case in cases:
        kept = [(pid, row) for pid, row in case.rows if pid not in case.ok]
        for (pid, _), row in zip(kept, standing_rows(first.probabilities([r for _, r in kept])), strict=True):
            rows.append(row)
            labels.append(pid in case.gold)
            weights.append(1.0 / len(kept) if QUESTION_WEIGHTS else 1.0)
    return fit_logistic(rows, labels, STANDING_FEATURES, weights)


def fit_subject(cases: list[SetCase]) -> tuple[Logistic | None, float]:
    """Whether the store holds a set question's subject at all, from the question-level features;
    the bar at the best balanced accuracy. None when too few unanswerable set questions to fit on."""
    cases = [c for c in cases if c.rows]
    if sum(not c.answerable for c in cases) < MIN_NEGATIVES or all(not c.answerable for c in cases):
        return None, 0.0
    rows = [subject_row([r for _, r in c.rows]) for c in cases]
    labels = np.array([c.answerable for c in cases])
    model = fit_logistic(rows, list(labels), SUBJECT_FEATURES)
    probs = np.array([model.probability(r) for r in rows])
    # The highest bar that declines at most MAX_FALSE_DECLINES of the answerable questions: a false
    # decline is the most damaging answer (the reader stops looking).
    allowed = [bar for bar in BARS if (probs[labels] < bar).mean() <= MAX_FALSE_DECLINES]
    return model, float(max(allowed)) if allowed else 0.0


def _balanced_bar(probs: np.ndarray, labels: np.ndarray) -> float:
    """The bar with the least weighted error rate: a false decline counts FALSE_DECLINE_COST times
    a false answer (each as a share of its class), because it is the more damaging mistake."""
    best_bar, best = 0.5, float("inf")
    for bar in BARS:
        cost = FALSE_DECLINE_COST * (probs[labels] < bar).mean() + (probs[~labels] >= bar).mean()
        if cost < best - 1e-9:
            best_bar, best = float(bar), cost
    return best_bar


def fit_answerable(cases: list[FactCase], language: str) -> tuple[Logistic, float] | None:
    cases = [c for c in cases if c.language == language]
    if not cases or all(c.label for c in cases) or not any(c.label for c in cases):
        return None
    model = fit_logistic([c.row for c in cases], [c.label for c in cases], ANSWERABLE[language])
    probs = np.array([model.probability(c.row) for c in cases])
    return model, _balanced_bar(probs, np.array([c.label for c in cases]))


def fit_answerable_pooled(cases: list[FactCase], language: str) -> tuple[Logistic, float, int] | None:
    """The answer bar with `standout`, and the smallest dense pool among the questions it was fitted on."""
    cases = [c for c in cases if c.language == language and c.row.get("pool", 0.0) > 1]
    if language not in ANSWERABLE_POOLED or all(c.label for c in cases) or not any(c.label for c in cases):
        return None
    model = fit_logistic([c.row for c in cases], [c.label for c in cases], ANSWERABLE_POOLED[language])
    probs = np.array([model.probability(c.row) for c in cases])
    return model, _balanced_bar(probs, np.array([c.label for c in cases])), int(min(c.row["pool"] for c in cases))


def fit(data: Collected, fallback: RelevanceModel | None = None, lines_from: set[str] | None = None,
        feedback_of: FeedbackOf | None = None) -> RelevanceModel:
    """`lines_from`: the sets the logistic lines for few competing papers are fitted on (default: all);
    `feedback_of`: the store's second reading (None: the trees read once)."""
    sets, small, answerable, pooled = {}, {}, {}, {}
    line_cases = [c for c in data.sets if lines_from is None or c.dataset in lines_from]
    for language in ("en", "zh"):
        model = fit_sets(data.sets, language, feedback_of=feedback_of)
        if model is None and fallback is not None:
            model = fallback.sets.get(language)
        if model is not None:
            sets[language] = model
        if TREES is not None:
            lines = fit_sets(line_cases, language, trees=False)
            if lines is None and fallback is not None:
                lines = fallback.small.get(language)
            if lines is not None:
                small[language] = lines
        fitted = fit_answerable(data.facts, language)
        if fitted is None and fallback is not None:
            fitted = fallback.answerable.get(language)
        if fitted is not None:
            answerable[language] = fitted
        fitted_pooled = fit_answerable_pooled(data.facts, language)
        if fitted_pooled is None and fallback is not None:
            fitted_pooled = fallback.pooled.get(language)
        if fitted_pooled is not None:
            pooled[language] = fitted_pooled
    return RelevanceModel(sets, answerable, {}, pooled, small, TREES_MIN_POOL if small else 0)


def case_pool(case: SetCase) -> int:
    """How many papers the case's dense search scored (measured features carry it)."""
    return int(case.rows[0][1].get("pool", 10**9)) if case.rows else 0


def fact_scores(model: RelevanceModel, cases: list[FactCase]) -> dict:
    answered = [model.answers(c.language, c.row)[1] for c in cases if c.label]
    refused = [not model.answers(c.language, c.row)[1] for c in cases if not c.label]
    return {"n_answerable": len(answered), "answered": sum(answered), "n_unanswerable": len(refused), "refused": sum(refused)}


# -- report ----------------------------------------------------------------------------------------
def _fmt(v) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else (f"{v:.3f}" if isinstance(v, float) else str(v))


def evaluate(model: RelevanceModel, data: Collected, dataset: str | None, feedback_of: FeedbackOf | None = None) -> list[str]:
    cells = []
    for language in ("en", "zh"):
        cases = [c for c in data.sets if c.language == language and (dataset is None or c.dataset == dataset)]
        if not cases or language not in model.sets:
            cells.append("– | – | – | –")
            continue
        # Each case by the model the product would use for it (trees, or the lines where few papers compete).
        parts = {}
        for case in cases:
            lm = model.for_language(language, case_pool(case))
            parts.setdefault(id(lm), (lm, []))[1].append(case)
        scores = [(set_scores(lm, part, lm.member, lm.related, single=lm.bars(False), feedback_of=feedback_of), len(part))
                  for lm, part in parts.values()]
        n = sum(s["n"] for s, _ in scores)
        cells.append(f"{n} | {_fmt(_weighted(scores, 'recall'))} | {_fmt(_weighted(scores, 'precision'))} | "
                     f"{sum(s['false_declines'] for s, _ in scores)} / {sum(s['declined'] for s, _ in scores)} of "
                     f"{sum(s['n_unanswerable'] for s, _ in scores)}")
    facts = [c for c in data.facts if dataset is None or c.dataset == dataset]
    f = fact_scores(model, facts)
    cells.append(f"{f['answered']} of {f['n_answerable']} | {f['refused']} of {f['n_unanswerable']}")
    return cells


def _weighted(scores: list[tuple[dict, int]], key: str) -> float:
    """The groups' means of `key`, weighed by their answerable questions."""
    kept = [(s[key], s["n"]) for s, _ in scores if s["n"] and not np.isnan(s[key])]
    return sum(v * n for v, n in kept) / sum(n for _, n in kept) if kept else float("nan")


def report(data: Collected, full: RelevanceModel, names: list[str], groups: int = 0,
           lines_from: set[str] | None = None, feedback_of: FeedbackOf | None = None) -> str:
    """`groups`: leave out one of this many groups of sets at a time (sets dealt in turn) instead of
    one set: each set is still scored by a model fitted without it, on less data, in fewer fits."""
    head = ("| left out | en set qs | recall | precision | false declines / unanswerable declined | "
            "zh set qs | recall | precision | false declines / unanswerable declined | "
            "fact answered (answerable) | fact refused (unanswerable) |\n" + "|---" * 11 + "|\n")
    lines = ["# Calibration of the relevance model", "",
             f"Fitted by `evals/calibrate.py` at {full.fitted.get('git_commit')} on {full.fitted.get('date')}: "
             f"{len(data.sets)} set questions, {len(data.facts)} fact questions from "
             f"{', '.join(names)}.", "",
             "## Leave one set out" if not groups else f"Leave one set out, by {groups} groups of sets", "",
             ("Each row: the model fitted on every other set, scored on the set left out" if not groups else
              f"Each row: the model fitted without the set's group (the sets dealt in turn into {groups} groups: "
              "" + "; ".join(", ".join(names[i::groups]) for i in range(groups)) + "), scored on the set")
             + " (recall and precision of what a set answer lists, members and \"may be related\" papers together; ok "
             "papers count as correct for precision, as in `digestqa eval`).", "", head.rstrip("\n")]
    group_of = {name: (i % groups if groups else i) for i, name in enumerate(names)}
    models: dict[int, RelevanceModel] = {}
    for name in names:
        key = group_of[name]
        if key not in models:
            left_out = {n for n in names if group_of[n] == key}
            others = Collected([c for c in data.sets if c.dataset not in left_out],
                               [c for c in data.facts if c.dataset not in left_out])
            models[key] = fit(others, fallback=full, lines_from=lines_from, feedback_of=feedback_of)
        lines.append(f"| {name} | " + " | ".join(evaluate(models[key], data, name, feedback_of)) + " |")
    lines += ["", "## Fitted on all (in-sample; what ships)", "", head.rstrip("\n"),
              "| all | " + " | ".join(evaluate(full, data, None, feedback_of)) + " |", "",
              "Bars: " + "; ".join(f"{lang}: member {m.member:.3f}, related {m.related:.3f}" for lang, m in full.sets.items())
              + "; where fewer than " + str(full.trees_min_pool) + " papers compete (logistic lines): "
              + "; ".join(f"{lang}: member {m.member:.3f}, related {m.related:.3f}" for lang, m in full.small.items())
              + "; answerable: " + "; ".join(f"{lang} {bar:.3f}" for lang, (_, bar) in full.answerable.items())
              + "; answerable where the dense search found enough papers: "
              + "; ".join(f"{lang} {bar:.3f} from {pool} papers" for lang, (_, bar, pool) in full.pooled.items()), ""]
    return "\n".join(lines)


def model_json(model: RelevanceModel) -> str:
    """The data file's text: indented, each list of numbers on one line (a tree is five of them)."""
    text = json.dumps(model.to_json(), indent=1)
    return re.sub(r"\[\s*(-?[0-9][-+0-9.e]*(?:,\s*-?[0-9][-+0-9.e]*)*)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"


def shipped_datasets(model_file: Path, key: str = "datasets") -> list[Path]:
    """The sets the shipped model was fitted on (its `fitted.datasets`; `fact_datasets` for the fact
    bar), so a plain re-run fits on the same ones: a set added to datasets/ as a first-contact
    measurement joins the fit only when named on the command line."""
    try:
        fitted = json.loads(model_file.read_text(encoding="utf-8"))["fitted"]
        names = fitted.get(key) or fitted["datasets"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    paths = [ROOT / "evals" / "datasets" / f"{name}.jsonl" for name in names]
    return sorted(p for p in paths if p.exists())


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except DigestQAError as error:  # no store, a bad config: what to do, not a traceback
        print(f"calibrate: {error}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path,
                        help="labelled sets to fit on (default: those the shipped model names, else every set)")
    parser.add_argument("--dry-run", action="store_true", help="print the report; write neither file")
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    parser.add_argument("--report", type=Path, default=ROOT / "evals" / "reports" / "calibration.md")
    parser.add_argument("--features", type=Path, metavar="FILE",
                        help="read the measured features from FILE when it exists, else measure and write them there "
                             "(to try model shapes without measuring again; stale once the features' code changes)")
    parser.add_argument("--groups", type=int, default=0, metavar="K",
                        help="leave out one of K groups of sets at a time instead of one set (K fits instead of one "
                             "per set; each set is still scored by a model fitted without it)")
    parser.add_argument("--fact-sets", nargs="+", type=Path, metavar="SET",
                        help="fit the fact questions' answer bar on these sets only (default: those the shipped "
                             "model's bar names). Fitted on every labelled set it answered fewer of the answerable "
                             "questions of sets left out of the fit (127 vs 138 of 153) and declined no more of the "
                             "unanswerable ones (16 vs 17 of 39), so it stays on the sets it was fitted on")
    args = parser.parse_args(argv)
    if args.groups < 0:
        parser.error(f"--groups must be 0 (one set at a time) or a number of groups, not {args.groups}")
    paths = args.datasets or shipped_datasets(args.out) or sorted((ROOT / "evals" / "datasets").glob("*.jsonl"))
    fact_paths = args.fact_sets or shipped_datasets(args.out, "fact_datasets") or paths
    started = time.perf_counter()
    app = App(load_settings())
    if args.features and args.features.exists():
        data = read_features(args.features)
    else:
        data = collect(app, paths)
        if args.features:
            write_features(data, args.features)
    names = [p.stem for p in paths]
    fact_names = {p.stem for p in fact_paths}
    data = Collected(data.sets, [c for c in data.facts if c.dataset in fact_names])
    try:  # what a part with nothing to fit on keeps (fact sets named but not measured)
        current = RelevanceModel.from_json(json.loads(args.out.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        current = None
    # The logistic lines (few competing papers: a small category, the quick start's dozen papers) stay
    # fitted on the fact bar's sets: fitted on all 32, in the quick start's 12-paper store they listed
    # an inference framework for "Which papers reduce L2 cache misses in attention kernels?".
    feedback_of = feedback_reader(app)
    full = fit(data, fallback=current, lines_from=fact_names, feedback_of=feedback_of)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    full = dataclasses.replace(full, fitted={
        "git_commit": commit or None, "date": time.strftime("%Y-%m-%d"),
        "datasets": {p.stem: hashlib.sha1(p.read_bytes()).hexdigest()[:12] for p in paths},
        "fact_datasets": sorted(fact_names & set(names)),  # the fact bar's and the logistic lines' sets
        "set_questions": len(data.sets), "fact_questions": len(data.facts)})
    text = report(data, full, names, args.groups, fact_names, feedback_of)
    print(text)
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if not args.dry_run:
        args.out.write_text(model_json(full), encoding="utf-8")
        args.report.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
