"""Helpers shared by the benchmarks: machine description, percentiles, per-phase subprocesses.

Each measured phase (ingest, queries, ...) runs in its own Python process so that its peak RSS
(getrusage's ru_maxrss) belongs to that phase alone and no cache of an earlier phase helps it.
"""
from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
CACHE = BENCH / ".cache"  # git-ignored: cached vectors, work stores
SHARED_DIGESTS = ROOT.parent / "shared" / "digests"
SAMPLE_DIGESTS = ROOT / "assistant" / "sample_digests"


def real_corpus() -> Path:
    return SHARED_DIGESTS if SHARED_DIGESTS.is_dir() else SAMPLE_DIGESTS


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def rss_now_mb() -> float:
    with open("/proc/self/statm") as fh:
        return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95 as eval reports compute them (one definition: linear interpolation, numpy's default)."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1) if ms else None, "mean_ms": round(sum(ms) / len(ms), 1) if ms else None}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        mem_gib = None
    try:
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
    except OSError:
        os_name = platform.platform()
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "ram_gib": mem_gib, "os": os_name,
            "kernel": platform.release(), "python": platform.python_version(), "commit": git_commit(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def run_phase(target: str, args: dict, timeout: float | None = None) -> dict:
    """Run `module:function(**args)` in a fresh interpreter; return its dict plus peak RSS and load."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out_path = fh.name
    try:
        cmd = [sys.executable, "-m", "benchmarks.common", target, json.dumps(args), out_path]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"phase {target} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
        result = json.loads(Path(out_path).read_text())
        result["process_wall_s"] = round(time.perf_counter() - started, 2)
        return result
    finally:
        Path(out_path).unlink(missing_ok=True)


def _phase_main(target: str, args_json: str, out_path: str) -> None:
    module_name, func_name = target.split(":")
    load_start = loadavg()
    result = getattr(importlib.import_module(module_name), func_name)(**json.loads(args_json))
    result.update({"peak_rss_mb": peak_rss_mb(), "loadavg_start": load_start, "loadavg_end": loadavg()})
    Path(out_path).write_text(json.dumps(result))


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    _phase_main(*sys.argv[1:4])
