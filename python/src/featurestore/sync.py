"""`featurestore sync`: push each online group's changed latest values from the offline store online.

Per online group:
1. read the marker (the largest `computed_at` the group's last successful sync read; none: full load);
2. read from the offline store each entity's latest row, for the entities whose latest row has
   `computed_at` > marker - overlap (offline_queries.latest_changed_rows_sql);
3. write them newest-wins (a stale or identical record is skipped), waiting for every write to be
   confirmed;
4. only then store the new marker: the largest `computed_at` read.

A crash anywhere before 4 leaves the marker where it was, so a rerun reads the same rows again and the
store's newest-wins skips what was already written: reruns converge. Groups whose contract says
`online: false` are not synced and their marker is forgotten, so turning them on again loads every
entity's current latest values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pyarrow as pa

from featurestore.contract import FeatureGroup
from featurestore.errors import FeatureGroupNotOnlineError, OfflineStoreError
from featurestore.key_encoding import encode_key
from featurestore.manifest import FeatureGroupCatalog
from featurestore.offline_queries import COMPUTED_AT
from featurestore.online_store import GroupCodec, OnlineRecord, OnlineStore
from featurestore.value_codec import naive_utc


class OfflineReader(Protocol):
    def latest_changed_rows(self, group: FeatureGroup, since: datetime | None) -> pa.Table: ...


class SyncProgress(Protocol):
    def start(self, group: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass(frozen=True)
class GroupSyncSummary:
    group: str
    full_load: bool
    rows_read: int
    items_written: int
    skipped_stale: int
    write_units: float
    retries: int
    seconds: float
    marker: datetime | None


def records_from_rows(group: FeatureGroup, table: pa.Table) -> tuple[list[OnlineRecord], datetime | None]:
    """Online records of the offline rows, and the largest computed_at among them."""
    codec = GroupCodec(group)
    records = []
    marker: datetime | None = None
    features = group.feature_names
    for row in table.to_pylist():
        event_time = naive_utc(row[group.event_time])
        key = encode_key([row[column] for column in group.entity])
        computed_at = row[COMPUTED_AT]
        if computed_at is None:
            raise OfflineStoreError(
                f"feature group '{group.name}' has rows without computed_at; rebuild it with "
                f"`dbt run -s {group.name} --full-refresh`"
            )
        computed_at = naive_utc(computed_at)
        records.append(codec.record(key, event_time, {name: row[name] for name in features}, computed_at))
        if marker is None or computed_at > marker:
            marker = computed_at
    return records, marker


def sync_group(
    group: FeatureGroup,
    reader: OfflineReader,
    store: OnlineStore,
    *,
    overlap: timedelta = timedelta(0),
    progress: SyncProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> GroupSyncSummary:
    if not group.online:
        raise FeatureGroupNotOnlineError(group.name)
    started = clock()
    previous = store.get_marker(group.name)
    since = None if previous is None else previous - overlap
    table = reader.latest_changed_rows(group, since)
    records, read_marker = records_from_rows(group, table)
    if progress:
        progress.start(group.name, len(records))
    stats = store.write(group, records, progress.advance if progress else None)
    # Only now, with every write confirmed, may the marker move; never backwards (an overlap re-read).
    marker = previous
    if read_marker is not None and (previous is None or read_marker > previous):
        marker = read_marker
        store.set_marker(group.name, marker)
    return GroupSyncSummary(
        group=group.name,
        full_load=previous is None,
        rows_read=table.num_rows,
        items_written=stats.written,
        skipped_stale=stats.stale,
        write_units=stats.write_units,
        retries=stats.retries,
        seconds=clock() - started,
        marker=marker,
    )


def groups_to_sync(catalog: FeatureGroupCatalog, select: Sequence[str] | None) -> list[FeatureGroup]:
    """The selected groups (all online ones without a selection); naming an offline group is an error."""
    if not select:
        return [group for group in catalog if group.online]
    chosen = [catalog.get(name) for name in dict.fromkeys(select)]
    for group in chosen:
        if not group.online:
            raise FeatureGroupNotOnlineError(group.name)
    return chosen


def forget_offline_groups(catalog: FeatureGroupCatalog, store: OnlineStore) -> list[str]:
    """Forget the markers of groups that are no longer online; their stored values stay until `online drop`."""
    forgotten = []
    for group in catalog:
        if not group.online and store.get_marker(group.name) is not None:
            store.set_marker(group.name, None)
            forgotten.append(group.name)
    return forgotten


def sync(
    catalog: FeatureGroupCatalog,
    reader: OfflineReader,
    store: OnlineStore,
    *,
    select: Sequence[str] | None = None,
    overlap: timedelta = timedelta(0),
    progress: SyncProgress | None = None,
) -> Iterable[GroupSyncSummary]:
    """Sync the selected (default: every online) group, one after the other; yields each group's summary."""
    groups = groups_to_sync(catalog, select)
    forget_offline_groups(catalog, store)
    for group in groups:
        yield sync_group(group, reader, store, overlap=overlap, progress=progress)
