"""`featurestore sync` on small synthetic offline tables, on both backends, with faults injected.

Every test ends by comparing the online store item by item with the offline values valid at the sync's
time `now` (the latest values when every row lies before it)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.online_support import (
    BASE_TIME,
    FEATURE_COLUMNS,
    OfflineTable,
    catalog_of,
    make_group,
    online_mismatches,
    values_for,
)
from support.timing import scaled

from featurestore.aws.dynamodb_lease import GroupLease
from featurestore.core.errors import FeatureGroupNotOnlineError, LeaseLostError, OnlineStoreError, SyncGaveUpError
from featurestore.core.keys import encode_key
from featurestore.core.retry import Backoff
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.base import OnlineStore, SyncMarker
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync, sync_group

if TYPE_CHECKING:
    from conftest import Dynalite

TESTS_DIR = Path(__file__).resolve().parents[1]
# Short, so that a rerun after a killed batch-mode sync waits little for the lease the killed one held;
# scaled to the machine's load (timing.py), as the background renewal must keep up on a busy host.
LEASE_SECONDS = scaled(3.0)
FAST_BACKOFF = Backoff(max_attempts=12, base_seconds=0.001, cap_seconds=0.01)
# The sync time of the tests whose rows are all in the past: after every row, whatever the machine's clock.
AFTER_ALL = BASE_TIME + dt.timedelta(days=30)


def after_all() -> dt.datetime:
    return AFTER_ALL


@pytest.fixture
def offline(tmp_path: Path) -> OfflineTable:
    return OfflineTable(tmp_path / "offline.duckdb", make_group())


@pytest.fixture
def reader(offline: OfflineTable) -> DuckDBOfflineStore:
    return DuckDBOfflineStore(offline.path)


class StoreFactory:
    """Opens stores on one backend and place, as separate processes or threads would."""

    def __init__(self, backend: str, tmp_path: Path, dynalite: Dynalite | None) -> None:
        self.backend, _, mode = backend.partition("-")
        self.write_mode = mode or "conditional"
        self.sqlite_path = tmp_path / "online.sqlite"
        self.dynalite = dynalite
        self.prefix = f"t{uuid.uuid4().hex[:8]}_"
        self.opened: list[OnlineStore] = []

    def open(self, backoff: Backoff = FAST_BACKOFF) -> Any:
        store: OnlineStore
        if self.backend == "sqlite":
            store = SqliteOnlineStore(self.sqlite_path)
        else:
            assert self.dynalite is not None
            client = self.dynalite.client(max_pool_connections=16)
            store = DynamoDBOnlineStore(
                client,
                table_prefix=self.prefix,
                write_concurrency=8,
                backoff=backoff,
                write_mode=self.write_mode,
                lease_seconds=LEASE_SECONDS,
            )
        self.opened.append(store)
        return store

    def batches(self, full_load: bool) -> bool:
        """Whether a sync (a full load or not) writes with BatchWriteItem on this backend."""
        return self.write_mode == "batch" or (self.write_mode == "auto" and full_load)

    def argv(self) -> list[str]:
        if self.backend == "sqlite":
            return ["sqlite", str(self.sqlite_path)]
        assert self.dynalite is not None
        return ["dynamodb", self.dynalite.endpoint_url, self.prefix, self.write_mode]


@pytest.fixture(params=["sqlite", "dynamodb", "dynamodb-batch", "dynamodb-auto"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    dynalite = request.getfixturevalue("dynalite") if request.param.startswith("dynamodb") else None
    factory = StoreFactory(request.param, tmp_path, dynalite)
    yield factory
    for store in factory.opened:
        store.close()


def history(users: range, steps: int, seed_offset: int = 0) -> list[tuple[list[int], dt.datetime, dict[str, Any]]]:
    """`steps` rows per user, 5 minutes apart."""
    return [
        ([user], BASE_TIME + dt.timedelta(minutes=5 * step), values_for(user * 100 + step + seed_offset))
        for user in users
        for step in range(steps)
    ]


def test_full_load_then_only_changed_entities(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 61), steps=3))
    (first,) = sync(catalog, reader, store, now=after_all)
    assert (first.full_load, first.rows_read, first.items_written, first.skipped_stale) == (True, 60, 60, 0)
    assert online_mismatches(store, offline) == []

    # A micro-batch: 5 users get a new row; 10 others are recomputed with unchanged values (no new computed_at).
    offline.upsert(
        [([user], BASE_TIME + dt.timedelta(minutes=15), values_for(user * 7)) for user in range(1, 6)]
        + history(range(20, 30), steps=3)
    )
    (second,) = sync(catalog, reader, store, now=after_all)
    assert (second.full_load, second.rows_read, second.items_written) == (False, 5, 5)
    assert online_mismatches(store, offline) == []
    (third,) = sync(catalog, reader, store, now=after_all)
    assert (third.rows_read, third.items_written) == (0, 0)


def test_backfill_rewriting_history_is_synced(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 31), steps=4))
    list(sync(catalog, reader, store, now=after_all))
    latest = BASE_TIME + dt.timedelta(minutes=15)
    # New logic: users 1-3 get other values at their latest event time; users 4-7 only in older rows.
    offline.upsert(
        [([user], latest, values_for(user + 5000)) for user in range(1, 4)]
        + [([user], BASE_TIME, values_for(user + 6000)) for user in range(4, 8)]
    )
    (summary,) = sync(catalog, reader, store, now=after_all)
    assert (summary.rows_read, summary.items_written, summary.skipped_stale) == (3, 3, 0)
    assert online_mismatches(store, offline) == []


def test_old_values_replayed_after_new_ones_are_skipped(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory, tmp_path: Path
) -> None:
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 41), steps=2))
    old_copy = tmp_path / "old.duckdb"
    shutil.copy(offline.path, old_copy)
    offline.upsert(history(range(1, 41), steps=4, seed_offset=1))  # new rows, and older ones rewritten
    list(sync(catalog, reader, store, now=after_all))
    # A stalled sync that read the old offline state wakes up and writes it all (a full load from the copy).
    stalled_store = stores.open()
    stalled_store.set_marker(offline.group.name, None)
    stalled = sync_group(offline.group, DuckDBOfflineStore(old_copy), stalled_store, now=AFTER_ALL)
    assert stalled.items_written == 0 and stalled.skipped_stale == 40
    assert online_mismatches(store, offline) == []


def test_two_syncs_racing_converge_to_the_newest(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory, tmp_path: Path
) -> None:
    offline.upsert(history(range(1, 151), steps=2))
    old_copy = tmp_path / "old.duckdb"
    shutil.copy(offline.path, old_copy)
    offline.upsert(history(range(1, 151), steps=3, seed_offset=3))
    old_reader = DuckDBOfflineStore(old_copy)
    for _ in range(2):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(
            source: DuckDBOfflineStore,
            store: OnlineStore,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                barrier.wait()
                store.set_marker(offline.group.name, None)
                sync_group(offline.group, source, store, now=AFTER_ALL)
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(old_reader, stores.open())),
            threading.Thread(target=run, args=(reader, stores.open())),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert online_mismatches(stores.open(), offline) == []


def test_online_switched_on_off_and_on_again(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    store = stores.open()
    on = offline.group
    off = make_group(on.name, online=False)
    offline.upsert(history(range(1, 21), steps=2))
    list(sync(catalog_of(on), reader, store, now=after_all))
    assert store.get_marker(on.name) is not None

    offline.upsert([([user], BASE_TIME + dt.timedelta(hours=1), values_for(user + 900)) for user in range(1, 21)])
    assert list(sync(catalog_of(off), reader, store, now=after_all)) == []
    assert store.get_marker(on.name) is None, "turning a group off must forget its marker"
    with pytest.raises(FeatureGroupNotOnlineError, match=on.name):
        list(sync(catalog_of(off), reader, store, select=[on.name], now=after_all))
    # Off: its online values stay as they were (dropping them is `featurestore online drop`).
    assert len(online_mismatches(store, offline)) == 20

    (summary,) = sync(catalog_of(on), reader, store, now=after_all)
    assert summary.full_load and summary.items_written == 20
    assert online_mismatches(store, offline) == []


def test_a_full_sync_deletes_entities_a_backfill_removed_and_rewrites_nothing_unchanged(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 31), steps=2))
    list(sync(catalog, reader, store, now=after_all))
    removed = [encode_key([user]) for user in range(25, 31)]
    offline.remove([user] for user in range(25, 31))
    offline.upsert([([3], BASE_TIME + dt.timedelta(hours=2), values_for(333))])

    (changes,) = sync(catalog, reader, store, now=after_all)
    # An incremental sync reads changed rows; a removed entity has none, so it stays online.
    assert (changes.full_load, changes.items_written, changes.items_deleted) == (False, 1, 0)
    assert len(online_mismatches(store, offline, extra_keys=removed)) == 6

    offline.upsert([([4], BASE_TIME + dt.timedelta(hours=2), values_for(444))])
    (full,) = sync(catalog, reader, stores.open(), now=after_all, full=True)
    assert full.full_load and (full.rows_read, full.items_written, full.skipped_stale) == (24, 1, 23)
    assert full.items_deleted == 6
    assert online_mismatches(store, offline, extra_keys=removed) == []
    marker = store.get_marker(offline.group.name)
    assert marker is not None and marker.valid_until == AFTER_ALL

    (again,) = sync(catalog, reader, store, now=after_all, full=True)
    assert (again.items_written, again.skipped_stale, again.items_deleted) == (0, 24, 0)


class ReaderWithAnotherSync:
    """An offline reader during whose read another sync writes a new entity to the online store."""

    def __init__(self, reader: DuckDBOfflineStore, during_read: Any) -> None:
        self.reader = reader
        self.during_read = during_read

    def latest_changed_rows(self, *args: Any) -> Any:
        table = self.reader.latest_changed_rows(*args)
        self.during_read()
        return table

    def existing_rows(self, *args: Any) -> Any:
        return self.reader.existing_rows(*args)


def test_a_full_sync_keeps_an_entity_that_appeared_after_its_read(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """Entity 9 appears offline, and another sync writes it, after the full sync read the offline store:
    it is online but not among the full sync's records, and must not be deleted."""
    store, other = stores.open(), stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 6), steps=1))
    list(sync(catalog, reader, store, now=after_all))
    offline.remove([[5]])

    def new_entity_synced_elsewhere() -> None:
        offline.upsert([([9], BASE_TIME, values_for(9))])
        sync_group(offline.group, reader, other, now=AFTER_ALL)

    (full,) = sync(catalog, ReaderWithAnotherSync(reader, new_entity_synced_elsewhere), store, now=after_all, full=True)
    assert (full.rows_read, full.items_deleted) == (4, 1)
    assert online_mismatches(store, offline, extra_keys=[encode_key([5])]) == []
    assert store.read(offline.group, [encode_key([9])], ["count_7d"])[0] is not None


