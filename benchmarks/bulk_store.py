"""Write many new papers into a Store in batches, producing exactly the records Store.write_paper writes.

Why this exists: `Store.write_paper` makes two Chroma upserts per paper, and on this machine's
disk each upsert costs ~33 ms (Chroma syncs its log per call; ~8 ms on tmpfs) whatever its size,
so writing 45,000 extra papers paper by paper would take well over an hour of the benchmark's
time budget. Batching ~100 papers per upsert cuts that to minutes. The records are identical to
the real path's (ids, documents, metadata, embeddings; tests/test_benchmarks_smoke.py checks it),
so the query side of the benchmark reads the same store it would after a real ingest.
It only handles papers new to the store (no stale-chunk deletion, no relisting).
"""
from __future__ import annotations

import numpy as np

from assistant.chunking import chunk_to_node
from assistant.store import Store
from assistant.types import Chunk, Paper


def write_papers(store: Store, batch: list[tuple[Paper, list[Chunk], list[list[float]]]]) -> None:
    """Upsert the chunks of every paper in one call, then every paper record in one call
    (the same crash-safe order as write_paper: chunks first, paper records last)."""
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    ids, embeddings, documents, metadatas = [], [], [], []
    paper_ids, paper_vectors, paper_docs, paper_metas = [], [], [], []
    for paper, chunks, vectors in batch:
        nodes = [chunk_to_node(c, paper) for c in chunks]
        ids += [n.node_id for n in nodes]
        embeddings += vectors
        documents += [n.get_content() for n in nodes]
        metadatas += [node_to_metadata_dict(n, remove_text=True, flat_metadata=False) for n in nodes]
        vector = np.mean(np.asarray(vectors, dtype=np.float32), axis=0) if vectors else np.zeros(384, np.float32)
        norm = float(np.linalg.norm(vector)) or 1.0
        paper_ids.append(paper.id)
        paper_vectors.append((vector / norm).tolist())
        paper_docs.append(paper.to_json())
        paper_metas.append({"content_hash": paper.content_hash(), "category": paper.category,
                            "digests": list(paper.digests) or [""], "dates": list(paper.dates) or [""]})
    if ids:
        store.chunks.upsert(ids=ids, embeddings=embeddings, documents=documents, metadatas=metadatas)
    store.papers_collection.upsert(ids=paper_ids, embeddings=paper_vectors, documents=paper_docs, metadatas=paper_metas)
    store._papers_cache = None
