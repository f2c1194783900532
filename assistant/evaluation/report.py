"""Rendering a run: report.json content, report.md, the per-kind chart, and terminal tables."""
from __future__ import annotations

from pathlib import Path

from assistant.evaluation.metrics import HEADLINE, LABELS

CHART_METRICS = ("hit_at_k", "mrr", "citation_precision", "citation_recall", "must_mention", "refusal_accuracy")
KIND_COLUMNS = ("hit_at_k", "mrr", "citation_precision", "citation_recall", "invalid_citation_rate",
                "must_mention", "refusal_accuracy", "false_refusal_rate", "latency_p50_s")
SHORT = {"hit_at_k": "hit@k", "recall_at_k": "recall@k", "mrr": "MRR", "citation_precision": "cite P",
         "citation_recall": "cite R", "invalid_citation_rate": "invalid cite", "uncited_answer_rate": "uncited",
         "must_mention": "must-mention", "refusal_accuracy": "refusal acc", "false_refusal_rate": "false refusal",
         "latency_p50_s": "p50 s", "latency_p95_s": "p95 s"}


def fmt(value, metric: str = "") -> str:
    if value is None:
        return "–"
    if metric.startswith("latency"):
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def label(metric: str, k: int | None = None) -> str:
    text = LABELS.get(metric, metric)
    return text.replace("@k", f"@{k}") if k else text


def failures(records: list[dict]) -> dict:
    """The qids worth reading first: retrieval misses, wrong refusals, errors."""
    return {
        "missed_hit_at_k": [r["qid"] for r in records if r.get("hit_at_k") == 0.0],
        "false_refusals": [r["qid"] for r in records if r.get("false_refusal") == 1.0],
        "missed_refusals": [r["qid"] for r in records if r.get("refusal_correct") == 0.0],
        "uncited_answers": [r["qid"] for r in records if r.get("uncited_answer") == 1.0],
        "errors": [r["qid"] for r in records if r.get("error")],
    }


def render_markdown(report: dict) -> str:
    config, metrics = report["config"], report["metrics"]
    k = config["top_k"]
    overall = metrics["overall"]
    lines = [f"# Eval run: `{config['pipeline']}` on `{Path(config['dataset']['path']).name}`", "",
             f"- when: {config['timestamp']}",
             f"- pipeline: {config['pipeline']} (backend {config['backend']}), top-k {k}",
             f"- dataset: {config['dataset']['path']} (sha1 {config['dataset']['sha1'][:12]}, "
             f"{config['dataset']['questions_run']} of {config['dataset']['questions']} questions)",
             f"- corpus: {config['corpus']['papers']} papers, {config['corpus']['chunks']} chunks "
             f"({config['corpus']['store']}, generation {config['corpus']['generation']})",
             f"- embedding model: {config['embedding_model']}; prompt hash: {config['prompt_hash']}; "
             f"git commit: {config['git_commit'] or 'unknown'}", "",
             "## Overall", "", "| metric | value | n |", "|---|---:|---:|"]
    for metric in HEADLINE:
        lines.append(f"| {label(metric, k)} | {fmt(overall.get(metric), metric)} | {overall['n'].get(metric, 0)} |")
    if overall.get("errors"):
        lines.append(f"| errors | {overall['errors']} | |")
    lines += ["", "n: questions the metric applies to (see evals/README.md). –: applies to none.", "",
              "## Per kind", "",
              "| kind | questions | " + " | ".join(SHORT[m].replace("@k", f"@{k}") for m in KIND_COLUMNS) + " |",
              "|---|---:|" + "---:|" * len(KIND_COLUMNS)]
    for kind, summary in metrics["by_kind"].items():
        lines.append(f"| {kind} | {summary['questions']} | " + " | ".join(fmt(summary.get(m), m) for m in KIND_COLUMNS) + " |")
    if report.get("chart"):
        lines += ["", f"![per-kind scores]({report['chart']})"]
    lines += ["", "## Questions to look at", ""]
    names = {"missed_hit_at_k": f"no gold paper in the top {k}", "false_refusals": "refused an answerable question",
             "missed_refusals": "answered an unanswerable question", "uncited_answers": "answered without citing",
             "errors": "failed with an error"}
    for key, qids in report.get("failures", {}).items():
        lines.append(f"- {names.get(key, key)} ({len(qids)}): {', '.join(qids) if qids else 'none'}")
    used = report.get("llm")
    if used:
        fallbacks = ", ".join(f"{code} {n}" for code, n in sorted(used["fallbacks"].items())) or "none"
        lines += ["", "## The LLM", "",
                  f"Model `{used['model']}` wrote {used['answered_by_llm']} of {used['questions']} answers "
                  f"(extractive instead: {fallbacks}). Set screening ran on {used['screened_questions']} question(s): "
                  f"{used['screened_out']} paper(s) screened out, {used['screened_in']} let in beyond the word rules, "
                  f"{used['screening_cut']} cut by its budget, {used['screening_failed']} failed."]
    judged = report.get("llm_judged")
    lines += ["", "## LLM-judged metrics (not deterministic)", ""]
    if judged:
        lines += [f"Judge model: `{judged['judge_model']}`. {judged['note']}.", "", "| metric | value | n |", "|---|---:|---:|",
                  f"| faithfulness | {fmt(judged['faithfulness'])} | {judged['n']['faithfulness']} |",
                  f"| answer relevance | {fmt(judged['answer_relevance'])} | {judged['n']['answer_relevance']} |"]
    else:
        lines.append(report.get("llm_judged_note") or "not run")
    return "\n".join(lines) + "\n"


