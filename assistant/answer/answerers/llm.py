"""The LLM answerer: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
llama.cpp server). Its output is never trusted as is: the chain verifies every citation.

The context is packed to a token budget counted with tiktoken (offline encodings), best
passages first and then each paper's abstract, with sources delimited as data.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property

from assistant.answer.answerers import Draft
from assistant.answer.evidence import clean_latex
from assistant.config import Settings
from assistant.errors import BackendError
from assistant.prompts import load_prompt
from assistant.search.question import Analysis
from assistant.tokens import count_tokens, encoding_for_model
from assistant.types import Source

NOT_COVERED = "NOT_COVERED"
ANSWER_RESERVE_TOKENS = 800  # room left for the model's reply inside the context budget
_TAG = re.compile(r"<\s*/?\s*source\b", re.I)


def sanitize(text: str) -> str:
    """Source text cannot close or open a source tag, whatever it contains."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "‹"), text)


def pack_sources(sources: list[Source], budget: int, model: str | None, language: str = "en") -> str:
    blocks, used = [], 0
    encoding = encoding_for_model(model)
    for source in sources:
        paper = source.paper
        parts = []
        for passage in source.passages:
            if passage.text not in parts:
                parts.append(passage.text)
        if paper.abstract and paper.abstract not in " ".join(parts):
            parts.append("Abstract: " + paper.abstract)
        if language == "zh" and paper.tldr and paper.tldr not in parts:
            parts.append("TL;DR (Chinese summary): " + paper.tldr)
        header = (f'<source id="{paper.id}" title="{sanitize(clean_latex(paper.title))}" '
                  f'category="{paper.category}" authors="{sanitize(", ".join(paper.authors[:6]))}">')
        body = sanitize(clean_latex("\n".join(parts)))
        block = f"{header}\n{body}\n</source>"
        tokens = len(encoding.encode(block, disallowed_special=()))
        if used + tokens > budget:
            room = budget - used - len(encoding.encode(header, disallowed_special=())) - 10
            if room < 80:
                break
            body = encoding.decode(encoding.encode(body, disallowed_special=())[:room]) + " …"
            block = f"{header}\n{body}\n</source>"
            tokens = len(encoding.encode(block, disallowed_special=()))
        blocks.append(block)
        used += tokens
    return "\n\n".join(blocks)


class LLMAnswerer:
    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.name = f"llm:{settings.llm_model}"
        if client is not None:
            self.__dict__["client"] = client

    @cached_property
    def client(self):
        from openai import OpenAI

        # The client retries connection errors, 408/409/429 and 5xx with exponential backoff,
        # up to max_retries times: the bounded retry the product promises.
        return OpenAI(base_url=self.settings.llm_base_url, api_key=self.settings.llm_api_key or "not-needed",
                      timeout=self.settings.llm_timeout_s, max_retries=self.settings.llm_max_retries)

    def messages(self, question: str, analysis: Analysis, sources: list[Source]) -> list[dict]:
        system = load_prompt("answer_system")
        template = load_prompt("answer_user")
        language = "Chinese (简体中文)" if analysis.language == "zh" else "English"
        overhead = count_tokens(system + template + question, self.settings.llm_model)
        budget = max(200, self.settings.llm_context_tokens - overhead - ANSWER_RESERVE_TOKENS)
        packed = pack_sources(sources, budget, self.settings.llm_model, analysis.language)
        members = [s for s in sources if s.member]
        scope = (f"\nThese sources are all {len(members)} papers of the digests judged to match the question's subject: "
                 "list every one of them, one line each with its citation.\n" if members else "")
        user = template.format(sources=packed or "(no sources were found)", question=question, language=language,
                               scope=scope)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def complete(self, messages: list[dict]) -> str:
        """One non-streaming completion (used for condensing chat follow-ups)."""
        try:
            response = self.client.chat.completions.create(model=self.settings.llm_model, messages=messages,
                                                           temperature=self.settings.llm_temperature)
        except Exception as exc:
            raise BackendError(describe_failure(exc, self.settings)) from None
        return (response.choices[0].message.content or "").strip() if response.choices else ""

    def answer(self, question: str, analysis: Analysis, sources: list[Source]) -> Draft:
        draft = None
        for piece in self.stream(question, analysis, sources):
            if isinstance(piece, Draft):
                draft = piece
        return draft

    def stream(self, question: str, analysis: Analysis, sources: list[Source]) -> Iterator[str | Draft]:
        if not sources:
            yield Draft("", refused=True, backend=self.name)
            return
        parts: list[str] = []
        try:
            stream = self.client.chat.completions.create(model=self.settings.llm_model, stream=True,
                                                         messages=self.messages(question, analysis, sources),
                                                         temperature=self.settings.llm_temperature)
            for event in stream:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    parts.append(delta)
                    if not NOT_COVERED.startswith("".join(parts).strip()[: len(NOT_COVERED)]):
                        yield delta
        except Exception as exc:  # openai raises many types; all mean "the backend failed"
            raise BackendError(describe_failure(exc, self.settings)) from None
        text = "".join(parts).strip()
        if not text or text.startswith(NOT_COVERED):
            # The refusal itself (and the nearest papers) is worded by the extractive answerer.
            yield Draft("", refused=True, backend=self.name)
            return
        yield Draft(text, backend=self.name)


def describe_failure(exc: Exception, settings: Settings) -> str:
    """A one-line reason that never contains the API key."""
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    if kind == "APITimeoutError":
        reason = f"timed out after {settings.llm_timeout_s:.0f}s"
    elif kind == "APIConnectionError":
        reason = f"cannot connect to {settings.llm_base_url}"
    elif status == 429:
        reason = "rate limited (HTTP 429) after retries"
    elif status is not None:
        reason = f"HTTP {status} from {settings.llm_base_url}"
    else:
        reason = f"{kind}: {str(exc)[:160]}"
    if settings.llm_api_key:
        reason = reason.replace(settings.llm_api_key, "***")
    return reason
