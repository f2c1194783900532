"""Text helpers every layer uses: sentences, folding, control characters, the numbers a text states,
a paper's searchable text, the Chinese words that frame a question, the JSON object in a model's reply.
Nothing here imports the rest of the package (the bottom layer; see [tool.importlinter] in pyproject.toml)."""
from __future__ import annotations

import json
import re
import unicodedata
from typing import TYPE_CHECKING

from assistant.markup import readable as clean_latex  # the display form; many callers name it so

if TYPE_CHECKING:  # types imports this module
    from assistant.types import Paper

__all__ = ["clean_latex"]  # re-exported: the name every caller uses for markup.readable

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# An English sentence ends at . ! ? followed by space and a capital, digit or opening mark;
# common abbreviations ("e.g.", "et al.") are protected first.
# A closing quote may follow the stop ('such as: "Why?" Beyond…', LaTeX's "why?'' Beyond").
_EN_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’])|(?<=[.!?]''))\s+(?=[A-Z0-9\"'(\[$\\\u3400-\u9fff“])")
_ZH_BOUNDARY = re.compile(r"(?<=[。！？；])")
# Digest text sometimes lost the space after a full stop ("knowledge confusion.To address this").
_GLUED_BOUNDARY = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z]{2})")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|et al|etc|vs|Fig|Eq|cf|resp|approx|Sec|Ref)\.\s", re.I)


def fold(text: str) -> str:
    """A name or question as compared with names: accents dropped, punctuation a space, lower case
    ('Sławomir Stańczak' -> 'slawomir stanczak')."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w\s]", " ", (plain or text).lower()).split())


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


# Where a sentence may be shortened: after a comma, semicolon or colon (English or Chinese), or
# before a dash or a parenthesis. A decimal or thousands separator ("1,024") has no space after it.
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])(?=\s)|(?<=[，；：、])|(?=\s[–—]\s)|(?=\s\()")


def shorten(text: str, width: int, mark: str = "…", min_chars: int | None = None) -> str:
    """`text` in at most about `width` characters without cutting a sentence in the middle: whole
    sentences when the first fits; else the first sentence's leading clauses (at least `min_chars`,
    default a third of `width`) followed by `mark`; else the first sentence whole, however long."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    sentences = split_sentences(text) or [text]
    kept = ""
    for sentence in sentences:
        joined = f"{kept}{'' if not kept or has_cjk(kept[-1]) else ' '}{sentence}"
        if len(joined) > width:
            break
        kept = joined
    if kept:
        return kept
    first = sentences[0]
    floor = width // 3 if min_chars is None else min_chars
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(first)]
    fitting = [b for b in breaks if floor <= len(first[:b].rstrip(" ,;:，；：、")) <= width - len(mark)]
    if not fitting:
        return first
    return first[:max(fitting)].rstrip(" ,;:，；：、") + mark


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


# A number standing on its own ("50%", "4.2x", "1,024"), not digits inside a name ("L2", "GB10", "H100").
# Chinese characters are word characters to `\w` but separate words in a summary ("包含87,100个"), so
# the look-behind lets a number follow them.
_NUMBER = re.compile(r"(?<![.\-/])(?<![^\W\u3400-\u9fff])\d+(?:[.,]\d+)*(?![.,]?\d)(?=%|x\b|×|倍|\b|[\u4e00-\u9fff]|$)")
# The second end of a range ("6.3x-7.3x", "1.44-1.59x", "10%-20%"): the hyphen that keeps "GPT-4"'s 4
# out must not hide it.
_RANGE = re.compile(r"(\d(?:[x×%]|\.\d+))\s*(?:-{1,2}|[–~])\s*(?=\d)")
# ...and a range of whole numbers whose second end carries the unit ("2-4x", "3-5%", "2-3 times").
_UNIT_RANGE = re.compile(r"(\d)\s*-\s*(?=\d+(?:\.\d+)?\s?(?:%|x\b|×|倍|-?fold\b|times\b))")
# A number's form in any digest text is read after rendering (assistant/markup.py): "2--4$\\times$"
# and "2–4×" give the same numbers, and a formula is read as the abstract means it ("log(1/ε)": 1).


def paper_text(paper: Paper) -> str:
    return "\n".join([paper.title, paper.abstract, paper.tldr, paper.motivation, paper.method, paper.result,
                      paper.conclusion, " ".join(paper.authors)])


def numbers_in(text: str) -> set[str]:
    text = _UNIT_RANGE.sub(r"\1 ", _RANGE.sub(r"\1 ", clean_latex(text)))
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


# Words that frame a Chinese question ("有哪些…的论文") rather than say what it is about: set
# questions drop them before naming concepts, question routing reads them, citation checking ignores them.
FRAMING_ZH = ("有哪些", "哪几篇", "哪些", "有没有", "有关于", "关于", "相关的", "相关", "方面的", "方面", "的论文",
              "论文", "文章", "研究", "工作", "列出", "一下", "请", "吗", "呢", "有", "的", "和", "与", "及",
              "哪篇", "什么", "是否", "用到", "使用", "采用", "基于", "涉及", "讨论", "篇", "数据分析",
              "最新", "新的", "进展")


def parse_json_object(reply: str) -> dict | None:
    """The first JSON object in a reply (models like to wrap it in prose or a code fence)."""
    start = reply.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(reply)):
            if reply[end] == "{":
                depth += 1
            elif reply[end] == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(reply[start:end + 1])
                    except json.JSONDecodeError:
                        break
                    return value if isinstance(value, dict) else None
        start = reply.find("{", start + 1)
    return None