def test_a_full_sync_repairs_values_whose_newest_row_a_backfill_removed(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """Users 1-4 lose their newest row (the new logic does not produce it), so their valid row is an older
    one, which newest-wins alone would never let replace the stored value; user 5 keeps its rows."""
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 6), steps=3))
    list(sync(catalog, reader, store, now=after_all))
    newest = BASE_TIME + dt.timedelta(minutes=10)
    with duckdb.connect(str(offline.path)) as connection:
        connection.execute("delete from fg_test where user_id <= 4 and effective_at = ?", [newest])
    assert len(online_mismatches(store, offline)) == 4

    (changes,) = sync(catalog, reader, store, now=after_all)
    assert changes.rows_read == 0 and len(online_mismatches(store, offline)) == 4
    (full,) = sync(catalog, reader, store, now=after_all, full=True)
    assert (full.rows_read, full.items_written, full.skipped_stale, full.items_deleted) == (5, 4, 1, 0)
    assert online_mismatches(store, offline) == []


def test_a_full_sync_behind_a_later_one_deletes_nothing_the_later_one_wrote(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """Entity 2 only has a row after the full sync's `now`, and a later sync put it online: it stays."""
    store = stores.open()
    catalog = catalog_of(offline.group)
    early, late = BASE_TIME, BASE_TIME + dt.timedelta(hours=3)
    offline.upsert([([1], early, values_for(1)), ([1], late, values_for(11)), ([2], late, values_for(2))])
    list(sync(catalog, reader, store, now=pinned(late)))
    (behind,) = sync(catalog, reader, store, now=pinned(early + dt.timedelta(hours=1)), full=True)
    assert (behind.items_written, behind.skipped_stale, behind.items_deleted) == (0, 1, 0)
    assert online_mismatches(store, offline) == []
    # Even with its row gone offline, what the later sync wrote is left to a full sync at a later `now`.
    offline.remove([[2]])
    (again,) = sync(catalog, reader, store, now=pinned(early + dt.timedelta(hours=1)), full=True)
    assert again.items_deleted == 0
    assert store.read(offline.group, [encode_key([2])], ["count_7d"])[0] is not None
    (later,) = sync(catalog, reader, store, now=pinned(late), full=True)
    assert later.items_deleted == 1
    assert online_mismatches(store, offline, extra_keys=[encode_key([2])]) == []


# --- the values valid at the sync's time: pre-computed (future) rows ---


def at(hours: float) -> dt.datetime:
    return BASE_TIME + dt.timedelta(hours=hours)


def pinned(time: dt.datetime) -> Any:
    return lambda: time


def test_rows_after_now_are_not_synced_until_they_become_valid(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """A window's exit row is computed in advance: the sync must write the row valid at `now`, and the
    pre-computed one only once `now` has reached it, although no dbt run touches it again."""
    store = stores.open()
    catalog = catalog_of(offline.group)
    # Users 1-40: active at 0 h and 1 h, with exit rows (other values) pre-computed for 1 day later.
    # Users 41-50: their only row lies in the future.
    offline.upsert(
        [([user], at(0), values_for(user)) for user in range(1, 41)]
        + [([user], at(1), values_for(user + 100)) for user in range(1, 41)]
        + [([user], at(25), values_for(user + 200)) for user in range(1, 51)]
    )
    (first,) = sync(catalog, reader, store, now=pinned(at(2)))
    assert (first.full_load, first.rows_read, first.items_written) == (True, 40, 40)
    assert online_mismatches(store, offline, as_of=at(2)) == []
    stored = store.read(offline.group, [encode_key([user]) for user in (1, 41)], ["count_7d"])
    assert stored[0] is not None and stored[0].event_time == at(1), "the row valid at now, not the newest one"
    assert stored[1] is None, "an entity whose only row lies after now is not online yet"
    assert store.get_marker(offline.group.name).valid_until == at(2)

    # Later, nothing computed and nothing became valid: nothing to read.
    (idle,) = sync(catalog, reader, store, now=pinned(at(24)))
    assert (idle.rows_read, idle.items_written) == (0, 0)
    assert store.get_marker(offline.group.name).valid_until == at(24)

    # A micro-batch meanwhile: users 1-5 active at 24.5 h (a row valid at the next sync), users 6-10 get
    # another pre-computed row; user 11's old row at 0 h changes (superseded by its 1 h row: not read).
    offline.upsert(
        [([user], at(24.5), values_for(user + 300)) for user in range(1, 6)]
        + [([user], at(30), values_for(user + 400)) for user in range(6, 11)]
        + [([11], at(0), values_for(999))]
    )
    # The exit rows at 25 h become valid without any new computed_at: all 50 users change online.
    (second,) = sync(catalog, reader, store, now=pinned(at(26)))
    assert (second.full_load, second.rows_read, second.items_written) == (False, 50, 50)
    assert online_mismatches(store, offline, as_of=at(26)) == []
    (third,) = sync(catalog, reader, store, now=pinned(at(31)))
    assert (third.rows_read, third.items_written) == (5, 5)
    assert online_mismatches(store, offline, as_of=at(31)) == []


def test_a_sync_behind_the_previous_one_keeps_its_marker(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """`now` going backwards (clock skew, `--now` in the past) loses nothing: values the store holds for a
    later time stay, and the rows the behind sync did not read are read by the next one."""
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert([([user], at(0), values_for(user)) for user in range(1, 31)])
    offline.upsert([([user], at(5), values_for(user + 50)) for user in range(1, 11)])
    list(sync(catalog, reader, store, now=pinned(at(6))))
    marker = store.get_marker(offline.group.name)
    # Changes: users 11-15 get a row at 3 h (valid at the behind sync's 4 h), users 16-20 one at 5.5 h
    # (after 4 h, before the previous sync's 6 h), users 1-5 change their 0 h rows (older than the 5 h
    # rows the store holds).
    offline.upsert(
        [([user], at(3), values_for(user + 70)) for user in range(11, 16)]
        + [([user], at(5.5), values_for(user + 80)) for user in range(16, 21)]
        + [([user], at(0), values_for(user + 90)) for user in range(1, 6)]
    )
    (behind,) = sync(catalog, reader, store, now=pinned(at(4)))
    assert behind.behind and behind.marker == marker
    assert store.get_marker(offline.group.name) == marker
    # Users 1-5: their rows valid at 4 h are older than the stored 5 h rows: refused by newest-wins.
    assert (behind.rows_read, behind.items_written, behind.skipped_stale) == (10, 5, 5)
    stored = store.read(offline.group, [encode_key([user]) for user in range(1, 31)], ["count_7d"])
    assert all(row is not None and row.event_time <= at(6) for row in stored)
    assert all(row is not None and row.event_time == at(5) for row in stored[:10])

    (caught_up,) = sync(catalog, reader, store, now=pinned(at(7)))
    assert not caught_up.behind and caught_up.marker is not None and caught_up.marker.valid_until == at(7)
    assert online_mismatches(store, offline, as_of=at(7)) == []


def test_a_crash_before_the_marker_moves_is_rerun_to_the_same_state(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its writes but before storing the marker, a sync leaves both marker fields as they
    were: the rerun reads the rows that became valid again (and any newer ones) and converges."""
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(
        [([user], at(0), values_for(user)) for user in range(1, 41)]
        + [([user], at(10), values_for(user + 40)) for user in range(1, 41, 2)]
    )
    list(sync(catalog, reader, store, now=pinned(at(1))))
    marker = store.get_marker(offline.group.name)

    def crash(group: str, marker: object) -> None:
        raise RuntimeError("killed before the marker was stored")

    monkeypatch.setattr(store, "set_marker", crash)
    with pytest.raises(RuntimeError, match="killed"):
        list(sync(catalog, reader, store, now=pinned(at(11))))
    monkeypatch.undo()
    assert store.get_marker(offline.group.name) == marker
    assert online_mismatches(store, offline, as_of=at(11)) == [], "the writes themselves were confirmed"

    rerun_store = stores.open()
    (rerun,) = sync(catalog, reader, rerun_store, now=pinned(at(12)))
    assert (rerun.rows_read, rerun.items_written, rerun.skipped_stale) == (20, 0, 20)
    assert rerun_store.get_marker(offline.group.name).valid_until == at(12)
    assert online_mismatches(rerun_store, offline, as_of=at(12)) == []


def test_a_marker_from_before_sync_times_reads_only_computed_changes(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    """A marker stored by an earlier version (no valid_until): that sync wrote each entity's newest row,
    so only rows computed since are read; the marker then gets the sync's time. (A marker without a group
    state is a state change: tests/online/test_group_state.py.)"""
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert([([user], at(0), values_for(user)) for user in range(1, 11)])
    list(sync(catalog, reader, store, now=pinned(at(1))))
    marker = store.get_marker(offline.group.name)
    store.set_marker(offline.group.name, SyncMarker(marker.computed_at, None, marker.state))
    assert store.get_marker(offline.group.name) == SyncMarker(marker.computed_at, None, marker.state)
    offline.upsert([([user], at(2), values_for(user + 20)) for user in range(1, 4)])
    (summary,) = sync(catalog, reader, store, now=pinned(at(3)))
    assert (summary.full_load, summary.rows_read, summary.items_written) == (False, 3, 3)
    assert store.get_marker(offline.group.name).valid_until == at(3)
    assert online_mismatches(store, offline, as_of=at(3)) == []


EVENT_MINUTES = st.integers(min_value=0, max_value=8).map(lambda step: step * 5)
UPSERT = st.lists(
    st.tuples(st.integers(min_value=1, max_value=4), EVENT_MINUTES, st.integers(min_value=0, max_value=3)),
    min_size=1,
    max_size=6,
).map(lambda rows: ("upsert", rows))
SYNC_AT = EVENT_MINUTES.map(lambda minute: ("sync", minute))


MODEL_USERS = range(1, 5)


@contextlib.contextmanager
def model_stores() -> Iterator[tuple[OfflineTable, DuckDBOfflineStore, SqliteOnlineStore]]:
    """A fresh offline table and sqlite online store per hypothesis example (fixtures last a whole test)."""
    with tempfile.TemporaryDirectory() as folder:
        offline = OfflineTable(Path(folder) / "offline.duckdb", make_group())
        store = SqliteOnlineStore(Path(folder) / "online.sqlite")
        try:
            yield offline, DuckDBOfflineStore(offline.path), store
        finally:
            store.close()


def upsert_model_rows(
    offline: OfflineTable, history: dict[tuple[int, int], int], rows: list[tuple[int, int, int]]
) -> None:
    """Merge (user, minute, seed) rows offline and into the model: the last of duplicates wins, as one merge
    of the staged rows would."""
    merged = {(user, minute): seed for user, minute, seed in rows}
    history.update(merged)
    offline.upsert(
        [
            ([user], BASE_TIME + dt.timedelta(minutes=minute), values_for(user * 10 + seed))
            for (user, minute), seed in merged.items()
        ]
    )


def assert_online_is_the_model_at(
    stored: list[Any], history: dict[tuple[int, int], int], minute: int, steps: list[tuple[str, Any]]
) -> None:
    """The stored rows of MODEL_USERS are each user's row valid at `minute` in the model (None: no row)."""
    for user, found in zip(MODEL_USERS, stored, strict=True):
        minutes = [m for (u, m) in history if u == user and m <= minute]
        if not minutes:
            assert found is None, (user, steps)
            continue
        valid = max(minutes)
        assert found is not None, (user, steps)
        assert found.event_time == BASE_TIME + dt.timedelta(minutes=valid), (user, steps)
        assert dict(found.values) == values_for(user * 10 + history[user, valid]), (user, steps)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(UPSERT, SYNC_AT), min_size=2, max_size=12))
def test_online_values_equal_the_offline_values_as_of_each_sync(steps: list[tuple[str, Any]]) -> None:
    """Random histories (rows before and after the sync times, values rewritten at the same event time)
    and sync times (now and then backwards): after every sync not behind an earlier one, the store equals
    the values valid at its `now` (by a model of the history kept here, not by SQL); after any sync,
    nothing online lies after the latest `now`."""
    keys = [encode_key([user]) for user in MODEL_USERS]
    history: dict[tuple[int, int], int] = {}  # (user, minute) -> seed of the values
    with model_stores() as (offline, reader, store):
        catalog = catalog_of(offline.group)
        latest_now: dt.datetime | None = None
        for kind, argument in steps:
            if kind == "upsert":
                upsert_model_rows(offline, history, argument)
                continue
            now = BASE_TIME + dt.timedelta(minutes=argument)
            previous = store.get_marker(offline.group.name)
            (summary,) = sync(catalog, reader, store, now=pinned(now))
            assert summary.behind == (
                previous is not None and previous.valid_until is not None and now < previous.valid_until
            )
            stored = store.read(offline.group, keys, list(FEATURE_COLUMNS))
            if latest_now is None or now >= latest_now:
                latest_now = now
                assert_online_is_the_model_at(stored, history, argument, steps)
            assert all(row is None or row.event_time <= latest_now for row in stored), steps


# A backfill deletes a user's newest row (newest-wins alone cannot repair that), or all of its rows.
REMOVE = st.tuples(st.sampled_from(["remove_newest", "remove_entity"]), st.integers(min_value=1, max_value=4))
FULL_SYNC_AT = EVENT_MINUTES.map(lambda minute: ("full", minute))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(UPSERT, REMOVE, SYNC_AT, FULL_SYNC_AT), min_size=2, max_size=14))
@example(steps=[("upsert", [(1, 0, 0), (1, 5, 1), (2, 0, 2)]), ("sync", 40), ("remove_newest", 1), ("full", 40)])
@example(steps=[("upsert", [(1, 0, 0), (2, 5, 1)]), ("sync", 40), ("remove_entity", 2), ("full", 40)])
def test_a_full_sync_makes_online_equal_the_offline_values_after_rows_were_removed(
    steps: list[tuple[str, Any]],
) -> None:
    """Random histories in which backfills also delete rows (an entity's newest, or all of them), with
    incremental and full syncs in between: after every full sync not behind an earlier sync, the store
    equals the values valid at its `now`, by a model of the history kept here."""
    keys = [encode_key([user]) for user in MODEL_USERS]
    history: dict[tuple[int, int], int] = {}
    with model_stores() as (offline, reader, store):
        catalog = catalog_of(offline.group)
        latest_now: dt.datetime | None = None
        for kind, argument in steps:
            if kind == "upsert":
                upsert_model_rows(offline, history, argument)
                continue
            if kind.startswith("remove"):
                minutes = sorted(minute for (user, minute) in history if user == argument)
                removed = [(argument, minute) for minute in (minutes[-1:] if kind == "remove_newest" else minutes)]
                with duckdb.connect(str(offline.path)) as connection:
                    for user, minute in removed:
                        history.pop((user, minute), None)
                        connection.execute(
                            "delete from fg_test where user_id = ? and effective_at = ?",
                            [user, BASE_TIME + dt.timedelta(minutes=minute)],
                        )
                continue
            now = BASE_TIME + dt.timedelta(minutes=argument)
            list(sync(catalog, reader, store, now=pinned(now), full=kind == "full"))
            if latest_now is not None and now < latest_now:
                continue
            latest_now = now
            if kind != "full":
                continue
            stored = store.read(offline.group, keys, list(FEATURE_COLUMNS))
            assert_online_is_the_model_at(stored, history, argument, steps)


