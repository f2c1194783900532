"""What an ingest leaves for the daily views: what's new (assistant/daily/history.py) and the digest
summaries' number checks (assistant/daily/summary_check.py). The ingest (a layer below) tells an
`IngestRecords` what it saw, under its lock; the App hands one to every ingest."""
from __future__ import annotations

from assistant.config import Settings
from assistant.daily.history import History
from assistant.daily.summary_check import SummaryChecks, checked
from assistant.types import IngestReport, Paper


class IngestRecords:
    """An `IngestObserver` (assistant/ingest/pipeline.py) that writes the records beside the store."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.checks: dict[str, dict] = {}  # paper id -> its summary's number check, made while writing

    def written(self, paper: Paper) -> None:
        self.checks[paper.id] = checked(paper)

    def finished(self, added: list[str], changed: list[str], report: IngestReport) -> None:
        history = History(self.settings)
        history.record(added, changed, report.digests)
        if history.moved_aside is not None:
            report.notes.append(f"{history.path} did not read as an ingest history; moved it to {history.moved_aside} "
                                "and began a new one")
        SummaryChecks(self.settings).record_checked(self.checks)
