"""Digest files -> papers -> chunks -> embeddings -> store, idempotently and resumably.

- A paper is identified by its arXiv id; its content hash decides 'changed'. Appearing in a new
  digest with the same content only updates where it appeared (its embeddings are reused).
- Papers are embedded and written in small groups, each paper written in the store's
  crash-safe order, so Ctrl-C or kill -9 loses at most the groups in flight; the next run resumes.
- The model's time is the floor, so everything else hides behind it: while one group embeds (in a
  worker thread; onnxruntime releases the GIL) the next is parsed, chunked and looked up, and the
  previous one written. Only chunks in a language the model reads are embedded
  (`Settings.embed_languages`); vectors already computed come from the store or the vector cache.
  The same forward pass gives each passage's sentence vectors (sentence_vectors.py), stored and
  cached with it; a passage cached without them is embedded again where the encoder makes them.
- One ingest at a time per store: a second one fails at once with a clear message.
- What the ingest saw (each paper written, the ids added and changed) goes to an `IngestObserver`,
  under the ingest lock: the App records what's new and the summaries' number checks with it
  (assistant/daily/), a layer above this one.
"""
from __future__ import annotations

import errno
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.errors import DigestQAError, InputError, StoreError
from assistant.files import FileRefused
from assistant.ingest.chunking import chunk_paper, embed_text, embedded, header_title
from assistant.ingest.embeddings import Embedded, Embedder, embed_passages
from assistant.ingest.parser import ParsedDigest, discover_digest_files, parse_digest_file
from assistant.ingest.sample import is_sample_file, is_sample_origin, mark_sample, plan_removal
from assistant.ingest.sentence_vectors import encode as encode_sentences
from assistant.ingest.store import SENTENCES_KEY, Store, is_read_only, store_fault
from assistant.ingest.vector_cache import VectorCache, vector_cache_path
from assistant.types import Chunk, IngestReport, Paper, ParseProblem


class ChunkSink(Protocol):
    """Takes every chunk written (the keyword index's builder, assistant/search/lexical.py)."""

    def add(self, chunk: Chunk) -> None: ...


class IngestObserver(Protocol):
    """Told what an ingest saw, while it holds the store's ingest lock."""

    def written(self, paper: Paper) -> None:
        """A paper added or changed, just written (then released: the ingest holds no paper to the end)."""

    def finished(self, added: list[str], changed: list[str], report: IngestReport) -> None:
        """The ids this ingest added and changed; notes for the user go to `report.notes`."""


GROUP_SIZE = 32  # papers per group: a few model batches (little padding once sorted), little lost on a kill


@dataclass
class _Planned:
    paper: Paper
    kind: str  # added | changed | relisted


@dataclass
class _Group:
    """One group on its way through the pipeline: chunked, looked up, embedding in flight."""

    chunked: list[tuple[Paper, list[Chunk], list[bool]]]
    vectors: dict[str, list[float]]  # chunk id -> vector, known or computed
    sentences: dict[str, str]  # chunk id -> its sentence vectors (sentence_vectors.encode), known or computed
    todo: list[Chunk]  # embedded chunks with no known vector
    texts: list[str]  # what the model reads for each of `todo`
    future: Future | None = None
    early: _EarlyStart | None = None  # `todo`'s vectors come from the embedding started early


@dataclass
class _EarlyStart:
    """The first papers' embedding, started before the store is opened: importing Chroma and reading
    what the store holds take about a second, which the model would otherwise spend waiting."""

    texts: list[str]
    future: Future
    used: bool = False

    def covers(self, texts: list[str]) -> bool:
        return not self.used and set(texts) <= set(self.texts)

    def embedded(self) -> dict[str, tuple[list[float], str | None]]:
        return _by_text(self.texts, self.future.result())


