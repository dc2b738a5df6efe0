"""The Typer application, its options and argument parsing, shared by the command modules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.markup import escape

from featurestore.cli.render import console, error_console
from featurestore.core.errors import FeatureStoreError
from featurestore.core.settings import Settings
from featurestore.core.timestamps import naive_utc

app = typer.Typer(
    help="A dbt-native feature store: feature groups are dbt models; this CLI reads their contracts.",
    no_args_is_help=True,
    add_completion=False,
)
online_app = typer.Typer(help="Inspect and manage the online store.", no_args_is_help=True)
app.add_typer(online_app, name="online")
athena_app = typer.Typer(help="Set-up and reports for a real AWS account (never run by the tests against AWS).")
app.add_typer(athena_app, name="athena")

ProjectDir = Annotated[
    Path | None,
    typer.Option("--project-dir", help="The dbt project (where dbt_project.yml is).", show_default=False),
]

__all__ = ["ProjectDir", "app", "athena_app", "console", "main", "online_app", "parse_time", "parse_utc", "settings_of"]


def settings_of(project_dir: Path | None) -> Settings:
    return Settings.from_env(project_dir)


def parse_time(text: str, option: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or time like 2026-10-01 (years 1 to 9999)", param_hint=option
        ) from None


def parse_utc(text: str, option: str) -> dt.datetime:
    """A time option as naive UTC, the form of every time the store keeps (an offset is converted)."""
    try:
        return naive_utc(parse_time(text, option))
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise typer.BadParameter(f"{text!r} is out of range (years 1 to 9999, UTC)", param_hint=option) from None


def check_key(group: str, entity: tuple[str, ...], key: list[str]) -> None:
    """An entity key given on the command line has one value per entity column."""
    if len(key) != len(entity):
        raise typer.BadParameter(
            f"'{group}' is keyed by {', '.join(entity)}: {len(entity)} value(s), got {len(key)}", param_hint="KEY"
        )


def main() -> None:
    try:
        # Without standalone mode, click returns the code of a typer.Exit (`status` exits 1 or 2) instead of
        # exiting.
        code = app(standalone_mode=False)
    except FeatureStoreError as error:
        error_console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except typer.Exit as exit_:
        raise SystemExit(exit_.exit_code) from None
    except typer.Abort:
        error_console.print("aborted")
        raise SystemExit(130) from None
    except (click.ClickException, typer.TyperException) as error:
        # A usage error (typer ships its own click: its errors are TyperExceptions), in one line.
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        error_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        raise SystemExit(getattr(error, "exit_code", 2)) from None
    if isinstance(code, int) and code:
        raise SystemExit(code)