# --- throttling and unprocessed keys, injected into the DynamoDB client ---


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


class Injector:
    """Fails a fraction of the requests of one operation with a throttling error, before they are sent."""

    def __init__(self, client: Any, operation: str, fraction: float, seed: int = 7, table: str | None = None) -> None:
        self.table = table
        self.fraction = fraction
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0
        client.meta.events.register(f"before-send.dynamodb.{operation}", self.before_send)

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.table is not None:
            body = json.loads(request.body)
            if self.table not in (body.get("TableName"), *body.get("RequestItems", {})):
                return None
        with self.lock:
            if self.rng.random() >= self.fraction:
                return None
            self.injected += 1
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "injected by the test",
            }
        ).encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(body))


@pytest.fixture(params=["dynamodb", "dynamodb-batch", "dynamodb-auto"])
def dynamodb_stores(request: pytest.FixtureRequest, tmp_path: Path, dynalite: Dynalite) -> Iterator[StoreFactory]:
    factory = StoreFactory(request.param, tmp_path, dynalite)
    yield factory
    for store in factory.opened:
        store.close()


def test_throttled_writes_are_retried(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    store = dynamodb_stores.open()
    offline.upsert(history(range(1, 201), steps=2))
    batched = dynamodb_stores.batches(full_load=True)
    injector = Injector(store.client, "BatchWriteItem" if batched else "PutItem", fraction=0.3)
    unprocessed = UnprocessedItems(store.client, fraction=0.3) if batched else None
    (summary,) = sync(catalog_of(offline.group), reader, store, now=after_all)
    injected = injector.injected + (unprocessed.injected if unprocessed else 0)
    assert injector.injected > 0 and summary.retries == injected
    if unprocessed:
        assert unprocessed.injected > 0
    assert summary.items_written == 200
    assert online_mismatches(store, offline) == []


def test_throttled_scans_and_deletes_of_a_full_sync_are_retried(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    store = dynamodb_stores.open()
    offline.upsert(history(range(1, 101), steps=1))
    list(sync(catalog_of(offline.group), reader, store, now=after_all))
    offline.remove([user] for user in range(1, 41))
    scans = Injector(store.client, "Scan", fraction=0.5)
    # Only the group's items: the lease's own DeleteItem is not retried (a lease left behind expires).
    deletes = Injector(store.client, "DeleteItem", fraction=0.3, seed=3, table=store.table_name(offline.group.name))
    (summary,) = sync(catalog_of(offline.group), reader, store, now=after_all, full=True)
    assert scans.injected > 0 and deletes.injected > 0
    assert summary.retries == scans.injected + deletes.injected
    assert (summary.items_written, summary.skipped_stale, summary.items_deleted) == (0, 60, 40)
    assert online_mismatches(store, offline, extra_keys=[encode_key([user]) for user in range(1, 41)]) == []


def test_a_conditional_full_sync_keeps_an_entity_rewritten_after_its_scan(
    offline: OfflineTable, reader: DuckDBOfflineStore, tmp_path: Path, dynalite: Dynalite
) -> None:
    """Entity 1 is gone offline when the full sync scans, and back (a newer row, written by another sync)
    before the sync deletes it: the delete is conditional on the version scanned, so the new value stays."""
    stores = StoreFactory("dynamodb", tmp_path, dynalite)
    store, other = stores.open(), stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 6), steps=1))
    list(sync(catalog, reader, store, now=after_all))
    offline.remove([[1]])
    returned = BASE_TIME + dt.timedelta(hours=5)

    def another_sync_writes_entity_1(**_: Any) -> None:
        offline.upsert([([1], returned, values_for(77))])
        sync_group(offline.group, reader, other, now=AFTER_ALL)

    store.client.meta.events.register_first("before-call.dynamodb.DeleteItem", another_sync_writes_entity_1)
    (full,) = sync(catalog, reader, store, now=after_all, full=True)
    assert full.items_deleted == 0
    assert online_mismatches(store, offline) == []
    (found,) = store.read(offline.group, [encode_key([1])], ["count_7d"])
    assert found is not None and found.event_time == returned


