"""Themes gathered under a phrase their papers state, and prose shortened only by whole sentences
or clauses (no model: stand-in embeddings, no store-wide rarity)."""
from functools import partial

import numpy as np

from assistant.briefing.content import paper_line
from assistant.briefing.themes import find_themes, phrase_key, phrase_table
from assistant.text import shorten
from tests.factories import paper

db_paper = partial(paper, authors=["A"], category="cs.DB")


PAPERS = {p.id: p for p in [
    db_paper("1", "Vector Search with Predicate Filters in a Database", "We build a database index for vector search."),
    db_paper("2", "GPU Vector Search for Database Systems", "Vector search on GPUs inside a database engine."),
    db_paper("3", "Cardinality Estimation in a Database", "Learned cardinality estimation for database joins."),
    db_paper("4", "Learned Cardinality Estimation for Joins", "Cardinality estimation with sum-product networks in a database."),
    db_paper("5", "An Educational Database Prototype", "A database prototype for teaching."),
    db_paper("6", "Benchmarks for Data Lakes", "A benchmark generator for data lakes stored in a database."),
]}


def vectors_by_topic(topics: dict[str, int]) -> dict:
    """Stand-in embeddings: papers of one subject point one way (no model in this layer)."""
    return {pid: np.eye(8)[axis] + 0.05 * np.eye(8)[7] for pid, axis in topics.items()}


def test_themes_are_named_by_what_they_share_not_by_their_category():
    found = find_themes(PAPERS, vectors_by_topic({"1": 0, "2": 0, "3": 1, "4": 1, "5": 2, "6": 3}))
    named = {topic.name: rows for topic, rows in found.groups}
    assert named["Vector Search"] == ["1", "2"] or sorted(named["Vector Search"]) == ["1", "2"]
    assert sorted(named["Cardinality Estimation"]) == ["3", "4"]
    # 'Database' is in every cs.DB paper (and is the category's own name): never a theme's name.
    assert not any("database" in name.lower() for name in named)
    assert sorted(found.leftovers) == ["5", "6"]  # they share nothing: "Other topics", named after neither


def test_every_theme_name_is_stated_by_most_of_its_papers():
    found = find_themes(PAPERS, vectors_by_topic({"1": 0, "2": 0, "3": 1, "4": 1, "5": 0, "6": 1}))
    table = phrase_table(PAPERS)
    for topic, rows in found.groups:
        stating = table[phrase_key(topic.name)].papers
        assert len(set(rows) & stating) > len(rows) / 2, (topic.name, rows)


def test_prose_is_shortened_by_whole_sentences_or_clauses():
    text = ("With a 30% sparsity budget and an outer rank of 512, the method reaches a perplexity of 1.64, "
            "outperforming dense baselines through a recursive decomposition of the residual matrix. It also saves memory.")
    assert shorten(text, 500) == text
    assert shorten(text, 200) == text.split(" It also")[0]  # the first sentence, whole
    clause = shorten(text, 120)
    assert clause.endswith("1.64…") and clause[:-1] in text  # cut after a clause, never inside one
    assert shorten("One long sentence without any clause breaks at all in it", 20) == \
        "One long sentence without any clause breaks at all in it"  # no clause fits: not at all
    assert shorten("数字是1,024。", 5) == "数字是1,024。"  # a thousands separator is not a clause break
    zh = shorten("本文分析了内存行为，提出一种技术来减少缓存缺失，吞吐量提升最高60%。第二句。", 30)
    assert zh == "本文分析了内存行为，提出一种技术来减少缓存缺失…"


def test_briefing_lines_never_end_mid_sentence():
    long_result = ("We evaluate on five datasets, and the proposed index improves throughput by 2.1x over the "
                   "strongest baseline while reducing memory, latency and energy use across every workload we "
                   "tried, including skewed ones, through careful layout of the graph in memory pages.")
    paper = db_paper("9", "Paged Graph Index", "We propose a paged graph index. " + long_result)
    line = paper_line(paper)
    assert "through…" not in line and "2.1x" in line
    for piece in line.split("…")[:-1]:  # every shortened sentence stops right before a clause break
        tail = piece.rsplit(". ", 1)[-1]
        after = paper.abstract[paper.abstract.index(tail) + len(tail):]
        assert after[:1] in (",", ";", ":"), (tail, after[:10])