class _EmbedWorker:
    """The one thread the model runs in (onnxruntime releases the GIL, so the main thread chunks and
    writes meanwhile), the vector cache, and the embedding started early."""

    def __init__(self, embedder: Embedder, settings: Settings):
        # An embedder that names no model identity (a benchmark's stand-in) gets no shared cache: its
        # vectors must never be served as the real model's.
        identity = getattr(embedder, "identity", None)
        self.embedder, self.settings = embedder, settings
        self.cache = VectorCache(vector_cache_path(settings, identity) if identity else None)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self.early: _EarlyStart | None = None
        self.makes_sentences = bool(getattr(embedder, "makes_sentences", False))

    def submit(self, texts: list[str]) -> Future:
        return self.pool.submit(embed_passages, self.embedder, texts)

    def known(self, texts: list[str]) -> tuple[dict[str, list[float]], dict[str, str]]:
        """The cached vectors of these passages, and their cached sentence vectors. A passage cached
        before sentence vectors existed counts as unknown where the encoder makes them (embedded
        once more, so that every passage the store holds has them)."""
        vectors = self.cache.get_many(texts)
        if not vectors:
            return {}, {}
        dims = len(next(iter(vectors.values())))
        sentences = self.cache.get_sentences(list(vectors), dims)
        if self.makes_sentences:
            vectors = {t: v for t, v in vectors.items() if t in sentences}
        return vectors, sentences

    def keep(self, by_text: dict[str, tuple[list[float], str | None]]) -> None:
        texts = list(by_text)
        self.cache.put_many(texts, [by_text[t][0] for t in texts])
        self.cache.put_sentences(texts, [by_text[t][1] for t in texts])

    def start_early(self, papers: list[Paper]) -> None:
        """Embed the first group's texts that the cache lacks. On a re-run they are all cached and
        nothing starts; at worst (a store whose vectors are not in the cache) one group is embedded
        twice."""
        texts: list[str] = []
        for paper in papers[:GROUP_SIZE]:
            chunks = chunk_paper(paper, self.embedder.count_tokens, self.settings.embed_max_tokens,
                                 self.embedder.count_tokens_many)
            texts += [embed_text(header_title(paper), c.text)
                      for c, flag in zip(chunks, embedded(chunks, self.settings.embed_languages), strict=True) if flag]
        cached, _ = self.known(list(dict.fromkeys(texts)))
        todo = [t for t in dict.fromkeys(texts) if t not in cached]
        if todo:
            self.early = _EarlyStart(todo, self.submit(todo))

    def close(self) -> None:
        early = self.early
        if early is not None and not early.used:  # the plan did not need it: keep what was computed
            if early.future.done() and not early.future.cancelled() and early.future.exception() is None:
                self.keep(early.embedded())
            early.future.cancel()
        self.pool.shutdown(wait=True)
        self.cache.close()


def collect_papers(paths: list[Path], digest_date: str | None = None, max_file_mb: float = 20.0,
                   conflicts: list[dict] | None = None) -> tuple[list[Paper], list[ParseProblem], list[ParsedDigest]]:
    """Parse every digest under `paths` and merge them: one paper, every digest it appeared in.
    Entries of one paper with different text are settled by `precedence`; each is added to
    `conflicts` as a `replacement` row."""
    conflicts = [] if conflicts is None else conflicts
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
    files = discover_digest_files(paths)
    if not files:
        raise InputError(f"no digest files (.md, .txt) in {', '.join(map(str, paths))}")
    parsed: list[ParsedDigest] = []
    problems: list[ParseProblem] = []
    max_bytes = int(max_file_mb * 1e6)
    for file in files:
        try:
            parsed.append(parse_digest_file(file, digest_date, max_bytes))
        except FileRefused as exc:
            problems.append(ParseProblem(str(file), 0, str(exc)))
        except OSError as exc:
            problems.append(ParseProblem(str(file), 0, f"cannot read file: {exc.strerror or exc}"))
    for digest in parsed:
        if is_sample_file(digest.path):
            mark_sample(digest.papers)
    # Files in digest order (date, then name): with equal versions and dates the later one wins.
    parsed.sort(key=lambda d: (d.digest.date or "", d.digest.name))
    merged: dict[str, Paper] = {}
    for digest in parsed:
        problems.extend(digest.problems)
        for paper in digest.papers:
            earlier = merged.get(paper.id)
            if earlier is None:
                merged[paper.id] = paper
                continue
            if earlier.content_hash() != paper.content_hash():
                kept, dropped = (paper, earlier) if precedence(paper) >= precedence(earlier) else (earlier, paper)
                conflicts.append(replacement(kept, dropped))
                kept.digests, kept.dates = earlier.digests, earlier.dates
                merged[paper.id] = kept
            elif precedence(paper) > precedence(earlier):  # same text: keep the better provenance
                earlier.version, earlier.origin = paper.version, paper.origin
            _add_membership(merged[paper.id], digest.digest.name, digest.digest.date)
    return list(merged.values()), problems, parsed


