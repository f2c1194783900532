"""CLI commands for the daily reader: new, watch, show; and the --flagged/--bib/--ris options that
`papers` and `ask` gain. the logic lives in history.py,
watchlist.py, summary_check.py and export.py."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from assistant.cli.common import add_command, iso_date, positive_int
from assistant.errors import InputError, StoreError, StoreMissing
from assistant.markup import readable
from assistant.text import clean_latex
from assistant.types import SUMMARY_SECTIONS

NEW_EPILOG = """examples:
  digestqa new                         papers the last ingest added, per category, watch hits first
  digestqa new --previous 1            the ingest before that one
  digestqa new --since 2026-01-20      every ingest on or after that day (UTC)
  digestqa new --bib new.bib --json    also write them as BibTeX; print JSON"""

WATCH_EPILOG = """examples:
  digestqa watch add "KV cache compression"
  digestqa watch add "query optimization" --category cs.DB --author "Chen Ding"
  digestqa watch list
  digestqa watch run                   ask every watch over the last ingest's new papers
  digestqa watch run --all --md hits.md --atom hits.xml --bib hits.bib
  digestqa watch remove 2              (or the watch's exact text)"""

WATCH_ADD_EPILOG = """examples:
  digestqa watch add "KV cache compression"
  digestqa watch add "query optimization" --category cs.DB --author "Chen Ding"
"""
WATCH_LIST_EPILOG = """examples:
  digestqa watch list
  digestqa watch list --json"""
WATCH_REMOVE_EPILOG = """examples:
  digestqa watch remove 2              by its number in `watch list`
  digestqa watch remove "KV cache compression"
"""
WATCH_RUN_EPILOG = """examples:
  digestqa watch run                   over the last ingest's new papers
  digestqa watch run --all             over every stored paper
  digestqa watch run --md hits.md --atom hits.xml --bib hits.bib --json"""

SHOW_EPILOG = """examples:
  digestqa show 2601.16032             every field, the Chinese summary, and its number checks
  digestqa show 2601.16032 --json"""


def add_commands(sub, common) -> None:
    """new, watch, show; and the options `papers`, `ask` and `brief` gain (added after them)."""
    p = sub.add_parser("new", parents=[common], help="what the last ingest added (watch hits first)",
                       description="Papers added (and changed) by the last ingest that brought any, counted "
                                   "per category, each with its one-line contribution; papers a watch found "
                                   "come first.", epilog=NEW_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD", help="every ingest on or after this day")
    group.add_argument("--previous", type=positive_int, default=0, metavar="N",
                       help="the ingest N before the last one (1 = the one before)")
    p.add_argument("--no-changed", action="store_true", help="only papers new to the store, not edited ones")
    _add_export_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (fields in README, 'Daily use')")

    p = sub.add_parser("watch", parents=[common], help="standing questions answered over each ingest's new papers",
                       description="Saved questions or topics. After each ingest (unless ingest --no-watch) "
                                   "and on `watch run`, each is answered over the new papers only, with the "
                                   "same checked citations as `ask`.", epilog=WATCH_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    wsub = p.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    w = add_command(wsub, common, "add", "watch a question or topic",
                    "Save a question or topic; it is answered over each ingest's new papers (and on `watch run`).",
                    WATCH_ADD_EPILOG)
    w.add_argument("query", help="e.g. \"KV cache compression\"")
    w.add_argument("--category", "-c", action="append", default=[], metavar="CAT", help="only this category")
    w.add_argument("--author", "-a", action="append", default=[], metavar="NAME", help="only papers with this author")
    w.add_argument("--json", action="store_true", help="print the watch as JSON")
    w = add_command(wsub, common, "list", "the watches and their latest hits",
                    "Every watch with its number, when it last ran and the papers its latest run found.",
                    WATCH_LIST_EPILOG)
    w.add_argument("--json", action="store_true", help="print a JSON list of watches")
    w = add_command(wsub, common, "remove", "stop watching (number or exact text)",
                    "Stop watching a question: give its number in `watch list`, or its exact text.",
                    WATCH_REMOVE_EPILOG)
    w.add_argument("key", help="the watch's number in `watch list`, or its text")
    w.add_argument("--json", action="store_true", help="print the removed watch as JSON")
    w = add_command(wsub, common, "run", "answer every watch over the new papers now",
                    "Answer every watch now, over the last ingest's new papers (--all: over every stored "
                    "paper), with the same checked citations as `ask`; the papers each answer cites are its "
                    "hits, which can be written as Markdown, an Atom feed, BibTeX or RIS.",
                    WATCH_RUN_EPILOG)
    w.add_argument("--all", action="store_true", help="over every stored paper, not only the last ingest's")
    w.add_argument("--md", type=Path, metavar="FILE", help="write the hits as Markdown")
    w.add_argument("--atom", type=Path, metavar="FILE", help="write the hits as an Atom feed")
    _add_export_options(w)
    w.add_argument("--json", action="store_true", help="print a JSON list, one object per watch")

    p = add_command(sub, common, "show", "one paper in full, with its summary checks",
                    "One paper in full: title, id and link, category, authors, every digest it appeared in, "
                    "the digest's Chinese summary, the abstract (LaTeX rendered), and which numbers of the "
                    "summary the abstract does not state.", SHOW_EPILOG)
    p.add_argument("paper_id", metavar="ID", help="arXiv id, e.g. 2601.16032")
    p.add_argument("--json", action="store_true", help="print one JSON object: the paper's fields and summary_flags")

    papers = sub.choices["papers"]
    papers.add_argument("--flagged", action="store_true",
                        help="only papers whose Chinese TL;DR/Result states a number the abstract does not")
    _add_export_options(papers)
    _add_export_options(sub.choices["ask"], what="the cited papers")
    if "brief" in sub.choices:
        _add_export_options(sub.choices["brief"], what="the briefing's papers")


def _add_export_options(parser, what: str = "the listed papers") -> None:
    parser.add_argument("--bib", type=Path, metavar="FILE", help=f"write {what} as BibTeX")
    parser.add_argument("--ris", type=Path, metavar="FILE", help=f"write {what} as RIS (Zotero, EndNote)")




def export(args, papers) -> list[str]:
    """Write --bib/--ris files when asked; returns the paths written (for notes and JSON)."""
    from assistant.daily.export import write_papers  # the App's layers: see cli/__init__.py

    written = []
    for kind in ("bib", "ris"):
        path = getattr(args, kind, None)
        if path is not None:
            try:
                written.append(str(write_papers(path, papers, kind)))
            except OSError as exc:
                raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return written


def filter_flagged(args, app, papers):
    """`papers --flagged`: keep papers with summary flags."""
    if not getattr(args, "flagged", False):
        return papers
    from assistant.daily.summary_check import SummaryChecks  # the App's layers: see cli/__init__.py

    flags = SummaryChecks(app.settings).flags(app.store)
    return [p for p in papers if p.id in flags]


def answer_exports(args, answer) -> None:
    """`ask --bib/--ris`: the answer's cited papers."""
    cited = [s.paper for s in answer.sources if s.id in answer.cited_ids]
    for path in export(args, cited):
        print(f"wrote {len(cited)} cited paper(s) to {path}", file=__import__("sys").stderr)


# -- new ----------------------------------------------------------------------------------------------

def run_new(args, app) -> int:
    from assistant.daily.whatsnew import new_papers  # the App's layers: see cli/__init__.py

    view = new_papers(app, args.since, args.previous, not args.no_changed)
    stored = app.catalog() if (args.bib or args.ris) else {}
    written = export(args, [stored[p["id"]] for p in view["papers"] if p["id"] in stored])
    if args.json:
        print(json.dumps(view | {"written": written}, ensure_ascii=False))
        return 0
    if not view["ingests"]:
        print("no ingest has added papers yet" + (f" since {args.since}" if args.since else "")
              + " (digestqa ingest PATH records what each one adds)")
        return 0
    for ingest in view["ingests"]:
        print(f"ingest {ingest['at']}: {ingest['added']} added, {ingest['changed']} changed "
              f"({', '.join(ingest['digests'][:3])}{', …' if len(ingest['digests']) > 3 else ''})")
    print(f"{view['count']} paper(s): " + ", ".join(f"{c} {n}" for c, n in view["categories"].items()))
    current = None
    for item in view["papers"]:
        group = "watch hits" if item["watches"] else item["category"]
        if group != current:
            current = group
            print(f"\n{group}")
        mark = " (changed)" if item["kind"] == "changed" else ""
        watches = f"  ★ {'; '.join(item['watches'])}" if item["watches"] else ""
        print(f"  [{item['id']}] {_short(item['title'], 90)}{mark}{watches}")
        print(f"      {_short(item['contribution'], 150)}")
    for path in written:
        print(f"\nwrote {path}")
    return 0


# -- watch --------------------------------------------------------------------------------------------

def run_watch(args, app) -> int:
    from assistant.daily.watchlist import Watchlist  # the App's layers: see cli/__init__.py

    watchlist = Watchlist(app.settings)
    action = args.watch_command
    if action == "add":
        try:
            catalog = app.catalog() if args.category else {}
        except StoreMissing:  # watches may be added before the first ingest: nothing to check against yet
            catalog = {}
        counts: dict[str, int] = {}
        for paper in catalog.values():
            counts[paper.category] = counts.get(paper.category, 0) + 1
        watch = watchlist.add(args.query, args.category, args.author, counts or None)
        print(json.dumps(asdict(watch), ensure_ascii=False) if args.json
              else f"watching #{watch.id}: {watch.label} (answered after each ingest; digestqa watch run)")
        return 0
    if action == "remove":
        watch = watchlist.remove(args.key)
        print(json.dumps(asdict(watch), ensure_ascii=False) if args.json else f"removed #{watch.id}: {watch.label}")
        return 0
    if action == "list":
        watches = watchlist.watches()
        if args.json:
            print(json.dumps([asdict(w) for w in watches], ensure_ascii=False))
            return 0
        if not watches:
            print("no watches (digestqa watch add \"a question or topic\")")
        for watch in watches:
            when = f"last run {watch.last_run}, {len(watch.hits)} hit(s)" if watch.last_run else "not run yet"
            print(f"#{watch.id} {watch.label}  — {when}")
            for hit in watch.hits:
                print(f"     [{hit.id}] {_short(hit.title, 90)}")
        return 0
    paper_ids = sorted(app.catalog()) if args.all else None
    results = watchlist.run(app, paper_ids)
    return print_watch_results(args, app, results)


def print_watch_results(args, app, results) -> int:
    from assistant.daily.export import hits_atom, hits_markdown  # the App's layers: see cli/__init__.py

    written = []
    if getattr(args, "md", None):
        Path(args.md).write_text(hits_markdown(results), encoding="utf-8")
        written.append(str(args.md))
    if getattr(args, "atom", None):
        written.append(str(hits_atom(results, args.atom)))
    stored = app.catalog() if (getattr(args, "bib", None) or getattr(args, "ris", None)) else {}
    written += export(args, [stored[pid] for pid in dict.fromkeys(h.id for r in results for h in r.hits)
                             if pid in stored])
    if args.json:
        print(json.dumps([watch_result_dict(r) for r in results], ensure_ascii=False))
        return 0
    if not results:
        print("no watches (digestqa watch add \"a question or topic\")")
    print_hits(results)
    for path in written:
        print(f"wrote {path}")
    return 0


def print_hits(results) -> None:
    for result in results:
        print(f"#{result.watch.id} {result.watch.label}: " + (
            f"{len(result.hits)} new paper(s)" if result.hits else f"nothing new (over {result.searched} new paper(s))"))
        for hit in result.hits:
            print(f"   [{hit.id}] {_short(hit.title, 90)} ({hit.category})")
            if hit.sentence:
                print(f"      {_short(hit.sentence, 150)}")


def after_ingest(args, app, report) -> dict | None:
    """The ingest hook: answer the watches over what this ingest added or changed. Skipped with
    --no-watch, when nothing is new, or when there are no watches (then it costs one file check)."""
    from assistant.daily.watchlist import Watchlist  # the App's layers: see cli/__init__.py

    if getattr(args, "no_watch", False) or not (report.added or report.changed):
        return None
    watchlist = Watchlist(app.settings)
    try:
        if not watchlist.path.exists() or not watchlist.watches():
            return None
        results = watchlist.run(app)
    except StoreError as exc:  # the papers are stored: the ingest succeeded, the watchlist could not run
        print(f"digestqa: warning: the watchlist was not run: {exc}", file=sys.stderr)
        return {"watches": None, "watch_error": str(exc)}
    if not args.json:
        print("\nwatchlist (over this ingest's new papers):")
        print_hits(results)
    return {"watches": [watch_result_dict(r) for r in results]}


def watch_result_dict(result) -> dict:
    return {"id": result.watch.id, "query": result.watch.query, "categories": result.watch.categories,
            "authors": result.watch.authors, "searched": result.searched, "refused": result.refused,
            "hits": [asdict(h) for h in result.hits]}


# -- show ---------------------------------------------------------------------------------------------

def run_show(args, app) -> int:
    from assistant.daily.summary_check import check_paper  # the App's layers: see cli/__init__.py

    paper = app.catalog().get(args.paper_id.strip().removeprefix("arXiv:").split("v")[0]
                                   if "/" not in args.paper_id else args.paper_id.strip())
    if paper is None:
        raise InputError(f"no paper {args.paper_id} in {app.settings.store_label} (digestqa papers lists them)")
    flags = check_paper(paper)
    if args.json:
        print(json.dumps(asdict(paper) | {"url": paper.url, "summary_flags": [f.to_dict() for f in flags]},
                         ensure_ascii=False))
        return 0
    print(f"{clean_latex(paper.title)}\n[{paper.id}] {paper.url}\n{paper.category} · {', '.join(paper.authors)}")
    where = app.digests().paper_labels(paper)  # every digest it appeared in, named as everywhere else
    print(f"digest{'s' if len(where) != 1 else ''}: {', '.join(where) or 'unknown'}")
    labels = {"tldr": "TL;DR", "motivation": "Motivation", "method": "Method", "result": "Result",
              "conclusion": "Conclusion"}
    for name in SUMMARY_SECTIONS:
        if getattr(paper, name):
            print(f"\n{labels[name]}: {clean_latex(getattr(paper, name))}")
    print(f"\nAbstract: {clean_latex(paper.abstract)}")
    print("\nSummary check: " + ("every number of the TL;DR and Result is in the abstract" if not flags
                                 else f"{len(flags)} number(s) not in the abstract"))
    for flag in flags:
        print(f"  ⚠ {flag.number} ({labels[flag.section]})\n     summary:  {flag.summary_sentence}\n"
              f"     abstract: {flag.abstract_sentence}")
    return 0


def _short(text: str, width: int) -> str:
    text = readable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


COMMANDS = {"new": run_new, "watch": run_watch, "show": run_show}
