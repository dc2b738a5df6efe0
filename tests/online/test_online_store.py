"""Both online store backends through one suite: newest-wins, markers, drop, types, serving on top."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support.online_support import FEATURE_COLUMNS, catalog_of, make_group, values_for

from featurestore.core.errors import (
    EntityKeyError,
    FeatureGroupNotOnlineError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from featurestore.core.keys import encode_key
from featurestore.core.retry import Backoff
from featurestore.online.base import GroupCodec, OnlineStore, SyncMarker
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.serving import ValueStatus, get_online_features
from featurestore.online.sqlite import SqliteOnlineStore

if TYPE_CHECKING:
    from conftest import Dynalite

T0 = dt.datetime(2026, 10, 5, 12, 0)
RUN0 = dt.datetime(2026, 11, 1)
NO_WAIT = Backoff(max_attempts=6, base_seconds=0.0, cap_seconds=0.0)


@pytest.fixture(params=["sqlite", "dynamodb", "dynamodb-batch", "dynamodb-auto"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    if request.param == "sqlite":
        backend: OnlineStore = SqliteOnlineStore(tmp_path / "online.sqlite")
    else:
        dynalite: Dynalite = request.getfixturevalue("dynalite")
        backend = DynamoDBOnlineStore(
            dynalite.client(),
            table_prefix=f"t{uuid.uuid4().hex[:8]}_",
            write_concurrency=4,
            backoff=NO_WAIT,
            write_mode=request.param.partition("-")[2] or "conditional",
        )
    yield backend
    backend.close()


GROUP = make_group()
CODEC = GroupCodec(GROUP)


def record(user: int, event_time: dt.datetime, seed: int, run: int = 0) -> Any:
    """A record as dbt run number `run` computed it."""
    return CODEC.record(encode_key([user]), event_time, values_for(seed), RUN0 + dt.timedelta(minutes=5 * run))


def stored_values(store: OnlineStore, user: int) -> tuple[dt.datetime, dict[str, Any]] | None:
    (found,) = store.read(GROUP, [encode_key([user])], list(FEATURE_COLUMNS))
    return None if found is None else (found.event_time, dict(found.values))


def test_values_of_every_type_round_trip(store: OnlineStore) -> None:
    records = [record(user, T0, seed=user) for user in range(1, 30)]
    stats = store.write(GROUP, records)
    assert (stats.written, stats.stale) == (29, 0)
    for user in range(1, 30):
        assert stored_values(store, user) == (T0, values_for(user))


def test_newest_wins(store: OnlineStore) -> None:
    store.write(GROUP, [record(1, T0, seed=10, run=1)])
    # Older event time: skipped. Same time and values from a later run (a full refresh): skipped.
    older = store.write(GROUP, [record(1, T0 - dt.timedelta(minutes=5), seed=11, run=2)])
    assert (older.written, older.stale) == (0, 1)
    assert stored_values(store, 1) == (T0, values_for(10))
    same = store.write(GROUP, [record(1, T0, seed=10, run=3)])
    assert (same.written, same.stale) == (0, 1)
    # Same time, other values from a later run (a backfill changed the logic): replaces.
    rewrite = store.write(GROUP, [record(1, T0, seed=12, run=4)])
    assert (rewrite.written, rewrite.stale) == (1, 0)
    assert stored_values(store, 1) == (T0, values_for(12))
    # Same time, other values from an earlier run (a stalled sync waking up): skipped.
    late = store.write(GROUP, [record(1, T0, seed=14, run=2)])
    assert (late.written, late.stale) == (0, 1)
    assert stored_values(store, 1) == (T0, values_for(12))
    newer = store.write(GROUP, [record(1, T0 + dt.timedelta(minutes=5), seed=13, run=5)])
    assert (newer.written, newer.stale) == (1, 0)
    assert stored_values(store, 1) == (T0 + dt.timedelta(minutes=5), values_for(13))
    replayed = store.write(GROUP, [record(1, T0, seed=12, run=6)])
    assert (replayed.written, replayed.stale) == (0, 1)
    assert stored_values(store, 1) == (T0 + dt.timedelta(minutes=5), values_for(13))


def test_missing_keys_and_missing_table_read_as_none(store: OnlineStore) -> None:
    assert store.read(GROUP, [encode_key([1])], ["count_7d"]) == [None]
    store.write(GROUP, [record(1, T0, seed=1)])
    found = store.read(GROUP, [encode_key([2]), encode_key([1]), encode_key([2])], ["count_7d"])
    assert found[0] is None and found[2] is None
    assert found[1] is not None and dict(found[1].values) == {"count_7d": 3}


def test_markers_and_drop(store: OnlineStore) -> None:
    assert store.get_marker(GROUP.name) is None
    store.set_marker(GROUP.name, SyncMarker(RUN0, T0))
    assert store.get_marker(GROUP.name) == SyncMarker(RUN0, T0)
    later = SyncMarker(RUN0 + dt.timedelta(microseconds=1), T0 + dt.timedelta(days=1, microseconds=7))
    store.set_marker(GROUP.name, later)
    assert store.get_marker(GROUP.name) == later
    store.set_marker(GROUP.name, SyncMarker(RUN0, None))
    assert store.get_marker(GROUP.name) == SyncMarker(RUN0, None)
    store.write(GROUP, [record(1, T0, seed=1)])
    assert store.drop(GROUP.name) is True
    assert store.get_marker(GROUP.name) is None
    assert store.read(GROUP, [encode_key([1])], ["count_7d"]) == [None]
    assert store.drop(GROUP.name) is False


def test_many_keys_in_chunks_in_request_order(store: OnlineStore) -> None:
    users = list(range(1, 251))
    store.write(GROUP, [record(user, T0, seed=user) for user in users])
    wanted = [*reversed(users), 999]
    found = store.read(GROUP, [encode_key([u]) for u in wanted], ["count_7d"])
    assert [None if f is None else f.values["count_7d"] for f in found] == [u * 3 for u in reversed(users)] + [None]


def test_serving_statuses_order_and_composite_keys(store: OnlineStore) -> None:
    pair = make_group("fg_pair", entity=(("user_id", "bigint"), ("category", "varchar")), ttl="1h")
    pair_codec = GroupCodec(pair)
    store.write(GROUP, [record(1, T0, seed=4)])
    store.write(
        pair,
        [
            pair_codec.record(encode_key([1, "sports"]), T0, values_for(6)),
            pair_codec.record(encode_key([1, "news"]), T0 - dt.timedelta(hours=2), values_for(8)),
        ],
    )
    catalog = catalog_of(GROUP, pair)
    rows = [
        {"user_id": 1, "category": "news"},
        {"user_id": "1", "category": "sports"},
        {"user_id": 2, "category": "sports"},
    ]
    result = get_online_features(
        catalog, store, ["fg_pair:label", "fg_test:count_7d"], rows, now=lambda: T0 + dt.timedelta(minutes=30)
    )
    assert result.features == ("fg_pair:label", "fg_test:count_7d")
    assert result.values == ((None, 12), ("label-6", 12), (None, None))
    assert result.statuses == (
        (ValueStatus.EXPIRED, ValueStatus.PRESENT),
        (ValueStatus.PRESENT, ValueStatus.PRESENT),
        (ValueStatus.NOT_FOUND, ValueStatus.NOT_FOUND),
    )
    assert result.to_arrow().column("fg_test:count_7d").to_pylist() == [12, 12, None]
    assert result.to_dict()["fg_pair:label__status"] == ["EXPIRED", "PRESENT", "NOT_FOUND"]


@pytest.mark.parametrize(
    ("features", "rows", "error", "named"),
    [
        (["nope:count_7d"], [{"user_id": 1}], UnknownFeatureGroupError, "nope"),
        (["fg_test:nope"], [{"user_id": 1}], UnknownFeatureError, "fg_test:nope"),
        (["fg_test"], [{"user_id": 1}], UnknownFeatureError, "<group>:<feature>"),
        (["fg_off:count_7d"], [{"user_id": 1}], FeatureGroupNotOnlineError, "fg_off"),
        (["fg_test:count_7d"], [{"user_id": 1}, {"article_id": 1}], EntityKeyError, "entity row 1"),
        (["fg_test:count_7d"], [{"user_id": 1.5}], EntityKeyError, "user_id"),
    ],
)
def test_lookup_errors_name_the_culprit(
    tmp_path: Path, features: list[str], rows: list[dict[str, Any]], error: type[Exception], named: str
) -> None:
    store = SqliteOnlineStore(tmp_path / "online.sqlite")
    catalog = catalog_of(GROUP, make_group("fg_off", online=False))
    with pytest.raises(error, match=named.replace("[", r"\[")):
        get_online_features(catalog, store, features, rows, now=lambda: T0)
    store.close()


def test_a_sqlite_file_from_before_sync_times_is_upgraded(tmp_path: Path) -> None:
    """Files written by earlier versions have markers without valid_until: they read as None, and new
    markers store it."""
    import sqlite3

    path = tmp_path / "online.sqlite"
    with sqlite3.connect(path) as old:
        old.execute("create table _sync_markers (group_name text primary key, marker text not null)")
        old.execute("insert into _sync_markers values (?, ?)", (GROUP.name, RUN0.isoformat(timespec="microseconds")))
    store = SqliteOnlineStore(path)
    assert store.get_marker(GROUP.name) == SyncMarker(RUN0, None)
    store.set_marker(GROUP.name, SyncMarker(RUN0, T0))
    store.close()
    reopened = SqliteOnlineStore(path)
    assert reopened.get_marker(GROUP.name) == SyncMarker(RUN0, T0)
    reopened.close()
