"""Reading feature groups from the local offline store (the DuckDB file that dbt builds): the sync's reads and
`featurestore show`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OfflineStoreError
from featurestore.offline.duckdb.files import database_of, open_offline_store
from featurestore.offline.queries import latest_changed_rows_sql, preview_sql, rows_that_exist


class DuckDBOfflineStore:
    """Read-only access to the DuckDB file of the `local` dbt target."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self, group: FeatureGroup) -> duckdb.DuckDBPyConnection:
        # Under the database name of the group's relation: the file may have been copied or renamed since dbt
        # parsed the project (see offline/duckdb/files.py).
        return open_offline_store(self.path, database_of(group.relation_name, self.path))

    def _query(self, group: FeatureGroup, sql: str) -> pa.Table:
        with self._connect(group) as connection:
            try:
                return connection.sql(sql).to_arrow_table()
            except duckdb.CatalogException as error:
                raise OfflineStoreError(
                    f"feature group '{group.name}' is not built in {self.path} ({group.relation_name}); "
                    f"run `dbt build --select {group.name}`"
                ) from error

    def preview(
        self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None, key: Sequence[object] | None = None
    ) -> pa.Table:
        """Rows of a group for `featurestore show` (see offline.queries.preview_sql)."""
        return self._query(group, preview_sql(group, limit, as_of, key))

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline.queries.latest_changed_rows_sql)."""
        return self._query(group, latest_changed_rows_sql(group, since, now, valid_after))

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline."""
        return rows_that_exist(group, rows, lambda sql: self._query(group, sql))
