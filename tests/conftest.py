"""Fixtures for every layer, kept light: tests/unit runs without importing the embedding model,
Chroma or the App (tests/integration/conftest.py has the fixtures that load them)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.factories import FIXTURES

_INTEGRATION = Path(__file__).parent / "integration"


@pytest.fixture
def copy_fixture(tmp_path):
    def _copy(name: str, new_name: str | None = None) -> Path:
        target = tmp_path / "digests" / (new_name or name)
        target.parent.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / name, target)
        return target

    return _copy


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    """No DIGESTQA_* variable of the developer's leaks in; a private user cache."""
    for key in list(os.environ):
        if key.startswith("DIGESTQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DIGESTQA_CACHE_DIR", str(tmp_path / "user-cache"))


# Two layers by folder: tests/unit is pure logic (no model, no Chroma, no subprocess: `pytest tests/unit`,
# seconds); tests/integration is the rest. Integration tests are also marked slow, so
# `pytest -m "not slow"` still selects the unit layer.
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _INTEGRATION in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
