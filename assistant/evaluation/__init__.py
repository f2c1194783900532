"""The offline answer-quality eval harness behind `digestqa eval`.

dataset -> pipelines (product chain, BM25 and plain llama-index baselines) -> per-question records
-> metrics -> run folder (results.jsonl, report.json, report.md, chart.png) -> compare two runs.
Metrics are defined in evals/README.md; every pipeline yields the same record shape.

Names are loaded on first use (as in `assistant`): every command builds the parser, which reads the
pipeline names from `assistant.evaluation.pipelines`, and need not import the whole harness.
"""
from __future__ import annotations

import importlib

_PUBLIC = {"Question": "assistant.evaluation.dataset", "load_dataset": "assistant.evaluation.dataset",
           "score_record": "assistant.evaluation.metrics", "aggregate": "assistant.evaluation.metrics",
           "run_eval": "assistant.evaluation.runner", "RunOutput": "assistant.evaluation.runner"}
__all__ = ["Question", "load_dataset", "score_record", "aggregate", "run_eval", "RunOutput"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'assistant.evaluation' has no attribute {name!r}")
