"""Reading feature groups from the local offline store (the DuckDB file that dbt builds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.errors import EntityKeyError, OfflineStoreError
from featurestore.identifiers import quote_identifier as q
from featurestore.identifiers import quote_relation, relation_parts
from featurestore.key_encoding import coerce_key_part
from featurestore.offline_queries import latest_changed_rows_sql, rows_that_exist
from featurestore.value_codec import naive_utc


def local_relation(group: FeatureGroup) -> str:
    """The group's table in the DuckDB file that is open, whatever database the manifest names.

    dbt-duckdb names a file's database after its stem, and the manifest records the database of the last
    dbt invocation: after a `dbt run` against another file (FEATURESTORE_DUCKDB_PATH), relation_name names
    that file's database. Reading `schema.table` of the configured file (the open connection's default
    database) instead keeps every command on the configured offline store."""
    parts = relation_parts(group.relation_name)
    return quote_relation(*parts[-2:])


class DuckDBOfflineStore:
    """Read-only access to the DuckDB file of the `local` dbt target."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.path.is_file():
            raise OfflineStoreError(
                f"no DuckDB offline store at {self.path}; run `dbt build --target local` (or `make demo`) first"
            )
        try:
            return duckdb.connect(str(self.path), read_only=True)
        except duckdb.IOException as error:
            raise OfflineStoreError(
                f"cannot open the DuckDB offline store at {self.path} ({error}); if dbt is running on it, "
                "wait for it to finish"
            ) from error

    def _query(self, group: FeatureGroup, sql: str, params: Sequence[object] = ()) -> pa.Table:
        with self._connect() as connection:
            try:
                return connection.sql(sql, params=list(params) or None).to_arrow_table()
            except duckdb.CatalogException as error:
                database = relation_parts(group.relation_name)[0]
                other = (
                    f" (target/manifest.json names the database '{database}', not '{self.path.stem}': was dbt last "
                    "run against another DuckDB file, FEATURESTORE_DUCKDB_PATH?)"
                    if len(relation_parts(group.relation_name)) == 3 and database != self.path.stem
                    else ""
                )
                raise OfflineStoreError(
                    f"feature group '{group.name}' is not built in {self.path} ({local_relation(group)}){other}; "
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
        columns = ", ".join(q(name) for name in [*group.entity, group.event_time, *group.feature_names])
        entity = ", ".join(q(column) for column in group.entity)
        event_time = q(group.event_time)
        conditions = []
        params: list[object] = []
        if key is not None:
            if len(key) != len(group.entity):
                raise EntityKeyError(
                    f"feature group '{group.name}' is keyed by {', '.join(group.entity)}: "
                    f"{len(group.entity)} value(s), got {len(key)}"
                )
            types = group.entity_types or ("",) * len(group.entity)
            for column, data_type, value in zip(group.entity, types, key, strict=True):
                conditions.append(f"{q(column)} = ?")
                params.append(coerce_key_part(value, data_type, group=group.name, column=column))
        qualify = ""
        if as_of is not None:
            conditions.append(f"{event_time} <= timestamp '{naive_utc(as_of).isoformat(sep=' ')}'")
            qualify = f"qualify row_number() over (partition by {entity} order by {event_time} desc) = 1"
        where = f"where {' and '.join(conditions)}" if conditions else ""
        return self._query(
            group,
            f"select {columns} from {local_relation(group)} {where} {qualify} "
            f"order by {event_time} desc, {entity} limit {int(limit)}",
            params,
        )

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline_queries.latest_changed_rows_sql)."""
        return self._query(group, latest_changed_rows_sql(group, since, now, valid_after, local_relation(group)))

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline."""
        return rows_that_exist(group, rows, lambda sql: self._query(group, sql), local_relation(group))
