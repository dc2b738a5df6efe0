"""Reading feature groups from the local offline store (the DuckDB file that dbt builds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.duckdb_files import database_of, open_offline_store
from featurestore.errors import EntityKeyError, OfflineStoreError
from featurestore.key_encoding import coerce_key_part
from featurestore.offline_queries import latest_changed_rows_sql, rows_that_exist
from featurestore.value_codec import naive_utc


class DuckDBOfflineStore:
    """Read-only access to the DuckDB file of the `local` dbt target."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self, group: FeatureGroup) -> duckdb.DuckDBPyConnection:
        # Under the database name of the group's relation: the file may have been copied or renamed since dbt
        # parsed the project (see duckdb_files.py).
        return open_offline_store(self.path, database_of(group.relation_name, self.path))

    def _query(self, group: FeatureGroup, sql: str, params: Sequence[object] = ()) -> pa.Table:
        with self._connect(group) as connection:
            try:
                return connection.sql(sql, params=list(params) or None).to_arrow_table()
            except duckdb.CatalogException as error:
                raise OfflineStoreError(
                    f"feature group '{group.name}' is not built in {self.path} ({group.relation_name}); "
                    f"run `dbt build --select {group.name}`"
                ) from error

    def preview(
        self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None, key: Sequence[object] | None = None
    ) -> pa.Table:
        """Rows of a group, newest first; with `as_of`, each entity's row valid at that time (UTC): its latest
        row with event time <= as_of, the row a sync with that `now` puts online. With `key` (values in the
        group's entity order, text accepted for integers), only that entity's rows."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        columns = ", ".join([*group.entity, group.event_time, *group.feature_names])
        entity = ", ".join(group.entity)
        conditions = []
        params: list[object] = []
        if key is not None:
            if len(key) != len(group.entity):
                raise EntityKeyError(
                    f"feature group '{group.name}' is keyed by {entity}: {len(group.entity)} value(s), got {len(key)}"
                )
            types = group.entity_types or ("",) * len(group.entity)
            for column, data_type, value in zip(group.entity, types, key, strict=True):
                conditions.append(f"{column} = ?")
                params.append(coerce_key_part(value, data_type, group=group.name, column=column))
        qualify = ""
        if as_of is not None:
            conditions.append(f"{group.event_time} <= timestamp '{naive_utc(as_of).isoformat(sep=' ')}'")
            qualify = f"qualify row_number() over (partition by {entity} order by {group.event_time} desc) = 1"
        where = f"where {' and '.join(conditions)}" if conditions else ""
        return self._query(
            group,
            f"select {columns} from {group.relation_name} {where} {qualify} "
            f"order by {group.event_time} desc, {entity} limit {int(limit)}",
            params,
        )

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline_queries.latest_changed_rows_sql)."""
        return self._query(group, latest_changed_rows_sql(group, since, now, valid_after))

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline."""
        return rows_that_exist(group, rows, lambda sql: self._query(group, sql))
