"""Reading feature groups from the production offline store (Iceberg tables) through Athena."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.errors import OfflineStoreError
from featurestore.offline_queries import latest_changed_rows_sql


class AthenaOfflineStore:
    """Runs the sync's query on Athena with pyathena; `connect` returns a DB-API connection.

    Results come back through GetQueryResults pages; for full loads of many millions of entities an
    UNLOAD-based cursor would be faster (not needed for incremental syncs, which read few rows)."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect

    @classmethod
    def from_options(
        cls, *, s3_staging_dir: str, region_name: str, work_group: str = "primary", **kwargs: Any
    ) -> AthenaOfflineStore:
        def connect() -> Any:
            from pyathena import connect as athena_connect

            return athena_connect(
                s3_staging_dir=s3_staging_dir, region_name=region_name, work_group=work_group, **kwargs
            )

        return cls(connect)

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline_queries.latest_changed_rows_sql)."""
        sql = latest_changed_rows_sql(group, since, now, valid_after)
        try:
            connection = self._connect()
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                names = [column[0] for column in cursor.description or []]
                rows = cursor.fetchall()
            finally:
                connection.close()
        except Exception as error:  # pyathena wraps botocore and query failures in its own DB-API errors
            if isinstance(error, OfflineStoreError):
                raise
            raise OfflineStoreError(
                f"reading feature group '{group.name}' ({group.relation_name}) from Athena failed: {error}"
            ) from error
        if not names:
            names = [*group.entity, group.event_time, *group.feature_names, "computed_at"]
        return (
            pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows], schema=None)
            if rows
            else (pa.table({name: pa.array([], pa.null()) for name in names}))
        )
