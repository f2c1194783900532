"""Scale benchmark: how ingest time, query latency, memory and retrieval quality grow with the corpus.

One synthetic corpus (benchmarks/synthetic.py; 50 papers per daily digest) is generated once at
the largest size; a corpus of N papers is its first N/50 digest files, so every smaller corpus is
a prefix of every larger one and the same papers keep the same text.

1. Real ingest, in steps (default 350 -> 1000 -> 5000): each step ingests the next digests into the same
   store with the real model and `assistant.ingest.pipeline.ingest` (every vector computed, nothing reused),
   so each step's time is a true cold-ingest throughput at that store size; every vector is cached
   (benchmarks/vectors.py). Then a re-run of the unchanged largest step.
2. Larger stores (5k, 50k), each grown from a copy of the previous one, get the remaining papers
   through the product's parser and chunker and a batched writer of the product's records
   (Store.write_papers, 100 papers a call): papers of the real steps and every paper a sampled planted question
   targets have real vectors, the rest pool vectors (see vectors.py). The BM25 side always indexes
   the real text of every paper.
3. At each size, in a fresh process: BM25 build (first query after ingest), search latency per
   mode, ask latency, hit@5 on planted questions, peak RSS; then a cold `digestqa search` process.

Run: .venv/bin/python -m benchmarks.bench_scale [--quick]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CACHE, ROOT, dir_bytes, latency_summary, loadavg, machine, rss_now_mb, run_phase, say

PER_FILE = 50
SEED = 7
# Large stores are written in batches (see phase_bulk_build), not paper by paper: the per-paper path
# is fsync-bound (~0.1 s a paper here), which the time budget cannot pay at 45k papers.


# -- phases (each runs in its own process through common.run_phase) -----------------------------

def phase_generate(corpus: str, n: int, seed: int = SEED) -> dict:
    from benchmarks.synthetic import write_synthetic_digests

    started = time.perf_counter()
    out = Path(corpus)
    if out.exists():
        shutil.rmtree(out)
    write_synthetic_digests(out, n, seed, PER_FILE)
    files = sorted(out.glob("*.md"))
    return {"papers": n, "files": len(files), "corpus_bytes": sum(f.stat().st_size for f in files),
            "seconds": round(time.perf_counter() - started, 2)}


def _files(corpus: str, n: int) -> list[Path]:
    files = sorted(Path(corpus).glob("*.md"))[: -(-n // PER_FILE)]
    if len(files) * PER_FILE < n:
        raise SystemExit(f"corpus {corpus} holds fewer than {n} papers")
    return files


def _settings(store: str):
    from assistant.config import load_settings

    return load_settings(env={}, store=Path(store))


def phase_ingest(store: str, corpus: str, n: int, mode: str, vectors: str, must_be_real: list[str] | None = None) -> dict:
    """Ingest the first n papers with the real ingest code; mode: record (all real) or reuse."""
    from assistant.daily.records import IngestRecords
    from assistant.ingest.embeddings import Embedder
    from assistant.ingest.pipeline import ingest
    from benchmarks.vectors import CachingEmbedder, Pool, VectorCache

    settings = _settings(store)
    cache = VectorCache.load(Path(vectors))
    pool = Pool(cache) if mode == "reuse" else None
    real_titles = set(must_be_real or [])

    def real_wanted(text: str) -> bool:
        from benchmarks.vectors import split_embed_text

        return split_embed_text(text)[0] in real_titles

    embedder = CachingEmbedder(Embedder(settings), cache, mode, real_wanted, pool)
    embedder.count_tokens("warm up the tokenizer")  # not an ingest cost: any CLI run loads it first
    if mode == "record":
        _ = embedder.real.model  # load torch + weights outside the timed region, reported separately
    started = time.perf_counter()
    report = ingest(_files(corpus, n), settings, embedder, observer=IngestRecords(settings))  # as App.ingest
    seconds = time.perf_counter() - started
    cache.save()
    counts = embedder.counts
    return {"papers_in_store": report.papers_total, "added": report.added, "unchanged": report.unchanged,
            "chunks_written": report.chunks_written, "ingest_s": round(seconds, 2),
            "embed_s": round(counts.compute_s, 2), "vectors_computed": counts.computed,
            "vectors_cached": counts.cached, "vectors_pooled": counts.pooled,
            "chunks_per_s": round(report.chunks_written / seconds, 2) if seconds else None,
            "papers_per_s": round((report.added + report.changed) / seconds, 2) if seconds else None,
            "store_bytes": dir_bytes(Path(store))}


BULK_PAPERS = 100  # papers per batched upsert (~700 chunks; Chroma accepts ~5k records a call)


def phase_bulk_build(store: str, corpus: str, n: int, mode: str, vectors: str, must_be_real: list[str] | None = None) -> dict:
    """Like phase_ingest (same parser, chunker, embedder stand-in and record format) but writes
    new papers 100 at a time (Store.write_papers) instead of ingest's groups of 16, and skips
    ingest's bookkeeping for changed and relisted papers (every paper here is new)."""
    from assistant.ingest.chunking import chunk_paper, embed_text, header_title
    from assistant.ingest.embeddings import Embedder
    from assistant.ingest.pipeline import collect_papers, ingest_lock
    from assistant.ingest.store import Store
    from benchmarks.vectors import CachingEmbedder, Pool, VectorCache, split_embed_text

    settings = _settings(store)
    cache = VectorCache.load(Path(vectors))
    real_titles = set(must_be_real or [])
    embedder = CachingEmbedder(Embedder(settings), cache, mode, lambda text: split_embed_text(text)[0] in real_titles,
                               Pool(cache) if mode == "reuse" else None)
    embedder.count_tokens("warm up the tokenizer")
    started = time.perf_counter()
    timings = {"parse_s": 0.0, "chunk_s": 0.0, "vectors_s": 0.0, "write_s": 0.0}
    t = time.perf_counter()
    papers, _, _ = collect_papers(_files(corpus, n), None, settings.max_file_mb)
    timings["parse_s"] += time.perf_counter() - t
    lock = ingest_lock(settings)
    lock.acquire(timeout=0)
    try:
        db = Store(settings, create=True)
        known = set(db.paper_states())
        todo = [p for p in papers if p.id not in known]
        chunks_written = 0
        for start in range(0, len(todo), BULK_PAPERS):
            group = todo[start:start + BULK_PAPERS]
            t = time.perf_counter()
            chunked = [(p, chunk_paper(p, embedder.count_tokens, settings.embed_max_tokens)) for p in group]
            timings["chunk_s"] += time.perf_counter() - t
            t = time.perf_counter()
            flat = embedder.embed_texts([embed_text(header_title(p), c.text) for p, cs in chunked for c in cs], bulk=True)
            timings["vectors_s"] += time.perf_counter() - t
            t = time.perf_counter()
            batch, i = [], 0
            for paper, chunks in chunked:
                batch.append((paper, chunks, flat[i:i + len(chunks)]))
                i += len(chunks)
            db.write_papers(batch)
            timings["write_s"] += time.perf_counter() - t
            chunks_written += len(flat)
        db.bump_generation()
        total = db.papers_collection.count()
    finally:
        lock.release()
    seconds = time.perf_counter() - started
    cache.save()
    counts = embedder.counts
    return {"papers_in_store": total, "added": len(todo), "unchanged": len(papers) - len(todo),
            "chunks_written": chunks_written, "ingest_s": round(seconds, 2), "embed_s": round(counts.compute_s, 2),
            "vectors_computed": counts.computed, "vectors_cached": counts.cached, "vectors_pooled": counts.pooled,
            **{k: round(v, 2) for k, v in timings.items()}, "store_bytes": dir_bytes(Path(store))}


