"""digestqa: ask questions about arXiv daily digests, offline, with checked citations.

The public API, for scripts and notebooks:

    from assistant import App, load_settings
    app = App(load_settings(store="vectorstore"))
    app.ingest([Path("digests/")]); print(app.ask("Which papers use LoRA?").text)

Names are loaded on first use, so importing one submodule never pulls in the rest.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "App": "assistant.app",
    "Settings": "assistant.config",
    "load_settings": "assistant.config",
    "Answer": "assistant.types",
    "Paper": "assistant.types",
    "Source": "assistant.types",
    "IngestReport": "assistant.types",
    "Filters": "assistant.search.retrieval",
    "DigestQAError": "assistant.errors",
    "InputError": "assistant.errors",
    "StoreError": "assistant.errors",
    "StoreMissing": "assistant.errors",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
