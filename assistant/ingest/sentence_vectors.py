"""Each embedded passage's sentences as vectors of their own, at no cost in model time.

Why: a set question is about a subject, and a paper is about it when one or two of its sentences say
so, while a passage vector (the mean of ~250 tokens) blurs that sentence with the rest. Measured on
the 588 English topic questions of the labelled sets with all-MiniLM-L6-v2, the share of a topic's
papers among the first |gold| papers by meaning: passage vectors 0.511, the mean of each paper's two
closest sentences 0.538 (Chinese topics 0.695 -> 0.702; multi-paper questions 0.775 -> 0.900).

How ("late chunking", Günther et al. 2024): the model already reads each passage once at ingest; the
token states of that one pass are mean-pooled over each sentence's tokens as well as over the whole
passage. Each sentence's vector is read in its passage's context, and nothing is embedded twice:
embedding every sentence alone measured about the same (0.528) for as much model time again as the
passages themselves, which the ingest budget has no room for.

Stored beside the passage's own vector (the chunk's `sentence_vectors` metadata, and the vector
cache), as int8 (a unit vector's values times 127: each within cosine 0.998 of its float32 self) in base64:
~0.5 KB a sentence. A passage stored before this, or embedded by the torch fallback, has none; the
set judge then reads its passage vector in their place.
"""
from __future__ import annotations

import base64
import binascii

import numpy as np

from assistant.text import split_sentences

SCALE = 127.0
MAX_SENTENCES = 48  # a passage fits the model's 256-token window: a few dozen sentences at most
MIN_SENTENCE_CHARS = 13  # shorter pieces ("(ii)", "Code: URL.") say nothing of the subject
PASSAGE_START = "\n\n"  # embed_text's header ("title: …") ends here: its tokens belong to no sentence


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the passage's sentences in an embedded text ("title: T\\n\\npassage", see
    chunking.embed_text): the title header is left out, as are pieces too short to say anything."""
    start = text.find(PASSAGE_START)
    position = start + len(PASSAGE_START) if start >= 0 else 0
    spans: list[tuple[int, int]] = []
    for sentence in split_sentences(text[position:]):
        found = text.find(sentence, position)
        if found < 0:  # split_sentences joins whitespace: a passage with odd spacing is left whole
            continue
        position = found + len(sentence)
        if len(sentence) >= MIN_SENTENCE_CHARS:
            spans.append((found, position))
        if len(spans) >= MAX_SENTENCES:
            break
    return spans


def pool_spans(states: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> np.ndarray:
    """Unit vectors, one per span that has tokens: the mean of the token states (`states`: tokens x
    dims, as the model returned them for this text, padding cut off) whose characters (`offsets`,
    the tokenizer's) lie inside the span. Special tokens have empty offsets and join none."""
    if not spans or not len(states):
        return np.zeros((0, states.shape[-1] if states.ndim == 2 else 0), np.float32)
    starts = np.fromiter((o[0] for o in offsets), dtype=np.int64, count=len(offsets))[:len(states)]
    ends = np.fromiter((o[1] for o in offsets), dtype=np.int64, count=len(offsets))[:len(states)]
    real = ends > starts
    out = []
    for a, b in spans:
        inside = real & (starts >= a) & (ends <= b)
        if inside.any():
            vector = states[inside].mean(axis=0)
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                out.append(vector / norm)
    return np.asarray(out, np.float32).reshape(len(out), states.shape[-1])


def encode(vectors: np.ndarray) -> str:
    """Unit vectors (sentences x dims) as text for a metadata field: int8 in base64."""
    quantized = np.clip(np.rint(np.asarray(vectors, np.float32) * SCALE), -127, 127).astype(np.int8)
    return base64.b64encode(quantized.tobytes()).decode("ascii")


def decode(text: object, dims: int) -> np.ndarray | None:
    """The vectors `encode` wrote (unit length again), or None for anything else: a field is data
    from a store file, never trusted to be well-formed."""
    if not isinstance(text, str) or not text or dims <= 0:
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if not raw or len(raw) % dims or len(raw) // dims > MAX_SENTENCES:
        return None
    vectors = np.frombuffer(raw, dtype=np.int8).astype(np.float32).reshape(-1, dims)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.all(norms > 0):
        return None
    return vectors / norms
