"""The packaged sample digest (`assistant/sample_digests/`, what the quick start ingests when no
digests sit beside the clone) never mixes with a user's own papers.

Its 12 papers are real arXiv papers summarised in our own words and dated 2026-01-22, so in a store
that also held the user's digests the sample's paraphrase used to win every conflict (a later
digest date outranks an undated one) and became the paper's stored abstract. So:

- an entry read from the sample is marked (`origin["sample"]`) and loses to any other entry;
- the sample is only ever ingested into a store that holds nothing else;
- the first ingest of real digests removes every paper whose text came from the sample, and the
  sample's digest, before it plans, and says so in one line. Stores written before the mark
  existed are recognised by the file their sample entries were read from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath

from assistant.types import Paper

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_digests"


def sample_file_names() -> frozenset[str]:
    return frozenset(p.name for p in SAMPLE_DIR.glob("*.md"))


def is_sample_file(path: Path) -> bool:
    """True for a file of the packaged sample, however it was named (relative, absolute, a link)."""
    try:
        return path.resolve().parent == SAMPLE_DIR
    except (OSError, RuntimeError):
        return False


def is_sample_origin(origin: dict | None) -> bool:
    """True when a stored paper's text came from the packaged sample: marked, or (stores written
    before the mark) read from a `sample_digests/<packaged file>` path, as the quick start gave it."""
    if not origin:
        return False
    if origin.get("sample"):
        return True
    file = origin.get("file")
    if not isinstance(file, str) or not file:
        return False
    path = PurePath(file)
    return path.parent.name == SAMPLE_DIR.name and path.name in sample_file_names()


def mark_sample(papers: list[Paper]) -> None:
    for paper in papers:
        paper.origin = {**(paper.origin or {}), "sample": True}


@dataclass
class SampleRemoval:
    """What removing the sample from a store did, for the one line the ingest prints."""

    removed: list[str] = field(default_factory=list)  # ids of papers whose text was the sample's
    digests: list[str] = field(default_factory=list)  # the sample's digest names, forgotten
    relisted: list[Paper] = field(default_factory=list)  # own papers that only listed the sample's digest
    orphaned: dict[str, list[str]] = field(default_factory=dict)  # removed id -> the user's digests it was in

    def note(self, store_label: str, restored: set[str]) -> str:
        """One line; `restored` are the removed ids this ingest writes again from the user's digests."""
        line = (f"removed the packaged sample digest from {store_label} ({len(self.removed)} paper(s) written by "
                "the quick start); your own digests take its place")
        lost = sorted({d for pid, names in self.orphaned.items() if pid not in restored for d in names})
        if lost:
            count = sum(1 for pid in self.orphaned if pid not in restored)
            line += (f"; {count} of them also appeared in {', '.join(lost[:3])}{', …' if len(lost) > 3 else ''}: "
                     "ingest those digests again to restore their own text")
        return line


def plan_removal(papers: dict[str, Paper], recorded_digests: dict[str, dict]) -> SampleRemoval | None:
    """What to remove from a store holding `papers`, or None when it holds nothing of the sample."""
    removed = {pid: p for pid, p in papers.items() if is_sample_origin(p.origin)}
    if not removed:
        return None
    own_origins = {(p.origin or {}).get("digest") for pid, p in papers.items() if pid not in removed}
    # The sample's digest names: flagged when recorded, else the digests its entries were read from,
    # unless one of the user's own entries was read from a digest of the same name.
    names = {n for n, record in recorded_digests.items() if isinstance(record, dict) and record.get("sample")}
    names |= {(p.origin or {}).get("digest") for p in removed.values()} - own_origins - {None}
    removal = SampleRemoval(sorted(removed), sorted(names))
    for pid, paper in removed.items():
        others = [d for d in paper.digests if d not in names]
        if others:
            removal.orphaned[pid] = others
    sample_dates = {(recorded_digests.get(n) or {}).get("date") for n in names}
    sample_dates |= {(p.origin or {}).get("date") for p in removed.values()}
    for pid, paper in papers.items():
        if pid not in removed and set(paper.digests) & names:
            kept = [d for d in paper.digests if d not in names]
            dates = {(recorded_digests.get(d) or {}).get("date") for d in kept} | (set(paper.dates) - sample_dates)
            relisted = Paper.from_json(paper.to_json())
            relisted.digests, relisted.dates = kept, sorted(dates - {None})
            removal.relisted.append(relisted)
    return removal
