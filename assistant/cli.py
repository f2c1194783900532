"""The `digestqa` command line: parses input, calls `App`, renders output. No logic lives here."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from .config import available_presets, load_settings
from .errors import DigestQAError

EPILOG = """examples:
  digestqa ingest ../shared/digests            store every paper of a folder of digests
  digestqa search "KV cache eviction" -k 5     ranked papers, no LLM involved
  digestqa ask "Which papers reduce L2 cache misses in attention kernels?"
  digestqa chat                                terminal chat with follow-up questions
  digestqa brief --category cs.LG              briefing of the latest digest's cs.LG papers
  digestqa eval evals/datasets/dev.jsonl       score answer quality offline
  digestqa ui                                  the web app in your browser
  digestqa stats

configuration: DIGESTQA_* environment variables or digestqa.toml (see README)."""


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got '{text}'") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--category", "-c", action="append", default=[], metavar="CAT",
                       help="main category, e.g. cs.DB (repeat for several)")
    group.add_argument("--date", action="append", default=[], type=_iso_date, metavar="YYYY-MM-DD",
                       help="papers from the digest of this day (repeatable)")
    group.add_argument("--since", type=_iso_date, metavar="YYYY-MM-DD", help="papers from digests on or after this day")
    group.add_argument("--until", type=_iso_date, metavar="YYYY-MM-DD", help="papers from digests on or before this day")
    group.add_argument("--author", "-a", action="append", default=[], metavar="NAME", help="papers with this author")
    group.add_argument("--digest", action="append", default=[], metavar="NAME",
                       help="papers from this digest file (its name without extension)")


def _filters(args):
    from .retrieval import Filters

    return Filters(categories=tuple(args.category), dates=tuple(args.date), since=args.since, until=args.until,
                   authors=tuple(args.author), digests=tuple(args.digest))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", default=argparse.SUPPRESS,
                        help="store directory (default: vectorstore/, env DIGESTQA_STORE)")
    common.add_argument("--preset", choices=available_presets(), default=argparse.SUPPRESS,
                        help="named configuration preset for the LLM backend")

    parser = argparse.ArgumentParser(prog="digestqa", parents=[common], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Ask questions about arXiv daily digests, offline, with checked citations.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="parse digests and store their papers (idempotent)",
                       description="Parse digest files (.md/.txt, or folders of them) and store every paper. "
                                   "Re-running changes nothing; an edited entry replaces its old chunks; "
                                   "an interrupted run resumes where it stopped.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="digest files or folders")
    p.add_argument("--date", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the digest's day, when the file name carries no YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    p = sub.add_parser("papers", parents=[common], help="list stored papers")
    _add_filters(p)
    p.add_argument("--json", action="store_true", help="print a JSON list")

    p = sub.add_parser("search", parents=[common], help="ranked papers for a query (no LLM involved)",
                       description="Hybrid search (dense embeddings + BM25, fused by reciprocal rank). "
                                   "A query that is an arXiv id looks that paper up directly.")
    p.add_argument("query", help="what to look for, in English or Chinese, or an arXiv id")
    p.add_argument("-k", "--top-k", type=_positive_int, default=None, help="how many papers (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid", help="which retrievers to use")
    _add_filters(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of {id, title, category, score}")

    p = sub.add_parser("stats", parents=[common], help="what the store holds")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    from . import cli_answer

    cli_answer.add_commands(sub, common, _add_filters)
    return parser


def settings_from(args):
    overrides = {}
    if getattr(args, "store", None):
        overrides["store"] = Path(args.store)
    return load_settings(preset=getattr(args, "preset", None), **overrides)


def run_ingest(args, app) -> int:
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        # papers/s always (tqdm's default flips to s/paper when slow) and the time left
        progress = lambda total: tqdm(total=total, unit="paper", desc="embedding", file=sys.stderr,  # noqa: E731
                                      bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} papers "
                                                 "[{elapsed}, {rate_noinv_fmt}, ETA {remaining}]")
    report = app.ingest(args.paths, args.date, progress)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
        return 0
    from .ui_support.uploads import headline  # the same sentence the web UI shows after an upload

    print(headline(report))
    _print_problems("skipped", report.skipped)
    _print_problems("partial", report.partial)
    return 0


def _print_problems(kind: str, items: list[dict], limit: int = 5) -> None:
    """One line per problem; a reason shared by many entries is one line with the first places."""
    by_reason: dict[str, list[str]] = {}
    for item in items:
        by_reason.setdefault(item["reason"], []).append(f"{item['file']}:{item['line']}")
    for reason, places in by_reason.items():
        if len(places) <= limit:
            for place in places:
                print(f"  {kind}  {place}: {reason}")
        else:
            print(f"  {kind}  {len(places)} entries: {reason}")
            print(f"           first at {', '.join(places[:3])}, … (ingest --json lists every one)")


def run_papers(args, app) -> int:
    papers = app.papers(_filters(args))
    if args.json:
        print(json.dumps([{"id": p.id, "title": p.title, "category": p.category, "authors": p.authors,
                           "digests": p.digests, "dates": p.dates} for p in papers], ensure_ascii=False))
        return 0
    for p in papers:
        print(f"{p.id:<14} {p.category:<9} {_short(p.title, 70):<70}  {', '.join(p.dates or p.digests)}")
    print(f"{len(papers)} paper(s)")
    return 0


def run_search(args, app) -> int:
    result = app.search(args.query, args.top_k, _filters(args), args.mode)
    if args.json:
        print(json.dumps([{"id": s.id, "title": s.paper.title, "category": s.paper.category, "score": s.score}
                          for s in result.sources], ensure_ascii=False))
        return 0
    if not result.sources:
        print("no matching papers" + (" (the filters left none)" if result.filtered_to == 0 else ""))
        return 0
    for rank, s in enumerate(result.sources, 1):
        print(f"{rank:>2}. [{s.id}] {s.paper.title}  ({s.paper.category}, score {s.score:.3f})")
        if s.passages:
            print(f"      {_short(s.passages[0].text, 150)}")
    return 0


def run_stats(args, app) -> int:
    stats = app.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    size = f"{stats['store_bytes'] / 1e6:.1f} MB" if stats["store_bytes"] is not None else "on the server"
    print(f"store      {stats['store']} ({size})")
    print(f"papers     {stats['papers']}\nchunks     {stats['chunks']}\ndigests    {stats['digests']}")
    print(f"last ingest {stats['last_ingest']}")
    print("categories " + ", ".join(f"{k} {v}" for k, v in stats["categories"].items()))
    return 0


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


COMMANDS = {"ingest": run_ingest, "papers": run_papers, "search": run_search, "stats": run_stats}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from . import cli_answer
    from .app import App

    handler = COMMANDS.get(args.command) or cli_answer.COMMANDS[args.command]
    try:
        app = App(settings_from(args))
        return handler(args, app)
    except DigestQAError as exc:
        print(f"digestqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ndigestqa: interrupted; what was written is kept (re-run the same command to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
