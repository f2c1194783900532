"""The embedded default answerer: composes answers from the papers' own sentences.

No model is asked to write anything, so nothing can be invented: every sentence shown is a
sentence of a retrieved paper, and every citation is attached in code to the paper the sentence
came from. Sentences are chosen by IDF-weighted overlap with the question plus dense similarity
(English); a Chinese question is answered from the Chinese summary sections, with the English
abstract's own sentence added when the answer hinges on a number.
"""
from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from assistant.answer.answerers import Draft
from assistant.answer.answerers.roles import (
    ASKS_RESULT,
    question_parts,
    role,
)
from assistant.answer.evidence import TermWeights, paper_terms
from assistant.answer.sentences import (
    MAX_SENTENCE_CHARS,
    abstract_sentences,
    contribution_sentence,
    is_filler_in,
    paper_sentences,
    result_sentence,
    short_name,
)
from assistant.config import Settings
from assistant.ingest.chunking import embed_text, header_title
from assistant.ingest.embeddings import Embedder, embed_recurring
from assistant.search.lexical import tokenize
from assistant.search.question import Analysis
from assistant.search.sets.judge import SET_CANDIDATES
from assistant.search.sets.model import RelevanceModel, load_model
from assistant.text import clean_latex, numbers_in, shorten, split_sentences
from assistant.types import Paper, Source

# Which of the first sources quote in a fact answer, and which list-answer papers join the first:
# shares of the question's terms (whether to answer at all is the calibrated model's call).
MIN_COVERAGE = 0.50
ZH_LEADS = 3  # a Chinese fact question: of this many first sources, the best-covered leads
OVERVIEW_LIMIT = 25  # papers listed one per line before pointing at `digestqa brief`
LIST_LIMIT = 8
SENTENCE_VECTORS_KEPT = 4096  # about 6 MB of 384-d float32 vectors
LINE_CHARS = 320  # a list line's sentence, shortened by whole clauses beyond this
FEW_MEMBERS = 3  # set answers this short also quote each paper's headline result
NAMES_SHOWN = 3  # unmentioned names a decline spells out ("No paper … mentions WMT14 or …")
ROLE_BONUS = {"result": 0.05, "contribution": 0.05, "background": -0.15, "other": 0.0}


