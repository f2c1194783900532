"""Answerers turn (question, retrieved sources) into a draft answer. The chain holds one and does
not know which: the extractive default, or an LLM over the OpenAI-compatible protocol."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from assistant.search.question import Analysis
from assistant.types import Source


@dataclass
class Draft:
    text: str
    refused: bool = False
    notices: list[str] = field(default_factory=list)
    backend: str = ""
    # What an LLM server reported about this reply: the model id it answered with ("gpt-4o-mini-2024-07-18"
    # for "gpt-4o-mini"), and token usage when the server counts it (prompt_tokens, completion_tokens).
    served_model: str = ""
    usage: dict = field(default_factory=dict)


class Answerer(Protocol):
    name: str

    def answer(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft: ...

    def stream(self, question: str, analysis: Analysis, sources: list[Source]) -> Iterator[str | Draft]:
        """Yield text pieces as they are produced, then the final Draft."""
        ...
