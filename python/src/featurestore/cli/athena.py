"""`featurestore athena ...`: set-up and reports for a real AWS account (never run by the tests against AWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from featurestore.cli.app import ProjectDir, athena_app, settings_of
from featurestore.cli.render import console, scanned_table


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

    from featurestore.aws.raw_data import load_raw_tables, raw_tables_from_manifest
    from featurestore.core.manifest import load_manifest

    tables = raw_tables_from_manifest(load_manifest(settings_of(project_dir).manifest_path))
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
    from featurestore.aws.raw_data import bytes_scanned

    rows = bytes_scanned(run_results)
    console.print(scanned_table(rows, run_results))
    total = sum(row.bytes or 0 for row in rows)
    console.print(f"total: {total / 1e6:,.1f} MB scanned")
