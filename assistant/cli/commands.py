"""The `digestqa` command line: the parser, the store commands (ingest, papers, search, stats) and
dispatch to every command group. It parses input, calls `App` and renders output; no logic lives here."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from assistant.cli import answer, brief, daily, evals, launch_ui, mcp
from assistant.cli.common import add_command, add_filters, filters_from, iso_date, positive_int, shown
from assistant.config import available_presets, load_settings
from assistant.errors import DigestQAError
from assistant.text import shorten

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


INGEST_EPILOG = """examples:
  digestqa ingest ../shared/digests            every digest of a folder
  digestqa ingest 2026-01-22.md --json         one file; print the report as JSON
  digestqa ingest digest.md --date 2026-01-22  a file whose name carries no date"""
PAPERS_EPILOG = """examples:
  digestqa papers --category cs.DB             one category
  digestqa papers --since 2026-01-20 --json    papers of digests from that day on, as JSON
  digestqa papers --author "Chen Ding"         one author's papers
  digestqa papers --flagged                    summaries that state a number their abstract does not
  digestqa papers --category cs.DB --bib db.bib --ris db.ris"""
SEARCH_EPILOG = """examples:
  digestqa search "KV cache eviction" -k 5     the five best papers, with scores
  digestqa search "联邦学习" --mode lexical      keywords only
  digestqa search 2601.16032                   one paper by its id"""
STATS_EPILOG = """examples:
  digestqa stats
  digestqa stats --json                        one object (papers, chunks, digests, categories, summary_flags)
  digestqa stats --store ~/papers/vectorstore  another store"""


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

    p = add_command(sub, common, "ingest", "parse digests and store their papers (idempotent)",
                    "Parse digest files (.md/.txt, or folders of them) and store every paper. Re-running "
                    "changes nothing; an edited entry replaces its old chunks; an interrupted run resumes "
                    "where it stopped. Afterwards the watchlist is answered over the new papers.", INGEST_EPILOG)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="digest files or folders")
    p.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD",
                   help="the digest's day, when the file name carries no YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--no-watch", action="store_true", help="do not answer the watchlist over the new papers")

    p = add_command(sub, common, "papers", "list stored papers",
                    "List the stored papers (id, category, title, the digests it appeared in), filtered by "
                    "category, date, digest or author; export them as BibTeX or RIS; --flagged keeps those "
                    "whose Chinese summary states a number the abstract does not.", PAPERS_EPILOG)
    add_filters(p)
    p.add_argument("--json", action="store_true", help="print a JSON list")

    p = add_command(sub, common, "search", "ranked papers for a query (no LLM involved)",
                    "Hybrid search (dense embeddings + BM25, fused by reciprocal rank). A query that is an "
                    "arXiv id looks that paper up directly.", SEARCH_EPILOG)
    p.add_argument("query", help="what to look for, in English or Chinese, or an arXiv id")
    p.add_argument("-k", "--top-k", type=positive_int, default=None, help="how many papers (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid", help="which retrievers to use")
    add_filters(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of {id, title, category, score}")

    p = add_command(sub, common, "stats", "what the store holds",
                    "What the store holds: papers, chunks, size on disk, digests (in order, and which is the "
                    "latest), papers per category, and how many digest summaries state a number their "
                    "abstract does not.", STATS_EPILOG)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = add_command(sub, common, "repair", "rebuild a damaged vector index of the store",
                    "Find the store's vector index files that are damaged or not Chroma's (checked without "
                    "unpickling), move them aside and rebuild those indexes from the stored papers and chunks.",
                    "examples:\n  digestqa repair                  # the default store (vectorstore/)\n"
                    "  digestqa repair --store ~/papers  # another store\n  digestqa repair --json")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    # Every command group, in the order `--help` lists them (`daily` adds options to papers, ask and
    # brief, so it comes after them). A group that fails to import fails here, loudly.
    answer.add_commands(sub, common)
    evals.add_eval_command(sub, common)
    brief.add_brief_command(sub, common)
    launch_ui.add_ui_command(sub, common)
    daily.add_commands(sub, common)
    mcp.add_mcp_command(sub, common)
    return parser


def settings_from(args):
    overrides = {}
    if getattr(args, "store", None):
        overrides["store"] = Path(args.store)
    if getattr(args, "all_detail", False):
        overrides["list_detail"] = 0
    return load_settings(preset=getattr(args, "preset", None), **overrides)


def run_ingest(args, app) -> int:
    progress = None
    if not args.quiet:
        from tqdm import tqdm  # ~0.1 s to import: ingest only

        def progress(total: int):
            # papers/s always (tqdm's default flips to s/paper when slow) and the time left
            return tqdm(total=total, unit="paper", desc="embedding", file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} papers "
                                   "[{elapsed}, {rate_noinv_fmt}, ETA {remaining}]")
    report = app.ingest(args.paths, args.date, progress)

    if args.json:
        print(json.dumps(asdict(report) | (daily.after_ingest(args, app, report) or {}), ensure_ascii=False))
        return 0
    print(report.headline)
    for note in report.notes:
        print(f"  note: {note}")
    for row in report.replaced:
        print(f"  replaced {row['id']}: kept {_entry_place(row['kept'])}, dropped {_entry_place(row['dropped'])} "
              f"({', '.join(row['changed'])} differ; higher version > later digest > later ingest)")
    _print_problems("skipped", report.skipped)
    _print_problems("partial", report.partial)
    daily.after_ingest(args, app, report)
    return 0


def _entry_place(where: dict) -> str:
    place = f"{where['file']}:{where['line']}" if where.get("file") else f"the stored entry ({where.get('digest') or '?'})"
    details = [f"v{where['version']}" if where.get("version") else "", where.get("date") or ""]
    return place + (f" ({', '.join(d for d in details if d)})" if any(details) else "")


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

    papers = daily.filter_flagged(args, app, app.papers(filters_from(args, app)))
    written = daily.export(args, papers)
    known = app.digests()
    if args.json:
        print(json.dumps([{"id": p.id, "title": p.title, "category": p.category, "authors": p.authors,
                           "digests": p.digests, "dates": p.dates, "digest_labels": known.paper_labels(p)}
                          for p in papers], ensure_ascii=False))
        return 0
    for p in papers:
        print(f"{p.id:<14} {p.category:<9} {_short(shown(p.title), 70):<70}  {', '.join(known.paper_labels(p))}")
    print(f"{len(papers)} paper(s)" + "".join(f"; wrote {path}" for path in written))
    return 0


def run_search(args, app) -> int:
    if args.mode != "lexical":
        app.warm_up()
    result = app.search(args.query, args.top_k, filters_from(args, app), args.mode)
    if args.json:
        print(json.dumps([{"id": s.id, "title": s.paper.title, "category": s.paper.category, "score": s.score}
                          for s in result.sources], ensure_ascii=False))
        return 0
    if not result.sources:
        print("no matching papers" + (" (the filters left none)" if result.filtered_to == 0 else ""))
        return 0
    for rank, s in enumerate(result.sources, 1):
        print(f"{rank:>2}. [{s.id}] {shown(s.paper.title)}  ({s.paper.category}, score {s.score:.3f})")
        if s.passages:
            print(f"      {shorten(shown(s.passages[0].text), 150)}")
    return 0


def run_stats(args, app) -> int:
    stats = app.stats()
    known = app.digests()
    stats["digest_labels"] = {name: known.label(name) for name in stats.get("digest_names", [])}
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    size = f"{stats['store_bytes'] / 1e6:.1f} MB" if stats["store_bytes"] is not None else "on the server"
    print(f"store      {stats['store']} ({size})")
    print(f"papers     {stats['papers']}\nchunks     {stats['chunks']}\ndigests    {stats['digests']}")
    print(f"last ingest {stats['last_ingest']}")
    if stats["digest_labels"]:
        order, rule = known.ordered(stats["digest_labels"])
        print(f"digests    {'; '.join(known.label(n) for n in order)} (oldest first, {known.describe_rule(rule)})")
    print("categories " + ", ".join(f"{k} {v}" for k, v in stats["categories"].items()))
    if "summary_flags" in stats:
        print(f"summaries  {stats['summary_flags']} paper(s) state a number their abstract does not "
              "(digestqa papers --flagged)")
    return 0


def run_repair(args, app) -> int:
    from assistant.ingest.repair import repair_store  # the App's layers: see cli/__init__.py

    report = repair_store(app.settings, lambda: app.embedder)
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
        return 0
    if not report.moved:
        print(f"every vector index of {app.settings.store_label} reads; nothing to repair")
        return 0
    rebuilt = ", ".join(f"{name} ({count} records)" for name, count in report.rebuilt.items())
    print(f"rebuilt {rebuilt} in {report.seconds:.1f}s ({report.embedded} chunk(s) embedded again); "
          f"the damaged index folders are in {Path(report.moved[0]).parent}")
    return 0


def _short(text: str, width: int) -> str:
    """A table cell (a title in `papers`): one line of fixed width, so cut at the width."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


