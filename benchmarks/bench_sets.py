"""Set questions ("which papers…", "LoRA papers?") on the real corpus: warm latency per question and
how many papers each answer lists. Target (issue 11): a set question answers in < 1 s warm on the
350-paper sample store.

Uses an existing store when given (--store DIR), else ingests the corpus into benchmarks/.cache.
Results: benchmarks/sets.json (quoted in the README).

Run: .venv/bin/python -m benchmarks.bench_sets [--store DIR] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import BENCH, CACHE, ROOT, git_commit, latency_summary, loadavg, machine, real_corpus, say

SET_KINDS = ("topic", "zh-topic", "multi", "author", "category")


def set_questions() -> list[dict]:
    path = ROOT / "evals" / "datasets" / "dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("kind") in SET_KINDS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="an ingested store of the corpus (default: build one)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per question (default 3)")
    parser.add_argument("--out", type=Path, default=BENCH / "sets.json")
    args = parser.parse_args(argv)

    from assistant.app import App
    from assistant.config import load_settings

    store = args.store or CACHE / "sets-store"
    app = App(load_settings(env={}, store=store))
    if args.store is None:
        say(f"ingesting {real_corpus()} into {store}")
        app.ingest([real_corpus()])
    questions = set_questions()
    app.ask(questions[0]["question"])  # load model, BM25 index and catalogue: not part of any question's time
    per_question, seconds = [], []
    for row in questions:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            answer = app.ask(row["question"])
            times.append(time.perf_counter() - started)
        best = min(times)
        seconds += times
        per_question.append({"qid": row["qid"], "kind": row["kind"], "listed": len(answer.cited_ids),
                             "gold": len(row.get("gold_ids", [])), "refused": answer.refused,
                             "best_s": round(best, 4), "median_s": round(sorted(times)[len(times) // 2], 4)})
        say(f"{row['qid']:<12} {len(answer.cited_ids):>3} listed  {best * 1000:7.1f} ms")
    result = {"machine": machine(), "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "loadavg": loadavg(), "questions": len(questions), "repeat": args.repeat,
              "latency": latency_summary(seconds), "per_question": per_question}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["latency"]
    say(f"{len(questions)} set questions: p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, max {lat['max_ms']:.0f} ms"
        f" -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
