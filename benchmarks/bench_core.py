"""Core benchmark on the real 350-paper corpus (../shared/digests; the packaged sample otherwise).

Each phase runs in a fresh process (peak RSS per phase):
- cold ingest into an empty store, with the real model (model load timed separately);
- re-run of the same ingest (nothing changed), in-process and as a `digestqa ingest` CLI process;
- search latency p50/p95 per mode (hybrid, dense, lexical) and ask latency (extractive) over the
  eval questions (evals/datasets/dev.jsonl), after the BM25 index is built;
- ask through the LLM answerer against tests/fake_openai.py: a local fake that answers at once,
  so this measures the pipeline's own overhead around an LLM call, not any real model;
- cold `digestqa ask` / `digestqa search` processes (what a CLI user waits for);
- store size on disk.

Run: .venv/bin/python -m benchmarks.bench_core [--quick]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CACHE, ROOT, dir_bytes, latency_summary, loadavg, machine, real_corpus, rss_now_mb, run_phase, say

DEV_QUESTIONS = ROOT / "evals" / "datasets" / "dev.jsonl"


def _settings(store: str, **overrides):
    from assistant.config import load_settings

    return load_settings(env={}, store=Path(store), **overrides)


def load_questions(limit: int | None = None) -> list[str]:
    if DEV_QUESTIONS.exists():
        questions = [json.loads(line)["question"] for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
    else:  # a clone without the eval set: generic questions about the sample's topics
        questions = ["Which papers reduce memory use of the KV cache?", "What methods speed up LLM inference on GPUs?",
                     "Which papers study reinforcement learning for reasoning?", "哪些论文研究了大模型推理加速？"]
    return questions[:limit] if limit else questions


# -- phases -------------------------------------------------------------------------------

def phase_ingest(store: str, corpus: str) -> dict:
    from assistant.app import App

    app = App(_settings(store))
    started = time.perf_counter()
    _ = app.embedder.tokenizer
    _ = app.embedder.model  # torch + weights: paid once per ingest process, reported on its own
    load_s = time.perf_counter() - started
    report = app.ingest([Path(corpus)])  # includes loading (or exporting) the ONNX query model
    return {"model_load_s": round(load_s, 2), "ingest_s": report.seconds, "papers": report.papers_total,
            "added": report.added, "unchanged": report.unchanged, "chunks_written": report.chunks_written,
            "chunks_per_s": round(report.chunks_written / report.seconds, 2) if report.chunks_written else None,
            "papers_per_s": round(report.added / report.seconds, 2) if report.added else None}


def phase_rerun(store: str, corpus: str) -> dict:
    """The re-run a user makes: no model load is needed when nothing changed."""
    from assistant.app import App

    app = App(_settings(store))
    report = app.ingest([Path(corpus)])
    return {"ingest_s": report.seconds, "added": report.added, "unchanged": report.unchanged,
            "chunks_written": report.chunks_written}


def phase_query(store: str, questions: list[str], modes: list[str], ask_n: int) -> dict:
    from assistant.app import App
    from assistant.search.lexical import lexical_cache_path

    app = App(_settings(store))
    stats = app.stats()
    had_cache = lexical_cache_path(app.store).exists()
    started = time.perf_counter()
    app.retriever.lexical()
    bm25_s = time.perf_counter() - started
    app.search("warm up the query model")
    started = time.perf_counter()
    app.ask(questions[0])
    first_ask_s = time.perf_counter() - started
    out: dict = {"papers": stats["papers"], "chunks": stats["chunks"], "bm25_s": round(bm25_s, 2),
                 "bm25": "loaded from cache" if had_cache else "built (first query after ingest)",
                 "first_ask_s": round(first_ask_s, 2), "search": {}}
    for mode in modes:
        seconds = []
        for q in questions:
            t = time.perf_counter()
            app.search(q, k=5, mode=mode)
            seconds.append(time.perf_counter() - t)
        out["search"][mode] = latency_summary(seconds)
    seconds, stages = [], {}
    for q in questions[:ask_n]:
        t = time.perf_counter()
        answer = app.ask(q)
        seconds.append(time.perf_counter() - t)
        for key, value in answer.timings.items():
            stages.setdefault(key, []).append(value)
    out["ask_extractive"] = {**latency_summary(seconds),
                             "stage_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in stages.items()}}
    out["rss_end_mb"] = rss_now_mb()
    return out


def phase_ask_fake_llm(store: str, questions: list[str]) -> dict:
    """ask through the OpenAI-compatible answerer against a local fake server that replies at once."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_openai import FakeOpenAI

    from assistant.app import App

    def reply(body: dict) -> str:
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        ids = re.findall(r"\b\d{4}\.\d{4,5}\b", prompt)
        return f"The most relevant paper is [{ids[0]}]." if ids else "NOT_COVERED"

    with FakeOpenAI() as fake:
        fake.default = {"fn": reply}
        app = App(_settings(store, llm_base_url=fake.base_url, llm_model="fake-model", llm_api_key="sk-bench"))
        app.ask(questions[0])  # warm-up (loads the openai client)
        seconds = []
        before = len(fake.requests)
        for q in questions:
            t = time.perf_counter()
            app.ask(q)
            seconds.append(time.perf_counter() - t)
        requests = len(fake.requests) - before
    return {"ask_fake_llm": {**latency_summary(seconds), "requests_per_ask": round(requests / len(questions), 2)}}


