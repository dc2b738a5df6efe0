"""The `featurestore` command line (entry point `featurestore.cli:main`), a thin layer over the library:
app.py (the Typer app, options, parsing), commands.py (top-level commands), online.py and athena.py (their
subcommands), render.py (what is printed)."""

# Importing the command modules registers their commands on the app.
from featurestore.cli import athena, commands, online
from featurestore.cli.app import app, main

__all__ = ["app", "athena", "commands", "main", "online"]
