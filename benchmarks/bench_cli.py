"""Issue 29: whole `digestqa` processes from the shell against the model's own floor, in one run.

The floor is a Python process that loads the exported embedding model (onnxruntime, the model's
tokenizer, numpy: nothing of digestqa) and embeds one question: no answer from the shell can come
faster. Against it, each command as a fresh process: `ask` with a fact, a set and a Chinese
question, `search`, `show`, `papers` and `brief`. The machine is shared (2 cores), so everything is
timed in rounds, the floor and every command once per round, and each command's ratio is the median
of its per-round ratios to that round's floor (a slow moment slows both sides of a ratio).

Stores: the real corpus (350 papers, ingested with the real model; its vectors come from the
model's vector cache after the first time) and 5,000 papers (the real 350 plus synthetic digests
from benchmarks/synthetic.py, written by the real ingest with stand-in vectors: real vectors of the
corpus chosen by a hash of each text and jittered, as benchmarks/vectors.py does for the scale
benchmark; the model embeds the questions). Both are built once under benchmarks/.cache.

An answer keeps the vectors of the sentences and key terms it ranked in the model's vector cache
(the one ingest fills), so asking about the same papers again embeds only the question; the rows
"nothing cached" time the same questions as if asked for the first time (an empty user cache, only
the one-time ONNX export linked in).

Targets: ask within 1.5x of the floor for a fact question and 2x for a set question; show and papers
under 0.5 s; at 5,000 papers the ratios within 1.2x of the 350-paper ones.
Results: benchmarks/cli.json (quoted in the README).

Run: .venv/bin/python -m benchmarks.bench_cli [--sizes 350,5000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BENCH, CACHE, ROOT, git_commit, loadavg, machine, real_corpus, run_phase, say
from benchmarks.vectors import CachingEmbedder

FACT = "How much memory can be saved on BERT by swapping standard PyTorch linear layers for Panther's sketched layers?"
SET = "Which papers study KV cache compression?"
ZH = "哪篇论文研究了数据清洗中的子集修复？"
COMMANDS: list[tuple[str, list[str]]] = [
    ("ask (fact)", ["ask", FACT]),
    ("ask (set)", ["ask", SET]),
    ("ask (Chinese)", ["ask", ZH]),
    ("search", ["search", "KV cache eviction", "-k", "5"]),
    ("show", ["show", "2601.16032"]),
    ("papers", ["papers", "--category", "cs.DB"]),
    ("brief", ["brief", "--category", "cs.LG"]),
    # The same questions as the first time they are asked: an empty user cache (only the one-time
    # ONNX export linked in), so the sentences and key terms an answer ranks are embedded, and an
    # English set question's Chinese spellings segmented by jieba, in every timed run.
    ("ask (fact), nothing cached", ["ask", FACT]),
    ("ask (set), nothing cached", ["ask", SET]),
]
FRESH_CACHE = ", nothing cached"
TARGETS = {"ask (fact)": 1.5, "ask (set)": 2.0}  # ratio to the floor
SECONDS_TARGETS = {"show": 0.5, "papers": 0.5}  # whole process, no model
SCALE_TARGET = 1.2  # a ratio at 5,000 papers over the same ratio at 350
SYNTHETIC_SEED = 29

# The floor: nothing but the model. Same runtime settings as the product's question-time encoder
# (assistant/ingest/embeddings.py OnnxEncoder: all cores, 256-token window, mean pooling, unit length).
FLOOR = """
import os, sys
import numpy as np
import onnxruntime
from tokenizers import Tokenizer
onnx_path, tokenizer_path, window, question = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
options = onnxruntime.SessionOptions()
options.log_severity_level = 3
options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)))
session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
tokenizer = Tokenizer.from_file(tokenizer_path)
tokenizer.enable_truncation(window)
ids = np.asarray([tokenizer.encode(question).ids], dtype=np.int64)
mask = np.ones_like(ids)
hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
vector = hidden.mean(axis=1)[0]
print(len(vector / np.linalg.norm(vector)))
"""


# -- stores (each built in its own process, once) ----------------------------------------------------

def phase_real_store(store: str) -> dict:
    """The real corpus, ingested as `digestqa ingest` does (keyword index included)."""
    from assistant.app import App
    from assistant.config import load_settings

    started = time.perf_counter()
    report = App(load_settings(env={}, store=Path(store))).ingest([real_corpus()])
    return {"papers": report.papers_total, "seconds": round(time.perf_counter() - started, 1)}


class StandInEmbedder(CachingEmbedder):
    """The real embedder's tokenizer (CachingEmbedder's delegation), and for vectors: the real
    model's cached vector of a text when there is one (every text of the real corpus, once it was
    ingested), else a real vector of the corpus picked by a hash of the text, jittered and
    re-normalised (as benchmarks/vectors.py's pool does). Like CachingEmbedder it names no model
    identity, so ingest keeps its vectors out of the model's shared cache."""

    def __init__(self, settings, pool):
        from assistant.ingest.embeddings import Embedder
        from assistant.ingest.vector_cache import VectorCache, vector_cache_path
        from benchmarks.vectors import VectorCache as Unused

        real = Embedder(settings)
        super().__init__(real, Unused(CACHE / "unused"), "reuse")
        self.model_cache = VectorCache(vector_cache_path(settings, real.identity))
        self.pool_matrix = pool

    def embed_texts(self, texts: list[str], bulk: bool = False) -> list[list[float]]:
        import numpy as np

        from benchmarks.vectors import JITTER_SIGMA

        cached = self.model_cache.get_many(list(dict.fromkeys(texts)))
        out = []
        for text in texts:
            if text in cached:
                out.append(list(cached[text]))
                continue
            key = hashlib.sha1(text.encode()).digest()
            rng = np.random.default_rng(int.from_bytes(key[8:16], "little"))
            vector = self.pool_matrix[int.from_bytes(key[:8], "little") % len(self.pool_matrix)]
            vector = vector + rng.normal(0.0, JITTER_SIGMA, vector.shape[0]).astype(np.float32)
            out.append((vector / np.linalg.norm(vector)).tolist())
        return out


def phase_scaled_store(store: str, real_store: str, corpus: str, papers: int) -> dict:
    """The real corpus plus synthetic papers up to `papers`, through the real ingest."""
    import numpy as np

    from assistant.app import App
    from assistant.config import load_settings
    from assistant.daily.records import IngestRecords
    from assistant.ingest.pipeline import ingest
    from assistant.ingest.store import Store
    from assistant.search.lexical import LexicalBuilder
    from benchmarks.synthetic import write_synthetic_digests

    started = time.perf_counter()
    real = Store(load_settings(env={}, store=Path(real_store)))
    got = real.chunks.get(include=["embeddings"], limit=1_000_000)
    pool = np.asarray(got["embeddings"], dtype=np.float32)
    n_real = len(real.papers())
    out = Path(corpus)
    shutil.rmtree(out, ignore_errors=True)
    write_synthetic_digests(out, papers - n_real, SYNTHETIC_SEED, per_file=50)
    settings = load_settings(env={}, store=Path(store))
    lexical = LexicalBuilder()
    report = ingest([real_corpus(), out], settings, StandInEmbedder(settings, pool), None, None, lexical,
                    IngestRecords(settings))  # what's new and summary checks, as `digestqa ingest` writes them
    App(settings).retriever.lexical(lexical)  # as `digestqa ingest` ends
    return {"papers": report.papers_total, "seconds": round(time.perf_counter() - started, 1)}


def ensure_store(size: int, real_store: Path) -> Path:
    """The store of `size` papers under benchmarks/.cache, built when missing."""
    store = real_store if size == 350 else CACHE / f"cli-{size}"
    marker = store / ".complete"
    if marker.exists():
        return store
    shutil.rmtree(store, ignore_errors=True)
    if store == real_store:
        say(f"ingesting {real_corpus()} into {store}")
        result = run_phase("benchmarks.bench_cli:phase_real_store", {"store": str(store)})
    else:
        say(f"building a {size:,}-paper store in {store} (real corpus + synthetic, stand-in vectors; minutes)")
        result = run_phase("benchmarks.bench_cli:phase_scaled_store",
                           {"store": str(store), "real_store": str(real_store),
                            "corpus": str(CACHE / f"cli-synthetic-{size}"), "papers": size})
    say(f"  {result['papers']:,} papers in {result['seconds']} s")
    marker.write_text(json.dumps(result))
    return store


# -- timing --------------------------------------------------------------------------------------------

def _env(store: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}  # no LLM, no server
    env["DIGESTQA_STORE"] = str(store)
    return env


def _run(argv: list[str], env: dict, fresh_cache: bool = False) -> tuple[float, str]:
    if fresh_cache:  # a user cache holding nothing but the model's ONNX export
        from assistant.config import load_settings

        models = Path(load_settings(env={}).cache_dir).expanduser() / "models"
        (CACHE / "fresh").mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=CACHE / "fresh"))
        (fresh / "models").symlink_to(models)
        env = {**env, "DIGESTQA_CACHE_DIR": str(fresh)}
    try:
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    finally:
        if fresh_cache:
            shutil.rmtree(fresh, ignore_errors=True)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} … failed (rc {proc.returncode}):\n{out[-2000:]}")
    return seconds, out


