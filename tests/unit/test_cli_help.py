"""Every command's --help says what it does and shows an example (no store, no model)."""
import argparse

from assistant.cli.commands import build_parser


def commands(parser: argparse.ArgumentParser, path: str = "digestqa"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{path} {name}", sub
                yield from commands(sub, f"{path} {name}")


def test_every_help_has_a_description_and_an_example():
    found = dict(commands(build_parser()))
    assert {"digestqa papers", "digestqa stats", "digestqa watch run", "digestqa show"} <= set(found)
    missing = [name for name, sub in found.items()
               if not sub.description or "examples:" not in (sub.epilog or "") or "digestqa" not in sub.epilog]
    assert missing == []


def test_ui_help_lists_every_page():
    ui = dict(commands(build_parser()))["digestqa ui"]
    for page in ("Chat", "Briefing", "Library", "What's new", "Evals"):
        assert page in ui.epilog