def _planted(corpus: str) -> list[dict]:
    return [json.loads(line) for line in (Path(corpus) / "planted_questions.jsonl").read_text().splitlines() if line]


def phase_query(store: str, questions: list[dict], ask_n: int, modes: list[str]) -> dict:
    """Open the store in a fresh process, build/load BM25, then time searches and asks."""
    from assistant.app import App
    from assistant.search.lexical import lexical_cache_path

    rss_start = rss_now_mb()
    started = time.perf_counter()
    app = App(_settings(store))
    stats = app.stats()
    open_s = time.perf_counter() - started
    had_bm25_cache = lexical_cache_path(app.store).exists()
    started = time.perf_counter()
    app.retriever.lexical()
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    app.embedder.embed_query("warm up")
    onnx_s = time.perf_counter() - started
    for q in questions[:3]:  # warm-up: first calls pay one-off allocations
        app.search(q["question"])
    started = time.perf_counter()
    app.ask(questions[0]["question"])  # the first ask loads the answerer's own pieces
    first_ask_s = time.perf_counter() - started
    rss_ready = rss_now_mb()
    out: dict = {"papers": stats["papers"], "chunks": stats["chunks"], "store_bytes": stats["store_bytes"],
                 "open_catalogue_s": round(open_s, 2), "bm25_s": round(bm25_s, 2),
                 "bm25": "loaded from cache" if had_bm25_cache else "built (first query after ingest)",
                 "onnx_load_s": round(onnx_s, 2), "first_ask_s": round(first_ask_s, 2), "rss_start_mb": rss_start,
                 "rss_ready_mb": rss_ready,
                 "questions": len(questions), "search": {}}
    for mode in modes:
        seconds, hits = [], 0
        for q in questions:
            t = time.perf_counter()
            result = app.search(q["question"], k=5, mode=mode)
            seconds.append(time.perf_counter() - t)
            hits += q["gold_id"] in [s.paper.id for s in result.sources]
        out["search"][mode] = {**latency_summary(seconds), "hit_at_5": round(hits / len(questions), 3)}
    seconds, cited = [], 0
    for q in questions[:ask_n]:
        t = time.perf_counter()
        answer = app.ask(q["question"])
        seconds.append(time.perf_counter() - t)
        cited += q["gold_id"] in answer.cited_ids
    out["ask"] = {**latency_summary(seconds), "gold_cited": round(cited / max(1, len(seconds)), 3)}
    out["rss_end_mb"] = rss_now_mb()
    return out


