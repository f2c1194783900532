"""The `digestqa` command line: one module per command group, registered in commands.py.

Imports: every command, and `--help`, imports all of this package to build the parser, before the
embedding model starts loading (commands.main: it loads in a thread while the App is imported). So
these modules import at their top only what the parser and printing need (config, errors, text,
markup); the App's layers (app, answer, search, ingest, daily, briefing, evaluation, mcp) are
imported inside the command that uses them: none of them delays the model or `--help`, and a
command loads only its own (`digestqa show` never imports the briefing)."""
from assistant.cli.commands import main

__all__ = ["main"]
