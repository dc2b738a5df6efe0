"""The DynamoDB lease of batched syncs under load: renewed in the background while the sync lives, so a
pause shorter than its validity costs nothing, and fenced, so a sync frozen past it never writes again.

Validities and stalls are scaled to the machine's load (timing.py): on an idle machine a lease of 1 to 2 s."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support.online_support import BASE_TIME, OfflineTable, catalog_of, make_group, online_mismatches, values_for
from support.timing import scaled

from featurestore.aws.dynamodb_lease import GroupLease
from featurestore.core.errors import LeaseLostError
from featurestore.core.retry import Backoff
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.sync import sync

if TYPE_CHECKING:
    from conftest import Dynalite

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parents[1]
FAST_BACKOFF = Backoff(max_attempts=12, base_seconds=0.001, cap_seconds=0.01)
NOW = BASE_TIME + dt.timedelta(days=30)
ENTITIES = 100  # four BatchWriteItem calls of 25 in a full load


def rows(seed: int, hours: float) -> list[tuple[list[int], dt.datetime, dict[str, Any]]]:
    return [([user], BASE_TIME + dt.timedelta(hours=hours), values_for(user + seed)) for user in range(1, ENTITIES + 1)]


@pytest.fixture
def offline(tmp_path: Path) -> OfflineTable:
    table = OfflineTable(tmp_path / "offline.duckdb", make_group())
    table.upsert(rows(0, 1))
    return table


def batch_store(dynalite: Dynalite, prefix: str, lease_seconds: float) -> DynamoDBOnlineStore:
    return DynamoDBOnlineStore(
        dynalite.client(),
        table_prefix=prefix,
        write_concurrency=1,  # one writer: nothing else renews the lease by the way
        backoff=FAST_BACKOFF,
        write_mode="batch",
        lease_seconds=lease_seconds,
    )


def test_a_write_slower_than_the_lease_keeps_it(dynalite: Dynalite, offline: OfflineTable) -> None:
    """A slow endpoint (or a long GC pause of the writing thread): the first BatchWriteItem takes longer than
    the lease's validity. Renewed only between writes, the lease ran out before the second and the sync
    failed; renewed in the background, the sync completes."""
    validity = scaled(2.0)
    store = batch_store(dynalite, f"r{uuid.uuid4().hex[:8]}_", validity)
    slow_calls = []

    def slow(**_: Any) -> None:
        slow_calls.append(time.monotonic())
        if len(slow_calls) == 1:
            time.sleep(validity * 1.2)

    store.client.meta.events.register("before-send.dynamodb.BatchWriteItem", slow)
    (summary,) = sync(catalog_of(offline.group), DuckDBOfflineStore(offline.path), store, now=lambda: NOW)
    assert (summary.items_written, len(slow_calls)) == (ENTITIES, ENTITIES // 25)
    assert online_mismatches(store, offline) == []
    store.close()


def test_renewal_extends_the_stored_expiry_and_stops_with_the_sync(dynalite: Dynalite) -> None:
    client = dynalite.client()
    store = DynamoDBOnlineStore(client, table_prefix=f"r{uuid.uuid4().hex[:8]}_", write_mode="batch")
    markers = store.markers_table()
    lease = GroupLease(client, markers, "fg_test", seconds=scaled(1.0))

    def expires_ms() -> int:
        item = client.get_item(TableName=markers, Key={"group_name": {"S": "lease#fg_test"}}, ConsistentRead=True)
        return int(item["Item"]["expires_ms"]["N"])

    with lease:
        first = expires_ms()
        time.sleep(scaled(1.0) * 1.5)  # past the validity: alive only by the background renewals
        lease.check()
        assert expires_ms() > first
    assert "Item" not in client.get_item(TableName=markers, Key={"group_name": {"S": "lease#fg_test"}})
    assert not [t for t in threading.enumerate() if t.name == "lease-fg_test"]


def test_a_lease_taken_over_is_lost_for_good(dynalite: Dynalite) -> None:
    """The renewer finds the lease taken (its condition on the token fails): every later check fails, also
    once the local clock would still allow the write."""
    client = dynalite.client()
    store = DynamoDBOnlineStore(client, table_prefix=f"r{uuid.uuid4().hex[:8]}_", write_mode="batch")
    markers = store.markers_table()
    validity = scaled(2.0)
    lease = GroupLease(client, markers, "fg_test", seconds=validity)
    lease.acquire()
    lease.start_renewing()
    try:
        # Another holder, as after an expiry: the fencing token moves on.
        client.update_item(
            TableName=markers,
            Key={"group_name": {"S": "lease#fg_test"}},
            UpdateExpression="SET #tok = #tok + :one",
            ExpressionAttributeNames={"#tok": "token"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        deadline = time.monotonic() + validity
        while lease._lost is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LeaseLostError, match="another sync took the lease"):
            lease.check()
    finally:
        lease.stop_renewing()


# --- a whole sync process frozen (SIGSTOP: its renewer with it) between two batches ---

FROZEN_SYNC = """
import sys
sys.path.insert(0, {tests!r})
from datetime import datetime
from pathlib import Path
import boto3
from support.online_support import make_group, catalog_of
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.sync import sync

