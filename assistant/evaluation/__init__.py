"""The offline answer-quality eval harness behind `digestqa eval`.

dataset -> pipelines (product chain, BM25 and plain llama-index baselines) -> per-question records
-> metrics -> run folder (results.jsonl, report.json, report.md, chart.png) -> compare two runs.
Metrics are defined in evals/README.md; every pipeline yields the same record shape.
"""
from assistant.evaluation.dataset import Question, load_dataset
from assistant.evaluation.metrics import aggregate, score_record
from assistant.evaluation.runner import RunOutput, run_eval

__all__ = ["Question", "load_dataset", "score_record", "aggregate", "run_eval", "RunOutput"]
