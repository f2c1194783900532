"""Citation verification: every answer passes through here before anyone sees it.

1. Citations of ids that are not among the retrieved sources are removed and reported; a sentence
   left with no citation by that is flagged inline (its claim was attributed to a paper nobody checked).
2. Each sentence is checked against the papers it cites (its own citations, else those of its
   paragraph): every number in it must occur in a cited paper, and most of its key terms
   (IDF-weighted) must too. A sentence that fails is flagged inline and listed.
3. A sentence stating a number with no citation anywhere in its paragraph is flagged as uncited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.evidence import TermWeights, numbers_in, paper_terms, paper_text
from assistant.arxiv_ids import CITATION_GROUP, ID_IN_TEXT, cited_ids_in, group_ids
from assistant.search.lexical import tokenize
from assistant.text import split_sentences
from assistant.types import Citation, Source, warning

# The same group with the spaces before it: a removed group takes them along, so "*Title [fake]*"
# becomes "*Title*", not the broken Markdown "*Title *".
_GROUP_WITH_SPACE = re.compile(rf"([ \t]*){CITATION_GROUP.pattern}", re.I)
FLAG = " ⚠"
MIN_TERM_SUPPORT = 0.5
# Where a removed citation stood, until its sentence is checked (private-use characters: never in text).
_REMOVED = re.compile("\ue000([^\ue001]*)\ue001")


@dataclass
class Verified:
    text: str
    cited_ids: list[str]
    removed_ids: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def neutralize_citations(text: str) -> str:
    """Paper text for display: "[2601.99999]" inside a title is shown as "(2601.99999)", so a
    bracket in a paper's own text never looks like one of the checked citations."""
    return CITATION_GROUP.sub(lambda m: f"({m.group(1)})", text)


def verify_citations(text: str, sources: list[Source], weights: TermWeights) -> Verified:
    by_id = {s.id: s.paper for s in sources}
    removed: list[str] = []

    def keep_known(match: re.Match) -> str:
        kept = []
        for pid in group_ids(match.group(2)):
            if pid in by_id:
                kept.append(pid)
            elif pid and pid not in removed:
                removed.append(pid)
        if kept:
            return f"{match.group(1)}[{', '.join(dict.fromkeys(kept))}]"
        gone = [pid for pid in group_ids(match.group(2)) if pid]
        return f"\ue000{' '.join(gone)}\ue001"

    cleaned = _GROUP_WITH_SPACE.sub(keep_known, text)
    lines_out, citations = [], []
    for line in cleaned.split("\n"):
        line_ids = cited_ids_in(line)
        if not line.strip():
            lines_out.append(line)
            continue
        if re.search(r"[:：]\s*$", line) and not line_ids:
            lines_out.append(line)  # a line introducing a list frames the claims below it
            continue
        prefix = re.match(r"^\s*(?:[-*•]|\d+[.)])\s+", line)
        body = line[prefix.end():] if prefix else line
        pieces = []
        for sentence in split_sentences(body):
            gone = [pid for found in _REMOVED.findall(sentence) for pid in found.split()]
            sentence = _REMOVED.sub("", sentence)
            own = cited_ids_in(sentence)
            check_ids = own or line_ids
            if gone and not own:
                citation = Citation(sentence, [], False, f"its citation of {', '.join(gone)} was removed: "
                                                         "not among the sources")
            else:
                citation = _check(sentence, check_ids, by_id, weights)
            if citation is not None:
                citations.append(citation)
                if not citation.supported:
                    sentence = sentence + FLAG
            pieces.append(sentence)
        joiner = "" if re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$", pieces[0] if pieces else "") else " "
        lines_out.append((prefix.group(0) if prefix else "") + joiner.join(pieces))
    text = _REMOVED.sub("", "\n".join(lines_out)).strip()
    verified = Verified(text, cited_ids_in(cleaned), removed, citations)
    if removed:
        verified.notices.append(warning(f"removed citation(s) of paper(s) not among the sources: {', '.join(removed)}"))
    flagged = [c for c in citations if not c.supported]
    if flagged:
        verified.notices.append(warning(f"{len(flagged)} claim(s) marked ⚠ could not be verified against the cited papers"))
    return verified


def _check(sentence: str, ids: list[str], papers: dict, weights: TermWeights) -> Citation | None:
    claim = ID_IN_TEXT.sub(" ", CITATION_GROUP.sub("", sentence)).strip()
    numbers = {n for n in numbers_in(claim) if not re.fullmatch(r"(19|20)\d\d", n)}
    if not ids:
        if numbers:
            return Citation(sentence, [], False, "states a number without citing a paper")
        return None
    cited = [papers[i] for i in ids if i in papers]
    available_numbers = set().union(*(numbers_in(paper_text(p)) for p in cited)) if cited else set()
    missing = sorted(n for n in numbers if n not in available_numbers and not _is_part_of_id(n, ids))
    if missing:
        return Citation(sentence, ids, False, f"number(s) {', '.join(missing)} not found in {', '.join(ids)}")
    terms = tokenize(claim)
    available_terms = frozenset().union(*(paper_terms(p) for p in cited)) if cited else frozenset()
    support = weights.coverage(terms, available_terms)
    if terms and support < MIN_TERM_SUPPORT:
        return Citation(sentence, ids, False, f"only {support:.0%} of its key terms occur in {', '.join(ids)}")
    return Citation(sentence, ids, True)


def _is_part_of_id(number: str, ids: list[str]) -> bool:
    return any(number in pid for pid in ids)
