"""The commands that write the offline store's incremental models: `run` (micro-batches), `backfill` (range
recomputation in chunks) and `maintain` (Iceberg compaction and snapshot expiry), each under the models'
writer leases (offline/writer_lease.py), so that no two writers of one table overlap."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated

import typer

from featurestore.cli.app import ProjectDir, app, parse_time, settings_of
from featurestore.cli.render import console, progress_bar
from featurestore.core.errors import FeatureStoreError
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import TARGETS, Settings
from featurestore.offline.backfill import DEFAULT_CHUNK_DAYS
from featurestore.offline.base import WriterLeases
from featurestore.offline.writer_lease import DEFAULT_WAIT_SECONDS, open_writer_leases


def leases_for(settings: Settings, target: str | None, wait_seconds: float | None = None) -> WriterLeases:
    """The writer leases of the offline store that dbt target `target` (default: the settings') writes."""
    if target in TARGETS and target != settings.target:
        settings = dataclasses.replace(settings, target=target)
    return open_writer_leases(settings, DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds)


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_command(
    ctx: typer.Context,
    select: Annotated[
        str, typer.Option("--select", "-s", help="dbt selection (default: the micro-batch, every incremental model).")
    ] = "config.materialized:incremental",
    target: Annotated[str | None, typer.Option(help="dbt target (default: the profile's).")] = None,
    wait_seconds: Annotated[
        float, typer.Option(help="How long to wait for another writer (a backfill chunk, maintain) to finish.")
    ] = DEFAULT_WAIT_SECONDS,
    project_dir: ProjectDir = None,
) -> None:
    """`dbt run` under the writer lease of every incremental model it selects: how to run micro-batches.
    Other arguments go to dbt as they are (e.g. `featurestore run --target athena --vars '{...}'`)."""
    from dbt.cli.main import dbtRunner

    settings = settings_of(project_dir)
    common = ["--project-dir", str(settings.project_dir), *(["--target", target] if target else [])]
    listed = dbtRunner().invoke(
        [
            "ls",
            "--resource-type",
            "model",
            "--select",
            select,
            "--output",
            "json",
            "--output-keys",
            "name config",
            "--quiet",
            *common,
        ]
    )
    if not listed.success:
        raise FeatureStoreError(f"dbt ls --select {select} failed: {listed.exception or 'see dbt output above'}")
    # `dbt ls` returns its output lines (a list of JSON strings with --output json).
    lines = listed.result if isinstance(listed.result, list) else []
    nodes = [json.loads(line) for line in lines]
    models = [node["name"] for node in nodes if node.get("config", {}).get("materialized") == "incremental"]
    leases = leases_for(settings, target, wait_seconds)
    with leases.hold(models, f"featurestore run --select {select}"):
        result = dbtRunner().invoke(["run", "--select", select, *common, *ctx.args])
    if not result.success:
        raise typer.Exit(1)


@app.command()
def maintain(
    select: Annotated[
        str | None, typer.Option("--select", "-s", help="Comma-separated groups (default: every feature group).")
    ] = None,
    show_files: Annotated[
        bool, typer.Option("--show-files", help="Count each table's files (Iceberg `$files`) before and after.")
    ] = False,
    wait_seconds: Annotated[
        float, typer.Option(help="How long to wait for a writer of a group (micro-batch, backfill) to finish.")
    ] = DEFAULT_WAIT_SECONDS,
    project_dir: ProjectDir = None,
) -> None:
    """Compact recent partitions and expire old snapshots of the feature groups' Iceberg tables on Athena
    (OPTIMIZE, VACUUM), one group at a time under its writer lease; see docs/athena.md."""
    from featurestore.aws.athena_queries import AthenaQueryRunner
    from featurestore.core.manifest import load_manifest
    from featurestore.offline.maintenance import file_counts, maintain_group, policies

    settings = settings_of(project_dir)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    names = [name.strip() for name in select.split(",") if name.strip()] if select else catalog.names()
    groups = [catalog.get(name) for name in dict.fromkeys(names)]
    if settings.target != "athena":
        console.print(
            "nothing to maintain: the local offline store (DuckDB) keeps no snapshots or small files; "
            "set FEATURESTORE_TARGET=athena for the Iceberg tables"
        )
        return
    chosen = policies(load_manifest(settings.manifest_path), groups)
    runner = AthenaQueryRunner(settings.athena)

    def execute(sql: str, what: str) -> object:
        return runner.fetch(sql, what=what)

    leases = leases_for(settings, None, wait_seconds)
    today = dt.datetime.now(dt.UTC).date()
    for group in groups:
        with leases.hold([group.name], "featurestore maintain"):
            before = file_counts(group, execute) if show_files else None
            maintain_group(group, chosen[group.name], execute, today)
            after = file_counts(group, execute) if show_files else None
        line = f"[bold]{group.name}[/bold]: optimized the last {chosen[group.name].optimize_days} days, vacuumed"
        if before is not None and after is not None:
            line += (
                f"; files {before.files:,} -> {after.files:,} (delete files {before.delete_files:,} -> "
                f"{after.delete_files:,}), {before.bytes / 1e6:,.1f} MB -> {after.bytes / 1e6:,.1f} MB"
            )
        console.print(line)


@app.command()
def backfill(
    group: Annotated[str, typer.Argument(help="Feature group name.")],
    start: Annotated[str, typer.Option(help="First day (or time) to recompute, UTC, ISO format.")],
    end: Annotated[
        str | None,
        typer.Option(
            help="End of the range (exclusive), UTC, ISO format. Required, except with --accept-mixed-history, "
            "where it defaults to the day after the table's newest row."
        ),
    ] = None,
    chunk_days: Annotated[
        int,
        typer.Option(help="Days per dbt run: each must finish within Athena's 30-minute DML timeout (at most 100)."),
    ] = DEFAULT_CHUNK_DAYS,
    target: Annotated[str | None, typer.Option(help="dbt target (default: the profile's).")] = None,
    accept_mixed_history: Annotated[
        bool,
        typer.Option(
            "--accept-mixed-history",
            help="The group's definition changed: recompute from --start to past the table's newest row with the "
            "new definition and keep the history before --start as the old definition computed it. The boundary "
            "is recorded with the table; `featurestore status` shows it and training sets reaching before it warn.",
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            help="Recompute every chunk, ignoring the progress recorded in target/backfills/<group>.json (a rerun "
            "skips the chunks done; progress of another range, chunking or definition is never reused)."
        ),
    ] = False,
    project_dir: ProjectDir = None,
) -> None:
    """Recompute [start, end) of a feature group in chunks; rerun the same command to resume after a failure."""
    from featurestore.offline import open_offline_store
    from featurestore.offline.backfill import BackfillState, Chunk, dbt_chunk_runner, plan_backfill, run_backfill
    from featurestore.offline.definitions import backfill_definition, end_after_newest_row
    from featurestore.offline.writer_lease import under_leases

    settings = settings_of(project_dir)
    catalog = FeatureGroupCatalog.from_manifest_path(settings.manifest_path)
    engine = open_offline_store(settings, catalog)
    fingerprint, changed = backfill_definition(engine, catalog.get(group), accept_mixed_history=accept_mixed_history)
    if end is None and not accept_mixed_history:
        raise typer.BadParameter("give the end of the range (exclusive)", param_hint="--end")
    last = parse_time(end, "--end") if end is not None else end_after_newest_row(engine.store, catalog.get(group))
    if end is None:
        console.print(f"--end {last.date().isoformat()}: the day after {group}'s newest row")
    first = parse_time(start, "--start")
    plan = plan_backfill(group, first, last, chunk_days, fingerprint=fingerprint, newest_first=changed)
    state_path = settings.project_dir / "target" / "backfills" / f"{group}.json"
    state = BackfillState.load(state_path, plan, restart=restart)
    chunks = plan.chunks()
    with progress_bar(f"backfilling {group}", "chunks {task.description}", transient=False) as progress:
        task = progress.add_task("", total=len(chunks))

        def report(chunk: Chunk, status: str) -> None:
            if status == "running":
                progress.update(task, description=chunk.label())
            else:
                progress.advance(task)
                if status == "skipped":
                    progress.console.print(f"skipped {chunk.label()} (done in an earlier run)")

        run_chunk = under_leases(
            dbt_chunk_runner(
                settings.project_dir,
                target=target,
                variables={"accept_mixed_history": True} if accept_mixed_history else None,
            ),
            leases_for(settings, target),
            [group],
            f"featurestore backfill of {group}",
        )
        ran = run_backfill(plan, state, run_chunk, on_chunk=report)
    console.print(f"[green]done[/green]: {group} recomputed {len(ran)} chunk(s) of {len(chunks)}")
    if changed:
        console.print(
            f"{group}: the history before {plan.start.isoformat(sep=' ')} stays as the old definition computed it "
            "(recorded; `featurestore status` shows it)"
        )
