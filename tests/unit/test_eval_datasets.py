"""The committed question sets are checked against the corpus they were written from: every gold id
and every ok (borderline) id exists, every must-mention string is in a gold paper, unanswerable
questions name no gold paper, and the dev set covers every kind with enough Chinese, unanswerable
and topic (list) questions. Parsed digests only: no store, no embedding model."""
from collections import Counter
from pathlib import Path

import pytest

from assistant.evaluation.dataset import load_dataset
from assistant.evaluation.metrics import normalize_text
from assistant.ingest.parser import parse_digest_file
from assistant.text import paper_text
from tests.factories import SHARED_DIGESTS, needs_shared

DATASETS = sorted((Path(__file__).resolve().parents[2] / "evals" / "datasets").glob("*.jsonl"))
KINDS = {"fact", "fact2", "find", "multi", "topic", "zh-topic", "author", "category", "zh", "none", "id"}


@pytest.fixture(scope="module")
def corpus():
    papers = {}
    for path in sorted(SHARED_DIGESTS.glob("*")):
        papers.update({p.id: p for p in parse_digest_file(path).papers})
    return papers


@needs_shared
@pytest.mark.parametrize("path", DATASETS, ids=[p.name for p in DATASETS])
def test_gold_ids_and_must_mentions_are_in_the_corpus(path, corpus):
    questions = load_dataset(path)
    assert questions
    for q in questions:
        assert q.answerable == bool(q.gold_ids), q.qid
        missing = [pid for pid in q.gold_ids if pid not in corpus]
        assert not missing, f"{q.qid}: gold ids not in the corpus: {missing}"
        missing_ok = [pid for pid in q.ok_ids if pid not in corpus]
        assert not missing_ok, f"{q.qid}: ok ids not in the corpus: {missing_ok}"
        texts = [normalize_text(paper_text(corpus[pid]) + "\n" + pid) for pid in q.gold_ids]
        for needle in q.must_mention:
            assert any(normalize_text(needle) in t for t in texts), f"{q.qid}: {needle!r} is in no gold paper"


def test_dev_set_covers_every_kind():
    questions = load_dataset(Path(__file__).resolve().parents[2] / "evals" / "datasets" / "dev.jsonl")
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 60 and set(kinds) >= KINDS
    assert kinds["zh"] >= 8 and sum(not q.answerable for q in questions) >= 6
    assert kinds["topic"] + kinds["zh-topic"] >= 20 and kinds["zh-topic"] >= 5
    assert len({q.qid for q in questions}) == len(questions)
