"""Training sets from the local offline store: the spine's join columns (and any candidate's data) are
registered in an in-memory DuckDB that attaches the offline store's file read-only, and the compiled
point_in_time_join runs there."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import OfflineStoreError, TrainingSetError
from featurestore.core.identifiers import quote_identifier
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.base import SpineInput
from featurestore.offline.candidates import (
    ResolvedCandidate,
    by_name,
    candidate_relation,
    candidate_table,
    check_candidates,
    table_relation,
)
from featurestore.offline.duckdb.files import attach_offline_store, database_of
from featurestore.offline.frames import with_spine_columns
from featurestore.offline.training_sets import (
    SPINE_ROW_COLUMN,
    TrainingSetRequest,
    key_columns,
    point_in_time_call,
    resolve_spine,
    spine_table,
    time_bounds_of,
)

# A three-part relation name as dbt renders it: "database"."schema"."table".
_QUALIFIED_DATABASE = re.compile(r'"((?:[^"]|"")+)"\."(?:[^"]|"")+"\."(?:[^"]|"")+"')


class LocalTrainingSets:
    """Training sets from the local offline store (the DuckDB file of the `local` dbt target)."""

    def __init__(self, duckdb_path: Path, compiler: DbtCompiler, catalog: FeatureGroupCatalog) -> None:
        self.duckdb_path = duckdb_path
        self.compiler = compiler
        self.catalog = catalog

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A session with the configured file attached under the database that target/manifest.json names
        (the name the macro renderer writes); _use_database_of corrects it once the SQL is compiled."""
        connection = duckdb.connect()
        try:
            # Our own session: UTC, so that zoned values come back in UTC (the join itself does not depend on it).
            connection.execute("set TimeZone = 'UTC'")
            databases = sorted({database_of(group.relation_name, self.duckdb_path) for group in self.catalog})
            if len(databases) > 1:
                raise OfflineStoreError(
                    f"the manifest's feature groups live in several databases: {', '.join(databases)}"
                )
            attach_offline_store(connection, self.duckdb_path, databases[0] if databases else self.duckdb_path.stem)
        except BaseException:
            connection.close()
            raise
        return connection

    def _resolve_candidates(
        self, connection: duckdb.DuckDBPyConnection, request: TrainingSetRequest
    ) -> list[ResolvedCandidate]:
        check_candidates(request.candidates, self.catalog)
        resolved = []
        for index, candidate in enumerate(request.candidates):
            if candidate.is_relation:
                relation = candidate_relation(candidate)
                try:
                    columns = tuple(connection.sql(f"select * from {relation} limit 0").columns)
                except duckdb.Error as error:
                    raise TrainingSetError(
                        f"candidate '{candidate.name}': cannot read the table {candidate.data!r}: {error}"
                    ) from error
                resolved.append(ResolvedCandidate(candidate, relation, columns))
            else:
                table = candidate_table(candidate)
                relation = table_relation(candidate, index)
                connection.register(relation, table)
                resolved.append(ResolvedCandidate(candidate, relation, tuple(table.column_names), table))
        return resolved

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table:
        spine = resolve_spine(spine)  # a table name comes back checked and quoted, a Parquet file as Arrow
        connection = self._connect()
        try:
            if isinstance(spine, str):
                try:
                    relation = connection.sql(f"select * from {spine}")
                except duckdb.Error as error:
                    raise TrainingSetError(f"cannot read the spine table {spine}: {error}") from error
                spine = relation.to_arrow_table()
            candidates = by_name(self._resolve_candidates(connection, request))
            entries = request.feature_groups(self.catalog, candidates)
            table, joined = spine_table(spine, request.spine_time, key_columns(entries, self.catalog))
            connection.register("featurestore_spine", joined)
            sql = self.compiler.compile(
                point_in_time_call(
                    request,
                    entries,
                    "featurestore_spine",
                    joined.column_names,
                    time_bounds_of(joined, request.spine_time),
                )
            )
            self._use_database_of(connection, sql)
            try:
                result = connection.sql(f"select * from ({sql}) order by {SPINE_ROW_COLUMN}").to_arrow_table()
            except duckdb.Error as error:
                raise TrainingSetError(f"the training-set query failed: {error}") from error
        finally:
            connection.close()
        return with_spine_columns(table, result, joined.column_names)

    def _use_database_of(self, connection: duckdb.DuckDBPyConnection, sql: str) -> None:
        """Attach the offline store under the database that the compiled SQL names, when it differs from the
        manifest's (dbt compiled it, parsing the project with the configured file; the manifest was written by a
        `dbt run` against another file): the configured file is read, whatever the SQL calls it."""
        named = sorted({name.replace('""', '"') for name in _QUALIFIED_DATABASE.findall(sql)})
        ((current,),) = connection.sql("select current_database()").fetchall()
        if len(named) == 1 and named[0] != current:
            connection.execute("use memory")
            connection.execute(f"detach {quote_identifier(current)}")
            attach_offline_store(connection, self.duckdb_path, named[0])
