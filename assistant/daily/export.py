"""Papers out of digestqa: BibTeX, RIS, Markdown, an Atom feed, a chat transcript.

Entries are built from digest metadata only (id, title, authors, category); year and month come
from the arXiv id (2601.16032 -> January 2026, hep-th/9901001 -> January 1999), and every arXiv
paper has the DataCite DOI 10.48550/arXiv.<id>. BibTeX is written by bibtexparser 2.x and RIS by
rispy, so both are valid for those libraries' parsers; BibTeX values are escaped by pylatexenc's
encoder (a hostile title such as `\\end{document}`, a final backslash or `}{` stays text), and
tests parse the output back with bibtexparser and pybtex, RIS with rispy and the Atom feed with
an XML parser.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from assistant.arxiv_ids import year_month
from assistant.text import clean_latex, strip_controls
from assistant.types import Answer, Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def cite_key(paper: Paper) -> str:
    return "arXiv:" + re.sub(r"[^A-Za-z0-9.\-]", "_", paper.id)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _latex_encoder():
    """pylatexenc's Unicode -> LaTeX encoder with the three characters that can break a BibTeX
    value written as commands: a backslash (`\\end{document}`, or a final `\\` that escapes the
    closing brace) and braces (`}{` unbalances the value for BibTeX's brace counting, which ignores
    backslashes, so `\\}` would not do)."""
    # Here and below: each writer's library for its own file only (feedgen ~0.2 s, bibtexparser ~50 ms);
    # `ask` and `papers` import this module without writing any of them.
    from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

    specials = {ord("\\"): r"\textbackslash{}", ord("{"): r"\textbraceleft{}", ord("}"): r"\textbraceright{}"}
    return UnicodeToLatexEncoder(conversion_rules=[UnicodeToLatexConversionRule(RULE_DICT, specials), "defaults"],
                                 replacement_latex_protection="braces-after-macro", unknown_char_policy="keep",
                                 unknown_char_warning=False)


def _tex(text: str, encoder) -> str:
    """A field value for BibTeX: the digest's LaTeX rendered to text first (`$\\times$` -> ×), then
    every LaTeX special escaped by pylatexenc, so nothing in a title or a name is read as a command."""
    return encoder.unicode_to_latex(" ".join(clean_latex(text).replace("**", "").split()))


def _name(author: str, encoder) -> str:
    """One author, as written (a name is not LaTeX to render: "Bob }{ Curly" stays that): escaped, and
    braced when it holds the word "and" (else BibTeX splits it)."""
    name = encoder.unicode_to_latex(" ".join(author.split()))
    return "{" + name + "}" if re.search(r"\band\b", name, re.I) else name


def bibtex(papers: list[Paper]) -> str:
    """Written by bibtexparser; titles and names escaped by pylatexenc (see `_latex_encoder`)."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    encoder = _latex_encoder()
    library = bibtexparser.Library()
    for paper in papers:
        fields = [Field("title", "{" + _tex(paper.title, encoder) + "}"),  # braced again: keep its capitals
                  Field("author", " and ".join(_name(a, encoder) for a in paper.authors if a.strip()) or "Unknown")]
        when = year_month(paper.id)
        if when:
            fields += [Field("year", str(when[0])), Field("month", _MONTHS[when[1] - 1])]
        fields += [Field("eprint", paper.id), Field("archivePrefix", "arXiv"),
                   Field("primaryClass", _tex(paper.category, encoder)), Field("url", paper.url),
                   Field("doi", f"10.48550/arXiv.{paper.id}")]
        library.add(Entry("misc", cite_key(paper), fields))
    return bibtexparser.write_string(library)


def _line(text: str) -> str:
    """A RIS value: one line (a line break in a value would start a new tag, e.g. a forged `ER  -`)."""
    return " ".join(text.split())


