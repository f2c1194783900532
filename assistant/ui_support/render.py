"""Answer text -> what the browser shows: Markdown with linked citations, source cards, paced words.

The answer text is Markdown written by our answerers (or an LLM, whose output is data, not markup
we trust). Only the links built here are clickable: every other `[`/`]` is escaped, so an answer
cannot smuggle in an image that the browser would fetch, or a link dressed up as a citation.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.arxiv_ids import CITATION_GROUP, abs_url, normalize_arxiv_id, split_group
from assistant.digests import DigestCatalog
from assistant.text import clean_latex
from assistant.types import Answer, Source, notice_kind

MAX_PASSAGES = 3  # per source card: the best ones; the paper's page has the rest
_BRACKETS_AND_MATH = re.compile(r"(?<!\\)([\[\]$])")  # $ would start LaTeX in Streamlit's Markdown
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]$<>|~#])")
_WORDS = re.compile(r"\S+\s*|\s+")
_OWN_LINK = re.compile(r"\(([^()\s]+)\)")  # "(url)" right after "[id]"


def escape_markdown(text: str) -> str:
    """Plain text (titles, passages) shown through Markdown exactly as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def plain(text: str) -> str:
    """Digest text (LaTeX-escaped %, $, &) shown as a reader expects it, through Markdown."""
    return escape_markdown(clean_latex(text))


def _escape_answer_text(text: str) -> str:
    # Keep the answerers' own Markdown (bullets, *italic titles*) but no links, images or math.
    return _BRACKETS_AND_MATH.sub(r"\\\1", text)


def _linked_group(group: str) -> str:
    links = []
    for raw in split_group(group):
        pid = normalize_arxiv_id(raw)
        links.append(f"[{pid}]({abs_url(pid)})" if pid else _escape_answer_text(raw))
    return r"\[" + ", ".join(links) + r"\]"


def link_citations(text: str) -> str:
    """'... [2601.16032, 2601.09527].' -> Markdown where each id links to its arXiv page.

    An id that is already a link to its own arXiv page (a briefing's table) stays that link."""
    out, last = [], 0
    for match in CITATION_GROUP.finditer(text):
        out.append(_escape_answer_text(text[last:match.start()]))
        pid = normalize_arxiv_id(match.group(1))
        existing = _OWN_LINK.match(text, match.end())
        if pid and existing and existing.group(1).replace("http:", "https:", 1) == abs_url(pid):
            out.append(f"[{pid}]({abs_url(pid)})")
            last = existing.end()
            continue
        out.append(_linked_group(match.group(1)))
        last = match.end()
    out.append(_escape_answer_text(text[last:]))
    return "".join(out)


def word_pieces(text: str) -> list[str]:
    """Words with their trailing whitespace; joined they give `text` back exactly."""
    return _WORDS.findall(text)


def paced(pieces: Iterator[str], block_chars: int = 80, budget_s: float = 1.5,
          max_word_s: float = 0.015) -> Iterator[tuple[str, float]]:
    """(word, seconds to wait after showing it): large pieces are split into paced words.

    A real LLM stream arrives a few characters at a time at its own pace (no wait added); the
    extractive answerer produces its whole, already verified answer at once, which is then shown
    word by word within `budget_s`, so both read as a stream and neither is slowed much.
    """
    for piece in pieces:
        words = word_pieces(piece)
        wait = min(max_word_s, budget_s / len(words)) if len(piece) > block_chars and words else 0.0
        for word in words:
            yield word, wait


@dataclass(frozen=True)
class SourceCard:
    """One retrieved paper as the chat shows it under an answer."""

    rank: int
    id: str
    title: str
    category: str
    when: str  # the digests' readable labels: dates, else 'digest 004'
    passages: tuple[tuple[str, str], ...]  # (section, text), best first
    score: float
    matched_by: str
    cited: bool
    digest_files: str = ""  # the digests' full file names and contents, for the hover

    @property
    def url(self) -> str:
        return abs_url(self.id)

    @property
    def label(self) -> str:
        """The expander's one-line label (Markdown-safe)."""
        mark = "★ " if self.cited else ""
        return (f"{mark}{self.rank}. {escape_markdown(self.title)} · {self.category} · {escape_markdown(self.when)} "
                f"· score {self.score:.3f}")


def source_card(rank: int, source: Source, cited: bool, known: DigestCatalog | None = None) -> SourceCard:
    """`known` names the digests readably (without it: dates, else file names)."""
    paper = source.paper
    names = [n for n in paper.digests if n]
    if known is not None:
        when = ", ".join(known.paper_labels(paper))
        files = "\n\n".join(known.hover(n) for n in known.ordered(names)[0])
    else:
        when, files = ", ".join(paper.dates) or ", ".join(names), ", ".join(names)
    passages = tuple((p.section, clean_latex(p.text)) for p in source.passages[:MAX_PASSAGES])
    return SourceCard(rank=rank, id=source.id, title=clean_latex(paper.title), category=paper.category,
                      when=when or "unknown digest", passages=passages, score=source.score,
                      matched_by=", ".join(source.matched_by) or "retrieval", cited=cited, digest_files=files)


def source_cards(answer: Answer, known: DigestCatalog | None = None) -> list[SourceCard]:
    cited = set(answer.cited_ids)
    return [source_card(rank, s, s.id in cited, known) for rank, s in enumerate(answer.sources, 1)]


def notice_level(notice: str) -> str:
    """'warning' for a notice about something that went wrong (a backend failure, a dropped
    citation), 'info' for an explanation (how a follow-up was read): the kind it was made with."""
    return notice_kind(notice)


_HEADING = re.compile(r"^(#{1,5}) ", re.M)


def demote_headings(markdown: str, levels: int = 2) -> str:
    """A document shown inside a page: its '# Title' must not outshout the page's own title."""
    return _HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", markdown)
