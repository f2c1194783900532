"""BM25 over every chunk, with Chinese segmented by jieba (its dictionary ships in the wheel).

The English embedding model cannot read Chinese, so this index is how a Chinese question finds
papers through their Chinese summary sections.

Built here with numpy from each chunk's term counts, and kept compactly (chunk texts in one buffer,
see compact.py): the index of 50,000 papers' 350k chunks must be built at the end of an ingest
within its memory budget, and loaded by every question-answering process.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from assistant.compact import Strings, StringsBuilder, mapped_npz
from assistant.ingest.paper_table import cache_folders
from assistant.ingest.store import Store, StoredChunk
from assistant.search.vocabulary import plural_stem
from assistant.types import Chunk

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+(?:[.\-+][a-z0-9]+)*")
EN_STOPWORDS = frozenset("""a an and are as at be been being but by can could did do does for from had has have how
i if in into is it its itself may might more most of on or our over paper papers s such than that the their them
then there these they this those through to under up upon us using via was we were what when where which while who
whom why will with within without would you your about across after against all also among any both each few
further here just no nor not only other out own same so some too very between before during does doing once
propose proposed proposes present presents study studies show shows shown work works approach method methods
based new novel use used uses digest digests""".split())
ZH_STOPWORDS = frozenset("""的 了 和 是 在 与 及 或 对 中 为 以 等 并 将 该 其 这 那 哪 哪些 哪篇 什么 如何 怎么 论文 研究 本文
一种 一个 通过 进行 提出 方法 使用 基于 吗 呢 了吗 有 有没有 篇 些 个 ？ 。 ，
把 被 给 让 从 到 多少 几 怎样 怎么样 是否 能否 可以 能 会 为什么 是什么 介绍 一下 请 关于 哪个 哪种 多大 多快 了多少 主要 哪一篇
讲 讲了 说 说了 做 做了 用 用了 得到 结果 效果 论文中 文中""".split())


@lru_cache(maxsize=1)
def _jieba():
    # jieba: its dictionary takes ~0.6-1 s to load; an English question never segments Chinese
    # (tests/integration/test_read_path.py checks that it is not even imported)
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def chinese_words(text: str) -> list[str]:
    """Chinese text as jieba's words, in order ('强化学习方法' -> 强化学习, 方法)."""
    return [w for w in _jieba().lcut(text) if w.strip()]


def is_chinese_term(term: str) -> bool:
    """Whether `tokenize` made this term from Chinese text (then every character of it is Chinese;
    otherwise none is)."""
    return bool(term) and "\u3400" <= term[0] <= "\u9fff"


class ChineseRuns:
    """jieba's search-mode words of runs of Chinese text, remembered on disk between processes. An
    English set question also searches for the Chinese spellings of its terms (aliases.toml:
    低秩适配 for LoRA), the same few runs every time, and segmenting them needs jieba, whose
    dictionary takes ~0.6-1 s to load: remembered, a later process has them without loading it.
    The file is keyed by jieba's code and dictionary (so the words are jieba's own), is plain JSON
    (read as data), holds at most RUNS_KEPT runs, and is only a cache: unreadable means empty."""

    RUNS_KEPT = 5000

    def __init__(self, folder: Path):
        self.folder = folder
        self._known: dict[str, list[str]] | None = None
        self._added: dict[str, list[str]] = {}

    @cached_property
    def path(self) -> Path | None:
        spec = importlib.util.find_spec("jieba")
        if spec is None or not spec.submodule_search_locations:
            return None
        package = Path(spec.submodule_search_locations[0])
        stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in
                         (package / "__init__.py", package / "dict.txt", package / "finalseg" / "prob_emit.py")
                         if p.exists())
        return self.folder / f"jieba-{hashlib.sha1(stamp.encode()).hexdigest()[:12]}.json"

    def _read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8")) if self.path is not None else {}
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, list)
                and all(isinstance(w, str) for w in v)}

    def words(self, run: str) -> list[str]:
        """`jieba.cut_for_search(run)` as a list."""
        if self._known is None:
            self._known = self._read()
        words = self._known.get(run)
        if words is None:
            words = self._known[run] = self._added[run] = list(_jieba().cut_for_search(run))
        return words

    def save(self) -> None:
        """Keep the runs segmented since the last save (merged with what another process kept)."""
        if not self._added or self.path is None:
            return
        kept = self._read()
        kept.update(self._added)
        kept = dict(list(kept.items())[-self.RUNS_KEPT:])
        self._added = {}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # a read-only or full disk: segmented again next time


