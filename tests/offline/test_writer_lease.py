"""One writer per incremental model (writer_lease.py): file locks locally, DynamoDB items on Athena; and
the online sync, which keeps its marker below a writer still at work so that rows the writer commits
later (in batches, all stamped with its start) are read once they land."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.online_support import BASE_TIME, OfflineTable, catalog_of, make_group, online_mismatches, values_for
from support.timing import scaled

from featurestore.core.errors import OnlineStoreError, WriterBusyError
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.offline.writer_lease import DynamoDBWriterLeases, FileWriterLeases, under_leases
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync

if TYPE_CHECKING:
    from conftest import Dynalite

NOW = BASE_TIME + dt.timedelta(days=30)


# --- local: file locks ---


def test_file_leases_serialize_writers_and_say_since_when(tmp_path: Path) -> None:
    leases = FileWriterLeases(tmp_path / "locks", wait_seconds=scaled(10), poll_seconds=0.01)
    assert leases.in_flight_since("user_engagement") is None
    order: list[str] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait()
        with leases.hold(["user_engagement"], "second"):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with leases.hold(["user_engagement", "article_popularity"], "first"):
        since = leases.in_flight_since("user_engagement")
        assert since is not None and before <= since <= dt.datetime.now(dt.UTC).replace(tzinfo=None)
        first_holds.set()
        time.sleep(0.3)  # the second writer is waiting meanwhile
        order.append("first")
    thread.join()
    assert order == ["first", "second"]
    assert leases.in_flight_since("user_engagement") is None


HOLDER = """
import sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
from featurestore.offline.writer_lease import FileWriterLeases
with FileWriterLeases(Path(sys.argv[1])).hold(["user_engagement"], "featurestore backfill of user_engagement"):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_busy_model_is_refused_after_the_wait_naming_its_writer(tmp_path: Path) -> None:
    src = str(Path(__file__).resolve().parents[2] / "python" / "src")
    script = tmp_path / "holder.py"
    script.write_text(HOLDER.format(src=src))
    folder = tmp_path / "locks"
    holder = subprocess.Popen(
        [sys.executable, str(script), str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        leases = FileWriterLeases(folder, wait_seconds=0.2, poll_seconds=0.05)
        with (
            pytest.raises(WriterBusyError, match=r"'user_engagement' is being written by featurestore backfill"),
            leases.hold(["user_engagement"], "micro-batch"),
        ):
            pass
        assert leases.in_flight_since("user_engagement") is not None
    finally:
        holder.kill()  # a writer that dies: the OS releases its lock
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    leases = FileWriterLeases(folder, wait_seconds=scaled(5))
    assert leases.in_flight_since("user_engagement") is None
    with leases.hold(["user_engagement"], "micro-batch"):
        pass


# --- Athena: DynamoDB items ---


@pytest.fixture
def dynamodb_leases(dynalite: Dynalite) -> Iterator[tuple[DynamoDBWriterLeases, DynamoDBWriterLeases]]:
    store = DynamoDBOnlineStore(dynalite.client(), table_prefix=f"w{uuid.uuid4().hex[:8]}_")
    table = store.markers_table()
    yield (
        DynamoDBWriterLeases(store.client, table, lease_seconds=scaled(3), wait_seconds=scaled(10)),
        DynamoDBWriterLeases(dynalite.client(), table, lease_seconds=scaled(3), wait_seconds=0),
    )
    store.close()


def test_dynamodb_leases_exclude_a_second_writer_until_released(
    dynamodb_leases: tuple[DynamoDBWriterLeases, DynamoDBWriterLeases],
) -> None:
    first, impatient = dynamodb_leases
    assert first.in_flight_since("user_engagement") is None
    with first.hold(["user_engagement"], "featurestore maintain"):
        since = impatient.in_flight_since("user_engagement")
        assert since is not None and abs(since - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(
            seconds=scaled(30)
        )
        with (
            pytest.raises(OnlineStoreError, match="another featurestore maintain of 'user_engagement' holds"),
            impatient.hold(["user_engagement"], "micro-batch"),
        ):
            pass
        # Other models are free.
        with impatient.hold(["article_popularity"], "micro-batch"):
            pass
    assert impatient.in_flight_since("user_engagement") is None
    with impatient.hold(["user_engagement"], "micro-batch"):
        pass


def test_a_dynamodb_lease_outlives_its_validity_while_held(
    dynamodb_leases: tuple[DynamoDBWriterLeases, DynamoDBWriterLeases],
) -> None:
    """A backfill chunk runs for many minutes: the lease is renewed in the background meanwhile."""
    first, impatient = dynamodb_leases
    with first.hold(["user_engagement"], "featurestore backfill of user_engagement"):
        time.sleep(first.lease_seconds * 1.5)
        with (
            pytest.raises(OnlineStoreError, match="holds its lease"),
            impatient.hold(["user_engagement"], "micro-batch"),
        ):
            pass


# --- the sync and a writer at work ---


class StubWriters:
    """A writer of the group at work since `since` (None: none)."""

    def __init__(self) -> None:
        self.since: dt.datetime | None = None

    @contextlib.contextmanager
    def hold(self, models: Sequence[str], what: str) -> Iterator[None]:
        yield

    def in_flight_since(self, model: str) -> dt.datetime | None:
        return self.since


def test_rows_a_writer_commits_in_batches_are_all_synced(tmp_path: Path) -> None:
    """A long backfill (or a `force_batch` write) commits its rows in several statements, all stamped with
    its start. A sync between two of them reads the first batch; without the writer's lease the marker
    would reach that stamp, and the later batch (computed_at not after the marker) would never be read."""
    offline = OfflineTable(tmp_path / "offline.duckdb", make_group())
    store = SqliteOnlineStore(tmp_path / "online.sqlite")
    catalog, reader = catalog_of(offline.group), DuckDBOfflineStore(offline.path)
    writers = StubWriters()
    offline.upsert([([user], BASE_TIME, values_for(user)) for user in range(1, 21)])
    list(sync(catalog, reader, store, now=lambda: NOW, writers=writers))

    # The backfill takes its lease, then its dbt invocation starts: computed_at after `since`.
    writers.since = offline.run_clock + dt.timedelta(minutes=1)
    stamp = offline.upsert(
        [([user], BASE_TIME + dt.timedelta(hours=1), values_for(user + 100)) for user in range(1, 11)]
    )
    (between,) = sync(catalog, reader, store, now=lambda: NOW, writers=writers)
    assert between.items_written == 10
    assert between.marker is not None and between.marker.computed_at < writers.since
    offline.run_clock -= dt.timedelta(minutes=5)  # the same invocation: the same stamp
    assert (
        offline.upsert([([u], BASE_TIME + dt.timedelta(hours=1), values_for(u + 100)) for u in range(11, 21)]) == stamp
    )
    writers.since = None  # done, lease released
    (after,) = sync(catalog, reader, store, now=lambda: NOW, writers=writers)
    assert after.items_written == 10
    assert online_mismatches(store, offline) == []
    store.close()


def test_each_backfill_chunk_runs_under_the_groups_lease_and_micro_batches_fit_between(tmp_path: Path) -> None:
    from featurestore.offline.backfill import BackfillState, plan_backfill, run_backfill

    leases = FileWriterLeases(tmp_path / "locks", wait_seconds=scaled(10), poll_seconds=0.01)
    plan = plan_backfill("user_engagement", dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 4), chunk_days=1)
    seen: list[bool] = []

    def chunk_runner(_plan: object, _chunk: object) -> None:
        seen.append(leases.in_flight_since("user_engagement") is not None)

    run_backfill(
        plan,
        BackfillState(tmp_path / "state.json", plan),
        under_leases(chunk_runner, leases, ["user_engagement"], "featurestore backfill of user_engagement"),
    )
    assert seen == [True, True, True]
    assert leases.in_flight_since("user_engagement") is None
