"""Eval metrics and dataset parsing on hand-made records (no model, no store)."""
import json

import pytest

from assistant.errors import InputError
from assistant.evaluation.compare import compare_runs
from assistant.evaluation.dataset import load_dataset
from assistant.evaluation.metrics import aggregate, mention_coverage, percentile, score_record, summarize


def record(answer="", cited=(), retrieved=(), refused=False, **extra):
    return {"answer": answer, "cited_ids": list(cited), "retrieved_ids": list(retrieved), "refused": refused, **extra}


def score(rec, gold=(), mentions=(), answerable=True, k=5, corpus=None, ok=()):
    return score_record(rec, list(gold), list(mentions), answerable, k, corpus, list(ok))


# -- retrieval -----------------------------------------------------------------------------------
def test_hit_recall_and_mrr_at_k():
    s = score(record(retrieved=["a.1", "2601.00002", "2601.00001", "2601.00009"]), gold=["2601.00001", "2601.00003"])
    assert s["hit_at_k"] == 1.0 and s["recall_at_k"] == 0.5 and s["reciprocal_rank"] == pytest.approx(1 / 2)


def test_retrieval_only_counts_the_first_k():
    rec = record(retrieved=[f"2601.0000{i}" for i in range(1, 8)])
    s = score(rec, gold=["2601.00007"], k=5)
    assert s["hit_at_k"] == 0.0 and s["recall_at_k"] == 0.0 and s["reciprocal_rank"] == 0.0
    assert score(rec, gold=["2601.00007"], k=7)["reciprocal_rank"] == pytest.approx(1 / 7)


def test_versioned_ids_are_normalised_everywhere():
    s = score(record(cited=["2601.16032v2"], retrieved=["2601.16032v1", "2601.11111"]), gold=["2601.16032v3"],
              corpus={"2601.16032", "2601.11111"})
    assert s["hit_at_k"] == 1.0 and s["reciprocal_rank"] == 1.0
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0 and s["invalid_citation_rate"] == 0.0


def test_empty_gold_leaves_retrieval_and_citation_metrics_not_applicable():
    s = score(record(answer="x [2601.00001]", cited=["2601.00001"], retrieved=["2601.00001"]), gold=[])
    for name in ("hit_at_k", "recall_at_k", "reciprocal_rank", "citation_precision", "citation_recall"):
        assert s[name] is None
    assert s["invalid_citation_rate"] == 0.0 and s["false_refusal"] == 0.0


# -- citations -------------------------------------------------------------------------------------
def test_no_citations_has_no_precision_zero_recall_and_counts_as_uncited():
    s = score(record(answer="an answer", retrieved=["2601.00001"]), gold=["2601.00001"])
    assert s["citation_precision"] is None and s["citation_recall"] == 0.0
    assert s["invalid_citation_rate"] is None and s["uncited_answer"] == 1.0


def test_duplicate_citations_count_once():
    s = score(record(cited=["2601.00001", "2601.00001v2", "2601.00002", "2601.00002"],
                     retrieved=["2601.00001", "2601.00002"]), gold=["2601.00001"])
    assert s["citation_precision"] == 0.5 and s["citation_recall"] == 1.0 and s["uncited_answer"] == 0.0


def test_invalid_citations_not_retrieved_or_not_in_corpus():
    rec = record(cited=["2601.00001", "2601.00002", "2601.00003", "2601.00004"],
                 retrieved=["2601.00001", "2601.00002", "2601.00003"])
    assert score(rec, gold=["2601.00001"])["invalid_citation_rate"] == 0.25  # 00004 was not retrieved
    corpus = {"2601.00001", "2601.00002"}  # 00003 retrieved but not in the corpus
    assert score(rec, gold=["2601.00001"], corpus=corpus)["invalid_citation_rate"] == 0.5


# -- ok ids (borderline papers) ---------------------------------------------------------------------
GOLD = ["2601.00001", "2601.00002"]
OK = ["2601.00005"]


def test_cited_ok_id_is_correct_for_precision_and_neutral_for_recall():
    rec = record(cited=["2601.00001", "2601.00005v2"], retrieved=["2601.00001", "2601.00005"])
    with_ok, without = score(rec, gold=GOLD, ok=OK), score(rec, gold=GOLD)
    assert with_ok["citation_precision"] == 1.0 and without["citation_precision"] == 0.5
    assert with_ok["citation_recall"] == without["citation_recall"] == 0.5
    # A wrong citation still costs precision; only ok ids are forgiven.
    rec = record(cited=["2601.00001", "2601.00005", "2601.00009"], retrieved=["2601.00001", "2601.00005", "2601.00009"])
    assert score(rec, gold=GOLD, ok=OK)["citation_precision"] == pytest.approx(2 / 3)


