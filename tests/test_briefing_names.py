"""Theme names from the phrases a group shares and the rest lacks, and prose shortened only by
whole sentences or clauses (no model: the namer runs without store-wide IDF weights)."""
from assistant.briefing.build import name_or_fallback
from assistant.briefing.content import paper_line
from assistant.briefing.themes import ThemeNamer
from assistant.text import shorten
from assistant.types import Paper


def db_paper(pid: str, title: str, abstract: str) -> Paper:
    return Paper(id=pid, title=title, authors=["A"], category="cs.DB", abstract=abstract)


PAPERS = {p.id: p for p in [
    db_paper("1", "Vector Search with Predicate Filters in a Database", "We build a database index for vector search."),
    db_paper("2", "GPU Vector Search for Database Systems", "Vector search on GPUs inside a database engine."),
    db_paper("3", "Cardinality Estimation in a Database", "Learned cardinality estimation for database joins."),
    db_paper("4", "Learned Cardinality Estimation for Joins", "Cardinality estimation with sum-product networks in a database."),
    db_paper("5", "An Educational Database Prototype", "A database prototype for teaching."),
    db_paper("6", "Benchmarks for Data Lakes", "A benchmark generator for data lakes stored in a database."),
]}


def test_themes_are_named_by_what_they_share_not_by_their_category():
    namer = ThemeNamer(PAPERS, None)
    assert namer.name(["1", "2"]) == "Vector Search"
    assert namer.name(["3", "4"]).endswith("Cardinality Estimation")
    # 'Database' is in every cs.DB paper (and is the category's own name): never a theme's name.
    assert "database" not in namer.name(["5", "6"]).lower()


def test_a_group_without_a_shared_phrase_lists_its_papers_phrases():
    namer = ThemeNamer(PAPERS, None)
    assert namer.name(["5", "6"]) == ""
    assorted = namer.assorted(["6", "5"])
    assert assorted.startswith("Assorted: ") and "Data Lakes" in assorted and "…" not in assorted


def test_a_title_as_a_theme_name_is_cut_at_its_colon_not_in_a_word():
    paper = db_paper("7", "KVzap: Fast, Adaptive, and Faithful KV Cache Pruning for Long Contexts", "")
    assert name_or_fallback("", paper) == "KVzap"
    short = db_paper("8", "A Short Title", "")
    assert name_or_fallback("", short) == "A Short Title"


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
