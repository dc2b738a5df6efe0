"""The top-level commands: demo data, contracts, the offline store (show, training sets), the
sync and the HTTP server. The catalog and freshness commands (list, describe, search, catalog, status) live
in catalog.py, the writers of the offline store (run, backfill, maintain) in writers.py, `online` and
`athena` subcommands in online.py and athena.py."""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from featurestore.cli.app import ProjectDir, app, check_key, parse_utc, settings_of
from featurestore.cli.render import (
    RichSyncProgress,
    behind_warning,
    console,
    error_console,
    online_description,
    progress_bar,
    rows_table,
    sync_line,
    training_set_table,
)
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.timestamps import utc_now


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(help="Folder to write the raw Parquet tables into.")] = Path("data/raw"),
    users: Annotated[int, typer.Option(help="Number of users.")] = 2000,
    days: Annotated[int, typer.Option(help="Days of events.")] = 14,
    start: Annotated[str, typer.Option(help="First day of events (UTC), YYYY-MM-DD.")] = "2026-10-01",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
) -> None:
    """Generate a news service's raw data (articles, users, impressions, reactions) as Parquet."""
    from featurestore.demo import DemoDataConfig, generate_demo_data

    try:
        first_day = dt.date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not a date like 2026-10-01", param_hint="--start") from None
    try:
        config = DemoDataConfig(users=users, days=days, start=first_day, seed=seed)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    with progress_bar("generating demo data", "days") as progress:
        task = progress.add_task("days", total=days)
        summary = generate_demo_data(
            config, out, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    rows = ", ".join(f"{count:,} {table}" for table, count in summary.rows.items())
    console.print(f"wrote {rows} to {summary.out_dir} in {summary.seconds:.1f}s")


@app.command()
def validate(
    project_dir: ProjectDir = None,
    compile_models: Annotated[
        bool,
        typer.Option(
            "--compile/--no-compile",
            help="Have dbt compile the feature groups first (no model runs), so the manifest is current; "
            "--no-compile checks target/manifest.json as it is.",
        ),
    ] = True,
) -> None:
    """Check every feature-group contract and that each model returns its declared columns, before any
    model runs; exits 1 listing every problem, each naming the model, the field and the fix."""
    from featurestore.core.errors import ContractErrors
    from featurestore.core.manifest import load_manifest
    from featurestore.core.validation import compile_feature_groups, duckdb_probe, validate_manifest

    settings = settings_of(project_dir)
    compile_errors = compile_feature_groups(settings.project_dir, settings.target) if compile_models else []
    # The zero-row query fallback only on the local engine: on Athena each query is billed (core/validation.py).
    probe = duckdb_probe(settings.duckdb_path) if settings.target == "local" else None
    report = validate_manifest(load_manifest(settings.manifest_path), probe)
    for note in report.notes:
        console.print(f"[yellow]note[/yellow]: {note}")
    errors = [*compile_errors, *report.errors]
    if errors:
        raise ContractErrors(errors)
    console.print(f"[green]ok[/green]: {report.groups} feature-group contract(s) valid")


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
            help="Show each entity's values valid at this time (ISO format, UTC unless it has an offset; "
            "default: now): what `featurestore sync --now` of the same time puts online.",
        ),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Print rows of a feature group from the offline store of FEATURESTORE_TARGET (`show user_engagement 7
    --as-of T`)."""
    from featurestore.offline import open_offline_store

    settings = settings_of(project_dir)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    spec = catalog.get(group)
    # Each entity's values valid now by default: the groups hold rows pre-computed for later times.
    at = parse_utc(as_of, "--as-of") if as_of is not None else utc_now()
    if key:
        check_key(group, spec.entity, key)
    rows = open_offline_store(settings, catalog).store.preview(spec, limit=limit, as_of=at, key=key or None)
    console.print(rows_table(spec, rows, at, now=as_of is None))
    if not rows.num_rows:
        console.print(
            "[yellow]no values[/yellow] valid at that time"
            + ("" if spec.ttl is None else f" (values older than the TTL, {spec.ttl_text}, count as missing)")
        )


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

    settings = settings_of(project_dir)
    names = [name.strip() for name in select.split(",") if name.strip()] if select else None
    at = parse_utc(now, "--now") if now is not None else None
    with (
        FeatureStore.from_settings(settings, now=(lambda: at) if at is not None else None) as store,
        progress_bar("syncing {task.description}", "items") as progress,
    ):
        summaries = []
        for summary in store.sync(names, progress=RichSyncProgress(progress), full=full):
            summaries.append(summary)
            # Printed as each group finishes.
            progress.console.print(sync_line(summary, settings, full=full))
            if summary.state_changes:
                progress.console.print(
                    f"  {summary.group} changed ({'; '.join(summary.state_changes)}): every entity rewritten"
                )
            warning = behind_warning(summary)
            if warning:
                progress.console.print(warning)
    console.print(f"synced {len(summaries)} group(s) to {online_description(settings)}")
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
    allow_stale_definitions: Annotated[
        bool,
        typer.Option(
            "--allow-stale-definitions",
            help="Join groups whose stored history was computed by an older definition than their current one "
            "(refused by default: rebuild them as `featurestore status` says).",
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the training set to this Parquet file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show, spread over the whole set.")] = 3,
    project_dir: ProjectDir = None,
) -> None:
    """Join features point-in-time to a spine (the dbt macro point_in_time_join, run from Python)."""
    import pyarrow.parquet as pq

    from featurestore.store import FeatureStore, MixedHistoryWarning

    keys: dict[str, dict[str, str]] = {}
    for text in key or []:
        left, equals, spine_column = text.partition("=")
        group, dot, entity_column = left.partition(".")
        if not (equals and dot and group and entity_column and spine_column):
            raise typer.BadParameter(f"{text!r} must look like user_engagement.user_id=viewer_id", param_hint="--key")
        keys.setdefault(group, {})[entity_column] = spine_column
    if spine.lower().endswith(".parquet") and not Path(spine).is_file():
        raise typer.BadParameter(f"no such file: {spine}", param_hint="--spine")
    names = [name.strip() for name in features.split(",") if name.strip()]
    with FeatureStore.from_settings(settings_of(project_dir)) as store:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MixedHistoryWarning)
            table = store.get_training_set(
                spine,
                names,
                spine_time=spine_time,
                keys=keys,
                inclusive=not strict,
                allow_stale_definitions=allow_stale_definitions,
            )
        for warning in caught:
            error_console.print(f"[yellow]warning:[/yellow] {escape(str(warning.message))}", soft_wrap=True)
        fallback = getattr(getattr(store.training_sets, "compiler", None), "last_fallback_reason", None)
    if fallback:
        error_console.print(
            f"[yellow]compiled by dbt ({fallback}); run `dbt parse` to make the next training set fast[/yellow]"
        )
    if out is not None:
        pq.write_table(table, out)
    console.print(training_set_table(table, limit, out))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Judge expiry (TTL) as of this time (ISO format, UTC unless it has an offset) instead of the "
            "current time, as `online get --now` does: for past demo data synced with the same `sync --now`.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FEATURESTORE_API_TOKEN",
            help="Require `Authorization: Bearer <token>` on every request but /health (prefer the "
            "FEATURESTORE_API_TOKEN variable: an option shows in the process list).",
            show_default=False,
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="Larger request bodies are refused with 413 [default: 1 MiB].", show_default=False),
    ] = None,
    project_dir: ProjectDir = None,
) -> None:
    """Serve online lookups over HTTP (POST /online-features; OpenAPI at /docs)."""
    import uvicorn

    from featurestore.http.api import DEFAULT_MAX_BODY_BYTES, create_app
    from featurestore.store import FeatureStore

    at = parse_utc(now, "--now") if now is not None else None
    if not token and not is_loopback(host):
        error_console.print(
            f"[yellow]warning:[/yellow] serving on {host} without authentication: anyone who can reach port "
            f"{port} can read every online feature; set FEATURESTORE_API_TOKEN (or --token) to require a bearer "
            "token, or bind 127.0.0.1 behind an authenticating proxy"
        )
    with FeatureStore.from_settings(settings_of(project_dir), now=(lambda: at) if at is not None else None) as store:
        api = create_app(store, max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES, token=token)
        uvicorn.run(api, host=host, port=port)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (a host name other than localhost may resolve to anything)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