def test_citing_only_ok_ids_has_full_precision_and_no_recall():
    s = score(record(cited=["2601.00005"], retrieved=["2601.00005"]), gold=GOLD, ok=OK)
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 0.0 and s["uncited_answer"] == 0.0


def test_retrieved_ok_ids_are_taken_out_of_the_ranking():
    # ok paper first, gold second and third: without ok ids the gold papers rank 1 and 2.
    rec = record(retrieved=["2601.00005", "2601.00001", "2601.00009", "2601.00002"])
    with_ok, without = score(rec, gold=GOLD, ok=OK, k=2), score(rec, gold=GOLD, k=2)
    assert with_ok["reciprocal_rank"] == 1.0 and with_ok["recall_at_k"] == 0.5 and with_ok["hit_at_k"] == 1.0
    assert without["reciprocal_rank"] == 0.5 and without["recall_at_k"] == 0.5
    # An ok paper alone is not a hit.
    only_ok = score(record(retrieved=["2601.00005"]), gold=GOLD, ok=OK)
    assert only_ok["hit_at_k"] == 0.0 and only_ok["recall_at_k"] == 0.0 and only_ok["reciprocal_rank"] == 0.0


def test_ok_ids_must_still_be_retrieved_and_in_the_corpus():
    rec = record(cited=["2601.00001", "2601.00005"], retrieved=["2601.00001"])
    s = score(rec, gold=GOLD, ok=OK, corpus={"2601.00001", "2601.00005"})
    assert s["invalid_citation_rate"] == 0.5 and s["citation_precision"] == 1.0


# -- must-mention ----------------------------------------------------------------------------------
def test_must_mention_is_case_insensitive_and_reads_escaped_percent():
    assert mention_coverage("Recall rose to 73\\% with the KV Cache", ["73%", "kv cache", "LSM"]) == pytest.approx(2 / 3)
    assert mention_coverage("a   multi\nline answer", ["multi line"]) == 1.0
    assert mention_coverage("anything", []) is None
    s = score(record(answer="It uses BM25."), gold=["2601.00001"], mentions=["bm25", "jieba"])
    assert s["must_mention_coverage"] == 0.5 and s["missing_mentions"] == ["jieba"]


# -- refusals --------------------------------------------------------------------------------------
def test_refusal_on_unanswerable_is_correct_and_answering_it_is_not():
    refused = score(record(answer="The digests do not cover this", refused=True), answerable=False)
    assert refused["refusal_correct"] == 1.0 and refused["false_refusal"] is None
    assert refused["must_mention_coverage"] is None and refused["hit_at_k"] is None
    answered = score(record(answer="x [2601.00001]", cited=["2601.00001"], retrieved=["2601.00001"]), answerable=False)
    assert answered["refusal_correct"] == 0.0 and answered["invalid_citation_rate"] == 0.0


def test_false_refusal_on_answerable():
    s = score(record(refused=True, retrieved=["2601.00001"]), gold=["2601.00001"], mentions=["x"])
    assert s["false_refusal"] == 1.0 and s["refusal_correct"] is None
    assert s["uncited_answer"] is None and s["citation_recall"] == 0.0 and s["hit_at_k"] == 1.0


# -- aggregation -----------------------------------------------------------------------------------
def test_aggregate_means_over_applicable_questions_per_kind():
    records = [
        {"kind": "fact", "latency_s": 1.0, **score(record(retrieved=["2601.00001"]), gold=["2601.00001"])},
        {"kind": "fact", "latency_s": 3.0, **score(record(retrieved=["2601.00009"]), gold=["2601.00001"])},
        {"kind": "none", "latency_s": 2.0, **score(record(refused=True), answerable=False)},
    ]
    agg = aggregate(records)
    overall = agg["overall"]
    assert overall["questions"] == 3 and overall["hit_at_k"] == 0.5 and overall["n"]["hit_at_k"] == 2
    assert overall["refusal_accuracy"] == 1.0 and overall["n"]["refusal_accuracy"] == 1
    assert overall["false_refusal_rate"] == 0.0 and overall["latency_p50_s"] == 2.0
    assert set(agg["by_kind"]) == {"fact", "none"}
    assert agg["by_kind"]["none"]["hit_at_k"] is None and agg["by_kind"]["fact"]["refusal_accuracy"] is None


def test_percentiles():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert summarize([])["hit_at_k"] is None


