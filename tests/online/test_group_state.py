"""The online store's per-group state (features and types, TTL, entity, event time, definition fingerprint):
any change of it makes the next sync rewrite every entity (issue 12, scenarios 4 and 5), on sqlite and
DynamoDB (dynalite), crash-safe; `ttl: none` stores no expiry. The property test at the end checks that after
any sequence of such changes and value updates, each sync leaves online == offline as of its time."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.online_support import catalog_of, make_group

from featurestore.core.contract import FeatureGroup
from featurestore.core.keys import encode_key
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.base import GroupState, OnlineStore, SyncMarker
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.serving import ValueStatus, get_online_features
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync_group

if TYPE_CHECKING:
    from conftest import Dynalite

T0 = dt.datetime(2026, 10, 1)
USERS = range(1, 41)
DUCK_TYPES = {"bigint": "bigint", "varchar": "varchar", "double": "double"}


def group_of(features: Sequence[tuple[str, str]], ttl: str = "7d") -> FeatureGroup:
    return make_group("fg_state", ttl=ttl, features=features)


@dataclass
class Offline:
    """A group's offline table in a DuckDB file, rebuilt whole (a `dbt run --full-refresh`: every row gets
    the run's computed_at) or merged (changed rows get it); `rows` is the Python truth of the comparisons."""

    path: Path
    group: FeatureGroup
    rows: dict[tuple[int, dt.datetime], dict[str, Any]] = field(default_factory=dict)
    clock: dt.datetime = dt.datetime(2026, 11, 1)

    def _run(self) -> dt.datetime:
        self.clock += dt.timedelta(minutes=5)
        return self.clock

    def rebuild(self, group: FeatureGroup, rows: dict[tuple[int, dt.datetime], dict[str, Any]]) -> None:
        self.group, self.rows = group, dict(rows)
        computed_at = self._run()
        columns = ", ".join(f"{f.name} {DUCK_TYPES[f.data_type]}" for f in group.features)
        with duckdb.connect(str(self.path)) as connection:
            connection.execute(f"drop table if exists {group.name}")
            connection.execute(
                f"create table {group.name} (user_id bigint, effective_at timestamp, {columns}, computed_at timestamp)"
            )
            connection.executemany(
                f"insert into {group.name} values (?, ?, {', '.join('?' * len(group.features))}, ?)",
                [
                    [user, at, *(values[f.name] for f in group.features), computed_at]
                    for (user, at), values in sorted(self.rows.items())
                ],
            )

    def merge(self, rows: dict[tuple[int, dt.datetime], dict[str, Any]]) -> None:
        computed_at = self._run()
        names = self.group.feature_names
        with duckdb.connect(str(self.path)) as connection:
            for (user, at), values in rows.items():
                connection.execute(f"delete from {self.group.name} where user_id = ? and effective_at = ?", [user, at])
                connection.execute(
                    f"insert into {self.group.name} values (?, ?, {', '.join('?' * len(names))}, ?)",
                    [user, at, *(values[name] for name in names), computed_at],
                )
        self.rows.update(rows)

    def valid_at(self, now: dt.datetime) -> dict[int, tuple[dt.datetime, dict[str, Any]]]:
        latest: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
        for (user, at), values in self.rows.items():
            if at <= now and (user not in latest or at > latest[user][0]):
                latest[user] = (at, values)
        return latest


