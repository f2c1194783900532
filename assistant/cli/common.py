"""What the command groups share: argument types, the filter options, one way to add a command,
and paper text made safe to print."""
from __future__ import annotations

import argparse
import sys
from datetime import date

from assistant.errors import InputError
from assistant.markup import readable
from assistant.text import strip_controls


def add_command(sub, common, name: str, help: str, description: str | None = None, epilog: str | None = None):
    """A sub-command with the shared options (--store, --preset); an epilog keeps its line breaks."""
    extra = {"epilog": epilog, "formatter_class": argparse.RawDescriptionHelpFormatter} if epilog else {}
    return sub.add_parser(name, parents=[common], help=help, description=description, **extra)


def iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got '{text}'") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got '{text}'") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 1 and 65535, got {value}")
    return value


def add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--category", "-c", action="append", default=[], metavar="CAT",
                       help="main category, e.g. cs.DB (repeat for several)")
    group.add_argument("--date", action="append", default=[], type=iso_date, metavar="YYYY-MM-DD",
                       help="papers from the digest of this day (repeatable)")
    group.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="papers from digests on or after this day")
    group.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD", help="papers from digests on or before this day")
    group.add_argument("--author", "-a", action="append", default=[], metavar="NAME", help="papers with this author")
    group.add_argument("--digest", action="append", default=[], metavar="NAME",
                       help="papers from this digest: its file name without extension, or its label "
                            "as shown ('digest 004', '004')")


def filters_from(args, app=None):
    """The filter options as Filters. With `app`: `--digest` also takes a digest's label ('digest 004',
    '004'); an unknown category is an error that lists the known ones (as `brief` does); an author no
    paper has is said on stderr."""
    from assistant.search.retrieval import Filters, author_matches  # the app's layers: see cli/__init__.py

    digests = tuple(args.digest)
    if app is not None and (digests or args.date or args.since or args.until):
        known = app.digests()
        resolved = {d: known.resolve(d) for d in digests}
        unknown = [d for d, name in resolved.items() if name is None]
        if unknown and known.infos:
            listed = "; ".join(f"{known.short(n)} ({n})" if known.short(n) != n else n for n in known.ordered()[0])
            raise InputError(f"unknown digest {', '.join(repr(d) for d in unknown)}; stored digests: {listed}")
        digests = tuple(name or d for d, name in resolved.items())
        if (args.date or args.since or args.until) and known.infos and not any(i.date for i in known.infos.values()):
            raise InputError("the stored digests carry no dates (their file names have no YYYY-MM-DD and none was "
                             "given with ingest --date), so --date/--since/--until match nothing; choose digests "
                             "with --digest NAME (digestqa stats lists them)")
    if app is not None and (args.category or args.author):
        from assistant.ingest.paper_table import cards_of  # the app's layers: see cli/__init__.py

        catalog = app.catalog()
        if catalog:
            counts: dict[str, int] = {}
            for paper in cards_of(catalog):  # (categories and authors: no paper's text decoded)
                counts[paper.category] = counts.get(paper.category, 0) + 1
            known_categories = {c.lower() for c in counts}
            unknown = [c for c in args.category if c.strip().lower() not in known_categories]
            if unknown:
                listed = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
                raise InputError(f"unknown category {', '.join(repr(c) for c in unknown)}; "
                                 f"available categories: {listed}")
            for name in args.author:
                if not any(author_matches(name, a) for p in cards_of(catalog) for a in p.authors):
                    print(f"digestqa: note: no stored paper has an author matching '{name}'", file=sys.stderr)
    return Filters(categories=tuple(args.category), dates=tuple(args.date), since=args.since, until=args.until,
                   authors=tuple(args.author), digests=digests)


def shown(text: str) -> str:
    """Paper text as printed: its LaTeX rendered, no control characters (stores written before they
    were stripped), and citation-like brackets in it shown as (id) so they never pass for checked citations."""
    from assistant.answer.citations import neutralize_citations  # the app's layers: see cli/__init__.py

    return neutralize_citations(strip_controls(readable(text)))


