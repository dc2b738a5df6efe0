"""`featurestore sync` on small synthetic offline tables, on both backends, with faults injected.

Every test ends by comparing the online store item by item with the offline latest values."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse
from online_support import BASE_TIME, OfflineTable, catalog_of, make_group, online_mismatches, values_for

from featurestore.dynamodb_lease import GroupLease, LeaseLostError
from featurestore.dynamodb_online_store import DynamoDBOnlineStore
from featurestore.errors import FeatureGroupNotOnlineError, OnlineStoreError, SyncGaveUpError
from featurestore.key_encoding import encode_key
from featurestore.offline_store import DuckDBOfflineStore
from featurestore.online_store import OnlineStore
from featurestore.retry import Backoff
from featurestore.sqlite_online_store import SqliteOnlineStore
from featurestore.sync import sync, sync_group

if TYPE_CHECKING:
    from conftest import Dynalite

TESTS_DIR = Path(__file__).resolve().parent
# Short, so that a rerun after a killed batch-mode sync waits little for the lease the killed one held.
LEASE_SECONDS = 3.0
FAST_BACKOFF = Backoff(max_attempts=12, base_seconds=0.001, cap_seconds=0.01)


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

    def argv(self) -> list[str]:
        if self.backend == "sqlite":
            return ["sqlite", str(self.sqlite_path)]
        assert self.dynalite is not None
        return ["dynamodb", self.dynalite.endpoint_url, self.prefix, self.write_mode]


@pytest.fixture(params=["sqlite", "dynamodb", "dynamodb-batch"])
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
    (first,) = sync(catalog, reader, store)
    assert (first.full_load, first.rows_read, first.items_written, first.skipped_stale) == (True, 60, 60, 0)
    assert online_mismatches(store, offline) == []

    # A micro-batch: 5 users get a new row; 10 others are recomputed with unchanged values (no new computed_at).
    offline.upsert(
        [([user], BASE_TIME + dt.timedelta(minutes=15), values_for(user * 7)) for user in range(1, 6)]
        + history(range(20, 30), steps=3)
    )
    (second,) = sync(catalog, reader, store)
    assert (second.full_load, second.rows_read, second.items_written) == (False, 5, 5)
    assert online_mismatches(store, offline) == []
    (third,) = sync(catalog, reader, store)
    assert (third.rows_read, third.items_written) == (0, 0)


def test_backfill_rewriting_history_is_synced(
    offline: OfflineTable, reader: DuckDBOfflineStore, stores: StoreFactory
) -> None:
    store = stores.open()
    catalog = catalog_of(offline.group)
    offline.upsert(history(range(1, 31), steps=4))
    list(sync(catalog, reader, store))
    latest = BASE_TIME + dt.timedelta(minutes=15)
    # New logic: users 1-3 get other values at their latest event time; users 4-7 only in older rows.
    offline.upsert(
        [([user], latest, values_for(user + 5000)) for user in range(1, 4)]
        + [([user], BASE_TIME, values_for(user + 6000)) for user in range(4, 8)]
    )
    (summary,) = sync(catalog, reader, store)
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
    list(sync(catalog, reader, store))
    # A stalled sync that read the old offline state wakes up and writes it all (a full load from the copy).
    stalled_store = stores.open()
    stalled_store.set_marker(offline.group.name, None)
    stalled = sync_group(offline.group, DuckDBOfflineStore(old_copy), stalled_store)
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
                sync_group(offline.group, source, store)
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
    list(sync(catalog_of(on), reader, store))
    assert store.get_marker(on.name) is not None

    offline.upsert([([user], BASE_TIME + dt.timedelta(hours=1), values_for(user + 900)) for user in range(1, 21)])
    assert list(sync(catalog_of(off), reader, store)) == []
    assert store.get_marker(on.name) is None, "turning a group off must forget its marker"
    with pytest.raises(FeatureGroupNotOnlineError, match=on.name):
        list(sync(catalog_of(off), reader, store, select=[on.name]))
    # Off: its online values stay as they were (dropping them is `featurestore online drop`).
    assert len(online_mismatches(store, offline)) == 20

    (summary,) = sync(catalog_of(on), reader, store)
    assert summary.full_load and summary.items_written == 20
    assert online_mismatches(store, offline) == []


# --- throttling and unprocessed keys, injected into the DynamoDB client ---


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


class Injector:
    """Fails a fraction of the requests of one operation with a throttling error, before they are sent."""

    def __init__(self, client: Any, operation: str, fraction: float, seed: int = 7) -> None:
        self.fraction = fraction
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0
        client.meta.events.register(f"before-send.dynamodb.{operation}", self.before_send)

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
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


@pytest.fixture(params=["dynamodb", "dynamodb-batch"])
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
    batched = dynamodb_stores.write_mode == "batch"
    injector = Injector(store.client, "BatchWriteItem" if batched else "PutItem", fraction=0.3)
    unprocessed = UnprocessedItems(store.client, fraction=0.3) if batched else None
    (summary,) = sync(catalog_of(offline.group), reader, store)
    injected = injector.injected + (unprocessed.injected if unprocessed else 0)
    assert injector.injected > 0 and summary.retries == injected
    if unprocessed:
        assert unprocessed.injected > 0
    assert summary.items_written == 200
    assert online_mismatches(store, offline) == []


def test_sync_that_gives_up_names_the_group_and_keeps_its_marker(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    stores = dynamodb_stores
    store = stores.open(backoff=Backoff(max_attempts=3, base_seconds=0.0, cap_seconds=0.0))
    offline.upsert(history(range(1, 51), steps=1))
    list(sync(catalog_of(offline.group), reader, store))
    marker = store.get_marker(offline.group.name)
    offline.upsert([([user], BASE_TIME + dt.timedelta(hours=1), values_for(user)) for user in range(1, 51)])
    Injector(store.client, "BatchWriteItem" if stores.write_mode == "batch" else "PutItem", fraction=1.0)
    with pytest.raises(SyncGaveUpError, match=f"'{offline.group.name}'.*ProvisionedThroughputExceeded"):
        list(sync(catalog_of(offline.group), reader, store))
    assert store.get_marker(offline.group.name) == marker
    retry_store = stores.open()
    (summary,) = sync(catalog_of(offline.group), reader, retry_store)
    assert summary.items_written == 50
    assert online_mismatches(retry_store, offline) == []


class UnprocessedKeys:
    """Moves half of the items of a fraction of BatchGetItem answers into UnprocessedKeys, as DynamoDB does."""

    def __init__(self, client: Any, fraction: float) -> None:
        self.fraction = fraction
        self.rng = random.Random(3)
        self.local = threading.local()
        self.injected = 0
        client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", self.remember)
        client.meta.events.register("after-call.dynamodb.BatchGetItem", self.after_call)

    def remember(self, params: dict[str, Any], **_: Any) -> None:
        self.local.request = params["RequestItems"]

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed or self.rng.random() >= self.fraction:
            return
        for table, items in parsed.get("Responses", {}).items():
            if len(items) < 2:
                continue
            moved = items[: len(items) // 2]
            del items[: len(items) // 2]
            request = dict(self.local.request[table])
            request["Keys"] = [{"_key": item["_key"]} for item in moved]
            parsed.setdefault("UnprocessedKeys", {})[table] = request
            self.injected += 1


class UnprocessedItems:
    """Answers a fraction of BatchWriteItem calls with half of their items unprocessed, as DynamoDB may."""

    def __init__(self, client: Any, fraction: float) -> None:
        self.fraction = fraction
        self.rng = random.Random(5)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.injected = 0
        client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", self.remember)
        client.meta.events.register("after-call.dynamodb.BatchWriteItem", self.after_call)

    def remember(self, params: dict[str, Any], **_: Any) -> None:
        self.local.request = params["RequestItems"]

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        # botocore emits after-call for error responses too (e.g. an injected throttle): leave those alone.
        if "Error" in parsed:
            return
        with self.lock:
            if self.rng.random() >= self.fraction:
                return
            self.injected += 1
        # The items were written; sent again they are rewritten with the same values.
        parsed["UnprocessedItems"] = {
            table: requests[: max(1, len(requests) // 2)] for table, requests in self.local.request.items()
        }


def test_unprocessed_keys_and_throttled_reads_are_retried(
    offline: OfflineTable, reader: DuckDBOfflineStore, dynamodb_stores: StoreFactory
) -> None:
    store = dynamodb_stores.open()
    offline.upsert(history(range(1, 251), steps=1))
    list(sync(catalog_of(offline.group), reader, store))
    unprocessed = UnprocessedKeys(store.client, fraction=0.5)
    throttled = Injector(store.client, "BatchGetItem", fraction=0.3)
    assert online_mismatches(store, offline, extra_keys=[encode_key([9999])]) == []
    assert unprocessed.injected > 0 and throttled.injected > 0


# --- a sync process killed at random points, then rerun ---

SYNC_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from online_support import make_group, catalog_of
from featurestore.offline_store import DuckDBOfflineStore
from featurestore.sync import sync
from pathlib import Path
kind = sys.argv[2]
if kind == "sqlite":
    from featurestore.sqlite_online_store import SqliteOnlineStore
    store = SqliteOnlineStore(Path(sys.argv[3]))
else:
    import boto3
    from featurestore.dynamodb_online_store import DynamoDBOnlineStore
    client = boto3.client("dynamodb", endpoint_url=sys.argv[3], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    store = DynamoDBOnlineStore(client, table_prefix=sys.argv[4], write_concurrency=8, write_mode=sys.argv[5],
                                lease_seconds=3.0)
print("ready", flush=True)
for summary in sync(catalog_of(make_group()), DuckDBOfflineStore(Path(sys.argv[1])), store):
    print(summary.items_written, summary.skipped_stale, flush=True)
"""