def phase_bm25_breakdown(store: str) -> dict:
    """Where the first-query BM25 build goes: reading chunks from Chroma, tokenizing, indexing."""
    from assistant.ingest.store import Store
    from assistant.search.lexical import LexicalBuilder, tokenize

    db = Store(_settings(store))
    t = time.perf_counter()
    chunks = list(db.iter_chunks())
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    corpus = [tokenize(c.text) or ["\u0000"] for c in chunks]
    tokenize_s = time.perf_counter() - t
    t = time.perf_counter()
    builder = LexicalBuilder()
    for chunk, tokens in zip(chunks, corpus, strict=True):
        builder.add(chunk, tokens)
    builder.build()
    index_s = time.perf_counter() - t
    return {"chunks": len(chunks), "read_chunks_s": round(read_s, 1), "tokenize_s": round(tokenize_s, 1),
            "index_s": round(index_s, 1)}


# -- orchestration ---------------------------------------------------------------------------

def cold_cli_search(store: Path, question: str) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "assistant", "search", question, "--store", str(store), "--json"],
                          cwd=ROOT, capture_output=True, text=True, env=_clean_env())
    return {"wall_s": round(time.perf_counter() - started, 2), "rc": proc.returncode}


def _clean_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}


def _sample_questions(planted: list[dict], n_papers: int, count: int, seed: int) -> list[dict]:
    pool = planted[:n_papers]
    return random.Random(seed + n_papers).sample(pool, min(count, len(pool)))


def _prepare(sizes: list[int], real_steps: list[int], n_questions: int, work: Path, out_json: Path) -> dict:
    """Load (or start) the results file and make sure the corpus exists."""
    corpus = work / "corpus"
    results = json.loads(out_json.read_text()) if out_json.exists() else {}
    results.setdefault("machine", machine())
    results.setdefault("loadavg_start", loadavg())
    results.update({"per_file": PER_FILE, "sizes": sizes, "real_steps": real_steps, "questions_per_size": n_questions})
    largest = max(sizes + real_steps)
    if not results.get("generate") or results["generate"]["papers"] < largest or not corpus.exists():
        say(f"generating {largest} synthetic papers")
        results["generate"] = run_phase("benchmarks.bench_scale:phase_generate", {"corpus": str(corpus), "n": largest})
    results.setdefault("real_ingest", [])
    results.setdefault("stores", {})
    if "entry_sizes" not in results:
        results["entry_sizes"] = entry_sizes()
    return results


def entry_sizes(n: int = 2000) -> dict:
    """Mean size of a real and a synthetic entry, to show the generator's entries are realistic."""
    from statistics import mean

    from benchmarks.synthetic import source_papers, synthetic_papers

    out = {}
    for name, papers in (("real", source_papers()), ("synthetic", synthetic_papers(n, SEED)[0])):
        out[name] = {"papers": len(papers), "json_bytes": round(mean(len(p.to_json().encode()) for p in papers)),
                     "abstract_chars": round(mean(len(p.abstract) for p in papers)),
                     "title_chars": round(mean(len(p.title) for p in papers))}
    return out


