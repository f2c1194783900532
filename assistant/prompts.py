"""Prompt templates live as files in prompts/ (edit them without touching code)."""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(os.environ.get("DIGESTQA_PROMPTS_DIR", Path(__file__).resolve().parent.parent / "prompts"))


@lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.md"
    return path.read_text(encoding="utf-8").strip()


def prompts_hash() -> str | None:
    """One hash of every prompt file: recorded in eval reports so runs can be compared."""
    files = sorted(PROMPTS_DIR.glob("*.md"))
    if not files:
        return None
    digest = hashlib.sha1()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
