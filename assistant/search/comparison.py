"""Comparison questions: "How do KVzap and SIP differ in how they compress the KV cache?", "FairGU vs
MGU", "Sherry和QMC有什么区别？". Such a question names two things; the answer needs each one's own
paper, so each side is searched by its name as well as the whole question, and each side's paper is
put first among the sources.

Detection is by the question's form (a comparison word and two named sides). Whether it is a
comparison of two papers is decided by retrieval: each side must be named by a paper of its own; a
side that only the other side's paper names ("How does FlexLLM compare with an A100 GPU?": the A100
is FlexLLM's baseline) is a question about one paper, answered as any other.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.search.lexical import tokenize
from assistant.types import Notice, Paper, Source

if TYPE_CHECKING:  # the question analyser imports this module; it must not pull in the store
    from assistant.search.retrieval import Filters, Retriever

SIDE_SEARCH_K = 8  # papers looked at per side's name
MAX_SIDE_WORDS = 6  # a longer "side" is a clause ("by how much does X cut latency compared with Y")
MAX_ZH_SIDE_CHARS = 6  # ...and in Chinese, more characters than a term ("有没有研究人脸识别模型在不")
# Characters that make a Chinese "side" a clause rather than a name: 并在KITTI上, 有个基准把一维.
_ZH_CLAUSE = re.compile(r"[并在了或把有是吗呢哪什么怎如何]")

_TAIL = r"(?=\s+(?:in|on|for|when|with respect to|regarding|in terms of|at|as)\b|\s*[,:;?.!]|\s*$)"
_EN_FORMS = [
    # "What is the difference between A and B (in X)?", "differences between A and B"
    re.compile(rf"\bdifferences?\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+?){_TAIL}", re.I),
    # "How do A and B differ (in X)?"
    re.compile(r"\b(?:how|in what ways?|where)\s+(?:do|does|did)\s+(?P<a>.+?)\s+(?:and|&)\s+(?P<b>.+?)\s+differ\b", re.I),
    # "How does A differ from B (in X)?", "What distinguishes A from B?"
    re.compile(rf"\b(?:(?:how|in what ways?)\s+(?:do|does|did)\s+(?P<a>.+?)\s+differ|what\s+distinguishes\s+(?P<a2>.+?))"
               rf"\s+from\s+(?P<b>.+?){_TAIL}", re.I),
    # "How does A compare to/with B?"
    re.compile(rf"\bhow\s+(?:do|does|did)\s+(?P<a>.+?)\s+compare\s+(?:to|with|against)\s+(?P<b>.+?){_TAIL}", re.I),
    # "Compare A and/with/to B (for X)", "comparison of A and B"
    re.compile(rf"\b(?:compare|comparing|contrast|comparison\s+of|comparison\s+between)\s+(?P<a>.+?)\s+"
               rf"(?:and|with|to|against|vs\.?|versus)\s+(?P<b>.+?){_TAIL}", re.I),
    # "A vs B", "A versus B"
    re.compile(rf"(?:^|[:,;]\s*)(?P<a>[^:,;?]+?)\s+(?:vs\.?|versus)\s+(?P<b>[^:,;?]+?){_TAIL}", re.I),
    # "A compared to/with B"
    re.compile(rf"(?:^|[:,;]\s*)(?P<a>[^:,;?]+?)\s+(?:compared|as compared)\s+(?:to|with)\s+(?P<b>[^:,;?]+?){_TAIL}", re.I),
]
# Chinese: "A和B(在X上)有什么区别", "A与B相比", "对比A和B", "相比B，A…"
_ZH_AND = r"(?:和|与|跟|同|及|以及|、)"
_ZH_END = r"(?=在|的|之间|有什么|有何|有哪些|有啥|各自|区别|差异|不同|异同|相比|对比|比较|，|,|？|\?|。|$)"
_ZH_FORMS = [
    re.compile(rf"(?:对比|比较|比一比)(?:一下)?(?P<a>[^，,？?。和与跟同及、]+?){_ZH_AND}(?P<b>[^，,？?。]+?){_ZH_END}"),
    re.compile(rf"(?P<a>[^，,？?。和与跟同及、]+?){_ZH_AND}(?P<b>[^，,？?。]+?){_ZH_END}"
               r"(?=.*(?:区别|差异|不同|异同|相比|对比|比较|哪个好|孰优孰劣))"),
    re.compile(r"(?:相比|相较于|相对于)(?:于)?(?P<b>[^，,？?。]+?)[，,](?P<a>[^，,？?。]+?)(?=在|的|有|是|更|，|,|？|\?|$)"),
]
_COMPARING = re.compile(r"\b(differ\w*|difference|distinguish\w*|vs\.?|versus|compar\w*|contrast\w*)\b|区别|差异|不同|异同|相比|"
                        r"相较|相对于|对比|比较|孰优孰劣|哪个好", re.I)
# A question about an amount ("by how much does X cut latency compared with Knative?") is about one paper's result.
_AMOUNT = re.compile(r"^\s*(by how much|how much|how many|what percentage|多少)", re.I)
_SIDE_FRAMING = re.compile(r"^(?:the|a|an|both|papers?|methods?|approaches?|models?|systems?|frameworks?|论文|方法|模型)\s+|"
                           r"\s+(?:papers?|methods?|approaches?|models?|systems?|frameworks?|论文|方法|模型)$|['’]s$|^[\"'“”‘’*]+|"
                           r"[\"'“”‘’*]+$", re.I)
# What the question asks about each side, once the sides are removed, is what the words below do not say.
_FRAMING_WORDS = frozenset("""how do does did differ differs different difference differences between compare compared
comparing comparison contrast versus vs what which is are the they their them each both in on for of and with to from
way ways distinguish distinguishes approach approaches regarding terms respect""".split())
_ZH_FRAMING = ("有什么区别", "有何不同", "有什么不同", "的区别", "区别", "差异", "不同", "异同", "相比", "对比", "比较", "各自",
               "有什么", "有何", "是什么", "之间", "方面", "一下", "如何", "上", "在")


# Two papers described rather than named ("one mixes adapter experts for medical tasks, the other
# projects away conflicting gradients", "the one that pretrains without labels … and the one that
# synthesises rare classes", "Compare the fast input-adaptive method for pruning … with the study that
# found …"): each description is searched as a question about one paper.
_LEAD = r"(?:that|which|who|where|whose|with|using|for|on|about|from|by|in)\b"
_DESCRIBED_EN = [
    re.compile(r"\bone\s+(?P<a>[^;]+?)[,;]\s*(?:and\s+|while\s+|whereas\s+|but\s+)?the\s+other\s+(?P<b>[^?.!]+)", re.I),
    re.compile(rf"\bone\s+(?P<a>{_LEAD}[^;]+?)[,;]?\s+(?:and|while|whereas|but)\s+(?:another|one)\s+(?P<b>{_LEAD}[^?.!]+)",
               re.I),
    re.compile(rf"\bthe\s+one\s+(?P<a>{_LEAD}.+?)[,;]?\s+(?:and|versus|vs\.?|or|compared\s+(?:to|with))\s+the\s+"
               rf"(?:[\w-]+\s+){{0,3}}?(?P<b>{_LEAD}[^?!]+)", re.I),
    re.compile(r"\b(?:compare|contrast)\s+(?P<a>the\s+\S+.+?)\s+(?:with|to|and|against)\s+(?P<b>the\s+(?:one|paper|study|"
               r"work|method|approach|system|model|framework)\b[^?!]+)", re.I),
    re.compile(r"\bhow\s+(?:does|do|did)\s+(?P<a>the\s+\S+.+?)\s+(?:relate|compare)\s+(?:to|with)\s+(?P<b>the\s+(?:one|"
               r"paper|study|work|method|approach|system|model|framework)\b[^?!]+)", re.I),
]
_DESCRIBED_ZH = [re.compile(r"一(?:篇|个|种|项)(?P<a>[^；;。？?]+?)[，,；;]\s*(?:而)?另一(?:篇|个|种|项)(?P<b>[^。？?；;]+)")]
MIN_DESCRIBED_WORDS = 3  # a shorter "description" is a name (the named-side forms above read those)


@dataclass
class Comparison:
    """Two things a question sets side by side, and what it asks about them."""

    sides: tuple[str, str]
    aspect: str  # the question without the sides and the comparison's framing ("how they compress the KV cache")
    paper_ids: tuple[str, str] | None = None  # each side's paper, once retrieval found two (see resolve_sides)
    described: bool = False  # the sides describe their papers (searched as such) instead of naming them

    @property
    def resolved(self) -> bool:
        return self.paper_ids is not None


def detect_comparison(question: str) -> Comparison | None:
    """The comparison a question asks for, or None when it asks for none (or names fewer than two sides)."""
    if _AMOUNT.search(question):
        return None
    described = detect_described(question)  # its form is the more specific: "one …, the other …"
    if described is not None or not _COMPARING.search(question):
        return described
    forms = _ZH_FORMS if re.search(r"[\u3400-\u9fff]", question) else []
    for form in [*forms, *_EN_FORMS]:
        match = form.search(question)
        if not match:
            continue
        groups = match.groupdict()
        a, b = _side(groups.get("a") or groups.get("a2") or ""), _side(groups.get("b") or "")
        if _plausible(a) and _plausible(b) and a.casefold() != b.casefold():
            return Comparison((a, b), _aspect(question, (a, b)))
    return None


def detect_described(question: str) -> Comparison | None:
    """Two papers the question describes, one after the other (see _DESCRIBED_EN), or None."""
    zh = bool(re.search(r"[\u3400-\u9fff]", question))
    for form in _DESCRIBED_ZH if zh else _DESCRIBED_EN:
        match = form.search(question)
        if not match:
            continue
        a, b = (" ".join(match.group(g).split()).strip(" ,;:?？，。") for g in ("a", "b"))
        size = (lambda s: len(re.findall(r"[\u3400-\u9fff]", s)) // 2) if zh else (lambda s: len(s.split()))
        if min(size(a), size(b)) >= MIN_DESCRIBED_WORDS and a.casefold() != b.casefold():
            return Comparison((a, b), _aspect(question, (a, b)), described=True)
    return None


def _side(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:?？，。")
    previous = None
    while previous != text:
        previous, text = text, _SIDE_FRAMING.sub("", text).strip()
    return text


def _plausible(side: str) -> bool:
    """A side names a thing: a few words (or, in Chinese, a name or a short term) with a word that is
    not framing, and no clause ("并在KITTI上", "statistical, boosting")."""
    if not side or re.search(r"[,，;；、]", side) or not any(t not in _FRAMING_WORDS for t in tokenize(side)):
        return False
    chinese = "".join(re.findall(r"[\u3400-\u9fff]+", side))
    if chinese:
        return len(chinese) <= MAX_ZH_SIDE_CHARS and not _ZH_CLAUSE.search(chinese)
    return len(side.split()) <= MAX_SIDE_WORDS


def _aspect(question: str, sides: tuple[str, str]) -> str:
    rest = question
    for side in sides:
        rest = re.sub(re.escape(side), " ", rest, flags=re.I)
    for phrase in _ZH_FRAMING:
        rest = rest.replace(phrase, " ")
    rest = re.sub(r"'s\b|[和与跟同及]", " ", rest)
    words = [w for w in re.findall(r"[\w\-]+", rest) if w.lower() not in _FRAMING_WORDS and len(w) > 1]
    return " ".join(words)


def names(paper: Paper, side: str, zh: bool = False) -> int:
    """How prominently `paper` names `side`: 3 in its title, 2 in its abstract (or Chinese TL;DR),
    1 elsewhere in its summary, 0 not at all."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(side)}(?![\w-])", re.I)
    if pattern.search(paper.title):
        return 3
    if pattern.search(paper.abstract) or (zh and pattern.search(paper.tldr)):
        return 2
    return 1 if any(pattern.search(getattr(paper, s)) for s in ("method", "result", "conclusion", "motivation")) else 0


