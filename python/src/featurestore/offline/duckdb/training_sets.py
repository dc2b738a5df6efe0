"""Training sets from the local offline store: the spine is registered in an in-memory DuckDB that attaches
the offline store's file read-only, and the compiled point_in_time_join runs there."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import TrainingSetError
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.base import SpineInput
from featurestore.offline.duckdb.reader import check_built
from featurestore.offline.training_sets import (
    SPINE_ROW_COLUMN,
    TrainingSetRequest,
    point_in_time_call,
    spine_table,
    time_bounds_of,
)


def database_of(relation_name: str) -> str:
    """The database (catalog) part of a rendered relation name such as "featurestore"."main_features"."x"."""
    return relation_name.split(".")[0].strip('"')


class LocalTrainingSets:
    """Training sets from the local offline store (the DuckDB file of the `local` dbt target)."""

    def __init__(self, duckdb_path: Path, compiler: DbtCompiler, catalog: FeatureGroupCatalog) -> None:
        self.duckdb_path = duckdb_path
        self.compiler = compiler
        self.catalog = catalog

    def _connect(self) -> duckdb.DuckDBPyConnection:
        check_built(self.duckdb_path)
        connection = duckdb.connect()
        databases = {database_of(group.relation_name) for group in self.catalog}
        for database in sorted(databases):
            # The compiled SQL names relations by the file's database name; attach it under that name.
            connection.execute(f"attach '{self.duckdb_path}' as \"{database}\" (read_only)")
        if len(databases) == 1:  # so that a spine named `schema.table` resolves as it does in the dbt project
            connection.execute(f'use "{databases.pop()}"')
        return connection

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        connection = self._connect()
        try:
            if isinstance(spine, str):
                try:
                    relation = connection.sql(f"select * from {spine}")
                except duckdb.Error as error:
                    raise TrainingSetError(f"cannot read the spine table {spine!r}: {error}") from error
                table = relation.to_arrow_table()
            else:
                table = spine
            table = spine_table(table, request.spine_time)
            connection.register("featurestore_spine", table)
            sql = self.compiler.compile(
                point_in_time_call(
                    request,
                    self.catalog,
                    "featurestore_spine",
                    table.column_names,
                    time_bounds_of(table, request.spine_time),
                )
            )
            try:
                result = connection.sql(f"select * from ({sql}) order by {SPINE_ROW_COLUMN}").to_arrow_table()
            except duckdb.Error as error:
                raise TrainingSetError(f"the training-set query failed: {error}") from error
        finally:
            connection.close()
        return result.drop_columns([SPINE_ROW_COLUMN])