def tokenize(text: str, chinese: bool = True, other: bool = True, runs: ChineseRuns | None = None) -> list[str]:
    """The text's terms in order: Chinese words (jieba, search mode) and stemmed other words, stop
    words left out. `chinese`/`other` False leaves that kind out: the terms of one kind never
    depend on the other, so the non-Chinese ones are had without loading jieba (~0.6-1 s).
    `runs`: Chinese runs remembered from earlier processes (the same words, maybe without jieba)."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        piece = match.group()
        if is_chinese_term(piece):
            if chinese:
                words = runs.words(piece) if runs is not None else _jieba().cut_for_search(piece)
                tokens.extend(w for w in words if w.strip() and w not in ZH_STOPWORDS)
        elif other and piece not in EN_STOPWORDS and len(piece) > 1:
            tokens.append(plural_stem(piece))
    return tokens


@dataclass(frozen=True)
class LexicalHit:
    chunk: StoredChunk
    score: float


BM25_K1, BM25_B = 1.5, 0.75  # the usual defaults (Lucene's, and bm25s's, which this index matched)


class _Codes:
    """Repeated strings (paper ids, section names) as small integers and one list of names."""

    def __init__(self, names: list[str] | None = None, codes: np.ndarray | None = None):
        self.names = names or []
        self.code_of = {name: i for i, name in enumerate(self.names)}
        self._codes = array("i") if codes is None else None
        self.codes = codes

    def append(self, name: str) -> None:
        code = self.code_of.get(name)
        if code is None:
            code = self.code_of[name] = len(self.names)
            self.names.append(name)
        self._codes.append(code)

    def freeze(self, keep: np.ndarray | None = None) -> _Codes:
        codes = np.frombuffer(self._codes, dtype=np.int32).copy()
        return _Codes(self.names, codes if keep is None else codes[keep])


class ChunkTable:
    """The indexed chunks, compactly (see compact.py); item i is chunk i as a StoredChunk."""

    def __init__(self, ids: Strings, papers: _Codes, sections: _Codes, texts: Strings):
        self.ids, self.papers, self.sections, self.texts = ids, papers, sections, texts

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> StoredChunk:
        return StoredChunk(self.ids[i], self.papers.names[self.papers.codes[i]],
                           self.sections.names[self.sections.codes[i]], self.texts[i])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def rows_of(self, paper_ids: set[str]) -> np.ndarray:
        """A mask of the chunks of these papers."""
        wanted = [self.papers.code_of[p] for p in paper_ids if p in self.papers.code_of]
        return np.isin(self.papers.codes, np.asarray(wanted, dtype=np.int32))


class LexicalBuilder:
    """Collects chunks one at a time, tokenized and counted at once, so that nothing per token is
    kept as a Python object (an ingest feeds it while the model embeds the next papers); `build()`
    makes the BM25 index."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self._terms, self._counts = array("i"), array("i")  # each chunk's distinct terms and their counts
        self._ends = array("q")  # where each chunk's terms end in the two arrays above
        self._lengths = array("i")  # tokens in each chunk
        self._ids, self._texts = StringsBuilder(), StringsBuilder()
        self._papers, self._sections = _Codes(), _Codes()
        self.known: set[str] = set()

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, chunk: StoredChunk | Chunk, tokens: list[str] | None = None) -> None:
        if chunk.id in self.known:
            return
        tokens = (tokenize(chunk.text) if tokens is None else tokens) or ["\u0000"]  # an empty chunk still counts
        counts = Counter(self.vocab.setdefault(t, len(self.vocab)) for t in tokens)
        self._terms.extend(counts.keys())
        self._counts.extend(counts.values())
        self._ends.append(len(self._terms))
        self._lengths.append(len(tokens))
        self._ids.append(chunk.id)
        self._texts.append(chunk.text)
        self._papers.append(chunk.paper_id)
        self._sections.append(chunk.section)
        self.known.add(chunk.id)

    def build(self, keep: set[str] | None = None) -> LexicalIndex:
        """The index over the chunks added (only those in `keep`, when given)."""
        ids = self._ids.freeze()
        mask = None if keep is None else np.fromiter((cid in keep for cid in ids), dtype=bool, count=len(ids))
        if mask is not None and mask.all():
            mask = None  # the usual case after an ingest: every chunk collected is still stored
        table = ChunkTable(ids if mask is None else ids.subset(np.flatnonzero(mask)), self._papers.freeze(mask),
                           self._sections.freeze(mask), self._texts.freeze(mask))
        terms = np.frombuffer(self._terms, dtype=np.int32)
        counts = np.frombuffer(self._counts, dtype=np.int32)
        ends = np.frombuffer(self._ends, dtype=np.int64)
        lengths = np.frombuffer(self._lengths, dtype=np.int32)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int32), np.diff(ends, prepend=0))
        if mask is not None:
            entries = mask[rows]
            renumber = (np.cumsum(mask) - 1).astype(np.int32)
            terms, counts, rows, lengths = terms[entries], counts[entries], renumber[rows[entries]], lengths[mask]
        matrix = bm25_matrix(terms, counts, rows, lengths, len(self.vocab))
        return LexicalIndex(table, matrix, list(self.vocab))


