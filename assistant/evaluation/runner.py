"""Run a dataset through a pipeline, score every answer and write the run folder:

    results.jsonl  one record per question (answer, cited_ids, retrieved_ids, refused, latency_s,
                   pipeline, backend, kind, gold_ids, ok_ids, and the per-question metric values)
    report.json    metrics overall and per kind, plus the configuration that produced them
    report.md      the same as readable tables
    chart.png      per-kind scores
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from assistant.errors import InputError
from assistant.evaluation.dataset import Question, dataset_sha1, load_dataset
from assistant.evaluation.judge import Judge, judge_records
from assistant.evaluation.metrics import aggregate, score_record
from assistant.evaluation.pipelines import CHOICES, PIPELINES, make_pipeline
from assistant.evaluation.report import failures, render_markdown, write_chart
from assistant.prompts import prompts_hash

DEFAULT_RUNS_DIR = Path("evals/runs")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunOutput:
    pipeline: str
    out_dir: Path
    records: list[dict]
    report: dict
    files: dict = field(default_factory=dict)


def git_commit(cwd: Path = REPO_ROOT) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def default_out_dir(pipeline: str, stamp: str, root: Path = DEFAULT_RUNS_DIR) -> Path:
    out = root / f"{stamp}-{pipeline}"
    n = 2
    while out.exists():  # two runs in the same second never share a folder
        out = root / f"{stamp}-{pipeline}-{n}"
        n += 1
    return out


def prepare_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the run folder {out_dir} ({exc.strerror})") from None
    return out_dir


def run_pipeline(app, questions: list[Question], pipeline_name: str, out_dir: Path, *, dataset_path: Path,
                 k: int | None = None, total_questions: int | None = None, limit: int | None = None,
                 progress: bool = True, timestamp: datetime | None = None, judge=None) -> RunOutput:
    k = app.settings.papers_per_answer(k)
    timestamp = timestamp or datetime.now().astimezone()
    pipeline = make_pipeline(pipeline_name, app, k)
    out_dir = prepare_out_dir(out_dir)
    corpus = app.catalog()
    corpus_ids = set(corpus)
    if not corpus_ids:
        raise InputError(f"the store {app.settings.store_label} holds no papers: run `digestqa ingest` first")

    pipeline.warm_up(questions[0])
    records: list[dict] = []
    results_path = out_dir / "results.jsonl"
    bar = None
    if progress:
        bar = tqdm(total=len(questions), unit="q", desc=f"eval {pipeline_name}", file=sys.stderr)
    with open(results_path, "w", encoding="utf-8") as fh:  # written as it goes: a crash keeps what ran
        for question in questions:
            record = pipeline.run(question)
            record.update(score_record(record, question.gold_ids, question.must_mention, question.answerable,
                                       k, corpus_ids, question.ok_ids))
            if question.extra:
                record["extra"] = question.extra
            records.append(record)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    llm_judged = None
    if judge is not None:
        judge_bar = None
        if progress:
            judge_bar = tqdm(total=sum(1 for r in records if not r.get("refused")), unit="q",
                             desc=f"judge {pipeline_name}", file=sys.stderr)
        llm_judged = judge_records(judge, records, corpus, judge_bar.update if judge_bar else None)
        if judge_bar is not None:
            judge_bar.close()
        # The per-question grades go into results.jsonl too.
        results_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")

    settings = app.settings
    records_backend = next((r["backend"] for r in records if r.get("backend")), pipeline.backend)
    report = {
        "schema": 1,
        "config": {
            "pipeline": pipeline_name,
            "backend": records_backend,
            "timestamp": timestamp.isoformat(timespec="seconds"),
            "top_k": k,
            "embedding_model": settings.embed_package,
            "prompt_hash": prompts_hash(),
            "corpus": app.corpus(),
            "git_commit": git_commit(),
            "dataset": {"path": str(dataset_path), "sha1": dataset_sha1(dataset_path),
                        "questions": total_questions or len(questions), "questions_run": len(questions),
                        "limit": limit},
            "settings": settings.public_dict(),
        },
        "metrics": aggregate(records),
        "failures": failures(records),
        "llm": llm_summary(records),
        "llm_judged": llm_judged,
        "llm_judged_note": (llm_judged["note"] if llm_judged else
                            "not run (pass --judge with an LLM backend configured); all metrics here are deterministic"),
        "chart": "chart.png",
    }
    files = {"results": results_path, "report_json": out_dir / "report.json", "report_md": out_dir / "report.md",
             "chart": out_dir / "chart.png"}
    write_chart(report, files["chart"])
    files["report_json"].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files["report_md"].write_text(render_markdown(report), encoding="utf-8")
    return RunOutput(pipeline_name, out_dir, records, report, files)


def llm_summary(records: list[dict]) -> dict | None:
    """How the configured LLM fared over a run: answers it wrote, fallbacks by reason, and what its
    screening of set questions did (None when no LLM was configured)."""
    used = [r for r in records if r.get("llm")]
    if not used:
        return None
    fallbacks: dict[str, int] = {}
    for record in used:
        if record["llm"].get("fallback"):
            fallbacks[record["llm"]["fallback"]] = fallbacks.get(record["llm"]["fallback"], 0) + 1
    screened = [r["screening"] for r in used if r.get("screening")]
    return {"model": used[0]["llm"].get("model"), "questions": len(used),
            "answered_by_llm": sum(1 for r in used if r["llm"].get("answered")), "fallbacks": fallbacks,
            "screened_questions": len(screened),
            "screened_out": sum(len(s["excluded"]) for s in screened),
            "screened_in": sum(len(s["added_ids"]) for s in screened),
            "screening_cut": sum(1 for s in screened if s["cut"]),
            "screening_failed": sum(1 for s in screened if s["failed"])}


def run_eval(app, dataset: Path | str, pipeline: str = "product", *, k: int | None = None, out_dir: Path | None = None,
             limit: int | None = None, progress: bool = True, runs_root: Path = DEFAULT_RUNS_DIR,
             judge: bool = False) -> list[RunOutput]:
    """Run one pipeline, or all three ("all") on the same questions; one run folder each.

    With "all", `out_dir` (when given) gets one sub-folder per pipeline."""
    dataset = Path(dataset)
    questions = load_dataset(dataset)
    total = len(questions)
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit must be at least 1, got {limit}")
        questions = questions[:limit]
    names = list(PIPELINES) if pipeline == "all" else [pipeline]
    for name in names:
        if name not in CHOICES:
            raise InputError(f"unknown pipeline '{name}' (choose from {', '.join(CHOICES)} or all)")
    grader = None
    if judge:
        grader = Judge(app.settings)
    timestamp = datetime.now().astimezone()
    stamp = timestamp.strftime("%Y%m%d-%H%M%S")
    outputs = []
    for name in names:
        if out_dir is None:
            target = default_out_dir(name, stamp, Path(runs_root))
        else:
            target = Path(out_dir) / name if len(names) > 1 else Path(out_dir)
        outputs.append(run_pipeline(app, questions, name, target, dataset_path=dataset, k=k, total_questions=total,
                                    limit=limit, progress=progress, timestamp=timestamp, judge=grader))
    return outputs
