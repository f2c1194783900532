"""LLM screening of a set question's candidates, the way a systematic review screens titles and abstracts.

With an LLM configured, the model, not the word rules, decides which candidates a "which papers …"
question is about. Each candidate is shown to the model (title and the start of its abstract), in
batches that fit its context, and it answers one line per paper: YES (about the subject), NO (about
something else) or UNSURE, with a phrase quoted from that paper. A verdict counts only when it is
confident: YES or NO, with a quote that really is in that paper's text (a model that invents a
quote, or an id, is not believed). Then:

- a member (a paper the word rules put in the set) stays unless the model confidently says NO; it is
  then excluded, and the quote says why;
- any other candidate joins only on a confident YES;
- an id the model writes that was not a candidate is ignored: the set only ever holds candidates.

It is bounded by a time and a token budget; when a budget runs out, the papers not yet screened keep
the word rules' decision and a notice says so. When the model fails (unreachable, timeout, context,
HTTP error) or answers nothing in the format, the word rules' members stand, with a notice.

Everything the model sees is data inside <paper> tags (prompts/screen_system.md says so).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Protocol

from assistant.answer.answerers.llm import Completion, sanitize
from assistant.arxiv_ids import find_arxiv_ids
from assistant.errors import BackendError
from assistant.prompts import load_prompt
from assistant.text import clean_latex, paper_text
from assistant.tokens import count_tokens, encoding_for_model
from assistant.types import Notice, Paper, Source

MAX_BATCH = 8  # papers per request: small models lose track of longer lists
EXCERPT_TOKENS = 160  # of each abstract: the first sentences say what a paper is about
REPLY_TOKENS_PER_PAPER = 60  # room for one verdict line per paper
MIN_QUOTE_WORDS = 3  # a shorter "quote" ("the paper") proves nothing
MIN_SECONDS_LEFT = 1.0  # a batch is not started with less time than this left
MAX_CANDIDATES = 30  # members first, then the candidates that state part of the subject
_VERDICT = re.compile(r"\b(YES|NO|UNSURE|MAYBE)\b", re.I)
_PAPER_TAG = re.compile(r"<\s*/?\s*paper\b", re.I)
_QUOTE = re.compile(r"[\"“「『]\s*(.+?)\s*[\"”」』]")


class ScreeningModel(Protocol):
    """What screening needs from an LLM: `LLMAnswerer` is one; tests use a deterministic fake."""

    name: str  # "llm:<model>", as answers name their backend

    def completion(self, messages: list[dict], timeout: float | None = None) -> Completion: ...


@dataclass(frozen=True)
class Budget:
    seconds: float = 60.0  # wall time for every batch together
    tokens: int = 30000  # prompt + reply tokens for every batch together (the server's count when it gives one)


@dataclass(frozen=True)
class Verdict:
    paper_id: str
    label: str  # YES | NO | UNSURE
    quote: str  # what the model quoted from the paper
    quoted: bool  # the quote really is in the paper's text

    @property
    def confident(self) -> bool:
        return self.label in ("YES", "NO") and self.quoted


@dataclass(frozen=True)
class Excluded:
    source: Source
    reason: str  # the model's quote from the paper, saying what it is about instead


@dataclass
class Screening:
    model: str  # "llm:<model>"
    kept: list[Source]  # the set after screening, in candidate order
    excluded: list[Excluded]  # members the model confidently screened out, with its reasons
    added: list[str] = field(default_factory=list)  # candidates outside the members that it confidently let in
    notices: list[Notice] = field(default_factory=list)
    cut: bool = False  # a budget ran out before every candidate was screened
    candidates: int = 0
    screened: int = 0  # candidates that got a verdict (confident or not)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    failed: str | None = None  # the BackendError code when the model failed (the members stand)
    tokens: int = 0
    seconds: float = 0.0
    batches: int = 0

    def to_json_dict(self) -> dict:
        return {"model": self.model.removeprefix("llm:"), "candidates": self.candidates, "screened": self.screened,
                "kept_ids": [s.id for s in self.kept], "added_ids": self.added,
                "excluded": [{"id": e.source.id, "title": e.source.paper.title, "reason": e.reason}
                             for e in self.excluded],
                "cut": self.cut, "failed": self.failed, "batches": self.batches, "tokens": self.tokens,
                "seconds": round(self.seconds, 3)}


class ScreeningNotice(Notice):
    """The notice a screening leaves beside the answer, carrying the screening itself: it travels with
    the retrieval's notices to the Answer (`Answer.screening`, `ask --json`'s `screening`)."""

    screening: Screening

    def __new__(cls, text: str, screening: Screening, kind: str = "info") -> ScreeningNotice:
        notice = super().__new__(cls, text, kind)
        notice.screening = screening
        return notice


def screen(question: str, candidates: list[Source], model: ScreeningModel, *, members: set[str] | None = None,
           budget: Budget = Budget(), context_tokens: int = 6000, language: str = "en") -> Screening:
    """Screen `candidates` (retrieval order) for `question`. `members`: ids that stay unless confidently
    excluded (default: every candidate); the others join only when confidently included."""
    members = {s.id for s in candidates} if members is None else set(members)
    started = time.perf_counter()
    label = model.name.removeprefix("llm:")
    encoding_model = label
    system, template = load_prompt("screen_system"), load_prompt("screen_user")
    overhead = count_tokens(system + template + question, encoding_model)
    batches = _batches(candidates, max(400, context_tokens - overhead), encoding_model, language)
    verdicts: dict[str, Verdict] = {}
    result = Screening(model.name, [], [], candidates=len(candidates))
    for batch in batches:
        elapsed = time.perf_counter() - started
        prompt = template.format(question=question, count=len(batch), papers="\n\n".join(b for _, b in batch),
                                 ids=", ".join(s.id for s, _ in batch))
        estimate = overhead + sum(count_tokens(b, encoding_model) for _, b in batch)
        reply_room = REPLY_TOKENS_PER_PAPER * len(batch)
        if budget.seconds - elapsed < MIN_SECONDS_LEFT or result.tokens + estimate + reply_room > budget.tokens:
            result.cut = True
            break
        try:
            reply = model.completion([{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                                     timeout=budget.seconds - elapsed)
        except BackendError as exc:
            if exc.code == "timeout" and time.perf_counter() - started >= budget.seconds * 0.95:
                result.cut = True  # our own time budget bounded the call: the rest is unscreened
                break
            return _failed(result, candidates, members, label, exc)
        result.batches += 1
        result.tokens += (sum(reply.usage.values()) if reply.usage.get("prompt_tokens")
                          else estimate + count_tokens(reply.text, encoding_model))
        verdicts.update(parse_verdicts(reply.text, {s.id: s.paper for s, _ in batch}))
        if not verdicts:  # a model that cannot follow the format on the first batch will not on the next
            result.seconds = time.perf_counter() - started
            return _failed(result, candidates, members, label,
                           BackendError("its reply did not follow the screening format", code="format"))
    result.seconds = time.perf_counter() - started
    result.verdicts = verdicts
    result.screened = len(verdicts)
    for source in candidates:
        verdict = verdicts.get(source.id)
        if source.id in members:
            if verdict and verdict.confident and verdict.label == "NO":
                result.excluded.append(Excluded(source, verdict.quote))
            else:
                result.kept.append(source)
        elif verdict and verdict.confident and verdict.label == "YES":
            result.kept.append(source)
            result.added.append(source.id)
    result.notices.append(_summary(result, label, len(members & {s.id for s in candidates}), budget))
    return result


def parse_verdicts(reply: str, papers: dict[str, Paper]) -> dict[str, Verdict]:
    """One verdict per line naming a paper of the batch (the first line per paper wins; ids that
    were not asked about are ignored). Formats small models drift into are accepted: "ID: yes - …"."""
    out: dict[str, Verdict] = {}
    for line in reply.splitlines():
        ids = [i for i in find_arxiv_ids(line) if i in papers]
        if len(ids) != 1 or ids[0] in out:
            continue
        rest = line.split(ids[0], 1)[1]
        found = _VERDICT.search(rest)
        if not found:
            continue
        verdict = found.group(1).upper().replace("MAYBE", "UNSURE")
        tail = rest[found.end():].strip(" \t|:,-–—")
        quoted = _QUOTE.search(tail)
        quote = quoted.group(1).strip() if quoted else tail.strip("\"'“”")
        out[ids[0]] = Verdict(ids[0], verdict, quote, is_quoted(quote, papers[ids[0]]))
    return out


def is_quoted(quote: str, paper: Paper) -> bool:
    """The quote is in the paper's text, word for word up to case, punctuation and LaTeX."""
    words = _plain(quote)
    if not words or (len(words.split()) < MIN_QUOTE_WORDS and not re.search(r"[\u4e00-\u9fff]{6}", words)):
        return False
    return words in _plain(clean_latex(paper_text(paper)))


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\u4e00-\u9fff]+", " ", text.lower()).split())


