"""Readable names for digests, and which one is "the latest".

A digest is known by its file stem, which is often unreadable (`004_bb134045811f6403`). Everything a
person sees (source lines, the briefing banner, filters, the Library) shows a label instead:
- its date when known (from the file name, `ingest --date`, or a date in the file's header);
- else the readable part of the stem ("digest 004") and, where there is room, what it holds
  ("digest 004 · 70 papers · 2601.18xxx–2601.19xxx").
The full file name stays in `--json` and on hover.

"Latest" is decided by date when every digest in question has one, else by the order digests were
first ingested (recorded by `ingest` in the store), else, for stores ingested before that record
existed, by file name. `DigestCatalog.order_rule` says which rule was used.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.arxiv_ids import NEW_ID
from assistant.types import Paper

# A stem token that is an identifier, not a word: 8+ hex digits with at least one letter
# (a pure-digit token may be a date like 20260122 or a readable serial number).
_HASH_TOKEN = re.compile(r"^(?=.*[a-f])[0-9a-f]{8,}$", re.I)
_SEPARATORS = re.compile(r"[_\-\s.]+")
_NEW_ID = re.compile(rf"^{NEW_ID}$")
DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")  # in a file name or a digest's header

ORDER_RULES = {
    "date": "by date",
    "ingest": "by ingest order (the digests carry no dates)",
    "ingest-mixed": "by ingest order (not every digest carries a date)",
    "name": "by file name (no dates, and no ingest order recorded in this store)",
}


def digest_date_from_name(path: Path) -> str | None:
    """The YYYY-MM-DD in a digest file's name ("2026-01-22.md"), if it is a real date."""
    match = DATE_IN_NAME.search(path.stem)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def readable_stem(name: str) -> str:
    """The stem without its hash-like parts: '004_bb134045811f6403' -> '004'; '' if nothing is left."""
    return " ".join(t for t in _SEPARATORS.split(name) if t and not _HASH_TOKEN.match(t))


def id_range(ids: Iterable[str]) -> str:
    """'2601.18xxx–2601.19xxx': the span of new-style arXiv ids, last three digits masked."""
    new = sorted(i for i in ids if _NEW_ID.match(i))
    if not new:
        return ""
    first, last = (i[:-3] + "xxx" for i in (new[0], new[-1]))
    return first if first == last else f"{first}–{last}"


@dataclass(frozen=True)
class DigestInfo:
    """One stored digest: what the store knows about it."""

    name: str  # the file stem, the digest's identity
    date: str | None = None  # ISO YYYY-MM-DD when known
    papers: int = 0
    ids: str = ""  # id_range() of its papers
    order: int | None = None  # 1 = first ingested; None when the store did not record it
    ingested_at: str | None = None

    @property
    def readable(self) -> str:
        part = readable_stem(self.name)
        if not part:
            return f"digest {self.order}" if self.order else f"digest {self.name[:8]}"
        return f"digest {part}" if part.replace(" ", "").isdigit() else part

    @property
    def detail(self) -> str:
        """'70 papers · 2601.18xxx–2601.19xxx'."""
        parts = [f"{self.papers} paper{'s' if self.papers != 1 else ''}"]
        return " · ".join(parts + ([self.ids] if self.ids else []))

    @property
    def hover(self) -> str:
        """The full story, for tooltips: file name, date, contents, when it was ingested."""
        parts = [f"file {self.name}", self.date or "no date", self.detail]
        if self.ingested_at:
            parts.append(f"ingested {self.ingested_at.replace('T', ' ')[:16]}"
                         + (f" (#{self.order})" if self.order else ""))
        return "; ".join(parts)


