"""The daily reader's logic without the embedding model: number normalisation, the summary checker,
the history and watchlist files, and the exports (parsed back by their libraries)."""
import json
import xml.etree.ElementTree as ET

import bibtexparser
import pytest
import rispy
from pylatexenc.latex2text import LatexNodes2Text

from assistant.arxiv_ids import year_month
from assistant.config import load_settings
from assistant.daily.export import bibtex, hits_atom, hits_markdown, ris, transcript_markdown
from assistant.daily.history import History
from assistant.daily.summary_check import check_paper, flagged, summary_numbers
from assistant.daily.watchlist import Hit, Watch, Watchlist, WatchResult
from assistant.errors import InputError, StoreError
from assistant.ingest.pipeline import collect_papers
from assistant.text import numbers_in
from assistant.types import Answer, Citation, Passage, Source
from tests import factories
from tests.factories import FIXTURES, SHARED_DIGESTS, needs_shared


@pytest.mark.parametrize("text, expected", [
    ("包含87,100个电路变体", {"87100"}),            # after a Chinese character (\w to Python)
    ("减少了50%的内存", {"50"}),
    ("1.29$\\times$ faster and 3.4x smaller", {"1.29", "3.4"}),
    ("a $\\sim1.3\\times$ speedup", {"1.3"}),        # a LaTeX command glued to the number
    ("1,024 tokens", {"1024"}),
    ("提速3倍", {"3"}),
    ("6.3x-7.3x less memory", {"6.3", "7.3"}),        # both ends of a range
    ("1.44–1.59x and 1.1--1.3 times", {"1.44", "1.59", "1.1", "1.3"}),
    ("GPT-4 on an H100 with L2 and Qwen2.5-32B", set()),  # digits inside names stay out
    ("0.19MB of weights", set()),                    # not '0'
])
def test_numbers_in(text, expected):
    assert numbers_in(text) == expected


def paper(tldr="", result="", abstract="", title="A Paper", pid="2601.00001"):
    """A paper with a digest summary (its TL;DR and result) beside its abstract."""
    return factories.paper(pid, title, abstract, authors=["Ada Lovelace"], tldr=tldr, result=result)


def test_a_wrong_number_is_flagged_with_both_sentences():
    p = paper(tldr="方法将吞吐提高5.6倍。", abstract="We propose X. X delivers 6.3x higher throughput than Y.")
    [flag] = check_paper(p)
    assert (flag.section, flag.number) == ("tldr", "5.6")
    assert flag.summary_sentence == "方法将吞吐提高5.6倍。"
    assert flag.abstract_sentence == "X delivers 6.3x higher throughput than Y."


@pytest.mark.parametrize("summary, abstract", [
    ("1）速度更快；2）内存更少；3）精度更高。", "It is faster, smaller and more accurate."),  # list markers
    ("模型有40亿参数，训练了44.8万样本。", "A 4B model trained on 448K samples."),             # 亿, 万
    ("使用320亿参数的模型", "a 32 billion parameter model"),
    ("在三个基准上提升3个百分点", "improves by three points on three benchmarks"),             # number words
    ("加速约1.3倍", "a 1.29x speedup"),                                                       # rounding
    ("准确率达到83.5%", "reaching an accuracy of 0.835"),                                     # % vs fraction
    ("同年5月上线，收入提升0.5%", "deployed in May 2025, revenue up 0.5%"),                    # 5月 = May
    ("第99百分位延迟降低58%", "99th-percentile latency falls by 58%"),                         # ordinal
    ("约100×的加速", "a two-order magnitude speedup"),
    ("每次包含100万个样本", "each with one million samples"),
])
def test_fair_translations_are_not_flagged(summary, abstract):
    assert check_paper(paper(result=summary, abstract=abstract)) == []


def test_rounding_goes_one_way_only():
    # The summary may round the abstract's 1.29 to 1.3, but 1.29 is not a rounding of 1.3.
    assert check_paper(paper(result="加速1.29倍", abstract="a 1.3x speedup"))[0].number == "1.29"