def write_chart(report: dict, path: Path) -> Path:
    # matplotlib: ~0.5 s to import; only drawing the chart needs it, not reading or comparing reports
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = report["config"]["top_k"]
    groups = {"overall": report["metrics"]["overall"], **report["metrics"]["by_kind"]}
    names = list(groups)
    width = 0.8 / len(CHART_METRICS)
    # Sized to be read at a page's width (the Evals page shows it across the page): 10-12 pt text.
    fig, ax = plt.subplots(figsize=(max(8.0, 1.2 * len(names) + 2), 5.0))
    for i, metric in enumerate(CHART_METRICS):
        values = [groups[g].get(metric) for g in names]
        xs = [j + (i - (len(CHART_METRICS) - 1) / 2) * width for j in range(len(names))]
        ax.bar(xs, [float("nan") if v is None else v for v in values], width, label=label(metric, k))
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{g}\n(n={groups[g]['questions']})" for g in names], fontsize=10)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (higher is better)", fontsize=10)
    config = report["config"]
    ax.set_title(f"{config['pipeline']} ({config['backend']}) on {Path(config['dataset']['path']).name}", fontsize=12)
    ax.legend(fontsize=10, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def side_by_side(reports: dict[str, dict]) -> str:
    """Pipelines as columns, overall headline metrics as rows (the `--pipeline all` table)."""
    k = next(iter(reports.values()))["config"]["top_k"]
    width = max(len(label(m, k)) for m in HEADLINE) + 2
    head = f"{'metric':<{width}}" + "".join(f"{name:>12}" for name in reports)
    rows = [head, "-" * len(head)]
    for metric in HEADLINE:
        rows.append(f"{label(metric, k):<{width}}" + "".join(
            f"{fmt(r['metrics']['overall'].get(metric), metric):>12}" for r in reports.values()))
    return "\n".join(rows)


def summary_text(report: dict, out_dir: Path) -> str:
    config, overall = report["config"], report["metrics"]["overall"]
    k = config["top_k"]
    lines = [f"{config['pipeline']} ({config['backend']}): {overall['questions']} questions, top-k {k} -> {out_dir}"]
    for metric in HEADLINE:
        lines.append(f"  {label(metric, k):<24}{fmt(overall.get(metric), metric):>8}   (n={overall['n'].get(metric, 0)})")
    judged = report.get("llm_judged")
    if judged:
        lines.append(f"  LLM-judged by {judged['judge_model']} (not deterministic): faithfulness "
                     f"{fmt(judged['faithfulness'])}, answer relevance {fmt(judged['answer_relevance'])} "
                     f"(n={judged['n']['graded']})")
    for key, qids in report.get("failures", {}).items():
        if qids:
            lines.append(f"  {key}: {', '.join(qids[:20])}{' …' if len(qids) > 20 else ''}")
    return "\n".join(lines)
