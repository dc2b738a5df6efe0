"""The `featurestore` command line: a thin layer over the library API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from featurestore.backfill import Chunk
from featurestore.errors import FeatureStoreError
from featurestore.manifest import FeatureGroupCatalog
from featurestore.offline_store import DuckDBOfflineStore
from featurestore.settings import Settings
from featurestore.value_codec import naive_utc

app = typer.Typer(
    help="A dbt-native feature store: feature groups are dbt models; this CLI reads their contracts.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
error_console = Console(stderr=True)

ProjectDir = Annotated[
    Path | None,
    typer.Option("--project-dir", help="The dbt project (where dbt_project.yml is).", show_default=False),
]


def _settings(project_dir: Path | None) -> Settings:
    return Settings.from_env(project_dir)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(help="Folder to write the raw Parquet tables into.")] = Path("data/raw"),
    users: Annotated[int, typer.Option(help="Number of users.")] = 2000,
    days: Annotated[int, typer.Option(help="Days of events.")] = 14,
    start: Annotated[str, typer.Option(help="First day of events (UTC), YYYY-MM-DD.")] = "2026-10-01",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
) -> None:
    """Generate a news service's raw data (articles, users, impressions, reactions) as Parquet."""
    from featurestore.demo_data import DemoDataConfig, generate_demo_data

    try:
        first_day = dt.date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not a date like 2026-10-01", param_hint="--start") from None
    try:
        config = DemoDataConfig(users=users, days=days, start=first_day, seed=seed)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    with Progress(
        TextColumn("generating demo data"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("days", total=days)
        summary = generate_demo_data(
            config, out, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    rows = ", ".join(f"{count:,} {table}" for table, count in summary.rows.items())
    console.print(f"wrote {rows} to {summary.out_dir} in {summary.seconds:.1f}s")


@app.command("list")
def list_groups(project_dir: ProjectDir = None) -> None:
    """List the feature groups declared in the dbt project (reads target/manifest.json)."""
    catalog = FeatureGroupCatalog.from_manifest_path(_settings(project_dir).manifest_path)
    table = Table(title=f"{len(catalog)} feature group(s)")
    # On a narrow terminal, fold long names onto more lines rather than cut them off.
    for column in ("group", "entity", "event time", "online", "ttl", "features", "owner"):
        table.add_column(column, justify="right" if column == "features" else "left", overflow="fold")
    for group in catalog:
        table.add_row(
            group.name,
            ", ".join(group.entity),
            group.event_time,
            "yes" if group.online else "no",
            group.ttl_text,
            str(len(group.features)),
            group.owner,
        )
    console.print(table)


@app.command()
def validate(project_dir: ProjectDir = None) -> None:
    """Check every feature-group contract; exits 1 naming each model and field that is wrong."""
    catalog = FeatureGroupCatalog.from_manifest_path(_settings(project_dir).manifest_path)
    console.print(f"[green]ok[/green]: {len(catalog)} feature-group contract(s) valid")


@app.command()
def show(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    key: Annotated[
        list[str] | None,
        typer.Argument(help="Only this entity: its key values, in the order of the group's entity columns."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 5,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Show each entity's values valid at this time (ISO format, UTC unless it has an offset): "
            "what `featurestore sync --now` of the same time puts online.",
        ),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Print rows of a feature group from the local offline store (`show user_engagement 7 --as-of T`)."""
    settings = _settings(project_dir)
    spec = FeatureGroupCatalog.from_manifest_path(settings.manifest_path).get(group)
    at = _parse_utc(as_of, "--as-of") if as_of is not None else None
    if key and len(key) != len(spec.entity):
        raise typer.BadParameter(
            f"'{group}' is keyed by {', '.join(spec.entity)}: {len(spec.entity)} value(s), got {len(key)}",
            param_hint="KEY",
        )
    rows = DuckDBOfflineStore(settings.duckdb_path).preview(spec, limit=limit, as_of=at, key=key or None)
    title = f"{spec.name}" + (f" as of {at.isoformat(sep=' ')} UTC" if at else " (newest rows)")
    # Feature groups are wide: one line per column, one column per entity row, fits a terminal.
    records = rows.to_pylist()
    table = Table(title=title)
    table.add_column("column", style="bold", no_wrap=True)
    for record in records:
        label = "/".join(_format_cell(record[key]) for key in spec.entity)
        table.add_column(label, justify="right")
    for name in rows.column_names:
        if name in spec.entity:
            continue
        table.add_row(name, *(_format_cell(record[name]) for record in records))
    console.print(table)
    if not records:
        console.print("[yellow]no rows[/yellow]" + (" at or before that time" if at else ""))


@app.command()
def backfill(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    start: Annotated[str, typer.Option(help="First day (or time) to recompute, UTC, ISO format.")],
    end: Annotated[str, typer.Option(help="End of the range (exclusive), UTC, ISO format.")],
    chunk_days: Annotated[int, typer.Option(help="Days per dbt run (Athena: at most 100 partitions each).")] = 30,
    target: Annotated[str | None, typer.Option(help="dbt target (default: the profile's).")] = None,
    restart: Annotated[bool, typer.Option(help="Ignore the progress of an earlier, interrupted run.")] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Recompute [start, end) of a feature group in chunks; rerun the same command to resume after a failure."""
    from featurestore.backfill import BackfillState, dbt_chunk_runner, plan_backfill, run_backfill

    settings = _settings(project_dir)
    FeatureGroupCatalog.from_manifest_path(settings.manifest_path).get(group)
    plan = plan_backfill(group, _parse_time(start, "--start"), _parse_time(end, "--end"), chunk_days)
    state_path = settings.project_dir / "target" / "backfills" / f"{group}.json"
    state = BackfillState.load(state_path, plan, restart=restart)
    chunks = plan.chunks()
    with Progress(
        TextColumn(f"backfilling {group}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks {task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("", total=len(chunks))

        def report(chunk: Chunk, status: str) -> None:
            if status == "running":
                progress.update(task, description=chunk.label())
            else:
                progress.advance(task)
                if status == "skipped":
                    progress.console.print(f"skipped {chunk.label()} (done in an earlier run)")

        ran = run_backfill(plan, state, dbt_chunk_runner(settings.project_dir, target=target), on_chunk=report)
    console.print(f"[green]done[/green]: {group} recomputed {len(ran)} chunk(s) of {len(chunks)}")


class _RichSyncProgress:
    """The sync's progress bar: one task per group."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, group: str, total: int) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(group, total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


@app.command("sync")
def sync_command(
    select: Annotated[
        str | None, typer.Option("--select", "-s", help="Comma-separated groups (default: every online group).")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Sync the values valid at this time (ISO format, UTC unless it has an offset) instead of the "
            "current time; for demos and tests on past data.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every entity's values (not only the changed ones), compare them with every stored item, "
            "and repair values whose offline row a backfill removed (replaced by the row valid now, or deleted). "
            "Run it after such a backfill, against the live offline store.",
        ),
    ] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Write each online group's changed values, as valid now, from the offline store to the online store."""
    from featurestore.store import FeatureStore

    settings = _settings(project_dir)
    names = [name.strip() for name in select.split(",") if name.strip()] if select else None
    at = _parse_utc(now, "--now") if now is not None else None
    with (
        FeatureStore.from_settings(settings, now=(lambda: at) if at is not None else None) as store,
        Progress(
            TextColumn("syncing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("items"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        summaries = []
        for summary in store.sync(names, progress=_RichSyncProgress(progress), full=full):
            summaries.append(summary)
            # One line per group, printed as it finishes (a table would be cut on a narrow terminal).
            progress.console.print(
                f"[bold]{summary.group}[/bold]: {'full load' if summary.full_load else 'changes'} as of "
                f"{summary.now.isoformat(sep=' ', timespec='seconds')} UTC, "
                f"{summary.rows_read:,} rows read, {summary.items_written:,} items written, "
                f"{summary.skipped_stale:,} skipped as stale, "
                + (f"{summary.items_deleted:,} deleted (gone offline), " if full else "")
                # Capacity units are DynamoDB's billing; sqlite has none.
                + (
                    f"{summary.write_units:,.1f} write units, {summary.read_units:,.1f} read units, "
                    f"{summary.retries:,} retries, "
                    if settings.online.backend == "dynamodb"
                    else ""
                )
                + f"{summary.seconds:.2f} s"
            )
            if summary.behind and summary.marker is not None and summary.marker.valid_until is not None:
                progress.console.print(
                    f"[yellow]{summary.group}: this sync's time is before its last sync's "
                    f"({summary.marker.valid_until.isoformat(sep=' ')} UTC): the store keeps the values valid "
                    "then where they are newer; sync marker not advanced (see docs/online_store.md)[/yellow]"
                )
    console.print(f"synced {len(summaries)} group(s) to {_online_description(settings)}")
    if not summaries:
        console.print("[yellow]no online feature groups[/yellow] (set `online: true` in a group's contract)")


@app.command("training-set")
def training_set(
    spine: Annotated[str, typer.Option(help="A table of the offline store (schema.table) or a Parquet file.")],
    features: Annotated[str, typer.Option(help="Comma-separated group:feature names.")],
    spine_time: Annotated[str, typer.Option(help="The spine's label-time column (UTC).")],
    key: Annotated[
        list[str] | None,
        typer.Option(help="group.entity_column=spine_column where the names differ (repeatable)."),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Use only feature rows strictly before the label time.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the training set to this Parquet file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show, spread over the whole set.")] = 3,
    project_dir: ProjectDir = None,
) -> None:
    """Join features point-in-time to a spine (the dbt macro point_in_time_join, run from Python)."""
    import pyarrow.parquet as pq

    from featurestore.store import FeatureStore

    keys: dict[str, dict[str, str]] = {}
    for text in key or []:
        left, equals, spine_column = text.partition("=")
        group, dot, entity_column = left.partition(".")
        if not (equals and dot and group and entity_column and spine_column):
            raise typer.BadParameter(f"{text!r} must look like user_engagement.user_id=viewer_id", param_hint="--key")
        keys.setdefault(group, {})[entity_column] = spine_column
    source: object = Path(spine) if spine.endswith(".parquet") else spine
    names = [name.strip() for name in features.split(",") if name.strip()]
    with FeatureStore.from_settings(_settings(project_dir)) as store:
        table = store.get_training_set(source, names, spine_time=spine_time, keys=keys, inclusive=not strict)
        fallback = getattr(getattr(store.training_sets, "compiler", None), "last_fallback_reason", None)
    if fallback:
        error_console.print(
            f"[yellow]compiled by dbt ({fallback}); run `dbt parse` to make the next training set fast[/yellow]"
        )
    if out is not None:
        pq.write_table(table, out)
    # A few rows spread over the whole set (its first rows often predate any feature history), one per
    # column of the display: training sets are wider than a terminal.
    count = min(max(limit, 0), table.num_rows)
    picked = sorted({index * (table.num_rows - 1) // max(count - 1, 1) for index in range(count)})
    shown = Table(
        title=f"{table.num_rows:,} rows, {table.num_columns} columns" + (f", written to {out}" if out else "")
    )
    shown.add_column("column", no_wrap=True)
    for index in picked:
        shown.add_column(f"row {index + 1:,}", overflow="fold")
    # Slices, not take(list): pyarrow imports pandas (seconds) to convert a Python list of indices.
    rows = [row for index in picked for row in table.slice(index, 1).to_pylist()]
    for name in table.column_names:
        shown.add_row(name, *(_format_cell(row[name]) for row in rows))
    console.print(shown)


def _online_description(settings: Settings) -> str:
    online = settings.online
    if online.backend == "sqlite":
        return f"sqlite {online.sqlite_path}"
    where = online.dynamodb_endpoint_url or online.dynamodb_region or "default region"
    return f"DynamoDB {where} (tables {online.dynamodb_table_prefix}*)"


online_app = typer.Typer(help="Inspect and manage the online store.", no_args_is_help=True)
app.add_typer(online_app, name="online")


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

    settings = _settings(project_dir)
    at = _parse_utc(now, "--now") if now is not None else None
    with FeatureStore.from_settings(settings, now=(lambda: at) if at is not None else None) as store:
        spec = store.catalog.get(group)
        if len(key) != len(spec.entity):
            raise typer.BadParameter(
                f"'{group}' is keyed by {', '.join(spec.entity)}: {len(spec.entity)} value(s), got {len(key)}",
                param_hint="KEY",
            )
        row = dict(zip(spec.entity, key, strict=True))
        result = store.get_online_features([f"{group}:{name}" for name in spec.feature_names], [row])
    table = Table(title=f"{group} " + ", ".join(f"{k}={v}" for k, v in row.items()) + " (online)")
    table.add_column("feature", style="bold", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("status")
    for name, value, status in zip(spec.feature_names, result.values[0], result.statuses[0], strict=True):
        table.add_row(name, _format_cell(value), str(status))
    console.print(table)


@online_app.command("drop")
def online_drop(
    group: Annotated[str, typer.Argument(help="Feature group whose online values to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Delete a group's online table (values and sync marker); the next sync of an online group reloads it."""
    from featurestore.online_store import open_online_store

    settings = _settings(project_dir)
    if not yes:
        typer.confirm(f"Delete the online values of '{group}' from {_online_description(settings)}?", abort=True)
    store = open_online_store(settings.online)
    try:
        dropped = store.drop(group)
    finally:
        store.close()
    console.print(f"[green]dropped[/green] {group}" if dropped else f"{group} had no online table; nothing to drop")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    project_dir: ProjectDir = None,
) -> None:
    """Serve online lookups over HTTP (POST /online-features; OpenAPI at /docs)."""
    import uvicorn

    from featurestore.http_api import create_app
    from featurestore.store import FeatureStore

    with FeatureStore.from_settings(_settings(project_dir)) as store:
        uvicorn.run(create_app(store), host=host, port=port)


athena_app = typer.Typer(help="Set-up and reports for a real AWS account (never run by the tests against AWS).")
app.add_typer(athena_app, name="athena")


@athena_app.command("load-raw")
def athena_load_raw(
    s3_uri: Annotated[str, typer.Option("--s3-uri", help="Where to put the raw tables, e.g. s3://bucket/raw/.")],
    data: Annotated[Path, typer.Option(help="Raw Parquet folders (from `featurestore demo-data`).")] = Path("data/raw"),
    database: Annotated[
        str, typer.Option(envvar="FEATURESTORE_RAW_SCHEMA", help="Glue database for the raw tables.")
    ] = "news_raw",
    project_dir: ProjectDir = None,
) -> None:
    """Upload the raw tables to S3 and declare them in Glue, typed as the dbt sources say."""
    import boto3

    from featurestore.athena import load_raw_tables, raw_tables_from_manifest
    from featurestore.manifest import load_manifest

    tables = raw_tables_from_manifest(load_manifest(_settings(project_dir).manifest_path))
    session = boto3.Session()
    with console.status(f"uploading {data} to {s3_uri} and declaring {database} in Glue"):
        summary = load_raw_tables(data, s3_uri, database, tables, s3=session.client("s3"), glue=session.client("glue"))
    console.print(
        f"[green]loaded[/green] {summary.tables} tables, {summary.files} files ({summary.bytes / 1e6:.1f} MB), "
        f"{summary.partitions} partitions into {database}"
    )


@athena_app.command("bytes-scanned")
def athena_bytes_scanned(
    run_results: Annotated[Path, typer.Option(help="dbt's run results.")] = Path("target/run_results.json"),
) -> None:
    """Show the data each model scanned in the last dbt invocation on Athena (what Athena bills)."""
    from featurestore.athena import bytes_scanned

    rows = bytes_scanned(run_results)
    table = Table(title=f"data scanned per node ({run_results})")
    table.add_column("node", overflow="fold")
    table.add_column("status")
    table.add_column("scanned", justify="right")
    for row in rows:
        table.add_row(row.node, row.status, "?" if row.bytes is None else f"{row.bytes / 1e6:,.1f} MB")
    console.print(table)
    total = sum(row.bytes or 0 for row in rows)
    console.print(f"total: {total / 1e6:,.1f} MB scanned")


def _parse_time(text: str, option: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date or time like 2026-10-01", param_hint=option) from None


def _parse_utc(text: str, option: str) -> dt.datetime:
    """A time option as naive UTC, the form of every time the store keeps (an offset is converted)."""
    return naive_utc(_parse_time(text, option))


def _format_cell(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def main() -> None:
    try:
        app(standalone_mode=False)
    except FeatureStoreError as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise SystemExit(1) from None
    except typer.Exit as exit_:
        raise SystemExit(exit_.exit_code) from None
    except typer.Abort:
        error_console.print("aborted")
        raise SystemExit(130) from None
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