@dataclass
class BM25Matrix:
    """Every (term, chunk) weight, by term: the chunks containing term t are
    indices[indptr[t]:indptr[t + 1]], with weights data[...] (a CSC sparse matrix)."""

    data: np.ndarray  # float32
    indices: np.ndarray  # int32 chunk rows
    indptr: np.ndarray  # int64, one more than the vocabulary

    def scores(self, term_ids: list[int], n_chunks: int) -> np.ndarray:
        out = np.zeros(n_chunks, dtype=np.float32)
        for t in term_ids:  # a repeated query term counts again, as in bm25s
            start, end = self.indptr[t], self.indptr[t + 1]
            out[self.indices[start:end]] += self.data[start:end]  # a term's chunks are distinct: no lost adds
        return out


BUILD_BLOCK = 1 << 20  # (term, chunk) entries weighted at a time: bounded temporaries (~40 MB) at any corpus size


def bm25_matrix(terms: np.ndarray, counts: np.ndarray, rows: np.ndarray, lengths: np.ndarray,
                vocabulary: int) -> BM25Matrix:
    """BM25 ("Lucene" variant: idf = ln(1 + (N - df + 0.5) / (df + 0.5))) for every (term, chunk)
    entry given as parallel arrays, vectorised block by block: no per-token Python object and no
    corpus-sized temporaries (50,000 papers make ~14 million entries; all at once in float64, the
    end of an ingest grew by ~400 MB)."""
    n = len(lengths)
    df = np.bincount(terms, minlength=vocabulary)
    # float32 idf and term counts, the rest in float64, then stored as float32: bm25s's arithmetic,
    # so scores (and the rankings built on them) did not move when this replaced it (tested).
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    average = float(lengths.mean()) if n else 1.0
    norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / average)
    indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(len(terms), dtype=np.float32)
    indices = np.empty(len(terms), dtype=np.int32)
    cursor = indptr[:-1].copy()  # where each term's next entry goes
    for start in range(0, len(terms), BUILD_BLOCK):
        t, r = terms[start:start + BUILD_BLOCK], rows[start:start + BUILD_BLOCK]
        tf = counts[start:start + BUILD_BLOCK].astype(np.float32)
        weights = (idf[t] * (tf / (norm[r] + tf))).astype(np.float32)
        # By term, and within a term in entry order (entries come in chunk order): each block's
        # entries go after the earlier blocks' ones of the same term.
        order = np.argsort(t, kind="stable")
        by_term = t[order]
        first = np.flatnonzero(np.r_[True, by_term[1:] != by_term[:-1]])
        sizes = np.diff(np.r_[first, len(by_term)])
        places = cursor[by_term] + (np.arange(len(by_term)) - np.repeat(first, sizes))
        data[places], indices[places] = weights[order], r[order]
        cursor[by_term[first]] += sizes
    return BM25Matrix(data, indices, indptr)