@dataclass
class _Scored:
    paper: Paper
    sentence: str
    section: str
    score: float


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embedder: Embedder, weights: TermWeights, detail_limit: int = Settings.list_detail,
                 model: RelevanceModel | None = None):
        self.embedder = embedder
        self.weights = weights
        self._model = model
        self.detail_limit = detail_limit  # 0: every member of a set answer gets its sentence
        # Sentence vectors already computed: a multi-part question ranks the same paper's sentences
        # once per part, and a chat asks about the same papers again. Bounded; shared by UI sessions.
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()

    # -- public interface -------------------------------------------------------------------
    def answer(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        if analysis.kind == "id" or analysis.unknown_ids:  # any id named is looked up, and said when not stored
            return self._answer_ids(analysis, sources)
        if analysis.kind in ("author", "category"):
            return self._answer_overview(question, analysis, sources)
        if analysis.unmentioned:
            return self._refuse(analysis, sources)
        if analysis.unstated and sources:
            return self._decline_unstated(question, analysis, sources)
        if analysis.names_no_subject:
            text = ("这个问题没有说明主题：请问具体的主题，例如“有哪些关于KV缓存压缩的论文？”" if analysis.language == "zh"
                    else "The question names no subject to look for: ask about one, e.g. \"Which papers study KV "
                         "cache compression?\", or name an author or a category (\"cs.IR papers?\").")
            return Draft(text, refused=True, backend=self.name)
        if not sources:
            return self._refuse(analysis, sources, "no stored paper matches the question")
        if analysis.comparison is not None and analysis.comparison.resolved:  # two papers, each named by its side
            return self._answer_comparison(analysis, sources)
        if any(s.membership is not None for s in sources):  # a set question, membership already judged
            members = [s for s in sources if s.member]
            related = [s for s in sources if s.related]
            if not members and not related:
                return self._refuse(analysis, sources)  # nothing plausible at all
            return self._answer_set(question, analysis, members, related)
        sources = self.lead_first(analysis, sources)
        if not self.is_answerable(question, analysis, sources[0]):
            return self._refuse(analysis, sources)
        if analysis.kind == "list" and not analysis.wants_single:
            return self._answer_list(question, analysis, sources)
        return self._answer_fact(question, analysis, sources)

    def stream(self, question: str, analysis: Analysis, sources: list[Source]) -> Iterator[str | Draft]:
        draft = self.answer(question, analysis, sources)
        yield draft.text
        yield draft

    @property
    def model(self) -> RelevanceModel:
        """The calibrated answer/decline bar (evals/calibrate.py), read when first needed."""
        if self._model is None:
            self._model = load_model()
        return self._model

    # -- evidence -----------------------------------------------------------------------------
    def lead_first(self, analysis: Analysis, sources: list[Source]) -> list[Source]:
        """The sources with the one a fact answer leads with first. A Chinese question's ranking
        merges two lexical ones (the Chinese summaries, and the English text in dictionary words)
        with no dense signal: of the first few, the paper that states most of the question leads."""
        if analysis.language != "zh":
            return sources
        return sorted(sources[:ZH_LEADS], key=lambda s: -self.evidence(analysis, s)) + sources[ZH_LEADS:]

    def evidence(self, analysis: Analysis, source: Source) -> float:
        return self.weights.coverage(analysis.content_terms, paper_terms(source.paper), analysis.glosses)

    def answerability(self, question: str, analysis: Analysis, source: Source) -> dict[str, float]:
        """What the answer/decline decision for a fact question weighs about the top source: the
        IDF-weighted share of the question's terms it states, its closest passage's cosine to the
        question, and its title's (titles have no stored vector: embedded now), how far it stands out
        from the other papers the dense search found and how many those were. The model reads no
        Chinese, so a Chinese question's dense values are 0 and its model weighs the terms."""
        english = analysis.language != "zh"
        dense = source.evidence.get("dense", 0.0) if english else 0.0
        title = self.title_similarity(question, source.paper) if english else 0.0
        return {"coverage": self.evidence(analysis, source), "dense": dense, "title": title,
                "closest": max(dense, title), "standout": source.evidence.get("dense_local", 0.0) if english else 0.0,
                "pool": source.evidence.get("dense_pool", 0.0) if english else 0.0,
                "named": self.names_the_paper(analysis, source.paper),
                "sentence": self.closest_sentence(question, source.paper) if english else 0.0}

    def closest_sentence(self, question: str, paper: Paper) -> float:
        """Cosine between the question and the paper's abstract sentence closest to it: a paper
        described in other words tends to have one sentence saying what the question says."""
        sentences = [s for s in paper_sentences(paper.abstract) if len(s) > 12][:40]
        if not sentences:
            return 0.0
        vectors = self._embed([question] + [s[:MAX_SENTENCE_CHARS] for s in sentences])
        return float(np.max(vectors[1:] @ vectors[0]))

    def names_the_paper(self, analysis: Analysis, paper: Paper) -> float:
        """1 when the question's rarest term the store holds is in the paper's title ("What does
        PageKV report?"): a question that names a paper is about it, whatever else its words cover.
        Rarity counts papers first, then passages (a paper's name is in each of its passages: in
        a small store a common word may be in fewer), and terms as rare as each other all count
        ("What AIME score does PCL-Reasoner report?": each in three passages of one paper)."""
        stated = {t: (self.weights.papers_stating(t), self.weights.frequency(t))
                  for t in dict.fromkeys(analysis.content_terms) if len(t) > 2}
        stated = {t: n for t, n in stated.items() if n[0]}
        if not stated:
            return 0.0
        rarest = min(stated.values())
        title = set(tokenize(paper.title))
        return float(any(t in title for t, n in stated.items() if n == rarest))

    def is_answerable(self, question: str, analysis: Analysis, source: Source) -> bool:
        """Whether the top source answers the question, by the calibrated model (sets/model.py)."""
        if "id" in source.matched_by:
            return True
        return self.model.answers(analysis.language, self.answerability(question, analysis, source))[1]

    def title_similarity(self, question: str, paper: Paper) -> float:
        """Cosine between the question and the paper's title as ingest would embed it."""
        vectors = self._embed([question, embed_text(header_title(paper), paper.title)])
        return float(vectors[1] @ vectors[0])

    # -- answer shapes ------------------------------------------------------------------------
    def _answer_fact(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        top_coverage = self.evidence(analysis, sources[0])
        contenders = [s for s in sources[:3] if self.evidence(analysis, s) >= max(MIN_COVERAGE, 0.85 * top_coverage)
                      or s is sources[0]]
        scored = self._rank_sentences(question, analysis, contenders)
        if not scored:
            return self._refuse(analysis, sources)
        best = scored[0]
        own = [s for s in scored if s.paper.id == best.paper.id]
        if analysis.wants_single:
            # "Which paper does X?": the answer says what the paper does first.
            said = next((s for s in own if s.section == "abstract" and role(s.sentence) == "contribution"), None)
            if said is not None:
                own.remove(said)
                own.insert(0, said)
        picks = self._cover_question(question, analysis, own)
        parts = question_parts(question)
        for part in parts if len(parts) > 1 else []:  # each question asked in the same breath gets its sentence
            part_analysis = dataclasses.replace(analysis, content_terms=tokenize(part))
            ranked = self._rank_sentences(part, part_analysis, [sources_for(best.paper, sources)])
            if ranked and all(r.sentence != ranked[0].sentence for r in picks) and len(picks) < 4:
                picks.append(ranked[0])
        if analysis.wants_single and analysis.language == "en":
            # "Which paper does X?": what it does, then what it found (its headline figure), as a
            # reader deciding whether to open it wants both.
            figure = result_sentence(best.paper)
            if figure and all(p.sentence != figure for p in picks) and len(picks) < 4:
                picks.append(_Scored(best.paper, figure, "abstract", 0.0))
        lines = [self._lead(best.paper, analysis) + self._quote(picks, analysis)]
        if analysis.language == "zh" and ASKS_RESULT.search(question):
            english = self._rank_sentences(question, analysis, [sources_for(best.paper, sources)], force_english=True)
            if english and numbers_in(english[0].sentence):
                lines.append(f"摘要原文：“{clean_latex(english[0].sentence)}” [{best.paper.id}]")
        for other in scored[1:]:
            if other.paper.id != best.paper.id and other.score >= 0.85 * best.score:
                label = "另见" if analysis.language == "zh" else "Also relevant"
                lines.append(f"{label}: *{_title(other.paper)}* [{other.paper.id}]: {clean_latex(other.sentence)}")
                break
        return Draft("\n\n".join(lines), backend=self.name)

    def _cover_question(self, question: str, analysis: Analysis, ranked: list[_Scored], most: int = 3) -> list[_Scored]:
        """The best sentence, then the ones that answer what it leaves out: a question with two parts
        ("which model scored best and with what score") gets a sentence for each. A question about an
        effect gets the sentence that states a figure when none of the picks does."""
        if not ranked:
            return []
        terms = list(dict.fromkeys(analysis.content_terms or tokenize(question)))
        weight = {t: self.weights.idf(t) for t in terms}
        total = sum(weight.values()) or 1.0
        picks = [ranked[0]]
        covered = set(tokenize(ranked[0].sentence)) & set(terms)
        wants_figure = bool(ASKS_RESULT.search(question))
        def gain(s: _Scored, covered: set[str]) -> float:
            new = (set(tokenize(s.sentence)) & set(terms)) - covered
            figure = 0.25 if wants_figure and numbers_in(s.sentence) and not any(numbers_in(p.sentence) for p in picks) else 0.0
            return sum(weight[t] for t in new) / total + figure

        for _ in range(most - 1):
            rest = [s for s in ranked[1:8] if s not in picks and role(s.sentence) != "background"]
            if not rest:
                break
            candidate = max(rest, key=lambda s: (gain(s, covered), s.score))
            if gain(candidate, covered) < 0.12 and len(picks) >= 2:
                break
            if gain(candidate, covered) < 0.12:  # nothing left uncovered: the second best sentence, as before
                candidate = rest[0]
            picks.append(candidate)
            covered |= set(tokenize(candidate.sentence)) & set(terms)
        return picks

    def _answer_list(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        top_coverage = self.evidence(analysis, sources[0])
        top_score = sources[0].score

        def belongs(source: Source) -> bool:
            coverage = self.evidence(analysis, source)
            # Clear term coverage, or retrieval ranks it with the top paper and it shares a good part of the terms.
            return (coverage >= max(MIN_COVERAGE * 0.9, 0.7 * top_coverage)
                    or (source.score >= 0.85 * top_score and coverage >= 0.6 * top_coverage))

        keep = [s for s in sources[:LIST_LIMIT] if s is sources[0] or belongs(s)]
        lines = []
        for source in keep:
            scored = self._rank_sentences(question, analysis, [source])
            gist = scored[0].sentence if scored else contribution_sentence(source.paper, analysis.language)
            lines.append(f"- *{_title(source.paper)}* [{source.id}]: {shorten(clean_latex(gist), LINE_CHARS)}")
        head = (f"找到 {len(keep)} 篇相关论文：" if analysis.language == "zh"
                else f"{len(keep)} paper{'s' if len(keep) != 1 else ''} in the digests match{'es' if len(keep) == 1 else ''}:")
        return Draft(head + "\n" + "\n".join(lines), backend=self.name)

    def _answer_set(self, question: str, analysis: Analysis, members: list[Source], related: list[Source]) -> Draft:
        """Every member of the set, most relevant first: a sentence each for the first ones, then the
        rest by title, so the list is complete and every listed paper is cited. Then the papers that
        may be related (plausible by meaning, below the bar for a member), said to be so. With no
        member, the answer says no paper is clearly about the subject and lists those."""
        zh = analysis.language == "zh"
        terms = set(analysis.content_terms or tokenize(question))
        detailed = members if not self.detail_limit else members[: self.detail_limit]
        lines = []
        for s in detailed:
            gist = gist_sentence(s.paper, terms, analysis.language)
            line = f"- *{_title(s.paper)}* [{s.id}]: {shorten(clean_latex(gist), LINE_CHARS)}"
            figure = result_sentence(s.paper) if len(members) <= FEW_MEMBERS and not zh else None
            if figure and figure != gist and not numbers_in(gist):
                line += " " + shorten(clean_latex(figure), LINE_CHARS)  # a short list has room for what each paper found
            lines.append(line)
        n = len(members)
        at_least = "至少 " if zh and n >= SET_CANDIDATES else ("at least " if n >= SET_CANDIDATES else "")
        if not members:
            text = ("摘要中没有明确以此为主题的论文；以下论文可能相关：" if zh
                    else "No paper in the digests is clearly about this; these may be related:")
        elif zh:
            text = f"找到 {at_least}{n} 篇相关论文" + ("：" if n == len(detailed) else f"（前 {len(detailed)} 篇附要点）：")
        else:
            text = f"{at_least}{n} paper{'s' if n != 1 else ''} in the digests match{'es' if n == 1 else ''}" + (
                ":" if n == len(detailed) else f" (the first {len(detailed)} with a sentence each):")
        if lines:
            text += "\n" + "\n".join(lines)
        rest = members[len(detailed):]
        if rest:
            listing = "; ".join(f"*{_title(s.paper)}* [{s.id}]" for s in rest)
            text += (f"\n\n其余 {len(rest)} 篇：" if zh else f"\n\nThe other {len(rest)}: ") + listing
            text += ("\n\n（每篇都在下方的来源中；`digestqa ask --all` 为每篇都给出要点。）" if zh
                     else "\n\n(Every one is among the sources; `digestqa ask --all` gives each a sentence.)")
        if related:
            maybe = [f"- *{_title(s.paper)}* [{s.id}]: "
                     f"{shorten(clean_latex(gist_sentence(s.paper, terms, analysis.language)), LINE_CHARS)}" for s in related]
            if members:
                text += ("\n\n可能相关（与问题意思接近，但不够明确）：" if zh
                         else "\n\nMay be related (close in meaning, below the bar for a clear match):")
            text += "\n" + "\n".join(maybe)
        return Draft(text, backend=self.name)

    def _answer_comparison(self, analysis: Analysis, sources: list[Source]) -> Draft:
        """Each side's own sentence on what the question asks about, cited to its paper, then what
        differs: for each side the sentence of its paper that says most of what the other paper does
        not (a finding before a method), also quoted and cited. Nothing is written that the papers
        do not say."""
        comparison = analysis.comparison
        zh = analysis.language == "zh"
        by_id = {s.id: s for s in sources}
        # Described sides ("the one that pretrains without labels …") are named by their papers' short titles.
        labels = [short_name(by_id[pid].paper) if comparison.described else side
                  for side, pid in zip(comparison.sides, comparison.paper_ids, strict=True)]
        sides = [(name, by_id[pid]) for name, pid in zip(labels, comparison.paper_ids, strict=True)]
        ranked = {name: self._side_sentences(side if comparison.described else name, comparison.aspect, analysis, source)
                  for side, (name, source) in zip(comparison.sides, sides, strict=True)}
        said = {name: ranked[name][0] for name, _ in sides if ranked[name]}
        a, b = labels
        lines = [f"{a} 与 {b}：" if zh else f"{a} and {b}, side by side:"]
        for name, source in sides:
            sentence = said[name].sentence if name in said else contribution_sentence(source.paper, analysis.language)
            lines.append(f"- {name} — *{_title(source.paper)}* [{source.id}]"
                         f"{'：' if zh else ': '}{shorten(clean_latex(sentence), LINE_CHARS)}")
        contrasts = []
        for (name, source), (_, other) in zip(sides, reversed(sides), strict=True):
            theirs = paper_terms(other.paper)
            rest = [s for s in ranked[name] if name not in said or s.sentence != said[name].sentence]
            if not rest:
                continue

            def distinct(s: _Scored, theirs=theirs, source=source) -> float:
                terms = set(tokenize(s.sentence))
                own = sum(self.weights.idf(t) for t in terms - theirs) / (sum(self.weights.idf(t) for t in terms) or 1.0)
                finding = role(s.sentence) == "result" or (zh and s.section == "result")
                return own + (0.3 if finding else 0.0) + 0.5 * s.score - (1.0 if is_filler_in(s.sentence, source.paper) else 0.0)

            best = max(rest, key=distinct)
            quote = shorten(clean_latex(best.sentence), LINE_CHARS).rstrip("。.")
            contrasts.append(f"{name}：“{quote}”[{source.id}]" if zh else f"{name}: “{quote}” [{source.id}]")
        if contrasts:
            lines.append(("区别（论文原话）：" + "；".join(contrasts) + "。") if zh
                         else "How they differ, in the papers' words: " + "; ".join(contrasts) + ".")
        return Draft(lines[0] + "\n" + "\n".join(lines[1:-1] if contrasts else lines[1:])
                     + (f"\n\n{lines[-1]}" if contrasts else ""), backend=self.name)

    def _side_sentences(self, name: str, aspect: str, analysis: Analysis, source: Source) -> list[_Scored]:
        """A side's paper's sentences, best first for "what does `name` do about `aspect`": the
        sentences that name the side and the aspect's terms, what it does or finds before background."""
        question = f"{name} {aspect}".strip()
        side = dataclasses.replace(analysis, content_terms=tokenize(question))
        ranked = self._rank_sentences(question, side, [source])
        if analysis.language == "zh" and not source.paper.tldr:
            ranked = self._rank_sentences(question, side, [source], force_english=True)
        named = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.I)
        bonus = {"contribution": 0.25, "result": -0.05, "other": 0.0, "background": -0.3}
        for scored in ranked:  # what the side is and does first; its findings go to what differs
            scored.score += (0.2 if named.search(scored.sentence) else 0.0) + (
                bonus[role(scored.sentence)] - (0.5 if is_filler_in(scored.sentence, source.paper) else 0.0)
                if scored.section == "abstract" else 0.0)
        return sorted(ranked, key=lambda s: -s.score)

    def _answer_ids(self, analysis: Analysis, sources: list[Source]) -> Draft:
        by_id = {s.id: s for s in sources}
        lines, notices = [], []
        for pid in analysis.ids:
            source = by_id.get(pid)
            if source is None:
                continue
            paper = source.paper
            if analysis.language == "zh" and paper.tldr:
                body = clean_latex(paper.tldr)
            else:
                picks = [contribution_sentence(paper, "en")]
                result = result_sentence(paper)
                if result and result not in picks:
                    picks.append(result)
                body = " ".join(clean_latex(s) for s in picks)
            meta = f"{paper.category}; {', '.join(paper.authors[:3])}{' et al.' if len(paper.authors) > 3 else ''}"
            lines.append(f"*{_title(paper)}* [{pid}] ({meta}): {body}")
        for pid in analysis.unknown_ids:
            lines.append(f"{pid} 不在已导入的摘要中。" if analysis.language == "zh"
                          else f"{pid} is not in the stored digests.")
        refused = not any(pid in by_id for pid in analysis.ids)
        return Draft("\n\n".join(lines), refused=refused, notices=notices, backend=self.name)

    def _answer_overview(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        subject = ", ".join(analysis.authors or analysis.categories)
        if not sources:
            return self._refuse(analysis, sources, f"no stored paper for {subject}")
        zh = analysis.language == "zh"
        shown = sources[:OVERVIEW_LIMIT]
        lines = [f"- *{_title(s.paper)}* [{s.id}] ({s.paper.category}): "
                 f"{shorten(clean_latex(contribution_sentence(s.paper, analysis.language)), LINE_CHARS)}"
                 for s in shown]
        if analysis.authors:
            head = (f"{subject} 在这些摘要中有 {len(sources)} 篇论文：" if zh
                    else f"{subject} appears on {len(sources)} paper{'s' if len(sources) != 1 else ''} in these digests:")
        else:
            head = (f"{subject} 类别共有 {len(sources)} 篇论文：" if zh
                    else f"{subject} has {len(sources)} paper{'s' if len(sources) != 1 else ''} in these digests:")
        text = head + "\n" + "\n".join(lines)
        if len(sources) > len(shown):
            text += (f"\n\n（仅列出前 {len(shown)} 篇；按主题归纳请用 `digestqa brief --category {subject}`）" if zh
                     else f"\n\n(Showing {len(shown)} of {len(sources)}; for all of them grouped by theme run "
                          f"`digestqa brief --category {subject}`.)")
        return Draft(text, backend=self.name)

    def _decline_unstated(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        """The paper the question is about states none of the figure it asks about: said so, with
        what the paper does report nearest to the question (the reader sees why)."""
        lead = self.lead_first(analysis, sources)[0]
        zh = analysis.language == "zh"
        figures = ("、" if zh else ", ").join(analysis.unstated)
        text = (f"最接近的论文《{_title(lead.paper)}》（arXiv {lead.id}）没有给出与 {figures} 对应的结果，"
                "摘要中也没有其他论文给出，我不做猜测。" if zh
                else f"The paper this seems to be about, *{_title(lead.paper)}* (arXiv {lead.id}), states "
                     f"nothing for {figures}, nor does any other paper that fits the question, so I won't guess.")
        ranked = self._rank_sentences(question, analysis, [lead]) + (
            self._rank_sentences(question, analysis, [lead], force_english=True) if zh else [])
        reported = next((r.sentence for r in ranked if numbers_in(r.sentence)), None)
        if reported:
            text += ("\n它给出的是：" if zh else "\nWhat it does report: ") + f"“{shorten(clean_latex(reported), LINE_CHARS)}”"
        return Draft(text, refused=True, backend=self.name)

    def _declined(self, text: str, why: str = "") -> Draft:
        return Draft(text, refused=True, notices=[why] if why else [], backend=self.name)

    def refusal(self, analysis: Analysis, sources: list[Source], why: str = "") -> Draft:
        return self._refuse(analysis, sources, why)

    def _refuse(self, analysis: Analysis, sources: list[Source], why: str = "") -> Draft:
        if analysis.unknown_categories and not sources:  # "cs.CV papers?" in a store with none: which it holds
            named, held = ", ".join(analysis.unknown_categories), ", ".join(analysis.stored_categories)
            text = (f"摘要中没有主类别为 {named} 的论文（已有的类别：{held}）。" if analysis.language == "zh"
                    else f"No paper in these digests has {named} as its main category (they hold {held}).")
            return self._declined(text, why)
        if analysis.unknown_authors and not sources:  # "papers by Geoffrey Hinton?" in a store without him
            if analysis.language == "zh":
                text = f"摘要中没有作者为 {'、'.join(analysis.unknown_authors)} 的论文。"
                if analysis.similar_authors:
                    text += f"同姓的已存作者：{', '.join(analysis.similar_authors)}。"
                text += "（`digestqa papers --author NAME` 列出某位作者的论文。）"
                return self._declined(text, why)
            named = " or ".join(analysis.unknown_authors)
            text = f"No paper in these digests lists {named} as an author."
            if analysis.similar_authors:
                text += f" Stored authors with the same family name: {', '.join(analysis.similar_authors)}."
            text += " (`digestqa papers --author NAME` lists a person's papers.)"
            return self._declined(text, why)
        nearest = "\n".join(f"- {_title(s.paper)} (arXiv {s.id})" for s in sources[:3])
        if analysis.unmentioned:
            shown, more = analysis.unmentioned[:NAMES_SHOWN], len(analysis.unmentioned) - NAMES_SHOWN
            named = "、".join(shown) if analysis.language == "zh" else " or ".join(shown)
            if more > 0:
                named += f"（等 {len(analysis.unmentioned)} 个）" if analysis.language == "zh" else f" (or {more} more it names)"
            text = (f"已导入的摘要中没有论文提到 {named}，我不做猜测。" if analysis.language == "zh"
                    else f"No paper in these digests mentions {named}, so I won't guess.")
            if nearest:
                them = "them" if len(analysis.unmentioned) > 1 else "it"
                text += ("\n最接近的论文（未提到它）：\n" if analysis.language == "zh"
                         else f"\nNearest papers in the digests (none mentions {them}):\n") + nearest
            return self._declined(text, why)
        if analysis.language == "zh":
            text = "已导入的摘要中没有能回答这个问题的论文，我不做猜测。"
            if nearest:
                text += "\n最接近的论文：\n" + nearest
        else:
            text = "The digests do not cover this question, so I won't guess."
            if nearest:
                text += "\nNearest papers in the digests (not judged to answer it):\n" + nearest
        return self._declined(text, why)

    # -- sentence selection -------------------------------------------------------------------
    def _rank_sentences(self, question: str, analysis: Analysis, sources: list[Source],
                        force_english: bool = False) -> list[_Scored]:
        zh = analysis.language == "zh" and not force_english
        candidates: list[tuple[Paper, str, str]] = []
        for source in sources:
            paper = source.paper
            sections = (("tldr", "result", "method", "conclusion", "motivation") if zh and paper.tldr else ("abstract",))
            for section in sections:
                for sentence in paper_sentences(paper.section(section)):
                    if len(sentence) > 12:
                        candidates.append((paper, section, sentence[:MAX_SENTENCE_CHARS]))
        if not candidates:
            return []
        terms = list(dict.fromkeys(analysis.content_terms or tokenize(question)))
        total_idf = sum(self.weights.idf(t) for t in terms) or 1.0
        lexical = np.array([sum(self.weights.idf(t) for t in terms if t in set(tokenize(s))) / total_idf
                            for _, _, s in candidates])
        if not zh and analysis.language == "en":
            vectors = self._embed([question] + [s for _, _, s in candidates])
            dense = vectors[1:] @ vectors[0]
        else:
            dense = np.zeros(len(candidates))
        numeric = bool(ASKS_RESULT.search(question))
        rank_of = {s.id: i for i, s in enumerate(sources)}
        scored = []
        for (paper, section, sentence), lex, den in zip(candidates, lexical, dense, strict=False):
            score = 0.55 * lex + 0.45 * float(den) - 0.04 * rank_of[paper.id]
            if section == "abstract":
                score += ROLE_BONUS[role(sentence)]  # findings and contributions before background
            if numeric and numbers_in(sentence):
                score += 0.1
            if zh and section == "tldr":
                score += 0.05  # the TL;DR is the generator's own one-line answer to "what is this"
            scored.append(_Scored(paper, sentence, section, score))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts`, embedding only those not seen recently."""
        with self._vectors_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            fresh = np.asarray(embed_recurring(self.embedder, missing))  # kept across processes too
            with self._vectors_lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > SENTENCE_VECTORS_KEPT:
                    self._vectors.popitem(last=False)
                found = {t: self._vectors[t] for t in texts if t in self._vectors}
            found.update(zip(missing, fresh, strict=True))
        else:
            with self._vectors_lock:
                found = {t: self._vectors[t] for t in texts}
        return np.stack([found[t] for t in texts])

    def _lead(self, paper: Paper, analysis: Analysis) -> str:
        return f"*{_title(paper)}* [{paper.id}]" + ("：" if analysis.language == "zh" else ": ")

    def _quote(self, picks: list[_Scored], analysis: Analysis) -> str:
        # Keep the paper's own order so two sentences read naturally.
        order = {s: i for i, s in enumerate(split_sentences(picks[0].paper.section(picks[0].section)))}
        picks = sorted(picks, key=lambda p: (p.section != picks[0].section, order.get(p.sentence, 99)))
        joiner = "" if analysis.language == "zh" else " "
        return joiner.join(clean_latex(p.sentence) for p in picks)


def sources_for(paper: Paper, sources: list[Source]) -> Source:
    return next(s for s in sources if s.id == paper.id)


def gist_sentence(paper: Paper, terms: set[str], language: str = "en") -> str:
    """One sentence for a paper's line in a list: what it does or finds, preferring the sentence that
    names the question's terms, never its background or filler."""
    if language == "zh" and paper.tldr:
        return paper.tldr
    sentences = abstract_sentences(paper)
    if not sentences:
        return paper.tldr or paper.title

    def score(index: int, sentence: str) -> float:
        kind = role(sentence)
        overlap = len(terms & set(tokenize(sentence))) / (len(terms) or 1)
        # Membership already established that the paper is on the subject: its line says what it does.
        return ({"contribution": 1.0, "result": 0.8, "other": 0.1, "background": -1.0}[kind] + 0.5 * overlap
                - 0.02 * index - (0.2 if len(sentence) > 400 else 0.0) - (1.5 if is_filler_in(sentence, paper) else 0.0))

    return max(enumerate(sentences), key=lambda item: score(*item))[1]


def _title(paper: Paper) -> str:
    """A title as answers show it (inside *…*): LaTeX rendered, the digest's own bold marks dropped."""
    return clean_latex(paper.title).replace("**", "")
