"""Reading feature groups from the local offline store (the DuckDB file that dbt builds): the sync's reads and
`featurestore show`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.definitions import StoredDefinition
from featurestore.core.errors import OfflineStoreError
from featurestore.core.identifiers import quote_relation, relation_parts
from featurestore.offline.duckdb.files import busy_error, check_built
from featurestore.offline.queries import latest_changed_rows_sql, preview_sql, rows_that_exist


def local_relation(group: FeatureGroup) -> str:
    """The group's table in the DuckDB file that is open, whatever database the manifest names.

    dbt-duckdb names a file's database after its stem, and the manifest records the database of the last
    dbt invocation: after a `dbt run` against another file (FEATURESTORE_DUCKDB_PATH), relation_name names
    that file's database. Reading `schema.table` of the configured file (the open connection's default
    database) instead keeps every command on the configured offline store."""
    return quote_relation(*relation_parts(group.relation_name)[-2:])


class DuckDBOfflineStore:
    """Read-only access to the DuckDB file of the `local` dbt target."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> duckdb.DuckDBPyConnection:
        check_built(self.path)
        try:
            return duckdb.connect(str(self.path), read_only=True)
        except duckdb.IOException as error:
            raise busy_error(self.path, error) from error

    def _query(self, group: FeatureGroup, sql: str) -> pa.Table:
        with self._connect() as connection:
            try:
                return connection.sql(sql).to_arrow_table()
            except duckdb.CatalogException as error:
                parts = relation_parts(group.relation_name)
                other = (
                    f" (target/manifest.json names the database '{parts[0]}', not '{self.path.stem}': was dbt last "
                    "run against another DuckDB file, FEATURESTORE_DUCKDB_PATH?)"
                    if len(parts) == 3 and parts[0] != self.path.stem
                    else ""
                )
                raise OfflineStoreError(
                    f"feature group '{group.name}' is not built in {self.path} ({local_relation(group)}){other}; "
                    f"run `dbt build --select {group.name}`"
                ) from error

    def query(self, group: FeatureGroup, sql: str) -> pa.Table:
        """Run a read-only query about `group` (OfflineStoreError naming it when its table is not built)."""
        return self._query(group, sql)

    def preview(
        self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None, key: Sequence[object] | None = None
    ) -> pa.Table:
        """Rows of a group for `featurestore show` (see offline.queries.preview_sql)."""
        return self._query(group, preview_sql(group, limit, as_of, key, local_relation(group)))

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline.queries.latest_changed_rows_sql)."""
        return self._query(group, latest_changed_rows_sql(group, since, now, valid_after, local_relation(group)))

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline."""
        return rows_that_exist(group, rows, lambda sql: self._query(group, sql), local_relation(group))

    def stored_definition(self, group: FeatureGroup) -> StoredDefinition | None:
        """The definition record dbt stored in the table's comment (None: built before fingerprints existed);
        OfflineStoreError when the table is not built."""
        schema, table = relation_parts(group.relation_name)[-2:]
        with self._connect() as connection:
            rows = connection.execute(
                "select comment from duckdb_tables() where database_name = current_database() "
                "and schema_name = ? and table_name = ?",
                [schema, table],
            ).fetchall()
        if not rows:
            raise OfflineStoreError(
                f"feature group '{group.name}' is not built in {self.path} ({local_relation(group)}); "
                f"run `dbt build --select {group.name}`"
            )
        return StoredDefinition.from_comment(rows[0][0], f"{group.name} ({local_relation(group)})")
