"""Standing in for what moto's Athena does not do (it accepts queries and runs nothing): answering an UNLOAD or a
query for one timestamp."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.athena.models import AthenaBackend, QueryResults

from featurestore.aws.athena_queries import UNLOAD_FOLDER
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings
from featurestore.offline.athena import AthenaTrainingSets

UNLOAD_STATEMENT = re.compile(
    r"unload \((?P<query>.*)\) to '(?P<target>s3://[^']+)' with \(format = 'PARQUET', compression = 'SNAPPY'\)",
    flags=re.DOTALL | re.IGNORECASE,
)


def unloaded_query(statement: str) -> str:
    """The query an UNLOAD statement wraps (fails the test if `statement` is no UNLOAD to Parquet)."""
    match = UNLOAD_STATEMENT.fullmatch(statement.strip())
    assert match, f"not an UNLOAD to Parquet: {statement[:200]}"
    return match["query"]


class FakeUnload:
    """Botocore hooks on `session` that answer each UNLOAD as Athena would, with `answer`'s rows.

    When the query starts, the rows go to the UNLOAD's target as `files` Parquet files (none for no rows: Athena
    writes none), timestamps as INT96 as Athena writes them, and a manifest listing them goes where Athena puts
    it, next to the query results in the staging dir; GetQueryExecution then reports the manifest.
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
        self.on_query(sql)
        if self.answer is None:
            return
        target = UNLOAD_STATEMENT.fullmatch(sql.strip())
        assert target, f"not an UNLOAD to Parquet: {sql[:200]}"
        bucket, _, key = target["target"][len("s3://") :].partition("/")
        uris = []
        count = min(self.files, self.answer.num_rows)
        size = -(-self.answer.num_rows // count) if count else 0  # rows per file, rounded up
        for index in range(count):
            buffer = io.BytesIO()
            pq.write_table(self.answer.slice(index * size, size), buffer, use_deprecated_int96_timestamps=True)
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
        if self.fail_with:
            execution["Status"] = {
                **execution.get("Status", {}),
                "State": "FAILED",
                "StateChangeReason": self.fail_with,
            }


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
        session, location = moto_athena(server.endpoint_url, server.region, "featurestore-data")
        yield AthenaTrainingSets(location, compiler, catalog, session=session, poll_interval=0.05), session