# -- dataset ---------------------------------------------------------------------------------------
def write(tmp_path, lines):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"qid": "q1", "question": "What is KVSqueeze?", "kind": "fact", "gold_ids": ["2601.90001v2"],
                   "must_mention": ["4.2x"], "answerable": True})


def test_dataset_reads_ok_ids_normalised_and_defaults_to_none(tmp_path):
    line = json.dumps({"qid": "t1", "question": "KV cache papers?", "kind": "topic", "gold_ids": ["2601.90001"],
                       "ok_ids": ["2601.90002v3", "2601.90002", "2601.90003"]})
    questions = load_dataset(write(tmp_path, [GOOD, line]))
    assert questions[0].ok_ids == [] and questions[1].ok_ids == ["2601.90002", "2601.90003"]
    assert questions[1].extra == {}  # a known field, not an unknown one


def test_dataset_keeps_unknown_fields_and_normalises_gold(tmp_path):
    extra = json.dumps({"qid": "q2", "question": "Anything on sourdough?", "kind": "none", "gold_ids": [],
                        "must_mention": [], "answerable": False, "notes": "made up", "difficulty": 3})
    questions = load_dataset(write(tmp_path, [GOOD, "", extra]))
    assert [q.qid for q in questions] == ["q1", "q2"]
    assert questions[0].gold_ids == ["2601.90001"] and questions[0].extra == {}
    assert questions[1].extra == {"notes": "made up", "difficulty": 3} and questions[1].answerable is False
    assert questions[1].line == 3


@pytest.mark.parametrize("bad, reason", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"question": "no qid"}', "missing required field 'qid'"),
    ('{"qid": "q9", "question": ""}', "'question' must be a non-empty string"),
    ('{"qid": "q9", "question": "x", "gold_ids": ["not-an-id"]}', "not an arXiv id"),
    ('{"qid": "q9", "question": "x", "answerable": "yes"}', "'answerable' must be true or false"),
    ('{"qid": "q9", "question": "x", "must_mention": [1, 2]}', "'must_mention' must be a list of strings"),
    ('{"qid": "q1", "question": "a duplicate"}', "duplicate qid 'q1'"),
    ('{"qid": "q9", "question": "x", "gold_ids": ["2601.00001"], "ok_ids": ["junk"]}', "ok id 'junk' is not an arXiv id"),
    ('{"qid": "q9", "question": "x", "ok_ids": "2601.1 2601.2"}', "ok id '2601.1 2601.2' is not an arXiv id"),
    ('{"qid": "q9", "question": "x", "ok_ids": [7]}', "'ok_ids' must be a list of strings"),
    ('{"qid": "q9", "question": "x", "gold_ids": ["2601.00001"], "ok_ids": ["2601.00001v2"]}',
     "2601.00001 listed in both gold_ids and ok_ids"),
])
def test_malformed_line_is_reported_with_its_line_number(tmp_path, bad, reason):
    path = write(tmp_path, [GOOD, "", bad])
    with pytest.raises(InputError) as err:
        load_dataset(path)
    assert f"{path}:3:" in str(err.value) and reason in str(err.value)


def test_missing_and_empty_datasets_are_user_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="no questions"):
        load_dataset(write(tmp_path, ["", "  "]))


# -- compare ---------------------------------------------------------------------------------------
def fake_run(folder, records):
    folder.mkdir()
    with open(folder / "results.jsonl", "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return folder


def test_compare_reports_deltas_and_flipped_questions(tmp_path):
    def rec(qid, hit, refused_ok=None):
        base = {"qid": qid, "kind": "fact", "latency_s": 0.1, "hit_at_k": hit, "refusal_correct": refused_ok}
        return base

    old = fake_run(tmp_path / "old", [rec("a", 1.0), rec("b", 0.0), rec("c", None, 0.0), rec("gone", 1.0)])
    new = fake_run(tmp_path / "new", [rec("a", 0.0), rec("b", 1.0), rec("c", None, 1.0), rec("added", 1.0)])
    cmp = compare_runs(new, old)
    assert cmp["flips"]["hit_at_k"] == {"better": ["b"], "worse": ["a"]}
    assert cmp["flips"]["refusal_correct"] == {"better": ["c"], "worse": []}
    assert cmp["overall"]["refusal_accuracy"]["delta"] == 1.0
    assert cmp["only_in_current"] == ["added"] and cmp["only_in_earlier"] == ["gone"]
    with pytest.raises(InputError, match="not an eval run folder"):
        compare_runs(new, tmp_path)
