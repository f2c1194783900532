"""The records that cross module boundaries, defined once.

Data flows one way: digest file -> Paper -> Chunk -> index -> Source -> Answer (with Citation)
-> CLI / UI / eval. Every type here is a plain frozen-ish dataclass so it can be logged,
compared in tests and turned into JSON with `dataclasses.asdict`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from assistant.arxiv_ids import abs_url
from assistant.text import strip_controls


class Notice(str):
    """A note shown beside an answer or a briefing, with its kind: "warning" (something went wrong:
    a backend failed, a citation was removed) or "info" (how a follow-up was read, which digest is the
    latest). A str, so `--json` outputs and run folders keep `notices` as a list of strings."""

    kind: str

    def __new__(cls, text: str, kind: str = "info") -> Notice:
        notice = super().__new__(cls, text)
        notice.kind = kind
        return notice

    def __reduce__(self):  # copies (dataclasses.asdict, Streamlit's session state) keep the kind
        return (Notice, (str(self), self.kind))


def warning(text: str) -> Notice:
    return Notice(text, "warning")


def info(text: str) -> Notice:
    return Notice(text, "info")


def notice_kind(notice: str) -> str:
    """The kind of a notice; a plain string (read back from JSON) is information."""
    return getattr(notice, "kind", "info")


# The Chinese summary sections the digest generator writes, in file order.
SUMMARY_SECTIONS = ("tldr", "motivation", "method", "result", "conclusion")


@dataclass(frozen=True)
class Digest:
    """One digest file: its name (file stem) and its day when known."""

    name: str
    date: str | None = None  # ISO YYYY-MM-DD

    @property
    def label(self) -> str:
        return self.date or self.name


@dataclass
class Paper:
    """One arXiv paper as read from one or more digests (one paper, one record)."""

    id: str  # arXiv id without version, e.g. "2601.16032" or "hep-th/9901001"
    title: str
    authors: list[str]
    category: str
    tldr: str = ""
    motivation: str = ""
    method: str = ""
    result: str = ""
    conclusion: str = ""
    abstract: str = ""
    digests: list[str] = field(default_factory=list)  # digest names it appeared in
    dates: list[str] = field(default_factory=list)  # ISO dates of those digests, when known
    version: int | None = None  # the arXiv version the kept entry linked to (2601.16032v3 -> 3)
    origin: dict | None = None  # where the kept text came from: {file, line, digest, date}

    @property
    def url(self) -> str:
        return abs_url(self.id)

    def content_hash(self) -> str:
        """Hash of what the paper says (not where it appeared): decides 'changed'."""
        content = [self.title, self.authors, self.category, self.tldr, self.motivation,
                   self.method, self.result, self.conclusion, self.abstract]
        return hashlib.sha1(json.dumps(content, ensure_ascii=False).encode()).hexdigest()

    def section(self, name: str) -> str:
        return getattr(self, name) if name != "title" else self.title

    def to_json(self, ascii_only: bool = False) -> str:
        """`ascii_only`: non-ASCII characters as backslash-u escapes (the same JSON value; what the store
        writes, see store.py)."""
        return json.dumps(asdict(self), ensure_ascii=ascii_only)

    @classmethod
    def from_json(cls, text: str) -> Paper:
        """Reads records written by any version (fields added later take their defaults)."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        # strip_controls: records of stores written before control characters were stripped
        data = {k: strip_controls(v) if isinstance(v, str) else v for k, v in data.items() if k in known}
        data["authors"] = [strip_controls(a) for a in data.get("authors") or []]
        return cls(**data)


@dataclass(frozen=True)
class ParseProblem:
    """An entry that was skipped or ingested partially, and why (shown to the user)."""

    file: str
    line: int
    reason: str
    paper_id: str | None = None
    skipped: bool = True  # False: the entry was kept with some fields missing


@dataclass(frozen=True)
class Chunk:
    """A searchable passage of one paper's section; `id` is stable across re-ingests."""

    id: str
    paper_id: str
    section: str  # title | abstract | tldr | motivation | method | result | conclusion
    text: str


@dataclass
class Passage:
    """A retrieved chunk with the scores that found it."""

    chunk_id: str
    section: str
    text: str
    score: float


@dataclass
class Source:
    """A retrieved paper with its best passages, in rank order (what answers cite)."""

    paper: Paper
    score: float
    passages: list[Passage] = field(default_factory=list)
    matched_by: list[str] = field(default_factory=list)  # dense | lexical | id | metadata
    evidence: dict[str, float] = field(default_factory=dict)  # per retriever, the raw score of the best chunk
    membership: float | None = None  # set questions: calibrated probability that a reader lists it
    member: bool = False  # set questions: clearly about the subject (assistant/search/sets/judge.py)
    related: bool = False  # set questions: plausibly about it, below the member bar ("may be related")

    @property
    def id(self) -> str:
        return self.paper.id


