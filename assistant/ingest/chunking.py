"""Paper -> chunks that lose nothing and never exceed the embedding model's input window.

Which chunks get embedded (the dense index) is decided here too: only sections in a language the
model reads, and not the title alone (every embedded text already carries the title header).

Each section (title, abstract, the five Chinese summary sections) is split into sentences and
packed greedily into chunks. The embedded text of a chunk is "title: <title>\n\n<passage>" (the
title gives every passage its context), and the whole of that is counted with the model's own
tokenizer, so no chunk is silently truncated by the model.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.text import has_cjk, split_sentences
from assistant.types import SUMMARY_SECTIONS, Chunk, Paper

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

CHUNKED_SECTIONS = ("title", "abstract") + SUMMARY_SECTIONS
MAX_TITLE_CHARS_IN_HEADER = 300  # an absurdly long title must not eat a chunk's whole window
_EMBED_ONLY = ("title",)  # metadata keys that go into the embedded text
# The language each section is written in (digest format: English title/abstract, Chinese summary).
SECTION_LANGUAGE = {"title": "en", "abstract": "en", **{s: "zh" for s in SUMMARY_SECTIONS}}


def chunk_id(paper_id: str, section: str, text: str) -> str:
    digest = hashlib.sha1(f"{paper_id}\x1f{section}\x1f{text}".encode()).hexdigest()[:16]
    return f"{paper_id}#{section}#{digest}"


def header_title(paper: Paper) -> str:
    title = " ".join(paper.title.split())
    return title if len(title) <= MAX_TITLE_CHARS_IN_HEADER else title[:MAX_TITLE_CHARS_IN_HEADER] + "…"


def embed_text(title: str, passage: str) -> str:
    """What the embedding model sees; mirrors the TextNode EMBED rendering (tested)."""
    return f"title: {title}\n\n{passage}"


def chunk_paper(paper: Paper, count_tokens: Callable[[str], int], max_tokens: int,
                count_many: Callable[[list[str]], list[int]] | None = None) -> list[Chunk]:
    """The paper's passages, each section packed sentence by sentence into the model's window.
    `count_many` (optional) counts many texts in one call without special tokens: the sentences
    are counted together up front (one tokenizer call a paper instead of ~20)."""
    title = header_title(paper)
    fits = _Window(title, count_tokens, max_tokens)
    sections = [(section, split_sentences(text)) for section in CHUNKED_SECTIONS
                if (text := paper.section(section).strip())]
    if count_many is not None:
        fits.prefetch([sentence for _, sentences in sections for sentence in sentences], count_many)
    chunks: list[Chunk] = []
    for section, sentences in sections:
        seen = set()
        for passage in _pack(sentences, fits):
            if passage not in seen:
                seen.add(passage)
                chunks.append(Chunk(chunk_id(paper.id, section, passage), paper.id, section, passage))
    return chunks


def embedded(chunks: list[Chunk], languages: tuple[str, ...]) -> list[bool]:
    """Which of a paper's chunks the model should embed: those in a language it reads, except the
    title-only chunk where another passage is embedded, since each carries the title as its header
    (its vector was a tenth of the embedded chunks for ~5% of the model's time). A paper with no
    abstract keeps its title vector, so it is still found by meaning. Where a question names a
    paper's subject in other words, the extractive answerer embeds that title at question time."""
    readable = [SECTION_LANGUAGE.get(c.section, "en") in languages for c in chunks]
    passages = any(flag and c.section != "title" for c, flag in zip(chunks, readable, strict=True))
    return [flag and not (passages and c.section == "title") for c, flag in zip(chunks, readable, strict=True)]


class _Window:
    """`fits(passage)`: does "title: <title>\n\n<passage>" fit the model's window, counted with its
    tokenizer. Packing asks this for every sentence added to a growing passage; counting each
    candidate afresh made chunking cost as much as embedding. A word-piece tokenizer splits at
    whitespace, so the count of "A B" is the count of A plus that of B: `joined` adds known counts,
    after checking on this paper's first joins that the tokenizer really adds up (else it counts)."""

    def __init__(self, title: str, count_tokens: Callable[[str], int], max_tokens: int):
        self.title, self.count, self.max = title, count_tokens, max_tokens
        self.header = count_tokens(embed_text(title, ""))  # special tokens and the title header
        self.known: dict[str, int] = {}
        self.checks_left, self.additive = 2, True

    def prefetch(self, passages: list[str], count_many: Callable[[list[str]], list[int]]) -> None:
        """Count `passages` in one call. Each is counted alone and the header added (the title
        tokenized once, not once a sentence), when the first shows that this adds up."""
        new = list(dict.fromkeys(p for p in passages if p not in self.known))
        if not new:
            return
        bare = count_many(new)
        if self.count(embed_text(self.title, new[0])) == self.header + bare[0]:
            self.known.update((p, self.header + n) for p, n in zip(new, bare, strict=True))
        # else: they are counted one by one as packing asks

    def tokens(self, passage: str) -> int:
        if passage not in self.known:
            self.known[passage] = self.count(embed_text(self.title, passage))
        return self.known[passage]

    def __call__(self, passage: str) -> bool:
        return self.tokens(passage) <= self.max

    def joined(self, current: str, sentence: str) -> bool:
        """fits(f"{current} {sentence}")."""
        candidate = f"{current} {sentence}".strip()
        if candidate in self.known or not self.additive:
            return self(candidate)
        estimate = self.tokens(current) + self.tokens(sentence) - self.header
        if self.checks_left:
            self.checks_left -= 1
            self.additive = self.tokens(candidate) == estimate
            return self(candidate)
        self.known[candidate] = estimate
        return estimate <= self.max


def _pack(sentences: list[str], fits: _Window) -> list[str]:
    passages, current = [], ""
    for sentence in sentences:
        candidate = f"{current} {sentence}".strip() if current else sentence
        if fits.joined(current, sentence) if current else fits(candidate):
            current = candidate
            continue
        if current:
            passages.append(current)
        if fits(sentence):
            current = sentence
        else:
            pieces = _split_oversized(sentence, fits)
            passages.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        passages.append(current)
    return passages


def _split_oversized(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    """A sentence longer than the window is cut at word (or CJK character) boundaries."""
    units = list(sentence) if has_cjk(sentence) and " " not in sentence else re.findall(r"\S+\s*", sentence)
    pieces, current = [], ""
    for unit in units:
        if current and not fits(current + unit):
            pieces.append(current.strip())
            current = ""
        current += unit
        if not fits(current):  # one unbroken token run larger than the window: hard cut
            while current and not fits(current):
                cut = max(1, len(current) // 2)
                pieces.append(current[:cut].strip())
                current = current[cut:]
    if current.strip():
        pieces.append(current.strip())
    return [p for p in pieces if p]


def chunk_to_node(chunk: Chunk, paper: Paper) -> TextNode:
    """A llama-index node carrying the chunk text and the paper's metadata for filtering."""
    from llama_index.core.schema import TextNode  # here: an unchanged re-ingest never needs llama-index

    metadata = {
        "paper_id": paper.id,
        "title": header_title(paper),
        "category": paper.category,
        "section": chunk.section,
        "digests": list(paper.digests) or [""],
        "dates": list(paper.dates) or [""],
    }
    excluded = [key for key in metadata if key not in _EMBED_ONLY]
    return TextNode(id_=chunk.id, text=chunk.text, metadata=metadata,
                    excluded_embed_metadata_keys=excluded, excluded_llm_metadata_keys=excluded,
                    metadata_template="{key}: {value}", text_template="{metadata_str}\n\n{content}")

