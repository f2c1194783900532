"""Read one digest file into Paper records, reporting every entry it skipped or kept partially.

One bad entry never aborts the file: the parser resynchronises on the next `### [N]` heading.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.arxiv_ids import arxiv_version, normalize_arxiv_id
from assistant.digests import DATE_IN_NAME, digest_date_from_name
from assistant.files import read_bounded
from assistant.text import strip_controls
from assistant.types import Digest, Paper, ParseProblem

DIGEST_SUFFIXES = (".md", ".markdown", ".txt")
# Real entries are far below these: arXiv caps abstracts at 1,920 characters, and the 350 sample
# papers' longest title is 186, abstract 1,919, summary section 426. Anything past them is cut and
# reported as partial, because every question that retrieves an entry pays for its length (a 1 MB
# abstract cost ~84 s an answer).
MAX_TITLE_CHARS = 1_000
MAX_FIELD_CHARS = 6_000

_HEADING = re.compile(r"^###\s*\[(\d+)\]\s*(.*)$")
_TITLE_LINK = re.compile(r"^\[(?P<title>.*)\]\((?P<url>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)\s*$")
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/(?P<id>[^\s?#]+?)(?:\.pdf)?/?$", re.I)
_FIELD = re.compile(r"^(Main category|TL;DR|Motivation|Method|Result|Conclusion|Abstract)\s*[:：]\s*(.*)$")
_FIELD_NAMES = {"Main category": "category", "TL;DR": "tldr", "Motivation": "motivation", "Method": "method",
                "Result": "result", "Conclusion": "conclusion", "Abstract": "abstract"}
_CATEGORY_HEADING = re.compile(r"^#\s+(\S+)\s+\[\[Back\]\]")
# What the digest generator writes when its AI summary failed: not content, so not indexed.
_GENERATOR_PLACEHOLDER = re.compile(r"^(summary generation failed|\w+ (analysis unavailable|extraction failed))\.?$", re.I)
_MARKUP_LINE = re.compile(r"^\s*(<details>|</details>|<summary>.*</summary>|<div\b.*</div>)\s*$", re.I)


@dataclass
class ParsedDigest:
    """The papers of one digest file and the problems met on the way."""

    digest: Digest
    path: Path
    papers: list[Paper] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # paper id -> line of the entry kept


def date_in_header(lines: list[str]) -> str | None:
    """A YYYY-MM-DD written before the first entry (e.g. '# arXiv digest 2026-01-22'), if any."""
    for line in lines:
        for match in DATE_IN_NAME.finditer(line):
            try:
                return date.fromisoformat(match.group(1)).isoformat()
            except ValueError:
                continue
    return None


# A few NUL bytes are damage (an editor, a bad copy), not a binary format: they are stripped like any
# other control character. A file with more than this share of NULs in its first 64 KB is binary
# (an image, an archive, UTF-16 text without its byte-order mark).
BINARY_NUL_SHARE = 0.01
BINARY_UNDECODABLE_SHARE = 0.10  # random or compressed bytes: most of them are not UTF-8


def read_digest_text(path: Path, max_bytes: int = 20_000_000) -> tuple[str, list[ParseProblem]]:
    """Decode a digest file. Binary files are refused; invalid UTF-8 is replaced and reported; a
    few NUL bytes are stripped and reported. Raises FileRefused for what is not read at all."""
    data = read_bounded(path, max_bytes, "file", " for one digest (set DIGESTQA_MAX_FILE_MB to raise it)")
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):  # Windows tools save "Unicode" text as UTF-16 with a byte-order mark
            try:
                return data.decode(encoding), []
            except UnicodeDecodeError:
                problem = ParseProblem(str(path), 0, f"not valid {encoding.upper()}: undecodable bytes were replaced",
                                       skipped=False)
                return data.decode(encoding, errors="replace"), [problem]
    head = data[:65536]
    undecodable = head.decode("utf-8", errors="replace").count("\ufffd")
    if head.count(b"\x00") > BINARY_NUL_SHARE * len(head) or undecodable > BINARY_UNDECODABLE_SHARE * len(head):
        return "", [ParseProblem(str(path), 0, "binary file, not a text digest")]
    problems = []
    if b"\x00" in data:
        line, count = data[: data.index(b"\x00")].count(b"\n") + 1, data.count(b"\x00")
        problems.append(ParseProblem(str(path), line, f"{count} NUL byte(s) removed", skipped=False))
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8-sig"), problems
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(ParseProblem(str(path), line, "not valid UTF-8: undecodable bytes were replaced", skipped=False))
        return data.decode("utf-8", errors="replace"), problems


def parse_digest_file(path: Path, digest_date: str | None = None, max_bytes: int = 20_000_000) -> ParsedDigest:
    """Raises FileRefused (not a regular file, over `max_bytes`) or OSError (unreadable)."""
    text, problems = read_digest_text(path, max_bytes)
    if problems and problems[0].skipped:  # binary: nothing to parse
        return ParsedDigest(Digest(path.stem, digest_date or digest_date_from_name(path)), path, [], problems)
    parsed = parse_digest_text(text, str(path), Digest(path.stem, digest_date or digest_date_from_name(path)))
    parsed.path = path
    parsed.problems[:0] = problems
    return parsed


def parse_digest_text(text: str, file: str, digest: Digest) -> ParsedDigest:
    parsed = ParsedDigest(digest=digest, path=Path(file))
    lines = [strip_controls(line) for line in text.splitlines()]  # nothing that steers a terminal is kept
    starts = [i for i, line in enumerate(lines) if _HEADING.match(line)]
    if not starts:
        if text.strip():
            parsed.problems.append(ParseProblem(file, 1, "no digest entries found ('### [N] [Title](arXiv link)' headings)"))
        else:
            parsed.problems.append(ParseProblem(file, 1, "empty file"))
        return parsed
    if digest.date is None:  # the file name and --date said nothing: the header may
        digest = parsed.digest = Digest(digest.name, date_in_header(lines[: starts[0]]))
    heading_category = _category_headings(lines)
    seen: dict[str, Paper] = {}
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        is_last = n + 1 == len(starts)
        paper, problems = _parse_entry(lines, start, end, file, heading_category.get(start), is_last)
        if paper is not None:
            paper.digests = [digest.name]
            paper.dates = [digest.date] if digest.date else []
            paper.origin = {"file": file, "line": start + 1, "digest": digest.name, "date": digest.date}
            earlier = seen.get(paper.id)
            if earlier is None:
                seen[paper.id] = paper
                parsed.papers.append(paper)
                parsed.lines[paper.id] = start + 1
            elif earlier.content_hash() == paper.content_hash():
                problems.append(ParseProblem(file, start + 1, "same paper listed twice (cross-list); kept once", paper.id))
            elif (paper.version or 0) > (earlier.version or 0):  # one rule everywhere: the higher version wins
                problems.append(ParseProblem(file, parsed.lines[paper.id], "same arXiv id appears twice with different "
                                             f"content; kept v{paper.version} at line {start + 1}", paper.id, skipped=True))
                parsed.papers[parsed.papers.index(earlier)] = seen[paper.id] = paper
                parsed.lines[paper.id] = start + 1
            else:
                problems.append(ParseProblem(file, start + 1, "same arXiv id appears twice with different content; "
                                             f"kept the first entry (line {parsed.lines[paper.id]})", paper.id, skipped=True))
        parsed.problems.extend(p for p in problems if not (p.reason.startswith("same paper listed twice")))
    return parsed


def _category_headings(lines: list[str]) -> dict[int, str]:
    """Map each entry's start line to the category heading it sits under (a fallback only)."""
    current, out = None, {}
    for i, line in enumerate(lines):
        match = _CATEGORY_HEADING.match(line)
        if match:
            current = match.group(1)
        elif _HEADING.match(line):
            out[i] = current
    return out