offline, endpoint, prefix, lease_seconds, now = sys.argv[1:6]
client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
store = DynamoDBOnlineStore(client, table_prefix=prefix, write_concurrency=1, write_mode="batch",
                            lease_seconds=float(lease_seconds))
calls = []

def pause_after_first_batch(**_):
    calls.append(1)
    if len(calls) == 1:
        print("written one batch", flush=True)
        sys.stdin.readline()  # the test freezes this process meanwhile

client.meta.events.register("after-call.dynamodb.BatchWriteItem", pause_after_first_batch)
now = datetime.fromisoformat(now)
for summary in sync(catalog_of(make_group()), DuckDBOfflineStore(Path(offline)), store, now=lambda: now):
    print("done", summary.items_written, flush=True)
"""


class FrozenSync:
    """A batch-mode sync subprocess, paused after its first BatchWriteItem until `resume()`."""

    def __init__(self, tmp_path: Path, offline: OfflineTable, dynalite: Dynalite, prefix: str, validity: float):
        script = tmp_path / "frozen_sync.py"
        script.write_text(FROZEN_SYNC.format(tests=str(TESTS_DIR)))
        args = [str(offline.path), dynalite.endpoint_url, prefix, str(validity), NOW.isoformat()]
        self.process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        line = self.process.stdout.readline().strip()
        assert line == "written one batch", line + self.process.stderr.read()  # type: ignore[union-attr]

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> tuple[int, str, str]:
        os.kill(self.process.pid, signal.SIGCONT)
        out, err = self.process.communicate("go\n", timeout=120)
        return self.process.returncode, out, err


def test_a_sync_frozen_shorter_than_its_lease_completes(
    dynalite: Dynalite, offline: OfflineTable, tmp_path: Path
) -> None:
    validity = scaled(2.0)
    prefix = f"f{uuid.uuid4().hex[:8]}_"
    frozen = FrozenSync(tmp_path, offline, dynalite, prefix, validity)
    frozen.freeze()
    # With a renewal at most a quarter of the validity ago, a quarter more leaves 30% of it to resume in.
    time.sleep(validity / 4)
    code, out, err = frozen.resume()
    assert code == 0, err
    assert out.split() == ["done", str(ENTITIES)]
    assert online_mismatches(batch_store(dynalite, prefix, validity), offline) == []


def test_a_sync_frozen_past_its_lease_stops_without_a_wrong_write(
    dynalite: Dynalite, offline: OfflineTable, tmp_path: Path
) -> None:
    """While the first sync is frozen its lease expires; a second sync takes it and writes newer values for
    every entity. Resumed, the first must not write its older values over them (BatchWriteItem has no
    condition: only the fencing check stands in the way)."""
    validity = scaled(2.0)
    prefix = f"f{uuid.uuid4().hex[:8]}_"
    frozen = FrozenSync(tmp_path, offline, dynalite, prefix, validity)
    frozen.freeze()
    try:
        offline.upsert(rows(1000, 2))  # newer rows of every entity
        taker = batch_store(dynalite, prefix, validity)
        # Waits (up to twice the validity) for the frozen sync's lease to expire, then writes all.
        (summary,) = sync(catalog_of(offline.group), DuckDBOfflineStore(offline.path), taker, now=lambda: NOW)
        assert summary.items_written == ENTITIES
    finally:
        code, out, err = frozen.resume()
    assert code != 0 and "LeaseLostError" in err and "stalled past its lease" in err, (out, err)
    assert "done" not in out
    assert online_mismatches(taker, offline) == []
