"""Token counting with tiktoken, offline.

tiktoken downloads its encoding files on first use. llama-index-core's wheel ships a tiktoken
cache holding cl100k_base and o200k_base, so we point tiktoken at it (unless the user set their
own TIKTOKEN_CACHE_DIR) and never touch the network.
"""
from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

# Located without importing llama-index (a 2-3 s import that answering a question does not need).
BUNDLED_TIKTOKEN_CACHE = (Path(importlib.util.find_spec("llama_index.core").submodule_search_locations[0])
                          / "_static" / "tiktoken_cache")


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base"):
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(BUNDLED_TIKTOKEN_CACHE))
    # tiktoken: ~30 ms to import; only a budget for the LLM counts tokens, an extractive answer never does
    import tiktoken

    return tiktoken.get_encoding(name)


def encoding_for_model(model: str | None):
    """o200k_base for the gpt-4o / o-series family, cl100k_base for everything else.

    For non-OpenAI models this is an estimate; the context budget keeps a margin for that.
    """
    lowered = (model or "").lower()
    newer = any(t in lowered for t in ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4"))
    return get_encoding("o200k_base" if newer else "cl100k_base")


def count_tokens(text: str, model: str | None = None) -> int:
    return len(encoding_for_model(model).encode(text, disallowed_special=()))