# -- orchestration --------------------------------------------------------------------------

def _clean_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}


def cli_wall(args: list[str], repeat: int) -> dict:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=ROOT, capture_output=True, text=True,
                              env=_clean_env())
        walls.append(time.perf_counter() - started)
        if proc.returncode != 0:
            return {"error": proc.stderr[-500:], "rc": proc.returncode}
    return {"runs": repeat, "median_s": round(statistics.median(walls), 2), "max_s": round(max(walls), 2)}


def run(corpus: Path, work: Path, out_json: Path, n_questions: int | None, ask_n: int, cli_repeat: int) -> dict:
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    questions = load_questions(n_questions)
    results: dict = {"machine": machine(), "loadavg_start": loadavg(), "corpus": str(corpus),
                     "corpus_bytes": sum(f.stat().st_size for f in corpus.glob("*") if f.is_file()),
                     "questions": len(questions), "question_source": str(DEV_QUESTIONS.relative_to(ROOT))}

    def save():
        results["loadavg_end"] = loadavg()
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(results, indent=2))

    say(f"cold ingest of {corpus}")
    results["cold"] = run_phase("benchmarks.bench_core:phase_ingest", {"store": str(store), "corpus": str(corpus)})
    results["store_bytes_after_ingest"] = dir_bytes(store)
    save()
    say("re-run ingest (unchanged corpus)")
    results["rerun"] = run_phase("benchmarks.bench_core:phase_rerun", {"store": str(store), "corpus": str(corpus)})
    results["rerun_cli"] = cli_wall(["ingest", str(corpus), "--store", str(store), "-q", "--json"], cli_repeat)
    cold = results["cold"]
    results["rerun_ratio"] = round(results["rerun"]["ingest_s"] / cold["ingest_s"], 4)
    results["rerun_cli_ratio"] = round(results["rerun_cli"]["median_s"] / cold["process_wall_s"], 4)
    save()
    say("search / ask latency")
    results["query"] = run_phase("benchmarks.bench_core:phase_query",
                                 {"store": str(store), "questions": questions, "modes": ["hybrid", "dense", "lexical"],
                                  "ask_n": ask_n})
    results["store_bytes"] = dir_bytes(store)
    save()
    say("ask through the fake OpenAI-compatible server")
    results["fake_llm"] = run_phase("benchmarks.bench_core:phase_ask_fake_llm",
                                    {"store": str(store), "questions": questions[:ask_n]})
    save()
    say("cold CLI processes")
    results["cli_ask"] = cli_wall(["ask", questions[0], "--store", str(store)], cli_repeat)
    results["cli_search"] = cli_wall(["search", questions[0], "--store", str(store)], cli_repeat)
    save()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=real_corpus())
    parser.add_argument("--work", type=Path, default=CACHE / "core")
    parser.add_argument("--out", type=Path, default=CACHE / "core.json")
    parser.add_argument("--questions", type=int, default=None, help="how many eval questions (default: all)")
    parser.add_argument("--ask", type=int, default=40, help="questions also asked")
    parser.add_argument("--cli-repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: packaged sample digest, 5 questions")
    args = parser.parse_args(argv)
    if args.quick:
        from benchmarks.common import SAMPLE_DIGESTS

        args.corpus, args.questions, args.ask, args.cli_repeat = SAMPLE_DIGESTS, 5, 3, 1
        args.work, args.out = CACHE / "core-quick", CACHE / "core-quick.json"
    run(args.corpus, args.work, args.out, args.questions, args.ask, args.cli_repeat)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
