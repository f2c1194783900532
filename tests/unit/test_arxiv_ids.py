"""The one grammar of arXiv ids and citation groups (fast: no model, no store)."""
from assistant.arxiv_ids import abs_url, arxiv_version, cited_ids_in, find_arxiv_ids, group_ids, normalize_arxiv_id, strip_prefix


def test_ids_normalise_with_or_without_version_and_prefix():
    assert normalize_arxiv_id("2601.15561v2") == normalize_arxiv_id("arXiv:2601.15561") == "2601.15561"
    assert normalize_arxiv_id("hep-th/9901001v3") == "hep-th/9901001"
    assert normalize_arxiv_id("not-an-id") is None and normalize_arxiv_id("2601.1") is None
    assert arxiv_version("2601.15561v2") == 2 and arxiv_version("2601.15561") is None
    assert strip_prefix("ARXIV: 2601.15561") == "2601.15561"


def test_ids_are_found_in_text_and_in_citation_groups():
    assert find_arxiv_ids("see hep-th/9901001v2 and 2601.16032, again 2601.16032.") == ["hep-th/9901001", "2601.16032"]
    assert find_arxiv_ids("version 12601.16032 or 2601.160321") == []  # not inside longer numbers
    text = "KV eviction [2601.16032; arXiv:2601.09527v2] and more [2601.16032]. Not a citation: (2601.11111)."
    assert cited_ids_in(text) == ["2601.16032", "2601.09527"]
    assert group_ids("2601.16032, x") == ["2601.16032", None]
    assert abs_url("2601.16032") == "https://arxiv.org/abs/2601.16032"
