"""The `featurestore` command line (entry point `featurestore.cli:main`)."""

from featurestore.cli.commands import app, main

__all__ = ["app", "main"]
