"""What needs AWS APIs that dynalite lacks, against the moto server: TTL set-up, and the Athena reader's
calls (moto's Athena runs nothing: the query text is checked, not its result)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

import pytest
import sqlglot
from moto.athena.models import athena_backends
from online_support import make_group

from featurestore.athena_offline_store import AthenaOfflineStore
from featurestore.dynamodb_online_store import EXPIRES_AT, DynamoDBOnlineStore

if TYPE_CHECKING:
    from conftest import MotoServer

pytestmark = pytest.mark.aws


def test_first_sync_creates_an_on_demand_table_with_ttl(moto_server: MotoServer) -> None:
    client = moto_server.client("dynamodb")
    store = DynamoDBOnlineStore(client, table_prefix=f"ttl{uuid.uuid4().hex[:6]}_")
    table = store.table_name("fg_test")
    store.ensure_table(table)
    description = client.describe_table(TableName=table)["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert description["KeySchema"] == [{"AttributeName": "_key", "KeyType": "HASH"}]
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", EXPIRES_AT)
    store.ensure_table(table)  # idempotent


def test_athena_reader_sends_the_sync_query(moto_server: MotoServer) -> None:
    group = make_group("user_engagement", relation='"awsdatacatalog"."featurestore_features"."user_engagement"')
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="online-sync-results")
    reader = AthenaOfflineStore.from_options(
        s3_staging_dir="s3://online-sync-results/",
        region_name=moto_server.region,
        endpoint_url=moto_server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        poll_interval=0.05,
    )
    since = dt.datetime(2026, 10, 3, 4, 5, 6, 7)
    now = dt.datetime(2026, 10, 4, 20, 0)
    table = reader.latest_changed_rows(group, since, now, dt.datetime(2026, 10, 4, 19, 55))
    assert table.num_rows == 0
    backend = athena_backends[moto_server.env.get("MOTO_ACCOUNT_ID", "123456789012")][moto_server.region]
    (sql,) = [e.query for e in backend.executions.values() if "user_engagement" in e.query and "changed" in e.query]
    parsed = sqlglot.parse_one(sql, read="athena")
    assert parsed.find(sqlglot.exp.Window) is not None
    assert "timestamp '2026-10-03 04:05:06.000007'" in sql
    # Literal bounds on the event time (Athena's partition column), in both reads of the relation.
    assert sql.count("effective_at <= timestamp '2026-10-04 20:00:00.000000'") == 2
    assert "effective_at > timestamp '2026-10-04 19:55:00.000000'" in sql
    assert '"awsdatacatalog"."featurestore_features"."user_engagement"' in sql
