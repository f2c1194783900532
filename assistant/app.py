"""The library API: one object per process that owns the loaded store, model and indexes.

CLI commands, the Streamlit UI and the eval harness all go through an `App`, so a question takes
the same path everywhere, and heavy objects (embedding model, Chroma client, BM25 index) are
built once and reused.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path

from assistant.config import Settings
from assistant.daily.records import IngestRecords
from assistant.daily.summary_check import SummaryChecks
from assistant.ingest.embeddings import Embedder
from assistant.ingest.paper_table import cards_of
from assistant.ingest.store import Store
from assistant.search.lexical import LexicalBuilder
from assistant.search.retrieval import Filters, RetrievalResult, Retriever
from assistant.types import IngestReport, Paper


class App:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        """`embedder`: one already made (and perhaps loading: the CLI starts the model before it
        imports the rest); by default one is made when first needed."""
        self.settings = settings
        if embedder is not None:
            self.__dict__["embedder"] = embedder

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings, private_copy=self._private_copy)

    _private_copy = False

    def use_private_copy(self) -> None:
        """Read the store through a private copy from now on (a full disk stops Chroma from
        reading the store itself); the loaded store and what was built on it are dropped."""
        self._private_copy = True
        for name in ("store", "retriever", "chain"):
            self.__dict__.pop(name, None)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings, self.store, self.embedder)

    @cached_property
    def chain(self):
        # The answering layer: ~0.2 s of imports (the set-question models among them) that show,
        # papers, stats and search never need.
        from assistant.answer.answerers.llm import LLMAnswerer
        from assistant.answer.chain import AnswerChain

        answerer = None
        if self.settings.uses_llm:
            answerer = LLMAnswerer(self.settings)
        return AnswerChain(self.retriever, answerer)

    def warm_up(self) -> None:
        """Start loading the embedding model in a background thread (onnxruntime and the weights,
        ~0.2-0.3 s, mostly in compiled code that releases the GIL), so that it loads while this
        thread imports modules and reads the store's caches: the very model the question then uses."""
        self.embedder.load_in_background()

    def ask(self, question: str, filters: Filters | None = None, k: int | None = None):
        return self.chain.ask(question, filters, k)

    def chat_session(self, filters: Filters | None = None):
        from assistant.answer.chat import ChatSession  # the answering layer, as in `chain` above

        return ChatSession(self.chain, filters)

    def ingest(self, paths: list[Path], digest_date: str | None = None, progress: Callable | None = None) -> IngestReport:
        from assistant.ingest.pipeline import ingest  # imported here: it pulls in llama-index, which questions never need

        lexical = LexicalBuilder()
        # What's new and the summaries' number checks are recorded as the ingest writes, under its lock.
        report = ingest(paths, self.settings, self.embedder, digest_date, progress, lexical, IngestRecords(self.settings))
        self.__dict__.pop("store", None)  # reopen: the catalogue changed
        self.__dict__.pop("retriever", None)
        self.__dict__.pop("chain", None)
        if report.added or report.changed:
            # Build the keyword index now, while the user expects ingest to take time, rather than
            # inside the first question after it (minutes at 50k papers; see benchmarks/RESULTS.md);
            # and for the same reason the chunk-vector matrix and the paper table, which every
            # question reads instead of Chroma (vectors.py, paper_table.py).
            self.retriever.lexical(lexical)
            self.retriever.vectors()
            self.store.papers()
        return report

    def stream(self, question: str, filters: Filters | None = None, k: int | None = None):
        """The answer as it is written (text pieces), then the checked Answer (answer/chain.py)."""
        return self.chain.stream(question, filters, k)

    @property
    def answerer_name(self) -> str:
        """Which answerer writes answers: "extractive" or the LLM's."""
        return self.chain.answerer.name

    def catalog(self) -> Mapping[str, Paper]:
        """Every stored paper by id (read once per state of the store)."""
        return self.store.papers()

    def corpus(self) -> dict:
        """What the store holds, as eval reports record it: papers, chunks, where, generation."""
        stats = self.store.stats()
        return {"papers": stats["papers"], "chunks": stats["chunks"], "store": stats["store"],
                "generation": self.store.state().get("generation")}

    def cache_key(self) -> str:
        """Names what the store holds now (changes with every write): for caches derived from it."""
        return self.store.cache_key()

    def search(self, query: str, k: int | None = None, filters: Filters | None = None, mode: str = "hybrid") -> RetrievalResult:
        return self.retriever.search(query, k, filters, mode)

    def papers(self, filters: Filters | None = None) -> list[Paper]:
        catalog = self.store.papers()
        chosen = [card for card in cards_of(catalog) if filters is None or filters.matches(card)]
        return [catalog[card.id] for card in sorted(chosen, key=lambda p: (p.category, p.id))]

    def stats(self) -> dict:
        stats = self.store.stats()
        # Papers whose Chinese TL;DR/Result states a number the abstract does not (cached by the ingest).
        stats["summary_flags"] = len(SummaryChecks(self.settings).flags(self.store))
        return stats

    def digests(self):
        """Every stored digest with its readable label and the "latest" rule (assistant/digests.py)."""
        from assistant.digests import DigestCatalog  # ~5 ms to import: search, ask and papers never name a digest

        return DigestCatalog.build(cards_of(self.store.papers()), self.store.digest_records())

