"""Shared fixtures. The real embedding model and real on-disk Chroma are used throughout;
heavy objects are session-scoped so the suite loads the model once."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant.app import App
from assistant.config import load_settings

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DIGESTS = Path(__file__).resolve().parents[2] / "shared" / "digests"
needs_shared = pytest.mark.skipif(not SHARED_DIGESTS.is_dir(), reason="../shared/digests not present in this clone")


def make_settings(store: Path, **overrides):
    return load_settings(env={}, store=store, **overrides)


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    app = App(make_settings(tmp_path_factory.mktemp("unused")))
    return app.embedder


def make_app(store: Path, embedder, **overrides) -> App:
    app = App(make_settings(store, **overrides))
    app.__dict__["embedder"] = embedder  # share the loaded model across the session's stores
    return app


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


@pytest.fixture
def copy_fixture(tmp_path):
    def _copy(name: str, new_name: str | None = None) -> Path:
        target = tmp_path / "digests" / (new_name or name)
        target.parent.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / name, target)
        return target

    return _copy


# The fast unit layer (`pytest -m "not slow"`, well under 30 s) is every test that needs neither the
# embedding model nor a Chroma store nor a subprocess install: question routing, membership,
# citation checks, fusion, number handling, parsing, configuration. Everything else is marked slow
# here, by what it uses, so a new test lands in the right layer without remembering to mark it.
_SLOW_FIXTURES = {"embedder", "fixture_app", "sample_app", "fresh_app"}
_SLOW_MODULES = {"test_packaging", "test_ui_browser", "test_chroma_server", "test_benchmarks_smoke", "test_eval_e2e",
                 "test_offline", "test_ui_apptest", "test_trust", "test_digests", "test_daily", "test_mcp", "test_cli"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.module.__name__ in _SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """`digestqa ARGS` in this process: (exit code, stdout, stderr)."""
    from assistant import cli

    code = cli.main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    """No DIGESTQA_* variable of the developer's leaks in; a private user cache."""
    for key in list(os.environ):
        if key.startswith("DIGESTQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DIGESTQA_CACHE_DIR", str(tmp_path / "user-cache"))
