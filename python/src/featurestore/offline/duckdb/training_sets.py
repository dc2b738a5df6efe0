"""Training sets from the local offline store: the spine is registered in an in-memory DuckDB that attaches
the offline store's file read-only, and the compiled point_in_time_join runs there."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import OfflineStoreError, TrainingSetError
from featurestore.core.identifiers import quote_identifier, relation_parts
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.base import SpineInput
from featurestore.offline.duckdb.reader import check_built
from featurestore.offline.training_sets import (
    SPINE_ROW_COLUMN,
    TrainingSetRequest,
    point_in_time_call,
    resolve_spine,
    spine_table,
    time_bounds_of,
)


class LocalTrainingSets:
    """Training sets from the local offline store (the DuckDB file of the `local` dbt target)."""

    def __init__(self, duckdb_path: Path, compiler: DbtCompiler, catalog: FeatureGroupCatalog) -> None:
        self.duckdb_path = duckdb_path
        self.compiler = compiler
        self.catalog = catalog

    def _database(self) -> str:
        """The database name by which the compiled SQL names relations: dbt-duckdb's name for the file of the
        profile, as the in-process compiler parses the project now. Not target/manifest.json's, which names
        the file of the last dbt invocation: a `dbt run` against another file must not send reads there."""
        nodes = self.compiler.manifest().nodes
        databases: set[str] = {
            str(nodes[group.unique_id].database) for group in self.catalog if group.unique_id in nodes
        }
        if not databases:
            databases = {relation_parts(group.relation_name)[0] for group in self.catalog}
        if len(databases) != 1:
            raise OfflineStoreError(f"the feature groups name several databases ({', '.join(sorted(databases))})")
        return databases.pop()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        check_built(self.duckdb_path)
        database = self._database()
        connection = duckdb.connect()
        # The compiled SQL names relations by that database name; attach the configured file under it, and
        # use it, so that a spine named `schema.table` resolves as it does in the dbt project.
        path = str(self.duckdb_path).replace("'", "''")
        connection.execute(f"attach '{path}' as {quote_identifier(database)} (read_only)")
        connection.execute(f"use {quote_identifier(database)}")
        # No file access from here on (read_csv, COPY ... TO, a table name read as a file name by DuckDB's
        # replacement scans): the query reads the attached store and the registered spine only.
        connection.execute("set enable_external_access = false")
        return connection

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        spine = resolve_spine(spine)
        connection = self._connect()
        try:
            if isinstance(spine, str):
                try:
                    relation = connection.sql(f"select * from {spine}")
                except duckdb.Error as error:
                    raise TrainingSetError(f"cannot read the spine table {spine}: {error}") from error
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
