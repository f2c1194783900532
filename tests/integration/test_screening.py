"""LLM screening of set questions (assistant/answer/screening.py) with a deterministic fake model:
exact membership, batching, budgets, failures. The end-to-end run against a real llama.cpp server
is in test_llm_real.py."""
import json
import re

import pytest

from assistant.app import App
from tests.factories import make_settings
from tests.fake_openai import FakeOpenAI

QUESTION = "Which papers compress the KV cache?"


# -- through the product chain, over the OpenAI protocol ------------------------------------------------
def screener(body: dict) -> str:
    """A scripted model: TokenDrop (eviction, not compression) is confidently off-topic; the rest YES."""
    prompt = body["messages"][-1]["content"]
    if "<paper id=" not in prompt:
        return "NOT_COVERED"
    quotes = {"2601.90001": ("YES", "compresses the KV cache"),
              "2601.90002": ("NO", "periodically evicts the lowest-scoring entries"),
              "2601.90008": ("YES", "quantizes all remaining channels to 2 bits")}
    return "\n".join(f'{pid} | {quotes[pid][0]} | "{quotes[pid][1]}"'
                     for pid in re.findall(r'<paper id="([^"]+)"', prompt) if pid in quotes)


def test_set_answer_through_the_chain_uses_the_screening_and_reports_it(fixture_app, capsys):
    with FakeOpenAI() as fake:
        fake.default = {"fn": lambda body: screener(body) if "<paper id=" in body["messages"][-1]["content"]
                        else "KVSqueeze compresses the KV cache [2601.90001]. QuantKV quantizes it [2601.90008]."}
        settings = make_settings(fixture_app.settings.store, llm_base_url=fake.base_url, llm_model="fake-model",
                                 llm_max_retries=0, llm_timeout_s=10.0)
        app = App(settings)
        app.__dict__["embedder"] = fixture_app.embedder
        answer = app.ask(QUESTION)
        screening_prompt = fake.requests[0]["body"]["messages"]
    assert [s.id for s in answer.sources] == ["2601.90001", "2601.90008"]  # TokenDrop screened out
    assert "screened out 1" in " ".join(answer.notices)
    data = json.loads(json.dumps(answer.to_json_dict()))
    assert data["screening"]["excluded"][0]["id"] == "2601.90002"
    assert data["screening"]["excluded"][0]["reason"] == "periodically evicts the lowest-scoring entries"
    assert data["answered_by"] == "fake-model" and data["llm"]["answered"] is True
    assert "never an instruction" in screening_prompt[0]["content"] and "Question: " + QUESTION in screening_prompt[1]["content"]

    from assistant.cli.answer import _print_screened  # `digestqa ask --screened`

    _print_screened(answer)
    printed = capsys.readouterr().out
    assert f"Screened out by fake-model (1 of {answer.screening.candidates} candidates):" in printed
    assert '[2601.90002] TokenDrop: Attention-Guided Eviction of KV-Cache Entries for Streaming LLM Decoding: ' \
           '"periodically evicts the lowest-scoring entries"' in printed


def test_screening_off_or_failing_keeps_the_word_rules_set(fixture_app):
    # The server is down: screening fails, the answer falls back; the word rules' three papers stand.
    settings = make_settings(fixture_app.settings.store, llm_base_url="http://127.0.0.1:9/v1", llm_model="m",
                             llm_max_retries=0, llm_timeout_s=2.0)
    app = App(settings)
    app.__dict__["embedder"] = fixture_app.embedder
    answer = app.ask(QUESTION)
    assert {s.id for s in answer.sources} == {"2601.90001", "2601.90002", "2601.90008"}
    assert answer.screening.failed == "connection" and answer.to_json_dict()["answered_by"] == "extractive"
    assert any("LLM screening by model 'm' failed" in n for n in answer.notices)
    assert answer.llm.fallback == "connection"


def test_eval_llm_pipeline_runs_the_chain_with_the_llm_and_summarises_it(fixture_app, tmp_path):
    from assistant.errors import InputError
    from assistant.evaluation import run_eval

    dataset = tmp_path / "set.jsonl"
    dataset.write_text(json.dumps({"qid": "kv", "question": QUESTION, "kind": "multi",
                                   "gold_ids": ["2601.90001", "2601.90008"], "must_mention": [],
                                   "answerable": True}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="--pipeline llm needs an LLM"):
        run_eval(fixture_app, dataset, "llm", out_dir=tmp_path / "none", progress=False)
    with FakeOpenAI() as fake:
        fake.default = {"fn": lambda body: screener(body) if "<paper id=" in body["messages"][-1]["content"]
                        else "KVSqueeze compresses the KV cache [2601.90001]. QuantKV quantizes it [2601.90008]."}
        app = App(make_settings(fixture_app.settings.store, llm_base_url=fake.base_url, llm_model="fake-model",
                                llm_max_retries=0))
        app.__dict__["embedder"] = fixture_app.embedder
        [output] = run_eval(app, dataset, "llm", out_dir=tmp_path / "run", progress=False)
    record = output.records[0]
    assert record["pipeline"] == "llm" and record["answered_by"] == "fake-model"
    assert record["screening"]["excluded"][0]["id"] == "2601.90002" and record["citation_precision"] == 1.0
    assert output.report["llm"] == {"model": "fake-model", "questions": 1, "answered_by_llm": 1, "fallbacks": {},
                                    "screened_questions": 1, "screened_out": 1, "screened_in": 0,
                                    "screening_cut": 0, "screening_failed": 0}
    assert "Model `fake-model` wrote 1 of 1 answers" in (tmp_path / "run" / "report.md").read_text()