def test_summary_numbers_leave_out_years_and_list_markers():
    assert summary_numbers("1. 在AIME 2024上达到90.9%；2. 提升2倍") == {"90.9", "2"}


def test_fixture_digests_are_clean_until_the_edited_abstract_disagrees():
    clean, _, _ = collect_papers([FIXTURES / n for n in ("2026-01-20.md", "2026-01-21.md", "latex_unicode.md",
                                                           "injection.md", "malformed.md", "old_style_id.md")])
    assert [p.id for p in clean if check_paper(p)] == []
    # The edited replacement's abstract says 6.3x; its Chinese TL;DR and Result still say 5.6倍.
    edited, _, _ = collect_papers([FIXTURES / "2026-01-21_edited.md"])
    flagged = {p.id: check_paper(p) for p in edited if check_paper(p)}
    assert list(flagged) == ["2601.90007"]
    [flag] = flagged["2601.90007"]
    assert flag.number == "5.6" and flag.section == "tldr" and "6.3x" in flag.abstract_sentence


def test_history_records_and_selects(tmp_path):
    history = History(load_settings(env={}, store=tmp_path / "store"))
    assert history.select() == [] and history.record([], [], ["d"]) is None  # nothing new: not recorded
    history.record(["2601.00002", "2601.00001"], [], ["a"])
    history.record(["2601.00003"], ["2601.00001"], ["b"])
    assert history.select()[0].added == ["2601.00003"] and history.select()[0].changed == ["2601.00001"]
    assert history.select(previous=1)[0].added == ["2601.00001", "2601.00002"]
    assert len(history.select(since="2000-01-01")) == 2 and history.select(since="2999-01-01") == []


@pytest.mark.parametrize("content", ["{not json", '{"schema": 1, "ingests": [{"at": 3}]}', '{"schema": 99}', "[]"])
def test_a_damaged_history_file_is_a_store_error(tmp_path, content):
    history = History(load_settings(env={}, store=tmp_path / "store"))
    history.path.parent.mkdir(parents=True)
    history.path.write_text(content)
    with pytest.raises(StoreError, match="history.json"):
        history.records()


def test_watchlist_add_list_remove(tmp_path):
    watchlist = Watchlist(load_settings(env={}, store=tmp_path / "store"))
    first = watchlist.add("  KV cache   compression ")
    second = watchlist.add("query optimization", ["cs.DB"], ["Chen Ding"])
    assert [w.id for w in watchlist.watches()] == [1, 2] and first.query == "KV cache compression"
    assert second.label == "query optimization (category cs.DB; author Chen Ding)"
    with pytest.raises(InputError, match="already watching"):
        watchlist.add("kv cache compression")
    with pytest.raises(InputError):
        watchlist.add("   ")
    assert watchlist.remove("KV cache compression").id == 1
    assert watchlist.remove("2").id == 2 and watchlist.watches() == []
    with pytest.raises(InputError, match="no watch"):
        watchlist.remove("7")
    watchlist.path.write_text(json.dumps({"schema": 1, "watches": [{"id": "x"}]}))
    with pytest.raises(StoreError, match="malformed watch"):
        watchlist.watches()


def test_year_month_from_ids():
    assert year_month("2601.16032") == (2026, 1) and year_month("0704.0001") == (2007, 4)
    assert year_month("hep-th/9901001") == (1999, 1) and year_month("math.GT/0309136") == (2003, 9)
    assert year_month("not-an-id") is None


def _fixture_papers():
    papers, _, _ = collect_papers([FIXTURES / "2026-01-20.md", FIXTURES / "latex_unicode.md", FIXTURES / "old_style_id.md"])
    return papers


