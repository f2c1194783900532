"""CLI commands that answer: ask, chat (and later brief, eval, ui). Registered by cli.py."""
from __future__ import annotations

COMMANDS: dict = {}


def add_commands(sub, common, add_filters) -> None:
    return None
