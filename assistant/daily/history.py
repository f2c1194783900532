"""The ingest history: which papers each ingest added or changed, and when ("what's new").

Kept beside the store as one JSON file (`<store>/daily/history.json`; for a Chroma server, under
Settings.cache_dir, keyed by host, port and collection), written atomically (temp file + rename) by
the ingest while it holds the ingest lock, and validated on read: a hand-edited or truncated file
is a StoreError naming the file, never a crash and never pickle.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assistant.config import Settings
from assistant.errors import StoreError

SCHEMA = 1
MAX_ENTRIES = 1000  # about three years of daily ingests; older entries are dropped first


def daily_dir(settings: Settings) -> Path:
    """Where the history and the watchlist of this store live."""
    if settings.uses_server:
        key = hashlib.sha1(f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}".encode()).hexdigest()[:12]
        return Path(settings.cache_dir).expanduser() / "daily" / key
    return Path(settings.store) / "daily"


def read_json(path: Path, default: dict) -> dict:
    if not path.exists():
        return default
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is not readable JSON ({str(exc)[:100]}); fix or delete it") from None
    except RecursionError:  # e.g. 100,000 nested brackets: no file of ours nests that deep
        raise StoreError(f"{path} is not a digestqa file (its JSON is nested too deeply); fix or delete it") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise StoreError(f"{path} is not a digestqa file of schema {SCHEMA}; fix or delete it")
    return data


def read_list(path: Path, key: str) -> list:
    """The list under `key` of a file written by write_json (empty when the file does not exist)."""
    items = read_json(path, {"schema": SCHEMA, key: []}).get(key)
    if not isinstance(items, list):
        raise StoreError(f"{path} has no list of {key}; fix or delete it")
    return items


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class IngestRecord:
    """One ingest that added or changed papers."""

    at: str  # UTC ISO time the ingest finished
    added: list[str] = field(default_factory=list)  # paper ids new to the store
    changed: list[str] = field(default_factory=list)  # paper ids whose text changed
    digests: list[str] = field(default_factory=list)  # digest names the ingest read

    @classmethod
    def from_dict(cls, item: object, path: Path) -> IngestRecord:
        ok = (isinstance(item, dict) and isinstance(item.get("at"), str)
              and all(isinstance(item.get(k, []), list) and all(isinstance(x, str) for x in item.get(k, []))
                      for k in ("added", "changed", "digests")))
        if not ok:
            raise StoreError(f"{path} has a malformed ingest entry; fix or delete the file")
        return cls(item["at"], list(item.get("added", [])), list(item.get("changed", [])), list(item.get("digests", [])))


class History:
    def __init__(self, settings: Settings):
        self.path = daily_dir(settings) / "history.json"
        self.moved_aside: Path | None = None

    def records(self) -> list[IngestRecord]:
        return [IngestRecord.from_dict(item, self.path) for item in read_list(self.path, "ingests")]

    def record(self, added: list[str], changed: list[str], digests: list[str]) -> IngestRecord | None:
        """Append one ingest; an ingest that added and changed nothing is not recorded, so 'what's new'
        still shows the last ingest that brought something after a re-run of the same folder."""
        if not added and not changed:
            return None
        entry = IngestRecord(now_iso(), sorted(added), sorted(changed), list(digests))
        records = (self.readable_records() + [entry])[-MAX_ENTRIES:]
        write_json(self.path, {"schema": SCHEMA, "ingests": [asdict(r) for r in records]})
        return entry

    def readable_records(self) -> list[IngestRecord]:
        """The records, for an ingest that has just written papers: a history file that does not
        read is moved aside (named in `self.moved_aside`) and a new one begun, rather than failing
        an ingest whose papers are already stored."""
        try:
            return self.records()
        except StoreError:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{now_iso().replace(':', '')}")
            os.replace(self.path, aside)
            self.moved_aside = aside
            return []

    def select(self, since: str | None = None, previous: int = 0, count: int = 1) -> list[IngestRecord]:
        """The ingests to show: those finished on or after `since` (a YYYY-MM-DD day), else `count`
        ingests ending `previous` ingests before the last one."""
        records = self.records()
        if since:
            return [r for r in records if r.at[:10] >= since]
        end = len(records) - previous
        return records[max(0, end - count):max(0, end)]