def floor_argv() -> list[str]:
    from assistant.config import load_settings
    from assistant.ingest.embeddings import OnnxEncoder, model_path, onnx_cache_path

    settings = load_settings(env={})
    model = model_path(settings)
    onnx = onnx_cache_path(model, settings)
    if not onnx.exists():
        OnnxEncoder.load_or_export(model, settings)  # the one-time export, never timed
    return [sys.executable, "-c", FLOOR, str(onnx), str(model / "tokenizer.json"), str(settings.embed_max_tokens), FACT]


def measure(store: Path, rounds: int) -> dict:
    """One warm-up run of everything (the first process after an ingest; reported, not counted),
    then `rounds` rounds of the floor and every command."""
    env = _env(store)
    script = Path(sys.executable).parent / "digestqa"  # what a user runs (the console script)
    digestqa = [str(script)] if script.exists() else [sys.executable, "-m", "assistant"]
    floor = floor_argv()
    first = {"floor": _run(floor, env)[0]}
    outputs = {}
    for name, args in COMMANDS:
        first[name], outputs[name] = _run(digestqa + args, env, name.endswith(FRESH_CACHE))
    samples: dict[str, list[float]] = {"floor": [], **{name: [] for name, _ in COMMANDS}}
    for r in range(rounds):
        samples["floor"].append(_run(floor, env)[0])
        for name, args in COMMANDS:
            samples[name].append(_run(digestqa + args, env, name.endswith(FRESH_CACHE))[0])
        say(f"  round {r + 1}/{rounds}: floor {samples['floor'][-1]:.2f} s, "
            + ", ".join(f"{name} {samples[name][-1]:.2f}" for name, _ in COMMANDS))
    rows = {}
    for name in samples:
        ratios = [s / f for s, f in zip(samples[name], samples["floor"], strict=True)]
        rows[name] = {"median_s": round(statistics.median(samples[name]), 3),
                      "min_s": round(min(samples[name]), 3), "max_s": round(max(samples[name]), 3),
                      "ratio": round(statistics.median(ratios), 2), "first_run_s": round(first[name], 2),
                      "samples_s": [round(s, 3) for s in samples[name]]}
    return {"rows": rows, "outputs": {name: text[:400] for name, text in outputs.items()}}


