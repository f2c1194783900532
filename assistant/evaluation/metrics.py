"""Deterministic metrics: per question first (`score_record`), then means per kind and overall
(`aggregate`). Definitions, with their empty cases, are in evals/README.md; keep them in step.

A per-question value of None means "not applicable" (e.g. recall on a question with no gold ids):
it is left out of the mean, and `n` in the report says how many questions each mean is over.
"""
from __future__ import annotations

import math
import re

from assistant.arxiv_ids import normalize_arxiv_id

# Per-question metric -> the aggregate it feeds (mean over applicable questions).
PER_QUESTION = {
    "hit_at_k": "hit_at_k",
    "recall_at_k": "recall_at_k",
    "reciprocal_rank": "mrr",
    "citation_precision": "citation_precision",
    "citation_recall": "citation_recall",
    "invalid_citation_rate": "invalid_citation_rate",
    "uncited_answer": "uncited_answer_rate",
    "must_mention_coverage": "must_mention",
    "refusal_correct": "refusal_accuracy",
    "false_refusal": "false_refusal_rate",
}
# Aggregates in display order; True: higher is better.
HEADLINE = {
    "hit_at_k": True, "recall_at_k": True, "mrr": True,
    "citation_precision": True, "citation_recall": True, "invalid_citation_rate": False,
    "uncited_answer_rate": False, "must_mention": True,
    "refusal_accuracy": True, "false_refusal_rate": False,
    "latency_p50_s": False, "latency_p95_s": False,
}
LABELS = {
    "hit_at_k": "hit@k", "recall_at_k": "recall@k", "mrr": "MRR@k",
    "citation_precision": "citation precision", "citation_recall": "citation recall",
    "invalid_citation_rate": "invalid-citation rate", "uncited_answer_rate": "uncited-answer rate",
    "must_mention": "must-mention coverage", "refusal_accuracy": "refusal accuracy",
    "false_refusal_rate": "false-refusal rate", "latency_p50_s": "latency p50 (s)", "latency_p95_s": "latency p95 (s)",
}


def unique_ids(ids) -> list[str]:
    """Normalised (no version suffix), de-duplicated, order kept; junk dropped."""
    out: list[str] = []
    for raw in ids or []:
        pid = normalize_arxiv_id(str(raw))
        if pid and pid not in out:
            out.append(pid)
    return out


def normalize_text(text: str) -> str:
    text = (text or "").replace("\\%", "%")
    return re.sub(r"\s+", " ", text).casefold()


def mention_coverage(answer: str, needles: list[str]) -> float | None:
    needles = [n for n in needles if n.strip()]
    if not needles:
        return None
    haystack = normalize_text(answer)
    return sum(normalize_text(n).strip() in haystack for n in needles) / len(needles)


def score_record(record: dict, gold_ids: list[str], must_mention: list[str], answerable: bool, k: int,
                 corpus_ids: set[str] | None = None, ok_ids: list[str] | None = None) -> dict:
    """The per-question metric values for one pipeline record (see module doc for None).

    `ok_ids` are borderline papers: citing one counts as correct for precision and does nothing for
    recall; the retrieval metrics read the ranking with them taken out, so a retrieved ok paper
    neither fills a top-k slot a gold paper could have had nor counts as a hit."""
    gold = unique_ids(gold_ids)
    ok = set(unique_ids(ok_ids)) - set(gold)
    retrieved = unique_ids(record.get("retrieved_ids"))
    top = [pid for pid in retrieved if pid not in ok][:k]
    cited = unique_ids(record.get("cited_ids"))
    refused = bool(record.get("refused"))
    scores: dict = {name: None for name in PER_QUESTION}

    if answerable and gold:
        found = [pid for pid in top if pid in gold]
        scores["hit_at_k"] = 1.0 if found else 0.0
        scores["recall_at_k"] = len(found) / len(gold)
        scores["reciprocal_rank"] = next((1.0 / rank for rank, pid in enumerate(top, 1) if pid in gold), 0.0)
        scores["citation_recall"] = len([pid for pid in cited if pid in gold]) / len(gold)
        if cited:
            scores["citation_precision"] = len([pid for pid in cited if pid in gold or pid in ok]) / len(cited)
    if cited:
        invalid = [pid for pid in cited if pid not in retrieved or (corpus_ids is not None and pid not in corpus_ids)]
        scores["invalid_citation_rate"] = len(invalid) / len(cited)
    if answerable and not refused:
        scores["uncited_answer"] = 0.0 if cited else 1.0
    if answerable and any(n.strip() for n in must_mention):
        haystack = normalize_text(record.get("answer", ""))
        scores["missing_mentions"] = [n for n in must_mention if n.strip() and normalize_text(n).strip() not in haystack]
        scores["must_mention_coverage"] = mention_coverage(record.get("answer", ""), must_mention)
    if answerable:
        scores["false_refusal"] = 1.0 if refused else 0.0
    else:
        scores["refusal_correct"] = 1.0 if refused else 0.0
    return scores


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    position = (len(values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def summarize(records: list[dict]) -> dict:
    """Means of the per-question values over the records where they apply, plus latency percentiles."""
    out: dict = {"questions": len(records)}
    counts: dict = {}
    for per_question, name in PER_QUESTION.items():
        values = [r[per_question] for r in records if r.get(per_question) is not None]
        out[name] = sum(values) / len(values) if values else None
        counts[name] = len(values)
    latencies = [r["latency_s"] for r in records if r.get("latency_s") is not None]
    out["latency_p50_s"] = percentile(latencies, 50)
    out["latency_p95_s"] = percentile(latencies, 95)
    counts["latency_p50_s"] = counts["latency_p95_s"] = len(latencies)
    out["errors"] = sum(1 for r in records if r.get("error"))
    out["n"] = counts
    return out


def aggregate(records: list[dict]) -> dict:
    """{"overall": summary, "by_kind": {kind: summary}} with kinds in first-seen order."""
    kinds: dict[str, list[dict]] = {}
    for record in records:
        kinds.setdefault(record.get("kind") or "other", []).append(record)
    return {"overall": summarize(records), "by_kind": {kind: summarize(rs) for kind, rs in kinds.items()}}
