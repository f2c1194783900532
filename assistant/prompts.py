"""Prompt templates live as files in prompts/ (edit them without touching code).

Where they are found: `DIGESTQA_PROMPTS_DIR` when set; else `prompts/` beside the package in a
source checkout (an editable install, so edits take effect at once); else the copy that a regular
(wheel) install carries inside the package as `assistant/bundled_prompts/` (see pyproject.toml).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from assistant.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent


def prompts_dir() -> Path:
    override = os.environ.get("DIGESTQA_PROMPTS_DIR")
    if override:
        return Path(override).expanduser()
    source_tree = _PACKAGE.parent / "prompts"
    return source_tree if source_tree.is_dir() else _PACKAGE / "bundled_prompts"


@lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    path = prompts_dir() / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"prompt template {path} cannot be read ({exc.strerror or exc}); "
                          "check DIGESTQA_PROMPTS_DIR or reinstall digestqa") from None


def prompts_hash() -> str | None:
    """One hash of every prompt file: recorded in eval reports so runs can be compared."""
    files = sorted(prompts_dir().glob("*.md"))
    if not files:
        return None
    digest = hashlib.sha1()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
