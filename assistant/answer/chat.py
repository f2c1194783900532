"""Conversation memory for chat, in the CLI and the UI.

A follow-up ("and which of those use transformers?") is made answerable on its own:
- with an LLM, it is condensed into a standalone question from the last turns;
- with the extractive answerer (or if condensing fails), it is resolved against the previous
  turn's papers: retrieval is restricted to the papers that answer cited.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from assistant.answer.chain import AnswerChain
from assistant.errors import BackendError
from assistant.prompts import load_prompt
from assistant.search.retrieval import Filters
from assistant.types import Answer

HISTORY_TURNS = 3  # turns shown to the LLM when condensing


class ChatSession:
    def __init__(self, chain: AnswerChain, filters: Filters | None = None):
        self.chain = chain
        self.filters = filters or Filters()
        self.turns: list[Answer] = []

    def reset(self) -> None:
        self.turns.clear()

    def ask(self, question: str, k: int | None = None) -> Answer:
        answer = None
        for item in self.stream(question, k):
            if isinstance(item, Answer):
                answer = item
        return answer

    def stream(self, question: str, k: int | None = None) -> Iterator[str | Answer]:
        question, _ = self.chain.prepare(question)
        standalone, filters, note = self.resolve(question)
        for item in self.chain.stream(standalone, filters, k):
            if isinstance(item, Answer):
                item.question = question
                if standalone != question or filters is not self.filters:
                    item.standalone_question = standalone
                if note:
                    item.notices.insert(0, note)
                self.turns.append(item)
            yield item

    def resolve(self, question: str) -> tuple[str, Filters, str | None]:
        """The question to run and the filters to run it with."""
        if not self.turns:
            return question, self.filters, None
        analysis = self.chain.analyzer.analyze(question)
        if not analysis.follow_up or analysis.ids:
            return question, self.filters, None
        llm = self.chain.llm
        if llm is not None and hasattr(llm, "complete"):
            try:
                rewritten = llm.complete([{"role": "user", "content": load_prompt("condense").format(
                    history=self._history_text(), question=question)}])
                if rewritten:
                    return rewritten.splitlines()[0].strip(), self.filters, None
            except BackendError:
                pass  # fall back to resolving against the previous papers
        previous = self.turns[-1]
        ids = previous.cited_ids  # the papers the previous answer gave, never the nearest ones of a refusal
        if not ids:
            return question, self.filters, ("follow-up: the previous answer cited no papers, so this question "
                                            "was searched afresh over all papers")
        restricted = dataclasses.replace(self.filters, paper_ids=tuple(ids))
        return question, restricted, f"follow-up: looked only at the {len(ids)} paper(s) of the previous answer"

    def _history_text(self) -> str:
        lines = []
        for turn in self.turns[-HISTORY_TURNS:]:
            lines.append(f"User: {turn.question}")
            lines.append(f"Assistant: {turn.text[:800]}")
        return "\n".join(lines)