class DigestCatalog:
    """Every stored digest with a unique short label and a long one, and the "latest" rule."""

    def __init__(self, infos: Iterable[DigestInfo]):
        self.infos = {info.name: info for info in infos}
        self._short = self._unique_short_labels()

    @classmethod
    def build(cls, papers: Iterable[Paper], records: dict[str, dict] | None = None) -> DigestCatalog:
        """From the stored papers (counts, id spans, dates) and the ingest's per-digest records
        (date, order, time); a digest without a record still gets a label from its papers."""
        records = records or {}
        members: dict[str, list[Paper]] = {}
        for paper in papers:
            for name in paper.digests:
                if name:
                    members.setdefault(name, []).append(paper)
        for name in records:
            members.setdefault(name, [])
        infos = []
        for name, group in members.items():
            record = records.get(name) or {}
            date = record.get("date") or digest_date_from_name(Path(name)) or _shared_date(group)
            infos.append(DigestInfo(name, date, len(group), id_range(p.id for p in group),
                                    record.get("order"), record.get("ingested_at")))
        return cls(infos)

    def _unique_short_labels(self) -> dict[str, str]:
        short = {name: info.date or info.readable for name, info in self.infos.items()}
        seen: dict[str, int] = {}
        for label in short.values():
            seen[label] = seen.get(label, 0) + 1
        for name, label in short.items():
            if seen[label] > 1:  # two digests of one day (or one readable stem): add the rest of the stem
                rest = readable_stem(name.replace(label, "", 1))
                short[name] = f"{label} ({rest})" if rest and rest != label else name
        return short

    # -- labels ------------------------------------------------------------------------------
    def short(self, name: str) -> str:
        """The date, else 'digest 004': for table cells and source lines."""
        return self._short.get(name) or readable_stem(name) or name

    def label(self, name: str, lang: str = "en", count: bool = True) -> str:
        """The date, else 'digest 004 · 70 papers · 2601.18xxx–2601.19xxx' (zh: '摘要 004 · 70 篇 · …'):
        for filters. Without the count ('digest 004 · 2601.18xxx–2601.19xxx') for titles that count
        their own papers (a briefing's banner)."""
        info = self.infos.get(name)
        short = self.short(name)
        if info is None or info.date:
            return short
        if lang == "zh" and short.startswith("digest "):
            short = "摘要 " + short[len("digest "):]
        size = (f"{info.papers} 篇" if lang == "zh" else info.detail.split(" · ")[0]) if count else ""
        return " · ".join(part for part in (short, size, info.ids) if part)

    def hover(self, name: str) -> str:
        info = self.infos.get(name)
        return info.hover if info else f"file {name}"

    def paper_labels(self, paper: Paper) -> list[str]:
        """Short labels of the digests a paper appeared in, oldest first."""
        return [self.short(n) for n in self.ordered(n for n in paper.digests if n)[0]]

    def resolve(self, text: str) -> str | None:
        """The digest a person means: its file name, or its label ('digest 004', '004', a date)
        when exactly one digest answers to it."""
        if text in self.infos:
            return text
        wanted = " ".join(text.casefold().split())
        hits = [name for name in self.infos
                if wanted in (self.short(name).casefold(), self.label(name).casefold(),
                              readable_stem(name).casefold())]
        return hits[0] if len(hits) == 1 else None

    # -- order -------------------------------------------------------------------------------
    def ordered(self, names: Iterable[str] | None = None) -> tuple[list[str], str]:
        """The digests (all, or the given ones) oldest first, and the rule used (an ORDER_RULES key)."""
        chosen = list(dict.fromkeys(self.infos if names is None else names))
        infos = [self.infos.get(n) or DigestInfo(n) for n in chosen]
        if infos and all(i.date for i in infos):
            return [i.name for i in sorted(infos, key=lambda i: (i.date, i.order or 0, i.name))], "date"
        if any(i.order for i in infos):
            # Digests without a record were ingested before records were kept: before the others.
            rule = "ingest-mixed" if any(i.date for i in infos) else "ingest"
            return [i.name for i in sorted(infos, key=lambda i: (i.order or 0, i.name))], rule
        return [i.name for i in sorted(infos, key=lambda i: i.name)], "name"

    def latest(self, names: Iterable[str] | None = None) -> tuple[str | None, str]:
        """The latest digest (of all, or of the given names) and the rule that decided it."""
        ordered, rule = self.ordered(names)
        return (ordered[-1] if ordered else None), rule

    @staticmethod
    def describe_rule(rule: str) -> str:
        return ORDER_RULES.get(rule, rule)


def _shared_date(papers: list[Paper]) -> str | None:
    """A digest's date read back from its papers when no record says it: the one date every paper
    of the digest carries, if exactly one (stores written before digests were recorded)."""
    if not papers:
        return None
    common = set(papers[0].dates)
    for paper in papers[1:]:
        common &= set(paper.dates)
    return common.pop() if len(common) == 1 else None