def _parse_entry(lines, start, end, file, heading_category, is_last):
    line_no = start + 1
    rest = _HEADING.match(lines[start]).group(2).strip()
    link = _TITLE_LINK.match(rest)
    if not link:
        return None, [ParseProblem(file, line_no, "entry heading has no '[Title](arXiv link)'")]
    title = link.group("title").strip()
    url_match = _ARXIV_URL.search(link.group("url"))
    paper_id = normalize_arxiv_id(url_match.group("id")) if url_match else None
    version = arxiv_version(url_match.group("id")) if url_match else None
    if not paper_id:
        return None, [ParseProblem(file, line_no, f"link is not an arXiv abstract URL: {link.group('url')[:80]}")]
    if not title:
        return None, [ParseProblem(file, line_no, "entry has an empty title (or one made only of invisible "
                                   "or control characters)", paper_id)]

    values: dict[str, list[str]] = {}
    authors: list[str] = []
    current = None
    saw_details_open = saw_details_close = False
    for line in lines[start + 1:end]:
        stripped = line.strip()
        if _CATEGORY_HEADING.match(line) or stripped.startswith("<div id="):
            break  # the next category section begins; nothing after it belongs to this entry
        lowered = stripped.lower()
        if lowered == "<details>":
            saw_details_open = True
        if lowered == "</details>":
            saw_details_close = True
            current = None
            continue
        if _MARKUP_LINE.match(line):
            continue
        field_match = _FIELD.match(stripped)
        if field_match:
            current = _FIELD_NAMES[field_match.group(1)]
            values.setdefault(current, []).append(field_match.group(2))
        elif current is None and not authors and stripped.startswith("*") and stripped.endswith("*") and len(stripped) > 2:
            authors = [a.strip() for a in re.split(r"[,，]", stripped.strip("*")) if a.strip()]
        elif current is not None:
            values[current].append(line.rstrip())

    fields = {name: _join_paragraphs(parts) for name, parts in values.items()}
    problems = []
    for name, text in [("title", title), *fields.items()]:
        limit = MAX_TITLE_CHARS if name == "title" else MAX_FIELD_CHARS
        if len(text) > limit:
            kept = _cap(text, limit)
            problems.append(ParseProblem(file, line_no, f"{name} is {len(text):,} characters, over the {limit:,} a "
                                         f"digest entry can hold; kept its first {len(kept):,}", paper_id, False))
            if name == "title":
                title = kept
            else:
                fields[name] = kept
    placeholders = [name for name, text in fields.items() if _GENERATOR_PLACEHOLDER.match(text)]
    for name in placeholders:
        fields[name] = ""
    if placeholders:
        problems.append(ParseProblem(file, line_no, "the digest's AI summary failed (placeholder text in "
                                     f"{', '.join(placeholders)}); only the title and abstract are indexed", paper_id, False))
    category_words = fields.pop("category", "").split()  # popped even when blank ("Main category:")
    category = category_words[0] if category_words else ""
    if not category:
        category = heading_category or "unknown"
        problems.append(ParseProblem(file, line_no, f"no 'Main category' line; used the section heading ({category})",
                                     paper_id, False))
    if saw_details_open and not saw_details_close and is_last:
        problems.append(ParseProblem(file, line_no, "entry is cut off at the end of the file; kept what was there",
                                     paper_id, False))
    missing = [label for label, key in (("TL;DR", "tldr"), ("abstract", "abstract"))
               if not fields.get(key) and key not in placeholders]
    if missing:
        problems.append(ParseProblem(file, line_no, f"entry has no {' and no '.join(missing)}", paper_id, False))
    if not authors:
        problems.append(ParseProblem(file, line_no, "entry has no author line", paper_id, False))
    paper = Paper(id=paper_id, title=title, authors=authors, category=category, version=version, **fields)
    return paper, problems


def _cap(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at the last sentence end in its final fifth when
    there is one (an absurd entry must not cost every later question that retrieves it)."""
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("。"), cut.rfind("! "), cut.rfind("? "))
    return cut[:end + 1] if end >= limit * 0.8 else cut.rstrip() + "…"


def _join_paragraphs(parts: list[str]) -> str:
    """Join a field's lines into paragraphs separated by a blank line.

    Digests start a field's second paragraph on a new (often indented) line, or after a blank line.
    """
    return "\n\n".join(" ".join(line.split()) for line in parts if line.strip())


def discover_digest_files(paths: list[Path]) -> list[Path]:
    """Expand folders into digest files (.md/.txt, recursively), in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DIGEST_SUFFIXES
                                and not p.name.lower().startswith("readme")))
        else:
            found.append(path)
    return list(dict.fromkeys(found))
