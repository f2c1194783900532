"""What answers the eval questions. Every pipeline returns the same record shape, so metrics and
comparisons treat the product and the baselines alike.

- product: `App.ask`, the very chain `digestqa ask` runs (no special path for evals).
- bm25:    lexical-only retrieval (`App.search(mode="lexical")`) + a naive answer citing every hit.
- dense:   a plain llama-index VectorStoreIndex with default settings over one Document per paper
           (what a user would build in an afternoon) + the same naive answer.
- llm:     the product chain with the configured LLM answering and screening set questions (it needs
           one: `--preset` or DIGESTQA_LLM_*); not part of "all", which runs offline.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from functools import cached_property
from pathlib import Path

from assistant.errors import DigestQAError, InputError
from assistant.evaluation.dataset import Question

PIPELINES = ("product", "bm25", "dense")  # what "all" runs: no LLM needed
LLM_PIPELINE = "llm"
CHOICES = (*PIPELINES, LLM_PIPELINE)
DENSE_RECIPE = "v1"  # bump when the baseline's documents change: invalidates cached indexes
PASSAGE_CHARS = 240


def make_pipeline(name: str, app, k: int):
    classes = {"product": ProductPipeline, "bm25": BM25Pipeline, "dense": DensePipeline, LLM_PIPELINE: LLMPipeline}
    if name not in classes:
        raise InputError(f"unknown pipeline '{name}' (choose from {', '.join(CHOICES)} or all)")
    return classes[name](app, k)


def _one_line(text: str, limit: int = PASSAGE_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def naive_answer(hits: list[tuple[str, str, str]]) -> str:
    """One line per retrieved paper, citing it: "[id] title: first passage"."""
    return "\n".join(f"[{pid}] {_one_line(title, 200)}: {_one_line(passage)}" for pid, title, passage in hits)


class Pipeline:
    name = "?"

    def __init__(self, app, k: int):
        self.app = app
        self.k = k

    @property
    def backend(self) -> str:
        return self.name

    def answer(self, question: Question) -> dict:
        """The pipeline's own fields of a record: answer, cited_ids, retrieved_ids, refused, backend."""
        raise NotImplementedError

    def warm_up(self, question: Question) -> None:
        """Load models and indexes (untimed) so the first question's latency is not start-up time."""
        try:
            self.answer(question)
        except DigestQAError:
            pass

    def run(self, question: Question) -> dict:
        started = time.perf_counter()
        error = None
        try:
            fields = self.answer(question)
        except DigestQAError as exc:  # a user-level failure on one question should not lose the run
            error = str(exc)
            fields = {"answer": "", "cited_ids": [], "retrieved_ids": [], "refused": False, "backend": self.backend}
        latency = time.perf_counter() - started
        record = {"qid": question.qid, "kind": question.kind, "question": question.question,
                  "answerable": question.answerable, "gold_ids": question.gold_ids, "ok_ids": question.ok_ids,
                  "must_mention": question.must_mention, **fields,
                  "latency_s": round(latency, 4), "pipeline": self.name}
        if error:
            record["error"] = error
        return record


class ProductPipeline(Pipeline):
    name = "product"

    @property
    def backend(self) -> str:
        return self.app.answerer_name

    def answer(self, question: Question) -> dict:
        answer = self.app.ask(question.question, None, self.k)
        record = {"answer": answer.text, "cited_ids": list(answer.cited_ids),
                  "retrieved_ids": [s.id for s in answer.sources], "refused": bool(answer.refused),
                  "backend": answer.backend, "notices": list(answer.notices),
                  "timings": {k: round(v, 4) for k, v in answer.timings.items()}}
        if answer.llm is not None:  # which model answered, or why the extractive answer was shown
            data = answer.to_json_dict()
            record.update(answered_by=data["answered_by"], llm=data["llm"], screening=data["screening"])
        return record


class LLMPipeline(ProductPipeline):
    """The product chain as `digestqa ask` runs it with the configured LLM: the model answers and,
    for set questions, screens the candidates (assistant/answer/screening.py)."""

    name = LLM_PIPELINE

    def __init__(self, app, k: int):
        if not app.settings.uses_llm:
            raise InputError("--pipeline llm needs an LLM: give --preset (openai, ollama, vllm, llamacpp) or set "
                             "DIGESTQA_LLM_BASE_URL and DIGESTQA_LLM_MODEL")
        super().__init__(app, k)


class BM25Pipeline(Pipeline):
    name = "bm25"

    @property
    def backend(self) -> str:
        return "naive-cite-all"

    def answer(self, question: Question) -> dict:
        result = self.app.search(question.question, self.k, None, mode="lexical")
        hits = [(s.id, s.paper.title, s.passages[0].text if s.passages else s.paper.abstract) for s in result.sources]
        ids = [pid for pid, _, _ in hits]
        return {"answer": naive_answer(hits), "cited_ids": ids, "retrieved_ids": ids, "refused": False,
                "backend": self.backend}