class Stores:
    def __init__(self, backend: str, tmp_path: Path, dynalite: Dynalite | None) -> None:
        self.backend, _, mode = backend.partition("-")
        self.mode = mode or "conditional"
        self.tmp_path = tmp_path
        self.dynalite = dynalite
        self.prefix = f"s{uuid.uuid4().hex[:8]}_"
        self.opened: list[OnlineStore] = []

    def open(self) -> Any:
        store: Any
        if self.backend == "sqlite":
            store = SqliteOnlineStore(self.tmp_path / "online.sqlite")
        else:
            assert self.dynalite is not None
            store = DynamoDBOnlineStore(
                self.dynalite.client(max_pool_connections=8), self.prefix, write_concurrency=4, write_mode=self.mode
            )
        self.opened.append(store)
        return store

    def stored_attributes(self, store: Any, group: FeatureGroup, user: int) -> set[str] | None:
        """The names stored for an entity: feature names, plus `_expires_at` when the item has one."""
        key = encode_key([user])
        if self.backend == "sqlite":
            with sqlite3.connect(self.tmp_path / "online.sqlite") as connection:
                row = connection.execute(
                    f'select vals, expires_at from "fg_{group.name}" where key = ?', (key,)
                ).fetchone()
            if row is None:
                return None
            return set(json.loads(row[0])) | ({"_expires_at"} if row[1] is not None else set())
        item = store.client.get_item(TableName=store.table_name(group.name), Key={"_key": {"S": key}}).get("Item")
        if item is None:
            return None
        return {name for name in item if name not in {"_key", "_event_time", "_computed_at", "_digest", "_state"}}


