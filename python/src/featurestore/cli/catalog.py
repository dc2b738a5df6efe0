"""`featurestore list`, `describe`, `search`, `catalog` and `status`: the feature catalog and freshness.
The logic lives in the catalog package (entries, statistics, freshness, the static site); the tables they
print in render.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from featurestore.cli.app import ProjectDir, app, parse_utc, settings_of
from featurestore.cli.render import (
    LEVEL_STYLE,
    features_table,
    group_facts_table,
    groups_table,
    search_table,
    status_table,
    wide_console,
)
from featurestore.core.errors import FeatureStoreError
from featurestore.core.manifest import FeatureGroupCatalog, load_manifest
from featurestore.core.timestamps import utc_now

if TYPE_CHECKING:  # the catalog package reads pyarrow; imported when a command runs
    from featurestore.catalog import CatalogEntry

console = wide_console

Now = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Judge freshness at this time (ISO format, UTC unless it has an offset) instead of the current "
        "time; for demos and tests on past data.",
    ),
]


def _now(text: str | None) -> dt.datetime:
    return utc_now() if text is None else parse_utc(text, "--now")


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
    from featurestore.catalog import build_entries, collect_statuses
    from featurestore.catalog.freshness import dbt_successes
    from featurestore.offline import open_offline_store
    from featurestore.online import open_online_store

    settings = settings_of(project_dir)
    manifest = load_manifest(settings.manifest_path)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    groups = [catalog.get(name) for name in names] if names else list(catalog)
    store = open_online_store(settings.online) if online and any(group.online for group in groups) else None
    try:
        statuses = collect_statuses(
            groups,
            open_offline_store(settings, catalog).store.query,
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


def _plain_entries(project_dir: Path | None) -> list[CatalogEntry]:
    """Catalog entries without reading any store: contracts and usages only."""
    from featurestore.catalog import build_entries

    settings = settings_of(project_dir)
    return build_entries(
        FeatureGroupCatalog.from_manifest_path(settings.manifest_path), load_manifest(settings.manifest_path)
    )


@app.command("list")
def list_groups(
    project_dir: ProjectDir = None,
    now: Now = None,
    freshness: Annotated[bool, typer.Option(help="Read each group's freshness from the offline store.")] = True,
) -> None:
    """List the feature groups (from target/manifest.json) with owner, tags, online, TTL and freshness."""
    at = _now(now)
    entries = _entries(project_dir, at, with_stats=False, online=False) if freshness else _plain_entries(project_dir)
    console.print(groups_table(entries, at if freshness else None))
    console.print("details: `featurestore describe GROUP`; find a feature: `featurestore search TEXT`")


@app.command("describe")
def describe(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    project_dir: ProjectDir = None,
    now: Now = None,
) -> None:
    """Everything about one feature group: contract, freshness, statistics per feature, who uses it."""
    entry = _entries(project_dir, _now(now), with_stats=True, online=True, names=[group])[0]
    console.print(f"[bold]{entry.group.name}[/bold]: {entry.group.description}")
    console.print(group_facts_table(entry))
    console.print(features_table(entry))
    if entry.usages:
        console.print("[bold]used by[/bold]")
        for usage in entry.usages:
            console.print(f"  {usage.name} ({usage.role}{', owner ' + usage.owner if usage.owner else ''})")
    else:
        console.print("[dim]used by no model or exposure of the dbt project[/dim]")


@app.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="Words to find (all of them) in groups and features.")],
    project_dir: ProjectDir = None,
) -> None:
    """Find feature groups and features by name, description, owner, tag or entity."""
    from featurestore.catalog import search

    hits = search(_plain_entries(project_dir), text)
    if not hits:
        console.print(f"no feature group or feature matches {text!r}")
        raise typer.Exit(1)
    console.print(search_table(hits, text))


@app.command("catalog")
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
    from featurestore.catalog.site import write_site

    at = _now(now)
    settings = settings_of(project_dir)
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


@app.command("status")
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
    from featurestore.catalog import Level, overall

    names = [name.strip() for name in select.split(",") if name.strip()] if select else None
    at = _now(now)
    try:
        entries = _entries(project_dir, at, with_stats=False, online=True, names=names, exact_counts=exact_counts)
    except FeatureStoreError as error:
        # No manifest, a bad contract, an unreachable store: an alert must fire (2), not read as a warning (1).
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(int(Level.ERROR)) from None
    console.print(status_table(entries, at))
    statuses = [entry.status for entry in entries if entry.status is not None]
    for status in statuses:
        for problem in status.problems:
            console.print(f"{LEVEL_STYLE[status.level]} {status.group.name}: {problem}")
    level = max(overall(statuses), _definition_report(project_dir, [entry.group.name for entry in entries]))
    console.print(f"overall: {LEVEL_STYLE[level]} (exit {int(level)})")
    raise typer.Exit(int(level))


def _definition_report(project_dir: Path | None, names: list[str]) -> int:
    """Prints the groups whose stored history is not their current definition (definition fingerprints,
    docs/feature_groups.md#changing-a-feature) with the fix; returns the level: error for a stale group
    (its values are the old definition's), ok for mixed history (accepted and recorded, shown)."""
    from featurestore.catalog import Level
    from featurestore.core.definitions import DefinitionState
    from featurestore.offline import open_offline_store
    from featurestore.offline.definitions import DefinitionChecker

    settings = settings_of(project_dir)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    engine = open_offline_store(settings, catalog)
    if engine.compiler is None or not names:
        return int(Level.OK)
    try:
        statuses = DefinitionChecker(engine.store, engine.compiler).statuses([catalog.get(name) for name in names])
    except FeatureStoreError as error:
        console.print(f"{LEVEL_STYLE[Level.ERROR]} definitions: cannot compare with the current definitions: {error}")
        return int(Level.ERROR)
    shown = {DefinitionState.STALE: Level.ERROR, DefinitionState.MIXED: Level.OK, DefinitionState.UNRECORDED: Level.OK}
    level = Level.OK
    for status in statuses:
        if status.state in shown:
            console.print(f"{LEVEL_STYLE[shown[status.state]]} {status.group}: definition {status.describe()}")
            level = max(level, shown[status.state])
    if level is Level.OK and not any(status.state in shown for status in statuses):
        console.print("definitions: every built group's history is its current definition")
    return int(level)