# One rule for the same paper met twice with different text, within a run and across runs: the
# higher arXiv version wins, then the later digest date, then the later ingest (a missing version
# counts as 0, a missing date as earliest). Documented in the README ("Reliability and security").
def precedence(paper: Paper) -> tuple[int, int, str]:
    # The date of the digest the text came from; records stored before `origin` existed: their latest.
    date = paper.origin.get("date") if paper.origin is not None else max(paper.dates, default="")
    # The packaged sample's paraphrase loses to any real entry, whatever its version or date.
    return (0 if is_sample_origin(paper.origin) else 1, paper.version or 0, date or "")


def _where(paper: Paper) -> dict:
    origin = paper.origin or {}
    return {"file": origin.get("file"), "line": origin.get("line"),
            "digest": origin.get("digest") or ", ".join(paper.digests) or None,
            "date": origin.get("date"), "version": paper.version}


def replacement(kept: Paper, dropped: Paper) -> dict:
    """The report row for two texts of one paper: what differed, which was kept and which dropped."""
    changed = [name for name in ("title", "abstract", "authors", "category", "tldr", "motivation", "method",
                                 "result", "conclusion") if getattr(kept, name) != getattr(dropped, name)]
    return {"id": kept.id, "changed": changed, "kept": _where(kept), "dropped": _where(dropped)}


def _add_membership(paper: Paper, name: str, date: str | None) -> None:
    if name not in paper.digests:
        paper.digests.append(name)
    if date and date not in paper.dates:
        paper.dates.append(date)
        paper.dates.sort()


def ingest_lock(settings: Settings) -> FileLock:
    if settings.uses_server:
        key = hashlib.sha1(f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}".encode()).hexdigest()[:12]
        lock_dir = Path(settings.cache_dir).expanduser() / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(lock_dir / f"ingest-{key}.lock"))
    Path(settings.store).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(settings.store) / ".ingest.lock"))