@pytest.fixture(params=["sqlite", "dynamodb", "dynamodb-auto"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    dynalite = request.getfixturevalue("dynalite") if request.param.startswith("dynamodb") else None
    factory = Stores(request.param, tmp_path, dynalite)
    yield factory
    for store in factory.opened:
        store.close()


def rows_for(features: Sequence[str], seed: int, users: range = USERS) -> dict[tuple[int, dt.datetime], dict[str, Any]]:
    rows = {}
    for user in users:
        for step in range(3):
            values: dict[str, Any] = {}
            for index, name in enumerate(features):
                number = user * 100 + step * 10 + index + seed
                values[name] = f"v{number}" if name.startswith("label") else number
            rows[(user, T0 + dt.timedelta(hours=step))] = values
    return rows


def online_vs_offline(store: OnlineStore, offline: Offline, now: dt.datetime, users: range = USERS) -> list[str]:
    """Each entity's stored values against the offline row valid at `now` ([] when all agree)."""
    group = offline.group
    expected = offline.valid_at(now)
    stored = store.read(group, [encode_key([user]) for user in users], list(group.feature_names))
    problems = []
    for user, found in zip(users, stored, strict=True):
        if user not in expected:
            if found is not None:
                problems.append(f"user {user}: online {found}, no offline row at {now}")
        elif found is None:
            problems.append(f"user {user}: missing online")
        elif (found.event_time, dict(found.values)) != expected[user]:
            problems.append(f"user {user}: online {found.event_time} {dict(found.values)} != {expected[user]}")
        elif found.expires_at != group.expires_at(found.event_time):
            problems.append(f"user {user}: expires {found.expires_at}, ttl {group.ttl_text}")
    return problems


NOW = T0 + dt.timedelta(hours=5)


def test_a_renamed_feature_is_served_under_its_new_name_after_a_full_refresh_and_a_plain_sync(
    tmp_path: Path, stores: Stores
) -> None:
    """Scenario 4 online: rename clicks_7d to clicks_last_7d, `dbt run --full-refresh` (same values, new
    computed_at), `featurestore sync` without --full: every lookup returns the renamed feature's value,
    PRESENT, and the old name is gone from the stored items. On main 0 items were rewritten (the values'
    digest is unchanged) and every lookup of the new name was NULL with status PRESENT."""
    before = group_of([("clicks_7d", "bigint"), ("label", "varchar")])
    offline = Offline(tmp_path / "offline.duckdb", before)
    offline.rebuild(before, rows_for(["clicks_7d", "label"], seed=0))
    reader = DuckDBOfflineStore(offline.path)
    store = stores.open()
    first = sync_group(before, reader, store, now=NOW)
    assert first.items_written == len(USERS)

    after = group_of([("clicks_last_7d", "bigint"), ("label", "varchar")])
    renamed = {key: {"clicks_last_7d": v["clicks_7d"], "label": v["label"]} for key, v in offline.rows.items()}
    offline.rebuild(after, renamed)
    summary = sync_group(after, reader, store, now=NOW)

    assert summary.full_load
    assert summary.items_written == len(USERS)
    assert any("features removed: clicks_7d" in change for change in summary.state_changes)
    assert any("features added: clicks_last_7d" in change for change in summary.state_changes)
    answer = get_online_features(
        catalog_of(after),
        store,
        ["fg_state:clicks_last_7d", "fg_state:label"],
        [{"user_id": user} for user in USERS],
        now=lambda: NOW,
    )
    expected = offline.valid_at(NOW)
    assert [row[0] for row in answer.values] == [expected[user][1]["clicks_last_7d"] for user in USERS]
    assert {status for row in answer.statuses for status in row} == {ValueStatus.PRESENT}
    for user in (1, 17, 40):
        assert stores.stored_attributes(store, after, user) == {"clicks_last_7d", "label", "_expires_at"}
    marker = store.get_marker(after.name)
    assert marker is not None and marker.state == GroupState.of(after)
    # Nothing changed since: the next sync is incremental again and writes nothing.
    again = sync_group(after, reader, store, now=NOW + dt.timedelta(minutes=5))
    assert (again.full_load, again.items_written, again.state_changes) == (False, 0, ())


def test_a_removed_feature_and_an_entity_without_rows_disappear_online(tmp_path: Path, stores: Stores) -> None:
    before = group_of([("clicks_7d", "bigint"), ("label", "varchar")])
    offline = Offline(tmp_path / "offline.duckdb", before)
    offline.rebuild(before, rows_for(["clicks_7d", "label"], seed=0))
    reader = DuckDBOfflineStore(offline.path)
    store = stores.open()
    sync_group(before, reader, store, now=NOW)

    after = group_of([("clicks_7d", "bigint")])
    # The new definition yields no rows for users 1-5 (as a changed filter would).
    kept = {key: {"clicks_7d": v["clicks_7d"]} for key, v in offline.rows.items() if key[0] > 5}
    offline.rebuild(after, kept)
    summary = sync_group(after, reader, store, now=NOW)

    assert summary.items_deleted == 5
    assert online_vs_offline(store, offline, NOW) == []
    assert stores.stored_attributes(store, after, 9) == {"clicks_7d", "_expires_at"}
    assert stores.stored_attributes(store, after, 3) is None


@pytest.mark.parametrize("new_ttl", ["30d", "none"])
def test_a_ttl_change_reaches_every_item_without_online_drop(tmp_path: Path, stores: Stores, new_ttl: str) -> None:
    """Scenario 5: ttl 1d -> 30d (or none), no new rows, plain sync: every item gets the new expiry
    (`ttl: none`: no expiry attribute at all), and a lookup two days after the values is PRESENT. On main
    the sync skipped every item as stale."""
    short = group_of([("clicks_7d", "bigint")], ttl="1d")
    offline = Offline(tmp_path / "offline.duckdb", short)
    offline.rebuild(short, rows_for(["clicks_7d"], seed=0))
    reader = DuckDBOfflineStore(offline.path)
    store = stores.open()
    sync_group(short, reader, store, now=NOW)
    later = NOW + dt.timedelta(days=2)
    lookup = ["fg_state:clicks_7d"], [{"user_id": user} for user in USERS]
    expired = get_online_features(catalog_of(short), store, *lookup, now=lambda: later)
    assert {row[0] for row in expired.statuses} == {ValueStatus.EXPIRED}

    longer = group_of([("clicks_7d", "bigint")], ttl=new_ttl)
    summary = sync_group(longer, reader, store, now=NOW)  # the offline table is untouched

    assert summary.full_load and summary.items_written == len(USERS)
    assert summary.state_changes == (f"ttl changed: 86400s -> {'2592000s' if new_ttl == '30d' else 'none'}",)
    offline.group = longer
    assert online_vs_offline(store, offline, NOW) == []
    served = get_online_features(catalog_of(longer), store, *lookup, now=lambda: later)
    assert {row[0] for row in served.statuses} == {ValueStatus.PRESENT}
    expiry = {"_expires_at"} if new_ttl != "none" else set()
    assert stores.stored_attributes(store, longer, 7) == {"clicks_7d", *expiry}


def test_a_changed_definition_fingerprint_forces_a_full_load(tmp_path: Path, stores: Stores) -> None:
    """A new definition whose rows kept their computed_at (nothing an incremental sync would read) is
    still written: the fingerprint is part of the state."""
    group = group_of([("clicks_7d", "bigint")])
    offline = Offline(tmp_path / "offline.duckdb", group)
    offline.rebuild(group, rows_for(["clicks_7d"], seed=0))
    reader = DuckDBOfflineStore(offline.path)
    store = stores.open()
    sync_group(group, reader, store, now=NOW, definition="fingerprint-a")
    with duckdb.connect(str(offline.path)) as connection:
        connection.execute("update fg_state set clicks_7d = clicks_7d + 1000")  # computed_at kept
    offline.rows = {key: {"clicks_7d": v["clicks_7d"] + 1000} for key, v in offline.rows.items()}

    same = sync_group(group, reader, store, now=NOW, definition="fingerprint-a")
    assert (same.full_load, same.items_written) == (False, 0)
    changed = sync_group(group, reader, store, now=NOW, definition="fingerprint-b")
    assert changed.full_load and changed.state_changes == ("definition changed",)
    assert online_vs_offline(store, offline, NOW) == []
    marker = store.get_marker(group.name)
    assert marker is not None and marker.state is not None and marker.state.definition == "fingerprint-b"


class MarkerCrash(Exception):
    pass


def test_a_crash_before_the_marker_keeps_the_old_state_and_the_rerun_loads_fully_again(
    tmp_path: Path, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = group_of([("clicks_7d", "bigint")])
    offline = Offline(tmp_path / "offline.duckdb", before)
    offline.rebuild(before, rows_for(["clicks_7d"], seed=0))
    reader = DuckDBOfflineStore(offline.path)
    store = stores.open()
    sync_group(before, reader, store, now=NOW)
    old_marker = store.get_marker(before.name)

    after = group_of([("clicks_28d", "bigint")])
    offline.rebuild(after, {key: {"clicks_28d": v["clicks_7d"] * 4} for key, v in offline.rows.items()})

    def crash(group: str, marker: SyncMarker | None) -> None:
        raise MarkerCrash(group)

    with monkeypatch.context() as patch:
        patch.setattr(store, "set_marker", crash)
        with pytest.raises(MarkerCrash):
            sync_group(after, reader, store, now=NOW)
    assert store.get_marker(before.name) == old_marker

    rerun = sync_group(after, reader, store, now=NOW)
    assert rerun.full_load and rerun.state_changes
    assert rerun.items_written == 0  # every item already carries the new state's tag
    assert online_vs_offline(store, offline, NOW) == []
    marker = store.get_marker(after.name)
    assert marker is not None and marker.state == GroupState.of(after)


def test_a_marker_without_a_state_is_a_state_change(tmp_path: Path) -> None:
    """Markers stored before group states: what the items hold is unknown, so the next sync rewrites."""
    group = group_of([("clicks_7d", "bigint")])
    offline = Offline(tmp_path / "offline.duckdb", group)
    offline.rebuild(group, rows_for(["clicks_7d"], seed=0))
    store = SqliteOnlineStore(tmp_path / "online.sqlite")
    reader = DuckDBOfflineStore(offline.path)
    sync_group(group, reader, store, now=NOW)
    marker = store.get_marker(group.name)
    assert marker is not None
    store.set_marker(group.name, SyncMarker(marker.computed_at, marker.valid_until, None))
    summary = sync_group(group, reader, store, now=NOW)
    assert summary.full_load and summary.state_changes[0].startswith("no group state stored")
    store.close()


def test_a_sqlite_table_from_before_states_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "online.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            'create table "fg_fg_state" (key text primary key, event_time integer not null, computed_at integer '
            "not null, expires_at integer not null, digest text not null, vals text not null) without rowid"
        )
        connection.execute("""insert into "fg_fg_state" values ('[1]', 1, 1, 2, 'd', '{"clicks_7d":3}')""")
    group = group_of([("clicks_7d", "bigint")], ttl="none")
    offline = Offline(tmp_path / "offline.duckdb", group)
    offline.rebuild(group, rows_for(["clicks_7d"], seed=0, users=range(2, 5)))
    store = SqliteOnlineStore(path)
    summary = sync_group(group, DuckDBOfflineStore(offline.path), store, now=NOW)
    # The old item of entity 1 has no row offline and another state: deleted; the others are written.
    assert (summary.items_written, summary.items_deleted) == (3, 1)
    assert online_vs_offline(store, offline, NOW, users=range(1, 5)) == []
    store.close()


# One of: new values of some users (a micro-batch merge), or a change of the group (then a full refresh).
CHANGES = st.one_of(
    st.tuples(st.just("values"), st.integers(0, 50)),
    st.tuples(st.just("rename"), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("add"), st.integers(0, 50)),
    st.tuples(st.just("ttl"), st.sampled_from(["1h", "2d", "none"])),
    st.tuples(st.just("definition"), st.integers(0, 3)),
    st.tuples(st.just("sync"), st.integers(0, 72)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(CHANGES, min_size=1, max_size=8))
def test_property_after_any_change_the_next_sync_leaves_online_equal_to_offline(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, Any]]
) -> None:
    """Random sequences of value updates and changes of the feature set, TTL and definition: after every
    sync, each entity's online values (names, values, expiry) equal the offline row valid at the sync's
    time, and no item holds a feature the group no longer has."""
    root = tmp_path_factory.mktemp("state-property")
    users = range(1, 13)
    features = ["count_a", "label_b"]
    ttl, definition, counter = "7d", "d0", 0
    previous_definition = definition
    group = group_of([(name, "varchar" if name.startswith("label") else "bigint") for name in features], ttl)
    offline = Offline(root / "offline.duckdb", group)
    offline.rebuild(group, rows_for(features, 0, users))
    reader = DuckDBOfflineStore(offline.path)
    store = SqliteOnlineStore(root / "online.sqlite")
    try:
        for kind, argument in [*steps, ("sync", 6)]:
            if kind == "values":
                user = 1 + argument % len(users)
                step = dt.timedelta(hours=1 + argument % 5, minutes=argument)
                names = offline.group.feature_names
                offline.merge({(user, T0 + step): rows_for(names, argument, range(user, user + 1))[(user, T0)]})
                continue
            if kind == "sync":
                now = T0 + dt.timedelta(hours=argument)
                sync_group(offline.group, reader, store, now=now, definition=definition)
                assert online_vs_offline(store, offline, now, users) == []
                with sqlite3.connect(root / "online.sqlite") as connection:
                    stored_names = {
                        name
                        for (vals,) in connection.execute('select vals from "fg_fg_state"')
                        for name in json.loads(vals)
                    }
                assert stored_names <= set(offline.group.feature_names)
                continue
            counter += 1
            if kind == "rename" and features:
                index = argument % len(features)
                features[index] = f"{features[index].split('_r')[0]}_r{counter}"
            elif kind == "remove" and len(features) > 1:
                features.pop(argument % len(features))
            elif kind == "add":
                features.append(f"{'label' if argument % 2 else 'count'}_n{counter}")
            elif kind == "ttl":
                ttl = argument
            elif kind == "definition":
                definition = f"d{argument}"
            new_group = group_of(
                [(name, "varchar" if name.startswith("label") else "bigint") for name in features], ttl
            )
            if GroupState.of(new_group, definition) == GroupState.of(offline.group, previous_definition):
                continue  # no change (e.g. the only feature kept): a full refresh would recompute the same rows
            previous_definition = definition
            # A full refresh recomputes every row with the new definition (its values: a new seed).
            offline.rebuild(new_group, rows_for(features, counter * 7, users))
    finally:
        store.close()
