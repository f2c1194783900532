"""The LLM answerer: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
llama.cpp server). Its output is never trusted as is: the chain verifies every citation.

The context is packed to a token budget counted with tiktoken (offline encodings), best
passages first and then each paper's abstract, with sources delimited as data. tiktoken is only
an estimate of another model's tokenizer (SmolLM2's counts English 3% and Chinese 50% higher), so
a server that says the prompt is too long gets it packed again, once, to the size it said fits.

Every failure becomes a BackendError with a one-line reason and a `code` (see assistant/errors.py);
the chain then shows the extractive answer and says why, naming the model.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath

from assistant.answer.answerers import Draft
from assistant.config import Settings
from assistant.errors import BackendError
from assistant.prompts import load_prompt
from assistant.search.question import Analysis
from assistant.text import clean_latex
from assistant.tokens import count_tokens, encoding_for_model
from assistant.types import Notice, Source, info

NOT_COVERED = "NOT_COVERED"
ANSWER_RESERVE_TOKENS = 800  # room left for the model's reply inside the context budget
PROBE_TIMEOUT_S = 10.0  # GET /models, once per answerer: a server that cannot say is not waited for
PROBE_RETRY_S = 60.0  # … and is asked again after this long (it may have come up, or been fixed)
REPACK_MARGIN = 0.9  # after a context overflow, pack to this share of what the server said fits
# What servers say when a prompt is too long: llama.cpp "request (9031 tokens) exceeds the available
# context size (8192 tokens)"; OpenAI and vLLM "maximum context length is 8192 tokens. However, your
# messages resulted in / you requested 9031 tokens".
_OVERFLOW = (re.compile(r"\((?P<requested>\d+) tokens\) exceeds the available context size \((?P<limit>\d+) tokens\)", re.I),
             re.compile(r"maximum context length is (?P<limit>\d+) tokens.*?(?:resulted in|requested) (?P<requested>\d+) tokens",
                        re.I | re.S))
_OVERFLOW_WORDS = re.compile(r"context_length_exceeded|exceeds? (?:the )?(?:available |maximum )?context|"
                             r"context (?:length|window|size) (?:exceeded|is too small)|too many tokens", re.I)
_MODEL_MISSING = re.compile(r"model.{0,80}(?:not found|does not exist|unknown)|model_not_found|no such model",
                            re.I | re.S)
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


@dataclass(frozen=True)
class Completion:
    """One non-streaming reply, with what the server reported about it."""

    text: str
    served_model: str = ""
    usage: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ServerModels:
    """What GET /models says: the names served, and the context window where the server tells it
    (llama.cpp's `meta.n_ctx`, vLLM's `max_model_len`)."""

    names: tuple[str, ...]
    context: int | None = None
    # llama.cpp serves its one model under any requested name, so a misspelt name would go unnoticed
    # (and `backend` would name a model that never answered): for it the name is checked here.
    ignores_names: bool = False

    def serves(self, model: str) -> bool:
        return any(model in (name, PurePath(name).name, PurePath(name).stem) for name in self.names)


class LLMAnswerer:
    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.name = f"llm:{settings.llm_model}"
        if client is not None:
            self.__dict__["client"] = client

    @cached_property
    def client(self):
        from openai import OpenAI  # ~1 s to import: made when the first request is sent, not for --help or a refusal

        # The client retries connection errors, 408/409/429 and 5xx with exponential backoff,
        # up to max_retries times: the bounded retry the product promises.
        return OpenAI(base_url=self.settings.llm_base_url, api_key=self.settings.llm_api_key or "not-needed",
                      timeout=self.settings.llm_timeout_s, max_retries=self.settings.llm_max_retries)

    # -- the server ------------------------------------------------------------------------------
    def server_models(self) -> ServerModels | None:
        """GET /models, asked once per answerer (None: the server does not say, or is unreachable now,
        and the request itself will report what is wrong; asked again after PROBE_RETRY_S then, so a
        hanging server costs one probe timeout, not one per request)."""
        known = self.__dict__.get("_server_models")
        if known is not None:
            return known
        if time.monotonic() - self.__dict__.get("_probe_failed_at", -PROBE_RETRY_S) < PROBE_RETRY_S:
            return None
        try:
            client = self.client.with_options(timeout=min(PROBE_TIMEOUT_S, self.settings.llm_timeout_s), max_retries=0)
            listed = list(client.models.list().data)
        except Exception:  # no /models endpoint, an old server, a proxy: nothing to check against
            self.__dict__["_probe_failed_at"] = time.monotonic()
            return None
        names: list[str] = []
        context = None
        ignores_names = False
        for model in listed:
            extra = getattr(model, "model_extra", None) or {}
            names.append(model.id)
            names += [a for a in extra.get("aliases") or () if isinstance(a, str)]
            ignores_names |= getattr(model, "owned_by", None) == "llamacpp"
            window = (extra.get("meta") or {}).get("n_ctx") or extra.get("max_model_len")
            if isinstance(window, int) and window > 0:
                context = window if context is None else min(context, window)
        found = ServerModels(tuple(names), context, ignores_names)
        self.__dict__["_server_models"] = found
        return found

    def check_model(self) -> None:
        """A model name the server would silently ignore is an error, said before anything is generated."""
        served = self.server_models()
        model = self.settings.llm_model
        if served and served.ignores_names and served.names and not served.serves(model):
            names = ", ".join(f"'{PurePath(n).name}'" for n in dict.fromkeys(served.names))
            raise BackendError(f"model '{model}' is not served at {self.settings.llm_base_url}, which serves {names}: "
                               f"set llm_model (DIGESTQA_LLM_MODEL) to that name, or start llama-server with "
                               f"--alias {model}", code="model_not_found")

    def context_tokens(self) -> int:
        """The context budget: the setting, or the server's window when it says it is smaller."""
        served = self.server_models()
        window = served.context if served else None
        return min(self.settings.llm_context_tokens, window) if window else self.settings.llm_context_tokens

    # -- prompts ---------------------------------------------------------------------------------
    def messages(self, question: str, analysis: Analysis, sources: list[Source],
                 context_tokens: int | None = None) -> list[dict]:
        system = load_prompt("answer_system")
        template = load_prompt("answer_user")
        language = "Chinese (简体中文)" if analysis.language == "zh" else "English"
        overhead = count_tokens(system + template + question, self.settings.llm_model)
        context = context_tokens or self.settings.llm_context_tokens
        budget = max(200, context - overhead - ANSWER_RESERVE_TOKENS)
        packed = pack_sources(sources, budget, self.settings.llm_model, analysis.language)
        members = [s for s in sources if s.member]
        scope = (f"\nThese sources are all {len(members)} papers of the digests judged to match the question's subject: "
                 "list every one of them, one line each with its citation.\n" if members else "")
        user = template.format(sources=packed or "(no sources were found)", question=question, language=language,
                               scope=scope)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    # -- calls -----------------------------------------------------------------------------------
    def complete(self, messages: list[dict], timeout: float | None = None) -> str:
        """One non-streaming completion (condensing chat follow-ups, briefings, the judge)."""
        return self.completion(messages, timeout).text

    def completion(self, messages: list[dict], timeout: float | None = None) -> Completion:
        """One non-streaming completion with the served model and token usage; `timeout` (seconds)
        bounds this call below the configured timeout, e.g. to keep a time budget."""
        self.check_model()
        client = self.client if timeout is None else self.client.with_options(timeout=max(0.1, timeout))
        try:
            response = client.chat.completions.create(model=self.settings.llm_model, messages=messages,
                                                      temperature=self.settings.llm_temperature)
        except Exception as exc:
            raise backend_failure(exc, self.settings) from None
        text = (response.choices[0].message.content or "").strip() if response.choices else ""
        return Completion(text, getattr(response, "model", "") or "", usage_of(response))

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
        self.check_model()
        context = self.context_tokens()
        notices: list[Notice] = []
        for attempt in (1, 2):
            parts: list[str] = []
            served, usage, finished = "", {}, None
            try:
                # include_usage: the server's own count of prompt tokens comes back in a last chunk.
                stream = self.client.chat.completions.create(
                    model=self.settings.llm_model, stream=True, stream_options={"include_usage": True},
                    messages=self.messages(question, analysis, sources, context),
                    temperature=self.settings.llm_temperature)
                for event in stream:
                    served = served or (getattr(event, "model", "") or "")
                    usage = usage_of(event) or usage
                    delta = event.choices[0].delta.content if event.choices else None
                    finished = (event.choices[0].finish_reason if event.choices else None) or finished
                    if delta:
                        parts.append(delta)
                        if not NOT_COVERED.startswith("".join(parts).strip()[: len(NOT_COVERED)]):
                            yield delta
                if finished is None:
                    # Every server ends a complete reply with a finish_reason: without one, the
                    # connection closed early (a crash behind a proxy, a killed server speaking HTTP/1.0).
                    raise BackendError(f"the stream from {self.settings.llm_base_url} ended after "
                                       f"{len(''.join(parts))} characters without finishing", "stream_broken")
            except BackendError:
                raise
            except Exception as exc:  # openai raises many types; all mean "the backend failed"
                failure = backend_failure(exc, self.settings, streamed=len("".join(parts)))
                smaller = failure.refit(context) if isinstance(failure, ContextOverflow) and attempt == 1 else None
                if smaller:
                    notices.append(info(f"the prompt ({failure.requested:,} tokens) was longer than the context of "
                                        f"model '{self.settings.llm_model}' ({failure.limit:,} tokens); it was packed "
                                        f"again to fit"))
                    context = smaller
                    continue
                raise failure from None
            break
        if finished == "length":
            notices.append(info(f"the answer of model '{self.settings.llm_model}' was cut at its length limit"))
        text = "".join(parts).strip()
        if not text or text.startswith(NOT_COVERED):
            # The refusal itself (and the nearest papers) is worded by the extractive answerer.
            yield Draft("", refused=True, notices=notices, backend=self.name, served_model=served, usage=usage)
            return
        yield Draft(text, notices=notices, backend=self.name, served_model=served, usage=usage)


