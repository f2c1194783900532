"""Which papers a briefing covers: one category, and the latest digest unless told otherwise.

Digests whose file names carry no date (the real sample digests) leave papers with `dates == []`;
'the latest digest' is then decided by ingest order (see assistant/digests.py), and a notice says
which rule decided. Digests are shown by their readable labels ('digest 004 · 70 papers · …').
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.digests import DigestCatalog, digest_date_from_name
from assistant.errors import InputError
from assistant.ingest.paper_table import cards_of
from assistant.search.retrieval import Filters
from assistant.types import Paper, warning


@dataclass
class Selection:
    category: str  # as stored (the user's spelling may differ in case)
    ids: list[str]  # selected paper ids, sorted
    dates: list[str] = field(default_factory=list)  # ISO dates covered (empty for undated digests)
    digests: list[str] = field(default_factory=list)  # digest names covered
    label: str = ""  # 'digest 004 · 70 papers · 2601.18xxx–2601.19xxx', '2026-01-21', '2026-01-13 to 2026-01-22', 'all digests'
    label_zh: str = ""
    notices: list[str] = field(default_factory=list)


def _count_list(counts: dict[str, int], limit: int = 30) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k} ({v})" for k, v in items[:limit])
    return text + (f", … {len(items) - limit} more" if len(items) > limit else "")


def _where(papers: list[Paper], known: DigestCatalog) -> str:
    dates = sorted({d for p in papers for d in p.dates})
    if dates:
        return "dates " + ", ".join(dates[-12:]) + (" …" if len(dates) > 12 else "")
    return "digests " + ", ".join(_named(known, known.ordered({d for p in papers for d in p.digests})[0]))


def _named(known: DigestCatalog, names) -> list[str]:
    """'004_bb134045811f6403 (digest 004 · 70 papers · …)': the name to type, and what it is."""
    return [name if known.label(name) == name else f"{name} ({known.label(name)})" for name in names]


def select(catalog: dict[str, Paper], category: str, dates: list[str] | tuple = (), since: str | None = None,
           until: str | None = None, digests: list[str] | tuple = (), all_dates: bool = False,
           known: DigestCatalog | None = None) -> Selection:
    """Resolve the options to paper ids; an empty result is an InputError that says what exists.
    `known` labels the digests and orders them (built from the papers alone when not given).
    Reads the papers' cards only (paper_table.py: no paper's text is decoded)."""
    cards = list(cards_of(catalog))
    if known is None:
        known = DigestCatalog.build(cards)
    if not catalog:
        raise InputError("the store holds no papers: run `digestqa ingest PATH` first")
    if not category or not category.strip():
        raise InputError("give a category, e.g. --category cs.DB")
    wanted = category.strip().lower()
    in_category = [p for p in cards if p.category.lower() == wanted]
    if not in_category:
        counts: dict[str, int] = {}
        for p in cards:
            counts[p.category] = counts.get(p.category, 0) + 1
        raise InputError(f"no papers in category '{category}'; available categories: {_count_list(counts)}")
    canonical = in_category[0].category
    dates, digests = list(dates or ()), [known.resolve(d) or d for d in digests or ()]
    notices: list[str] = []

    if digests:
        stored = {d for p in cards for d in p.digests}
        unknown = [d for d in digests if d not in stored]
        if unknown and len(unknown) == len(digests):
            raise InputError(f"no stored digest named {', '.join(unknown)}; stored digests: "
                             f"{', '.join(_named(known, known.ordered(stored)[0]))}")
        for name in unknown:
            notices.append(warning(f"no stored digest named {name}"))

    if all_dates:
        chosen = in_category
        label, label_zh = "all digests", "全部摘要"
    elif dates or since or until or digests:
        filters = Filters(categories=(canonical,), dates=tuple(dates), since=since, until=until, digests=tuple(digests))
        chosen = [p for p in in_category if filters.matches(p)]
        label, label_zh = _describe(dates, since, until, [known.label(d, count=False) for d in digests],
                                    [known.label(d, "zh", count=False) for d in digests])
        if not chosen:
            undated = not any(p.dates for p in in_category) and (dates or since or until)
            hint = " (these digests carry no dates: select with --digest NAME or --all-dates)" if undated else ""
            raise InputError(f"no {canonical} papers in {label}{hint}; {canonical} papers are in "
                             f"{_where(in_category, known)}")
    else:
        latest, rule = known.latest({d for p in in_category for d in p.digests if d})
        day = known.infos[latest].date if latest in known.infos else None
        if day:  # every paper of that day, whichever digest file of the day it came in
            chosen = [p for p in in_category if day in p.dates]
            dates = [day]
            label = label_zh = day
        else:
            chosen = [p for p in in_category if latest in p.digests]
            digests = [latest]
            label, label_zh = known.label(latest, count=False), known.label(latest, "zh", count=False)
        newest, _ = known.latest()
        if newest != latest:
            notices.append(f"the latest digest ({known.label(newest)}) has no {canonical} papers; showing {label}")
        notices.append(f"latest digest chosen {known.describe_rule(rule)}")

    chosen_dates = sorted({d for p in chosen for d in p.dates
                           if (not dates or d in dates) and (not since or d >= since) and (not until or d <= until)})
    if digests:
        covered = [d for d in dict.fromkeys(digests) if any(d in p.digests for p in chosen)]
    else:
        covered = sorted({d for p in chosen for d in p.digests
                          if all_dates or _digest_in_dates(d, chosen_dates)})
    return Selection(category=canonical, ids=sorted(p.id for p in chosen), dates=chosen_dates, digests=covered,
                     label=label, label_zh=label_zh, notices=notices)


def _digest_in_dates(name: str, dates: list[str]) -> bool:
    day = digest_date_from_name(Path(name))
    return day is None or not dates or day in dates


def _describe(dates, since, until, labels, labels_zh) -> tuple[str, str]:
    """The selection in words; `labels` are the chosen digests' readable labels."""
    en, zh = [], []
    if labels:
        en.append(", ".join(x if x.startswith("digest") else f"digest {x}" for x in labels))
        zh.append("、".join(x if x.startswith("摘要") else f"摘要 {x}" for x in labels_zh))
    if dates:
        en.append(", ".join(sorted(dates)))
        zh.append("、".join(sorted(dates)))
    if since and until:
        en.append(f"{since} to {until}")
        zh.append(f"{since} 至 {until}")
    elif since:
        en.append(f"digests since {since}")
        zh.append(f"{since} 起")
    elif until:
        en.append(f"digests until {until}")
        zh.append(f"截至 {until}")
    return "; ".join(en), "；".join(zh)
