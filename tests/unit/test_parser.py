from pathlib import Path

from assistant.arxiv_ids import normalize_arxiv_id
from assistant.digests import digest_date_from_name
from assistant.ingest.parser import parse_digest_file, parse_digest_text
from assistant.types import SUMMARY_SECTIONS, Digest
from tests.factories import FIXTURES, SHARED_DIGESTS, needs_shared


def test_well_formed_digest_gives_every_field():
    parsed = parse_digest_file(FIXTURES / "2026-01-20.md")
    assert [p.id for p in parsed.papers] == [f"2601.9000{i}" for i in range(1, 7)]
    assert parsed.problems == []
    first = parsed.papers[0]
    assert first.title.startswith("KVSqueeze")
    assert first.authors == ["Chen Ding", "Priya Raman", "Tomasz Wolski"]
    assert first.category == "cs.LG"
    assert "4.2x" in first.abstract
    assert all(getattr(first, s) for s in SUMMARY_SECTIONS)
    assert parsed.digest == Digest("2026-01-20", "2026-01-20")
    assert first.digests == ["2026-01-20"] and first.dates == ["2026-01-20"]


def test_multi_paragraph_abstract_is_kept_whole():
    zonelog = next(p for p in parse_digest_file(FIXTURES / "2026-01-20.md").papers if p.id == "2601.90005")
    assert "\n\n" in zonelog.abstract
    assert "</details>" not in zonelog.abstract


def test_malformed_entries_are_reported_with_line_and_the_rest_ingests():
    parsed = parse_digest_file(FIXTURES / "malformed.md")
    ids = [p.id for p in parsed.papers]
    assert ids == ["2601.90071", "2601.90072", "2601.90073", "2601.90074", "2601.90077", "2601.90078"]
    by_reason = {(p.paper_id, p.skipped): p for p in parsed.problems}
    assert "no TL;DR" in by_reason[("2601.90072", False)].reason
    assert "no abstract" in by_reason[("2601.90073", False)].reason
    assert "no abstract" in by_reason[("2601.90074", False)].reason
    no_link = [p for p in parsed.problems if p.skipped]
    assert len(no_link) == 1 and "arXiv link" in no_link[0].reason and no_link[0].line > 1
    truncated = [p for p in parsed.problems if p.paper_id == "2601.90078" and "cut off" in p.reason]
    assert truncated and truncated[0].line > no_link[0].line
    assert all(p.file.endswith("malformed.md") for p in parsed.problems)


def test_versioned_link_is_cited_without_version():
    assert normalize_arxiv_id("2601.15561v2") == "2601.15561"
    assert normalize_arxiv_id("hep-th/9901001v3") == "hep-th/9901001"
    assert normalize_arxiv_id("not-an-id") is None
    ids = [p.id for p in parse_digest_file(FIXTURES / "malformed.md").papers]
    assert "2601.90077" in ids


def test_old_style_ids_parse():
    parsed = parse_digest_file(FIXTURES / "old_style_id.md")
    assert [p.id for p in parsed.papers] == ["hep-th/9901001"]


def test_latex_emoji_and_non_ascii_names_survive():
    papers = parse_digest_file(FIXTURES / "latex_unicode.md").papers
    assert "$p_{1|t}$" in papers[0].title and "🧬" in papers[0].title
    assert "Zoë Müller" in papers[0].authors and "李明" in papers[0].authors
    assert r"\mathcal{O}(n \log n)" in papers[1].abstract


def test_empty_and_html_files_yield_no_papers_and_a_reason():
    empty = parse_digest_file(FIXTURES / "empty.md")
    html = parse_digest_file(FIXTURES / "not_a_digest.md")
    assert empty.papers == [] and "empty" in empty.problems[0].reason
    assert html.papers == [] and "no digest entries" in html.problems[0].reason


def test_same_id_twice_with_different_content_keeps_first_and_says_so():
    text = (FIXTURES / "2026-01-20.md").read_text()
    entry = text[text.index("### [1]"):text.index("### [2]")]
    changed = entry.replace("4.2x", "9.9x").replace("### [1]", "### [99]")
    parsed = parse_digest_text(text + "\n" + changed, "dup.md", Digest("dup"))
    assert [p.id for p in parsed.papers].count("2601.90001") == 1
    assert "4.2x" in parsed.papers[0].abstract
    assert any("different content" in p.reason and p.paper_id == "2601.90001" for p in parsed.problems)


def test_blank_main_category_line_falls_back_to_the_section_heading():
    # Found by the hypothesis fuzz test: an empty "Main category:" used to raise a TypeError.
    text = "# cs.DB [[Back]](#toc)\n### [3] [A title](https://arxiv.org/abs/2601.90042v2)\nMain category:\n"
    parsed = parse_digest_text(text, "blank.md", Digest("blank"))
    assert [(p.id, p.category) for p in parsed.papers] == [("2601.90042", "cs.DB")]
    assert any("no 'Main category' line" in p.reason and p.line == 2 for p in parsed.problems)


def test_non_utf8_bytes_are_replaced_and_reported(tmp_path):
    data = (FIXTURES / "2026-01-20.md").read_bytes().replace(b"KVSqueeze", b"KVSq\xff\xfeueeze", 1)
    path = tmp_path / "latin.md"
    path.write_bytes(data)
    parsed = parse_digest_file(path)
    assert len(parsed.papers) == 6
    assert any("UTF-8" in p.reason for p in parsed.problems)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "blob.md"
    path.write_bytes(b"\x00\x01\x02binary" * 100)
    parsed = parse_digest_file(path)
    assert parsed.papers == [] and "binary" in parsed.problems[0].reason


def test_digest_date_comes_from_the_file_name():
    assert digest_date_from_name(Path("digests/2026-01-22.md")) == "2026-01-22"
    assert digest_date_from_name(Path("arxiv_2026-13-40.md")) is None
    assert digest_date_from_name(Path("000_707df543bca25bb0.txt")) is None


@needs_shared
def test_all_real_sample_papers_parse_with_their_fields():
    papers, placeholders = [], 0
    for path in sorted(SHARED_DIGESTS.glob("*")):
        parsed = parse_digest_file(path)
        assert not [p for p in parsed.problems if p.skipped], parsed.problems
        placeholders += sum("AI summary failed" in p.reason for p in parsed.problems)
        papers.extend(parsed.papers)
    assert len(papers) == 350 and len({p.id for p in papers}) == 350
    for paper in papers:
        assert paper.id and paper.title and paper.authors and paper.category and paper.abstract, paper.id
    # Every Chinese section is filled, except where the generator wrote its failure placeholder.
    with_summary = [p for p in papers if p.tldr]
    assert len(with_summary) == 350 - placeholders
    assert all(getattr(p, s) for p in with_summary for s in SUMMARY_SECTIONS)
    assert all("failed" not in p.method.lower() for p in papers)
