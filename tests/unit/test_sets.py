"""The set judge's parts without the embedding model or a store (fast unit layer): the calibrated
model file, key terms, per-question features and the calibration script's fitting."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.search.sets.concepts import topic_concepts
from assistant.search.sets.features import FEATURES, SetQuestion, subject_row
from assistant.search.sets.keyterms import key_terms
from assistant.search.sets.model import DATA_FILE, LanguageModel, Logistic, RelevanceModel, Trees, load_model
from tests.factories import paper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "evals"))
import calibrate

QUANT = [paper("2601.00001", "Ternary quantization for LLMs", "We study quantization of LLM weights to ternary values."),
         paper("2601.00002", "Which quantization should I use?", "A benchmark of quantization formats for llama.cpp."),
         paper("2601.00003", "Microscaling formats", "Low-bit quantization with microscaling formats loses accuracy.")]
OTHER = paper("2601.00004", "Sawtooth wavefront reordering", "We reorder attention tiles to cut L2 cache misses.")


def test_the_shipped_model_reads_and_its_bars_make_sense():
    model = load_model()
    assert set(model.sets) >= {"en", "zh"} and set(model.answerable) >= {"en", "zh"}
    for lm in model.sets.values():
        assert 0 < lm.related <= lm.member < 1
        assert all(set(c.features) <= set(FEATURES) for c in lm.channels)
    again = RelevanceModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.to_json() == model.to_json()
    assert json.loads(DATA_FILE.read_text())["fitted"]["datasets"]  # says what it was fitted on


def test_a_channel_and_the_larger_of_two_channels():
    meaning = Logistic(("dense",), (0.0,), (1.0,), (4.0,), 0.0)
    words = Logistic(("words",), (0.0,), (1.0,), (4.0,), 0.0)
    model = LanguageModel((meaning, words), member=0.8, related=0.5)
    assert model.probability({"dense": 1.0, "words": -1.0}) > 0.95  # close in meaning, words absent
    assert model.probability({"dense": -1.0, "words": 1.0}) > 0.95  # stated in the question's words
    assert model.probability({"dense": -1.0, "words": -1.0}) < 0.05
    gated = LanguageModel((meaning,), 0.8, 0.5, subject=Logistic(("top_dense",), (0.0,), (1.0,), (4.0,), 0.0),
                          subject_bar=0.5)
    assert gated.holds_subject({"top_dense": 1.0}) and not gated.holds_subject({"top_dense": -1.0})


def _embed(texts):
    """A stand-in embedder: one dimension per word family, so closeness is shared words."""
    vocab = ["quantiz", "ternary", "microscal", "attention", "cache", "llm", "low-bit", "format", "precision"]
    out = np.zeros((len(texts), len(vocab)), dtype=np.float32)
    for row, text in enumerate(texts):
        for i, stem in enumerate(vocab):
            out[row, i] = text.lower().count(stem)
    out[:, 0] += 1e-3
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_key_terms_name_the_subject_in_the_seeds_own_words():
    target = _embed(["running LLMs at reduced numeric precision quantized"])[0]
    terms = key_terms(QUANT, target, lambda text: 3.0, _embed)
    assert terms and terms[0].text == "quantization"
    # A term only one seed states is that paper's own name for itself, not the field's.
    assert not any(t.text == "ternary" for t in terms)
    # Overlapping terms name one subject: "quantization" and "low-bit quantization" are not both kept.
    assert sum("quantization" in t.text for t in terms) == 1
    assert key_terms(QUANT[:1], target, lambda text: 3.0, _embed) == []  # one seed: nothing shared


def test_features_place_a_paper_among_the_questions_candidates():
    concepts = topic_concepts("quantization papers?", lambda text: 3.0)
    measured = SetQuestion(False, concepts, [], dense={"2601.00001": 0.6, "2601.00002": 0.55, "2601.00004": 0.2},
                           neighbour={"2601.00001": 0.9, "2601.00002": 0.8, "2601.00004": 0.1},
                           lexical={"2601.00001": 1.0}, fused_rank={"2601.00001": 0, "2601.00004": 1})
    best, other = measured.features(QUANT[0]), measured.features(OTHER)
    assert set(best) == set(FEATURES)
    assert best["dense_gap"] == 0.0 and other["dense_gap"] < 0
    assert best["above_gap"] == 1.0 and other["above_gap"] == 0.0  # the widest gap falls after the two close ones
    assert best["words"] > 0.7 and other["words"] == 0.0 and best["names_all"] == 1.0
    assert other["fused_rank"] > best["fused_rank"]
    row = subject_row([best, other])
    assert row["top_dense"] == 0.6 and row["top_words"] == best["words"]


def test_calibration_fits_a_separable_signal_and_a_bar_between_the_classes():
    rows = [{"x": v} for v in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9)]
    model = calibrate.fit_logistic(rows, [False, False, False, True, True, True], ("x",))
    probs = np.array([model.probability(r) for r in rows])
    assert probs[:3].max() < 0.5 < probs[3:].min()
    bar = calibrate._balanced_bar(probs, np.array([False, False, False, True, True, True]))
    assert probs[:3].max() < bar <= probs[3:].min()


def test_the_answer_bar_reads_how_far_the_top_paper_stands_out_only_over_enough_papers():
    # Without a population (a dozen-paper store), how far the top paper stands out says little: the
    # bar without it decides; from the smallest dense pool the pooled model was fitted on, it reads it.
    plain = Logistic(("coverage",), (0.5,), (0.1,), (4.0,), 0.0)
    pooled = Logistic(("coverage", "standout"), (0.5, 3.0), (0.1, 1.0), (1.0, 4.0), 0.0)
    model = RelevanceModel({}, {"en": (plain, 0.5)}, {}, {"en": (pooled, 0.5, 20)})
    described = {"coverage": 0.45, "standout": 5.0}  # few of the question's words, far above the rest
    assert model.answers("en", described | {"pool": 30.0})[1]
    assert not model.answers("en", described | {"pool": 8.0})[1]
    assert not model.answers("en", {"coverage": 0.45, "standout": 1.0, "pool": 30.0})[1]
    assert not model.answers("zh", described | {"pool": 30.0})[1]  # no pooled model for Chinese: the plain "en" one
    again = RelevanceModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.pooled == model.pooled


def test_calibration_ships_the_pooled_bar_with_the_smallest_pool_it_saw():
    cases = [calibrate.FactCase("s", f"q{i}", "en", label, {"coverage": 0.5, "closest": 0.5, "named": 0.0, "sentence": 0.5,
                                                             "standout": s, "pool": p})
             for i, (label, s, p) in enumerate([(True, 5.0, 31.0), (True, 4.6, 25.0), (True, 4.8, 28.0),
                                                (False, 1.5, 33.0), (False, 2.0, 22.0), (False, 0.9, 35.0)])]
    model, bar, min_pool = calibrate.fit_answerable_pooled(cases, "en")
    assert min_pool == 22
    probs = [model.probability(c.row) for c in cases]
    assert min(probs[:3]) >= bar > max(probs[3:])


def test_a_plain_recalibration_fits_on_the_sets_the_shipped_model_names(tmp_path):
    model = tmp_path / "relevance.json"
    model.write_text(json.dumps({"fitted": {"datasets": {"dev": "x", "holdout": "y", "gone": "z"}}}))
    assert [p.stem for p in calibrate.shipped_datasets(model)] == ["dev", "holdout"]  # a set no longer there is skipped
    # The fact bar names its own sets when they differ; else the same ones.
    assert [p.stem for p in calibrate.shipped_datasets(model, "fact_datasets")] == ["dev", "holdout"]
    model.write_text(json.dumps({"fitted": {"datasets": {"dev": "x", "holdout": "y"}, "fact_datasets": ["holdout"]}}))
    assert [p.stem for p in calibrate.shipped_datasets(model, "fact_datasets")] == ["holdout"]
    model.write_text("not json")
    assert calibrate.shipped_datasets(model) == []  # then every set, as before


def _case(qid, gold, ranked_ids, answerable=True):
    return calibrate.SetCase("s", qid, "en", answerable, set(gold), set(), [(pid, {}) for pid in ranked_ids])


def test_the_bars_take_the_best_recall_that_keeps_precision_at_the_target(monkeypatch):
    # q1: both gold papers above its distractors; q2: a distractor (0.7) between its gold papers. Listing
    # down to 0.7 finds 3 of 4 at precision 0.75 (the best mean F1); stopping above 0.7 finds 2 of 4 at 1.0.
    cases = [_case("q1", ["a", "b"], ["a", "b", "x", "y"]), _case("q2", ["c", "d"], ["c", "x", "d", "y"])]
    scored = [([(0.9, "a"), (0.7, "b"), (0.6, "x"), (0.45, "y")], True),
              ([(0.8, "c"), (0.7, "x"), (0.5, "d"), (0.45, "y")], True)]

    def listed(target):
        monkeypatch.setattr(calibrate, "PRECISION_TARGET", target)
        member, related = calibrate.best_bars(cases, scored)
        return calibrate.set_scores(LanguageModel((), member, related), cases, member, related, scored)

    strict = listed(0.8)
    assert strict["precision"] == 1.0 and strict["recall"] == 0.5
    lenient = listed(0.7)
    assert lenient["precision"] == 0.75 and lenient["recall"] == 0.75
    # No pair reaches the target: the bars fall back to the best mean F1 rather than failing.
    monkeypatch.setattr(calibrate, "PRECISION_TARGET", 0.8)
    noisy = [([(0.9, "x"), (0.8, "y"), (0.7, "a"), (0.6, "b")], True)]
    member, related = calibrate.best_bars(cases[:1], noisy)
    assert calibrate.set_scores(LanguageModel((), member, related), cases[:1], member, related, noisy)["recall"] == 1.0




def test_exported_trees_give_scikit_learns_probabilities_without_it():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    rows = [{"a": float(a), "b": float(b)} for a, b in rng.random((400, 2))]
    labels = [r["a"] > 0.5 and r["b"] > 0.3 for r in rows]  # an interaction no single line draws
    trees = calibrate.fit_trees(rows, labels, ("a", "b"), [1.0] * len(rows))
    reference = HistGradientBoostingClassifier(**calibrate.TREES, random_state=0).fit(
        np.array([[r["a"], r["b"]] for r in rows]), np.array(labels))
    expected = reference.predict_proba(np.array([[r["a"], r["b"]] for r in rows]))[:, 1]
    assert np.allclose(trees.probabilities(rows), expected, atol=1e-9)
    assert trees.probability({"a": 0.9, "b": 0.9}) > 0.5 > trees.probability({"a": 0.9, "b": 0.1})
    again = Trees.from_json(json.loads(json.dumps(trees.to_json())))
    assert again == trees and LanguageModel((again,), 0.5, 0.3).probabilities(rows[:3]) == trees.probabilities(rows[:3])
    assert trees.probabilities([]) == []


def test_where_few_papers_compete_the_logistic_lines_decide_instead_of_the_trees():
    trees = LanguageModel((Trees(("dense",), 0.0, (((0, -1, -1), (0.5, 0.0, 0.0), (1, 0, 0), (2, 0, 0), (0.0, -3.0, 3.0)),)),),
                          0.7, 0.5)
    lines = LanguageModel((Logistic(("dense",), (0.0,), (1.0,), (1.0,), 0.0),), 0.7, 0.5)
    model = RelevanceModel({"en": trees}, {}, {}, small={"en": lines}, trees_min_pool=50)
    assert model.for_language("en", 350) is trees and model.for_language("en") is trees
    assert model.for_language("en", 4) is lines and model.for_language("zh", 4) is lines  # zh falls back to en
    assert RelevanceModel({"en": trees}, {}, {}).for_language("en", 4) is trees  # no lines shipped: the trees
    again = RelevanceModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.small == model.small and again.trees_min_pool == 50
    assert trees.probabilities([{"dense": 0.9}, {"dense": 0.1}]) == [1 / (1 + math.exp(-3.0)), 1 / (1 + math.exp(3.0))]


class _Store:
    """A stand-in retriever for the second reading: each paper one chunk vector (`_embed`), and a
    keyword search scoring each paper by how often it states the query's words."""

    def __init__(self, papers):
        from assistant.search.vectors import PaperVectors

        self.papers = papers
        self._vectors = PaperVectors([p.id for p in papers], np.arange(len(papers)),
                                     _embed([f"{p.title} {p.abstract}" for p in papers]))

    def vectors(self):
        return self._vectors

    def lexical(self):
        return self

    def search(self, query, n, paper_ids=None):
        from types import SimpleNamespace

        hits = []
        for p in self.papers:
            score = sum(f"{p.title} {p.abstract}".lower().count(w) for w in query.lower().split())
            if score and (paper_ids is None or p.id in paper_ids):
                hits.append(SimpleNamespace(chunk=SimpleNamespace(paper_id=p.id), score=float(score)))
        return sorted(hits, key=lambda h: -h.score)[:n]