def _xml_text(text: str) -> str:
    """Text an XML document can hold: characters XML 1.0 forbids (most control characters,
    U+FFFE) removed, as are terminal controls and bidi overrides."""
    return _NOT_XML.sub("", strip_controls(text))


def ris(papers: list[Paper]) -> str:
    import rispy
    from rispy.writer import RisWriter

    class _Writer(RisWriter):
        def set_header(self, count: int) -> str:
            return ""  # rispy numbers entries ("1.") by default, a line no RIS reader needs

    entries = []
    for paper in papers:
        entry = {"type_of_reference": "UNPB", "title": _line(clean_latex(paper.title)),
                 "authors": [_line(a) for a in paper.authors if a.strip()],
                 "urls": [paper.url], "doi": f"10.48550/arXiv.{paper.id}", "keywords": [_line(paper.category)],
                 "id": paper.id, "publisher": "arXiv"}
        when = year_month(paper.id)
        if when:
            entry["year"] = str(when[0])
            entry["date"] = f"{when[0]}/{when[1]:02d}//"
        if paper.abstract:
            entry["abstract"] = _line(clean_latex(paper.abstract))
        entries.append(entry)
    return rispy.dumps(entries, implementation=_Writer)


def write_papers(path: Path, papers: list[Paper], kind: str) -> Path:
    """Write `papers` as 'bib' or 'ris' to `path`."""
    text = bibtex(papers) if kind == "bib" else ris(papers)
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)


def hits_markdown(results) -> str:
    """A watch run's hits (watchlist.WatchResult list) as Markdown."""
    lines = ["# digestqa watchlist", ""]
    for result in results:
        lines.append(f"## {result.watch.label}")
        if not result.hits:
            lines += ["", "Nothing new.", ""]
            continue
        lines.append("")
        for hit in result.hits:
            sentence = f" — {clean_latex(hit.sentence)}" if hit.sentence else ""
            lines.append(f"- [{hit.id}]({hit.url}) **{clean_latex(hit.title)}** ({hit.category}){sentence}")
        lines.append("")
    return "\n".join(lines)


def hits_atom(results, path: Path, title: str = "digestqa watchlist") -> Path:
    """The hits as an Atom feed a feed reader can subscribe to (one entry per paper and watch)."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id("urn:digestqa:watchlist")
    feed.title(_xml_text(title))
    feed.link(href="https://arxiv.org/", rel="alternate")
    feed.updated(datetime.now(timezone.utc))
    for result in results:
        for hit in result.hits:
            entry = feed.add_entry()
            entry.id(f"urn:digestqa:watch:{result.watch.id}:{_xml_text(hit.id)}")
            entry.title(_xml_text(f"{clean_latex(hit.title)} [{hit.id}]"))
            entry.link(href=_xml_text(hit.url))
            entry.category(term=_xml_text(hit.category) or "unknown")
            entry.summary(_xml_text(f"Watch: {result.watch.query}. {clean_latex(hit.sentence)}".strip()))
            entry.updated(datetime.fromisoformat(hit.found_at))
    feed.atom_file(str(path), pretty=True)
    return Path(path)


def transcript_markdown(answers: list[Answer]) -> str:
    """A chat (or a single answer) as Markdown: each question, the checked answer, its citations."""
    lines = ["# digestqa chat", ""]
    for answer in answers:
        lines += [f"## {answer.question}", "", answer.text.strip(), ""]
        cited = [s for s in answer.sources if s.id in answer.cited_ids]
        if cited:
            lines.append("**Cited papers**")
            lines.append("")
            for source in cited:
                where = ", ".join(source.paper.dates or source.paper.digests[:1])
                lines.append(f"- [{source.id}]({source.paper.url}) {clean_latex(source.paper.title)} "
                             f"({source.paper.category}{'; ' + where if where else ''})")
            lines.append("")
        for citation in answer.unsupported:
            lines.append(f"> ⚠ {citation.reason}: {citation.sentence}")
        if answer.unsupported:
            lines.append("")
    return "\n".join(lines)
