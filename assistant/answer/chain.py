"""The question-answering chain: question -> analysis -> retrieval -> answerer -> verified citations.

`ask`, `chat`, the UI and the eval harness all call `AnswerChain.ask` / `.stream`; nothing answers
questions any other way. When the LLM backend fails, the extractive answer is returned with a notice.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from functools import cached_property

from assistant.answer.answerers import Answerer, Draft
from assistant.answer.answerers.extractive import ExtractiveAnswerer
from assistant.answer.answerers.roles import ASKS_RESULT
from assistant.answer.citations import Verified, verify_citations
from assistant.answer.evidence import TermWeights, paper_terms
from assistant.answer.screening import ScreeningNotice, screen_set
from assistant.answer.sentences import contribution_sentence
from assistant.errors import BackendError, InputError
from assistant.search.comparison import resolve_sides, side_query
from assistant.search.lexical import tokenize
from assistant.search.names import unstated_figures
from assistant.search.question import Analysis, QuestionAnalyzer
from assistant.search.retrieval import Filters, RetrievalResult, Retriever
from assistant.search.sets.judge import SetJudge
from assistant.types import Answer, LLMUse, Notice, Passage, Source, warning

MAX_QUESTION_CHARS = 2000


def may_ask_for_papers(question: str, analysis: Analysis) -> bool:
    """Whether a question routed as a fact question may be asking for the papers on a subject: not
    one that names ids, asks for one paper ("which paper…", "is there a paper…") or asks for a
    figure or result ("what accuracy…", "how much faster…"), which a list of papers does not answer."""
    return not (analysis.ids or analysis.wants_single or ASKS_RESULT.search(question))


class AnswerChain:
    def __init__(self, retriever: Retriever, answerer: Answerer | None = None):
        self.retriever = retriever
        self.settings = retriever.settings
        self._answerer = answerer

    @cached_property
    def weights(self) -> TermWeights:
        return TermWeights(self.retriever.lexical())

    @cached_property
    def analyzer(self) -> QuestionAnalyzer:
        # A family name alone names a person only where the papers' text never uses the word
        # ("the Davidson diagonalization": an eponym, not a question about Sam Davidson).
        lexical = self.retriever.lexical()
        return QuestionAnalyzer(self.retriever.catalog, stated=lambda term: self.weights.frequency(term) > 0,
                                mentions=lexical.mentions, spells_out=lexical.spells_out)

    @cached_property
    def set_judge(self) -> SetJudge:
        return SetJudge(self.retriever, self.weights.rarity)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.retriever.embedder, self.weights, self.settings.list_detail)

    @property
    def answerer(self) -> Answerer:
        return self._answerer or self.extractive

    @property
    def llm(self) -> Answerer | None:
        """The configured LLM answerer, if any (None: the extractive answerer answers)."""
        return self._answerer

    # -- the steps ------------------------------------------------------------------------------
    def prepare(self, question: str) -> tuple[str, list[str]]:
        question = " ".join((question or "").split())
        if not question:
            raise InputError("the question is empty: ask something about the papers, e.g. "
                             "\"Which papers study KV cache compression?\"")
        notices = []
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
            notices.append(warning(f"the question was cut to its first {MAX_QUESTION_CHARS} characters"))
        return question, notices

    def retrieve(self, question: str, analysis: Analysis, filters: Filters | None,
                 k: int | None) -> tuple[list[Source], dict, list[Notice]]:
        """The sources to answer from, the retrieval's timings, and notices for the reader."""
        k = self.settings.papers_per_answer(k)
        filters = filters or Filters()
        if analysis.unknown_categories and not (analysis.categories or analysis.authors or analysis.ids):
            return [], {}, []  # "cs.CV papers?" in a store with none: the answerer says which it holds
        if analysis.unknown_authors and not (analysis.categories or analysis.ids):
            # "Papers by Geoffrey Hinton?" in a store that lists no paper of his: said so (with anyone
            # stored who shares the family name), never the nearest papers to his name's words.
            return [], {}, []
        if analysis.unknown_ids and not analysis.ids:
            # "What accuracy does 2601.99999 report?": a question about a paper that is not stored.
            # Nothing to show, not five lookalikes (nor a source's text that names that id).
            return [], {}, []
        if analysis.unmentioned:
            # "What speed-up on WMT14 did …", "reward hacking in RLHF": a name no stored paper
            # mentions. The answerer declines and shows these nearest papers, none cited.
            result = self.fact_sources(question, analysis, filters, k)
            return result.sources, result.timings, []
        if analysis.wants_list:
            self.category_as_subject(analysis)
        if (analysis.authors or analysis.categories) and not analysis.overview and not self.narrows(analysis):
            # "A rundown of the cs.DB papers", "the database community (cs.DB)": words none of the
            # named person's or category's papers use cannot pick a subject among them.
            analysis.overview = True
        if analysis.kind in ("author", "category"):
            return self.overview_sources(question, analysis, filters, k), {}, []
        if analysis.names_no_subject:
            return [], {}, []  # the answerer asks for a subject
        filters = self.narrowed(analysis, filters)
        if analysis.comparison is not None:  # two named sides: each side's own paper (search/comparison.py)
            found = resolve_sides(self.retriever, question, analysis.comparison, filters, k)
            if found is not None and analysis.comparison.described and not self.fits_descriptions(analysis, found[0]):
                analysis.comparison.paper_ids, found = None, None  # a side no paper fits: answered as any question
            if found is not None:
                return found
        set_declined = False  # the set judge already found nothing plausible (not asked again below)
        if analysis.kind == "list" and not analysis.wants_single:
            found = self.retrieve_set(question, analysis, filters, k)
            if found is not None and (analysis.authors or analysis.categories) \
                    and not any(s.member or s.related for s in found[0]):
                # "What has X been working on lately?" with words the rules took for a subject: the
                # person or category named is the subject, never a reason to decline.
                analysis.overview = True
                return self.overview_sources(question, analysis, filters, k), {}, []
            if found is not None and analysis.one_paper and not any(s.member or s.related for s in found[0]):
                # "What does the theory paper on training with LLM-written data conclude?": it refers to
                # one paper; no set of papers fits it, and one paper may still answer it (the fact
                # path below: its answer bar, and a decline when it fails too).
                found, set_declined = None, True
            if found is not None:
                return found
        result = self.fact_sources(question, analysis, filters, k)
        sources = result.sources
        lead = self.extractive.lead_first(analysis, sources)[0] if sources else None
        if lead is not None and analysis.category_named and not analysis.categories \
                and lead.paper.category == analysis.category_named[1] and self.category_as_subject(analysis):
            # "What did the information retrieval people post?": the paper that answers best is one
            # of that category's, and the other words do not narrow it: the category is the subject.
            return self.overview_sources(question, analysis, filters, k), {}, []
        answerable = lead is not None and self.extractive.is_answerable(question, analysis, lead)
        if answerable and not analysis.one_paper and may_ask_for_papers(question, analysis):
            # "What's out there on training a student model to imitate a teacher?": a paper answers it,
            # but the question may ask for every paper on the subject and names no single one. When
            # the set judge finds several members, the answer is theirs (the best paper among them).
            found = self.retrieve_set(question, analysis, filters, k, listing=False)
            if found is not None and sum(s.member for s in found[0]) >= 2:
                found[1].update(result.timings)
                return found
        if sources and not answerable:
            if self.category_as_subject(analysis):  # "What did the information retrieval people post?"
                return self.overview_sources(question, analysis, filters, k), {}, []
            if may_ask_for_papers(question, analysis) and not set_declined:
                # No single paper answers it: a reader who asked "is anyone working on …" or described
                # a subject in their own words may still be asking for the papers on it. Declined
                # only when the set judge finds nothing plausible either.
                found = self.retrieve_set(question, analysis, filters, k, listing=False)
                if found is not None and any(s.member or s.related for s in found[0]):
                    found[1].update(result.timings)
                    return found
            if analysis.authors or analysis.categories:
                # "Did X's group put anything out?": no paper answers it as a fact, so the person or
                # category named is what it asks about.
                analysis.overview = True
                return self.overview_sources(question, analysis, filters, k), {}, []
        if answerable and analysis.figures and analysis.kind == "fact" and analysis.comparison is None:
            sources = self.stating_figures(question, analysis, sources)
        return sources, result.timings, []

    def stating_figures(self, question: str, analysis: Analysis, sources: list[Source]) -> list[Source]:
        """The sources led by a paper that states every figure the question states ("what perplexity
        with a 50% sparsity budget?"): the lead if it does, else the next answerable one that does.
        Neither: `analysis.unstated` says which figures the lead lacks, and the question is declined
        (the paper reports 30%, not the 50% asked about)."""
        ranked = self.extractive.lead_first(analysis, sources)
        missing = unstated_figures(ranked[0].paper, analysis.figures)
        if not missing:
            return sources
        for source in ranked[1:3]:
            if not unstated_figures(source.paper, analysis.figures) and self.extractive.is_answerable(question, analysis, source):
                return [source] + [s for s in sources if s is not source]
        analysis.unstated = missing
        return sources

    def fits_descriptions(self, analysis: Analysis, sources: list[Source]) -> bool:
        """Whether each side's paper answers its description as a question about one paper would be
        answered (the calibrated answer bar): "one rotates the weight matrix" must be a paper that
        does, not the nearest words."""
        comparison = analysis.comparison
        for side, source in zip(comparison.sides, sources[:2], strict=True):
            query = side_query(comparison, side)
            if not self.extractive.is_answerable(query, self.analyzer.analyze(query), source):
                return False
        return True

    def category_as_subject(self, analysis: Analysis) -> bool:
        """A category's plain name with words none of its papers use ("the information retrieval
        people"): the category is what the question asks about (an overview of it), said on
        `analysis`. Read only for a list question, or a fact question nothing answered: a plain
        name is also a word ("performance")."""
        if not analysis.category_named or analysis.categories or analysis.authors:
            return False
        name, code, rest = analysis.category_named
        if self.narrows(dataclasses.replace(analysis, categories=[code], subject_words=rest)):
            return False
        analysis.categories, analysis.topic_words, analysis.overview = [code], [], True
        analysis.names.append(name)
        return True

    def narrows(self, analysis: Analysis) -> bool:
        """Whether the words beside a named author or category can pick a subject among their papers:
        at least one of those papers uses one of them."""
        terms = {t for word in analysis.subject_words for t in tokenize(word)}
        if not terms:
            return False
        named = (sum((self.analyzer.papers_by_author(a) for a in analysis.authors), [])
                 + sum((self.analyzer.papers_in_category(c) for c in analysis.categories), []))
        return any(t in paper_terms(p) for p in named for t in terms)

    @staticmethod
    def narrowed(analysis: Analysis, filters: Filters) -> Filters:
        """The filters with the authors and categories a question names about a subject ("Which cs.LG
        papers use quantization?" is a set question within cs.LG)."""
        if analysis.authors and not analysis.overview:
            filters = dataclasses.replace(filters, authors=filters.authors + tuple(analysis.authors))
        if analysis.categories and not analysis.overview:
            filters = dataclasses.replace(filters, categories=filters.categories + tuple(analysis.categories))
        return filters

    def fact_sources(self, question: str, analysis: Analysis, filters: Filters, k: int) -> RetrievalResult:
        """The top-k papers for a question about one fact or paper (ids it names first)."""
        return self.retriever.search(question, max(k, len(analysis.ids)), filters)

    def overview_sources(self, question: str, analysis: Analysis, filters: Filters, k: int) -> list[Source]:
        """Every paper of the authors or categories the question names, a large set ordered by
        relevance to whatever else the question says; each passage is the paper's own sentence on
        what it does (answer/sentences.py), no answerer's text."""
        papers = (sum((self.analyzer.papers_by_author(a) for a in analysis.authors), []) if analysis.authors
                  else sum((self.analyzer.papers_in_category(c) for c in analysis.categories), []))
        papers = [p for p in dict((p.id, p) for p in papers).values() if filters.matches(p)]
        if len(papers) > k:
            within = dataclasses.replace(filters, paper_ids=tuple(p.id for p in papers))
            ranked = self.retriever.search(question, len(papers), within)
            order = {s.id: i for i, s in enumerate(ranked.sources)}
            papers.sort(key=lambda p: (order.get(p.id, len(order)), p.id))
        return [Source(p, 1.0, [Passage(f"{p.id}#meta", "abstract", contribution_sentence(p, analysis.language), 1.0)],
                       ["metadata"]) for p in papers]

    def retrieve_set(self, question: str, analysis: Analysis, filters: Filters,
                     k: int, listing: bool = True) -> tuple[list[Source], dict, list[Notice]] | None:
        """Every paper a set question is about, judged by meaning (assistant/search/sets/): members
        first, then the papers that may be related, each most probable first; with neither, the
        nearest candidates (the answerer declines with them). None when the question names no
        subject to judge by (it then takes the top-k path)."""
        if not self.set_judge.concepts(question, drop=tuple(analysis.names)):
            return None
        result = self.set_judge.judge(question, analysis.language == "zh", tuple(analysis.names), filters, listing)
        sources = []
        for verdict in result.verdicts:
            source = verdict.source
            source.membership, source.member, source.related = verdict.probability, verdict.tier == "member", \
                verdict.tier == "related"
            sources.append(source)
        notices: list[Notice] = []
        if self.llm is not None:
            # -- LLM screening (issue 26; assistant/answer/screening.py) ------------------------------
            # With an LLM configured, the model decides membership: a member stays unless it confidently
            # excludes it; a candidate below the bar joins when it confidently includes it. No member, a
            # failure or an exhausted budget: the calibrated members stand (with a notice).
            screening_started = time.perf_counter()
            members, notices = screen_set(self.llm, question, sources, [s for s in sources if s.member],
                                          analysis.language)
            for source in members:
                source.related = False
            result.timings["screening_s"] = time.perf_counter() - screening_started
        shown = [s for s in sources if s.member or s.related]
        return (shown or sources[:k]), result.timings, notices

    def ask(self, question: str, filters: Filters | None = None, k: int | None = None) -> Answer:
        answer = None
        for item in self.stream(question, filters, k):
            if isinstance(item, Answer):
                answer = item
        return answer

    def stream(self, question: str, filters: Filters | None = None, k: int | None = None,
               analysis: Analysis | None = None) -> Iterator[str | Answer]:
        """Yield answer text as it is produced, then the verified Answer (whose text may differ:
        invalid citations removed, unsupported claims flagged)."""
        started = time.perf_counter()
        question, notices = self.prepare(question)
        analysis = analysis or self.analyzer.analyze(question)
        sources, timings, retrieval_notices = self.retrieve(question, analysis, filters, k)
        notices += retrieval_notices
        timings["retrieve_s"] = time.perf_counter() - started
        answer_started = time.perf_counter()
        draft: Draft | None = None
        # A name no paper mentions, a figure the paper does not state: declined in code, whichever answerer is configured.
        answerer = self.extractive if (analysis.unmentioned or analysis.unstated) else self.answerer
        llm_use = LLMUse(model=self.llm.name.removeprefix("llm:")) if self.llm is not None else None
        try:
            for piece in answerer.stream(question, analysis, sources):
                if isinstance(piece, Draft):
                    draft = piece
                else:
                    yield piece
        except BackendError as exc:
            draft = self.extractive.answer(question, analysis, sources)
            draft.notices.insert(0, warning(f"the LLM backend failed (model '{answerer.name.removeprefix('llm:')}': {exc}); "
                                            "this is the extractive answer from the sources"))
            if llm_use is not None:
                llm_use.fallback, llm_use.reason = exc.code, str(exc)
            yield "\n\n" + draft.text
        if draft.refused and not draft.text.strip():
            # An LLM said NOT_COVERED: the refusal and the nearest papers are worded in code.
            refusal = self.extractive.refusal(analysis, sources)
            draft = dataclasses.replace(draft, text=refusal.text, refused=True)
        if llm_use is not None and draft.backend != self.extractive.name:
            llm_use.answered, llm_use.served_model = True, draft.served_model
            llm_use.prompt_tokens = draft.usage.get("prompt_tokens")
            llm_use.completion_tokens = draft.usage.get("completion_tokens")
        timings["answer_s"] = time.perf_counter() - answer_started
        verify_started = time.perf_counter()
        # A refusal makes no claims; its nearest-paper list is not a set of citations.
        verified = (verify_citations(draft.text, sources, self.weights) if not draft.refused
                    else Verified(draft.text, []))
        if not draft.refused and draft.backend != self.extractive.name and not verified.cited_ids:
            # An LLM answer that cites none of the sources cannot be checked (and is what a model
            # following instructions injected into a paper would produce): show the sources' answer.
            fallback = self.extractive.answer(question, analysis, sources)
            named = llm_use.label if llm_use else draft.backend
            dropped = verified.removed_ids  # what it cited instead is still reported (removed_citations)
            why = "cited none of the sources" + (f" (only {', '.join(dropped)}, not among them)" if dropped else "")
            fallback.notices.insert(0, warning(f"the answer of the LLM '{named}' {why}, so it was not shown; "
                                               "this is the extractive answer"))
            if llm_use is not None:
                llm_use.answered, llm_use.fallback, llm_use.reason = False, "no_valid_citation", f"the model's answer {why}"
            draft = fallback
            verified = (verify_citations(draft.text, sources, self.weights) if not draft.refused
                        else Verified(draft.text, []))
            verified.removed_ids = dropped + [i for i in verified.removed_ids if i not in dropped]
        timings["verify_s"] = time.perf_counter() - verify_started
        timings["total_s"] = time.perf_counter() - started
        screening = next((n.screening for n in notices if isinstance(n, ScreeningNotice)), None)
        yield Answer(question=question, text=verified.text, cited_ids=[] if draft.refused else verified.cited_ids,
                     sources=sources, refused=draft.refused, backend=draft.backend or answerer.name,
                     timings=timings, notices=notices + draft.notices + verified.notices,
                     removed_ids=verified.removed_ids, citations=verified.citations, llm=llm_use,
                     screening=screening)
