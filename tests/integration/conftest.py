"""Fixtures that load the real embedding model and real on-disk Chroma stores; heavy objects are
session-scoped so the suite loads the model once."""
from __future__ import annotations

import pytest

from assistant.app import App
from tests.factories import FIXTURES, SHARED_DIGESTS, make_app, make_settings


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    app = App(make_settings(tmp_path_factory.mktemp("unused")))
    return app.embedder


@pytest.fixture(scope="session")
def fixture_app(tmp_path_factory, embedder) -> App:
    """A store holding the two well-formed fixture digests (read-only for tests)."""
    app = make_app(tmp_path_factory.mktemp("fixture-store"), embedder)
    app.ingest([FIXTURES / "2026-01-20.md", FIXTURES / "2026-01-21.md", FIXTURES / "latex_unicode.md",
                FIXTURES / "injection.md"])
    return app


@pytest.fixture(scope="session")
def sample_app(tmp_path_factory, embedder) -> App:
    """A store holding the 350 real papers of ../shared/digests (ingested once per session)."""
    if not SHARED_DIGESTS.is_dir():
        pytest.skip("../shared/digests not present in this clone")
    app = make_app(tmp_path_factory.mktemp("sample-store"), embedder)
    app.ingest([SHARED_DIGESTS])
    return app


@pytest.fixture
def fresh_app(tmp_path, embedder) -> App:
    return make_app(tmp_path / "store", embedder)