def paper_block(paper: Paper, encoding_model: str | None, language: str = "en") -> str:
    """Title and the start of the abstract (the Chinese TL;DR for a Chinese question, or when there
    is no abstract), as data inside a <paper> tag."""
    text = paper.abstract or paper.tldr
    if language == "zh" and paper.tldr:
        text = paper.tldr + "\n" + paper.abstract
    encoding = encoding_for_model(encoding_model)
    tokens = encoding.encode(clean_latex(text), disallowed_special=())
    excerpt = encoding.decode(tokens[:EXCERPT_TOKENS]) + (" …" if len(tokens) > EXCERPT_TOKENS else "")
    title = _data(clean_latex(paper.title)).replace('"', "'")
    return f'<paper id="{paper.id}" title="{title}">\n{_data(excerpt)}\n</paper>'


def _data(text: str) -> str:
    """Paper text cannot open or close a paper (or source) tag, whatever it contains."""
    return _PAPER_TAG.sub(lambda m: m.group(0).replace("<", "‹"), sanitize(text))


def _batches(candidates: list[Source], room: int, encoding_model: str | None,
             language: str) -> list[list[tuple[Source, str]]]:
    out: list[list[tuple[Source, str]]] = []
    current: list[tuple[Source, str]] = []
    used = 0
    for source in candidates:
        block = paper_block(source.paper, encoding_model, language)
        cost = count_tokens(block, encoding_model) + REPLY_TOKENS_PER_PAPER
        if current and (used + cost > room or len(current) >= MAX_BATCH):
            out.append(current)
            current, used = [], 0
        current.append((source, block))
        used += cost
    if current:
        out.append(current)
    return out


