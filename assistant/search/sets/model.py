"""The calibrated relevance model: from a candidate's features to the probability that a reader would
list it for the question, and the bars for "member", "may be related" and "answerable".

Nothing here is set by hand. `evals/calibrate.py` fits the weights and the bars on the labelled
question sets (evals/datasets/*.jsonl) and writes them to assistant/data/relevance.json, with a
leave-one-set-out report in evals/reports/calibration.md. A model is a small logistic regression per
language ("en", "zh": a Chinese question reaches the embedding model only through its English
rendering, a dictionary's word-for-word reading, so its signals weigh differently); set membership
takes the larger of two such channels, one over meaning and one over words, so a paper stated in the
question's words and a paper about the subject in other words can each qualify without the other
counting against it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

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

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        return cls(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                   tuple(map(float, data["weights"])), float(data["bias"]))


@dataclass(frozen=True)
class LanguageModel:
    """The set-membership channels and bars for questions in one language."""

    channels: tuple[Logistic, ...]
    member: float  # probability at which a candidate is listed as a member
    related: float  # … at which it is listed as "may be related" (and below which nothing is plausible)
    # The same two bars for a question asked about one paper or fact that no paper answered on its
    # own (it falls back to set retrieval): such a question expects one or two papers, not a list.
    single_member: float | None = None
    single_related: float | None = None
    subject: Logistic | None = None  # whether the store holds the question's subject at all
    subject_bar: float = 0.0

    standing: Logistic | None = None  # second stage: a candidate's probability among its question's others

    def probability(self, row: dict[str, float]) -> float:
        """The first stage alone: the larger of the channels' probabilities."""
        return max(channel.probability(row) for channel in self.channels)

    def probabilities(self, rows: list[dict[str, float]]) -> list[float]:
        """Every candidate of one question. The first stage's probabilities are not comparable
        across questions (a subject named in other words leaves every paper lower), so a second
        stage reads each one beside its question's best: its share of the best, its rank."""
        first = [self.probability(row) for row in rows]
        if self.standing is None or not first:
            return first
        return [self.standing.probability(row) for row in standing_rows(first)]

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

    def for_language(self, language: str) -> LanguageModel:
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
                "sets": {lang: {"channels": [c.to_json() for c in m.channels], "member": m.member, "related": m.related,
                                "subject": m.subject.to_json() if m.subject else None, "subject_bar": m.subject_bar,
                                "standing": m.standing.to_json() if m.standing else None,
                                "single_member": m.single_member, "single_related": m.single_related}
                         for lang, m in self.sets.items()},
                "answerable": {lang: {"model": m.to_json(), "bar": bar} for lang, (m, bar) in self.answerable.items()},
                "answerable_pooled": {lang: {"model": m.to_json(), "bar": bar, "min_pool": pool}
                                      for lang, (m, bar, pool) in self.pooled.items()},
                "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> RelevanceModel:
        sets = {lang: LanguageModel(tuple(Logistic.from_json(c) for c in m["channels"]), float(m["member"]),
                                    float(m["related"]), m.get("single_member"), m.get("single_related"),
                                    subject=Logistic.from_json(m["subject"]) if m.get("subject") else None,
                                    subject_bar=float(m.get("subject_bar", 0.0)),
                                    standing=Logistic.from_json(m["standing"]) if m.get("standing") else None)
                for lang, m in data["sets"].items()}
        answerable = {lang: (Logistic.from_json(m["model"]), float(m["bar"])) for lang, m in data["answerable"].items()}
        pooled = {lang: (Logistic.from_json(m["model"]), float(m["bar"]), int(m["min_pool"]))
                  for lang, m in data.get("answerable_pooled", {}).items()}
        return cls(sets, answerable, data.get("fitted", {}), pooled)


@lru_cache(maxsize=4)
def load_model(path: Path = DATA_FILE) -> RelevanceModel:
    """The shipped calibration (read once per process)."""
    return RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))
