"""The `featurestore` command line (entry point `featurestore.cli:main`), a thin layer over the library:
app.py (the Typer app, options, parsing), commands.py (top-level commands), catalog.py (list, describe,
search, catalog, status), writers.py (`run`, `backfill` and `maintain`, the offline writers), online.py
and athena.py (their subcommands), render.py (what is printed)."""

# Importing the command modules registers their commands on the app.
from featurestore.cli import athena, catalog, commands, online, writers
from featurestore.cli.app import app, main

__all__ = ["app", "athena", "catalog", "commands", "main", "online", "writers"]
