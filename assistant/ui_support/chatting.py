"""The chat a browser tab keeps, and one turn streamed out of it.

A tab's `ChatSession` lives in its session state (not in the shared `App`): conversations are per
tab, the loaded store and model are shared. After an ingest the App rebuilds its chain, so the
session is rebuilt on the new chain and keeps its turns.
"""
from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from assistant.answer.chat import ChatSession
from assistant.search.retrieval import Filters
from assistant.types import Answer
from assistant.ui_support.render import paced

SESSION_KEY = "digestqa.chat"


def chat_for(state: MutableMapping, app, filters: Filters) -> ChatSession:
    """This tab's chat session on the app's current chain, with the current sidebar filters."""
    session = state.get(SESSION_KEY)
    chain = app.chain
    if session is None or session.chain is not chain:
        fresh = app.chat_session(filters)
        if session is not None:
            fresh.turns = session.turns
        state[SESSION_KEY] = session = fresh
    session.filters = filters  # a changed filter applies from the next question on
    return session


def clear_chat(state: MutableMapping) -> None:
    session = state.get(SESSION_KEY)
    if session is not None:
        session.reset()


class TurnStream:
    """Iterate for (word, seconds to wait) as the answer is produced; then `.answer` is the verified Answer.

    The verified text can differ from what streamed (a removed citation, a flagged claim), so the
    UI shows `.answer.text` once the stream ends.
    """

    def __init__(self, items: Iterator[str | Answer]):
        self._items = items
        self.answer: Answer | None = None

    def _text(self) -> Iterator[str]:
        for item in self._items:
            if isinstance(item, Answer):
                self.answer = item
            else:
                yield item

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return paced(self._text())


def ask_in_chat(session: ChatSession, question: str, k: int | None = None) -> TurnStream:
    return TurnStream(session.stream(question, k))


def warm_up(app) -> None:
    """Load what the first question needs (query encoder, lexical index, question analyzer).

    Run in the background when the UI opens; any failure is left for the first question to
    report properly, so it is ignored here.
    """
    try:
        if not app.catalog():
            return
        chain = app.chain
        chain.retriever.lexical()
        _ = chain.analyzer  # built on first use: build it now
        app.embedder.embed_query("warm up")
    except Exception:
        pass