def ingest(paths: list[Path], settings: Settings, embedder: Embedder, digest_date: str | None = None,
           progress: Callable | None = None, lexical: ChunkSink | None = None,
           observer: IngestObserver | None = None) -> IngestReport:
    """Ingest digests into the configured store. `progress(total)` returns a tqdm-like bar.
    `lexical`, when given, collects every chunk written for the keyword index (tokenized and
    counted while the model embeds the next group), so the index built after the ingest need not
    read them back from the store nor tokenize them again. `observer`, when given, is told each
    paper written and, at the end, what was added and changed (see `IngestObserver`)."""
    started = time.perf_counter()
    conflicts: list[dict] = []
    papers, problems, parsed = collect_papers(paths, digest_date, settings.max_file_mb, conflicts)
    if not papers:  # nothing to write: say why, and do not report success
        raise InputError(nothing_ingested(problems, paths))
    notes: list[str] = []
    sample_names = frozenset(d.digest.name for d in parsed if is_sample_file(d.path))
    if sample_names and len(sample_names) < len({d.digest.name for d in parsed if d.papers}):
        # The sample and real digests in one run: the real ones only (the sample never mixes in).
        parsed = [d for d in parsed if d.digest.name not in sample_names]
        papers, conflicts[:] = _without_sample(papers, conflicts, {d.digest.name: d.digest.date for d in parsed})
        notes.append("left out the packaged sample digest: it is never mixed with your own digests")
        sample_names = frozenset()
    # A file with no entry (notes.txt beside a digest) is reported as skipped, not counted as a digest.
    report = IngestReport(digests=[d.digest.name for d in parsed if d.papers], replaced=conflicts, notes=notes)
    recorded_digests = [(d.digest.name, d.digest.date) for d in parsed if d.papers]
    del parsed  # each paper is held by the plan alone from here, and released once written
    report.skipped = [{"file": p.file, "line": p.line, "reason": p.reason} for p in problems if p.skipped]
    report.partial = [{"file": p.file, "line": p.line, "reason": p.reason} for p in problems if not p.skipped]
    if not settings.uses_server and is_read_only(Path(settings.store)):
        raise store_fault(PermissionError(errno.EACCES, "read-only"), settings.store_label)
    try:
        lock = ingest_lock(settings)
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreError(f"another ingest is writing to {settings.store_label}; wait for it to finish") from None
    except OSError as exc:  # the lock file cannot be made: a read-only or full disk
        raise (store_fault(exc, settings.store_label) or StoreError(
            f"cannot lock {settings.store_label} for writing ({exc.strerror or exc})")) from None
    worker = _EmbedWorker(embedder, settings)
    try:
        worker.start_early(papers)
        store = Store(settings, create=True)
        _keep_sample_apart(store, papers, sample_names, report)
        states = store.paper_states()
        plan = _plan(papers, store, report, states, {row["id"] for row in conflicts})
        del papers
        upgrading = worker.makes_sentences and not store.state().get(SENTENCES_KEY)
        if upgrading:  # a store written before sentence vectors: its papers get them, once
            upgraded = _plan_sentence_vectors(plan, store)
            if upgraded:
                report.notes.append(f"embedded the passages of {upgraded} stored paper(s) again for their sentence "
                                    "vectors (once: the store was written before them)")
        _clean_orphans(store, keep={p.paper.id for p in plan}, recorded=set(states))
        added = [p.paper.id for p in plan if p.kind == "added"]
        changed = [p.paper.id for p in plan if p.kind == "changed"]
        planned = len(plan)
        bar = progress(planned) if progress and plan else None
        if plan:
            report.chunks_written = _write_plan(plan, store, worker, bar, lexical, observer)
        if bar is not None:
            bar.close()
        store.record_digests(recorded_digests, sample_names)
        if planned or store.state().get("generation", 0) == 0 or upgrading:
            store.bump_generation(sentence_vectors=True if upgrading else None)
        if observer is not None:
            observer.finished(added, changed, report)
        report.papers_total = store.papers_collection.count()
    except Exception as exc:  # a full or read-only disk met while writing: one clear line, no traceback
        where = None if settings.uses_server else Path(settings.store)
        fault = None if isinstance(exc, DigestQAError) else store_fault(exc, settings.store_label, where)
        if fault is None:
            raise
        raise fault from None
    finally:
        worker.close()
        lock.release()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def nothing_ingested(problems: list[ParseProblem], paths: list[Path]) -> str:
    """The one line for an ingest that found no paper at all: what each file was refused for."""
    where = ", ".join(map(str, paths[:3])) + (", …" if len(paths) > 3 else "")
    reasons = [p for p in problems if p.skipped] or problems
    if len(reasons) == 1 and [str(p) for p in paths] == [reasons[0].file]:
        return f"nothing ingested from {where}: {reasons[0].reason}"
    shown = "; ".join(f"{p.file}: {p.reason}" for p in reasons[:3])
    shown += f"; and {len(reasons) - 3} more" if len(reasons) > 3 else ""
    return f"nothing ingested: no paper could be read from {where}" + (f" ({shown})" if shown else "")


def _without_sample(papers: list[Paper], conflicts: list[dict], real: dict[str, str | None]) -> tuple[list[Paper], list[dict]]:
    """This run's papers without the sample's entries and digest; `real` maps the other digests'
    names to their dates. A paper the sample shares with a real digest keeps the real entry (the
    sample always loses, see `precedence`)."""
    kept = []
    for paper in papers:
        if is_sample_origin(paper.origin):
            continue
        paper.digests = [d for d in paper.digests if d in real]
        paper.dates = sorted({real[d] for d in paper.digests if real[d]})
        kept.append(paper)
    ids = {p.id for p in kept}
    return kept, [row for row in conflicts if row["id"] in ids and not is_sample_file(Path(row["dropped"]["file"] or ""))]