def test_the_second_reading_measures_each_paper_against_the_first_readings_best():
    from assistant.search.sets.features import FEEDBACK_FEATURES
    from assistant.search.sets.judge import SetJudge

    papers = [*QUANT, OTHER]
    judge = SetJudge(_Store(papers), lambda text: 3.0)
    judge._embed_terms = _embed
    vector = _embed(["LLMs at reduced numeric precision"])[0]
    # The first reading found two quantization papers; the third states the same subject in its own
    # words and comes closer to them than the attention paper does.
    rows = judge.feedback(vector, papers, [0.9, 0.8, 0.2, 0.3])
    assert [set(r) for r in rows] == [set(FEEDBACK_FEATURES)] * 4
    third, other = rows[2], rows[3]
    assert third["feedback_neighbour"] > other["feedback_neighbour"]
    assert third["feedback_key_words"] > 0 == other["feedback_key_words"]
    assert third["feedback_lexical_key"] > 0 == other["feedback_lexical_key"]
    # It follows the first reading, not the question: had that found the attention paper, its
    # neighbourhood is the one measured against.
    swapped = judge.feedback(vector, papers, [0.1, 0.1, 0.1, 0.9])
    assert swapped[3]["feedback_neighbour"] == max(r["feedback_neighbour"] for r in swapped)
    assert judge.feedback(vector, [], []) == []


