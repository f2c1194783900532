"""What a question asks for, decided before retrieval: its language, and whether it names papers
(arXiv ids), people (authors in the catalogue) or a whole category, or wants a set of papers.

Author and category questions are answered from every matching paper found through metadata;
set questions ("which papers…", "LoRA papers?", "anything on federated learning?") from every
paper judged a member (assistant/search/sets/), never from the top-k of a similarity search.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from assistant.arxiv_ids import find_arxiv_ids
from assistant.ingest.paper_table import cards_of
from assistant.search.bilingual import glossary
from assistant.search.comparison import Comparison, detect_comparison
from assistant.search.lexical import tokenize
from assistant.search.names import names_in, stated_figures
from assistant.search.sets.framing import FRAMING_EN, STOP_STEMS
from assistant.search.vocabulary import category_names, stem
from assistant.text import FRAMING_ZH, cjk_ratio, fold
from assistant.types import Paper

_CATEGORY = re.compile(r"(?<![\w.])([a-z]{2,8}(?:-[a-z]{2,6})?\.[A-Za-z]{2}|quant-ph|gr-qc|hep-[a-z]{2}|nucl-[a-z]{2})(?![\w])",
                       re.I)
# arXiv's archives (what a category code starts with), so that "model.py" is not taken for a category.
_ARCHIVE = re.compile(r"(cs|eess|stat|math|econ|q-bio|q-fin|astro-ph|cond-mat|physics|nlin)\.|quant-ph|gr-qc|hep-|nucl-",
                      re.I)
# A question that asks for a set of papers (several may answer it), in the ways people type it.
_LIST_EN = re.compile(r"\b(which|what|any|list|find|show|give me|are there)\b[^?]*\b(papers|works|studies|methods|approaches|"
                      r"ones|articles|preprints)\b|\bpapers? (that|which|on|about|using|with|for|in)\b|\bare there\b|"
                      r"\banything (on|about|regarding|related to|new (on|in|about))\b|\bwhat'?s new (in|on|about|with)\b|"
                      r"\blatest (work |papers |research |results )?(on|in|about)\b|\b(news|updates?) (on|about)\b|"
                      r"\bany (work|research|papers?|studies) (on|about|using|that)\b|\b(work|research) on\b|"
                      r"\bpapers\s*\??\s*$|^\s*(list|show|find)\b|"
                      # what was published / what the digests have on a subject
                      r"\b(was|were|been|got|get|is|are) (published|released|posted|out)\b|"
                      r"\bwhat (do|does|did) (these|the|this|you)\b[^?]*\bhave (on|about|for)\b|"
                      # a reader looking for work: "I'm looking for methods that…", "is anyone working on…",
                      # "how do recent papers cope with…", "were there papers poking at…", "new takes on…"
                      r"\blooking for (some |any |recent |new )?(work|papers?|methods|research|studies|approaches)\b|"
                      r"\b(is|are) (anyone|anybody|people|researchers) (working|doing|looking|trying)\b|"
                      r"\bhow (do|are|did) (recent |new |the |these )?(papers|people|researchers|works|studies)\b|"
                      r"\b(were|are|was|is) there (any |some )?(papers|works|studies|research)\b|"
                      r"\b(new|recent|latest) (takes|work|works|results|papers|methods) (on|in|about|for)\b", re.I)
_SINGLE_EN = re.compile(r"\b(which|what) (paper|work|study|article|preprint)\b(?! (and|or) )|\bis there an? (paper|work|study)\b|"
                        r"\bthe paper (that|which|where)\b|^\s*find the paper\b", re.I)
_LIST_ZH = re.compile(r"哪些|哪几篇|有没有|列出|有哪些|的论文[吗呢？?。]*\s*$|相关论文|论文列表|"
                      r"有什么新?的?(论文|文章|工作|研究|进展)|最新的?(论文|进展|工作|研究)|方面的?(论文|工作|研究)")
# A phrase with no question word is a subject to list papers on, however it is qualified ("machine
# learning on gene-expression measurements (bulk, single-cell or spatial)?"); beyond this many
# content words it reads as a statement, not a subject.
BARE_TOPIC_WORDS = 12
# One paper asked about in Chinese: "哪篇", "有篇论文…", "那篇…", or a follow-up about "it" ("…？它用了什么方法？").
# (Over the labelled sets' Chinese questions these forms occur in 60, every one about a single paper.)
_SINGLE_ZH = re.compile(r"哪篇|哪一篇|有一?篇|那篇|这篇|[？?，,。]\s*它(?!们)")
# A question that refers to one paper without asking "which paper" ("the study that benchmarked …",
# "there's one showing …", "that e-commerce system …", "那篇…的论文").
_ONE_PAPER_EN = re.compile(r"\b(the|that|this)\s+(?:[\w'-]+\s+){0,3}?(paper|study|work|one|article|preprint|benchmark|"
                           r"method|model|system|framework|approach|survey|analysis|tool|dataset|technique|algorithm|"
                           r"authors?)\b"
                           r"|\bthere(?:'s| is| was)\s+(?:one|a|an)\b|\b(?:a|one)\s+(paper|study|work|article|preprint)\b",
                           re.I)
_SEVERAL_PAPERS = re.compile(r"\b(two|both|these|three|several|multiple)\s+(papers|studies|works|preprints|articles)\b"
                             r"|两篇|几篇|这两|多篇", re.I)
_ONE_PAPER_ZH = re.compile(r"该论文|该研究|一篇|有个|有一个|那个|这个|研究中|作者")  # besides _SINGLE_ZH's forms
_QUESTION_WORD = re.compile(r"\b(what|how|why|when|where|who|whom|whose|which|does|do|did|is|are|was|were|can|could|"
                            r"should|would|will|has|have|had)\b|[吗呢？?]|什么|如何|怎么|为什么|多少|是否", re.I)
_OVERVIEW_WORDS = frozenset("""what which about are is the papers paper in on do does category categories summarize summarise
summary overview topics topic cover covers covered published publish publishes wrote write written did have has
list show all tell me give any""".split())
# Words that only frame an author question ("what has X been working on according to these digests").
_AUTHOR_FRAMING = frozenset(stem(w) for w in """been working worked work works research researched researching according
collection contributed contribute contribution contributions coauthored co authored authored author authors wrote write
written writing publish published publishes publication publications did do does done has have had up to lately
recently here these those this digest digests store stored in by of on about from appear appears appeared listed
included""".split())
# A person named as the author of what is asked for: the words after "by" / "anything from", before
# "'s group" / "'s papers", between "has" / "did" and "published" / "been"; a name is two to four
# capitalised words or initials ("Geoffrey Hinton", "Fei-Fei Li", "J. R. R. Tolkien").
_AUTHORSHIP_AFTER = re.compile(r"\b(?:(?:authored|written|co-?authored|posted|published)\s+by|by|(?:anything|something|"
                               r"nothing|papers?|work|preprints?|new)\s+from)\s+(?P<name>[^?!,;:()]+)", re.I)
_AUTHORSHIP_BEFORE = re.compile(r"(?P<name>(?:[^\s?!,;:()]+\s+){0,3}[^\s?!,;:()]+?)(?:'s|’s|')\s+(?:group|lab|team|papers?|"
                                r"work|research|students?|co-?authors?|preprints?)\b", re.I)
_AUTHORSHIP_BETWEEN = re.compile(r"\b(?:has|have|did|does|is)\s+(?P<name>(?:[^\s?!,;:()]+\s+){1,4}?)(?:been|published|"
                                 r"posted|written|put|released|done|co-?authored|authored|got|working)\b", re.I)
# A Chinese question about a person named in Latin script: "Geoffrey Hinton 的论文", "作者是 Yann LeCun 的".
_AUTHORSHIP_ZH_BEFORE = re.compile(r"(?P<name>(?:[A-Za-z][\w'’.-]*\s+){1,3}[A-Za-z][\w'’.-]*)\s*(?:的(?:论文|文章|工作|研究|新作)"
                                   r"|(?:最近|近期)?(?:发表|发布|发|写)(?:了|过)?)")
_AUTHORSHIP_ZH_AFTER = re.compile(r"作者(?:是|为|包括|有)?\s*(?P<name>[A-Za-z][^\u3400-\u9fff?？!！,，;；:：()（）]+)")
_NAME_WORD = re.compile(r"(?:[^\W\d_]\.|[^\W\d_][^\W\d_'’]*(?:-[^\W\d_]+)*)$")
MAX_NAME_WORDS = 4

# Words that only frame a category question ("papers whose main category is cs.ET", "an overview of …").
_CATEGORY_FRAMING = frozenset(stem(w) for w in """main primary category categories overview summarize summarise summary
whose labelled labeled tagged listed as their its appear appears included give""".split())
# Words that ask for an overview of whatever a person or category has ("brief me on …", "the main
# themes", "what came out under …"): they never narrow it to a subject.
_OVERVIEW_REQUEST = frozenset(stem(w) for w in """brief briefing overview summarize summarise summary summaries recap
theme themes trend trends highlight highlights main key major came come out under what whats new
catch up corpus batch collection here these""".split())
_ID_QUESTION_WORDS = frozenset("report reports say says summarize summarise summary about tell explain describe find "
                               "finding findings result results contribution contributions main do does "
                               "讲 介绍 总结 内容 贡献".split())
# Follow-ups that point back at the previous answer's papers.
_FOLLOW_UP_EN = re.compile(r"^\s*(and|also|what about|how about)\b|\b(those|these|them|they|their|its|it|that paper|this paper|"
                           r"the (first|second|third|last|former|latter)( one| paper)?|which of (them|these|those))\b", re.I)
_FOLLOW_UP_ZH = re.compile(r"这些|那些|它们|它的|其中|上述|这篇|那篇|前者|后者|第[一二三]篇")




@dataclass
class Analysis:
    language: str  # "en" or "zh"
    ids: list[str] = field(default_factory=list)  # arXiv ids named in the question, known to the store
    unknown_ids: list[str] = field(default_factory=list)  # named but not stored
    authors: list[str] = field(default_factory=list)  # author names (as stored) named in the question
    categories: list[str] = field(default_factory=list)
    wants_list: bool = False  # "which papers ..." -> one line per paper
    wants_single: bool = False  # "which paper ..." -> the paper (and any as good)
    one_paper: bool = False  # refers to one paper ("the study that …", "there's one showing …", "那篇…")
    overview: bool = False  # about an author/category as a whole -> every matching paper
    content_terms: list[str] = field(default_factory=list)  # what is left once names are removed
    topic_words: list[str] = field(default_factory=list)  # content words once set-question framing is removed
    follow_up: bool = False
    names: list[str] = field(default_factory=list)  # the spans naming authors/categories/ids (removed for topics)
    # Chinese content terms -> their English senses (bilingual.py): a paper may state them in English only.
    # None for an English question.
    glosses: dict[str, tuple[tuple[str, ...], ...]] | None = None
    comparison: Comparison | None = None  # "how do A and B differ": the two sides (search/comparison.py)
    # A category's plain name with other words beside it ("the information retrieval people"):
    # (name, code, the other words); the chain decides whether those words narrow it.
    category_named: tuple[str, str, list[str]] | None = None
    # Beside a named author or category, the words that may name a subject among their papers
    # (framing and the category's own name left out).
    subject_words: list[str] = field(default_factory=list)
    unknown_categories: list[str] = field(default_factory=list)  # arXiv categories named that no stored paper has
    unknown_authors: list[str] = field(default_factory=list)  # people named as authors whom no stored paper lists
    similar_authors: list[str] = field(default_factory=list)  # (then) stored authors who share their family name
    stored_categories: list[str] = field(default_factory=list)  # (then) the categories the store holds
    # Things the question names (names.py: RLHF, WMT14, MI300X) that no stored paper mentions: the
    # digests cannot answer a question about them. Those given as examples ("e.g. GDPR") apart.
    unmentioned: list[str] = field(default_factory=list)
    unmentioned_examples: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # figures stated as conditions ("with a 50% budget")
    unstated: list[str] = field(default_factory=list)  # (then) those the paper that would answer does not state

    @property
    def content_terms_beyond_ids(self) -> bool:
        """True when the question asks about more than the ids it names ("what does X report" does not)."""
        return len([t for t in self.content_terms if t not in _ID_QUESTION_WORDS]) > 0

    @property
    def names_no_subject(self) -> bool:
        """Only framing ("which papers?", "有哪些论文？"): no subject, person, category or id to look for."""
        return self.wants_list and not (self.topic_words or self.authors or self.categories or self.ids
                                        or self.unknown_ids or self.unknown_categories or self.unknown_authors)

    @property
    def kind(self) -> str:
        if self.ids:
            return "id"
        if self.overview and self.authors:
            return "author"
        if self.overview and self.categories:
            return "category"
        return "list" if self.wants_list else "fact"


class QuestionAnalyzer:
    """Built once per catalogue: an index of author names and categories for matching in questions."""

    def __init__(self, catalog: Mapping[str, Paper], stated: Callable[[str], bool] | None = None,
                 mentions: Callable[[tuple[str, ...]], bool] | None = None,
                 spells_out: Callable[[str], bool] | None = None):
        """`stated`: whether the papers' text uses a (tokenized) term; a word it uses is never read as
        a family name on its own (default: none is). `mentions`: whether it mentions a name given by
        its pieces (LexicalIndex.mentions; default: every name is mentioned); `spells_out`: whether it
        writes an acronym out in full instead (LexicalIndex.spells_out; default: none is)."""
        self.catalog = catalog
        self._stated = stated or (lambda term: False)
        self._mentions = mentions or (lambda parts: True)
        self._spells_out = spells_out or (lambda acronym: False)
        self.authors: dict[str, str] = {}  # folded name -> stored spelling
        cards = list(cards_of(catalog))  # (what is read of every paper, without decoding its text)
        self.categories = {p.category.lower(): p.category for p in cards}
        # The store's category codes name their archives too ("not a CS category": cs.LG, cs.DB …).
        self._archives = {code.split(".")[0] for code in self.categories}
        for paper in cards:
            for author, folded in zip(paper.authors, _folded_authors(paper), strict=True):
                if len(folded.split()) >= 2 or (folded and not folded.isascii()):
                    self.authors.setdefault(folded, author)
        self._max_name_words = max((len(n.split()) for n in self.authors), default=0)
        # Family names, for a question that names a person by it alone ("papers by Klambauer?").
        self._family_names: dict[str, list[str]] = {}
        for folded, author in self.authors.items():
            parts = folded.split()
            if len(parts) >= 2 and parts[-1].isalpha() and len(parts[-1]) >= 3:
                self._family_names.setdefault(parts[-1], []).append(author)
        # Plain category names ("databases", "信息检索") of the categories this store holds.
        self._category_names = sorted(((name, code) for code, names in category_names().items()
                                       if code.lower() in self.categories for name in names),
                                      key=lambda nc: -len(nc[0]))

    def analyze(self, question: str) -> Analysis:
        language = "zh" if cjk_ratio(question) > 0.15 else "en"
        named = find_arxiv_ids(question)
        analysis = Analysis(language=language, ids=[i for i in named if i in self.catalog],
                            unknown_ids=[i for i in named if i not in self.catalog])
        found = _CATEGORY.findall(question)
        coded = [c for c in found if c.lower() in self.categories]
        # An arXiv category no stored paper has ("cs.CV papers?"): said so, with what is stored.
        analysis.unknown_categories = list(dict.fromkeys(c for c in found if c.lower() not in self.categories
                                                         and _ARCHIVE.match(c)))
        if analysis.unknown_categories:
            analysis.stored_categories = sorted(self.categories.values())
        analysis.categories = list(dict.fromkeys(self.categories[c.lower()] for c in coded))
        plain = self._find_category_names(question)
        analysis.authors = self._find_authors(question)
        if not analysis.authors:
            # "Papers by Geoffrey Hinton?" in a store without him: said so, not his name's nearest words.
            analysis.unknown_authors = self._unknown_authors(question)
            analysis.similar_authors = [a for name in analysis.unknown_authors
                                        for a in self._family_names.get(fold(name).split()[-1], [])]
        analysis.names = analysis.authors + coded + named + analysis.unknown_authors
        analysis.wants_single = bool(_SINGLE_EN.search(question) or _SINGLE_ZH.search(question))
        analysis.one_paper = analysis.wants_single or (
            bool(_ONE_PAPER_EN.search(question) or _ONE_PAPER_ZH.search(question)) and not _SEVERAL_PAPERS.search(question))
        analysis.wants_list = bool(_LIST_EN.search(question) or _LIST_ZH.search(question)) or analysis.wants_single
        remaining = question
        for code in analysis.categories:  # "information retrieval (cs.IR)": the plain name is the code again
            for name in category_names().get(code, ()):
                remaining = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", remaining, flags=re.I)
        for name in analysis.names:
            remaining = re.sub(re.escape(name), " ", remaining, flags=re.I)
        for name in analysis.authors:
            if language != "en":
                remaining = remaining.replace(name, " ")
                continue
            remaining, full = fold(remaining), fold(name)
            # Named in full, or by the family name alone.
            remaining = (remaining.replace(full, " ") if full in remaining
                         else re.sub(rf"\b{re.escape(full.split()[-1])}\b", " ", remaining))
        analysis.content_terms = [t for t in tokenize(remaining) if t not in _OVERVIEW_WORDS]
        if language == "zh":
            analysis.glosses = glossary(analysis.content_terms)
        analysis.topic_words = _topic_words(remaining)
        # A bare topic ("federated learning", "continual learning?") asks what there is on it; a
        # question mark alone does not make it a question about one fact.
        bare = not _QUESTION_WORD.search(question.rstrip().rstrip("?？").rstrip())
        if not analysis.wants_list and bare and 0 < len(analysis.topic_words) <= BARE_TOPIC_WORDS:
            analysis.wants_list = True
        if not analysis.categories and plain:
            # A plain category name counts only when it is the whole subject ("databases papers?").
            name, code = plain
            rest = _topic_words(re.sub(re.escape(name), " ", remaining, flags=re.I))
            if not rest:
                analysis.categories = [self.categories[code.lower()]]
                analysis.names.append(name)
                analysis.topic_words = []
            elif not analysis.authors:
                analysis.category_named = (name, self.categories[code.lower()], rest)
        if analysis.authors or analysis.categories:
            author_rest = [w for w in analysis.topic_words if stem(w) not in _AUTHOR_FRAMING | _OVERVIEW_REQUEST]
            # About the person or the category as a whole, unless the question also names a subject
            # ("Which cs.LG papers use quantization?" is a set question within cs.LG).
            category_words = {stem(w) for c in analysis.categories for n in category_names().get(c, ()) for w in n.split()}
            category_rest = [w for w in analysis.topic_words if stem(w) not in _CATEGORY_FRAMING | _OVERVIEW_REQUEST
                             and not set(map(stem, re.split(r"[/-]", w))) <= category_words]
            analysis.overview = ((bool(analysis.authors) and not author_rest)
                                 or (bool(analysis.categories) and not category_rest))
            analysis.subject_words = category_rest if analysis.categories else author_rest
        analysis.follow_up = bool(_FOLLOW_UP_EN.search(question) or _FOLLOW_UP_ZH.search(question))
        analysis.comparison = detect_comparison(question) if not analysis.ids else None
        if not (analysis.ids or analysis.authors or analysis.categories or analysis.unknown_authors):
            named = " ".join(analysis.names).lower()
            for name in names_in(question):
                if name.text.lower() not in named and name.text.lower() not in self._archives \
                        and not self._mentions(name.parts) and not self._spells_out(name.text):
                    (analysis.unmentioned_examples if name.example else analysis.unmentioned).append(name.text)
        if not analysis.ids:
            analysis.figures = stated_figures(question)
        return analysis

    def _find_category_names(self, question: str) -> tuple[str, str] | None:
        lowered = question.lower()
        for name, code in self._category_names:
            if re.search(r"[\u3400-\u9fff]", name):
                if name in question:
                    return name, code
            elif re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", lowered):
                return name, code
        return None

    def _find_authors(self, question: str) -> list[str]:
        words = fold(question).split()
        found: list[str] = []
        for size in range(self._max_name_words, 0, -1):
            for start in range(0, len(words) - size + 1):
                candidate = " ".join(words[start:start + size])
                if candidate in self.authors and not any(candidate in fold(f) for f in found):
                    found.append(self.authors[candidate])
        # Chinese names written in Chinese characters appear verbatim.
        found += [a for f, a in self.authors.items() if not f.isascii() and a in question and a not in found]
        # A family name alone, capitalised as names are, names everyone stored who bears it, unless
        # the papers use it as a word ("Long", "Chain"; an eponym: "Davidson diagonalization"), it is
        # part of a compound ("Kling-Gupta efficiency") or it frames the question.
        known = {part for name in found for part in fold(name).split()}
        for match in re.finditer(r"(?<![\w-])[^\W\d_]+(?![\w-])", question):
            word = match.group()
            family = fold(word)
            before = question[:match.start()].split()
            given = before[-1] if before else ""
            # "John Klambauer" is someone else than the stored Günter Klambauer (an initial may be his).
            other_given = (len(given) > 2 and given[0].isupper() and _NAME_WORD.match(given) is not None
                           and stem(given.lower()) not in FRAMING_EN | _AUTHOR_FRAMING | STOP_STEMS)
            if (word[0].isupper() and family in self._family_names and family not in known and not other_given
                    and family not in self._title_words and stem(family) not in FRAMING_EN | _AUTHOR_FRAMING
                    and not any(self._stated(t) for t in tokenize(word))):
                found += [a for a in self._family_names[family] if a not in found]
                known.add(family)
        return found

    def _unknown_authors(self, question: str) -> list[str]:
        """People the question names as authors (an authorship frame around two to four capitalised
        words) whom no stored paper lists. A span the papers' own words make up ("by Monte Carlo Tree
        Search", "by Reinforcement Learning") is a subject, not a person."""
        found: list[str] = []
        frames = (((_AUTHORSHIP_AFTER, False), (_AUTHORSHIP_BEFORE, True), (_AUTHORSHIP_BETWEEN, False))
                  if cjk_ratio(question) <= 0.15 else ((_AUTHORSHIP_ZH_BEFORE, True), (_AUTHORSHIP_ZH_AFTER, False)))
        for pattern, from_end in frames:
            for match in pattern.finditer(question):
                name = _name_in(match.group("name"), from_end)
                if (name and name not in found and fold(name) not in self.authors
                        and not all(self._stated(t) for word in name.split() for t in tokenize(word))):
                    found.append(name)
        return found

    @cached_property
    def _title_words(self) -> frozenset[str]:
        """Every word of the stored titles, folded (read only when a family name may be meant)."""
        return frozenset(w for card in cards_of(self.catalog) for w in fold(card.title).split())

    def papers_by_author(self, author: str) -> list[Paper]:
        target = fold(author)
        return [self.catalog[p.id] for p in cards_of(self.catalog) if target in _folded_authors(p)]

    def papers_in_category(self, category: str) -> list[Paper]:
        return [self.catalog[p.id] for p in cards_of(self.catalog) if p.category.lower() == category.lower()]