def test_throttled_lease_requests_are_retried(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    if dynamodb_stores.write_mode == "conditional":
        pytest.skip("conditional mode takes no lease")
    store = dynamodb_stores.open()
    markers = store.table_prefix + "__sync_markers"
    store.ensure_table(markers, key="group_name", ttl_attribute=None)
    offline.upsert(history(range(1, 21), steps=1))
    injected = [
        Injector(store.client, operation, fraction=0.5, seed=seed, table=markers)
        for seed, operation in enumerate(("GetItem", "PutItem", "DeleteItem"))
    ]
    for step in range(3):
        offline.upsert([([user], BASE_TIME + dt.timedelta(hours=step + 1), values_for(user + step)) for user in (1, 2)])
        list(sync(catalog_of(offline.group), reader, store, now=after_all))
    assert sum(injector.injected for injector in injected) > 0
    assert online_mismatches(store, offline) == []


def test_sync_that_gives_up_names_the_group_and_keeps_its_marker(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    stores = dynamodb_stores
    store = stores.open(backoff=Backoff(max_attempts=3, base_seconds=0.0, cap_seconds=0.0))
    offline.upsert(history(range(1, 51), steps=1))
    list(sync(catalog_of(offline.group), reader, store, now=after_all))
    marker = store.get_marker(offline.group.name)
    offline.upsert([([user], BASE_TIME + dt.timedelta(hours=1), values_for(user)) for user in range(1, 51)])
    operation = "BatchWriteItem" if stores.batches(full_load=False) else "PutItem"
    Injector(store.client, operation, fraction=1.0, table=store.table_name(offline.group.name))
    with pytest.raises(SyncGaveUpError, match=f"'{offline.group.name}'.*ProvisionedThroughputExceeded"):
        list(sync(catalog_of(offline.group), reader, store, now=after_all))
    assert store.get_marker(offline.group.name) == marker
    retry_store = stores.open()
    (summary,) = sync(catalog_of(offline.group), reader, retry_store, now=after_all)
    assert summary.items_written == 50
    assert online_mismatches(retry_store, offline) == []


class AnswerRewriter:
    """Rewrites a fraction of one batch operation's successful answers (`rewrite`), knowing the request
    each answered (remembered per thread: the store sends from several)."""

    def __init__(self, client: Any, operation: str, fraction: float, seed: int) -> None:
        self.fraction = fraction
        self.rng = random.Random(seed)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.injected = 0
        client.meta.events.register(f"provide-client-params.dynamodb.{operation}", self.remember)
        client.meta.events.register(f"after-call.dynamodb.{operation}", self.after_call)

    def remember(self, params: dict[str, Any], **_: Any) -> None:
        self.local.request = params["RequestItems"]

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        # botocore emits after-call for error responses too (e.g. an injected throttle): leave those alone.
        if "Error" in parsed:
            return
        with self.lock:
            if self.rng.random() >= self.fraction:
                return
        if self.rewrite(parsed, self.local.request):
            with self.lock:
                self.injected += 1

    def rewrite(self, parsed: dict[str, Any], request: dict[str, Any]) -> bool:
        raise NotImplementedError


class UnprocessedKeys(AnswerRewriter):
    """Moves half of the items of a fraction of BatchGetItem answers into UnprocessedKeys, as DynamoDB does."""

    def __init__(self, client: Any, fraction: float) -> None:
        super().__init__(client, "BatchGetItem", fraction, seed=3)

    def rewrite(self, parsed: dict[str, Any], request: dict[str, Any]) -> bool:
        moved_any = False
        for table, items in parsed.get("Responses", {}).items():
            if len(items) < 2:
                continue
            moved = items[: len(items) // 2]
            del items[: len(items) // 2]
            keys = dict(request[table])
            keys["Keys"] = [{"_key": item["_key"]} for item in moved]
            parsed.setdefault("UnprocessedKeys", {})[table] = keys
            moved_any = True
        return moved_any


class UnprocessedItems(AnswerRewriter):
    """Answers a fraction of BatchWriteItem calls with half of their items unprocessed, as DynamoDB may."""

    def __init__(self, client: Any, fraction: float) -> None:
        super().__init__(client, "BatchWriteItem", fraction, seed=5)

    def rewrite(self, parsed: dict[str, Any], request: dict[str, Any]) -> bool:
        # The items were written; sent again they are rewritten with the same values.
        parsed["UnprocessedItems"] = {
            table: requests[: max(1, len(requests) // 2)] for table, requests in request.items()
        }
        return True


def test_unprocessed_keys_and_throttled_reads_are_retried(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    store = dynamodb_stores.open()
    offline.upsert(history(range(1, 251), steps=1))
    list(sync(catalog_of(offline.group), reader, store, now=after_all))
    unprocessed = UnprocessedKeys(store.client, fraction=0.5)
    throttled = Injector(store.client, "BatchGetItem", fraction=0.3)
    assert online_mismatches(store, offline, extra_keys=[encode_key([9999])]) == []
    assert unprocessed.injected > 0 and throttled.injected > 0


# --- a sync process killed at random points, then rerun ---

SYNC_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from datetime import datetime
from support.online_support import make_group, catalog_of
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.sync import sync
from pathlib import Path
now = datetime.fromisoformat(sys.argv[2])
kind = sys.argv[3]
if kind == "sqlite":
    from featurestore.online.sqlite import SqliteOnlineStore
    store = SqliteOnlineStore(Path(sys.argv[4]))
else:
    import boto3
    from featurestore.online.dynamodb.store import DynamoDBOnlineStore
    client = boto3.client("dynamodb", endpoint_url=sys.argv[4], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    store = DynamoDBOnlineStore(client, table_prefix=sys.argv[5], write_concurrency=8, write_mode=sys.argv[6],
                                lease_seconds={lease_seconds})
print("ready", flush=True)
for summary in sync(catalog_of(make_group()), DuckDBOfflineStore(Path(sys.argv[1])), store, now=lambda: now):
    print(summary.items_written, summary.skipped_stale, flush=True)
"""


@pytest.mark.slow
def test_sync_killed_at_random_points_converges(offline: OfflineTable, stores: StoreFactory, tmp_path: Path) -> None:
    script = tmp_path / "sync_script.py"
    script.write_text(SYNC_SCRIPT.format(tests=str(TESTS_DIR), lease_seconds=LEASE_SECONDS))
    rng = random.Random(11)
    entities = 300
    offline.upsert(history(range(1, entities + 1), steps=2))
    for round_ in range(3):
        # Each round: new offline changes, some pre-computed for the next round (valid only then, with no
        # dbt run touching them again), a sync killed at a random point, then a complete rerun.
        now = at(1.5 + round_)
        offline.upsert(
            [([u], at(1 + round_), values_for(u + round_)) for u in range(1, entities, 2)]
            + [([u], at(2.25 + round_), values_for(u + 10 * round_)) for u in range(1, entities, 3)]
        )
        command = [sys.executable, str(script), str(offline.path), now.isoformat(), *stores.argv()]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        # From reading the offline store through writing (about 1 s on dynalite) to storing the marker.
        time.sleep(rng.uniform(0.0, 1.2))
        process.kill()
        process.wait()
        process.stdout.close()
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        assert online_mismatches(stores.open(), offline, as_of=now) == []


def test_a_batch_sync_that_lost_its_lease_stops_writing(dynalite: Dynalite) -> None:
    client = dynalite.client()
    store = DynamoDBOnlineStore(client, table_prefix=f"l{uuid.uuid4().hex[:8]}_", write_mode="batch")
    markers = store.markers_table()
    stalled = GroupLease(client, markers, "fg_test", seconds=1.0)
    stalled.acquire()
    stalled.check()  # fresh: nothing to do
    time.sleep(0.9)  # past the lease's margin by the local clock: a stall
    with pytest.raises(LeaseLostError, match="stalled past its lease"):
        stalled.check()

    taken_over = GroupLease(client, markers, "fg_test", seconds=1.0, wait_seconds=5)
    taken_over.acquire()  # waits for the stalled holder's lease to expire
    assert taken_over.token == stalled.token + 1
    newcomer = GroupLease(client, markers, "fg_test", seconds=1.0, wait_seconds=0)
    with pytest.raises(OnlineStoreError, match="holds its lease"):
        newcomer.acquire()
    client.delete_item(TableName=markers, Key={"group_name": {"S": "lease#fg_test"}})
    newcomer.acquire()
    time.sleep(0.6)  # past half: the next check renews, and finds the lease taken
    with pytest.raises(LeaseLostError, match="another sync took the lease"):
        taken_over.check()
