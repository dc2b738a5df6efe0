"""Training sets on Athena: the spine goes to S3 as Parquet behind a temporary Glue table, the compiled
point_in_time_join runs through pyathena as an UNLOAD to Parquet, and the files listed in UNLOAD's manifest are
read in bulk with pyarrow (not row by row through GetQueryResults). The temporary table, the spine's objects
and the UNLOAD output are removed whatever happens.

pyathena's own ArrowCursor(unload=True) does the same reading, but its pyarrow S3 filesystem cannot be pointed
at another endpoint, so the path could not be tested against a stand-in; reading the manifest ourselves keeps
one code path for AWS and for tests.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from featurestore.athena import RawTable, glue_table_input
from featurestore.dbt_compiler import DbtCompiler
from featurestore.errors import OfflineStoreError, TrainingSetError
from featurestore.manifest import FeatureGroupCatalog
from featurestore.settings import AthenaSettings
from featurestore.training_sets import (
    SPINE_ROW_COLUMN,
    SpineInput,
    TrainingSetRequest,
    point_in_time_call,
    spine_table,
    time_bounds_of,
)

SPINE_TABLE_PREFIX = "featurestore_spine_"
UNLOAD_FOLDER = "featurestore-unload"  # under the staging dir; each UNLOAD gets its own folder, removed after reading


def glue_type(column: str, data_type: pa.DataType) -> str:
    """The Glue/Hive type that Athena reads a Parquet column of `data_type` as."""
    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.large_string(): "string",
        pa.date32(): "date",
    }
    if data_type in simple:
        return simple[data_type]
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    raise TrainingSetError(
        f"spine column '{column}' has type {data_type}, which the Athena path does not upload; "
        "cast it to an integer, double, boolean, string, date, timestamp or decimal column"
    )


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise TrainingSetError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class AthenaTrainingSets:
    """Training sets from the Athena offline store."""

    def __init__(
        self, location: AthenaSettings, compiler: DbtCompiler, catalog: FeatureGroupCatalog, session: Any = None
    ) -> None:
        import boto3

        self.location = location
        self.compiler = compiler
        self.catalog = catalog
        self.session = session or boto3.Session(region_name=location.region)

    def _client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.location.region, endpoint_url=self.location.endpoint_url)

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        if isinstance(spine, str):
            return self._get_for_table(spine, request)
        table = spine_table(spine, request.spine_time)
        columns = {name: glue_type(name, table.schema.field(name).type) for name in table.column_names}
        name = f"{SPINE_TABLE_PREFIX}{uuid.uuid4().hex}"
        prefix = f"{self.location.scratch_s3_dir.rstrip('/')}/{name}/"
        bucket, key_prefix = _split(prefix)
        s3, glue = self._client("s3"), self._client("glue")
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": self.location.scratch_database})
        buffer = io.BytesIO()
        pq.write_table(table, buffer, coerce_timestamps="us", allow_truncated_timestamps=False)
        try:
            s3.put_object(Bucket=bucket, Key=f"{key_prefix}spine.parquet", Body=buffer.getvalue())
            table_input = glue_table_input(RawTable(name, columns), prefix)
            glue.create_table(DatabaseName=self.location.scratch_database, TableInput=table_input)
            sql = self.compiler.compile(
                point_in_time_call(
                    request,
                    self.catalog,
                    f'"{self.location.scratch_database}"."{name}"',
                    table.column_names,
                    time_bounds_of(table, request.spine_time),
                )
            )
            result = self._run(sql)
        finally:
            self._clean_up(s3, glue, bucket, key_prefix, name)
        if SPINE_ROW_COLUMN not in result.column_names:
            raise OfflineStoreError(f"Athena returned no {SPINE_ROW_COLUMN} column; columns: {result.column_names}")
        # UNLOAD writes files in no particular order: restore the spine's.
        return result.take(pc.sort_indices(result[SPINE_ROW_COLUMN])).drop_columns([SPINE_ROW_COLUMN])

    def _get_for_table(self, spine: str, request: TrainingSetRequest) -> pa.Table:
        """A spine that is already an Athena table (`table` in the location's database, or `database.table`)."""
        database, _, table_name = spine.rpartition(".")
        database = database.strip('"') or self.location.scratch_database
        table_name = table_name.strip('"')
        glue = self._client("glue")
        try:
            described = glue.get_table(DatabaseName=database, Name=table_name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            raise TrainingSetError(f"no spine table {database}.{table_name} in the Glue catalog") from None
        columns = [
            column["Name"] for column in described["StorageDescriptor"]["Columns"] + described.get("PartitionKeys", [])
        ]
        if request.spine_time not in columns:
            raise TrainingSetError(f"spine_time '{request.spine_time}' is not a column of {spine} (columns: {columns})")
        relation = f'"{database}"."{table_name}"'
        # One small query for the label times' range, so the join's feature scans get literal bounds (pruning).
        extent = self._run(
            f"select min({request.spine_time}) as low, max({request.spine_time}) as high from {relation}", unload=False
        )
        low, high = (extent["low"][0].as_py(), extent["high"][0].as_py()) if extent.num_rows else (None, None)
        bounds = None if low is None else (low, high)
        sql = self.compiler.compile(point_in_time_call(request, self.catalog, relation, columns, bounds))
        return self._run(sql)

    def _connect(self) -> Any:
        from pyathena import connect

        options: Mapping[str, Any] = {"endpoint_url": self.location.endpoint_url} if self.location.endpoint_url else {}
        return connect(
            s3_staging_dir=self.location.s3_staging_dir,
            region_name=self.location.region,
            work_group=self.location.work_group,
            session=self.session,
            **options,
        )

    def _run(self, sql: str, unload: bool = True) -> pa.Table:
        """Run `sql`; with `unload`, as an UNLOAD to Parquet whose files are then read in bulk (and removed)."""
        if not unload:
            connection = self._connect()
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                names = [column[0] for column in cursor.description or []]
                rows = cursor.fetchall()
                return pa.table({name: [row[index] for row in rows] for index, name in enumerate(names)})
            except Exception as error:
                raise OfflineStoreError(f"the query failed on Athena: {error}") from error
            finally:
                connection.close()
        target = f"{self.location.s3_staging_dir.rstrip('/')}/{UNLOAD_FOLDER}/{uuid.uuid4().hex}/"
        statement = f"unload ({sql}) to '{target}' with (format = 'PARQUET', compression = 'SNAPPY')"
        s3 = self._client("s3")
        connection = self._connect()
        manifest = None
        try:
            cursor = connection.cursor()
            cursor.execute(statement)
            manifest = cursor.data_manifest_location
            if not manifest:
                raise OfflineStoreError("the training-set query failed on Athena: it reported no UNLOAD manifest")
            bucket, key = _split(manifest)
            listed = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8").split()
            if not listed:  # UNLOAD of no rows writes no file
                return pa.table({})
            files = [uri[len("s3://") :] for uri in listed]
            return pq.ParquetDataset(files, filesystem=self._s3_filesystem()).read(use_threads=True)
        except OfflineStoreError:
            raise
        except Exception as error:
            raise OfflineStoreError(f"the training-set query failed on Athena: {error}") from error
        finally:
            connection.close()
            bucket, prefix = _split(target)
            self._delete_prefix(s3, bucket, prefix)
            if manifest and not manifest.startswith(target):
                manifest_bucket, manifest_key = _split(manifest)
                s3.delete_object(Bucket=manifest_bucket, Key=manifest_key)

    def _s3_filesystem(self) -> Any:
        """pyarrow's S3 filesystem with the session's credentials (and the stand-in's endpoint, if any)."""
        from pyarrow import fs

        options: dict[str, Any] = {"region": self.location.region}
        credentials = self.session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options.update(access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token)
        if self.location.endpoint_url:
            endpoint = urlparse(self.location.endpoint_url)
            options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme or "https")
        return fs.S3FileSystem(**options)

    @staticmethod
    def _delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    def _clean_up(self, s3: Any, glue: Any, bucket: str, key_prefix: str, name: str) -> None:
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_table(DatabaseName=self.location.scratch_database, Name=name)
        self._delete_prefix(s3, bucket, key_prefix)