def _save(results: dict, out_json: Path) -> None:
    out_json.parent.mkdir(parents=True, exist_ok=True)
    results["loadavg_end"] = loadavg()
    out_json.write_text(json.dumps(results, indent=2))


def run_real(sizes: list[int], real_steps: list[int], n_questions: int, ask_n: int, work: Path, modes: list[str],
             out_json: Path) -> dict:
    """Stage 1: real ingest in steps into one store (every vector computed and cached)."""
    corpus, vectors, real_store = work / "corpus", work / "vectors", work / "stores" / "real"
    results = _prepare(sizes, real_steps, n_questions, work, out_json)
    # A new real stage starts a new run: its machine/commit/date and load, and no figures of an older store.
    results.update({"machine": machine(), "loadavg_start": loadavg(), "stores": {}})
    results.pop("bm25_breakdown", None)
    planted = _planted(str(corpus))
    shutil.rmtree(real_store, ignore_errors=True)
    results["real_ingest"] = []
    for n in sorted(real_steps):
        say(f"real ingest up to {n} papers")
        step = run_phase("benchmarks.bench_scale:phase_ingest",
                         {"store": str(real_store), "corpus": str(corpus), "n": n, "mode": "record", "vectors": str(vectors)})
        step["papers_target"] = n
        results["real_ingest"].append(step)
        _save(results, out_json)
        if n in sizes:
            say(f"queries at {n} papers (all vectors real)")
            results["stores"][str(n)] = _measure(real_store, _sample_questions(planted, n, n_questions, SEED), ask_n,
                                                 modes, 1.0, step)
            _save(results, out_json)
    return run_rerun(sizes, real_steps, n_questions, ask_n, work, modes, out_json)


def run_rerun(sizes: list[int], real_steps: list[int], n_questions: int, ask_n: int, work: Path, modes: list[str],
              out_json: Path) -> dict:
    """Re-run the largest real step's ingest: nothing changed, so nothing should be embedded."""
    results = _prepare(sizes, real_steps, n_questions, work, out_json)
    n = max(real_steps)
    say(f"re-run of an unchanged {n}-paper ingest")
    results["rerun"] = run_phase("benchmarks.bench_scale:phase_ingest",
                                 {"store": str(work / "stores" / "real"), "corpus": str(work / "corpus"), "n": n,
                                  "mode": "reuse", "vectors": str(work / "vectors")})  # reuse: no model load
    results["rerun"]["papers_target"] = n
    _save(results, out_json)
    return results


def run_large(sizes: list[int], real_steps: list[int], n_questions: int, ask_n: int, work: Path, modes: list[str],
              out_json: Path) -> dict:
    """Stage 2: stores larger than the real steps, each grown from the previous one with cached vectors."""
    corpus, vectors, stores = work / "corpus", work / "vectors", work / "stores"
    results = _prepare(sizes, real_steps, n_questions, work, out_json)
    planted = _planted(str(corpus))
    samples = {n: _sample_questions(planted, n, n_questions, SEED) for n in sizes}
    from benchmarks.synthetic import synthetic_papers  # titles of targeted papers (their chunks get real vectors)

    papers, _ = synthetic_papers(max(sizes + real_steps), SEED)
    title_of = {p.id: " ".join(p.title.split()) for p in papers}
    targets = sorted({title_of[q["gold_id"]] for qs in samples.values() for q in qs})
    previous = stores / "real"
    vectors_real = sum(step["chunks_written"] for step in results["real_ingest"])
    vectors_pooled = 0
    for n in sorted(s for s in sizes if s > max(real_steps)):
        store = stores / f"n{n}"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(previous, store)
        for stale in (store / ".cache").glob("lexical-*"):  # its BM25 cache belongs to the smaller store
            stale.unlink()
        say(f"building the {n}-paper store from cached vectors (bulk writer)")
        build = run_phase("benchmarks.bench_scale:phase_bulk_build",
                          {"store": str(store), "corpus": str(corpus), "n": n, "mode": "reuse", "vectors": str(vectors),
                           "must_be_real": targets})
        build["grown_from"] = previous.name
        build["writer"] = "bulk"
        vectors_real += build["vectors_computed"] + build["vectors_cached"]
        vectors_pooled += build["vectors_pooled"]
        _save(results, out_json)
        say(f"queries at {n} papers")
        share = vectors_real / max(1, vectors_real + vectors_pooled)
        results["stores"][str(n)] = _measure(store, samples[n], ask_n, modes, share, build)
        _save(results, out_json)
        previous = store
    return results


