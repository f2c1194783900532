"""Eval run folders (written by `digestqa eval`) -> the Evals page's lists and tables.

Loading and comparing go through `assistant.evaluation.compare`, so the page shows exactly what
`digestqa eval --compare` prints; this module only shapes it into rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation.compare import EPS, compare_runs, load_run
from assistant.evaluation.metrics import HEADLINE
from assistant.evaluation.report import KIND_COLUMNS, SHORT, fmt, label

DEFAULT_RUNS_ROOT = Path("evals/runs")  # where `digestqa eval` writes
REFERENCE_RUNS_ROOT = Path("evals/reports")  # runs committed as references
MAX_DEPTH = 2  # `--pipeline all --out DIR` writes DIR/<pipeline>/
# The source checkout the package runs from (it holds evals/ beside assistant/); in an installed
# wheel this folder has no evals/ and only the other places count.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunInfo:
    path: Path
    name: str  # the folder, relative to the root it was found under
    pipeline: str | None = None
    backend: str | None = None
    timestamp: str | None = None
    questions: int | None = None
    dataset: str | None = None

    @property
    def label(self) -> str:
        bits = [b for b in (self.pipeline, self.backend) if b]
        extra = f" ({', '.join(bits)}" + (f", {self.questions} questions)" if self.questions is not None else ")")
        return self.name + (extra if bits else "")


def _info(path: Path, root: Path) -> RunInfo:
    config: dict = {}
    try:
        config = json.loads((path / "report.json").read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError, AttributeError):
        pass  # a run without a readable report still lists; opening it explains what is wrong
    dataset = config.get("dataset") or {}
    return RunInfo(path=path, name=str(path.relative_to(root)) if path != root else path.name,
                   pipeline=config.get("pipeline"), backend=config.get("backend"),
                   timestamp=config.get("timestamp"), questions=dataset.get("questions_run"),
                   dataset=Path(dataset["path"]).name if dataset.get("path") else None)


def list_runs(root: Path | str = DEFAULT_RUNS_ROOT) -> list[RunInfo]:
    """Run folders (those holding results.jsonl) under `root`, newest first."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return []
    found = []
    if (root / "results.jsonl").is_file():
        found.append(root)
    level = [root]
    for _ in range(MAX_DEPTH):
        level = sorted(d for parent in level for d in parent.iterdir() if d.is_dir())
        found += [d for d in level if (d / "results.jsonl").is_file()]
    infos = [_info(path, root) for path in found]
    return sorted(infos, key=lambda i: (i.timestamp or "", i.name), reverse=True)


def _bases(settings: Settings | None) -> list[Path]:
    """Folders that may hold evals/, most specific first: the store's folder, the config file's,
    the source checkout's, then the current directory (last: the UI may be started anywhere)."""
    bases = []
    if settings is not None and not settings.uses_server:
        bases.append(Path(settings.store).expanduser().resolve().parent)
    if settings is not None and settings.config_file is not None:
        bases.append(settings.config_file.parent)
    bases += [SOURCE_ROOT, Path.cwd()]
    return list(dict.fromkeys(bases))


def runs_roots(settings: Settings | None = None) -> list[Path]:
    """Where run folders may be: every evals/runs (yours), then every evals/reports (the reference
    runs), absolute and without repeats."""
    bases = _bases(settings)
    return list(dict.fromkeys([b / DEFAULT_RUNS_ROOT for b in bases] + [b / REFERENCE_RUNS_ROOT for b in bases]))


def default_runs_root(settings: Settings | None = None) -> Path:
    """Your own runs when there are any, else the reference runs, so a fresh clone has something to
    look at, whichever folder `digestqa ui` was started from."""
    roots = runs_roots(settings)
    return next((root for root in roots if list_runs(root)), roots[0])


def resolve_runs_root(text: str, settings: Settings | None = None) -> Path:
    """A folder typed on the page: absolute as is; relative, the first of the places that exists
    (the current directory first: that is what a person typing it means)."""
    path = Path(text.strip()).expanduser()
    if path.is_absolute():
        return path
    for base in [Path.cwd(), *_bases(settings)]:
        if (base / path).is_dir():
            return base / path
    return Path.cwd() / path


@dataclass
class RunView:
    info: RunInfo
    report: dict
    records: list[dict]
    chart: Path | None
    markdown: str | None

    @property
    def k(self) -> int | None:
        return self.report.get("config", {}).get("top_k")


def open_run(info: RunInfo) -> RunView:
    path, records, report = load_run(info.path)  # InputError with a clear message when broken
    chart = path / (report.get("chart") or "chart.png")
    markdown = path / "report.md"
    return RunView(info, report, records, chart if chart.is_file() else None,
                   markdown.read_text(encoding="utf-8") if markdown.is_file() else None)


def metric_rows(view: RunView) -> list[dict]:
    overall = view.report["metrics"]["overall"]
    counts = overall.get("n", {})
    return [{"metric": label(m, view.k), "value": fmt(overall.get(m), m), "n": counts.get(m, 0),
             "better": "higher" if higher else "lower"} for m, higher in HEADLINE.items()]


def kind_rows(view: RunView) -> list[dict]:
    """The per-kind table as report.md writes it: 3 decimals, '–' where a metric applies to none."""
    rows = []
    for kind, summary in view.report["metrics"].get("by_kind", {}).items():
        row = {"kind": kind, "questions": fmt(summary.get("questions"))}
        row.update({SHORT[m].replace("@k", f"@{view.k}"): fmt(summary.get(m), m) for m in KIND_COLUMNS})
        rows.append(row)
    return rows


def question_rows(view: RunView) -> list[dict]:
    return [{"qid": r.get("qid"), "kind": r.get("kind"), "question": r.get("question"),
             "hit@k": r.get("hit_at_k"), "refused": r.get("refused"), "cited": ", ".join(r.get("cited_ids") or []),
             "error": r.get("error") or ""} for r in view.records]


def compare(current: RunInfo, earlier: RunInfo) -> dict:
    return compare_runs(current.path, earlier.path)


def comparison_rows(comparison: dict) -> list[dict]:
    k = comparison.get("top_k")
    rows = []
    for metric, row in comparison["overall"].items():
        delta = row["delta"]
        verdict = ""
        if delta is not None and abs(delta) > EPS:
            verdict = "better" if (delta > 0) == HEADLINE[metric] else "worse"
        rows.append({"metric": label(metric, k), "earlier": row["earlier"], "now": row["current"],
                     "delta": delta, "verdict": verdict})
    return rows


def flip_rows(comparison: dict) -> list[dict]:
    return [{"metric": metric, "better": ", ".join(moved["better"]), "worse": ", ".join(moved["worse"])}
            for metric, moved in comparison["flips"].items()]
