"""The calibrated relevance model: from a candidate's features to the probability that a reader would
list it for the question, and the bars for "member", "may be related" and "answerable".

Nothing here is set by hand. `evals/calibrate.py` fits the weights and the bars on the labelled
question sets (evals/datasets/*.jsonl) and writes them to assistant/data/relevance.json, with a
leave-one-set-out report in evals/reports/calibration.md. There is a model per language ("en", "zh": a
Chinese question reaches the embedding model only through its English rendering, a dictionary's
word-for-word reading, so its signals weigh differently). Set membership is read by small
gradient-boosted trees over every feature (`Trees`): how much a feature counts depends on the others
(the words a short keyword question states decide it; for a question in other words, meaning does).
The trees may read twice: the second time (`feedback`) with each candidate also measured against the
papers the first reading ranked best (judge.py), so a subject the question names in other words than
the papers is read in the papers' words. A model may instead hold logistic channels (`Logistic`), one
over meaning and one over words, the larger counting, so a paper stated in the question's words and a
paper about the subject in other words each qualify without the other counting against it: the shape
before the trees, kept readable.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "relevance.json"


@dataclass(frozen=True)
class Logistic:
    """p = sigmoid(bias + sum(weight * (x - mean) / scale))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, row: dict[str, float]) -> float:
        z = self.bias + sum(w * (row[f] - m) / s for f, m, s, w in zip(self.features, self.mean, self.scale, self.weights,
                                                                        strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def probabilities(self, rows: list[dict[str, float]]) -> list[float]:
        return [self.probability(row) for row in rows]

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        return cls(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                   tuple(map(float, data["weights"])), float(data["bias"]))


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted decision trees: p = sigmoid(baseline + the leaf each tree sends the row to).
    Each tree is four parallel lists over its nodes: the feature tested (-1 at a leaf), the
    threshold (a row goes left when its value is at most it), the left and right child, and the
    leaf's value. Trees can weigh a feature differently by the question's kind (a short keyword
    question is decided by its words; one in other words by meaning), which one line cannot."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[int, ...], tuple[float, ...]], ...]
    _nodes: list = field(init=False, repr=False, compare=False)  # the same lists as arrays, made once

    def __post_init__(self):
        object.__setattr__(self, "_nodes", [
            (np.asarray(f, np.int64), np.asarray(t, np.float64), np.asarray(lo, np.int64), np.asarray(hi, np.int64),
             np.asarray(v, np.float64)) for f, t, lo, hi, v in self.trees])

    def probability(self, row: dict[str, float]) -> float:
        return self.probabilities([row])[0]

    def probabilities(self, rows: list[dict[str, float]]) -> list[float]:
        if not rows:
            return []
        x = np.array([[row[f] for f in self.features] for row in rows], dtype=np.float64)
        raw = np.full(len(rows), self.baseline)
        at = np.arange(len(rows))
        for feature, threshold, left, right, value in self._nodes:
            node = np.zeros(len(rows), dtype=np.int64)
            while True:
                inner = feature[node] >= 0
                if not inner.any():
                    break
                go_left = x[at, np.maximum(feature[node], 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            raw += value[node]
        return [float(p) for p in 1.0 / (1.0 + np.exp(-np.clip(raw, -60.0, 60.0)))]

    def to_json(self) -> dict:
        return {"kind": "trees", "features": list(self.features), "baseline": self.baseline,
                "trees": [{"feature": list(f), "threshold": list(t), "left": list(lo), "right": list(hi), "value": list(v)}
                          for f, t, lo, hi, v in self.trees]}

    @classmethod
    def from_json(cls, data: dict) -> Trees:
        return cls(tuple(data["features"]), float(data["baseline"]),
                   tuple((tuple(map(int, t["feature"])), tuple(map(float, t["threshold"])), tuple(map(int, t["left"])),
                          tuple(map(int, t["right"])), tuple(map(float, t["value"]))) for t in data["trees"]))


def channel_from_json(data: dict) -> Logistic | Trees:
    return Trees.from_json(data) if data.get("kind") == "trees" else Logistic.from_json(data)


@dataclass(frozen=True)
class LanguageModel:
    """The set-membership channels and bars for questions in one language."""

    channels: tuple[Logistic | Trees, ...]
    member: float  # probability at which a candidate is listed as a member
    related: float  # … at which it is listed as "may be related" (and below which nothing is plausible)
    # The same two bars for a question asked about one paper or fact that no paper answered on its
    # own (it falls back to set retrieval): such a question expects one or two papers, not a list.
    single_member: float | None = None
    single_related: float | None = None
    subject: Logistic | None = None  # whether the store holds the question's subject at all
    subject_bar: float = 0.0

    standing: Logistic | None = None  # second stage: a candidate's probability among its question's others
    # The second reading (judge.py `feedback`): trees over the first reading's features plus each
    # candidate measured against the first reading's best papers; when present, it decides.
    feedback: Trees | None = None

    def probability(self, row: dict[str, float]) -> float:
        """The first stage alone: the larger of the channels' probabilities."""
        return max(channel.probability(row) for channel in self.channels)

    def probabilities(self, rows: list[dict[str, float]]) -> list[float]:
        """Every candidate of one question. The first stage's probabilities are not comparable
        across questions (a subject named in other words leaves every paper lower), so a second
        stage reads each one beside its question's best: its share of the best, its rank."""
        first = [max(ps) for ps in zip(*(channel.probabilities(rows) for channel in self.channels), strict=True)] if rows else []
        if self.standing is None or not first:
            return first
        return [self.standing.probability(row) for row in standing_rows(first)]

    def read(self, rows: list[dict[str, float]], feedback: Callable[[list[float]], list[dict[str, float]]] | None = None
             ) -> tuple[list[float], list[dict[str, float]]]:
        """Every candidate's probability and the rows it was read from: the first reading, then, where
        the model has a second one, that one over the rows plus `feedback(first)` (each candidate
        measured against the first reading's best papers: judge.py)."""
        first = self.probabilities(rows)
        if self.feedback is None or not rows:
            return first, rows
        if feedback is None:
            raise ValueError("a model with a second reading needs the candidates' feedback to read them")
        rows = [row | more for row, more in zip(rows, feedback(first), strict=True)]
        return self.feedback.probabilities(rows), rows

    def bars(self, listing: bool) -> tuple[float, float]:
        """(member, related) for a question asking for papers (listing) or about one paper or fact."""
        if listing or self.single_member is None:
            return self.member, self.related
        return self.single_member, self.single_related if self.single_related is not None else self.single_member

    def holds_subject(self, question_row: dict[str, float]) -> bool:
        return self.subject is None or self.subject.probability(question_row) >= self.subject_bar


def standing_rows(first: list[float]) -> list[dict[str, float]]:
    """The second stage's features of each candidate, from the first stage's probabilities."""
    top = max(first, default=0.0) or 1e-9
    order = {i: rank for rank, i in enumerate(sorted(range(len(first)), key=lambda i: -first[i]))}
    return [{"p": p, "p_share": p / top, "p_rank": math.log1p(order[i]), "p_top": top} for i, p in enumerate(first)]


STANDING_FEATURES = ("p", "p_share", "p_rank", "p_top")


@dataclass(frozen=True)
class RelevanceModel:
    sets: dict[str, LanguageModel]  # "en", "zh"
    answerable: dict[str, tuple[Logistic, float]]  # fact questions: the top source answers it at p >= bar
    fitted: dict  # what it was fitted on (sets, commit, date): for reports
    # The same decision reading also how far the top paper stands out from the others the dense
    # search found (a z-score): it needs a population, so it applies only where the dense search
    # found at least as many papers as every question it was fitted on (`min_pool`); a smaller store
    # (the quick start's dozen sample papers) is decided by `answerable`.
    pooled: dict[str, tuple[Logistic, float, int]] = field(default_factory=dict)
    # Trees learn the features' ranges from the 350-paper store: where the dense search scored fewer
    # papers than `trees_min_pool` (a category of four, the quick start's dozen papers), the ranks and
    # local z-scores they read mean something else, and trees do not extrapolate. There the logistic
    # channels in `small` decide (fitted on the same questions; a line extrapolates as it should).
    small: dict[str, LanguageModel] = field(default_factory=dict)
    trees_min_pool: int = 0

    def for_language(self, language: str, pool: int | None = None) -> LanguageModel:
        """The set model for a question in `language` whose dense search scored `pool` papers."""
        if pool is not None and pool < self.trees_min_pool and self.small:
            return self.small.get(language) or self.small["en"]
        return self.sets.get(language) or self.sets["en"]

    def answers(self, language: str, row: dict[str, float]) -> tuple[float, bool]:
        pooled = self.pooled.get(language)
        if pooled is not None and row.get("pool", 0.0) >= pooled[2]:
            model, bar = pooled[0], pooled[1]
        else:
            model, bar = self.answerable.get(language) or self.answerable["en"]
        p = model.probability(row)
        return p, p >= bar

    def to_json(self) -> dict:
        return {"format": 1,
                "sets": {lang: _language_json(m) for lang, m in self.sets.items()},
                "sets_small": {lang: _language_json(m) for lang, m in self.small.items()},
                "trees_min_pool": self.trees_min_pool,
                "answerable": {lang: {"model": m.to_json(), "bar": bar} for lang, (m, bar) in self.answerable.items()},
                "answerable_pooled": {lang: {"model": m.to_json(), "bar": bar, "min_pool": pool}
                                      for lang, (m, bar, pool) in self.pooled.items()},
                "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> RelevanceModel:
        sets = {lang: _language_from_json(m) for lang, m in data["sets"].items()}
        answerable = {lang: (Logistic.from_json(m["model"]), float(m["bar"])) for lang, m in data["answerable"].items()}
        pooled = {lang: (Logistic.from_json(m["model"]), float(m["bar"]), int(m["min_pool"]))
                  for lang, m in data.get("answerable_pooled", {}).items()}
        small = {lang: _language_from_json(m) for lang, m in (data.get("sets_small") or {}).items()}
        return cls(sets, answerable, data.get("fitted", {}), pooled, small, int(data.get("trees_min_pool") or 0))


def _language_json(m: LanguageModel) -> dict:
    return {"channels": [c.to_json() for c in m.channels], "member": m.member, "related": m.related,
            "subject": m.subject.to_json() if m.subject else None, "subject_bar": m.subject_bar,
            "standing": m.standing.to_json() if m.standing else None,
            "single_member": m.single_member, "single_related": m.single_related,
            "feedback": m.feedback.to_json() if m.feedback else None}


def _language_from_json(m: dict) -> LanguageModel:
    return LanguageModel(tuple(channel_from_json(c) for c in m["channels"]), float(m["member"]), float(m["related"]),
                         m.get("single_member"), m.get("single_related"),
                         subject=Logistic.from_json(m["subject"]) if m.get("subject") else None,
                         subject_bar=float(m.get("subject_bar", 0.0)),
                         standing=Logistic.from_json(m["standing"]) if m.get("standing") else None,
                         feedback=Trees.from_json(m["feedback"]) if m.get("feedback") else None)


@lru_cache(maxsize=4)
def load_model(path: Path = DATA_FILE) -> RelevanceModel:
    """The shipped calibration (read once per process)."""
    return RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))
