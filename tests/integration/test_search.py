import pytest

from assistant.arxiv_ids import find_arxiv_ids
from assistant.search.retrieval import Filters
from tests.factories import needs_shared


def ids(result):
    return [s.id for s in result.sources]


def test_distinctive_queries_find_their_fixture_paper_first(fixture_app):
    assert ids(fixture_app.search("equivariant graph attention for molecular property prediction", 3))[0] == "2601.90003"
    assert ids(fixture_app.search("cardinality estimation for multi-way joins", 3))[0] == "2601.90004"
    assert ids(fixture_app.search("one-bit sampled arrays direction of arrival", 3))[0] == "2601.90009"


def test_related_papers_rank_together(fixture_app):
    top3 = set(ids(fixture_app.search("compressing the KV cache of LLMs", 3)))
    assert top3 == {"2601.90001", "2601.90002", "2601.90008"}


def test_chinese_query_finds_the_paper_through_its_chinese_summary(fixture_app):
    assert ids(fixture_app.search("分子性质预测的图注意力网络", 3))[0] == "2601.90003"


def test_filters_restrict_both_retrievers(fixture_app):
    result = fixture_app.search("KV cache compression", 5, Filters(categories=("cs.DB",)))
    assert result.sources and all(s.paper.category == "cs.DB" for s in result.sources)
    by_author = fixture_app.search("inference", 5, Filters(authors=("Chen Ding",)))
    assert set(ids(by_author)) == {"2601.90001", "2601.90003"}
    by_date = fixture_app.search("KV cache", 10, Filters(dates=("2026-01-21",)))
    assert set(ids(by_date)) <= {"2601.90001", "2601.90007", "2601.90008", "2601.90009"}
    assert "2601.90002" not in ids(fixture_app.search("KV cache", 10, Filters(since="2026-01-21")))


def test_an_arxiv_id_query_looks_the_paper_up(fixture_app):
    assert ids(fixture_app.search("2601.90005", 3))[0] == "2601.90005"
    assert ids(fixture_app.search("what does 2601.90007v2 report?", 3))[0] == "2601.90007"
    assert find_arxiv_ids("see hep-th/9901001v2 and 2601.16032.") == ["hep-th/9901001", "2601.16032"]


@needs_shared
@pytest.mark.parametrize("query,expected", [
    ("Sawtooth wavefront reordering to cut L2 cache misses in FlashAttention", "2601.16032"),
    ("p-bit simulated annealing with partial deactivation for max-cut", "2601.15561"),
    ("subset repair of dirty data using entropy-guided density", "2601.19671"),
    ("数据清洗中的子集修复", "2601.19671"),
    ("2601.15561", "2601.15561"),
])
def test_distinctive_queries_on_the_real_samples_rank_first(sample_app, query, expected):
    assert ids(sample_app.search(query, 5))[0] == expected
