"""What the sidebar and the Library show about the configured app: store stats, the answering
backend, the filter choices, and the paper table."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.arxiv_ids import abs_url
from assistant.config import Settings
from assistant.digests import DigestCatalog
from assistant.errors import DigestQAError
from assistant.markup import readable
from assistant.search.retrieval import Filters
from assistant.types import Paper
from assistant.ui_support.messages import Friendly, friendly


def settings_key(settings: Settings) -> str:
    """A stable key for caching one App per configuration (the API key only as a hash)."""
    public = json.dumps(settings.public_dict(), sort_keys=True, default=str)
    secret = hashlib.sha1((settings.llm_api_key or "").encode()).hexdigest()[:12]
    return f"{public}|{secret}"


@dataclass
class StoreOverview:
    label: str
    papers: int = 0
    chunks: int = 0
    digests: int = 0
    last_ingest: str | None = None
    categories: dict[str, int] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)  # ISO digest dates, when the file names carry them
    digest_names: list[str] = field(default_factory=list)  # oldest first (by date, else ingest order)
    digest_labels: dict[str, str] = field(default_factory=dict)  # name -> readable label
    latest_rule: str = ""  # how "latest" is decided, in words ('by ingest order (…)')
    problem: Friendly | None = None  # set when the store could not be read

    @property
    def empty(self) -> bool:
        return self.papers == 0

    @property
    def short_label(self) -> str:
        """The store's place, short enough for the sidebar (the full one goes in a tooltip)."""
        if len(self.label) <= 32 or "://" in self.label:
            return self.label
        parts = Path(self.label).parts
        return "…/" + "/".join(parts[-2:])

    def digest_label(self, name: str) -> str:
        return self.digest_labels.get(name, name)

    @property
    def last_ingest_label(self) -> str:
        return self.last_ingest.replace("T", " ")[:16] if self.last_ingest else "never"


def store_overview(app) -> StoreOverview:
    label = app.settings.store_label
    try:
        stats = app.stats()
        papers = app.catalog().values()
        known = app.digests()
    except DigestQAError as exc:
        return StoreOverview(label, problem=friendly(exc))
    names, rule = known.ordered(stats.get("digest_names") or [])
    return StoreOverview(label, papers=stats["papers"], chunks=stats["chunks"], digests=stats["digests"],
                         last_ingest=stats["last_ingest"], categories=dict(stats["categories"]),
                         dates=sorted({d for p in papers for d in p.dates}), digest_names=names,
                         digest_labels={n: known.label(n) for n in names}, latest_rule=known.describe_rule(rule))


@dataclass(frozen=True)
class BackendInfo:
    kind: str  # extractive | llm
    label: str
    summary: str  # one line, always shown
    detail: str  # the longer explanation, on hover


def backend_info(settings: Settings) -> BackendInfo:
    if settings.uses_llm:
        where = settings.llm_base_url or "the OpenAI API"
        return BackendInfo("llm", f"LLM: {settings.llm_model}", f"via {where}",
                           "Every citation is checked against the retrieved papers. If the backend fails, the "
                           "extractive answer is shown with a note saying so.")
    return BackendInfo("extractive", "Extractive (no LLM)", "Quotes the papers' own sentences, offline.",
                       "Set DIGESTQA_LLM_MODEL and DIGESTQA_LLM_BASE_URL (or start with --preset) "
                       "to answer with an OpenAI-compatible LLM.")


def _iso(value) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def make_filters(categories=(), dates=(), since=None, until=None, digests=()) -> Filters:
    """The sidebar's choices as retrieval Filters (dates may be `datetime.date` or ISO strings)."""
    return Filters(categories=tuple(categories), dates=tuple(_iso(d) for d in dates if d),
                   since=_iso(since), until=_iso(until), digests=tuple(digests))


def describe_filters(filters: Filters, digest_labels: dict[str, str] | None = None) -> str:
    parts = []
    if filters.categories:
        parts.append("categories " + ", ".join(filters.categories))
    if filters.dates:
        parts.append("dates " + ", ".join(filters.dates))
    if filters.since or filters.until:
        parts.append(f"from {filters.since or 'the start'} to {filters.until or 'now'}")
    if filters.digests:
        parts.append("digests " + ", ".join((digest_labels or {}).get(d, d) for d in filters.digests))
    return "; ".join(parts) if parts else "all papers"


def search_papers(papers: list[Paper], text: str) -> list[Paper]:
    """The Library's quick search: every word must occur in the id, title or authors."""
    words = text.lower().split()
    if not words:
        return papers
    return [p for p in papers
            if all(w in f"{p.id} {p.title} {' '.join(p.authors)}".lower() for w in words)]


def paper_rows(papers: list[Paper], known: DigestCatalog | None = None) -> list[dict]:
    """The Library's table. "digest" holds each digest's readable label (its date, else
    'digest 004'); "digest file" the file names."""
    known = known or DigestCatalog.build(papers)
    rows = []
    for p in papers:
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        rows.append({"id": p.id, "arXiv": abs_url(p.id), "title": readable(p.title),
                     "category": p.category, "authors": authors,
                     "digest": ", ".join(known.paper_labels(p)) or "–", "digest file": ", ".join(p.digests)})
    return rows
