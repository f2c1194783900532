"""Small text utilities shared by chunking, lexical search and the extractive answerer."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# An English sentence ends at . ! ? followed by space and a capital, digit or opening mark;
# common abbreviations ("e.g.", "et al.") are protected first.
_EN_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[$\\\u3400-\u9fff])")
_ZH_BOUNDARY = re.compile(r"(?<=[。！？；])")
# Digest text sometimes lost the space after a full stop ("knowledge confusion.To address this").
_GLUED_BOUNDARY = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z]{2})")
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
        for part in (p for chunk in _EN_BOUNDARY.split(protected) for p in _GLUED_BOUNDARY.split(chunk)):
            for piece in _ZH_BOUNDARY.split(part):
                piece = piece.replace("\u0000", " ").strip()
                if piece:
                    sentences.append(piece)
    return sentences
