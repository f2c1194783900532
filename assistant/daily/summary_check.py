"""Check the digest's own Chinese summaries against the paper's English abstract.

The TL;DR and Result sections are machine-written by the digest generator and readers trust them.
A number such a summary states must appear in the abstract (or title). Matching uses the citation
checker's normalisation (`evidence.numbers_in`: 50%, 1.29×, 3.4x, 1,024) and then forgives what a
fair translation does, each case seen in the 350 sample papers:

- list markers are not claims ("1）…；2）…", "1. …");
- Chinese magnitudes: 40亿 = 4B = 4 billion, 5万 = 50K = 50,000;
- English number words ("three benchmarks" -> 3个基准);
- rounding to fewer decimals (1.29 -> 1.3, 34.6 -> 35);
- a percentage written as a fraction or the other way round (83.5% <-> 0.835);
- ordinals ("99th percentile" -> 第99百分位);
- orders of magnitude ("two orders of magnitude" -> 100×);
- years (2024, 2025) and calendar words (5月 = May) are ignored, as the citation checker ignores them;
- both texts are read as rendered (assistant/markup.py), so a range is read as its two ends ("2到4倍"
  against "2--4$\\times$" or "2-4x") and a formula as the abstract means it ("log(1/ε)" against
  "$\\log\\frac{1}ε$").

A flag is a number with the summary sentence stating it and the abstract sentence nearest to it,
to be read side by side.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from assistant.daily.history import SCHEMA, daily_dir, read_json, write_json
from assistant.errors import StoreError
from assistant.text import clean_latex, numbers_in, split_sentences
from assistant.types import Paper

CHECKED_SECTIONS = ("tldr", "result")

# "1）", "2)", "3.", "4、" opening a list item: the summary's own numbering, not a claim.
_LIST_MARKER = re.compile(r"(^|[\s；;。，,：:（(])\d{1,2}\s*[)）.、](?!\d)")
_ZH_MAGNITUDE = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿|千)")
_ZH_SCALE = {"千": 1e3, "万": 1e4, "亿": 1e8}
_EN_MAGNITUDE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?|one|two|three|ten|a)\s*(K|M|B|thousand|million|billion|trillion)\b",
                           re.I)
_EN_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9, "trillion": 1e12}
_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                     "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000, "twice": 2,
               "double": 2, "doubles": 2, "triple": 3, "half": 50, "dozen": 12, "single": 1, "dual": 2})
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.I)
# "two orders of magnitude", "a two-order magnitude speedup" -> 100 (the summary writes 约100×).
_ORDERS = re.compile(r"\b(\d|one|two|three|four|five)[- ]orders?[- ](?:of[- ])?magnitude", re.I)
_ORDINAL = re.compile(r"(?<![\w.])(\d+)(?:st|nd|rd|th)\b")  # "99th-percentile" -> 第99百分位
_YEAR = re.compile(r"(19|20)\d\d")
# Calendar words: "5月" is May, "3日" a day; the abstract writes them as month names.
_CALENDAR = re.compile(r"\d{1,4}\s*(?:年|月|日|号)")


@dataclass(frozen=True)
class SummaryFlag:
    """A number a summary section states that the abstract does not."""

    section: str  # tldr | result
    number: str
    summary_sentence: str
    abstract_sentence: str  # the abstract's sentence most like it ("" when the abstract is empty)

    def to_dict(self) -> dict:
        return asdict(self)


def check_paper(paper: Paper) -> list[SummaryFlag]:
    """Every number of the TL;DR and Result sections that the English abstract and title do not state."""
    if not paper.abstract.strip():
        return []  # nothing to check against: a missing abstract is reported by the parser
    source = f"{paper.title}\n{paper.abstract}"
    exact: set[float] | None = None
    known: set[float] | None = None
    flags: list[SummaryFlag] = []
    seen: set[str] = set()
    for section in CHECKED_SECTIONS:
        for sentence in split_sentences(clean_latex(getattr(paper, section))):
            for number in sorted(summary_numbers(sentence), key=float):
                if number in seen:
                    continue
                # Most numbers are stated as they are (373 of 396 in the sample); the forgiving
                # forms are computed only when needed, which keeps a check near 1 ms a paper (measured on the sample).
                exact = exact if exact is not None else {float(n) for n in numbers_in(source)}
                if float(number) in exact:
                    continue
                known = known if known is not None else _source_values(source)
                if _matches(number, sentence, known):
                    continue
                seen.add(number)
                flags.append(SummaryFlag(section, number, sentence,
                                         _nearest(sentence, split_sentences(clean_latex(paper.abstract)))))
    return flags


def summary_numbers(sentence: str) -> set[str]:
    """The numbers a summary sentence states as claims (list markers and years left out)."""
    text = _CALENDAR.sub(" ", _LIST_MARKER.sub(lambda m: m.group(1) + " ", sentence))
    return {n for n in numbers_in(text) if not _YEAR.fullmatch(n)}


def _source_values(text: str) -> set[float]:
    values = {float(n) for n in numbers_in(text)}
    for number, unit in _EN_MAGNITUDE.findall(text):
        count = float(number) if number[0].isdigit() else _WORDS.get(number.lower(), 1)
        values.add(count * _EN_SCALE[unit.lower()])
    for number in _ORDINAL.findall(text):
        values.add(float(number))
    for count in _ORDERS.findall(text):
        values.add(10.0 ** (int(count) if count.isdigit() else _WORDS[count.lower()]))
    for word in _WORD.findall(text):
        values.add(float(_WORDS[word.lower()]))
    return values | {v * 100 for v in values if v < 1} | {v / 100 for v in values}


def _matches(number: str, sentence: str, known: set[float]) -> bool:
    value = float(number)
    candidates = {value}
    for stated, unit in _ZH_MAGNITUDE.findall(sentence):
        if stated == number:
            candidates.add(value * _ZH_SCALE[unit])
    decimals = len(number.split(".")[1]) if "." in number else 0
    for candidate in candidates:
        # A summary may round the abstract's number (1.29 -> 1.3), never the other way round.
        tolerance = 0.5 * 10 ** -decimals * (candidate / value if value else 1) + 1e-9
        if any(math.isclose(candidate, v, rel_tol=1e-9) or abs(candidate - v) <= tolerance for v in known):
            return True
    return False


def _nearest(sentence: str, abstract_sentences: list[str]) -> str:
    if not abstract_sentences:
        return ""
    stated = numbers_in(sentence)
    latin = set(re.findall(r"[A-Za-z][A-Za-z0-9\-]+", sentence.lower()))

    def score(candidate: str) -> tuple[int, int, int]:
        # Shared numbers, then shared English names (model, dataset), then any number: a Chinese
        # sentence shares few words with its English source, but its claim is where the numbers are.
        words = set(re.findall(r"[A-Za-z][A-Za-z0-9\-]+", candidate.lower()))
        numbers = numbers_in(candidate)
        return len(stated & numbers), len(latin & words), len(numbers)

    return max(abstract_sentences, key=score)


def checked(paper: Paper, content_hash: str | None = None) -> dict:
    """The cache entry of one paper: its content hash and flags."""
    return {"hash": content_hash or paper.content_hash(), "flags": [f.to_dict() for f in check_paper(paper)]}


def flagged(papers: list[Paper]) -> dict[str, list[SummaryFlag]]:
    """Paper id -> its flags, for the papers that have any."""
    return {p.id: flags for p in papers if (flags := check_paper(p))}


# Bump when the matching rules change: cached results are then recomputed. 2: digest text read after
# pylatexenc renders it (ranges "2--4$\times$" = 2 and 4, formulas "log\frac{1}ε" = log(1/ε)).
CHECKER_VERSION = 2


_FLAG_KEYS = {"section", "number", "summary_sentence", "abstract_sentence"}


def _well_formed(entry: object) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("hash"), str) and isinstance(entry.get("flags"), list)
            and all(isinstance(f, dict) and set(f) == _FLAG_KEYS and all(isinstance(v, str) for v in f.values())
                    for f in entry["flags"]))


class SummaryChecks:
    """Each stored paper's flags, cached beside the store (`daily/summary_checks.json`) by content
    hash: the ingest records the papers it writes, and `stats` / `papers --flagged` check only papers
    the cache does not know (a store ingested before this existed), so 50k papers are not re-checked
    (about a minute) on every call."""

    def __init__(self, settings):
        self.path = daily_dir(settings) / "summary_checks.json"

    def _load(self) -> dict[str, dict]:
        """The cached checks; a file that does not read as one (damaged, hand-edited, nested too
        deeply) is a cache like any other: its entries are checked again and it is rewritten."""
        try:
            data = read_json(self.path, {"schema": SCHEMA, "checker": CHECKER_VERSION, "papers": {}})
        except StoreError:
            return {}
        papers = data.get("papers")
        if not isinstance(papers, dict) or data.get("checker") != CHECKER_VERSION:
            return {}
        return {pid: entry for pid, entry in papers.items() if _well_formed(entry)}

    def _save(self, papers: dict[str, dict]) -> None:
        write_json(self.path, {"schema": SCHEMA, "checker": CHECKER_VERSION, "papers": papers})

    def record_checked(self, entries: dict[str, dict]) -> None:
        """Cache entries made by `checked` (the ingest checks each group of papers as it writes
        them, so it need not hold every paper until the end)."""
        if not entries:
            return
        cache = self._load()
        cache.update(entries)
        self._save(cache)

    def flags(self, store) -> dict[str, list[SummaryFlag]]:
        """Paper id -> flags for every flagged paper of `store`, checking what the cache lacks."""
        states = store.paper_states()
        cache = self._load()
        stale = [pid for pid, (content_hash, _) in states.items() if cache.get(pid, {}).get("hash") != content_hash]
        if stale or set(cache) - set(states):
            stored = store.papers() if stale else {}
            cache = {pid: entry for pid, entry in cache.items() if pid in states}
            for pid in stale:
                if pid in stored:
                    paper = stored[pid]
                    cache[pid] = checked(paper, states[pid][0])
            try:
                self._save(cache)
            except OSError:
                pass  # a read-only store still answers; it only re-checks next time
        return {pid: [SummaryFlag(**f) for f in entry["flags"]] for pid, entry in sorted(cache.items())
                if entry.get("flags")}
