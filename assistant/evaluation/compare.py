"""Compare two run folders: per-metric deltas (current minus earlier) and the questions that flipped."""
from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import InputError
from assistant.evaluation.metrics import HEADLINE, aggregate
from assistant.evaluation.report import fmt, label

# Per-question values whose change is worth listing by qid; True: higher is better.
FLIP_METRICS = {"hit_at_k": True, "reciprocal_rank": True, "citation_precision": True, "citation_recall": True,
                "invalid_citation_rate": False, "uncited_answer": False, "must_mention_coverage": True,
                "refusal_correct": True, "false_refusal": False}
EPS = 1e-9


def load_run(path: Path | str) -> tuple[Path, list[dict], dict]:
    path = Path(path)
    if path.is_file():
        path = path.parent
    results = path / "results.jsonl"
    if not results.is_file():
        raise InputError(f"{path} is not an eval run folder (no results.jsonl); "
                         f"runs are written under evals/runs/ by `digestqa eval`")
    records = []
    for number, line in enumerate(results.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{results}:{number}: not valid JSON ({exc.msg})") from None
    report_path = path / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    if "metrics" not in report:
        report["metrics"] = aggregate(records)
    return path, records, report


def compare_runs(current: Path | str, earlier: Path | str) -> dict:
    cur_path, cur_records, cur_report = load_run(current)
    old_path, old_records, old_report = load_run(earlier)
    warnings = []
    cur_cfg, old_cfg = cur_report.get("config", {}), old_report.get("config", {})
    for key, what in (("top_k", "top-k"), ("pipeline", "pipeline"), ("backend", "backend"),
                      ("embedding_model", "embedding model"), ("prompt_hash", "prompt hash")):
        if cur_cfg.get(key) != old_cfg.get(key):
            warnings.append(f"{what} differs: {old_cfg.get(key)} -> {cur_cfg.get(key)}")
    if cur_cfg.get("dataset", {}).get("sha1") != old_cfg.get("dataset", {}).get("sha1"):
        warnings.append("the datasets differ (sha1); only questions in both runs are compared by qid")
    if cur_cfg.get("corpus", {}).get("papers") != old_cfg.get("corpus", {}).get("papers"):
        warnings.append(f"corpus size differs: {old_cfg.get('corpus', {}).get('papers')} -> "
                        f"{cur_cfg.get('corpus', {}).get('papers')} papers")

    def deltas(now: dict, before: dict) -> dict:
        out = {}
        for metric in HEADLINE:
            a, b = before.get(metric), now.get(metric)
            out[metric] = {"earlier": a, "current": b, "delta": None if a is None or b is None else b - a}
        return out

    cur_m, old_m = cur_report["metrics"], old_report["metrics"]
    by_kind = {kind: deltas(cur_m["by_kind"][kind], old_m["by_kind"][kind])
               for kind in cur_m.get("by_kind", {}) if kind in old_m.get("by_kind", {})}

    old_by_qid = {r["qid"]: r for r in old_records}
    cur_by_qid = {r["qid"]: r for r in cur_records}
    flips: dict = {}
    for metric, higher_better in FLIP_METRICS.items():
        better, worse = [], []
        for qid, now in cur_by_qid.items():
            before = old_by_qid.get(qid)
            if before is None:
                continue
            a, b = before.get(metric), now.get(metric)
            if a is None or b is None or abs(a - b) <= EPS:
                continue
            (better if (b > a) == higher_better else worse).append(qid)
        if better or worse:
            flips[metric] = {"better": better, "worse": worse}
    return {
        "current": str(cur_path), "earlier": str(old_path), "top_k": cur_cfg.get("top_k"),
        "warnings": warnings,
        "overall": deltas(cur_m["overall"], old_m["overall"]),
        "by_kind": by_kind,
        "flips": flips,
        "only_in_current": [q for q in cur_by_qid if q not in old_by_qid],
        "only_in_earlier": [q for q in old_by_qid if q not in cur_by_qid],
    }


def _signed(value, metric: str) -> str:
    if value is None:
        return "–"
    if abs(value) <= EPS:
        return "0"
    return f"{value:+.3f}"


def render_comparison(comparison: dict) -> str:
    k = comparison.get("top_k")
    lines = [f"compare: {comparison['current']}  (now)  vs  {comparison['earlier']}  (earlier)"]
    lines += [f"  warning: {w}" for w in comparison["warnings"]]
    width = max(len(label(m, k)) for m in HEADLINE) + 2
    lines.append(f"{'metric':<{width}}{'earlier':>10}{'now':>10}{'delta':>10}")
    for metric, row in comparison["overall"].items():
        better = HEADLINE[metric]
        mark = ""
        if row["delta"] is not None and abs(row["delta"]) > EPS and not metric.startswith("latency"):
            mark = "  better" if (row["delta"] > 0) == better else "  worse"
        lines.append(f"{label(metric, k):<{width}}{fmt(row['earlier'], metric):>10}{fmt(row['current'], metric):>10}"
                     f"{_signed(row['delta'], metric):>10}{mark}")
    names = {"reciprocal_rank": "reciprocal rank", "refusal_correct": "refusal (unanswerable)",
             "false_refusal": "false refusal", "uncited_answer": "uncited answer",
             "must_mention_coverage": "must-mention coverage"}
    if comparison["flips"]:
        lines.append("questions that changed (by qid):")
        for metric, moved in comparison["flips"].items():
            name = names.get(metric) or label(metric, k)
            parts = []
            if moved["better"]:
                parts.append(f"better {len(moved['better'])}: {', '.join(moved['better'])}")
            if moved["worse"]:
                parts.append(f"worse {len(moved['worse'])}: {', '.join(moved['worse'])}")
            lines.append(f"  {name}: " + "; ".join(parts))
    else:
        lines.append("no question changed on any scored metric")
    if comparison["only_in_current"]:
        lines.append(f"only in the current run: {', '.join(comparison['only_in_current'])}")
    if comparison["only_in_earlier"]:
        lines.append(f"only in the earlier run: {', '.join(comparison['only_in_earlier'])}")
    return "\n".join(lines)