class LexicalIndex:
    """An in-memory BM25 index over chunks; rebuilt when the store's generation changes."""

    def __init__(self, chunks: ChunkTable | list[StoredChunk], matrix: BM25Matrix | None = None,
                 vocabulary: list[str] | None = None):
        if matrix is None:  # a plain list of chunks (tests, small tools): index them
            builder = LexicalBuilder()
            for chunk in chunks:
                builder.add(chunk)
            built = builder.build()
            chunks, matrix, vocabulary = built.chunks, built.matrix, built.vocabulary
        self.chunks: ChunkTable = chunks
        self.matrix = matrix
        self.vocabulary = vocabulary or []
        self.term_id = {term: i for i, term in enumerate(self.vocabulary)}
        self._spelled_out: dict[str, bool] = {}  # acronym -> written out somewhere (a scan of every text)

    def document_frequency(self, term: str) -> int:
        """Chunks containing `term` (0 for a term the index does not know)."""
        i = self.term_id.get(term)
        return 0 if i is None else int(self.matrix.indptr[i + 1] - self.matrix.indptr[i])

    def paper_frequency(self, term: str) -> int:
        """Papers with a chunk containing `term` (a paper's name is in each of its chunks: counted
        once, it is as rare as it is)."""
        i = self.term_id.get(term)
        if i is None:
            return 0
        rows = self.matrix.indices[self.matrix.indptr[i]:self.matrix.indptr[i + 1]]
        return len(np.unique(self.chunks.papers.codes[rows]))

    def mentions(self, parts: tuple[str, ...]) -> bool:
        """Whether any indexed text mentions a name given by its lowercased pieces (names.py):
        written as one term ("wmt14", "flashattention-2"), inside a hyphenated one ("alphafold" in
        "alphafold-2"), hyphens dropped ("text-to-sql" for "texttosql"), or its pieces as separate
        words ("LLaMA 7B" for "LLaMA-7B")."""
        whole = plural_stem("-".join(parts))
        if whole in self.term_id:
            return True
        known = self._name_pieces
        return _squashed(whole) in known or all(plural_stem(p) in known for p in parts)

    def spells_out(self, acronym: str) -> bool:
        """Whether any indexed text writes an acronym out in full, each letter a capitalised word's
        (a hyphenated word counts once; "for", "of" … between them are skipped): "ECMWF" in a paper that
        says "European Centre for Medium-Range Weather Forecasts" and never the letters. Capitalised
        words only, four letters or more: lower-case runs of words, and Title Case titles' runs of three,
        share initials with a short acronym by chance (a made-up name would pass as written out)."""
        if not ACRONYM.fullmatch(acronym):
            return False
        if acronym not in self._spelled_out:  # a chat asks about the same name again; the index is per generation
            pattern = _spelled_out(acronym)
            self._spelled_out[acronym] = any(pattern.search(text) for text in self.chunks.texts)
        return self._spelled_out[acronym]

    @cached_property
    def _name_pieces(self) -> frozenset[str]:
        """Every term, each of its hyphen-joined runs of pieces, hyphens and dots dropped (read only
        when a question names something that is not a term as written)."""
        pieces: set[str] = set()
        for term in self.vocabulary:
            pieces.add(_squashed(term))
            split = term.split("-")
            if len(split) > 1:
                pieces.update(_squashed("".join(split[i:j])) for i in range(len(split))
                              for j in range(i + 1, len(split) + 1))
        return frozenset(pieces)

    def document_frequencies(self) -> dict[str, int]:
        """Chunks containing each term (read off the matrix's term columns)."""
        indptr = self.matrix.indptr
        return {term: int(indptr[i + 1] - indptr[i]) for i, term in enumerate(self.vocabulary) if indptr[i + 1] > indptr[i]}

    def search(self, query: str, n: int, paper_ids: set[str] | None = None,
               runs: ChineseRuns | None = None) -> list[LexicalHit]:
        terms = [self.term_id[t] for t in tokenize(query, runs=runs) if t in self.term_id]
        if not terms or not len(self.chunks):
            return []
        scores = self.matrix.scores(terms, len(self.chunks))
        if paper_ids is not None:
            scores = np.where(self.chunks.rows_of(paper_ids), scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(self.chunks[int(i)], float(scores[i])) for i in top if scores[i] > 0]


