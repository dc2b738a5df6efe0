"""Training sets on Athena: the spine goes to S3 as Parquet behind a temporary Glue table, and the compiled
point_in_time_join runs as an UNLOAD to Parquet read back in bulk (aws.athena_queries.AthenaQueryRunner.unload).
The temporary table, the spine's objects and the UNLOAD output are removed whatever happens.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from featurestore.aws.athena_queries import AthenaQueryRunner
from featurestore.aws.glue import RawTable, glue_table_input, glue_type
from featurestore.aws.s3 import delete_prefix, split_s3_uri
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import OfflineStoreError, TrainingSetError
from featurestore.core.identifiers import quote_identifier, quote_relation
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings
from featurestore.offline.base import SpineInput
from featurestore.offline.training_sets import (
    SPINE_ROW_COLUMN,
    TrainingSetRequest,
    point_in_time_call,
    resolve_spine,
    spine_table,
    time_bounds_of,
)

SPINE_TABLE_PREFIX = "featurestore_spine_"


def spine_at_milliseconds(table: pa.Table) -> pa.Table:
    """`table` with its timestamp columns truncated to milliseconds.

    The uploaded spine is a Hive table, which Athena engine v3 reads at millisecond precision, rounding: a label
    time of 11:59:59.9996 would be read as 12:00:00.000 and join a feature row stamped 12:00:00 (a future leak).
    Truncated here, a label time is never moved later (docs/athena.md, "Millisecond event times")."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            truncated = pc.floor_temporal(table.column(index), unit="millisecond")
            table = table.set_column(index, field, truncated)
    return table


class AthenaTrainingSets:
    """Training sets from the Athena offline store."""

    def __init__(
        self,
        location: AthenaSettings,
        compiler: DbtCompiler,
        catalog: FeatureGroupCatalog,
        session: Any = None,
        *,
        poll_interval: float = 1.0,
    ) -> None:
        self.location = location
        self.compiler = compiler
        self.catalog = catalog
        self.queries = AthenaQueryRunner(location, session, poll_interval=poll_interval)

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        spine = resolve_spine(spine)
        if isinstance(spine, str):
            return self._get_for_table(spine, request)
        table = spine_at_milliseconds(spine_table(spine, request.spine_time))
        columns = {name: glue_type(name, table.schema.field(name).type) for name in table.column_names}
        name = f"{SPINE_TABLE_PREFIX}{uuid.uuid4().hex}"
        prefix = f"{self.location.scratch_s3_dir.rstrip('/')}/{name}/"
        bucket, key_prefix = split_s3_uri(prefix)
        s3, glue = self.queries.client("s3"), self.queries.client("glue")
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
            result = self.queries.unload(sql, what="the training-set query")
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
        glue = self.queries.client("glue")
        try:
            described = glue.get_table(DatabaseName=database, Name=table_name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            raise TrainingSetError(f"no spine table {database}.{table_name} in the Glue catalog") from None
        columns = [
            column["Name"] for column in described["StorageDescriptor"]["Columns"] + described.get("PartitionKeys", [])
        ]
        if request.spine_time not in columns:
            raise TrainingSetError(f"spine_time '{request.spine_time}' is not a column of {spine} (columns: {columns})")
        relation = quote_relation(database, table_name)
        time = quote_identifier(request.spine_time)
        # One small query for the label times' range, so the join's feature scans get literal bounds (pruning).
        extent = self.queries.fetch(
            f"select min({time}) as low, max({time}) as high from {relation}",
            what=f"the time range query of spine table {spine}",
        )
        low, high = (extent["low"][0].as_py(), extent["high"][0].as_py()) if extent.num_rows else (None, None)
        bounds: tuple[datetime, datetime] | None = None if low is None or high is None else (low, high)
        sql = self.compiler.compile(point_in_time_call(request, self.catalog, relation, columns, bounds))
        return self.queries.unload(sql, what="the training-set query")

    def _clean_up(self, s3: Any, glue: Any, bucket: str, key_prefix: str, name: str) -> None:
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_table(DatabaseName=self.location.scratch_database, Name=name)
        delete_prefix(s3, bucket, key_prefix)