def test_bibtex_round_trips_through_bibtexparser():
    papers = _fixture_papers()
    library = bibtexparser.parse_string(bibtex(papers))
    assert not library.failed_blocks and len(library.entries) == len(papers)
    by_key = {e.key: e.fields_dict for e in library.entries}
    entry = by_key["arXiv:2601.90001"]
    assert entry["eprint"].value == "2601.90001" and entry["archivePrefix"].value == "arXiv"
    assert entry["year"].value == "2026" and entry["month"].value == "jan" and entry["primaryClass"].value == "cs.LG"
    assert entry["url"].value == "https://arxiv.org/abs/2601.90001"
    assert entry["doi"].value == "10.48550/arXiv.2601.90001"
    old = by_key["arXiv:hep-th_9901001"]
    assert old["year"].value == "1999" and old["eprint"].value == "hep-th/9901001"
    unicode = by_key["arXiv:2601.90081"]
    # Non-ASCII as LaTeX accents (pylatexenc), which any BibTeX reads; read back, the same names.
    assert LatexNodes2Text().latex_to_text(unicode["author"].value) == "Zoë Müller and Jürgen Čapek and 李明"
    assert "p\\_(1|t)" in unicode["title"].value  # the digest's math rendered to text, then escaped: never run as LaTeX


def test_bibtex_escapes_latex_specials():
    text = bibtex([paper(title="R&D at 50% for #1 a_b with $x_1$")])
    assert "R\\&D at 50\\% for \\#1 a\\_b with x\\_1" in text
    assert not bibtexparser.parse_string(text).failed_blocks


def test_ris_round_trips_through_rispy():
    papers = _fixture_papers()
    text = ris(papers)
    assert not text.lstrip().startswith("1.")  # no rispy entry numbers
    entries = rispy.loads(text)
    assert [e["id"] for e in entries] == [p.id for p in papers]
    first = entries[0]
    assert first["type_of_reference"] == "UNPB" and first["year"] == "2026" and first["urls"] == [papers[0].url]
    assert first["authors"] == papers[0].authors


def _results():
    watch = Watch(1, "KV cache compression")
    hit = Hit("2601.90001", "KVSqueeze & co", "cs.LG", "KVSqueeze compresses the KV cache [2601.90001].",
              "https://arxiv.org/abs/2601.90001", "2026-01-21T08:00:00+00:00")
    return [WatchResult(watch, [hit], 3, False), WatchResult(Watch(2, "protein folding"), [], 3, True)]


def test_hits_as_markdown_and_atom(tmp_path):
    text = hits_markdown(_results())
    assert "## KV cache compression" in text and "[2601.90001](https://arxiv.org/abs/2601.90001)" in text
    assert "## protein folding\n\nNothing new." in text
    root = ET.parse(hits_atom(_results(), tmp_path / "hits.xml")).getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1 and entries[0].find("a:link", ns).get("href") == "https://arxiv.org/abs/2601.90001"
    assert entries[0].find("a:title", ns).text == "KVSqueeze & co [2601.90001]"


def test_transcript_markdown_lists_cited_papers_and_flags():
    p = paper(pid="2601.90001", title="KVSqueeze")
    answer = Answer("Which papers compress the KV cache?", "KVSqueeze does [2601.90001].", ["2601.90001"],
                    [Source(p, 1.0, [Passage("c", "abstract", "x", 1.0)])], False, "extractive",
                    citations=[Citation("It is 9x faster [2601.90001].", ["2601.90001"], False, "number 9 not in 2601.90001")])
    text = transcript_markdown([answer])
    assert "## Which papers compress the KV cache?" in text
    assert "- [2601.90001](https://arxiv.org/abs/2601.90001) KVSqueeze (cs.LG)" in text
    assert "> ⚠ number 9 not in 2601.90001" in text


@needs_shared
def test_no_sample_summary_is_flagged():
    """Every number of the 350 sample papers' TL;DR and Result sections is read in the abstract as
    it means it (ranges, LaTeX, formulas): none is flagged (README, "The digest's summaries, checked")."""
    papers, _, _ = collect_papers([SHARED_DIGESTS])
    assert len(papers) == 350
    assert flagged(papers) == {}
