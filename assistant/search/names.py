"""The specific things a question names (benchmarks, models, systems, hardware, acronyms) and the
figures it states as conditions ("with a 50% sparsity budget").

"What speed-up on WMT14 did the speculative-decoding paper report?", "Which papers study reward
hacking in RLHF?": a name like WMT14 or RLHF is what the question is about, and when no stored
paper mentions it anywhere the digests cannot answer, however close the papers' other words come
(the nearest speculative-decoding paper reports no translation result). Meaning-based retrieval
does not see this: a name and its neighbours embed alike. So the names are read here by their
form, and the chain checks them against the store's own vocabulary (LexicalIndex.mentions).

A name is a word with two or more capitals (RLHF, PeMS, TransE), a capital inside it (AlphaFold),
or letters with digits (WMT14, MI300X, PM2.5); hyphenated parts that are plain words are not part
of it ("AlphaFold-style" names AlphaFold; "RL-based" names RL). Numbers, with or without a unit
("50%", "7B", "3D"), are not names: readers round and restate figures ("0.9" for "0.90").

A figure the question states exactly ("with a 50% sparsity budget", "on the RTX 4090") is a
condition the answering paper must state too: quoting its 30% result for a question about 50% is a
wrong answer. Only standalone numbers count ("GPT-5.2", "4B", "2D", "50-series" are parts of names or
sizes), not years, not rounded ones ("~0.8M", "about 70,000", "约 7 万") and not Chinese 万/亿 amounts.

A name given as an example ("e.g. a GDPR deletion request", "models like TransE", "比如PM2.5",
"METR-LA style") illustrates the subject; it is not the subject, so it is marked `example`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.search.lexical import EN_STOPWORDS
from assistant.text import numbers_in, paper_text
from assistant.types import Paper

# An ASCII word with inner dots, hyphens or pluses ("PM2.5", "FlashAttention-2", "C++").
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-]*[A-Za-z0-9+]|[A-Za-z0-9]")
_NUMBER_WITH_UNIT = re.compile(r"^\d[\d.,]*[A-Za-z]{0,2}%?$")  # 50, 0.9, 7B, 0.8M, 3D, 4K
_ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
_CATEGORY_CODE = re.compile(r"^[a-z-]+\.[A-Z]{2}$")  # cs.IR: a category, read elsewhere
# Where an example begins, and what ends its clause.
_EXAMPLE_BEFORE = re.compile(r"(?:\be\.?g\.?|\bsuch as|\b(?<!would )(?<!'d )like|\bfor (?:example|instance)|\bsay,"
                             r"|比如|例如|譬如|诸如|像|如)\s*$", re.I)
_CLAUSE_END = re.compile(r"[,;:()\[\]?!。，；：（）？！—–]|\s-\s")
_EXAMPLE_WITHIN = re.compile(r"\be\.?g\.?|\bsuch as\b|\bfor (?:example|instance)\b|比如|例如|譬如|诸如", re.I)
# "(METR-LA / PeMS style)": names listed before the "style" that makes them examples.
_STYLE_LATER = re.compile(r"^[\sA-Za-z0-9./+\-]*?(?:\bor\b|/)[\sA-Za-z0-9./+\-]*?[\s-]style\b", re.I)
_EXAMPLE_AFTER = re.compile(r"^(?:[\s-]*(?:style|like|-style)\b|\s*(?:那样|那种|之类|等))", re.I)


# A standalone number, optionally a percentage or factor; not part of a word, name or version.
_FIGURE = re.compile(r"(?<![\w.\-])(\d+(?:[.,]\d+)*)(?:x\b|×|%)?(?![\w\-]|[.,]\d)(\s*(?:percent|万|亿|千)?)")
_ROUNDED = re.compile(r"(~|≈|\babout|\baround|\broughly|\bapproximately|\bnearly|\balmost|\bover|\bmore than"
                      r"|\bunder|\bless than|\bat least|\bup to|约|大约|近|超过|至少)\s*$", re.I)
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class Name:
    """One thing a question names, as written, and whether it is given as an example."""

    text: str
    parts: tuple[str, ...]  # its lowercased pieces ("flashattention", "2"): how the store may split it
    example: bool = False


def _is_name_part(part: str) -> bool:
    letters = [c for c in part if c.isalpha()]
    if len(letters) < 1 or part.lower() in EN_STOPWORDS:
        return False
    capitals = sum(c.isupper() for c in letters)
    inner_capital = any(c.isupper() for c in part[1:]) and any(c.islower() for c in part)
    letters_and_digits = any(c.isdigit() for c in part) and not _NUMBER_WITH_UNIT.match(part)
    return capitals >= 2 or inner_capital or letters_and_digits


def _singular(part: str) -> str:
    """'LLMs' -> 'LLM', 'GPUs' -> 'GPU' (an acronym's plural); anything else as written."""
    return part[:-1] if len(part) > 2 and part.endswith("s") and part[:-1].isupper() else part


def names_in(question: str) -> list[Name]:
    """The names in the question, in order, each once."""
    found: dict[str, Name] = {}
    for match in _WORD.finditer(question):
        word = match.group().rstrip(".")
        if _ARXIV_ID.match(word) or _CATEGORY_CODE.match(word) or word.lower().startswith("arxiv"):
            continue
        # Consecutive name-like pieces of a hyphenated word make one name ("METR-LA", "LLaMA-7B");
        # plain words split it ("ANN-to-SNN" names ANN and SNN; "AlphaFold-style" names AlphaFold).
        groups: list[list[str]] = [[]]
        for piece in word.split("-"):
            piece = _singular(piece)
            if _is_name_part(piece) or (groups[-1] and _NUMBER_WITH_UNIT.match(piece)):
                groups[-1].append(piece)
            elif groups[-1]:
                groups.append([])
        for group in (g for g in groups if g):
            text = "-".join(group)
            if text.lower() in found:
                continue
            start = question.find(text, match.start())
            before = _CLAUSE_END.split(question[:max(start, 0)])[-1]
            after = question[match.end():]
            rest_of_clause = _CLAUSE_END.split(after)[0]
            example = bool(_EXAMPLE_BEFORE.search(before) or _EXAMPLE_WITHIN.search(before)
                           or _EXAMPLE_AFTER.match(after) or word.lower().endswith(("-style", "-like"))
                           or _STYLE_LATER.match(rest_of_clause))
            found[text.lower()] = Name(text, tuple(p.lower() for p in group), example)
    return list(found.values())


def stated_figures(question: str) -> list[str]:
    """The figures the question states as conditions, as written ("50%", "0.9", "3.5x"), each once."""
    found: list[str] = []
    for match in _FIGURE.finditer(question):
        number, unit = match.group(1), match.group(2).strip()
        before = question[:match.start()]
        if (unit in ("万", "亿", "千") or _YEAR.match(number) or _ROUNDED.search(before)
                or _ARXIV_ID.match(question[match.start():].split()[0].rstrip("?,.;:)"))):
            continue
        clause = _CLAUSE_END.split(before)[-1]
        if _EXAMPLE_BEFORE.search(clause) or _EXAMPLE_WITHIN.search(clause):
            continue
        written = question[match.start():match.end()].strip()
        if written not in found:
            found.append(written)
    return found


def figure_value(figure: str) -> float | None:
    """The number of a figure as written ("50%" -> 50.0, "1,024" -> 1024.0)."""
    match = re.match(r"\d+(?:[.,]\d+)*", figure)
    try:
        return float(match.group().replace(",", "")) if match else None
    except ValueError:  # "1.2.3"
        return None


def unstated_figures(paper: Paper, figures: list[str]) -> list[str]:
    """The figures whose number the paper's entry does not state ("50%" is stated by "50", "0.9" by
    "0.90")."""
    stated = {figure_value(n) for n in numbers_in(paper_text(paper))}
    return [f for f in figures if figure_value(f) not in stated]
