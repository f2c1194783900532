"""What the MCP server's tools do, as plain functions over one `App` (no protocol here).

Each method checks its arguments, calls the library API and returns a small JSON-ready dict that
names papers by arXiv id, so a client's model can cite them and look them up again. A bad argument
raises `InputError` with a message written for the model to read and correct; `server.py`
turns it into a tool error. The `App` is shared by every call of one server process and is not
thread-safe (lazy cached properties, one Chroma client), so calls are serialized by a lock.
"""
from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assistant.answer.sentences import contribution_sentence
from assistant.app import App
from assistant.arxiv_ids import normalize_arxiv_id
from assistant.briefing import build_briefing
from assistant.daily.history import History
from assistant.errors import InputError, StoreError
from assistant.ingest.parser import discover_digest_files
from assistant.markup import readable
from assistant.search.retrieval import Filters, author_matches
from assistant.types import SUMMARY_SECTIONS, Paper

MAX_K = 50
PASSAGE_CHARS = 300  # a search hit's best passage: enough to judge relevance, small enough for 50 hits
LINE_CHARS = 220  # list_papers' one line per paper
ECHO_CHARS = 200  # an argument echoed back in a result or an error message, at most


def _trim(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def parse_date(value: str | None, name: str) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return datetime.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InputError(f"{name} must be a date as YYYY-MM-DD, got '{shown_value(value)}'") from None


def parse_paper_id(value: str) -> str:
    raw = (value or "").strip()
    paper_id = normalize_arxiv_id(raw)
    if paper_id is None:
        raise InputError(f"'{shown_value(value)}' is not an arXiv id; expected e.g. 2601.16032, 2601.16032v2 or hep-th/9901001")
    return paper_id


def new_papers_since(catalog: dict[str, Paper], since: str | None) -> tuple[list[Paper], str]:
    """Papers whose digest dates fall on/after `since`, or the latest digest's papers when None.

    Kept apart so that ingest history ("what arrived since my last look") can replace the
    digest-date rule without touching the tool."""
    papers = list(catalog.values())
    if since:
        return [p for p in papers if any(d >= since for d in p.dates)], f"digests dated {since} or later"
    dated = [p for p in papers if p.dates]
    if dated:
        latest = max(d for p in dated for d in p.dates)
        return [p for p in dated if latest in p.dates], f"the latest digest ({latest})"
    latest_name = max((d for p in papers for d in p.digests), default=None)
    return [p for p in papers if latest_name in p.digests], f"the latest digest ({latest_name})"


def last_ingest_papers(app: App) -> tuple[list[Paper], str] | None:
    """The papers the last ingest added or changed (the store's ingest history, as `digestqa new`
    shows them), or None when the store has no history yet."""
    records = History(app.settings).select()
    if not records:
        return None
    record, catalog = records[-1], app.catalog()
    ids = list(dict.fromkeys(record.added + record.changed))
    return [catalog[i] for i in ids if i in catalog], f"the last ingest ({record.at})"


def shown_value(value: object, width: int = ECHO_CHARS) -> str:
    """An argument as echoed back in a result or an error: cut, so a 1 MB argument is not returned whole."""
    text = str(value)
    return text if len(text) <= width else text[:width] + f"… ({len(text):,} characters)"


def files_under_roots(paths: list[Path], roots: tuple[Path, ...]) -> list[Path]:
    """The digest files named by `paths`, each of which must lie under one of `roots` (the folders the
    server's user allowed, `mcp_ingest_roots`) once links are resolved: a client's model names the
    paths, so it must not read anywhere the server's user can."""
    resolved_roots = [Path(r).expanduser().resolve() for r in roots]
    if not resolved_roots:
        raise InputError("the ingest tool has no folders to read: the server's user sets mcp_ingest_roots "
                         "(or digestqa mcp --ingest-root DIR)")
    allowed = ", ".join(map(str, resolved_roots))
    for path in paths:
        if not any(path.resolve().is_relative_to(root) for root in resolved_roots):
            raise InputError(f"{shown_value(path)} is outside the folders this server may read ({allowed})")
        if not path.exists():
            raise InputError(f"no such file or folder: {shown_value(path)}")
    files = discover_digest_files(paths)
    outside = [f for f in files if not any(f.resolve().is_relative_to(root) for root in resolved_roots)]
    if outside:  # a link inside a root that points out of it
        raise InputError(f"{shown_value(outside[0])} leads outside the folders this server may read ({allowed})")
    if not files:
        raise InputError(f"no digest files (.md, .txt) in {', '.join(shown_value(p) for p in paths[:3])}")
    return files


def paper_brief(paper: Paper) -> dict:
    return {"id": paper.id, "title": readable(paper.title), "category": paper.category}


def rendered(paper: Paper) -> dict:
    """The paper's fields with its text as a person reads it (LaTeX rendered: assistant/markup.py)."""
    text = {name: readable(getattr(paper, name)) for name in ("title", "abstract", *SUMMARY_SECTIONS)}
    return asdict(paper) | text


def paper_markdown(paper: Paper) -> str:
    lines = [f"# {readable(paper.title)}", "",
             f"- arXiv: [{paper.id}]({paper.url})", f"- category: {paper.category}",
             f"- authors: {', '.join(paper.authors)}",
             f"- digests: {', '.join(paper.dates or paper.digests)}", ""]
    if paper.abstract:
        lines += ["## Abstract", "", readable(paper.abstract), ""]
    names = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method", "result": "Result",
             "conclusion": "Conclusion"}
    sections = [(names[s], readable(getattr(paper, s))) for s in SUMMARY_SECTIONS if getattr(paper, s)]
    if sections:
        lines += ["## Chinese summary (from the digest)", ""]
        for name, text in sections:
            lines += [f"**{name}**: {text}", ""]
    return "\n".join(lines).rstrip() + "\n"