def _failed(result: Screening, candidates: list[Source], members: set[str], label: str,
            exc: BackendError) -> Screening:
    result.kept = [s for s in candidates if s.id in members]
    result.excluded, result.added, result.verdicts, result.screened = [], [], {}, 0
    result.failed = exc.code
    result.notices = [ScreeningNotice(f"LLM screening by model '{label}' failed ({exc}); the papers were chosen by "
                                      "the word rules", result, "warning")]
    return result


def _summary(result: Screening, label: str, members: int, budget: Budget) -> Notice:
    parts = [f"LLM screening by model '{label}' judged {result.screened} of {result.candidates} candidate(s)"]
    if result.excluded:
        parts.append(f"screened out {len(result.excluded)} (ask --screened, or `screening` in --json, lists them "
                     "with the model's reasons)")
    if result.added:
        parts.append(f"added {len(result.added)} the word rules had left out")
    if not result.excluded and not result.added:
        parts.append(f"and kept the {members} the word rules chose")
    if result.cut:
        parts.append(f"it stopped at its budget ({budget.seconds:g} s, {budget.tokens:,} tokens): the papers not "
                     "screened keep the word rules' decision")
    return ScreeningNotice("; ".join(parts), result, "warning" if result.cut else "info")


def screen_set(llm, question: str, sources: list[Source], members: list[Source],
               language: str = "en") -> tuple[list[Source], list[Notice]]:
    """The chain's one call (answer/chain.py, retrieve_set): with an LLM configured and a budget set,
    screen the members and the candidates that state part of the subject, and return the members it
    leaves, with its notice. Without an LLM (or with no member to refine) nothing changes."""
    settings = getattr(llm, "settings", None)
    if settings is None or not hasattr(llm, "completion") or not members or settings.llm_screen_seconds <= 0:
        return members, []
    related = [s for s in sources if not s.member and (s.membership or 0) > 0]
    candidates = (members + related)[:max(MAX_CANDIDATES, len(members))]
    context = llm.context_tokens() if hasattr(llm, "context_tokens") else settings.llm_context_tokens
    result = screen(question, candidates, llm, members={s.id for s in members}, context_tokens=context,
                    budget=Budget(settings.llm_screen_seconds, settings.llm_screen_tokens), language=language)
    kept = {s.id for s in result.kept}
    for source in candidates:
        source.member = source.id in kept
    return result.kept, result.notices
