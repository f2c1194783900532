"""The calibrated relevance model: from a candidate's features to the probability that a reader
would list it for the question, and the bars for "member", "may be related" and "answerable".

Nothing here is set by hand. `evals/calibrate.py` fits the weights and the bars on the labelled
question sets (evals/datasets/*.jsonl) and writes them to assistant/data/relevance.json, with a
leave-one-set-out report in evals/reports/calibration.md. A model is a small logistic regression
per language ("en", "zh": the embedding model reads English only, so Chinese questions weigh other
signals); set membership takes the larger of two such channels, one over meaning and one over
words, so a paper stated in the question's words and a paper about the subject in other words can
each qualify without the other counting against it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
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
    subject: Logistic | None = None  # whether the store holds the question's subject at all
    subject_bar: float = 0.0

    def probability(self, row: dict[str, float]) -> float:
        return max(channel.probability(row) for channel in self.channels)

    def holds_subject(self, question_row: dict[str, float]) -> bool:
        return self.subject is None or self.subject.probability(question_row) >= self.subject_bar


@dataclass(frozen=True)
class RelevanceModel:
    sets: dict[str, LanguageModel]  # "en", "zh"
    answerable: dict[str, tuple[Logistic, float]]  # fact questions: the top source answers it at p >= bar
    fitted: dict  # what it was fitted on (sets, commit, date): for reports

    def for_language(self, language: str) -> LanguageModel:
        return self.sets.get(language) or self.sets["en"]

    def answers(self, language: str, row: dict[str, float]) -> tuple[float, bool]:
        model, bar = self.answerable.get(language) or self.answerable["en"]
        p = model.probability(row)
        return p, p >= bar

    def to_json(self) -> dict:
        return {"format": 1,
                "sets": {lang: {"channels": [c.to_json() for c in m.channels], "member": m.member, "related": m.related,
                                "subject": m.subject.to_json() if m.subject else None, "subject_bar": m.subject_bar}
                         for lang, m in self.sets.items()},
                "answerable": {lang: {"model": m.to_json(), "bar": bar} for lang, (m, bar) in self.answerable.items()},
                "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> RelevanceModel:
        sets = {lang: LanguageModel(tuple(Logistic.from_json(c) for c in m["channels"]), float(m["member"]),
                                    float(m["related"]), Logistic.from_json(m["subject"]) if m.get("subject") else None,
                                    float(m.get("subject_bar", 0.0)))
                for lang, m in data["sets"].items()}
        answerable = {lang: (Logistic.from_json(m["model"]), float(m["bar"])) for lang, m in data["answerable"].items()}
        return cls(sets, answerable, data.get("fitted", {}))


@lru_cache(maxsize=4)
def load_model(path: Path = DATA_FILE) -> RelevanceModel:
    """The shipped calibration (read once per process)."""
    return RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))
