"""`featurestore sync`: make each online group hold, per entity, the row valid at the sync's time `now`.

A feature-group row holds an entity's values from its event time until the entity's next row, and the
groups pre-compute rows (when events leave a window, up to the window's length after the entity's last
event), so the offline store holds rows that are not valid yet. The row to serve at `now` is the entity's
latest row with event time <= now; rows after `now` are never written.

Per online group:
1. read the marker: the largest `computed_at` the group's last successful sync read, that sync's `now`
   (valid_until) and the group state it wrote under (features and types, TTL, entity, event time,
   definition fingerprint: online.base.GroupState); none, or a state other than the contract's now: a
   full load, each entity's row valid at `now`, that rewrites every entity (each item carries its state's
   tag, and a record replaces an item of another tag whatever their times; items of another tag that the
   load has no row for are deleted), so removed features disappear, renamed ones appear and a new TTL
   reaches every item;
2. read from the offline store the row valid at `now` of each entity whose valid row changed since: it
   was computed after the marker (minus the overlap), or its event time lies in (valid_until, now], a
   pre-computed row that has just become valid (offline.queries.latest_changed_rows_sql);
3. write them newest-wins (a stale or identical record is skipped), waiting for every write to be
   confirmed; a `full` sync also gets from the store the stored values it left in place that differ from
   what it read (entities it read no row for, stored values newer than the row read), asks the offline
   store whether each one's row still exists (one that appeared after the read stays), and has the rest
   replaced by the row read, or deleted, each only if the stored version is still the one seen: the
   repair after a backfill that removed rows;
4. only then store the new marker, its fields in one write: the largest `computed_at` read, `now`, and
   the group state.

A crash anywhere before 4 leaves the marker where it was, so a rerun reads the same rows again (and any
that became valid meanwhile) and the store's newest-wins skips what was already written: reruns converge.
After a state change the old marker's state still differs, so the rerun is again a full load, which
skips the items already rewritten (their tag is the new one) and rewrites the rest.

`now` before the marker's valid_until (clocks of two hosts disagree, `--now` in the past): the store
already holds values valid at valid_until. The sync writes the changed rows valid at `now`, which
newest-wins lets through only where they are newer than what is stored (never replacing a value the
store already holds for a later time), and leaves the marker as it was: rows computed meanwhile with
event times in (now, valid_until] were not read, and the next sync with a later `now` reads them.

Groups whose contract says `online: false` are not synced and their marker is forgotten, so turning them
on again loads every entity's values valid at that sync's `now`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pyarrow as pa

from featurestore.core.contract import FeatureGroup
from featurestore.core.errors import FeatureGroupNotOnlineError, OfflineStoreError
from featurestore.core.keys import encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.timestamps import from_micros, naive_utc, utc_now
from featurestore.offline.base import OfflineReader, WriterLeases
from featurestore.offline.queries import COMPUTED_AT
from featurestore.online.base import GroupCodec, GroupState, OnlineRecord, OnlineStore, SyncMarker


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
    # Entities a `full` sync deleted online: a backfill removed all their rows valid at `now`.
    items_deleted: int
    write_units: float
    read_units: float
    retries: int
    seconds: float
    marker: SyncMarker | None
    # The sync's `now`: the store holds the values valid then (unless `behind`).
    now: datetime
    # `now` was before the previous sync's: only changes valid at `now` were written, marker kept.
    behind: bool = False
    # Why the stored items' group state differed from the contract's (GroupState.changes_since); the sync
    # then rewrote every entity. Empty: no change (or a first sync).
    state_changes: tuple[str, ...] = ()


def records_from_rows(
    group: FeatureGroup, table: pa.Table, state: str = ""
) -> tuple[list[OnlineRecord], datetime | None]:
    """Online records of the offline rows (tagged with the group state `state`), and the largest
    computed_at among them."""
    codec = GroupCodec(group, state)
    if table.num_rows == 0:
        return [], None
    # Column by column: Table.to_pylist() builds a dict per row, the slowest part of a large full load.
    computed = table.column(COMPUTED_AT).to_pylist()
    if None in computed:
        raise OfflineStoreError(
            f"feature group '{group.name}' has rows without computed_at; rebuild it with "
            f"`dbt run -s {group.name} --full-refresh`"
        )
    keys = [encode_key(parts) for parts in zip(*(table.column(c).to_pylist() for c in group.entity), strict=True)]
    names = group.feature_names
    rows = zip(*(table.column(name).to_pylist() for name in names), strict=True) if names else ((),) * len(keys)
    records = [
        codec.record(key, naive_utc(event_time), dict(zip(names, values, strict=True)), naive_utc(computed_at))
        for key, event_time, values, computed_at in zip(
            keys, table.column(group.event_time).to_pylist(), rows, computed, strict=True
        )
    ]
    return records, max(naive_utc(value) for value in computed)


def next_marker(
    previous: SyncMarker | None, read_computed_at: datetime | None, now: datetime, state: GroupState | None = None
) -> tuple[SyncMarker | None, bool]:
    """The marker to store once the writes are confirmed, and whether `now` was behind the previous one.

    Never backwards: computed_at is the larger of the previous and the largest read (an overlap re-read
    reads older rows); valid_until moves to `now` only forwards. A sync behind the previous one keeps the
    marker whole, as it did not read the rows with event times in (now, valid_until] computed since.
    `previous` of another group state is no base: the caller passes None after such a full load."""
    if previous is None:
        # A full load that read nothing (no row valid yet) leaves no marker: the next sync loads fully.
        return (None if read_computed_at is None else SyncMarker(read_computed_at, now, state)), False
    if previous.valid_until is not None and now < previous.valid_until:
        return previous, True
    computed_at = previous.computed_at
    if read_computed_at is not None and read_computed_at > computed_at:
        computed_at = read_computed_at
    return SyncMarker(computed_at, now, state), False


def sync_group(
    group: FeatureGroup,
    reader: OfflineReader,
    store: OnlineStore,
    *,
    now: datetime | None = None,
    overlap: timedelta = timedelta(0),
    progress: SyncProgress | None = None,
    full: bool = False,
    timer: Callable[[], float] = time.monotonic,
    writers: WriterLeases | None = None,
    definition: str | None = None,
) -> GroupSyncSummary:
    """Sync one group to the values valid at `now` (naive UTC or aware; default: the wall clock, UTC).

    `definition`: the fingerprint of the definition the offline rows were computed with (None: unknown);
    part of the group state, so a change of it makes this sync rewrite every entity.

    `full`: a full load although the group has a marker: every entity's valid row is read and compared
    with every stored item, and stored values whose row a backfill removed are replaced by the row valid
    now, or deleted (the entity has none): online then equals the offline store as it is now.

    `writers`: the offline writer leases (offline/writer_lease.py); while a writer of the group is at work, the
    marker stays below the time it started, so its rows (computed_at after that) are read once committed,
    however late that is."""
    if not group.online:
        raise FeatureGroupNotOnlineError(group.name)
    started = timer()
    at = utc_now() if now is None else naive_utc(now)
    state = GroupState.of(group, definition)
    stored = store.get_marker(group.name)
    state_changes = tuple(state.changes_since(stored.state)) if stored is not None and stored.state != state else ()
    # A marker of another group state says nothing of what is stored now: a full load, as without one.
    previous = None if state_changes else stored
    # Asked before the read: a writer that starts later stamps its rows after anything this read can see.
    writer_since = writers.in_flight_since(group.name) if writers is not None else None
    full_load = full or previous is None
    if full_load or previous is None:
        table = reader.latest_changed_rows(group, None, at)
    else:
        table = reader.latest_changed_rows(group, previous.computed_at - overlap, at, previous.valid_until)
    records, read_marker = records_from_rows(group, table, state.tag)
    if writer_since is not None and read_marker is not None and read_marker >= writer_since:
        read_marker = writer_since - timedelta(microseconds=1)
    if progress:
        progress.start(group.name, len(records))
    stats = store.write(
        group,
        records,
        progress.advance if progress else None,
        full_load_at=at if full_load else None,
        state=state.tag if full_load else None,
    )
    if stats.obsolete:
        # Items of another group state whose entity has no row valid now: deleted, each only if still the
        # version the load saw (one rewritten meanwhile by a sync of the current state stays).
        stats.add(store.replace_unchanged(group, stats.obsolete))
    if full and stats.unbacked:
        # Stored values the read did not return. Is each one's row still offline? Then it appeared after the
        # read (another sync may have written it already) and stays; if not, a backfill removed it. Only on
        # request: this takes the offline store as it is now for the truth, the one case in which an older
        # value may replace a newer one, so a full load that merely lacks a marker (a group switched on
        # again, a replay of an old snapshot) never does it.
        stored_rows = [(item.key, from_micros(item.version.event_time)) for item in stats.unbacked]
        existing = reader.existing_rows(group, stored_rows)
        repairs = [item for item, row in zip(stats.unbacked, stored_rows, strict=True) if row not in existing]
        repaired = store.replace_unchanged(group, repairs)
        stats.stale -= repaired.written  # they were counted as skipped by newest-wins
        stats.add(repaired)
    # Only now, with every write confirmed, may the marker move.
    marker, behind = next_marker(previous, read_marker, at, state)
    if marker != stored:
        store.set_marker(group.name, marker)
    return GroupSyncSummary(
        group=group.name,
        full_load=full_load,
        rows_read=table.num_rows,
        items_written=stats.written,
        skipped_stale=stats.stale,
        items_deleted=stats.deleted,
        write_units=stats.write_units,
        read_units=stats.read_units,
        retries=stats.retries,
        seconds=timer() - started,
        marker=marker,
        now=at,
        behind=behind,
        state_changes=state_changes,
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
    now: Callable[[], datetime] = utc_now,
    overlap: timedelta = timedelta(0),
    progress: SyncProgress | None = None,
    full: bool = False,
    writers: WriterLeases | None = None,
    definitions: Callable[[FeatureGroup], str | None] | None = None,
) -> Iterable[GroupSyncSummary]:
    """Sync the selected (default: every online) group, one after the other; yields each group's summary.

    `now` is asked once per group, just before its read: the time whose valid values the group gets.
    `definitions`: the definition fingerprint of a group's offline rows (sync_group's `definition`)."""
    groups = groups_to_sync(catalog, select)
    forget_offline_groups(catalog, store)
    for group in groups:
        yield sync_group(
            group,
            reader,
            store,
            now=now(),
            overlap=overlap,
            progress=progress,
            full=full,
            writers=writers,
            definition=definitions(group) if definitions is not None else None,
        )
