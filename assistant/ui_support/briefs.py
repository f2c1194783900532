"""The Briefing page's single call into `assistant.briefing`, and what it offers for download."""
from __future__ import annotations

import re

from assistant.errors import InputError

_FILE_UNSAFE = re.compile(r"[^\w.\-]+")


def make_briefing(app, category: str, *, dates=(), since: str | None = None, until: str | None = None,
                  digests=(), all_dates: bool = False, lang: str = "en", progress=None):
    try:  # imported here: a UI started before an update may find an older package (said below)
        from assistant.briefing import build_briefing
    except ImportError:
        raise InputError("briefings are not available in this installation (assistant.briefing has no "
                         "build_briefing); update digestqa, then restart `digestqa ui`") from None
    return build_briefing(app, category, dates=tuple(dates), since=since, until=until, digests=tuple(digests),
                          all_dates=all_dates, lang=lang, progress=progress)


def briefing_filename(briefing) -> str:
    dates = list(getattr(briefing, "dates", None) or [])
    span = dates[0] if len(dates) == 1 else (f"{dates[0]}_to_{dates[-1]}" if dates else "")
    span = span or getattr(briefing, "label", "") or "latest"
    return _FILE_UNSAFE.sub("_", f"briefing-{briefing.category}-{span}") + ".md"
