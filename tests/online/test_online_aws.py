"""What needs AWS APIs that dynalite lacks, against the moto server: TTL set-up, and the Athena reader's
calls. Moto's Athena runs nothing: the query text is checked, and results are fed back as Athena's UNLOAD
would leave them (athena_fakes.FakeUnload)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

import boto3
import pyarrow as pa
import pytest
import sqlglot
from moto.athena.models import athena_backends
from support.athena_fakes import FakeUnload, unloaded_query
from support.online_support import make_group

from featurestore.aws.athena_queries import UNLOAD_FOLDER
from featurestore.core.errors import OfflineStoreError
from featurestore.core.keys import encode_key
from featurestore.core.settings import AthenaSettings
from featurestore.offline.athena.reader import AthenaOfflineStore
from featurestore.online.dynamodb import DynamoDBOnlineStore
from featurestore.online.dynamodb.codec import EXPIRES_AT
from featurestore.online.sync import records_from_rows

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


@pytest.fixture
def athena_reader(moto_server: MotoServer) -> tuple[AthenaOfflineStore, boto3.Session]:
    """A sync reader with its own results bucket, and its session (to hook FakeUnload into)."""
    bucket = f"online-sync-{uuid.uuid4().hex[:8]}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=moto_server.region
    )
    # A `key=value` folder in the staging dir, which pyarrow would otherwise read as a partition column.
    location = AthenaSettings(
        region=moto_server.region, s3_staging_dir=f"s3://{bucket}/env=test/", endpoint_url=moto_server.endpoint_url
    )
    return AthenaOfflineStore(location, session, poll_interval=0.05), session


GROUP = make_group("user_engagement", relation='"awsdatacatalog"."featurestore_features"."user_engagement"')
COLUMNS = ["user_id", "effective_at", "count_7d", "ratio_7d", "label", "flag", "seen_at", "scores", "computed_at"]


def test_athena_reader_sends_the_sync_query(
    moto_server: MotoServer, athena_reader: tuple[AthenaOfflineStore, boto3.Session]
) -> None:
    reader, session = athena_reader
    s3 = moto_server.client("s3")
    fake = FakeUnload(session, s3, answer=pa.table({}))  # no row changed: UNLOAD writes no file
    since = dt.datetime(2026, 10, 3, 4, 5, 6, 7)
    now = dt.datetime(2026, 10, 4, 20, 0)
    table = reader.latest_changed_rows(GROUP, since, now, dt.datetime(2026, 10, 4, 19, 55))
    assert (table.num_rows, table.column_names) == (0, COLUMNS)
    assert records_from_rows(GROUP, table) == ([], None)
    (statement,) = fake.queries
    backend = athena_backends[moto_server.env.get("MOTO_ACCOUNT_ID", "123456789012")][moto_server.region]
    assert statement in [e.query for e in backend.executions.values()]
    sql = unloaded_query(statement)
    parsed = sqlglot.parse_one(sql, read="athena")
    assert parsed.find(sqlglot.exp.Window) is not None
    assert "timestamp '2026-10-03 04:05:06.000007'" in sql
    # Literal bounds on the event time (Athena's partition column), in both reads of the relation.
    assert sql.count("\"effective_at\" <= timestamp '2026-10-04 20:00:00.000000'") == 2
    assert "\"effective_at\" > timestamp '2026-10-04 19:55:00.000000'" in sql
    assert '"awsdatacatalog"."featurestore_features"."user_engagement"' in sql
    assert f"to '{reader.queries.location.s3_staging_dir}{UNLOAD_FOLDER}/" in statement
    assert fake.leftovers() == []  # the (empty) manifest


def test_athena_reader_rechecks_rows_with_plain_queries(
    moto_server: MotoServer, athena_reader: tuple[AthenaOfflineStore, boto3.Session]
) -> None:
    reader, _ = athena_reader
    at = dt.datetime(2026, 10, 4, 20, 0)
    rows = [(encode_key([user]), at + dt.timedelta(seconds=user)) for user in range(1, 1502)]
    assert reader.existing_rows(GROUP, rows) == set()  # moto runs nothing
    backend = athena_backends[moto_server.env.get("MOTO_ACCOUNT_ID", "123456789012")][moto_server.region]
    rechecks = [e.query for e in backend.executions.values() if "inner join (values (1, timestamp" in e.query]
    rechecks += [e.query for e in backend.executions.values() if "inner join (values (1001, timestamp" in e.query]
    assert len(rechecks) == 2, "1,501 rows: two queries of at most 1,000"
    for sql in rechecks:
        assert not sql.lower().startswith("unload")
        assert 'rows."effective_at" >= timestamp \'2026-10-04 20:' in sql
        sqlglot.parse_one(sql, read="athena")


def test_athena_reader_reads_unloaded_parquet_into_records(
    moto_server: MotoServer, athena_reader: tuple[AthenaOfflineStore, boto3.Session]
) -> None:
    reader, session = athena_reader
    s3 = moto_server.client("s3")
    # A microsecond before the next millisecond: a timestamp(3) anywhere on the way would change it.
    at = dt.datetime(2026, 10, 4, 19, 0, 0, 999999)
    expected = pa.table(
        {
            "user_id": pa.array([7, 8, 9], pa.int64()),
            "effective_at": pa.array([at, at - dt.timedelta(days=1), at], pa.timestamp("us")),
            "count_7d": pa.array([3, None, 0], pa.int64()),
            "ratio_7d": [0.25, None, 1.0],
            "label": ["a", "", None],
            "flag": [True, None, False],
            "seen_at": pa.array([at, None, at], pa.timestamp("us")),
            "scores": pa.array([[1, -2], [], None], pa.list_(pa.int64())),
            "computed_at": pa.array([at + dt.timedelta(minutes=m) for m in (5, 1, 3)], pa.timestamp("us")),
        }
    )
    # What Athena's UNLOAD writes for the reader's query: timestamp(6) columns as Trino's text of them (a
    # timestamp(6) column itself fails the UNLOAD: its Hive writer takes milliseconds only).
    answer = expected
    for name in ("effective_at", "seen_at", "computed_at"):
        text = pa.array([None if v is None else v.isoformat(sep=" ") for v in expected[name].to_pylist()], pa.string())
        answer = answer.set_column(answer.column_names.index(name), name, text)
    fake = FakeUnload(session, s3, answer, files=2)  # UNLOAD writes several files, in no particular order

    table = reader.latest_changed_rows(GROUP, None, dt.datetime(2026, 10, 4, 20, 0))

    assert table.column_names == COLUMNS
    assert {table.schema.field(name).type for name in ("effective_at", "seen_at", "computed_at")} == {
        pa.timestamp("us")
    }
    assert table.sort_by("user_id").to_pylist() == expected.to_pylist()  # exact to the microsecond
    records, marker = records_from_rows(GROUP, table)
    assert sorted(records, key=lambda r: r.key) == sorted(records_from_rows(GROUP, expected)[0], key=lambda r: r.key)
    assert marker == at + dt.timedelta(minutes=5)
    assert len(fake.written) == 3 and fake.leftovers() == []  # two Parquet files and the manifest, all removed
    (statement,) = fake.queries
    query = unloaded_query(statement)
    assert 'row_number() over (partition by "user_id"' in query  # a full load
    # The UNLOAD's output holds no timestamp column: each one is cast to varchar, the rest passed through.
    outer = sqlglot.parse_one(query, read="athena")
    assert isinstance(outer, sqlglot.exp.Select)
    casts = {p.alias: p.this for p in outer.expressions if isinstance(p.this, sqlglot.exp.Cast)}
    assert set(casts) == {"effective_at", "seen_at", "computed_at"}
    assert all(cast.to.this == sqlglot.exp.DataType.Type.VARCHAR for cast in casts.values())
    assert outer.named_selects == COLUMNS


def test_unload_returns_the_query_columns_only(
    moto_server: MotoServer, athena_reader: tuple[AthenaOfflineStore, boto3.Session]
) -> None:
    reader, session = athena_reader
    answer = pa.table({"a": pa.array([1, 2], pa.int64())})
    FakeUnload(session, moto_server.client("s3"), answer)
    assert reader.queries.unload("select a from t", what="the test query").equals(answer)


def test_athena_reader_failure_names_the_group_and_cleans_up(
    moto_server: MotoServer, athena_reader: tuple[AthenaOfflineStore, boto3.Session]
) -> None:
    reader, session = athena_reader
    partial = pa.table({name: pa.array([None], pa.null()) for name in COLUMNS})
    reason = "TABLE_NOT_FOUND: line 1:8: Table 'awsdatacatalog.featurestore_features.user_engagement' does not exist"
    fake = FakeUnload(session, moto_server.client("s3"), partial, fail_with=reason)
    with pytest.raises(
        OfflineStoreError, match=r"reading feature group 'user_engagement' .* failed on Athena: TABLE_NOT"
    ):
        reader.latest_changed_rows(GROUP, None, dt.datetime(2026, 10, 4, 20, 0))
    ((_, part),) = fake.written
    assert f"/{UNLOAD_FOLDER}/" in part and fake.leftovers() == []  # what the failed UNLOAD left is removed
