"""What a person reads about the 350 sample papers has no LaTeX left in it: briefings, `show`, What's
new, RIS abstracts, MCP's paper text and answers (assistant/markup.py renders it everywhere)."""
import re

from assistant.briefing import build_briefing
from assistant.cli import commands as cli
from assistant.daily.export import ris
from assistant.daily.whatsnew import new_papers
from assistant.markup import LEFTOVER_MARKUP
from assistant.mcp.tools import paper_markdown
from tests.factories import needs_shared

RAW_MARKUP = re.compile(r"\$|\\[A-Za-z]|--|``|''")  # papers whose digest text needs rendering


def left_over(text: str) -> list[str]:
    # A Markdown table's rule ("|---|") is the page's own markup, not the paper's.
    lines = [line for line in text.splitlines() if not re.fullmatch(r"[|\-\s:]+", line)]
    return [m.group(0) for line in lines for m in LEFTOVER_MARKUP.finditer(line)]


@needs_shared
def test_no_markup_in_briefings_show_whats_new_ris_mcp_or_answers(sample_app, capsys):
    catalog = sample_app.store.papers()
    assert len(catalog) == 350
    for category in sorted({p.category for p in catalog.values()}):
        for lang in ("en", "zh"):
            briefing = build_briefing(sample_app, category, all_dates=True, lang=lang, use_llm=False)
            assert left_over(briefing.markdown) == [], (category, lang)
    view = new_papers(sample_app)
    assert view["count"] == 350
    assert left_over("\n".join(f"{p['title']} {p['contribution']}" for p in view["papers"])) == []
    assert left_over(ris(list(catalog.values()))) == []
    with_markup = [p for p in catalog.values() if RAW_MARKUP.search(p.title + p.abstract)]
    assert len(with_markup) > 50
    parser = cli.build_parser()
    for paper in with_markup:
        assert left_over(paper_markdown(paper)) == [], paper.id
        assert cli.COMMANDS["show"](parser.parse_args(["show", paper.id]), sample_app) == 0
        assert left_over(capsys.readouterr().out) == [], paper.id
    for pid in ("2601.16139", "2601.07891", "2601.16072", "2601.15540"):
        answer = sample_app.ask(f"What does {pid} report?")
        assert pid in answer.cited_ids and left_over(answer.text) == [], answer.text