LEXICAL_FORMAT = 4  # bump when tokenize() or the cache layout changes: old caches are ignored


# The on-disk cache is data only: one .npz of plain arrays (the BM25 matrix; the chunks' ids and
# texts as UTF-8 buffers with offsets; paper and section codes) read with allow_pickle=False, plus a
# JSON header (key, vocabulary, paper and section names) stored as bytes. Stores are shared (a lab's
# network disk, a zip), so nothing read from one may run code: the format used to be a pickle,
# which does. Every field is checked against the others before use; anything odd is rebuilt.
def lexical_cache_folders(settings) -> list[Path]:
    """Where the cache may live, in order: inside the store, else the user's cache_dir (read-only
    stores, servers); the same folders as every file derived from a store (paper_table.py)."""
    return cache_folders(settings)


def lexical_cache_name(store: Store) -> str:
    return f"lexical-{store.settings.collection}-{store.cache_key()}-v{LEXICAL_FORMAT}.npz"


def lexical_cache_path(store: Store) -> Path:
    """The cache file this store generation would use first."""
    return lexical_cache_folders(store.settings)[0] / lexical_cache_name(store)


def save_lexical(index: LexicalIndex, path: Path, key: str) -> None:
    table, matrix = index.chunks, index.matrix
    header = {"format": LEXICAL_FORMAT, "key": key, "vocabulary": index.vocabulary,
              "papers": table.papers.names, "sections": table.sections.names}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                 ids=table.ids.blob, id_offsets=table.ids.offsets, texts=table.texts.blob,
                 text_offsets=table.texts.offsets, papers=table.papers.codes, sections=table.sections.codes,
                 header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8))
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file


_ARRAYS = ("data", "indices", "indptr", "ids", "id_offsets", "texts", "text_offsets", "papers", "sections", "header")


