"""`featurestore athena load-raw` / `bytes-scanned`: the set-up and report of a real-account smoke test,
exercised here against moto up to the S3 and Glue calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from support.local_project import make_local_project

from featurestore.aws.raw_data import bytes_scanned, load_raw_tables, raw_tables_from_manifest
from featurestore.core.errors import AthenaSetupError, S3LocationError
from featurestore.demo.data import DemoDataConfig, generate_demo_data

if TYPE_CHECKING:
    from conftest import AthenaEnv

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATABASE = "load_test_raw"
S3_URI = "s3://featurestore-data/load-test/raw/"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    project = make_local_project(tmp_path_factory.mktemp("parse"))
    result = project.dbt("parse")
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads(project.manifest_path().read_text())


def test_raw_tables_carry_the_types_the_sources_file_declares(manifest: dict[str, object]) -> None:
    tables = {table.name: table for table in raw_tables_from_manifest(manifest)}
    sources = yaml.safe_load((PROJECT_DIR / "models/staging/_news__sources.yml").read_text())["sources"][0]
    declared = {t["name"]: {c["name"]: c["data_type"] for c in t["columns"]} for t in sources["tables"]}
    assert {name: table.columns for name, table in tables.items()} == declared
    assert {name for name, table in tables.items() if table.is_partitioned} == {"impressions", "reactions"}


def test_a_source_column_without_a_type_is_named(manifest: dict[str, object]) -> None:
    broken = json.loads(json.dumps(manifest))
    node = next(n for n in broken["sources"].values() if n["name"] == "users")  # type: ignore[union-attr]
    node["columns"]["plan"]["data_type"] = None
    with pytest.raises(AthenaSetupError, match=r"news\.users: column plan has no data_type"):
        raw_tables_from_manifest(broken)


def test_load_raw_uploads_declares_and_partitions_idempotently(
    athena_env: AthenaEnv, manifest: dict[str, object], tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    generate_demo_data(DemoDataConfig(users=30, days=2, seed=4), raw)
    tables = raw_tables_from_manifest(manifest)
    s3, glue = athena_env.server.client("s3"), athena_env.server.client("glue")

    first = load_raw_tables(raw, S3_URI, DATABASE, tables, s3=s3, glue=glue)
    local_files = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*.parquet"))
    listed = s3.list_objects_v2(Bucket="featurestore-data", Prefix="load-test/raw/")["Contents"]
    assert sorted(o["Key"].removeprefix("load-test/raw/") for o in listed) == local_files
    assert (first.tables, first.files) == (4, len(local_files))

    impressions = glue.get_table(DatabaseName=DATABASE, Name="impressions")["Table"]
    assert impressions["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert "dt" not in {c["Name"] for c in impressions["StorageDescriptor"]["Columns"]}
    assert impressions["StorageDescriptor"]["Location"] == "s3://featurestore-data/load-test/raw/impressions/"
    folders = sorted(p.name.removeprefix("dt=") for p in (raw / "impressions").iterdir())
    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="impressions")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == folders
    assert all(p["StorageDescriptor"]["Location"].endswith(f"/dt={p['Values'][0]}/") for p in partitions)
    users = glue.get_table(DatabaseName=DATABASE, Name="users")["Table"]
    assert "PartitionKeys" not in users or users["PartitionKeys"] == []

    again = load_raw_tables(raw, S3_URI, DATABASE, tables, s3=s3, glue=glue)
    assert again == first
    assert len(glue.get_partitions(DatabaseName=DATABASE, TableName="impressions")["Partitions"]) == len(folders)


def test_load_raw_refuses_missing_data_and_bad_locations(
    athena_env: AthenaEnv, manifest: dict[str, object], tmp_path: Path
) -> None:
    tables = raw_tables_from_manifest(manifest)
    s3, glue = athena_env.server.client("s3"), athena_env.server.client("glue")
    with pytest.raises(AthenaSetupError, match="no folder for raw table"):
        load_raw_tables(tmp_path, S3_URI, DATABASE, tables, s3=s3, glue=glue)
    with pytest.raises(S3LocationError, match="is not an S3 location"):
        load_raw_tables(tmp_path, "featurestore-data/raw", DATABASE, tables, s3=s3, glue=glue)


def test_bytes_scanned_reads_dbt_athena_adapter_responses(tmp_path: Path) -> None:
    run_results = tmp_path / "run_results.json"
    run_results.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": "model.x.small",
                        "status": "success",
                        "adapter_response": {"data_scanned_in_bytes": 1_000},
                    },
                    {
                        "unique_id": "model.x.big",
                        "status": "success",
                        "adapter_response": {"data_scanned_in_bytes": 5_000_000},
                    },
                    {"unique_id": "test.x.t", "status": "pass", "adapter_response": {}},
                ]
            }
        )
    )
    rows = bytes_scanned(run_results)
    assert [(r.node, r.bytes) for r in rows] == [
        ("model.x.big", 5_000_000),
        ("model.x.small", 1_000),
        ("test.x.t", None),
    ]

    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "featurestore"),
            "athena",
            "bytes-scanned",
            "--run-results",
            str(run_results),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert shown.returncode == 0, shown.stderr
    assert "model.x.big" in shown.stdout and "5.0 MB" in shown.stdout
    assert "total: 5.0 MB scanned" in shown.stdout

    with pytest.raises(AthenaSetupError, match="run `dbt build --target athena` first"):
        bytes_scanned(tmp_path / "missing.json")