def run_requery(sizes: list[int], real_steps: list[int], n_questions: int, ask_n: int, work: Path, modes: list[str],
                out_json: Path) -> dict:
    """Query phases again on the stores the large stage built (BM25 cache dropped, so it is rebuilt)."""
    results = _prepare(sizes, real_steps, n_questions, work, out_json)
    planted = _planted(str(work / "corpus"))
    for n in sorted(s for s in sizes if s > max(real_steps)):
        store, entry = work / "stores" / f"n{n}", results["stores"].get(str(n))
        if entry is None or not store.exists():
            continue
        for stale in (store / ".cache").glob("lexical-*"):
            stale.unlink()
        say(f"queries again at {n} papers")
        previous = {k: entry[k] for k in ("query", "query_cached_bm25", "cold_cli_search")}
        results["stores"][str(n)] = _measure(store, _sample_questions(planted, n, n_questions, SEED), ask_n, modes,
                                             entry["vectors_real_share"], entry["build"])
        results["stores"][str(n)]["earlier_measurement"] = previous
        _save(results, out_json)
    return results


def _measure(store: Path, questions: list[dict], ask_n: int, modes: list[str], vectors_real, build) -> dict:
    entry = {"build": build}
    entry["query"] = run_phase("benchmarks.bench_scale:phase_query",
                               {"store": str(store), "questions": questions, "ask_n": ask_n, "modes": modes})
    entry["query_cached_bm25"] = run_phase("benchmarks.bench_scale:phase_query",
                                           {"store": str(store), "questions": questions[:5], "ask_n": 1, "modes": ["hybrid"]})
    entry["cold_cli_search"] = cold_cli_search(store, questions[0]["question"])
    entry["store_bytes"] = dir_bytes(store)
    entry["lexical_cache_bytes"] = dir_bytes(store / ".cache") if (store / ".cache").exists() else 0
    entry["vectors_real_share"] = round(vectors_real, 4)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="350,5000,50000", help="corpus sizes to measure queries at")
    parser.add_argument("--real-steps", default="350,1000,5000", help="sizes up to which to ingest with the real model")
    parser.add_argument("--questions", type=int, default=100, help="planted questions per size")
    parser.add_argument("--ask", type=int, default=30, help="questions also asked (extractive) per size")
    parser.add_argument("--modes", default="hybrid,dense,lexical")
    parser.add_argument("--work", type=Path, default=CACHE / "scale")
    parser.add_argument("--out", type=Path, default=CACHE / "scale.json")
    parser.add_argument("--fresh-vectors", action="store_true", help="forget cached vectors first")
    parser.add_argument("--stage", choices=["all", "real", "rerun", "large", "requery", "bm25"], default="all",
                        help="real: stepwise real ingest (+ queries at those sizes); large: bigger stores from cached vectors")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 100 and 300 papers, 50 then 100 ingested for real, 5 questions")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.real_steps, args.questions, args.ask = "100,300", "50,100", 5, 2
        args.work, args.out = CACHE / "scale-quick", CACHE / "scale-quick.json"
    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x.strip()]
    if args.fresh_vectors:
        shutil.rmtree(args.work / "vectors", ignore_errors=True)
    call = (ints(args.sizes), ints(args.real_steps), args.questions, args.ask, args.work, args.modes.split(","), args.out)
    if args.stage in ("all", "real"):
        run_real(*call)
    if args.stage == "rerun":
        run_rerun(*call)
    if args.stage == "requery":  # measure the built large stores again (e.g. when the machine is quieter)
        run_requery(*call)
    if args.stage == "bm25":  # diagnostic: split the BM25 build time of the largest store
        results = _prepare(*call[:3], args.work, args.out)
        n = max(call[0])
        say(f"BM25 build breakdown at {n} papers")
        results["bm25_breakdown"] = {"papers": n, **run_phase("benchmarks.bench_scale:phase_bm25_breakdown",
                                                              {"store": str(args.work / "stores" / f"n{n}")})}
        _save(results, args.out)
    if args.stage in ("all", "large"):
        run_large(*call)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