def load_lexical(path: Path, key: str) -> LexicalIndex | None:
    """The cached index at `path` when it is well-formed and for this key, else None. Never
    unpickles (`mapped_npz` refuses object arrays, and a pickle file is no zip)."""
    try:
        a = mapped_npz(path, _ARRAYS)  # mapped, not read: a question touches a few hundred KB of it
        header = json.loads(a["header"].tobytes().decode())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or header.get("format") != LEXICAL_FORMAT or header.get("key") != key:
        return None
    vocabulary, papers, sections = header.get("vocabulary"), header.get("papers"), header.get("sections")
    if not all(isinstance(names, list) and all(isinstance(n, str) for n in names) for names in (vocabulary, papers, sections)):
        return None
    if not (Strings.well_formed(a["ids"], a["id_offsets"]) and Strings.well_formed(a["texts"], a["text_offsets"])):
        return None
    data, indices, indptr = a["data"], a["indices"], a["indptr"]
    rows = len(a["id_offsets"]) - 1
    if rows < 1 or len(a["text_offsets"]) - 1 != rows:
        return None
    for codes, names in ((a["papers"], papers), (a["sections"], sections)):
        if codes.ndim != 1 or codes.dtype.kind not in "iu" or len(codes) != rows \
                or codes.min() < 0 or codes.max() >= len(names):
            return None
    if (data.ndim, indices.ndim, indptr.ndim) != (1, 1, 1) or data.dtype.kind != "f" \
            or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" or len(indptr) != len(vocabulary) + 1:
        return None
    if indptr[0] != 0 or indptr[-1] != len(data) or len(indices) != len(data) or np.any(np.diff(indptr) < 0):
        return None
    if len(indices) and (indices.min() < 0 or indices.max() >= rows):
        return None
    table = ChunkTable(Strings(a["ids"], a["id_offsets"].astype(np.int64, copy=False)),
                       _Codes(papers, a["papers"].astype(np.int32, copy=False)),
                       _Codes(sections, a["sections"].astype(np.int32, copy=False)),
                       Strings(a["texts"], a["text_offsets"].astype(np.int64, copy=False)))
    matrix = BM25Matrix(data.astype(np.float32, copy=False), indices.astype(np.int32, copy=False),
                        indptr.astype(np.int64, copy=False))
    return LexicalIndex(table, matrix, vocabulary)


def load_or_build_lexical(store: Store, generation, builder: LexicalBuilder | None = None) -> LexicalIndex:
    """The BM25 index for what the store holds now: from a valid cache, or built and cached.
    `builder`: chunks already collected (by the ingest that wrote them); only the store's other
    chunks are read back.

    The key follows every write (store id, generation and the last write's stamp), so papers written
    by an ingest that was killed before it finished are indexed too."""
    name = lexical_cache_name(store) if generation else None
    key = name
    folders = lexical_cache_folders(store.settings)
    for folder in folders if name else []:
        index = load_lexical(folder / name, key)
        if index is not None:
            return index
    index = _build_from_store(store, builder)
    if not name or not len(index.chunks):
        return index
    for folder in folders:
        try:
            for old in folder.glob(f"lexical-{store.settings.collection}-*"):
                if not old.name.endswith(".tmp"):  # another process's file being written
                    old.unlink(missing_ok=True)  # earlier generations (and old pickles) are never read again
            save_lexical(index, folder / name, key)
            return index
        except OSError:
            continue  # a read-only store or a full disk: try the next place, else work from memory
    return index


def _build_from_store(store: Store, builder: LexicalBuilder | None) -> LexicalIndex:
    if not builder:  # nothing known yet: stream every chunk in
        builder = LexicalBuilder()
        for chunk in store.iter_chunks():
            builder.add(chunk)
        return builder.build()
    stored = set(store.chunk_ids())
    for chunk in store.chunks_by_id(sorted(cid for cid in stored if cid not in builder.known)):
        builder.add(chunk)
    return builder.build(keep=stored)


ACRONYM = re.compile(r"[A-Z]{4,8}")
_BETWEEN = r"(?:\s+(?:of|for|the|and|on|in|de|du|des|la|le|von|van)){0,2}\s+"


def _spelled_out(acronym: str) -> re.Pattern[str]:
    words = [rf"{letter}[a-z]+(?:-[A-Za-z][a-z]*)*" for letter in acronym]
    return re.compile(r"(?<![\w-])" + _BETWEEN.join(words) + r"(?![\w-])")


def _squashed(term: str) -> str:
    return term.replace("-", "").replace(".", "").replace("+", "")
