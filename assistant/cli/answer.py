"""`digestqa ask` and `digestqa chat`."""
from __future__ import annotations

import difflib
import json
import sys

from assistant.cli import daily
from assistant.cli.common import add_command, add_filters, filters_from, positive_int, shown
from assistant.errors import DigestQAError
from assistant.text import strip_controls  # an answer quotes stored text: nothing in it may steer the terminal
from assistant.types import Answer

ASK_EPILOG = """examples:
  digestqa ask "Which papers reduce L2 cache misses in attention kernels?"
  digestqa ask "How do KVzap and SIP differ in how they compress the KV cache?"
  digestqa ask "哪篇论文研究了数据清洗中的子集修复？" --category cs.DB
  digestqa ask "LoRA papers?" --all --bib lora.bib   every matching paper, each with a sentence
  digestqa ask "What does 2601.16032 report?" --json"""
CHAT_EPILOG = """examples:
  digestqa chat
  digestqa chat --category cs.LG -k 8
  printf 'Which papers study KV cache compression?\n' | digestqa chat"""


def add_commands(sub, common) -> None:
    p = add_command(sub, common, "ask", "answer a question with checked citations",
                    "Answer a question (English or Chinese) from the stored papers. Every citation is checked "
                    "against the retrieved sources; when the digests do not answer, it says so and shows the "
                    "nearest papers. Uses the extractive answerer unless an LLM is configured "
                    "(DIGESTQA_LLM_MODEL or --preset).", ASK_EPILOG)
    p.add_argument("question", help="the question, e.g. \"Which papers reduce L2 cache misses?\"")
    p.add_argument("-k", "--top-k", type=positive_int, default=None, help="papers to retrieve (default 5)")
    p.add_argument("--all", action="store_true", dest="all_detail",
                   help="for \"which papers…\" questions, give every matching paper a sentence (by default the "
                        "first 15 get one and the rest are listed by title; all are cited either way)")
    add_filters(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: answer, cited_ids, sources, refused, backend, timings, notices")
    p.add_argument("--verbose", "-v", action="store_true", help="also print per-stage timings")
    p.add_argument("--screened", action="store_true",
                   help="with an LLM configured, also list the papers its screening took out of a \"which papers…\" "
                        "answer, each with the model's reason (in --json: the `screening` field)")

    p = add_command(sub, common, "chat", "terminal chat with follow-up questions",
                    "Chat about the papers. Follow-ups such as \"and which of those use transformers?\" refer "
                    "to the previous answer. Commands: /reset starts over, /sources shows the last answer's "
                    "sources, /quit (or Ctrl-D) leaves. Questions piped in are answered one per line.",
                    CHAT_EPILOG)
    p.add_argument("-k", "--top-k", type=positive_int, default=None, help="papers to retrieve per question")
    add_filters(p)



def run_ask(args, app) -> int:
    app.warm_up()
    filters = filters_from(args, app)
    if args.json:
        answer = app.ask(args.question, filters, args.top_k)
        data, known = answer.to_json_dict(), app.digests()
        for item, source in zip(data["sources"], answer.sources, strict=False):  # readable names beside the file names
            item["digest_labels"] = known.paper_labels(source.paper)
        print(json.dumps(data, ensure_ascii=False))
        daily.answer_exports(args, answer)
        return 0
    answer = _stream_to_terminal(app.stream(args.question, filters, args.top_k))
    _print_footer(answer, args.verbose, known=app.digests())
    if args.screened:
        _print_screened(answer)
    daily.answer_exports(args, answer)
    return 0


def _print_screened(answer: Answer) -> None:
    """What the LLM's screening took out of a set answer, and why (issue 26)."""
    screening = answer.screening
    if screening is None:
        print("\nNo LLM screening: it runs for \"which papers…\" questions when an LLM is configured.", file=sys.stderr)
        return
    model = screening.model.removeprefix("llm:")
    if screening.failed:
        print(f"\nScreened out by {model}: none, its screening failed ({screening.failed}); the word rules chose the papers.")
        return
    if not screening.excluded:
        print(f"\nScreened out by {model}: none ({screening.screened} of {screening.candidates} candidates judged).")
        return
    print(f"\nScreened out by {model} ({len(screening.excluded)} of {screening.candidates} candidates):")
    for excluded in screening.excluded:
        title = shown(" ".join(excluded.source.paper.title.split()))
        print(f"  [{excluded.source.id}] {title}: \"{shown(excluded.reason)}\"")


def run_chat(args, app) -> int:

    app.warm_up()
    session = app.chat_session(filters_from(args, app))
    backend = app.answerer_name
    print(f"digestqa chat ({backend}; {app.settings.store_label}). /reset, /sources, /quit.", file=sys.stderr)
    interactive = sys.stdin.isatty()
    while True:
        try:
            # A prompt only for a person typing: questions piped in are echoed once they are read,
            # so a transcript never ends on an empty prompt.
            question = input("\nyou> " if interactive else "").strip()
        except EOFError:
            if interactive:
                print()
            return 0
        if not question:
            continue
        if question in ("/quit", "/exit", "/q"):
            return 0
        if not interactive:
            print(f"\nyou> {question}")
        if question == "/reset":
            session.reset()
            print("(conversation cleared)")
            continue
        if question == "/sources":
            if session.turns:
                _print_sources(session.turns[-1], app.digests())
            continue
        try:
            answer = _stream_to_terminal(session.stream(question, args.top_k))
        except DigestQAError as exc:
            print(f"digestqa: {exc}", file=sys.stderr)
            continue
        if answer.standalone_question and answer.standalone_question != answer.question:
            print(f"(read as: {answer.standalone_question})", file=sys.stderr)
        _print_footer(answer, verbose=False, sources=False)


def _stream_to_terminal(items) -> Answer:
    """Print the answer as it streams, once. When checking the citations changed it (a claim marked
    ⚠, a citation of a paper that is not a source removed), only the changed lines follow; the
    footer says why."""
    streamed = []
    answer = None
    for item in items:
        if isinstance(item, Answer):
            answer = item
        else:
            streamed.append(item)
            sys.stdout.write(strip_controls(item))
            sys.stdout.flush()
    shown = "".join(streamed).strip()
    if not shown:
        sys.stdout.write(strip_controls(answer.text))
    else:
        changed = changed_lines(shown, answer.text)
        if changed:
            why = "reasons below" if answer.unsupported or answer.removed_ids else "as checked"
            sys.stdout.write(f"\n\n--- checking the citations changed {len(changed)} line(s) ({why}) ---\n")
            sys.stdout.write(strip_controls("\n".join(changed)))
    sys.stdout.write("\n")
    return answer


def changed_lines(streamed: str, verified: str) -> list[str]:
    """The lines of the verified answer that differ from what was streamed (spacing aside); a line
    the check removed is shown as '(removed) …'."""
    old = [line for line in streamed.strip().split("\n")]
    new = [line for line in verified.strip().split("\n")]
    same = [" ".join(line.split()) for line in old], [" ".join(line.split()) for line in new]
    changes = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=same[0], b=same[1], autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            changes += [line for line in new[j1:j2] if line.strip()]
        if tag == "delete":
            changes += [f"(removed) {line}" for line in old[i1:i2] if line.strip()]
    return changes


def _print_footer(answer: Answer, verbose: bool, sources: bool = True, known=None) -> None:
    for notice in answer.notices:
        print(f"note: {notice}", file=sys.stderr)
    for citation in answer.unsupported:
        print(f"⚠ {citation.reason}: {citation.sentence[:120]}", file=sys.stderr)
    if sources:
        _print_sources(answer, known)
    if verbose:
        timings = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in answer.timings.items())
        print(f"[{answer.backend}] {timings}", file=sys.stderr)


def _print_sources(answer: Answer, known=None) -> None:
    """One line per source; `known` (a DigestCatalog) names its digests readably."""
    if not answer.sources:
        return
    print("\nSources:")
    for rank, source in enumerate(answer.sources, 1):
        mark = "*" if source.id in answer.cited_ids else " "
        where = ", ".join(known.paper_labels(source.paper) if known else source.paper.dates or source.paper.digests[:1])
        title = shown(' '.join(source.paper.title.split()))
        print(f" {mark}{rank:>2}. [{source.id}] {title} ({source.paper.category}; {where})")


COMMANDS = {"ask": run_ask, "chat": run_chat}
