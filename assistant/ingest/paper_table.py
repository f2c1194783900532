"""Every paper of a store in one file made for reading: the catalogue without Chroma.

Every command reads the catalogue (filters, the names a question may use, the sources' titles,
digest labels). Read from Chroma, that is every paper record's JSON decoded (350 papers: ~0.3 s
after the client's ~1 s import; 5,000: seconds). Here it is one `.npz` beside the keyword index
(same folders, and valid for the same key: store id, generation, last write): each paper's JSON as
one UTF-8 buffer with offsets, decoded only when that paper is read, and for every paper the fields
that lists and filters read (`PaperCard`) in a JSON header. Data only (read with allow_pickle=False;
nothing in a store may run code), checked before use; a file that is odd, or made for another key,
is ignored and the catalogue is read from Chroma again (and the file rewritten).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from assistant.compact import Strings, mapped_npz
from assistant.errors import StoreError
from assistant.text import fold
from assistant.types import Paper

TABLE_FORMAT = 1  # bump when the layout or what a card holds changes: old files are ignored
_CARD_FIELDS = ("id", "title", "authors", "category", "digests", "dates", "folded")
_PAPER_FIELD_ORDER = tuple(f.name for f in fields(Paper))
_PAPER_FIELDS = frozenset(_PAPER_FIELD_ORDER)


def cache_folders(settings) -> list[Path]:
    """Where files derived from a store are kept, in order: inside the store, else the user's
    cache_dir (read-only stores, servers). The keyword index, the vector matrix and the paper table
    all live here."""
    if settings.uses_server:
        where = f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}"
    else:
        where = str(Path(settings.store).expanduser().resolve())
    key = hashlib.sha1(where.encode()).hexdigest()[:12]
    fallback = Path(settings.cache_dir).expanduser() / "lexical" / key
    return [fallback] if settings.uses_server else [Path(settings.store) / ".cache", fallback]


@dataclass(frozen=True)
class PaperCard:
    """What lists, filters and digest labels read of a paper: its fields without the texts
    (`Filters.matches`, `DigestCatalog.build` and `digestqa papers` read a card as a Paper)."""

    id: str
    title: str
    authors: list[str]
    category: str
    digests: list[str]
    dates: list[str]
    folded: list[str] | None = None  # the authors as question analysis compares names (text.fold), when known


class PaperCatalog(Mapping[str, Paper]):
    """Paper id -> Paper, in the order the store lists them, each paper decoded when first read;
    `cards()` gives every paper's card without decoding any paper."""

    def __init__(self, cards: list[PaperCard], records: Strings | None = None, papers: dict[str, Paper] | None = None):
        self._cards = cards
        self._row = {card.id: i for i, card in enumerate(cards)}
        self._records = records
        self._papers: dict[str, Paper] = dict(papers or {})

    @classmethod
    def of(cls, papers: dict[str, Paper]) -> PaperCatalog:
        return cls([card_of(p) for p in papers.values()], papers=papers)

    def __getitem__(self, pid: str) -> Paper:
        paper = self._papers.get(pid)
        if paper is None:
            row = self._row[pid]  # KeyError for a paper the store does not hold, as a dict
            paper = self._papers[pid] = _decode(self._records[row])
        return paper

    def __contains__(self, pid) -> bool:
        return pid in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._cards)

    def cards(self) -> list[PaperCard]:
        return self._cards


def card_of(paper: Paper) -> PaperCard:
    return PaperCard(paper.id, paper.title, list(paper.authors), paper.category, list(paper.digests), list(paper.dates))


def cards_of(papers: Mapping[str, Paper]) -> Iterable[PaperCard] | Iterable[Paper]:
    """Every paper's card when `papers` is a catalogue (nothing decoded), else the papers themselves
    (a Paper has every field of a card)."""
    return papers.cards() if isinstance(papers, PaperCatalog) else papers.values()


