"""`digestqa eval` end to end on the fixture store: run folder, records, report, chart, compare,
the three pipelines, and the CLI as a user runs it."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from assistant.cli.commands import build_parser
from assistant.cli.evals import run_eval as cli_run_eval
from assistant.evaluation import run_eval
from assistant.evaluation.compare import compare_runs
from assistant.evaluation.pipelines import DensePipeline
from tests.factories import make_app

QUESTIONS = [
    {"qid": "f-fact", "question": "How much does KVSqueeze reduce KV-cache memory?", "kind": "fact",
     "gold_ids": ["2601.90001"], "must_mention": ["4.2"], "answerable": True},
    {"qid": "f-multi", "question": "Which papers compress, evict or quantize the KV cache?", "kind": "multi",
     "gold_ids": ["2601.90001", "2601.90002", "2601.90008"], "ok_ids": ["2601.90005v1"],  # an LSM key-value store
     "must_mention": [], "answerable": True},
    {"qid": "f-author", "question": "Which papers did Chen Ding write?", "kind": "author",
     "gold_ids": ["2601.90001", "2601.90003"], "must_mention": ["MolGAT"], "answerable": True},
    {"qid": "f-id", "question": "What does 2601.90005v2 report about write amplification?", "kind": "id",
     "gold_ids": ["2601.90005v2"], "must_mention": ["write amplification"], "answerable": True},
    {"qid": "f-zh", "question": "哪篇论文研究带谓词过滤的向量搜索？", "kind": "zh", "gold_ids": ["2601.90007"],
     "must_mention": [], "answerable": True, "notes": "an unknown field, kept"},
    {"qid": "f-none", "question": "Which paper controls sourdough fermentation with machine learning?",
     "kind": "none", "gold_ids": [], "must_mention": [], "answerable": False},
]
RECORD_FIELDS = {"qid", "kind", "gold_ids", "ok_ids", "answer", "cited_ids", "retrieved_ids", "refused", "latency_s",
                 "pipeline", "backend",
                 "hit_at_k", "recall_at_k", "reciprocal_rank", "citation_precision", "citation_recall",
                 "invalid_citation_rate", "must_mention_coverage", "refusal_correct", "false_refusal"}
HEADLINE = {"hit_at_k", "recall_at_k", "mrr", "citation_precision", "citation_recall", "invalid_citation_rate",
            "must_mention", "refusal_accuracy", "false_refusal_rate", "latency_p50_s", "latency_p95_s"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("evalset") / "tiny.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def product_run(fixture_app, dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "product-1"
    [output] = run_eval(fixture_app, dataset, "product", out_dir=out, progress=False)
    return output


@pytest.fixture(scope="module")
def store_copy(fixture_app, tmp_path_factory):
    """The dense baseline writes its cache into the store folder: give it a copy, not the shared store."""
    target = tmp_path_factory.mktemp("store-copy") / "store"
    shutil.copytree(fixture_app.settings.store, target)
    return target


def test_run_folder_has_every_file(product_run):
    out = product_run.out_dir
    for name in ("results.jsonl", "report.json", "report.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    png = (out / "chart.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert "| kind |" in (out / "report.md").read_text()


def test_results_have_one_record_per_question_with_the_documented_fields(product_run):
    lines = (product_run.out_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["qid"] for r in records] == [q["qid"] for q in QUESTIONS]
    for r in records:
        assert RECORD_FIELDS <= set(r), RECORD_FIELDS - set(r)
        assert r["pipeline"] == "product" and r["backend"] == "extractive"
        assert isinstance(r["refused"], bool) and r["latency_s"] >= 0
        assert len(set(r["retrieved_ids"])) == len(r["retrieved_ids"])
    by_qid = {r["qid"]: r for r in records}
    assert by_qid["f-id"]["gold_ids"] == ["2601.90005"]  # versioned gold normalised
    assert by_qid["f-multi"]["ok_ids"] == ["2601.90005"] and by_qid["f-fact"]["ok_ids"] == []
    assert by_qid["f-zh"]["extra"] == {"notes": "an unknown field, kept"}
    assert by_qid["f-none"]["hit_at_k"] is None and by_qid["f-none"]["refusal_correct"] in (0.0, 1.0)
    # the per-question scores are those of the record itself
    for r in records:
        if r["answerable"]:
            ranking = [pid for pid in r["retrieved_ids"] if pid not in r["ok_ids"]]  # ok papers are ranked out
            assert r["hit_at_k"] == float(any(g in ranking[:5] for g in r["gold_ids"]))
            assert r["false_refusal"] == float(r["refused"])


def test_report_has_metrics_overall_per_kind_and_config(product_run, dataset, fixture_app):
    report = json.loads((product_run.out_dir / "report.json").read_text())
    assert HEADLINE <= set(report["metrics"]["overall"])
    assert set(report["metrics"]["by_kind"]) == {"fact", "multi", "author", "id", "zh", "none"}
    for summary in report["metrics"]["by_kind"].values():
        assert HEADLINE <= set(summary) and summary["questions"] == 1
    assert report["metrics"]["by_kind"]["none"]["refusal_accuracy"] is not None
    config = report["config"]
    assert config["pipeline"] == "product" and config["backend"] == "extractive" and config["top_k"] == 5
    assert config["embedding_model"] == fixture_app.settings.embed_package
    assert config["corpus"]["papers"] == len(fixture_app.store.papers()) and config["corpus"]["chunks"] > 0
    assert config["dataset"]["path"] == str(dataset) and len(config["dataset"]["sha1"]) == 40
    assert "git_commit" in config and "prompt_hash" in config and config["timestamp"]
    assert config["settings"]["llm_api_key"] is None
    assert report["llm_judged"] is None


def test_compare_of_two_identical_runs_has_zero_deltas(product_run, fixture_app, dataset, tmp_path):
    [again] = run_eval(fixture_app, dataset, "product", out_dir=tmp_path / "product-2", progress=False)
    cmp = compare_runs(again.out_dir, product_run.out_dir)
    for metric, row in cmp["overall"].items():
        if not metric.startswith("latency"):
            assert row["delta"] in (None, 0.0), (metric, row)
    assert cmp["flips"] == {} and cmp["warnings"] == []
    assert cmp["only_in_current"] == [] and cmp["only_in_earlier"] == []


def test_run_eval_command_with_a_namespace(product_run, fixture_app, dataset, tmp_path, capsys):
    # Parsed by the real parser, so the test sees exactly the namespace the CLI builds.
    args = build_parser().parse_args(["eval", str(dataset), "--pipeline", "bm25", "-k", "3",
                                      "--out", str(tmp_path / "bm25"), "--limit", "4", "--json", "--quiet"])
    assert cli_run_eval(args, fixture_app) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["pipeline"] == "bm25" and report["config"]["top_k"] == 3
    assert report["metrics"]["overall"]["questions"] == 4
    records = [json.loads(line) for line in (tmp_path / "bm25" / "results.jsonl").read_text().splitlines()]
    assert all(r["refused"] is False and r["cited_ids"] == r["retrieved_ids"] and len(r["retrieved_ids"]) <= 3
               for r in records)


def test_all_pipelines_share_the_record_shape_and_dense_is_cached(store_copy, embedder, dataset, tmp_path):
    app = make_app(store_copy, embedder)
    outputs = run_eval(app, dataset, "all", out_dir=tmp_path / "all", progress=False)
    assert [o.pipeline for o in outputs] == ["product", "bm25", "dense"]
    shapes = []
    for output in outputs:
        assert output.out_dir == tmp_path / "all" / output.pipeline and (output.out_dir / "chart.png").is_file()
        shapes.append({frozenset(r) - {"notices", "timings", "extra", "missing_mentions"} for r in output.records})
        assert len(output.records) == len(QUESTIONS)
    assert shapes[0] == shapes[1] == shapes[2]
    dense = {r["qid"]: r for r in outputs[2].records}
    assert dense["f-fact"]["retrieved_ids"] and dense["f-fact"]["cited_ids"] == dense["f-fact"]["retrieved_ids"]
    assert dense["f-fact"]["answer"].startswith(f"[{dense['f-fact']['retrieved_ids'][0]}] ")
    cache = store_copy / ".cache" / "dense-baseline"
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1
    reloaded = DensePipeline(make_app(store_copy, embedder), 5)
    _ = reloaded.index
    assert reloaded.loaded_from_cache


def cli(*args, store):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    return subprocess.run([sys.executable, "-m", "assistant", "--store", str(store), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_cli_runs_compares_and_reports_bad_lines(store_copy, dataset, tmp_path):
    done = cli("eval", dataset, "--pipeline", "bm25", "--out", tmp_path / "a", "--json", "-q", store=store_copy)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["pipeline"] == "bm25"
    done = cli("eval", dataset, "--pipeline", "bm25", "--out", tmp_path / "b", "--compare", tmp_path / "a",
               store=store_copy)
    assert done.returncode == 0, done.stderr
    assert "no question changed" in done.stdout and "hit@5" in done.stdout
    done = cli("eval", "--compare", tmp_path / "b", tmp_path / "a", "--json", store=store_copy)
    assert done.returncode == 0 and json.loads(done.stdout)["flips"] == {}

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(QUESTIONS[0]) + "\n{oops\n", encoding="utf-8")
    done = cli("eval", bad, "--out", tmp_path / "c", store=store_copy)
    assert done.returncode == 2 and f"{bad}:2:" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_llm_judged_metrics_are_reported_apart_and_need_an_llm(fixture_app, dataset, tmp_path):
    from assistant.app import App
    from assistant.errors import InputError
    from tests.factories import make_settings
    from tests.fake_openai import FakeOpenAI

    with pytest.raises(InputError, match="--judge needs an LLM backend"):
        run_eval(fixture_app, dataset, "bm25", out_dir=tmp_path / "no-llm", progress=False, judge=True)

    def grade(body):
        prompt = body["messages"][-1]["content"]
        faithful = "KVSqueeze" in prompt.split("<answer>")[1]
        return json.dumps({"faithful": faithful, "relevant": True, "reason": "scripted"})

    with FakeOpenAI() as fake:
        fake.default = {"fn": grade}
        app = App(make_settings(fixture_app.settings.store, llm_base_url=fake.base_url, llm_model="judge-model",
                                llm_max_retries=0))
        app.__dict__["embedder"] = fixture_app.embedder
        [output] = run_eval(app, dataset, "bm25", out_dir=tmp_path / "judged", progress=False, judge=True)
    judged = output.report["llm_judged"]
    assert judged["judge_model"] == "judge-model" and judged["n"]["graded"] == len(QUESTIONS)
    assert judged["answer_relevance"] == 1.0 and 0.0 < judged["faithfulness"] < 1.0
    assert "hit_at_k" in output.report["metrics"]["overall"]  # deterministic metrics unchanged, apart
    records = [json.loads(line) for line in (tmp_path / "judged" / "results.jsonl").read_text().splitlines()]
    assert all(r["llm_faithful"] in (0.0, 1.0) for r in records)
    assert "LLM-judged metrics (not deterministic)" in (tmp_path / "judged" / "report.md").read_text()