def _keep_sample_apart(store: Store, papers: list[Paper], sample_names: frozenset[str], report: IngestReport) -> None:
    """The sample goes only into a store holding nothing else; real digests remove it first."""
    stored = store.papers()
    if sample_names:
        own = [p for p in stored.values() if not is_sample_origin(p.origin)]
        if own:
            raise InputError(f"not ingesting the packaged sample digest into {store.settings.store_label}: it holds "
                             f"{len(own)} paper(s) of your own digests, and the sample never mixes with them "
                             "(pass --store DIR to try the sample in a store of its own)")
        return
    removal = plan_removal(stored, store.digest_records())
    if removal is None:
        return
    store.relist_papers(removal.relisted)
    store.delete_papers(removal.removed)
    store.forget_digests(removal.digests)
    report.notes.append(removal.note(store.settings.store_label, {p.id for p in papers}))


def _plan(papers: list[Paper], store: Store, report: IngestReport,
          states: dict[str, tuple[str, tuple[str, ...]]] | None = None,
          conflicted: set[str] = frozenset()) -> list[_Planned]:
    """`conflicted`: ids of papers met with differing texts in this run (one entry was dropped)."""
    states = store.paper_states() if states is None else states
    stored = store.papers() if states else {}
    plan = []
    for paper in papers:
        state = states.get(paper.id)
        if state is None or paper.id not in stored:  # not stored, or its record is unreadable: write it
            plan.append(_Planned(paper, "added"))
            report.added += 1
            continue
        old = stored[paper.id]
        differs = state[0] != paper.content_hash()
        outranked = differs and precedence(paper) < precedence(old)
        if outranked:
            # The stored text outranks this entry (higher version or later digest): keep it; the
            # paper still appeared in this entry's digest, which is recorded.
            report.replaced.append(replacement(old, paper))
            where = paper.origin or {}
            report.skipped.append({"file": where.get("file"), "line": where.get("line"),
                                   "reason": f"{paper.id} differs from the stored entry, which outranks it (higher "
                                             "arXiv version or later digest); kept the stored text"})
            kept = Paper.from_json(old.to_json())
            kept.digests, kept.dates = paper.digests, paper.dates
            paper, differs = kept, False
            conflicted = conflicted | {paper.id}
        elif not differs and precedence(paper) <= precedence(old):
            # Same text: keep the stored provenance unless this entry outranks it (a path alone
            # is no reason to rewrite a paper, nor is upgrading a store written before `origin`).
            paper.version, paper.origin = old.version, old.origin
        merged_digests = list(dict.fromkeys(old.digests + paper.digests))
        merged_dates = sorted(set(old.dates) | set(paper.dates))
        relisted = merged_digests != old.digests or merged_dates != old.dates
        paper.digests, paper.dates = merged_digests, merged_dates
        if differs:
            plan.append(_Planned(paper, "changed"))
            report.changed += 1
            report.replaced.append(replacement(paper, old))
        else:
            if paper.id in conflicted:  # an entry was dropped: never "unchanged" (an outranked one is also skipped)
                report.conflicts += 1
            else:
                report.unchanged += 1
            if relisted or (paper.version, paper.origin) != (old.version, old.origin):
                plan.append(_Planned(paper, "relisted"))
    return plan


def _plan_sentence_vectors(plan: list[_Planned], store: Store) -> int:
    """Add the stored papers whose chunks lack sentence vectors to the plan, rewritten as they are
    ("relisted": not reported as added or changed; `_prepare` embeds their passages again). Returns
    how many were added."""
    planned = {item.paper.id for item in plan}
    lacking = store.papers_without_sentence_vectors() - planned
    stored = store.papers() if lacking else {}
    added = [_Planned(stored[pid], "relisted") for pid in sorted(lacking) if pid in stored]
    plan.extend(added)
    return len(added)


def _clean_orphans(store: Store, keep: set[str], recorded: set[str] | None = None) -> None:
    """Remove chunks left by an ingest killed before it wrote their paper's record."""
    if store.chunk_count() == 0:
        return
    orphans = [cid for cid in store.orphan_chunk_ids(recorded) if cid.split("#", 1)[0] not in keep]
    store.delete_chunks(orphans)