class DensePipeline(Pipeline):
    """A plain llama-index VectorStoreIndex with its default node parser and chunk size.

    The embedding model is passed explicitly (llama-index would otherwise reach for OpenAI) and
    no LLM is ever used. MiniLM reads 256 tokens of each ~1024-token default chunk: that is this
    baseline's honest weakness. The built index is cached per store generation so re-runs do not
    re-embed."""

    name = "dense"
    NODES_PER_PAPER = 3  # fetch this many nodes per wanted paper: papers can own several nodes

    @property
    def backend(self) -> str:
        return "naive-cite-all"

    def documents(self):
        # llama-index: ~1 s to import; only this dense baseline uses it, never the product pipeline
        from llama_index.core import Document

        docs = []
        for pid, paper in sorted(self.app.catalog().items()):
            zh = "\n".join(s for s in (paper.tldr, paper.motivation, paper.method, paper.result, paper.conclusion) if s)
            text = "\n\n".join(part for part in (paper.title, paper.abstract, zh) if part)
            docs.append(Document(text=text, doc_id=pid, metadata={"paper_id": pid}))
        return docs

    def cache_root(self) -> Path:
        settings = self.app.settings
        if not settings.uses_server:
            root = Path(settings.store) / ".cache" / "dense-baseline"
            try:
                root.mkdir(parents=True, exist_ok=True)
                if os.access(root, os.W_OK):
                    return root
            except OSError:
                pass
        root = Path(settings.cache_dir).expanduser() / "dense-baseline" / settings.collection
        root.mkdir(parents=True, exist_ok=True)
        return root

    def cache_dir(self) -> Path:
        # Keyed by what the store holds (id, generation, last write), like the BM25 cache.
        return self.cache_root() / f"{self.app.cache_key()}-{self.app.settings.embed_package}-{DENSE_RECIPE}"

    def _valid(self, index, embed_model) -> bool:
        """A loaded cache is used only if it is this store's papers with vectors of the model's size.
        (llama-index's persisted format is JSON: reading it runs no code; this checks its content.)"""
        docs = index.docstore.docs
        vectors = getattr(index.vector_store, "data", None)
        vectors = getattr(vectors, "embedding_dict", None)
        if not docs or not isinstance(vectors, dict) or set(vectors) != set(docs):
            return False
        if {node.ref_doc_id for node in docs.values()} != set(self.app.catalog()):
            return False
        size = len(embed_model.get_query_embedding("dimension check"))
        return all(isinstance(v, list) and len(v) == size and all(isinstance(x, float) for x in v)
                   for v in vectors.values())

    @cached_property
    def index(self):
        # llama-index: ~1 s to import; only this dense baseline uses it, never the product pipeline
        from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage

        embed_model = self.app.embedder.model
        target = self.cache_dir()
        if (target / "docstore.json").exists():
            try:
                storage = StorageContext.from_defaults(persist_dir=str(target))
                index = load_index_from_storage(storage, embed_model=embed_model)
                if self._valid(index, embed_model):
                    self.loaded_from_cache = True
                    return index
                print(f"dense baseline: cache at {target} does not match the store; rebuilding", file=sys.stderr)
            except Exception as exc:  # a damaged cache is rebuilt, not fatal
                print(f"dense baseline: cache at {target} unreadable ({exc}); rebuilding", file=sys.stderr)
        self.loaded_from_cache = False
        docs = self.documents()
        if not docs:
            raise InputError(f"the store {self.app.settings.store_label} holds no papers: ingest digests first")
        print(f"dense baseline: embedding {len(docs)} papers with llama-index defaults (cached afterwards)...",
              file=sys.stderr)
        index = VectorStoreIndex.from_documents(docs, embed_model=embed_model)
        partial = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        index.storage_context.persist(persist_dir=str(partial))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        for old in target.parent.iterdir():  # earlier generations are never read again
            if old != target and old.is_dir() and old.name.endswith(f"-{DENSE_RECIPE}"):
                shutil.rmtree(old, ignore_errors=True)
        return index

    def answer(self, question: Question) -> dict:
        retriever = self.index.as_retriever(similarity_top_k=self.k * self.NODES_PER_PAPER)
        catalog = self.app.catalog()
        hits: list[tuple[str, str, str]] = []
        for scored in retriever.retrieve(question.question):
            pid = scored.node.metadata.get("paper_id")
            if not pid or any(pid == h[0] for h in hits):
                continue
            paper = catalog.get(pid)
            text = scored.node.get_content()
            if paper and text.startswith(paper.title):
                text = text[len(paper.title):]
            hits.append((pid, paper.title if paper else pid, text))
            if len(hits) == self.k:
                break
        ids = [pid for pid, _, _ in hits]
        return {"answer": naive_answer(hits), "cited_ids": ids, "retrieved_ids": ids, "refused": False,
                "backend": self.backend}