def verdicts(sizes: dict) -> list[dict]:
    out = []
    small = sizes.get("350")
    for size, result in sizes.items():
        rows = result["rows"]
        for name, target in TARGETS.items():
            out.append({"papers": size, "what": f"{name} / floor", "measured": rows[name]["ratio"], "target": target,
                        "met": rows[name]["ratio"] <= target})
        for name, target in SECONDS_TARGETS.items():
            out.append({"papers": size, "what": f"{name} seconds", "measured": rows[name]["median_s"],
                        "target": target, "met": rows[name]["median_s"] <= target})
        if small is not None and size != "350":
            for name, _ in COMMANDS:
                growth = round(rows[name]["ratio"] / small["rows"][name]["ratio"], 2)
                out.append({"papers": size, "what": f"{name}: ratio at {size} / at 350", "measured": growth,
                            "target": SCALE_TARGET, "met": growth <= SCALE_TARGET})
    return out


def render(result: dict) -> str:
    sizes = result["sizes"]
    head = "| | " + " | ".join(f"{s} papers: median s | ratio to floor" for s in sizes) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(sizes)]
    for name in ["floor"] + [n for n, _ in COMMANDS]:
        cells = [f"{sizes[s]['rows'][name]['median_s']:.2f} | {sizes[s]['rows'][name]['ratio']:.2f}x" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="350,5000", help="store sizes in papers (default 350,5000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5: median of 5)")
    parser.add_argument("--out", type=Path, default=BENCH / "cli.json")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",")]
    real_store = CACHE / "cli-350"
    stores = {size: ensure_store(size, real_store) for size in sorted({350, *sizes})}
    result = {"machine": machine(), "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "loadavg_start": loadavg(), "rounds": args.rounds, "questions": {"fact": FACT, "set": SET, "zh": ZH},
              "commands": {name: ["digestqa", *a] for name, a in COMMANDS}, "sizes": {}}
    for size in sizes:
        say(f"{size:,} papers ({stores[size]})")
        result["sizes"][str(size)] = measure(stores[size], args.rounds)
    result["loadavg_end"] = loadavg()
    result["verdicts"] = verdicts(result["sizes"])
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(render(result))
    for v in result["verdicts"]:
        print(f"{'met    ' if v['met'] else 'NOT MET'}  {v['papers']:>5}  {v['what']}: {v['measured']} (target {v['target']})")
    say(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
