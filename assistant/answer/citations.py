"""Citation verification: every answer passes through here before anyone sees it.

1. Citations of ids that are not among the retrieved sources are removed and reported.
2. Each sentence is checked against the papers it cites (its own citations, else those of its
   paragraph): every number in it must occur in a cited paper, and most of its key terms
   (IDF-weighted) must too. A sentence that fails is flagged inline and listed.
3. A sentence stating a number with no citation anywhere in its paragraph is flagged as uncited.
4. A sentence whose every citation was removed in step 1 is flagged: what it says rests on a paper
   nobody retrieved ("According to [9999.99999], accuracy is 99%." would read "According to,
   accuracy is 99%." unmarked otherwise).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.evidence import PaperTerms, TermWeights, paper_terms
from assistant.arxiv_ids import CITATION_GROUP, ID_IN_TEXT, cited_ids_in, group_ids
from assistant.search.lexical import tokenize
from assistant.text import numbers_in, paper_text, split_sentences
from assistant.types import Citation, Source, warning

# The same group with the spaces before it: a removed group takes them along, so "*Title [fake]*"
# becomes "*Title*", not the broken Markdown "*Title *".
_GROUP_WITH_SPACE = re.compile(rf"([ \t]*){CITATION_GROUP.pattern}", re.I)
FLAG = " ⚠"
MIN_TERM_SUPPORT = 0.5


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
        return f"{match.group(1)}[{', '.join(dict.fromkeys(kept))}]" if kept else ""

    cleaned = _GROUP_WITH_SPACE.sub(keep_known, text)
    lines_out, citations = [], []
    for raw_line in text.split("\n"):
        line = _GROUP_WITH_SPACE.sub(keep_known, raw_line)
        line_ids = cited_ids_in(line)
        if not line.strip():
            lines_out.append(line)
            continue
        if re.search(r"[:：]\s*$", line) and not line_ids:
            lines_out.append(line)  # a line introducing a list frames the claims below it
            continue
        prefix = re.match(r"^\s*(?:[-*•]|\d+[.)])\s+", raw_line)
        body = raw_line[prefix.end():] if prefix else raw_line
        pieces, flagged_here = [], False
        for original in split_sentences(body):
            sentence = _GROUP_WITH_SPACE.sub(keep_known, original).strip()
            if not sentence:
                continue
            own = cited_ids_in(sentence)
            lost = [pid for pid in cited_ids_in(original) if pid not in by_id]
            if lost and not own:
                # It cited only papers that are not sources: what it says rests on nothing shown.
                citation = Citation(sentence, [], False, f"its citation of {', '.join(lost)} was removed "
                                                         "(not among the sources)")
            else:
                citation = _check(sentence, own or line_ids, by_id, weights)
            if citation is not None:
                citations.append(citation)
                if not citation.supported:
                    sentence, flagged_here = sentence + FLAG, True
            pieces.append(sentence)
        if not flagged_here:
            lines_out.append(line)  # as written: what was streamed to the reader stays exactly what is shown
            continue
        joiner = "" if re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$", pieces[0] if pieces else "") else " "
        lines_out.append((prefix.group(0) if prefix else "") + joiner.join(pieces))
    verified = Verified("\n".join(lines_out).strip(), cited_ids_in(cleaned), removed, citations)
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
    available_terms = PaperTerms.union(paper_terms(p) for p in cited)  # Chinese words segmented only if asked about
    support = weights.coverage(terms, available_terms)
    if terms and support < MIN_TERM_SUPPORT:
        return Citation(sentence, ids, False, f"only {support:.0%} of its key terms occur in {', '.join(ids)}")
    return Citation(sentence, ids, True)


def _is_part_of_id(number: str, ids: list[str]) -> bool:
    return any(number in pid for pid in ids)
