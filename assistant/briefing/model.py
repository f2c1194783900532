"""The briefing as data: what the renderer, the CLI's --json and the UI all read."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Theme:
    name: str
    papers: list[str]  # ids, most central first
    summary: str = ""  # one sentence about the theme (LLM backend only)


@dataclass
class NumberItem:
    text: str  # a sentence from the paper (or the LLM's restatement, checked against it)
    id: str


@dataclass
class Briefing:
    category: str
    dates: list[str]  # ISO dates covered ([] for digests whose names carry no date)
    digests: list[str]  # digest names covered
    label: str  # what was selected, in words ('digest 004 · 70 papers · …', '2026-01-13 to 2026-01-22')
    lang: str  # "en" | "zh"
    papers: list[str]  # selected ids, sorted
    titles: dict[str, str]  # id -> title (for tables and links)
    overview: str
    themes: list[Theme]
    lines: dict[str, str]  # id -> key contribution and headline result
    numbers: list[NumberItem]
    backend: str  # "extractive" or "llm:<model>"
    notices: list[str] = field(default_factory=list)
    markdown: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    digest_labels: dict[str, str] = field(default_factory=dict)  # digest name -> readable label

    def theme_of(self) -> dict[str, str]:
        return {pid: theme.name for theme in self.themes for pid in theme.papers}

    def to_json_dict(self) -> dict:
        return {
            "category": self.category,
            "dates": self.dates,
            "papers": self.papers,
            "themes": [{"name": t.name, "papers": t.papers, "summary": t.summary} for t in self.themes],
            "numbers": [{"text": n.text, "id": n.id} for n in self.numbers],
            "markdown": self.markdown,
            "digests": self.digests,
            "digest_labels": self.digest_labels,
            "label": self.label,
            "lang": self.lang,
            "overview": self.overview,
            "lines": self.lines,
            "backend": self.backend,
            "notices": self.notices,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
