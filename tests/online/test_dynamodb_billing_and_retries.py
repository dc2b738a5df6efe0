"""DynamoDB writes the sync pays for and errors it survives: refused conditional writes are billed (and
counted in the sync's write units), and HTTP 500/502/503/504 are retried as botocore's standard mode
retries them (its own retries are off in the store)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from support.online_support import BASE_TIME, OfflineTable, catalog_of, make_group, online_mismatches, values_for

from featurestore.core.errors import SyncGaveUpError
from featurestore.core.retry import Backoff, call_with_retries, is_retryable
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.dynamodb.capacity import item_size, refused_write_units
from featurestore.online.dynamodb.store import DynamoDBOnlineStore
from featurestore.online.sync import sync

if TYPE_CHECKING:
    from conftest import Dynalite

FAST_BACKOFF = Backoff(max_attempts=8, base_seconds=0.001, cap_seconds=0.005)
NOW = BASE_TIME + dt.timedelta(days=30)


# --- sizes and units (DynamoDB Developer Guide, "Item sizes and formats") ---


def test_item_size_follows_dynamodbs_rules() -> None:
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6  # UTF-8 bytes of name and value
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    assert item_size({"n": {"N": "1000000"}}) == 1 + 2  # trailing zeros do not count
    assert item_size({"f": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [{"N": "1"}, {"S": "ab"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)


def test_refused_write_units_round_the_existing_item_up_to_1_kb() -> None:
    assert refused_write_units(None) == 1.0
    assert refused_write_units({"k": {"S": "x"}}) == 1.0
    assert refused_write_units({"k": {"S": "x" * 1023}}) == 1.0  # 1 + 1023 bytes: exactly 1 KB
    assert refused_write_units({"k": {"S": "x" * 3000}}) == 3.0


# --- refused conditional writes ---


@pytest.fixture
def offline(tmp_path: Path) -> OfflineTable:
    table = OfflineTable(tmp_path / "offline.duckdb", make_group())
    table.upsert([([user], BASE_TIME, values_for(user)) for user in range(1, 41)])
    return table


@pytest.fixture
def store(dynalite: Dynalite) -> Iterator[DynamoDBOnlineStore]:
    opened = DynamoDBOnlineStore(
        dynalite.client(),
        table_prefix=f"b{uuid.uuid4().hex[:8]}_",
        write_concurrency=4,
        backoff=FAST_BACKOFF,
        write_mode="conditional",
    )
    yield opened
    opened.close()


def test_refused_conditional_writes_count_in_the_write_units(offline: OfflineTable, store: DynamoDBOnlineStore) -> None:
    catalog, reader = catalog_of(offline.group), DuckDBOfflineStore(offline.path)
    (first,) = sync(catalog, reader, store, now=lambda: NOW)
    assert (first.items_written, first.write_units) == (40, pytest.approx(40.0))
    # A rerun with an overlap re-reads every row; each PutItem is refused (the same version is stored).
    (again,) = sync(catalog, reader, store, now=lambda: NOW, overlap=dt.timedelta(days=365))
    assert (again.items_written, again.skipped_stale) == (0, 40)
    assert again.write_units == pytest.approx(40.0), "a refused conditional write is billed"


class ExistingItemInRefusals:
    """Answers every PutItem with a refusal that carries the existing item, as DynamoDB does when asked
    (ReturnValuesOnConditionCheckFailure=ALL_OLD; dynalite leaves it out)."""

    def __init__(self, client: Any, table: str, existing: dict[str, Any]) -> None:
        self.table, self.existing = table, existing
        self.asked: list[str | None] = []
        client.meta.events.register("before-send.dynamodb.PutItem", self.before_send)

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        sent = json.loads(request.body)
        if sent["TableName"] != self.table:  # the sync marker's PutItem goes through
            return None
        self.asked.append(sent.get("ReturnValuesOnConditionCheckFailure"))
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "message": "The conditional request failed",
                "Item": self.existing,
            }
        ).encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(body))


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def test_a_refusal_is_billed_by_the_size_of_the_existing_item(
    offline: OfflineTable, store: DynamoDBOnlineStore
) -> None:
    table = store.table_name(offline.group.name)
    store.ensure_table(table)
    large = {"_key": {"S": "k"}, "blob": {"S": "x" * 2500}}  # 2.5 KB: 3 write units per refusal
    refusals = ExistingItemInRefusals(store.client, table, large)
    (summary,) = sync(catalog_of(offline.group), DuckDBOfflineStore(offline.path), store, now=lambda: NOW)
    assert (summary.items_written, summary.skipped_stale) == (0, 40)
    assert refusals.asked == ["ALL_OLD"] * 40
    assert summary.write_units == pytest.approx(3.0 * 40)


# --- HTTP 5xx ---


def client_error(status: int, code: str | None) -> ClientError:
    response: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": status}, "Error": {}}
    if code:
        response["Error"] = {"Code": code, "Message": "m"}
    return ClientError(response, "PutItem")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable_with_or_without_a_code(status: int) -> None:
    assert is_retryable(client_error(status, None))
    assert is_retryable(client_error(status, "SomethingUnheardOf"))


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ValidationException"),
        (400, "ConditionalCheckFailedException"),
        (403, "AccessDeniedException"),
        (501, None),
    ],
)
def test_client_errors_are_not_retried(status: int, code: str | None) -> None:
    assert not is_retryable(client_error(status, code))
    calls = []

    def fail() -> None:
        calls.append(1)
        raise client_error(status, code)

    with pytest.raises(ClientError):
        call_with_retries(fail, FAST_BACKOFF, "g", "PutItem")
    assert len(calls) == 1


def test_a_server_error_that_persists_gives_up_naming_the_status() -> None:
    def fail() -> None:
        raise client_error(502, None)

    with pytest.raises(SyncGaveUpError, match="HTTP 502 on PutItem, 8 attempts"):
        call_with_retries(fail, FAST_BACKOFF, "g", "PutItem")


class GatewayErrors:
    """Fails every other request of an operation with a bare HTTP status and an HTML body, as a load
    balancer in front of DynamoDB does (no DynamoDB error code)."""

    def __init__(self, client: Any, operation: str, statuses: tuple[int, ...] = (500, 502, 503, 504)) -> None:
        self.statuses = statuses
        self.count = 0
        self.injected = 0
        self.lock = threading.Lock()
        client.meta.events.register(f"before-send.dynamodb.{operation}", self.before_send)

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        sent = json.loads(request.body)
        if sent.get("TableName", "").endswith("__sync_markers"):  # retried too, but not the group's retries
            return None
        with self.lock:
            self.count += 1
            if self.count % 2:
                return None
            status = self.statuses[self.injected % len(self.statuses)]
            self.injected += 1
        body = f"<html><body>{status} gateway trouble</body></html>".encode()
        return AWSResponse(request.url, status, {"Content-Type": "text/html"}, _Body(body))


@pytest.mark.parametrize("write_mode", ["conditional", "batch"])
def test_a_sync_survives_http_5xx(offline: OfflineTable, dynalite: Dynalite, write_mode: str) -> None:
    store = DynamoDBOnlineStore(
        dynalite.client(),
        table_prefix=f"h{uuid.uuid4().hex[:8]}_",
        write_concurrency=4,
        backoff=FAST_BACKOFF,
        write_mode=write_mode,
    )
    store.ensure_table(store.table_name(offline.group.name))
    injected = [GatewayErrors(store.client, "BatchWriteItem" if write_mode == "batch" else "PutItem")]
    if write_mode == "batch":
        injected.append(GatewayErrors(store.client, "Scan"))
    (summary,) = sync(catalog_of(offline.group), DuckDBOfflineStore(offline.path), store, now=lambda: NOW)
    assert all(injector.injected > 0 for injector in injected)
    assert summary.items_written == 40
    assert summary.retries == sum(injector.injected for injector in injected)
    assert online_mismatches(store, offline) == []
    store.close()
