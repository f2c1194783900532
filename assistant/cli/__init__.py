"""The `digestqa` command line: one module per command group, registered in commands.py."""
from assistant.cli.commands import main

__all__ = ["main"]
