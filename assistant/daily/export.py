"""Papers out of digestqa: BibTeX, RIS, Markdown, an Atom feed, a chat transcript.

Entries are built from digest metadata only (id, title, authors, category); year and month come
from the arXiv id (2601.16032 -> January 2026, hep-th/9901001 -> January 1999), and every arXiv
paper has the DataCite DOI 10.48550/arXiv.<id>. BibTeX is written by bibtexparser 2.x and RIS by
rispy, so both are valid for those libraries' parsers (tests parse the output back).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from assistant.answer.evidence import clean_latex
from assistant.arxiv_ids import year_month
from assistant.types import Answer, Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def cite_key(paper: Paper) -> str:
    return "arXiv:" + re.sub(r"[^A-Za-z0-9.\-]", "_", paper.id)


def _tex(text: str) -> str:
    """A field value for BibTeX: the digest's own LaTeX kept (BibTeX is read by LaTeX), escaped
    specials made plain first so they are escaped exactly once, braces kept only when balanced."""
    text = " ".join(text.replace("\\%", "%").replace("\\&", "&").replace("\\#", "#").replace("\\_", "_")
                    .replace("\\$", "$").split())
    if text.count("{") != text.count("}"):
        text = text.replace("{", "").replace("}", "")
    text = text.replace("**", "")  # Markdown bold some digests put in titles
    # Escape outside math only: `$p_{1|t}$` stays math, "R&D" becomes "R\&D".
    parts = text.split("$")
    if len(parts) % 2 == 0:  # an unpaired $: treat it all as text
        parts = [text.replace("$", "\\$")]
    return "$".join(part if i % 2 else re.sub(r"(?<!\\)([&%#_])", r"\\\1", part) for i, part in enumerate(parts))


def bibtex(papers: list[Paper]) -> str:
    import bibtexparser
    from bibtexparser.model import Entry, Field

    library = bibtexparser.Library()
    for paper in papers:
        fields = [Field("title", "{" + _tex(paper.title) + "}"),
                  Field("author", " and ".join(_tex(a) for a in paper.authors) or "Unknown")]
        when = year_month(paper.id)
        if when:
            fields += [Field("year", str(when[0])), Field("month", _MONTHS[when[1] - 1])]
        fields += [Field("eprint", paper.id), Field("archivePrefix", "arXiv"),
                   Field("primaryClass", paper.category), Field("url", paper.url),
                   Field("doi", f"10.48550/arXiv.{paper.id}")]
        library.add(Entry("misc", cite_key(paper), fields))
    return bibtexparser.write_string(library)


def ris(papers: list[Paper]) -> str:
    import rispy
    from rispy.writer import RisWriter

    class _Writer(RisWriter):
        def set_header(self, count: int) -> str:
            return ""  # rispy numbers entries ("1.") by default, a line no RIS reader needs

    entries = []
    for paper in papers:
        entry = {"type_of_reference": "UNPB", "title": clean_latex(paper.title), "authors": list(paper.authors),
                 "urls": [paper.url], "doi": f"10.48550/arXiv.{paper.id}", "keywords": [paper.category],
                 "id": paper.id, "publisher": "arXiv"}
        when = year_month(paper.id)
        if when:
            entry["year"] = str(when[0])
            entry["date"] = f"{when[0]}/{when[1]:02d}//"
        if paper.abstract:
            entry["abstract"] = clean_latex(paper.abstract)
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
    feed.title(title)
    feed.link(href="https://arxiv.org/", rel="alternate")
    feed.updated(datetime.now(timezone.utc))
    for result in results:
        for hit in result.hits:
            entry = feed.add_entry()
            entry.id(f"urn:digestqa:watch:{result.watch.id}:{hit.id}")
            entry.title(f"{clean_latex(hit.title)} [{hit.id}]")
            entry.link(href=hit.url)
            entry.category(term=hit.category)
            entry.summary(f"Watch: {result.watch.query}. {clean_latex(hit.sentence)}".strip())
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