@dataclass
class IngestReport:
    """What an ingest did; `--json` prints exactly these fields (stable interface)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)  # {file, line, reason}
    papers_total: int = 0
    seconds: float = 0.0
    partial: list[dict] = field(default_factory=list)  # {file, line, reason} kept with gaps
    digests: list[str] = field(default_factory=list)
    chunks_written: int = 0
    # Entries for the same paper whose text differed: which one was kept and which dropped, by the
    # rule higher arXiv version > later digest date > later ingest. {id, changed, kept, dropped};
    # kept/dropped = {file, line, digest, date, version}.
    replaced: list[dict] = field(default_factory=list)
    # Papers whose stored text was kept over a differing entry that was dropped (listed in
    # `replaced`): counted here, never as unchanged.
    conflicts: int = 0
    notes: list[str] = field(default_factory=list)  # one line each, e.g. the packaged sample removed

    @property
    def headline(self) -> str:
        """The one sentence `digestqa ingest` prints and the web UI shows after an upload."""
        conflicts = f", {self.conflicts} kept over a differing entry" if self.conflicts else ""
        return (f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged{conflicts} "
                f"from {len(self.digests)} digest(s) in {self.seconds:.1f}s; "
                f"the store holds {self.papers_total} papers.")


@dataclass
class Citation:
    """One cited sentence of an answer and whether the cited papers support it."""

    sentence: str
    paper_ids: list[str]
    supported: bool = True
    reason: str = ""  # why it was flagged, e.g. "number 73% not in 2601.16032"


@dataclass
class LLMUse:
    """What the configured LLM did for one answer (`Answer.llm`; None when no LLM is configured)."""

    model: str  # the configured model name
    answered: bool = False  # the answer shown is the model's (checked) text
    served_model: str = ""  # the model id the server answered with, when it said
    # Why the extractive answer was shown instead: a BackendError code (timeout, connection,
    # stream_broken, context_overflow, model_not_found, rate_limited, http_error) or no_valid_citation.
    fallback: str | None = None
    reason: str | None = None  # the same in words
    prompt_tokens: int | None = None  # the server's count, when it gives one
    completion_tokens: int | None = None

    @property
    def label(self) -> str:
        """The model as notices name it: "gpt-4o-mini", or "gpt-4o-mini (gpt-4o-mini-2024-07-18)"."""
        served = self.served_model
        return self.model if not served or served == self.model else f"{self.model} ({served})"


@dataclass
class Answer:
    """What `ask` returns; `--json` prints these fields (stable interface)."""

    question: str
    text: str
    cited_ids: list[str]
    sources: list[Source]
    refused: bool
    backend: str  # "extractive" or "llm:<model>"
    timings: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # fallbacks, removed citations, flagged claims
    removed_ids: list[str] = field(default_factory=list)  # citations dropped: not among the sources
    citations: list[Citation] = field(default_factory=list)
    standalone_question: str | None = None  # a chat follow-up rewritten to stand alone
    llm: LLMUse | None = None  # what the configured LLM did (None: no LLM configured)
    screening: Any = None  # assistant.answer.screening.Screening when an LLM screened a set question's members

    @property
    def unsupported(self) -> list[Citation]:
        return [c for c in self.citations if not c.supported]

    def to_json_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "cited_ids": self.cited_ids,
            "sources": [{"id": s.id, "title": s.paper.title, "category": s.paper.category,
                         "digest_dates": s.paper.dates, "digests": s.paper.digests,
                         "passage": s.passages[0].text if s.passages else "", "score": s.score,
                         "matched_by": s.matched_by} for s in self.sources],
            "refused": self.refused,
            "backend": self.backend,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notices": self.notices,
            "removed_citations": self.removed_ids,
            "unsupported_claims": [asdict(c) for c in self.unsupported],
            "standalone_question": self.standalone_question,
            # Added by issue 26: which model wrote the answer shown ("extractive" when none did), what
            # the configured LLM did and why its answer was not shown, and the set's LLM screening.
            "answered_by": (self.llm.served_model or self.llm.model) if self.llm and self.llm.answered else "extractive",
            "llm": asdict(self.llm) if self.llm else None,
            "screening": self.screening.to_json_dict() if self.screening is not None else None,
        }