class PaperTools:
    def __init__(self, make_app: Callable[[], App]):
        self._make_app = make_app
        self._app: App | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[App], dict | str]) -> dict | str:
        """Run one call on the shared App, one call at a time; the App is built on first use."""
        with self._lock:
            if self._app is None:
                self._app = self._make_app()
            return work(self._app)

    # -- argument checks against the store ------------------------------------------------------
    @staticmethod
    def catalog(app: App) -> dict[str, Paper]:
        papers = app.catalog()
        if not papers:
            raise StoreError(f"the store at {app.settings.store_label} holds no papers: "
                             "run `digestqa ingest PATH` first")
        return papers

    def filters(self, app: App, category: str | None = None, since: str | None = None, until: str | None = None,
                author: str | None = None) -> Filters:
        catalog = self.catalog(app)
        since, until = parse_date(since, "since"), parse_date(until, "until")
        if since and until and since > until:
            raise InputError(f"since {since} is after until {until}")
        if (since or until) and not any(p.dates for p in catalog.values()):
            raise InputError("the stored digests carry no dates (their file names have no YYYY-MM-DD), so since/until "
                             "match nothing; leave them out")
        categories: tuple[str, ...] = ()
        if category and category.strip():
            known: dict[str, int] = {}
            for p in catalog.values():
                known[p.category] = known.get(p.category, 0) + 1
            match = [c for c in known if c.lower() == category.strip().lower()]
            if not match:
                listing = ", ".join(f"{c} ({n})" for c, n in sorted(known.items(), key=lambda kv: (-kv[1], kv[0])))
                raise InputError(f"unknown category '{shown_value(category)}'; stored categories (papers): {listing}")
            categories = (match[0],)
        authors: tuple[str, ...] = ()
        if author and author.strip():
            if not any(author_matches(author, a) for p in catalog.values() for a in p.authors):
                raise InputError(f"no stored paper has an author matching '{shown_value(author)}' "
                                 "(give a surname, or 'First Last')")
            authors = (author.strip(),)
        return Filters(categories=categories, since=since, until=until, authors=authors)

    @staticmethod
    def check_k(k: int) -> int:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be a whole number from 1 to {MAX_K}, got {shown_value(repr(k))}")
        return k

    @staticmethod
    def check_text(value: str, name: str, example: str) -> str:
        if not value or not value.strip():
            raise InputError(f"{name} is empty; give one, e.g. {example}")
        return value.strip()

    # -- the tools ------------------------------------------------------------------------------
    def search_papers(self, query: str, k: int = 5, category: str | None = None, since: str | None = None,
                      until: str | None = None, author: str | None = None) -> dict:
        query = self.check_text(query, "query", "'KV cache eviction'")
        k = self.check_k(k)

        def work(app: App) -> dict:
            result = app.search(query, k, self.filters(app, category, since, until, author))
            labels = app.digests()
            papers = [{**paper_brief(s.paper), "dates": s.paper.dates, "digests": labels.paper_labels(s.paper), "score": s.score,
                       "passage": _trim(readable(s.passages[0].text), PASSAGE_CHARS) if s.passages else ""}
                      for s in result.sources]
            notices = [] if papers else ["no paper matches these filters" if result.filtered_to == 0
                                         else "no matching papers"]
            return {"query": shown_value(query), "papers": papers, "notices": notices}
        return self.run(work)

    def get_paper(self, paper_id: str) -> dict:
        pid = parse_paper_id(paper_id)

        def work(app: App) -> dict:
            paper = self.lookup(app, pid)
            return {**rendered(paper), "url": paper.url}
        return self.run(work)

    def lookup(self, app: App, pid: str) -> Paper:
        paper = self.catalog(app).get(pid)
        if paper is None:
            raise InputError(f"no paper {pid} in the store (search_papers finds papers by topic)")
        return paper

    def paper_resource(self, paper_id: str) -> str:
        pid = parse_paper_id(paper_id)
        return self.run(lambda app: paper_markdown(self.lookup(app, pid)))

    def ask(self, question: str, category: str | None = None, since: str | None = None, until: str | None = None,
            author: str | None = None) -> dict:
        question = self.check_text(question, "question", "'Which papers study KV cache compression?'")

        def work(app: App) -> dict:
            answer = app.ask(question, self.filters(app, category, since, until, author))
            full = answer.to_json_dict()
            return {"answer": full["answer"], "cited_ids": full["cited_ids"],
                    "sources": [{"id": s["id"], "title": readable(s["title"])} for s in full["sources"]],
                    "refused": full["refused"], "notices": full["notices"],
                    "unsupported_claims": [{"sentence": c["sentence"], "reason": c["reason"]}
                                           for c in full["unsupported_claims"]]}
        return self.run(work)

    def list_papers(self, topic: str | None = None, category: str | None = None, since: str | None = None,
                    until: str | None = None, author: str | None = None) -> dict:
        topic = topic.strip() if topic and topic.strip() else None
        if not (topic or category or since or until or author):
            raise InputError("give a topic or at least one filter (category, since, until, author); "
                             "search_papers ranks papers for a free-text query")

        def work(app: App) -> dict:
            filters = self.filters(app, category, since, until, author)
            notices: list[str] = []
            if topic is None:
                papers = app.papers(filters)
            else:
                answer = app.ask(f"Which papers are about {topic}?", filters)
                by_id = {s.id: s.paper for s in answer.sources}
                papers = [by_id[pid] for pid in answer.cited_ids if pid in by_id]
                notices = list(answer.notices)
                if answer.refused:
                    notices.insert(0, f"the digests do not cover '{shown_value(topic)}'")
            return {"topic": shown_value(topic) if topic else None, "count": len(papers),
                    "papers": [{**paper_brief(p), "line": _trim(readable(contribution_sentence(p)), LINE_CHARS)} for p in papers],
                    "notices": notices}
        return self.run(work)

    def brief(self, category: str, date: str | None = None, since: str | None = None,
              until: str | None = None) -> dict:
        category = self.check_text(category, "category", "cs.LG")
        day, since, until = parse_date(date, "date"), parse_date(since, "since"), parse_date(until, "until")
        if since and until and since > until:
            raise InputError(f"since {since} is after until {until}")

        def work(app: App) -> dict:
            self.catalog(app)
            b = build_briefing(app, category, dates=[day] if day else [], since=since, until=until)
            return {"category": b.category, "label": b.label, "dates": b.dates, "papers": b.papers,
                    "markdown": b.markdown, "notices": b.notices}
        return self.run(work)

    def new_papers(self, since: str | None = None) -> dict:
        since = parse_date(since, "since")

        def work(app: App) -> dict:
            latest = last_ingest_papers(app) if since is None else None
            papers, label = latest or new_papers_since(self.catalog(app), since)
            labels = app.digests()
            papers.sort(key=lambda p: (p.category, p.id))
            counts: dict[str, int] = {}
            for p in papers:
                counts[p.category] = counts.get(p.category, 0) + 1
            notes = []
            if since and not any(p.dates for p in app.catalog().values()):
                notes.append("the stored digests carry no dates (their file names have no YYYY-MM-DD); "
                             "call new_papers without since for the latest digest")
            return {"selection": label, "count": len(papers), "notices": notes,
                    "per_category": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                    "papers": [{**paper_brief(p), "dates": p.dates, "digests": labels.paper_labels(p)} for p in papers]}
        return self.run(work)

    def ingest(self, paths: list[str]) -> dict:
        if not paths or not all(isinstance(p, str) and p.strip() for p in paths):
            raise InputError("paths is empty; give digest files or folders on the server's machine")

        def work(app: App) -> dict:
            files = files_under_roots([Path(p).expanduser() for p in paths], app.settings.mcp_ingest_roots)
            report = asdict(app.ingest(files))
            # The problem lists can hold thousands of entries: counts and the first few are enough here.
            for key in ("skipped", "partial"):
                report[f"{key}_count"] = len(report[key])
                report[key] = report[key][:10]
            return report
        return self.run(work)