def _decode(record: str) -> Paper:
    """A paper as the table holds it: its fields as read from the store, already cleaned
    (`Paper.from_json`'s control-character stripping was done when the table was written)."""
    try:
        data = json.loads(record)
        if not isinstance(data, dict) or not set(data) <= _PAPER_FIELDS:
            raise ValueError("not a paper")
        return Paper(**data)
    except (ValueError, TypeError, RecursionError):
        raise StoreError("a paper table cache file is damaged (it was changed after it was written); delete the "
                         "store's .cache folder: it is rebuilt from the store") from None


def table_name(collection: str, key: str) -> str:
    return f"papers-{collection}-{key}-v{TABLE_FORMAT}.npz"


def save_table(catalog: PaperCatalog, path: Path, key: str) -> None:
    cards = [card if card.folded is not None else replace(card, folded=[fold(a) for a in card.authors])
             for card in catalog.cards()]
    records = Strings.of([json.dumps(_fields_of(catalog[card.id]), ensure_ascii=False) for card in cards])
    # The cards by field (one list per field): read back and checked a field at a time.
    header = {"format": TABLE_FORMAT, "key": key, **{name: [getattr(card, name) for card in cards] for name in _CARD_FIELDS}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, records=records.blob, record_offsets=records.offsets,
                 header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8))
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file


def _fields_of(paper: Paper) -> dict:
    """`dataclasses.asdict` of a Paper (its fields are strings, lists of strings and an int), without
    asdict's deep copy: 5,000 papers in 0.1 s instead of 0.6 s."""
    return {name: getattr(paper, name) for name in _PAPER_FIELD_ORDER}


def _texts(column, rows: int) -> bool:
    return type(column) is list and len(column) == rows and all(type(v) is str for v in column)


def _lists_of_texts(column, rows: int) -> bool:
    return (type(column) is list and len(column) == rows and all(type(v) is list for v in column)
            and all(type(x) is str for v in column for x in v))


def load_table(path: Path, key: str) -> PaperCatalog | None:
    """The catalogue at `path` when the file is well-formed and for this key, else None (never
    unpickles: `mapped_npz` refuses object arrays). The records are mapped, not read: a question
    decodes the few papers it shows."""
    try:
        a = mapped_npz(path, ("records", "record_offsets", "header"))
        header = json.loads(a["header"].tobytes().decode())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or header.get("format") != TABLE_FORMAT or header.get("key") != key:
        return None
    if not Strings.well_formed(a["records"], a["record_offsets"]):
        return None
    records = Strings(a["records"], a["record_offsets"].astype(np.int64, copy=False))
    rows = len(records)
    columns = [header.get(name) for name in _CARD_FIELDS]
    if not (all(_texts(header.get(name), rows) for name in ("id", "title", "category"))
            and all(_lists_of_texts(header.get(name), rows) for name in ("authors", "digests", "dates", "folded"))
            and all(len(f) == len(a) for f, a in zip(header["folded"], header["authors"], strict=True))
            and len(set(header["id"])) == rows):
        return None
    return PaperCatalog([PaperCard(*fields) for fields in zip(*columns, strict=True)], records)


def load_or_save_table(folders: list[Path], collection: str, key: str, read) -> PaperCatalog:
    """The catalogue for `key` from the first folder holding a valid table; else `read()` (the
    papers from the store, by id) is made a catalogue and saved in the first folder that takes it
    (earlier keys' tables removed), unless `read` returns None as the key (the store changed while
    it was read: what was read is used, not kept)."""
    name = table_name(collection, key)
    for folder in folders:
        found = load_table(folder / name, key)
        if found is not None:
            return found
    papers, still = read()
    catalog = PaperCatalog.of(papers)
    if still != key:
        return catalog
    for folder in folders:
        try:
            for old in folder.glob(f"papers-{collection}-*"):
                if not old.name.endswith(".tmp"):  # another process's file being written
                    old.unlink(missing_ok=True)
            save_table(catalog, folder / name, key)
            return catalog
        except OSError:
            continue  # a read-only store or a full disk: the next place, else memory only
    return catalog
