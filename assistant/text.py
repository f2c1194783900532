"""Small text utilities shared by chunking, lexical search and the extractive answerer."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# An English sentence ends at . ! ? followed by space and a capital, digit or opening mark;
# common abbreviations ("e.g.", "et al.") are protected first.
_EN_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[$\\\u3400-\u9fff])")
_ZH_BOUNDARY = re.compile(r"(?<=[。！？；])")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|et al|etc|vs|Fig|Eq|cf|resp|approx|Sec|Ref)\.\s", re.I)


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if not c.isspace()]
    return sum(1 for c in letters if _CJK.match(c)) / max(1, len(letters))


def split_sentences(text: str) -> list[str]:
    """Split English and Chinese prose into sentences, keeping every character of content."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        protected = _ABBREVIATIONS.sub(lambda m: m.group(0).replace(". ", ".\u0000"), paragraph)
        for part in _EN_BOUNDARY.split(protected):
            for piece in _ZH_BOUNDARY.split(part):
                piece = piece.replace("\u0000", " ").strip()
                if piece:
                    sentences.append(piece)
    return sentences


# Terminal safety: digest text reaches terminals (papers, search, ask) and the browser. Escape
# sequences could clear the screen or set the window title, bidi overrides can reorder what is shown,
# zero-width characters hide text; none of them is content. Stripped on ingest and again when a
# stored record is read (stores written before this rule).
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_])"
                              r"|\x9b[0-?]*[ -/]*[@-~]")
_INVISIBLE = {c: None for c in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0), 0xad,
                                0x115f, 0x1160, 0x180e, *range(0x200b, 0x2010), *range(0x202a, 0x202f),
                                *range(0x2060, 0x2070), 0x3164, 0xfeff, 0xffa0, *range(0xfff9, 0xfffc),
                                *range(0xe0000, 0xe0080)]}
_INVISIBLE[0x0b] = _INVISIBLE[0x0c] = " "  # vertical tab, form feed: spacing, not nothing
_INVISIBLE[0x2028] = _INVISIBLE[0x2029] = "\n"


def strip_controls(text: str) -> str:
    """`text` without control characters (C0/C1 but newline and tab), ANSI/OSC escape sequences,
    bidi overrides and isolates, and zero-width or otherwise invisible characters."""
    if not text:
        return text
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    return text.translate(_INVISIBLE)
