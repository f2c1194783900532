"""arXiv identifiers and the citation syntax of answers: one grammar, used everywhere.

An id is new style (2601.16032) or old style (hep-th/9901001), optionally with a version (v2) and
an "arXiv:" prefix. A citation group is the bracket answers cite with: [2601.16032] or
[2601.16032, arXiv:2601.09527v2].
"""
from __future__ import annotations

import re

NEW_ID = r"\d{4}\.\d{4,5}"
OLD_ID = r"[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7}"
ONE_ID = rf"(?:{NEW_ID}|{OLD_ID})(?:v\d+)?"  # one id as written in text, version included
_ID = re.compile(rf"^(?P<id>{NEW_ID}|{OLD_ID})(?:v(?P<version>\d+))?$")
_PREFIX = re.compile(r"(?i)^\s*arxiv:\s*")
_SEPARATOR = re.compile(r"\s*[,;]\s*")
ID_IN_TEXT = re.compile(rf"(?<![\w.])({ONE_ID})(?![\w])")
CITATION_GROUP = re.compile(rf"\[\s*(?:arXiv:\s*)?({ONE_ID}(?:\s*[,;]\s*(?:arXiv:\s*)?{ONE_ID})*)\s*\]", re.I)
_ISSUED = (re.compile(r"(\d{2})(\d{2})\.\d{4,5}"), re.compile(r"[a-z\-]+(?:\.[A-Z]{2})?/(\d{2})(\d{2})\d{3}"))
ABS_URL = "https://arxiv.org/abs/{}"


def strip_prefix(raw: str) -> str:
    """'arXiv:2601.16032' -> '2601.16032'."""
    return _PREFIX.sub("", raw or "")


def normalize_arxiv_id(raw: str) -> str | None:
    """'2601.15561v2' -> '2601.15561'; 'hep-th/9901001v1' -> 'hep-th/9901001'; junk -> None."""
    match = _ID.match(strip_prefix(raw).strip().strip("[]"))
    return match.group("id") if match else None


def arxiv_version(raw: str) -> int | None:
    """'2601.15561v2' -> 2; '2601.15561' -> None (no version given)."""
    match = _ID.match(strip_prefix(raw).strip().strip("[]"))
    return int(match.group("version")) if match and match.group("version") else None


def find_arxiv_ids(text: str) -> list[str]:
    """Every id written anywhere in `text`, normalised, in order, once each."""
    return list(dict.fromkeys(i for i in (normalize_arxiv_id(m) for m in ID_IN_TEXT.findall(text)) if i))


def group_ids(group: str) -> list[str | None]:
    """The ids of one citation group's inside ('2601.1, arXiv:2601.2v2'), normalised; None where a
    part is not an id."""
    return [normalize_arxiv_id(raw) for raw in _SEPARATOR.split(group.strip())]


def split_group(group: str) -> list[str]:
    """A citation group's inside as written, one part per id."""
    return _SEPARATOR.split(group.strip())


def cited_ids_in(text: str) -> list[str]:
    """The ids of every citation group in `text`, in order, once each."""
    return list(dict.fromkeys(pid for group in CITATION_GROUP.findall(text) for pid in group_ids(group) if pid))


def abs_url(paper_id: str) -> str:
    return ABS_URL.format(paper_id)


def year_month(paper_id: str) -> tuple[int, int] | None:
    """(year, month) an arXiv id was issued in, or None for an id of another shape."""
    match = _ISSUED[0].fullmatch(paper_id) or _ISSUED[1].fullmatch(paper_id)
    if not match:
        return None
    yy, mm = int(match.group(1)), int(match.group(2))
    if not 1 <= mm <= 12:
        return None
    return (1900 + yy if yy >= 91 else 2000 + yy), mm