def _measured_case(dataset, qid, rng):
    ids = [f"{qid}-{i}" for i in range(12)]
    row = {f: float(v) for f, v in zip(FEATURES, rng.random(len(FEATURES)), strict=True)}
    return calibrate.SetCase(dataset, qid, "en", True, {ids[0], ids[1]}, set(),
                             [(pid, row | {"dense": float(rng.random())}) for pid in ids], True, f"question {qid}")


def test_calibration_fits_the_second_reading_on_first_probabilities_it_was_not_fitted_on(monkeypatch):
    # Noise in every first-reading feature; only the second reading's measure tells the gold papers.
    rng = np.random.default_rng(1)
    cases = [_measured_case(f"set{k % 3}", f"q{k}", rng) for k in range(60)]
    seen = []

    def feedback_of(case, first):
        seen.append((case.qid, len(first)))
        assert len(first) == len(case.rows) and all(0.0 <= p <= 1.0 for p in first)
        return [{"feedback_neighbour": float(pid in case.gold), "feedback_key_words": 0.0, "feedback_lexical_key": 0.0}
                for pid, _ in case.rows]

    monkeypatch.setattr(calibrate, "TREES", dict(calibrate.TREES, min_samples_leaf=5))
    model = calibrate.fit_sets(cases, "en", feedback_of=feedback_of)
    assert model.feedback is not None and "feedback_neighbour" in model.feedback.features
    assert {qid for qid, _ in seen} == {c.qid for c in cases}
    listed = calibrate.set_scores(model, cases, model.member, model.related, feedback_of=feedback_of)
    assert listed["recall"] == 1.0 and listed["precision"] == 1.0
    # The data file keeps the second reading.
    again = RelevanceModel.from_json(json.loads(json.dumps(RelevanceModel({"en": model}, {}, {}).to_json()))).sets["en"]
    assert again.feedback == model.feedback
    with pytest.raises(ValueError, match="second reading"):
        calibrate.ranked(model, cases[:1])
    # Without a store to measure with, the trees read once.
    assert calibrate.fit_sets(cases, "en").feedback is None


def test_calibration_without_a_store_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGESTQA_STORE", str(tmp_path / "no-store"))
    dataset = Path(calibrate.ROOT) / "evals" / "datasets" / "dev.jsonl"
    assert calibrate.main([str(dataset), "--dry-run", "--out", str(tmp_path / "relevance.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("calibrate: no store at") and "digestqa ingest" in err and "\n" not in err