def resolve_sides(retriever: Retriever, question: str, comparison: Comparison, filters: Filters | None,
                  k: int) -> tuple[list[Source], dict, list[Notice]] | None:
    """The sources for a comparison of two papers: each side's own paper first (found by searching
    its name), then the question's other best papers. None when the question compares things that
    are not two papers (a side no paper names, or one that only the other side's paper names): it is
    then answered as any question."""
    whole = retriever.search(question, k, filters)
    if comparison.described:
        return _resolve_described(retriever, whole, comparison, filters, k)
    zh = bool(re.search(r"[\u3400-\u9fff]", question))
    picks: list[Source] = []
    for side in comparison.sides:
        found = retriever.search(side, SIDE_SEARCH_K, filters)
        ranked = [s for s in [*found.sources, *whole.sources] if names(s.paper, side, zh)]
        # The paper that names the side most prominently, in retrieval's order among equals.
        best = max(ranked, key=lambda s: names(s.paper, side, zh), default=None)
        if best is None:
            return None
        picks.append(best)
    first, second = picks
    other = comparison.sides
    if first.id == second.id or names(first.paper, other[1], zh) >= 2 or names(second.paper, other[0], zh) >= 2:
        return None  # one paper speaks of both: a question about that paper (its baseline, its ablation)
    comparison.paper_ids = (first.id, second.id)
    rest = [s for s in whole.sources if s.id not in comparison.paper_ids]
    return [first, second, *rest][: max(k, 2)], whole.timings, []


def side_query(comparison: Comparison, side: str) -> str:
    """What a described side is searched by: its description and what the question says of both
    ("Two papers train across clients in one round: one for linear regression, …")."""
    return f"{side} {comparison.aspect}".strip()


def _resolve_described(retriever: Retriever, whole, comparison: Comparison, filters: Filters | None,
                       k: int) -> tuple[list[Source], dict, list[Notice]] | None:
    """Each described side's best paper by searching its description (the two distinct: the second
    side takes its best paper that is not the first's). Whether each one fits its description is
    the answer layer's call (the chain checks it as it would a question about one paper)."""
    first = retriever.search(side_query(comparison, comparison.sides[0]), SIDE_SEARCH_K, filters).sources
    if not first:
        return None
    second = [s for s in retriever.search(side_query(comparison, comparison.sides[1]), SIDE_SEARCH_K, filters).sources
              if s.id != first[0].id]
    if not second:
        return None
    comparison.paper_ids = (first[0].id, second[0].id)
    rest = [s for s in whole.sources if s.id not in comparison.paper_ids]
    return [first[0], second[0], *rest][: max(k, 2)], whole.timings, []
