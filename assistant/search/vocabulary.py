"""The words the product knows about the field, read from data files (assistant/data/*.toml):
spellings that name the same thing (LoRA / low-rank adaptation / 低秩适配), plain names of arXiv
categories, and the stemmer that lets "adapters" match "adaptation".

Question analysis and set membership read these; nothing here decides anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from assistant.text import has_cjk

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _stemmer():
    # PyStemmer is the Snowball project's own C build of the same algorithm: a set question stems
    # a few thousand words of its candidates' text, ~0.2 s in pure Python, ~5 ms in C (the two
    # agree on every word of the sample papers and of CC-CEDICT's English, 66k words; tested).
    # Imported here: only set questions stem, and which stemmer is installed is decided on first use.
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # the pure-Python build, if PyStemmer is missing
        import snowballstemmer

        return snowballstemmer.stemmer("english")


# British spellings folded to American before stemming, so "Bayesian optimisation" is "Bayesian
# optimization" and "nearest neighbour" is "nearest neighbor". Both sides of a match go through
# this, so a word it bends that has no American twin ("otherwise") still matches itself.
_BRITISH = ((re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|er|ers|ation|ations)$"), r"iz\1"),
            (re.compile(r"(?<=[a-z]{3})our(s|ed|ing)?$"), r"or\1"),
            (re.compile(r"(?<=[a-z]{3})tre(s)?$"), r"ter\1"))


@lru_cache(maxsize=50000)
def stem(word: str) -> str:
    """One English word to its stem: 'adapters', 'adaptation' -> 'adapt'; 'LLMs' -> 'llm';
    'optimisation' -> 'optim'."""
    word = word.lower()
    if len(word) > 5:
        for pattern, american in _BRITISH:
            word = pattern.sub(american, word)
    if len(word) > 3 and word.endswith("s") and word[:-1].isalnum() and (
            word[:-1] in _acronyms() or (not word.endswith(("ss", "us", "is")) and not any(v in word[:-1] for v in "aeiou"))):
        word = word[:-1]  # plural of an acronym: llms, gnns, vlms; gpus (a vowel, but a known acronym)
    return _stemmer().stemWord(word)


@lru_cache(maxsize=1)
def _acronyms() -> frozenset[str]:
    """The all-capitals terms of the alias file (GPU, LLM, …), lower-cased: read raw, not through
    `spelling`, which stems."""
    data = _alias_data()
    terms = [t for group in data.get("groups", []) for t in group] + \
            [t for kinds in data.get("narrower", {}).values() for t in kinds] + list(data.get("narrower", {}))
    return frozenset(t.lower() for t in terms if isinstance(t, str) and re.fullmatch(r"[A-Z][A-Z0-9]+", t))


def stem_words(text: str) -> tuple[str, ...]:
    """English words of `text` as stems, in order (hyphens and punctuation separate words)."""
    return tuple(stem(w) for w in _WORD.findall(text.lower()))


def plural_stem(word: str) -> str:
    """A deliberately light English normaliser: plurals only (caches -> cache, misses -> miss)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and not word.endswith("us"):
        return word[:-1]
    return word


def plain(word: str) -> str:
    """One English word as written, plurals folded ('systems' -> 'system'; 'continual' stays apart
    from 'continuous', which the stemmer joins)."""
    return plural_stem(word.lower())


def plain_words(text: str) -> tuple[str, ...]:
    return tuple(plain(w) for w in _WORD.findall(text.lower()))


@dataclass(frozen=True)
class Spelling:
    """One way to write a term: a stemmed word sequence (English) or a substring (Chinese)."""

    text: str
    words: tuple[str, ...] = ()  # English: stems in order (or plain words when `exact`); empty for Chinese
    chinese: bool = False
    exact: bool = False  # matched as written (plurals folded), not by stem


def exact_word(word: str) -> Spelling:
    return Spelling(word, (plain(word),), False, True)


def spelling(text: str) -> Spelling:
    if has_cjk(text):
        return Spelling(text, (), True)
    words = plain_words(text)
    if len(words) == 1 and words[0] in exact_words():
        return Spelling(text, words, False, True)
    return Spelling(text, stem_words(text), False)


@lru_cache(maxsize=1)
def exact_words() -> frozenset[str]:
    """Words matched as written, plurals folded (the file's `exact` list): the stemmer makes an
    "optimizer" an "optimization" and a "transformer" a "transformation"."""
    return frozenset(plain(w) for w in _alias_data().get("exact", []))


@dataclass(frozen=True)
class AliasGroup:
    spellings: tuple[Spelling, ...]  # the same thing written differently
    kinds: tuple[Spelling, ...] = ()  # narrower terms: a paper naming one of them is about the group too

    @property
    def name(self) -> str:
        return self.spellings[0].text


@lru_cache(maxsize=1)
def _alias_data() -> dict:
    with open(DATA_DIR / "aliases.toml", "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def alias_groups() -> tuple[AliasGroup, ...]:
    """Each group: its own spellings, then the spellings of its kinds (the file's [narrower] table)."""
    data = _alias_data()
    narrower = {spelling(k): [spelling(t) for t in v] for k, v in data.get("narrower", {}).items()}
    groups = []
    for raw in data.get("groups", []):
        spellings = tuple(s for s in (spelling(t) for t in raw if str(t).strip()) if s.chinese or s.words)
        kinds = tuple(k for key, ks in narrower.items() if key in spellings for k in ks if k.chinese or k.words)
        if len(spellings) >= 2:
            groups.append(AliasGroup(spellings, kinds))
    return tuple(groups)


@lru_cache(maxsize=1)
def generic_stems() -> frozenset[str]:
    """Stems of the generic nouns (the file's `generic` list): "signals" in "EEG signals"."""
    return frozenset(stem(w) for w in _alias_data().get("generic", []))


@lru_cache(maxsize=1)
def field_terms() -> frozenset[str]:
    """The terms that name the whole field (the file's `field` list), lower-cased."""
    return frozenset(t.lower() for t in _alias_data().get("field", []))


@lru_cache(maxsize=1)
def category_names() -> dict[str, tuple[str, ...]]:
    """arXiv category code -> its plain names (English and Chinese)."""
    with open(DATA_DIR / "categories.toml", "rb") as fh:
        data = tomllib.load(fh)
    return {code: tuple(names) for code, names in data.get("names", {}).items()}


def find_phrase(words: tuple[str, ...], phrase: tuple[str, ...]) -> list[int]:
    """Start positions of `phrase` (a stem sequence) in `words`."""
    n = len(phrase)
    if not n or n > len(words):
        return []
    first = phrase[0]
    return [i for i, w in enumerate(words[: len(words) - n + 1]) if w == first and words[i:i + n] == phrase]