@pytest.mark.slow
def test_sync_killed_at_random_points_converges(offline: OfflineTable, stores: StoreFactory, tmp_path: Path) -> None:
    script = tmp_path / "sync_script.py"
    script.write_text(SYNC_SCRIPT.format(tests=str(TESTS_DIR)))
    command = [sys.executable, str(script), str(offline.path), *stores.argv()]
    rng = random.Random(11)
    entities = 300
    offline.upsert(history(range(1, entities + 1), steps=2))
    for round_ in range(3):
        # Each round: new offline changes, a sync killed at a random point, then a complete rerun.
        offline.upsert(
            [([u], BASE_TIME + dt.timedelta(hours=1 + round_), values_for(u + round_)) for u in range(1, entities, 2)]
        )
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        # From reading the offline store through writing (about 1 s on dynalite) to storing the marker.
        time.sleep(rng.uniform(0.0, 1.2))
        process.kill()
        process.wait()
        process.stdout.close()
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        assert online_mismatches(stores.open(), offline) == []


def test_a_batch_sync_that_lost_its_lease_stops_writing(dynalite: Dynalite) -> None:
    client = dynalite.client()
    store = DynamoDBOnlineStore(client, table_prefix=f"l{uuid.uuid4().hex[:8]}_", write_mode="batch")
    markers = store._markers_table()
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
