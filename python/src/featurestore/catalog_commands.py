"""The catalog and freshness commands of the `featurestore` CLI: list, describe, search, catalog, status
(registered on the app by cli.py). The logic lives in catalog.py, feature_stats.py and freshness.py."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from featurestore.catalog import CatalogEntry, build_entries, search
from featurestore.errors import FeatureStoreError
from featurestore.freshness import GroupStatus, Level, collect_statuses, dbt_successes, format_duration, overall
from featurestore.manifest import FeatureGroupCatalog, load_manifest
from featurestore.online_store import ItemCount, utc_now
from featurestore.settings import Settings
from featurestore.value_codec import naive_utc

# Catalog and status tables are wide; written to a log or a pipe (cron, Airflow, `make demo`), they get 160
# columns instead of rich's 80 unless COLUMNS says otherwise; a terminal folds them to its width.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)

ProjectDir = Annotated[
    Path | None,
    typer.Option("--project-dir", help="The dbt project (where dbt_project.yml is).", show_default=False),
]
Now = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Judge freshness at this time (ISO format, UTC unless it has an offset) instead of the current "
        "time; for demos and tests on past data.",
    ),
]
LEVEL_STYLE = {Level.OK: "[green]ok[/green]", Level.WARN: "[yellow]warn[/yellow]", Level.ERROR: "[red]error[/red]"}


def _now(text: str | None) -> dt.datetime:
    if text is None:
        return utc_now()
    try:
        return naive_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or time like 2026-10-14T20:00", param_hint="--now"
        ) from None


def _entries(
    project_dir: Path | None,
    now: dt.datetime,
    *,
    with_stats: bool,
    online: bool,
    names: list[str] | None = None,
    exact_counts: bool = False,
) -> list[CatalogEntry]:
    """Catalog entries with their status at `now` (offline facts; online facts if `online`)."""
    from featurestore.feature_stats import query_runner
    from featurestore.online_store import open_online_store

    settings = Settings.from_env(project_dir)
    manifest = load_manifest(settings.manifest_path)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    groups = [catalog.get(name) for name in names] if names else list(catalog)
    store = open_online_store(settings.online) if online and any(group.online for group in groups) else None
    try:
        statuses = collect_statuses(
            groups,
            query_runner(settings),
            store,
            now,
            with_stats=with_stats,
            exact_counts=exact_counts,
            successes=dbt_successes(settings.project_dir / "target" / "run_results.json"),
        )
    finally:
        if store is not None:
            store.close()
    return build_entries(groups, manifest, statuses)


def _lag(status: GroupStatus | None) -> str:
    if status is None:
        return "?"
    if not status.facts.built:
        return "not built"
    return format_duration(status.lag) if status.lag is not None else "no rows"


def list_groups(
    project_dir: ProjectDir = None,
    now: Now = None,
    freshness: Annotated[bool, typer.Option(help="Read each group's freshness from the offline store.")] = True,
) -> None:
    """List the feature groups (from target/manifest.json) with owner, tags, online, TTL and freshness."""
    at = _now(now)
    if freshness:
        entries = _entries(project_dir, at, with_stats=False, online=False)
    else:
        settings = Settings.from_env(project_dir)
        entries = build_entries(
            FeatureGroupCatalog.from_manifest_path(settings.manifest_path), load_manifest(settings.manifest_path)
        )
    table = Table(
        title=f"{len(entries)} feature group(s)" + (f", freshness as of {at:%Y-%m-%d %H:%M} UTC" if freshness else "")
    )
    # On a narrow terminal, fold long names onto more lines rather than cut them off.
    for column in ("group", "entity", "event time", "online", "ttl", "features", "owner", "tags", "lag", "used by"):
        table.add_column(column, justify="right" if column in ("features", "used by") else "left", overflow="fold")
    for entry in entries:
        group = entry.group
        table.add_row(
            group.name,
            ", ".join(group.entity),
            group.event_time,
            "yes" if group.online else "no",
            group.ttl_text,
            str(len(group.features)),
            group.owner,
            ", ".join(group.tags),
            (f"{_lag(entry.status)} {LEVEL_STYLE[entry.status.level]}" if entry.status else "-"),
            str(len(entry.usages)),
        )
    console.print(table)
    console.print("details: `featurestore describe GROUP`; find a feature: `featurestore search TEXT`")


def describe(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    project_dir: ProjectDir = None,
    now: Now = None,
) -> None:
    """Everything about one feature group: contract, freshness, statistics per feature, who uses it."""
    from featurestore.catalog_site import format_value, freshness_lines

    entry = _entries(project_dir, _now(now), with_stats=True, online=True, names=[group])[0]
    spec = entry.group
    console.print(f"[bold]{spec.name}[/bold]: {spec.description}")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("entity", ", ".join(spec.entity))
    facts.add_row("event time", spec.event_time)
    facts.add_row("owner", spec.owner)
    facts.add_row("tags", ", ".join(spec.tags) or "none")
    facts.add_row("online", "yes" if spec.online else "no")
    facts.add_row("ttl", spec.ttl_text)
    facts.add_row("table", spec.relation_name)
    facts.add_row("views", ", ".join(entry.views))
    for index, line in enumerate(freshness_lines(entry)):
        facts.add_row("freshness" if index == 0 else "", line)
    console.print(facts)
    status = entry.status
    stats_from = status.facts.stats_from if status else None
    table = Table(
        title="features"
        + (f" (statistics over rows after {stats_from:%Y-%m-%d %H:%M}, the last day of rows)" if stats_from else "")
    )
    for column in ("feature", "type", "description", "rows", "null", "min", "max", "mean"):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("rows", "null", "min", "max", "mean") else "left"
        )
    for feature in spec.features:
        stats = entry.stats(feature.name)
        table.add_row(
            feature.name,
            feature.data_type,
            feature.description,
            format_value(stats.rows) if stats else "-",
            f"{stats.null_share:.1%}" if stats and stats.null_share is not None else "-",
            format_value(stats.minimum) if stats else "-",
            format_value(stats.maximum) if stats else "-",
            format_value(stats.mean) if stats else "-",
        )
    console.print(table)
    if entry.usages:
        console.print("[bold]used by[/bold]")
        for usage in entry.usages:
            console.print(f"  {usage.name} ({usage.role}{', owner ' + usage.owner if usage.owner else ''})")
    else:
        console.print("[dim]used by no model or exposure of the dbt project[/dim]")


def search_command(
    text: Annotated[str, typer.Argument(help="Words to find (all of them) in groups and features.")],
    project_dir: ProjectDir = None,
) -> None:
    """Find feature groups and features by name, description, owner, tag or entity."""
    settings = Settings.from_env(project_dir)
    entries = build_entries(
        FeatureGroupCatalog.from_manifest_path(settings.manifest_path), load_manifest(settings.manifest_path)
    )
    hits = search(entries, text)
    if not hits:
        console.print(f"no feature group or feature matches {text!r}")
        raise typer.Exit(1)
    table = Table(title=f"{len(hits)} feature group(s) match {text!r}")
    for column in ("group", "matched in", "features"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(hit.entry.group.name, ", ".join(hit.matched) or "features", ", ".join(hit.features) or "-")
    console.print(table)


def catalog_command(
    out: Annotated[Path, typer.Option(help="Folder to write the site into.")] = Path("target/catalog"),
    dbt_docs: Annotated[
        Path | None,
        typer.Option(
            help="dbt's single-page docs to copy and link to (default: target/static_index.html if it exists, "
            "written by `dbt docs generate --static`)."
        ),
    ] = None,
    project_dir: ProjectDir = None,
    now: Now = None,
) -> None:
    """Write the feature catalog as a static site (index with search, one page per group): open
    OUT/index.html from disk, or copy OUT to an S3 bucket; no server needed."""
    from featurestore.catalog_site import write_site

    at = _now(now)
    settings = Settings.from_env(project_dir)
    docs = dbt_docs or settings.project_dir / "target" / "static_index.html"
    if dbt_docs is not None and not dbt_docs.is_file():
        raise typer.BadParameter(
            f"{dbt_docs} does not exist; run `dbt docs generate --static`", param_hint="--dbt-docs"
        )
    with console.status("reading feature statistics"):
        entries = _entries(project_dir, at, with_stats=True, online=True)
    pages = write_site(entries, out, now=at, dbt_docs=docs if docs.is_file() else None)
    console.print(f"wrote {len(pages)} pages to {out}/ (open {out / 'index.html'})")
    if not docs.is_file():
        console.print("[dim]no dbt docs linked: run `dbt docs generate --static` first to link lineage[/dim]")


def status_command(
    select: Annotated[str | None, typer.Option("--select", "-s", help="Comma-separated groups (default: all).")] = None,
    exact_counts: Annotated[
        bool,
        typer.Option(
            help="Count DynamoDB items with a Scan (reads every item) instead of DescribeTable's ItemCount, "
            "which DynamoDB refreshes about every six hours (shown with ~)."
        ),
    ] = False,
    project_dir: ProjectDir = None,
    now: Now = None,
) -> None:
    """Freshness of every group: newest event time and lag, last run, online sync and items. Exits 0 when all
    are fresh, 1 when one is late (warn), 2 when one is stale, never built or never synced (error)."""
    names = [name.strip() for name in select.split(",") if name.strip()] if select else None
    at = _now(now)
    try:
        entries = _entries(project_dir, at, with_stats=False, online=True, names=names, exact_counts=exact_counts)
    except FeatureStoreError as error:
        # No manifest, a bad contract, an unreachable store: an alert must fire (2), not read as a warning (1).
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(int(Level.ERROR)) from None
    table = Table(title=f"feature group status as of {at:%Y-%m-%d %H:%M:%S} UTC")
    columns = (
        "group",
        "status",
        "newest event",
        "lag",
        "warn/error",
        "last run",
        "last change",
        "online",
        "synced as of",
        "sync lag",
        "items",
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    statuses = []
    for entry in entries:
        status = entry.status
        assert status is not None
        statuses.append(status)
        facts = status.facts
        online = status.online
        table.add_row(
            entry.group.name,
            LEVEL_STYLE[status.level],
            _time(facts.newest_event_at),
            _lag(status),
            f"{format_duration(status.thresholds.warn_after)}/{format_duration(status.thresholds.error_after)}",
            _time(status.last_success_at),
            _time(facts.last_run_at),
            "yes" if entry.group.online else "no",
            _time(status.last_sync_at) if online else "-",
            format_duration(status.sync_lag) if status.sync_lag is not None else "-",
            _items(online.items) if online else "-",
        )
    console.print(table)
    for status in statuses:
        for problem in status.problems:
            console.print(f"{LEVEL_STYLE[status.level]} {status.group.name}: {problem}")
    level = overall(statuses)
    console.print(f"overall: {LEVEL_STYLE[level]} (exit {int(level)})")
    raise typer.Exit(int(level))


def _items(count: ItemCount | None) -> str:
    if count is None:
        return "none"
    return f"{count.items:,}" if count.exact else f"~{count.items:,}"


def _time(value: dt.datetime | None) -> str:
    # Minutes: the table has many columns for a terminal; lags are shown to the second.
    return value.isoformat(sep=" ", timespec="minutes") if value is not None else "-"


def register(app: typer.Typer) -> None:
    app.command("list")(list_groups)
    app.command("describe")(describe)
    app.command("search")(search_command)
    app.command("catalog")(catalog_command)
    app.command("status")(status_command)