def _name_in(span: str, from_end: bool) -> str | None:
    """The run of two to four capitalised words (or initials) at the start of `span` (its end, for a
    possessive: "did Yann LeCun's group"), else None."""
    words = span.split()
    if from_end:
        words = words[::-1]
    run = []
    for word in words[:MAX_NAME_WORDS + 1]:
        if not (_NAME_WORD.match(word) and word[0].isupper() and stem(word.lower()) not in _AUTHOR_FRAMING | FRAMING_EN):
            break
        run.append(word)
    if from_end:
        run = run[::-1]
    return " ".join(run) if 2 <= len(run) <= MAX_NAME_WORDS else None


def _folded_authors(paper) -> list[str]:
    """A paper's (or card's) authors folded; a card from the paper table carries them folded
    (folding the 15k names of 5,000 papers cost 0.1 s)."""
    return getattr(paper, "folded", None) or [fold(a) for a in paper.authors]


def _topic_words(text: str) -> list[str]:
    """The words naming a set question's subject: English words outside the framing vocabulary and
    Chinese text outside the framing phrases."""
    english = [w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*", text)
               if stem(w) not in FRAMING_EN and w.lower() not in _OVERVIEW_WORDS and len(w) > 1]
    chinese = "".join(re.findall(r"[\u3400-\u9fff]+|\s", text))
    for phrase in FRAMING_ZH:
        chinese = chinese.replace(phrase, " ")
    return english + [w for w in chinese.split() if len(w) >= 2]
