"""Standing in for what moto's Athena does not do (it accepts queries and runs nothing): answering an UNLOAD or a
query for one timestamp."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from moto.athena.models import AthenaBackend, QueryResults
from sqlglot import exp
from support.local_project import manifest_macros

from featurestore.aws.athena_queries import UNLOAD_FOLDER
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.macro_renderer import MacroRenderer
from featurestore.core.manifest import FeatureGroupCatalog, feature_groups_from_manifest
from featurestore.core.settings import AthenaSettings
from featurestore.offline.athena import AthenaTrainingSets

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA_BUCKET = "featurestore-data"

UNLOAD_STATEMENT = re.compile(
    r"unload \((?P<query>.*)\) to '(?P<target>s3://[^']+)' with \(format = 'PARQUET', compression = 'SNAPPY'\)",
    flags=re.DOTALL | re.IGNORECASE,
)


# What Athena's Hive writer says of a timestamp(6) column in UNLOAD output (aws/aws-sdk-pandas#2252).
TIMESTAMP_PRECISION_ERROR = (
    "HIVE_UNSUPPORTED_FORMAT: Incorrect timestamp precision for timestamp(6); the configured precision is MILLISECONDS"
)


def unloaded_query(statement: str) -> str:
    """The query an UNLOAD statement wraps (fails the test if `statement` is no UNLOAD to Parquet)."""
    match = UNLOAD_STATEMENT.fullmatch(statement.strip())
    assert match, f"not an UNLOAD to Parquet: {statement[:200]}"
    return match["query"]


def trino_text(value: Any) -> str | None:
    """Trino's `cast(x as varchar)` of a timestamp(6) value: always six fractional digits
    (https://trino.io/docs/current/language/types.html#timestamp-p)."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def as_unloaded(answer: pa.Table, query: str) -> tuple[pa.Table, str | None]:
    """`answer`, the rows of an UNLOAD's query with every timestamp column an Iceberg timestamp(6), as the UNLOAD
    writes them: a timestamp column the query's outer SELECT casts to varchar becomes Trino's text of it; one
    it leaves as it is fails the UNLOAD as Athena's Hive writer does (the reason is returned, else None)."""
    outer = sqlglot.parse_one(query, read="athena")
    projections = {p.alias_or_name: p.unalias() for p in outer.expressions} if isinstance(outer, exp.Select) else {}
    for index, field in enumerate(answer.schema):
        if not pa.types.is_timestamp(field.type):
            continue
        cast = projections.get(field.name)
        if not (isinstance(cast, exp.Cast) and cast.to.this in {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT}):
            return answer, f"{TIMESTAMP_PRECISION_ERROR} (column {field.name})"
        text = pa.array([trino_text(value) for value in answer[field.name].to_pylist()], pa.string())
        answer = answer.set_column(index, field.name, text)
    return answer, None


class FakeUnload:
    """Botocore hooks on `session` that answer each UNLOAD as Athena would, with `answer`'s rows.

    `answer` holds the rows of the UNLOAD's query with Athena's types, every timestamp column an Iceberg
    timestamp(6): as Athena's Hive writer, the fake fails the UNLOAD on a timestamp column the query leaves as
    it is, and writes one the query casts to varchar as Trino's text of it (`as_unloaded`). When the query
    starts, the rows go to the UNLOAD's target as `files` Parquet files (none for no rows: Athena writes none),
    and a manifest listing them goes where Athena puts it, next to the query results in the staging dir;
    GetQueryExecution then reports the manifest. Queries other than UNLOADs get moto's answer (no rows).
    `answer` None: no manifest is reported. `fail_with`: the query fails with that reason, after its files but
    no manifest are written (a failing UNLOAD may leave files behind). Subclasses check the query's
    surroundings in `on_query`."""

    def __init__(
        self,
        session: boto3.Session,
        s3: Any,
        answer: pa.Table | None,
        *,
        files: int = 1,
        fail_with: str | None = None,
    ) -> None:
        self.s3, self.answer, self.files, self.fail_with = s3, answer, files, fail_with
        self.queries: list[str] = []
        self.written: list[tuple[str, str]] = []  # (bucket, key) of each object put, to check they are removed
        self._manifest: str | None = None
        self._refused: str | None = None  # why Athena would refuse the last UNLOAD (its types)
        session.events.register("before-parameter-build.athena.StartQueryExecution", self._on_start)
        session.events.register("after-call.athena.GetQueryExecution", self._on_status)

    def on_query(self, sql: str) -> None:
        """Called while the query "runs"."""

    def leftovers(self) -> list[str]:
        """The objects this fake wrote that are still there."""
        left = []
        for bucket, key in self.written:
            listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
            left += [f"s3://{bucket}/{item['Key']}" for item in listed if item["Key"] == key]
        return left

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.written.append((bucket, key))

    def _on_start(self, params: dict[str, Any], **_: Any) -> None:
        sql = params["QueryString"]
        self.queries.append(sql)
        self._manifest, self._refused = None, None
        self.on_query(sql)
        target = UNLOAD_STATEMENT.fullmatch(sql.strip())
        if self.answer is None or target is None:  # another query (e.g. a spine table's time range): moto's answer
            return
        answer, self._refused = as_unloaded(self.answer, target["query"])
        if self._refused:
            return
        bucket, _, key = target["target"][len("s3://") :].partition("/")
        uris = []
        count = min(self.files, answer.num_rows)
        size = -(-answer.num_rows // count) if count else 0  # rows per file, rounded up
        for index in range(count):
            buffer = io.BytesIO()
            pq.write_table(answer.slice(index * size, size), buffer, use_deprecated_int96_timestamps=True)
            self._put(bucket, f"{key}part-{index}.parquet", buffer.getvalue())
            uris.append(f"s3://{bucket}/{key}part-{index}.parquet\n")
        if self.fail_with:
            return
        staging = key.partition(f"{UNLOAD_FOLDER}/")[0]
        manifest_key = f"{staging}{uuid.uuid4()}-manifest.csv"
        self._put(bucket, manifest_key, "".join(uris).encode())
        self._manifest = f"s3://{bucket}/{manifest_key}"

    def _on_status(self, parsed: dict[str, Any], **_: Any) -> None:
        execution = parsed["QueryExecution"]
        if self._manifest:
            execution.setdefault("Statistics", {})["DataManifestLocation"] = self._manifest
        reason = self.fail_with or self._refused
        if reason:
            execution["Status"] = {**execution.get("Status", {}), "State": "FAILED", "StateChangeReason": reason}


def answer_timestamp(backend: AthenaBackend, answer: dt.datetime) -> None:
    """Makes moto's Athena answer the next query whose results are read with one timestamp, as Athena would (a
    SELECT's results start with a row of column labels). Call it while the query starts (wrap
    `AthenaBackend.start_query_execution`): moto hands queued results to whichever query is read next."""
    label = {"VarCharValue": "_col0"}
    value = {"VarCharValue": answer.strftime("%Y-%m-%d %H:%M:%S.%f")}
    column = {"Name": "_col0", "Label": "_col0", "Type": "timestamp", "Precision": 3, "Scale": 0}
    backend.query_results_queue.append(
        QueryResults(rows=[{"Data": [label]}, {"Data": [value]}], column_info=[{**column, "Nullable": "UNKNOWN"}])
    )


def moto_athena(endpoint_url: str, region: str, data_bucket: str) -> tuple[boto3.Session, AthenaSettings]:
    """A boto3 session with moto's dummy credentials, and the Athena location of the offline store on moto."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    location = AthenaSettings(
        region=region, s3_data_dir=f"s3://{data_bucket}/", schema="featurestore", endpoint_url=endpoint_url
    )
    return session, location


@contextlib.contextmanager
def athena_training_sets(
    athena_env: Any, project_root: Path, catalog: FeatureGroupCatalog
) -> Iterator[tuple[AthenaTrainingSets, boto3.Session]]:
    """AthenaTrainingSets on the moto server of `athena_env` for the project at `project_root`, with the
    environment dbt-athena compiles with (restored afterwards), and its boto3 session."""
    server = athena_env.server
    with pytest.MonkeyPatch.context() as patch:
        for name, value in athena_env.env.items():
            patch.setenv(name, value)
        compiler = DbtCompiler(project_root, target="athena", profiles_dir=athena_env.profiles_dir)
        session, location = moto_athena(server.endpoint_url, server.region, DATA_BUCKET)
        yield AthenaTrainingSets(location, compiler, catalog, session=session, poll_interval=0.05), session


@contextlib.contextmanager
def rendered_training_sets(
    athena_env: Any, folder: Path, nodes: Sequence[Mapping[str, Any]]
) -> Iterator[tuple[AthenaTrainingSets, boto3.Session]]:
    """AthenaTrainingSets on the moto server of `athena_env` whose macro calls are rendered by macro_renderer
    from a manifest of the project's macros and the model `nodes` written to `folder` for the athena adapter
    (no dbt process; test_notebook_training_sets.py checks the renderer against dbt); and its boto3 session."""
    shutil.copy(PROJECT_DIR / "dbt_project.yml", folder / "dbt_project.yml")
    shutil.copytree(PROJECT_DIR / "macros", folder / "macros")
    manifest = {
        "metadata": {"adapter_type": "athena", "project_name": "featurestore"},
        "nodes": {node["unique_id"]: node for node in nodes},
        "macros": manifest_macros(folder),
        "sources": {},
    }
    manifest_path = folder / "target" / "manifest.json"
    manifest_path.parent.mkdir()
    manifest_path.write_text(json.dumps(manifest))
    compiler = DbtCompiler(folder, target="athena", renderer=MacroRenderer(folder, manifest_path, "athena"))
    catalog = FeatureGroupCatalog(feature_groups_from_manifest(manifest))
    server = athena_env.server
    session, location = moto_athena(server.endpoint_url, server.region, DATA_BUCKET)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in athena_env.env.items():
            patch.setenv(name, value)
        yield AthenaTrainingSets(location, compiler, catalog, session=session, poll_interval=0.05), session