def _write_plan(plan: list[_Planned], store: Store, worker: _EmbedWorker, bar=None,
                lexical: ChunkSink | None = None, observer: IngestObserver | None = None) -> int:
    """Embed and write the plan group by group, the model never waiting for the rest (see top).
    The plan is consumed: a group's papers are released once written (parsed papers take ~4 MB per
    1,000, held to the end ~190 MB at 50,000 while the store and keyword index grow), after `observer`
    is shown each one written because it changed or is new."""
    embedded_count = 0
    pending: _Group | None = None
    pending_kinds: dict[str, str] = {}  # paper id -> added | changed | relisted, of `pending`
    plan.reverse()  # popped from the end: the first papers first
    try:
        while plan or pending is not None:
            items = [plan.pop() for _ in range(min(GROUP_SIZE, len(plan)))]
            group = _prepare(items, store, worker) if items else None
            kinds = {item.paper.id: item.kind for item in items}
            del items
            if group is not None and group.texts and group.early is None:
                group.future = worker.submit(group.texts)
            if pending is not None:  # written (and tokenized for BM25) while `group` embeds
                embedded_count += _finish(pending, store, worker)
                for paper, chunks, _ in pending.chunked:
                    if lexical is not None:
                        for chunk in chunks:
                            lexical.add(chunk)
                    if observer is not None and pending_kinds[paper.id] != "relisted":
                        observer.written(paper)
                if bar is not None:
                    bar.update(len(pending.chunked))
            pending, pending_kinds = group, kinds
    finally:
        if pending is not None and pending.future is not None:
            pending.future.cancel()
    return embedded_count


def _prepare(group: list[_Planned], store: Store, worker: _EmbedWorker) -> _Group:
    chunked = []
    for item in group:
        chunks = chunk_paper(item.paper, worker.embedder.count_tokens, worker.settings.embed_max_tokens,
                             worker.embedder.count_tokens_many)
        chunked.append((item.paper, chunks, embedded(chunks, worker.settings.embed_languages)))
    dense = [(paper, c) for paper, chunks, flags in chunked for c, flag in zip(chunks, flags, strict=False) if flag]
    # Reuse vectors for chunks whose text did not change: from the store (relisted papers, small
    # edits), else from the cache (another digest, another store, an earlier interrupted run).
    vectors, sentences = store.passage_vectors([c.id for _, c in dense])
    if worker.makes_sentences:  # a passage stored without its sentence vectors is embedded again
        vectors = {cid: v for cid, v in vectors.items() if cid in sentences}
    missing = [(c, embed_text(header_title(paper), c.text)) for paper, c in dense if c.id not in vectors]
    cached, cached_sentences = worker.known([text for _, text in missing])
    vectors.update({c.id: cached[text] for c, text in missing if text in cached})
    sentences.update({c.id: cached_sentences[text] for c, text in missing if text in cached and text in cached_sentences})
    todo = [(c, text) for c, text in missing if text not in cached]
    prepared = _Group(chunked, vectors, sentences, [c for c, _ in todo], [text for _, text in todo])
    if todo and worker.early is not None and worker.early.covers(prepared.texts):
        worker.early.used = True
        prepared.early = worker.early
    return prepared


def _finish(group: _Group, store: Store, worker: _EmbedWorker) -> int:
    if group.early is not None:
        by_text = group.early.embedded()
    elif group.future is not None:
        by_text = _by_text(group.texts, group.future.result())
    else:
        by_text = {}
    worker.keep(by_text)
    for chunk, text in zip(group.todo, group.texts, strict=True):
        vector, encoded = by_text[text]
        group.vectors[chunk.id] = vector
        if encoded:
            group.sentences[chunk.id] = encoded
    store.write_papers([(paper, chunks, [group.vectors[c.id] if flag else None for c, flag in zip(chunks, flags, strict=False)])
                        for paper, chunks, flags in group.chunked], group.sentences)
    return len(group.todo)


def _by_text(texts: list[str], embedded: Embedded) -> dict[str, tuple[list[float], str | None]]:
    """Each passage's vector and its sentence vectors as stored (None: the encoder gave none). A
    passage with no sentence long enough to pool keeps its own vector as its one sentence, so every
    passage the encoder read has them (and none is embedded again for want of them)."""
    out = {}
    for text, vector, sentences in zip(texts, embedded.vectors, embedded.sentences, strict=True):
        if sentences is not None and not len(sentences):
            sentences = np.asarray([vector], np.float32)
        out[text] = (vector, None if sentences is None else encode_sentences(sentences))
    return out
