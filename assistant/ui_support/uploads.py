"""Uploaded digest files -> ingest -> a summary of what was added, changed and skipped, and why.

Uploads are written to a temporary folder under their own names, because a digest's name (its
file stem) and its date (a YYYY-MM-DD in the name) come from the file name. Problems are reported
against the uploaded name, not the temporary path.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.parser import DIGEST_SUFFIXES
from assistant.types import IngestReport

_UNSAFE = re.compile(r"[^\w.\-() ]+")


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass
class IngestSummary:
    headline: str  # the same sentence `digestqa ingest` prints
    added: int
    changed: int
    unchanged: int
    skipped: list[dict] = field(default_factory=list)  # {file, line, reason}: entries or files left out
    partial: list[dict] = field(default_factory=list)  # {file, line, reason}: kept with gaps
    papers_total: int = 0


def summarize(report: IngestReport, names: dict[str, str] | None = None,
              refused: list[dict] | None = None) -> IngestSummary:
    """`names` maps written paths back to what the user uploaded; `refused` are files never ingested."""
    names = names or {}

    def rows(items: list[dict]) -> list[dict]:
        return [{"file": names.get(i["file"], Path(i["file"]).name), "line": i["line"], "reason": i["reason"]}
                for i in items]

    return IngestSummary(report.headline, report.added, report.changed, report.unchanged,
                         skipped=list(refused or []) + rows(report.skipped), partial=rows(report.partial),
                         papers_total=report.papers_total)


def safe_name(name: str, taken: set[str]) -> str:
    """A file name that keeps the user's stem (digest name, date) and cannot escape the folder."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .") or "digest.md"
    stem, suffix = Path(base).stem, Path(base).suffix
    candidate, n = base, 2
    while candidate.lower() in taken:
        candidate = f"{stem}-{n}{suffix}"
        n += 1
    taken.add(candidate.lower())
    return candidate


class _Bar:
    """The tqdm-like object `App.ingest(progress=...)` drives, reporting to a callback."""

    def __init__(self, total: int, report: Callable[[int, int], None]):
        self.total, self.done, self._report = total, 0, report
        report(0, total)

    def update(self, n: int = 1) -> None:
        self.done += n
        self._report(self.done, self.total)

    def close(self) -> None:
        self._report(self.total, self.total)


def progress_line(done: int, total: int, elapsed_s: float) -> str:
    """'Embedding and storing papers: 64 of 350 · 4.2 papers/s · about 1 min 8 s left'."""
    line = f"Embedding and storing papers: {done} of {total}"
    if done <= 0 or elapsed_s <= 0:
        return line
    rate = done / elapsed_s
    left = max(0.0, (total - done) / rate)
    eta = f"{int(left // 60)} min {int(left % 60)} s" if left >= 60 else f"{int(round(left))} s"
    return f"{line} · {rate:.1f} papers/s · about {eta} left" if done < total else f"{line} · {rate:.1f} papers/s"


def progress_to(report: Callable[[int, int], None]) -> Callable[[int], _Bar]:
    """`report(done, total)` is called as papers are embedded and written."""
    return lambda total: _Bar(total, report)


def ingest_uploads(app, uploads: list[Upload], digest_date: str | None = None,
                   on_progress: Callable[[int, int], None] | None = None) -> IngestSummary:
    if not uploads:
        raise InputError("choose one or more digest files (.md or .txt) to upload first")
    refused = [{"file": u.name, "line": 0, "reason": f"not a digest file: expected {', '.join(DIGEST_SUFFIXES)}"}
               for u in uploads if Path(u.name).suffix.lower() not in DIGEST_SUFFIXES]
    accepted = [u for u in uploads if Path(u.name).suffix.lower() in DIGEST_SUFFIXES]
    if not accepted:
        raise InputError(f"none of the files is a digest ({', '.join(DIGEST_SUFFIXES)}): "
                         + ", ".join(u.name for u in uploads))
    with tempfile.TemporaryDirectory(prefix="digestqa-upload-") as folder:
        paths, names, taken = [], {}, set()
        for upload in accepted:
            path = Path(folder) / safe_name(upload.name, taken)
            path.write_bytes(upload.data)
            paths.append(path)
            names[str(path)] = upload.name
        try:
            report = app.ingest(paths, digest_date, progress_to(on_progress) if on_progress else None)
        except InputError as exc:  # nothing could be read: say it with the names the user uploaded
            message = str(exc)
            for written, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
                message = message.replace(written, name)
            raise InputError(message.replace(folder, "the upload")) from None
    return summarize(report, names, refused)
