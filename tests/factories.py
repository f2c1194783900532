"""What tests share: where the fixtures and the sample digests are, settings and apps for a store,
the CLI run in-process, and one `paper()` factory. Light on purpose: the unit layer imports it, so
the embedding model, Chroma and the App are imported only when an integration test asks for them."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.types import Paper

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DIGESTS = Path(__file__).resolve().parents[2] / "shared" / "digests"
needs_shared = pytest.mark.skipif(not SHARED_DIGESTS.is_dir(), reason="../shared/digests not present in this clone")


def make_settings(store: Path, **overrides):
    return load_settings(env={}, store=store, **overrides)


def make_app(store: Path, embedder, **overrides):
    """An App on `store` sharing the session's loaded model (`embedder`)."""
    from assistant.app import App  # imported when asked: the unit layer never builds an App

    app = App(make_settings(store, **overrides))
    app.__dict__["embedder"] = embedder  # share the loaded model across the session's stores
    return app


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """`digestqa ARGS` in this process: (exit code, stdout, stderr)."""
    from assistant import cli  # imported when asked: the CLI package pulls in every layer

    code = cli.main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


def paper(pid: str = "2601.00001", title: str = "A Paper", abstract: str = "", *, authors=("A. Author",),
          category: str = "cs.LG", **fields) -> Paper:
    """A paper with only what a test names; any other `Paper` field by keyword (tldr=, digests=, …)."""
    return Paper(id=pid, title=title, abstract=abstract, authors=list(authors), category=category, **fields)
