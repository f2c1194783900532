"""What the extractive briefing says, taken from the papers' own sentences, and the citation rules.

Every sentence shown is a sentence of the paper it is attached to (or its Chinese TL;DR), so the
extractive briefing invents nothing. `scrub` removes citations of papers outside the selection
from any text (LLM output, or an abstract that happens to cite an arXiv id).
"""
from __future__ import annotations

import re

from assistant.answer.sentences import contribution_sentence, result_sentence
from assistant.arxiv_ids import find_arxiv_ids
from assistant.markup import readable  # LaTeX rendered: what a reader of the briefing sees
from assistant.text import numbers_in, shorten, split_sentences
from assistant.types import Paper

LINE_WIDTH = 240
NUMBER_WIDTH = 300
_BRACKET = re.compile(r"\s?\[([^\[\]\n]{1,300})\](\([^()\s]*\))?")  # [ids] or a Markdown link [id](url)
_QUANTITY = re.compile(r"\d\s?(%|％|x\b|×|-?fold\b|times\b|倍|pp\b|points?\b|dB\b|ms\b|GB\b|MB\b|FPS\b)"
                       r"|×\s?\d|\bx\s?\d|\b(speed-?up|reduc|improv|outperform|faster|lower|higher|gain|accuracy|"
                       r"error|achiev|up to|increase|decrease)", re.I)
_STRONG = re.compile(r"\d\s?(%|％|x\b|×|-?fold|倍)|×\s?\d", re.I)
_ZH_QUANTITY = re.compile(r"\d\s?(%|％|倍|dB|ms|个百分点|点|分|x\b|×)|×\s?\d|提升|提高|降低|减少|优于|超过|达到", re.I)


def title(paper: Paper) -> str:
    return readable(" ".join(paper.title.split()))


def trim(text: str, width: int) -> str:
    """Prose shown to a reader, shortened by whole sentences or clauses, never mid-sentence."""
    return shorten(text, width)


def clip(text: str, width: int) -> str:
    """Text for a prompt's budget, cut at a word (the reader never sees it)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if " " in cut[width // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def paper_line(paper: Paper, lang: str = "en") -> str:
    """Key contribution and headline result: the Chinese TL;DR (zh), else the abstract's own sentences."""
    if lang == "zh" and paper.tldr.strip():
        return trim(readable(paper.tldr), LINE_WIDTH)
    contribution = contribution_sentence(paper, "en")
    result = result_sentence(paper) if paper.abstract else None
    parts = [trim(readable(contribution), LINE_WIDTH)]
    if result and result.strip() != contribution.strip():
        parts.append(trim(readable(result), LINE_WIDTH))
    return " ".join(p for p in parts if p) or title(paper)


def number_sentence(paper: Paper, lang: str = "en") -> tuple[float, str] | None:
    """The paper's most concrete quantitative sentence and how concrete it is (None: no numbers)."""
    candidates: list[tuple[float, str]] = []
    if lang == "zh" and paper.result:
        for sentence in split_sentences(paper.result):
            if _ZH_QUANTITY.search(sentence) and result_numbers(sentence):
                candidates.append((2.0 + (1.0 if _STRONG.search(sentence) else 0.0), sentence))
    if not candidates:
        for sentence in split_sentences(paper.abstract):
            found = result_numbers(sentence)
            if not found or not _QUANTITY.search(sentence):
                continue
            score = 1.0 + (1.5 if _STRONG.search(sentence) else 0.0) + 0.2 * min(3, len(found))
            score -= 0.5 if len(sentence) > 400 else 0.0
            candidates.append((score, sentence))
    if not candidates:
        return None
    score, sentence = max(candidates, key=lambda c: c[0])
    return score, trim(readable(sentence), NUMBER_WIDTH)


def result_numbers(sentence: str) -> set[str]:
    """Numbers that state results: not list markers ('1)'), exponents in names ('M^2'), or years."""
    text = re.sub(r"\^\{?\d+\}?|(?<![\d.])\d\)|\b(19|20)\d\d\b", " ", sentence)
    return numbers_in(text)


def numbers_limit(n: int) -> int:
    return max(3, min(15, round(n / 3)))


def scrub(text: str, allowed: set[str]) -> tuple[str, list[str]]:
    """Remove citations of ids outside `allowed`; a bracket left empty disappears. Returns (text, removed)."""
    removed: list[str] = []

    def fix(match: re.Match) -> str:
        inner = match.group(1)
        ids = find_arxiv_ids(inner)
        if not ids:
            return match.group(0)
        bad = [i for i in ids if i not in allowed]
        if not bad:
            return match.group(0)
        removed.extend(bad)
        keep = [i for i in ids if i in allowed]
        lead = " " if match.group(0).startswith(" ") else ""
        return f"{lead}[{', '.join(keep)}]" if keep else ""

    return _BRACKET.sub(fix, text), removed


def cited_ids(text: str) -> list[str]:
    return [i for m in _BRACKET.finditer(text) for i in find_arxiv_ids(m.group(1))]
