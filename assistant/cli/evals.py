"""`digestqa eval`: run a question set through the product chain (or a baseline), score it, write a
run folder, and optionally compare with an earlier run."""
from __future__ import annotations

import json
from pathlib import Path

from assistant.cli.common import add_command, positive_int
from assistant.errors import InputError
from assistant.evaluation.pipelines import CHOICES  # (light: the parser's choices)

DESCRIPTION = ("Answer every question of a JSONL dataset through the same chain `digestqa ask` "
               "uses (or a baseline), score retrieval, citations, must-mention coverage, "
               "refusals and latency, and write a run folder you can compare later.")
EPILOG = """examples:
  digestqa eval evals/datasets/dev.jsonl                    run, score, write evals/runs/<time>-product/
  digestqa eval evals/datasets/dev.jsonl --pipeline bm25    a lexical baseline on the same questions
  digestqa eval evals/datasets/dev.jsonl --pipeline all     product, bm25 and dense side by side
  digestqa eval evals/datasets/dev.jsonl --pipeline llm --preset ollama
                                                            the chain with your LLM (answers + set screening)
  digestqa eval evals/datasets/dev.jsonl --limit 10 -k 3    a quick run, 3 papers per question
  digestqa eval evals/datasets/dev.jsonl --compare evals/runs/20260125-101500-product
                                                            run, then show what got better or worse
  digestqa eval --compare evals/runs/NEW evals/runs/OLD    compare two finished runs (no new run)

dataset: one JSON object per line with qid, question, kind, gold_ids, ok_ids, must_mention, answerable.
run folder: results.jsonl (one record per question), report.json, report.md, chart.png.
metric definitions: evals/README.md."""



def add_eval_command(sub, common) -> None:
    p = add_command(sub, common, "eval", "score answer quality on a question set (offline)", DESCRIPTION, EPILOG)
    p.add_argument("dataset", nargs="?", type=Path, metavar="DATASET",
                   help="questions as JSON Lines, e.g. evals/datasets/dev.jsonl")
    p.add_argument("--pipeline", "-p", choices=[*CHOICES, "all"], default="product",
                   help="product: the real chain (default); bm25: lexical-only baseline; dense: a plain "
                        "llama-index VectorStoreIndex baseline; all: those three, one run folder each; llm: "
                        "the real chain with the configured LLM answering and screening set questions "
                        "(needs --preset or DIGESTQA_LLM_*)")
    p.add_argument("-k", "--top-k", type=positive_int, default=None,
                   help="papers retrieved per question, and the k of hit@k/recall@k/MRR (default 5)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="run folder to write (default evals/runs/<YYYYmmdd-HHMMSS>-<pipeline>/; "
                        "with --pipeline all, one sub-folder per pipeline)")
    p.add_argument("--limit", type=positive_int, metavar="N", help="only the first N questions (a quick check)")
    p.add_argument("--compare", nargs="+", type=Path, metavar="RUN",
                   help="an earlier run folder to compare this run with; or, with no DATASET, two run "
                        "folders (newer first) to compare without running")
    p.add_argument("--judge", action="store_true",
                   help="also grade faithfulness and answer relevance with the configured LLM (reported "
                        "separately under llm_judged; needs an LLM backend)")
    p.add_argument("--json", action="store_true",
                   help="print report.json (with --compare, plus a 'comparison' object) instead of tables")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_eval(args, app) -> int:
    # The App's layers (see cli/__init__.py): the runner brings tqdm and the judge's LLM client
    from assistant.evaluation.compare import compare_runs, load_run, render_comparison
    from assistant.evaluation.report import side_by_side, summary_text
    from assistant.evaluation.runner import run_eval as run_evaluation

    compare = list(args.compare or [])
    dataset = args.dataset
    if dataset is None and len(compare) == 2 and compare[1].is_file() and not compare[0].is_file():
        dataset, compare = compare[1], compare[:1]  # `eval --compare RUN DATASET`: --compare took both
    if dataset is None:
        if len(compare) != 2:
            raise InputError("give a dataset to run (e.g. digestqa eval evals/datasets/dev.jsonl), "
                             "or two run folders to compare: digestqa eval --compare NEW_RUN OLD_RUN")
        comparison = compare_runs(compare[0], compare[1])
        print(json.dumps(comparison, ensure_ascii=False, indent=2) if args.json else render_comparison(comparison))
        return 0
    if len(compare) > 1:
        raise InputError("with a DATASET, --compare takes one earlier run folder "
                         "(to compare two finished runs, leave out the dataset)")
    if compare and args.pipeline == "all":
        raise InputError("--compare works with one pipeline; run --pipeline all, then compare folders two at a time")
    if compare:
        load_run(compare[0])  # fail before spending minutes on a run

    outputs = run_evaluation(app, dataset, args.pipeline, k=args.top_k, out_dir=args.out,
                             limit=args.limit, progress=not args.quiet, judge=args.judge)
    comparison = compare_runs(outputs[0].out_dir, compare[0]) if compare else None
    if args.json:
        if len(outputs) == 1:
            payload = dict(outputs[0].report)
            payload["run_dir"] = str(outputs[0].out_dir)
            if comparison is not None:
                payload["comparison"] = comparison
        else:
            payload = {o.pipeline: {**o.report, "run_dir": str(o.out_dir)} for o in outputs}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    for output in outputs:
        print(summary_text(output.report, output.out_dir))
    if len(outputs) > 1:
        print()
        print(side_by_side({o.pipeline: o.report for o in outputs}))
    if comparison is not None:
        print()
        print(render_comparison(comparison))
    return 0
