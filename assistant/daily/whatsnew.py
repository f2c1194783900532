"""What's new: the papers recent ingests added, with their contributions and the watchlist's hits
first. One view for the CLI (`digestqa new`) and the UI (the What's new page)."""
from __future__ import annotations

from collections import Counter

from assistant.answer.sentences import contribution_sentence
from assistant.daily.history import History
from assistant.daily.watchlist import Watchlist
from assistant.text import clean_latex


def new_papers(app, since: str | None = None, previous: int = 0, changed: bool = True) -> dict:
    """The 'what's new' view, shared by the CLI and the UI: a JSON-ready dict (fields in README)."""
    records = History(app.settings).select(since=since, previous=previous)
    kinds: dict[str, str] = {}
    for record in records:
        for pid in record.changed if changed else []:
            kinds.setdefault(pid, "changed")
        for pid in record.added:
            kinds[pid] = "added"
    stored = app.catalog() if kinds else {}
    hits = Watchlist(app.settings).hit_ids() if kinds else {}
    items = []
    for pid, kind in kinds.items():
        paper = stored.get(pid)
        if paper is None:
            continue  # removed from the store since
        items.append({"id": pid, "title": clean_latex(paper.title), "category": paper.category, "kind": kind,
                      "authors": paper.authors, "url": paper.url, "dates": paper.dates,
                      "contribution": clean_latex(contribution_sentence(paper)), "watches": hits.get(pid, [])})
    items.sort(key=lambda item: (not item["watches"], item["category"], item["id"]))
    return {"ingests": [{"at": r.at, "added": len(r.added), "changed": len(r.changed), "digests": r.digests}
                        for r in records],
            "count": len(items),
            "categories": dict(Counter(item["category"] for item in items).most_common()),
            "papers": items}
