"""TTL of the online tables, against moto (dynalite has no UpdateTimeToLive): checked before it is set,
repaired on tables left without it, and a sync racing another one to enable it does not fail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse

from featurestore.core.errors import OnlineStoreError
from featurestore.online.dynamodb.codec import EXPIRES_AT
from featurestore.online.dynamodb.store import DynamoDBOnlineStore

if TYPE_CHECKING:
    from conftest import MotoServer

pytestmark = pytest.mark.aws


class Calls:
    """Counts the requests of each operation a client sends."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        client.meta.events.register("before-send.dynamodb", self.before_send)

    def before_send(self, request: Any, **_: Any) -> None:
        self.operations.append(request.headers["X-Amz-Target"].decode().rpartition(".")[2])


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def validation_error(message: str) -> AWSResponse:
    body = json.dumps({"__type": "com.amazon.coral.validate#ValidationException", "message": message}).encode()
    return AWSResponse("", 400, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))


@pytest.fixture
def table() -> str:
    return f"ttl{uuid.uuid4().hex[:8]}_fg"


def store_on(moto_server: MotoServer) -> DynamoDBOnlineStore:
    return DynamoDBOnlineStore(moto_server.client("dynamodb"), table_prefix="unused_")


def ttl_of(store: DynamoDBOnlineStore, table: str) -> dict[str, Any]:
    description: dict[str, Any] = store.client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    return description


def test_a_new_table_gets_ttl(moto_server: MotoServer, table: str) -> None:
    store = store_on(moto_server)
    store.ensure_table(table)
    assert ttl_of(store, table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": EXPIRES_AT}


def test_a_table_left_without_ttl_is_repaired(moto_server: MotoServer, table: str) -> None:
    """A sync that crashed between CreateTable and UpdateTimeToLive: the next one turns TTL on."""
    crashed = store_on(moto_server)
    crashed.ensure_table(table, ttl_attribute=None)
    assert ttl_of(crashed, table)["TimeToLiveStatus"] == "DISABLED"
    store = store_on(moto_server)
    store.ensure_table(table)
    assert ttl_of(store, table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": EXPIRES_AT}


def test_ttl_already_on_is_left_alone(moto_server: MotoServer, table: str) -> None:
    store_on(moto_server).ensure_table(table)
    store = store_on(moto_server)
    calls = Calls(store.client)
    store.ensure_table(table)
    store.ensure_table(table)  # once per process and table
    assert calls.operations == ["DescribeTable", "DescribeTimeToLive"]


def test_a_concurrent_enabler_is_tolerated(moto_server: MotoServer, table: str) -> None:
    """Two syncs create the table and both see TTL off; the second UpdateTimeToLive is refused (DynamoDB
    allows one change per table at a time): the loser finds TTL on and carries on."""
    store_on(moto_server).ensure_table(table, ttl_attribute=None)
    store, other = store_on(moto_server), store_on(moto_server)

    def enabled_meanwhile(**_: Any) -> AWSResponse:
        other.client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT}
        )
        return validation_error("TimeToLive is already enabled")

    store.client.meta.events.register("before-send.dynamodb.UpdateTimeToLive", enabled_meanwhile)
    store.ensure_table(table)
    assert ttl_of(store, table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": EXPIRES_AT}


def test_a_refusal_that_is_no_race_is_reported(moto_server: MotoServer, table: str) -> None:
    store_on(moto_server).ensure_table(table, ttl_attribute=None)
    store = store_on(moto_server)
    message = "Time to live has been modified multiple times within a fixed interval"
    store.client.meta.events.register("before-send.dynamodb.UpdateTimeToLive", lambda **_: validation_error(message))
    with pytest.raises(OnlineStoreError, match=f"cannot enable TTL on DynamoDB table {table}.*{message}"):
        store.ensure_table(table)


def test_ttl_on_another_attribute_is_kept_with_a_warning(
    moto_server: MotoServer, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_on(moto_server)
    store.ensure_table(table, ttl_attribute=None)
    store.client.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"})
    store_on(moto_server).ensure_table(table)
    assert ttl_of(store, table)["AttributeName"] == "x"
    assert "TTL is on attribute 'x'" in caplog.text
