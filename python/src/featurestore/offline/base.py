"""What an offline engine provides: the sync's reads, `featurestore show`'s preview, and training sets.

Each engine (offline/duckdb/, offline/athena/) implements these in its own package; `open_offline_store`
in offline/__init__.py picks one by the dbt target.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.definitions import StoredDefinition
from featurestore.offline.training_sets import TrainingSetRequest

# An Arrow table, a pandas DataFrame, a Parquet file or a table name (see offline.training_sets.resolve_spine).
SpineInput: TypeAlias = "pa.Table | str | Path | Any"


class OfflineReader(Protocol):
    """What the sync reads (offline/queries.py has the SQL)."""

    def latest_changed_rows(
        self, group: FeatureGroup, since: datetime | None, now: datetime, valid_after: datetime | None = None
    ) -> pa.Table:
        """Each changed entity's row valid at `now` (see offline.queries.latest_changed_rows_sql)."""
        ...

    def existing_rows(self, group: FeatureGroup, rows: Sequence[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (encoded key, event time) pairs among `rows` that exist offline."""
        ...


class OfflineStore(OfflineReader, Protocol):
    """An engine's reader: the sync's reads, the preview of `featurestore show` and small queries (catalog)."""

    def preview(
        self, group: FeatureGroup, limit: int = 5, as_of: datetime | None = None, key: Sequence[object] | None = None
    ) -> pa.Table:
        """Rows of a group, newest first (see offline.queries.preview_sql)."""
        ...

    def query(self, group: FeatureGroup, sql: str) -> pa.Table:
        """A read-only query about `group` with a small result (the catalog's statistics, freshness);
        OfflineStoreError when it cannot be read."""
        ...

    def stored_definition(self, group: FeatureGroup) -> StoredDefinition | None:
        """The definition record dbt stored with the group's table (core/definitions.py), None when the table
        has none (built before fingerprints existed); OfflineStoreError when the table is not built."""
        ...


class TrainingSetSource(Protocol):
    """An engine's training sets: the spine joined point-in-time to the requested features."""

    def get(self, spine: SpineInput, request: TrainingSetRequest) -> pa.Table: ...


@dataclass(frozen=True)
class OfflineEngine:
    """One dbt target's offline store, as the library uses it."""

    store: OfflineStore
    training_sets: TrainingSetSource
    # Compiles the project's macros (training sets, definition fingerprints): None where none is needed.
    compiler: DbtCompiler | None = None


class WriterLeases(Protocol):
    """One writer at a time per incremental model (offline/writer_lease.py has the two implementations)."""

    def hold(self, models: Sequence[str], what: str) -> contextlib.AbstractContextManager[None]:
        """Hold the writer lease of every model (waiting for other writers) for the `with` block."""
        ...

    def in_flight_since(self, model: str) -> datetime | None:
        """When the model's current writer took its lease (naive UTC), None when none writes now."""
        ...
