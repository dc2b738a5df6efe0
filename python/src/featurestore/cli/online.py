"""`featurestore online ...`: look up and drop a group's online values."""

from __future__ import annotations

from typing import Annotated

import typer

from featurestore.cli.app import ProjectDir, check_key, online_app, parse_utc, settings_of
from featurestore.cli.render import console, online_description, online_table


@online_app.command("get")
def online_get(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    key: Annotated[list[str], typer.Argument(help="Entity key values, in the order of the group's entity columns.")],
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Judge expiry (TTL) as of this time (ISO format, UTC unless it has an offset) instead of now, "
            "e.g. for past demo data synced with the same `sync --now`.",
        ),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Print one entity's online values (e.g. `featurestore online get user_engagement 42`)."""
    from featurestore.store import FeatureStore

    settings = settings_of(project_dir)
    at = parse_utc(now, "--now") if now is not None else None
    with FeatureStore.from_settings(settings, now=(lambda: at) if at is not None else None) as store:
        spec = store.catalog.get(group)
        check_key(group, spec.entity, key)
        row = dict(zip(spec.entity, key, strict=True))
        result = store.get_online_features([f"{group}:{name}" for name in spec.feature_names], [row])
    console.print(online_table(group, row, spec.feature_names, result.values[0], result.statuses[0]))


@online_app.command("drop")
def online_drop(
    group: Annotated[str, typer.Argument(help="Feature group whose online values to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Delete a group's online table (values and sync marker); the next sync of an online group reloads it."""
    from featurestore.online import open_online_store

    settings = settings_of(project_dir)
    if not yes:
        typer.confirm(f"Delete the online values of '{group}' from {online_description(settings)}?", abort=True)
    store = open_online_store(settings.online)
    try:
        dropped = store.drop(group)
    finally:
        store.close()
    console.print(f"[green]dropped[/green] {group}" if dropped else f"{group} had no online table; nothing to drop")
