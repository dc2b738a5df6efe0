"""Putting raw data in front of Athena, and reading what Athena charged.

For a first run on a real AWS account: `load_raw_tables()` uploads the raw Parquet folders (as written by
`featurestore demo-data`) to S3 and declares them as Glue tables with the columns and types of the dbt
sources, registering one partition per ingestion-date folder. `bytes_scanned()` reads dbt's
run_results.json after a `dbt build --target athena` and lists the data each model scanned (what Athena
bills).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurestore.aws.glue import PARTITION_COLUMN, RawTable, glue_table_input
from featurestore.aws.s3 import split_s3_uri
from featurestore.core.errors import AthenaSetupError

_GLUE_PARTITION_BATCH = 100  # BatchCreatePartition takes at most 100 partitions per call.


def raw_tables_from_manifest(manifest: Mapping[str, Any], source_name: str = "news") -> list[RawTable]:
    """The raw tables of a dbt source with their declared Glue types (`data_type` in the sources file)."""
    tables = []
    for node in manifest.get("sources", {}).values():
        if node.get("source_name") != source_name:
            continue
        columns = {}
        for column in node.get("columns", {}).values():
            if not column.get("data_type"):
                raise AthenaSetupError(
                    f"source {source_name}.{node['name']}: column {column['name']} has no data_type; "
                    "declare its Glue type in models/staging/_news__sources.yml"
                )
            columns[column["name"]] = column["data_type"]
        tables.append(RawTable(node["name"], columns))
    if not tables:
        raise AthenaSetupError(f"the manifest has no tables of source '{source_name}'; run `dbt parse` first")
    return sorted(tables, key=lambda table: table.name)


@dataclass(frozen=True)
class LoadSummary:
    tables: int
    files: int
    partitions: int
    bytes: int


def _files(folder: Path) -> Iterator[Path]:
    yield from sorted(path for path in folder.rglob("*.parquet") if path.is_file())


def load_raw_tables(
    data_dir: Path,
    s3_uri: str,
    database: str,
    tables: list[RawTable],
    *,
    s3: Any,
    glue: Any,
) -> LoadSummary:
    """Upload `data_dir/<table>/...` to `s3_uri/<table>/...` and (re)declare each table in Glue.

    Existing tables of the same name are updated in place and existing partitions kept; S3 objects of the
    same name are overwritten, none are deleted.
    """
    bucket, prefix = split_s3_uri(s3_uri)
    prefix = prefix.strip("/")
    missing = [table.name for table in tables if not (data_dir / table.name).is_dir()]
    if missing:
        raise AthenaSetupError(
            f"no folder for raw table(s) {', '.join(missing)} under {data_dir}; run `featurestore demo-data` first"
        )
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database})

    files = partitions = size = 0
    for table in tables:
        table_prefix = f"{prefix}/{table.name}".strip("/")
        for path in _files(data_dir / table.name):
            key = f"{table_prefix}/{path.relative_to(data_dir / table.name).as_posix()}"
            s3.upload_file(str(path), bucket, key)
            files += 1
            size += path.stat().st_size
        location = f"s3://{bucket}/{table_prefix}/"
        table_input = glue_table_input(table, location)
        try:
            glue.create_table(DatabaseName=database, TableInput=table_input)
        except glue.exceptions.AlreadyExistsException:
            glue.update_table(DatabaseName=database, TableInput=table_input)
        if table.is_partitioned:
            values = sorted(
                folder.name.split("=", 1)[1]
                for folder in (data_dir / table.name).iterdir()
                if folder.is_dir() and folder.name.startswith(f"{PARTITION_COLUMN}=")
            )
            for start in range(0, len(values), _GLUE_PARTITION_BATCH):
                batch = values[start : start + _GLUE_PARTITION_BATCH]
                response = glue.batch_create_partition(
                    DatabaseName=database,
                    TableName=table.name,
                    PartitionInputList=[
                        {
                            "Values": [value],
                            "StorageDescriptor": {
                                **table_input["StorageDescriptor"],
                                "Location": f"{location}{PARTITION_COLUMN}={value}/",
                            },
                        }
                        for value in batch
                    ],
                )
                # A rerun finds its partitions already declared: that is the state it wants.
                errors = [
                    error
                    for error in response.get("Errors", [])
                    if error.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
                ]
                if errors:
                    first = errors[0]
                    raise AthenaSetupError(
                        f"Glue refused partition {first.get('PartitionValues')} of {database}.{table.name}: "
                        f"{first.get('ErrorDetail', {}).get('ErrorMessage')}"
                    )
            partitions += len(values)
    return LoadSummary(tables=len(tables), files=files, partitions=partitions, bytes=size)


@dataclass(frozen=True)
class ScannedBytes:
    node: str
    status: str
    bytes: int | None


def bytes_scanned(run_results_path: Path) -> list[ScannedBytes]:
    """Bytes each node's main statement scanned, from dbt-athena's adapter responses (largest first)."""
    try:
        results = json.loads(run_results_path.read_text(encoding="utf-8"))["results"]
    except (OSError, KeyError, json.JSONDecodeError) as error:
        raise AthenaSetupError(
            f"cannot read dbt run results at {run_results_path}: {error}; run `dbt build --target athena` first"
        ) from error
    rows = [
        ScannedBytes(
            node=result["unique_id"],
            status=str(result.get("status")),
            bytes=(result.get("adapter_response") or {}).get("data_scanned_in_bytes"),
        )
        for result in results
    ]
    return sorted(rows, key=lambda row: (-(row.bytes or 0), row.node))
