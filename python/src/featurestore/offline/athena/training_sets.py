"""Training sets on Athena: the spine (its key and time columns) and any candidate's data go to S3 as Parquet
behind temporary Glue tables, and the compiled point_in_time_join runs as an UNLOAD to Parquet read back in bulk
(aws.athena_queries.AthenaQueryRunner.unload_exact: every timestamp column of the result goes through UNLOAD as
text, since UNLOAD's Hive writer refuses the Iceberg tables' timestamp(6), and comes back to the microsecond). The
temporary tables, their objects and the UNLOAD output are removed whatever happens; the spine's other columns are
put back beside the features locally (offline/frames.py).
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Mapping, Sequence
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
from featurestore.core.identifiers import quote_identifier, quote_relation, relation_parts
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings
from featurestore.core.timestamps import is_timestamp_type
from featurestore.offline.base import SpineInput
from featurestore.offline.candidates import (
    ResolvedCandidate,
    by_name,
    candidate_table,
    check_candidates,
    table_relation,
)
from featurestore.offline.frames import with_spine_columns
from featurestore.offline.training_sets import (
    SPINE_ROW_COLUMN,
    OutputColumn,
    TrainingSetRequest,
    key_columns,
    output_columns,
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


def candidate_at_milliseconds(table: pa.Table, event_time: str) -> pa.Table:
    """A candidate's rows with their event time rounded *up* to milliseconds.

    The uploaded candidate is a Hive table, which Athena reads at milliseconds, rounding: a row stamped
    12:00:00.0004 would be read as 12:00:00.000 and join a label at 12:00:00 (a future leak). Rounded up here, a
    feature row is never used earlier than its time (docs/athena.md, "Millisecond event times")."""
    index = table.column_names.index(event_time)
    return table.set_column(index, event_time, pc.ceil_temporal(table[event_time], unit="millisecond"))


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
        spine = resolve_spine(spine)  # before any AWS call: a refused spine never reaches AWS
        s3, glue = self.queries.client("s3"), self.queries.client("glue")
        uploaded: list[str] = []  # temporary tables (and their S3 folders), removed whatever happens
        try:
            candidates = by_name(self._resolve_candidates(request, uploaded))
            if isinstance(spine, str):  # a table name (resolve_spine read a Parquet file)
                return self._get_for_table(spine, request, candidates)
            entries = request.feature_groups(self.catalog, candidates)
            outputs = output_columns(self.compiler, entries)
            table, joined = spine_table(spine, request.spine_time, key_columns(entries, self.catalog))
            joined = spine_at_milliseconds(joined)
            relation = self._upload(joined, f"{SPINE_TABLE_PREFIX}{uuid.uuid4().hex}", "spine", uploaded)
            sql = self.compiler.compile(
                point_in_time_call(
                    request, entries, relation, joined.column_names, time_bounds_of(joined, request.spine_time)
                )
            )
            # The spine's own columns come from the input (with_spine_columns): only the row number goes back.
            result = self._unload(sql, {SPINE_ROW_COLUMN: "bigint"}, outputs, candidates)
        finally:
            for name in uploaded:
                self._clean_up(s3, glue, name)
        # UNLOAD writes files in no particular order: restore the spine's.
        result = result.take(pc.sort_indices(result[SPINE_ROW_COLUMN]))
        return with_spine_columns(table, result, joined.column_names)

    def _unload(
        self,
        sql: str,
        spine_types: Mapping[str, str],
        outputs: Sequence[OutputColumn],
        candidates: Mapping[str, ResolvedCandidate],
    ) -> pa.Table:
        """The join's result: the spine columns of `spine_types` (name: Athena type) and the `outputs`, every
        timestamp among them carried exactly (AthenaQueryRunner.unload_exact)."""
        timestamps = [name for name, data_type in spine_types.items() if is_timestamp_type(data_type)]
        candidate_timestamps = {name: self._timestamp_columns(candidate) for name, candidate in candidates.items()}
        for output in outputs:
            if output.group in candidate_timestamps:
                is_timestamp = output.column in candidate_timestamps[output.group]
            else:  # a model: its event time, or a feature whose YAML data_type is a timestamp
                group = self.catalog.get(output.group)
                is_timestamp = output.column == group.event_time or is_timestamp_type(
                    group.feature(output.column).data_type
                )
            if is_timestamp:
                timestamps.append(output.name)
        columns = [*spine_types, *(output.name for output in outputs)]
        table = self.queries.unload_exact(sql, columns, timestamps, what="the training-set query")
        if table.num_columns == 0:
            # No rows (an empty spine): UNLOAD wrote no file, so no schema came back; the names and the
            # timestamps are known, the other types are not.
            return pa.table(
                {name: pa.array([], pa.timestamp("us") if name in timestamps else pa.null()) for name in columns}
            )
        missing = [name for name in columns if name not in table.column_names]
        if missing:
            raise OfflineStoreError(
                f"the training-set query: Athena returned no column {', '.join(missing)} "
                f"(columns: {', '.join(table.column_names)})"
            )
        return table.select(columns)

    def _timestamp_columns(self, candidate: ResolvedCandidate) -> set[str]:
        """A candidate's timestamp columns: its event time, and those of a timestamp type (its Arrow types when
        uploaded, its Glue types when it is a table of the offline store)."""
        if candidate.table is not None:
            found = {field.name for field in candidate.table.schema if pa.types.is_timestamp(field.type)}
        else:
            _, _, columns = self._glue_columns(candidate.candidate.data)
            found = {name for name, data_type in columns.items() if is_timestamp_type(data_type)}
        return found | {candidate.candidate.event_time}

    def _upload(self, table: pa.Table, name: str, what: str, uploaded: list[str]) -> str:
        """`table` as Parquet in the scratch folder behind a temporary Glue table `name`; its relation name."""
        columns = {column: glue_type(column, table.schema.field(column).type, what) for column in table.column_names}
        prefix = f"{self.location.scratch_s3_dir.rstrip('/')}/{name}/"
        bucket, key_prefix = split_s3_uri(prefix)
        s3, glue = self.queries.client("s3"), self.queries.client("glue")
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": self.location.scratch_database})
        buffer = io.BytesIO()
        pq.write_table(table, buffer, coerce_timestamps="us", allow_truncated_timestamps=False)
        uploaded.append(name)
        s3.put_object(Bucket=bucket, Key=f"{key_prefix}{what}.parquet", Body=buffer.getvalue())
        glue.create_table(
            DatabaseName=self.location.scratch_database, TableInput=glue_table_input(RawTable(name, columns), prefix)
        )
        return quote_relation(self.location.scratch_database, name)

    def _resolve_candidates(self, request: TrainingSetRequest, uploaded: list[str]) -> list[ResolvedCandidate]:
        """Candidates' data uploaded like the spine; a candidate that names a table is read where it is."""
        check_candidates(request.candidates, self.catalog)
        resolved = []
        for index, candidate in enumerate(request.candidates):
            if candidate.is_relation:
                database, table_name, columns = self._glue_columns(candidate.data)
                resolved.append(ResolvedCandidate(candidate, quote_relation(database, table_name), tuple(columns)))
            else:
                table = candidate_at_milliseconds(candidate_table(candidate), candidate.event_time)
                name = f"{table_relation(candidate, index)}_{uuid.uuid4().hex}"
                relation = self._upload(table, name, "candidate", uploaded)
                resolved.append(ResolvedCandidate(candidate, relation, tuple(table.column_names), table))
        return resolved

    def _glue_columns(self, name: str) -> tuple[str, str, dict[str, str]]:
        """(database, table, {column: Glue type}) of an Athena table named `table` (in the location's database)
        or `database.table`."""
        *schema, table_name = relation_parts(name)  # checked by table_name_problem: one or two parts
        database = schema[-1] if schema else self.location.scratch_database
        glue = self.queries.client("glue")
        try:
            described = glue.get_table(DatabaseName=database, Name=table_name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            raise TrainingSetError(f"no table {database}.{table_name} in the Glue catalog") from None
        columns = {
            column["Name"]: str(column.get("Type", ""))
            for column in described["StorageDescriptor"]["Columns"] + described.get("PartitionKeys", [])
        }
        return database, table_name, columns

    def _get_for_table(
        self, spine: str, request: TrainingSetRequest, candidates: Mapping[str, ResolvedCandidate]
    ) -> pa.Table:
        """A spine that is already an Athena table (`table` in the location's database, or `database.table`)."""
        database, table_name, types = self._glue_columns(spine)
        columns = list(types)
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
        entries = request.feature_groups(self.catalog, candidates)
        outputs = output_columns(self.compiler, entries)
        sql = self.compiler.compile(point_in_time_call(request, entries, relation, columns, bounds))
        return self._unload(sql, types, outputs, candidates)

    def _clean_up(self, s3: Any, glue: Any, name: str) -> None:
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_table(DatabaseName=self.location.scratch_database, Name=name)
        bucket, key_prefix = split_s3_uri(f"{self.location.scratch_s3_dir.rstrip('/')}/{name}/")
        delete_prefix(s3, bucket, key_prefix)
