"""`digestqa brief`: a category briefing for the latest digest or chosen dates. """
from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.cli import daily
from assistant.cli.common import add_command, iso_date
from assistant.errors import InputError

DESCRIPTION = ("Summarise one category's papers over the latest digest (or chosen dates): an "
               "overview, themes with one cited line per paper, numbers worth knowing, and a "
               "table of every paper. Every selected paper appears exactly once.")
EPILOG = """examples:
  digestqa brief --category cs.DB                       the latest digest's cs.DB papers
  digestqa brief --category cs.LG --since 2026-01-13 --until 2026-01-22 --out brief.md
  digestqa brief --category eess.SP --lang zh --json    in Chinese, as one JSON object
  digestqa brief --category cs.LG --all-dates           every stored digest
  digestqa brief --category cs.CL --digest 2026-01-22   one digest by its file name

Without an LLM backend the briefing is extractive: themes come from clustering the papers'
embeddings and are named from the phrases they share; each line is the paper's own sentences.
With one configured (--preset or DIGESTQA_LLM_*), the model rewrites the wording; every citation
and number it writes is checked against the selected papers."""


def add_brief_command(sub, common) -> None:
    p = add_command(sub, common, "brief", "a briefing of one category's papers, with citations", DESCRIPTION, EPILOG)
    p.add_argument("--category", "-c", required=True, metavar="CAT", help="main category, e.g. cs.DB (case-insensitive)")
    when = p.add_argument_group("which digests (default: the latest one holding the category)")
    when.add_argument("--date", action="append", default=[], type=iso_date, metavar="YYYY-MM-DD",
                      help="the digest of this day (repeatable)")
    when.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="digests on or after this day")
    when.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD", help="digests on or before this day")
    when.add_argument("--digest", action="append", default=[], metavar="NAME",
                      help="a digest by its file name without extension (repeatable)")
    when.add_argument("--all-dates", action="store_true", help="every stored digest")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the briefing (default en)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: category, dates, papers, themes, numbers, markdown (and more)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the Markdown (or JSON with --json) to FILE")
    p.add_argument("--no-llm", action="store_true", help="extractive even when an LLM backend is configured")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")


class _StderrProgress:
    """Stage messages on stderr, so stdout stays clean for --json and pipes."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.quiet and done < total:
            step = f" ({done + 1}/{total})" if total > 1 else ""
            print(f"{stage}{step}…", file=sys.stderr, flush=True)


def run_brief(args, app) -> int:
    from assistant.briefing import build_briefing  # the App's layers: see cli/__init__.py

    if args.all_dates and (args.date or args.since or args.until or args.digest):
        raise InputError("--all-dates selects every digest: leave out --date/--since/--until/--digest")
    if args.since and args.until and args.since > args.until:
        raise InputError(f"--since {args.since} is after --until {args.until}")
    briefing = build_briefing(app, args.category, dates=args.date, since=args.since, until=args.until,
                              digests=args.digest, all_dates=args.all_dates, lang=args.lang,
                              use_llm=False if args.no_llm else None, progress=_StderrProgress(args.quiet))
    text = json.dumps(briefing.to_json_dict(), ensure_ascii=False, indent=2) if args.json else briefing.markdown
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text + ("\n" if args.json else ""), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {args.out} ({exc.strerror})") from None
    print(text)
    for notice in briefing.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.out:
        print(f"wrote {args.out}", file=sys.stderr)
    # --bib/--ris: the briefing's papers
    stored = app.catalog() if (getattr(args, "bib", None) or getattr(args, "ris", None)) else {}
    for path in daily.export(args, [stored[pid] for pid in briefing.papers if pid in stored]):
        print(f"wrote {path}", file=sys.stderr)
    return 0