COMMANDS = {"ingest": run_ingest, "papers": run_papers, "search": run_search, "stats": run_stats, "repair": run_repair,
            **answer.COMMANDS,
            "eval": evals.run_eval, "brief": brief.run_brief, "ui": launch_ui.run_ui, **daily.COMMANDS, **mcp.COMMANDS}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    handler = COMMANDS[args.command]
    settings = app = None
    try:
        settings = settings_from(args)
        embedder = _model_loading(args, settings)
        from assistant.app import App  # (after the model started loading: it loads meanwhile)

        app = App(settings, embedder)
        try:
            return handler(args, app)
        except Exception as exc:
            if not _answer_from_a_copy(args, app, exc):
                raise
            # A full disk stopped Chroma while reading (it writes to its database to read it):
            # the command is answered again from a private copy made where there is room.
            return handler(args, app)
    except DigestQAError as exc:
        print(f"digestqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ndigestqa: interrupted; what was written is kept (re-run the same command to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a disk fault deep inside Chroma or a file write: name it, no traceback
        message = _fault_message(exc, settings, app)
        if message is None:
            raise
        print(f"digestqa: error: {message}", file=sys.stderr)
        return 2


def _model_loading(args, settings):
    """For a command that embeds a question (ask, chat, search other than lexical): the embedding
    model, already loading in a background thread (App.warm_up), so that it loads while this
    process imports everything else; else None."""
    if args.command not in ("ask", "chat", "search") or getattr(args, "mode", "hybrid") == "lexical":
        return None
    from assistant.ingest.embeddings import Embedder  # the App's layers (numpy): see cli/__init__.py

    embedder = Embedder(settings)
    embedder.load_in_background()
    return embedder


# Commands that only read the store: on a full disk they are answered from a private copy.
READ_COMMANDS = frozenset({"papers", "search", "stats", "ask", "show", "brief", "new"})


def _answer_from_a_copy(args, app, exc: Exception) -> bool:
    """True when `exc` is a full disk met by a read command on the store itself (then the App is
    switched to a private copy of the store); False otherwise."""
    from assistant.ingest.store import store_fault  # the App's layers: see cli/__init__.py

    store = app.__dict__.get("store")
    if args.command not in READ_COMMANDS or app.settings.uses_server or store is None or store.read_only:
        return False
    fault = exc if isinstance(exc, DigestQAError) else store_fault(exc, app.settings.store_label, Path(app.settings.store))
    if fault is None or "no space left" not in str(fault):
        return False
    app.use_private_copy()
    return True


def _fault_message(exc: Exception, settings, app=None) -> str | None:
    """One line for a damaged index or a disk fault (full, read-only, no permission), else None (a
    real bug: traceback)."""
    # The App's layers (see cli/__init__.py); a fault can come before the App imported them.
    from assistant.ingest.repair import explain_failure
    from assistant.ingest.store import store_fault

    store = app.__dict__.get("store") if app is not None else None
    where = Path(settings.store) if settings is not None and not settings.uses_server else None
    full = store_fault(exc, settings.store_label if settings is not None else "the store", where)
    damage = explain_failure(exc, store) if store is not None and full is None else None
    if damage is not None:
        return str(damage)

    label = settings.store_label if settings is not None else "the store"
    filename = getattr(exc, "filename", None)
    if isinstance(exc, OSError) and filename and settings is not None and not settings.uses_server:
        inside = Path(filename).resolve().is_relative_to(Path(settings.store).resolve())
        if not inside:  # a file outside the store: say which, not that the store is read-only
            return f"{exc.strerror or exc}: {filename}"
    where = Path(settings.store) if settings is not None and not settings.uses_server else None
    fault = store_fault(exc, label, where)
    return str(fault) if fault is not None else None


if __name__ == "__main__":
    sys.exit(main())