class ContextOverflow(BackendError):
    """The prompt did not fit the model's context; `requested`/`limit` when the server said them."""

    def __init__(self, message: str, requested: int | None = None, limit: int | None = None):
        super().__init__(message, code="context_overflow")
        self.requested, self.limit = requested, limit

    def refit(self, context: int) -> int | None:
        """A smaller context budget that should fit, scaled by how far over the server counted it; None
        when the server did not say, or when nothing smaller is worth a second try."""
        if not (self.requested and self.limit) or self.requested <= self.limit:
            return None
        smaller = int(min(context, self.limit) * self.limit / self.requested * REPACK_MARGIN)
        return smaller if smaller >= ANSWER_RESERVE_TOKENS + 400 else None


def usage_of(response) -> dict:
    usage = getattr(response, "usage", None)
    if not usage:
        return {}
    return {k: v for k in ("prompt_tokens", "completion_tokens") if isinstance(v := getattr(usage, k, None), int)}


def backend_failure(exc: Exception, settings: Settings, streamed: int = 0) -> BackendError:
    """The exception as a BackendError with a one-line reason that never contains the API key."""
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    message = _error_message(exc)
    if streamed and kind in ("APIConnectionError", "APIError", "RemoteProtocolError", "ReadError", "APITimeoutError"):
        failure = BackendError(f"the stream from {settings.llm_base_url} broke off after {streamed} characters "
                               f"({'timed out' if kind == 'APITimeoutError' else 'connection lost'})", "stream_broken")
    elif kind == "APITimeoutError":
        failure = BackendError(f"timed out after {settings.llm_timeout_s:g}s waiting for {settings.llm_base_url}", "timeout")
    elif kind == "APIConnectionError":
        failure = BackendError(f"cannot connect to {settings.llm_base_url}", "connection")
    elif status in (400, 413, 422) and (_OVERFLOW_WORDS.search(message) or any(p.search(message) for p in _OVERFLOW)):
        found = next((m for p in _OVERFLOW if (m := p.search(message))), None)
        requested, limit = (int(found["requested"]), int(found["limit"])) if found else (None, None)
        said = f" ({requested:,} tokens; the model's context is {limit:,})" if found else ""
        failure = ContextOverflow(f"the prompt is longer than the context of model '{settings.llm_model}'{said}: "
                                  "set llm_context_tokens (DIGESTQA_LLM_CONTEXT_TOKENS) to the model's context or less",
                                  requested, limit)
    elif status == 404 and _MODEL_MISSING.search(message):
        failure = BackendError(f"model '{settings.llm_model}' is not served at {settings.llm_base_url} (HTTP 404: "
                               f"{message[:120]})", "model_not_found")
    elif status == 429:
        failure = BackendError("rate limited (HTTP 429) after retries", "rate_limited")
    elif status is not None:
        failure = BackendError(f"HTTP {status} from {settings.llm_base_url}" + (f": {message[:160]}" if message else ""),
                               "http_error")
    else:
        failure = BackendError(f"{kind}: {str(exc)[:160]}")
    if settings.llm_api_key and settings.llm_api_key in str(failure):
        failure.args = (str(failure).replace(settings.llm_api_key, "***"),)
    return failure


def _error_message(exc: Exception) -> str:
    """The server's own error message (OpenAI's {"error": {"message": …}}, llama.cpp's and vLLM's alike)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return " ".join(inner["message"].split())
        if isinstance(inner, str):
            return " ".join(inner.split())
    return " ".join(str(getattr(exc, "message", "") or "").split())
