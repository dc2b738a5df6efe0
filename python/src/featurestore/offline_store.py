"""Reading feature groups from the local offline store (the DuckDB file that dbt builds)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.errors import OfflineStoreError
from featurestore.offline_queries import latest_changed_rows_sql


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

    def _query(self, group: FeatureGroup, sql: str) -> pa.Table:
        with self._connect() as connection:
            try:
                return connection.sql(sql).to_arrow_table()
            except duckdb.CatalogException as error:
                raise OfflineStoreError(
                    f"feature group '{group.name}' is not built in {self.path} ({group.relation_name}); "
                    f"run `dbt build --select {group.name}`"
                ) from error

    def preview(self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None) -> pa.Table:
        """Rows of a group, newest first; with `as_of`, each entity's row valid at that time (UTC)."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        columns = ", ".join([*group.entity, group.event_time, *group.feature_names])
        entity = ", ".join(group.entity)
        if as_of is None:
            where = qualify = ""
        else:
            utc = as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of
            literal = utc.isoformat(sep=" ")
            where = f"where {group.event_time} <= timestamp '{literal}'"
            qualify = f"qualify row_number() over (partition by {entity} order by {group.event_time} desc) = 1"
        return self._query(
            group,
            f"select {columns} from {group.relation_name} {where} {qualify} "
            f"order by {group.event_time} desc, {entity} limit {int(limit)}",
        )

    def latest_changed_rows(self, group: FeatureGroup, since: datetime | None) -> pa.Table:
        """Each entity's latest row, for entities whose latest row changed after `since` (see the sync)."""
        return self._query(group, latest_changed_rows_sql(group, since))
