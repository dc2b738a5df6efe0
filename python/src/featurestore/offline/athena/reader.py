"""Reading feature groups from the production offline store (Iceberg tables) through Athena."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from featurestore.aws.athena_queries import AthenaQueryRunner
from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import OfflineStoreError
from featurestore.core.settings import AthenaSettings
from featurestore.core.timestamps import is_timestamp_type
from featurestore.offline.queries import COMPUTED_AT, latest_changed_rows_sql, preview_sql, rows_that_exist


class AthenaOfflineStore:
    """The sync's reader on Athena: its query runs as an UNLOAD to Parquet, whose files are read in bulk
    (aws.athena_queries.AthenaQueryRunner.unload), so a full load of many millions of entities is not fetched row
    by row through GetQueryResults. `session` and `poll_interval` as for AthenaQueryRunner."""

    def __init__(self, location: AthenaSettings, session: Any = None, *, poll_interval: float = 1.0) -> None:
        self.queries = AthenaQueryRunner(location, session, poll_interval=poll_interval)

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline.queries.latest_changed_rows_sql): the entity
        columns, the event time, the features and computed_at, in that order."""
        names = [*group.entity, group.event_time, *group.feature_names, COMPUTED_AT]
        what = f"reading feature group '{group.name}' ({group.relation_name})"
        timestamps = [group.event_time, COMPUTED_AT]
        timestamps += [f.name for f in group.features if is_timestamp_type(f.data_type)]
        table = self.queries.unload_exact(
            latest_changed_rows_sql(group, since, now, valid_after), names, timestamps, what=what
        )
        if table.num_columns == 0:
            # No row changed: UNLOAD wrote no file, so there is no schema to read; the names are known, not the
            # types, and an empty column of any type turns into no records.
            return pa.table({name: pa.array([], pa.null()) for name in names})
        missing = [name for name in names if name not in table.column_names]
        if missing:
            raise OfflineStoreError(
                f"{what}: Athena returned no column {', '.join(missing)} (columns: {', '.join(table.column_names)})"
            )
        return table.select(names)

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline (a small result: fetched, not
        unloaded)."""
        what = f"checking rows of feature group '{group.name}' ({group.relation_name})"
        return rows_that_exist(group, rows, lambda sql: self.queries.fetch(sql, what=what))

    def query(self, group: FeatureGroup, sql: str) -> pa.Table:
        """Run a read-only query about `group` with a small result (fetched, not unloaded)."""
        return self.queries.fetch(sql, what=f"reading feature group '{group.name}' ({group.relation_name})")

    def preview(
        self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None, key: Sequence[object] | None = None
    ) -> pa.Table:
        """Rows of a group for `featurestore show` (see offline.queries.preview_sql); a few rows: fetched."""
        what = f"reading feature group '{group.name}' ({group.relation_name})"
        return self.queries.fetch(preview_sql(group, limit, as_of, key), what=what)
