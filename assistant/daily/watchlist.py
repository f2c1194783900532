"""Standing questions: saved topics answered over each ingest's new papers only.

Stored beside the store (`daily/watchlist.json`, see history.py), validated on read. A run asks
each watch through `App.ask` (the same retrieval, checked citations and refusals as `ask`) with
`Filters(paper_ids=<the new papers>)` plus the watch's own category and author filters, and keeps
the papers the answer cites as the watch's latest hits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from assistant.config import Settings
from assistant.daily.history import SCHEMA, History, daily_dir, now_iso, read_list, write_json
from assistant.errors import InputError, StoreError
from assistant.search.retrieval import Filters
from assistant.text import strip_controls

MAX_QUERY_CHARS = 500  # a standing question is a sentence; it is asked after every ingest


@dataclass
class Hit:
    """A paper a watch's answer cited, with the sentence that cited it."""

    id: str
    title: str
    category: str
    sentence: str
    url: str
    found_at: str  # UTC ISO time of the run that found it


@dataclass
class Watch:
    """A standing question or topic, answered over each ingest's new papers."""

    id: int
    query: str
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    created: str = ""
    last_run: str | None = None
    hits: list[Hit] = field(default_factory=list)  # the latest run's hits (empty: nothing new)

    @property
    def label(self) -> str:
        extra = [f"category {', '.join(self.categories)}"] if self.categories else []
        extra += [f"author {', '.join(self.authors)}"] if self.authors else []
        return self.query + (f" ({'; '.join(extra)})" if extra else "")

    def filters(self, paper_ids: tuple[str, ...] = ()) -> Filters:
        return Filters(categories=tuple(self.categories), authors=tuple(self.authors), paper_ids=paper_ids)


@dataclass
class WatchResult:
    watch: Watch
    hits: list[Hit]
    searched: int  # papers the watch was asked over
    refused: bool


def _watch_from(item: object, path) -> Watch:
    try:
        assert isinstance(item, dict) and isinstance(item["id"], int) and isinstance(item["query"], str)
        hits = [Hit(**h) for h in item.get("hits", [])]
        # Text is cleaned on read too: a file written by hand, or before watches were cleaned on add.
        watch = Watch(item["id"], strip_controls(item["query"]), [strip_controls(c) for c in item.get("categories", [])],
                      [strip_controls(a) for a in item.get("authors", [])], str(item.get("created", "")),
                      item.get("last_run"), hits)
        assert all(isinstance(x, str) for x in watch.categories + watch.authors)
        return watch
    except (AssertionError, KeyError, TypeError):
        raise StoreError(f"{path} has a malformed watch; fix or delete the file") from None


class Watchlist:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = daily_dir(settings) / "watchlist.json"

    def watches(self) -> list[Watch]:
        return [_watch_from(item, self.path) for item in read_list(self.path, "watches")]

    def _save(self, watches: list[Watch]) -> None:
        write_json(self.path, {"schema": SCHEMA, "watches": [asdict(w) for w in watches]})

    def add(self, query: str, categories: list[str] | None = None, authors: list[str] | None = None,
            known_categories: dict[str, int] | None = None) -> Watch:
        """`known_categories` (category -> papers stored): a category not among them is refused,
        since a watch on it would silently match nothing."""
        query = " ".join(strip_controls(query).split())  # no escape sequence or bidi override is a question
        if not query:
            raise InputError("a watch needs a question or topic, e.g. \"KV cache compression\"")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError(f"a watch is at most {MAX_QUERY_CHARS} characters (this one has {len(query):,}); "
                             "give the topic in a sentence")
        categories = [" ".join(strip_controls(c).split()) for c in categories or []]
        authors = [" ".join(strip_controls(a).split()) for a in authors or []]
        if known_categories:
            lowered = {c.lower(): c for c in known_categories}
            unknown = [c for c in categories if c.lower() not in lowered]
            if unknown:
                listed = ", ".join(f"{c} ({n})" for c, n in sorted(known_categories.items(), key=lambda kv: (-kv[1], kv[0])))
                raise InputError(f"unknown category {', '.join(repr(c) for c in unknown)}; available categories: {listed}")
            categories = [lowered[c.lower()] for c in categories]
        watches = self.watches()
        if any(w.query.lower() == query.lower() and w.categories == list(categories or [])
               and w.authors == list(authors or []) for w in watches):
            raise InputError(f"already watching \"{query}\" (see: digestqa watch list)")
        watch = Watch(max((w.id for w in watches), default=0) + 1, query, list(categories or []),
                      list(authors or []), now_iso())
        self._save(watches + [watch])
        return watch

    def remove(self, key: str) -> Watch:
        """Remove by number (as `watch list` shows it) or by the exact question text."""
        watches = self.watches()
        match = [w for w in watches if (key.isdigit() and w.id == int(key)) or w.query.lower() == key.strip().lower()]
        if not match:
            raise InputError(f"no watch '{key}' (see: digestqa watch list)")
        self._save([w for w in watches if w is not match[0]])
        return match[0]

    def run(self, app, paper_ids: list[str] | None = None) -> list[WatchResult]:
        """Answer every watch over `paper_ids` (default: the last ingest's added and changed papers)
        and store each one's hits. No new papers: nothing is asked and every watch has no hits."""
        if paper_ids is None:
            last = History(self.settings).select()
            paper_ids = sorted({pid for r in last for pid in r.added + r.changed})
        watches = self.watches()
        results = []
        when = now_iso()
        papers = app.catalog() if paper_ids else {}
        for watch in watches:
            candidates = [pid for pid in paper_ids if pid in papers and watch.filters().matches(papers[pid])]
            hits: list[Hit] = []
            refused = True
            if candidates:
                answer = app.ask(watch.query, watch.filters(tuple(candidates)), k=min(len(candidates), 20))
                refused = answer.refused
                sentences = {}
                for citation in answer.citations:
                    if citation.supported:
                        for pid in citation.paper_ids:
                            sentences.setdefault(pid, citation.sentence)
                for pid in answer.cited_ids if not refused else []:
                    paper = papers.get(pid)
                    if paper is not None:
                        hits.append(Hit(pid, paper.title, paper.category, sentences.get(pid, ""), paper.url, when))
            watch.last_run, watch.hits = when, hits
            results.append(WatchResult(watch, hits, len(candidates), refused))
        if watches:
            self._save(watches)
        return results

    def hit_ids(self) -> dict[str, list[str]]:
        """Paper id -> the watches (their questions) whose latest run cited it."""
        found: dict[str, list[str]] = {}
        for watch in self.watches():
            for hit in watch.hits:
                found.setdefault(hit.id, []).append(watch.query)
        return found
