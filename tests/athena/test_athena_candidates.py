"""Candidate groups on Athena, against moto: a DataFrame candidate is uploaded like the spine (Parquet in the
scratch folder behind a temporary Glue table), the window-method join reads it, and every temporary object is
removed afterwards, also when the query fails. Moto's Athena runs no SQL: the fake answers the UNLOAD (see
athena_fakes.py) and checks, while the query "runs", what is in S3 and Glue.

The macro call is rendered by macro_renderer from a manifest written for the athena adapter
(athena_fakes.rendered_training_sets: no dbt process).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from conftest import DATA_BUCKET, AthenaEnv
from support.athena_fakes import FakeUnload, rendered_training_sets, unloaded_query

from featurestore.aws.glue import RawTable, glue_table_input
from featurestore.core.errors import OfflineStoreError
from featurestore.offline.athena.training_sets import SPINE_TABLE_PREFIX, AthenaTrainingSets
from featurestore.offline.candidates import CANDIDATE_TABLE_PREFIX, Candidate
from featurestore.offline.training_sets import TrainingSetRequest

pytestmark = [pytest.mark.aws]

T = dt.datetime(2026, 10, 5, 12, 0)
SCRATCH = "featurestore_scratch"

ENGAGEMENT = {
    "resource_type": "model",
    "name": "user_engagement",
    "unique_id": "model.featurestore.user_engagement",
    "database": "awsdatacatalog",
    "schema": "featurestore_features",
    "alias": "user_engagement",
    "relation_name": '"awsdatacatalog"."featurestore_features"."user_engagement"',
    "config": {
        "meta": {
            "feature_group": {
                "entity": ["user_id"],
                "event_time": "effective_at",
                "online": True,
                "ttl": "7d",
                "owner": "recsys",
            }
        }
    },
    "columns": {
        "user_id": {"data_type": "bigint", "description": "user"},
        "effective_at": {"data_type": "timestamp", "description": "from when"},
        "clicks_7d": {"data_type": "bigint", "description": "clicks"},
        "last_click_at": {"data_type": "timestamp", "description": "the last click"},
    },
}


class FakeAthena(FakeUnload):
    """Records, while the query "runs", every temporary table the SQL reads: its Glue columns and its Parquet."""

    def __init__(self, session: boto3.Session, s3: Any, glue: Any, answer: pa.Table | None) -> None:
        super().__init__(session, s3, answer)
        self.glue = glue
        self.seen: dict[str, tuple[list[str], pa.Table]] = {}

    def on_query(self, sql: str) -> None:
        for name in re.findall(rf'"{SCRATCH}"\."([a-z0-9_]+)"', sql):
            table = self.glue.get_table(DatabaseName=SCRATCH, Name=name)["Table"]
            columns = [column["Name"] for column in table["StorageDescriptor"]["Columns"]]
            bucket, _, prefix = table["StorageDescriptor"]["Location"][len("s3://") :].partition("/")
            (item,) = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
            body = self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            self.seen[name] = (columns, pq.read_table(io.BytesIO(body)))


@pytest.fixture
def athena(athena_env: AthenaEnv, tmp_path: Path) -> Iterator[tuple[AthenaTrainingSets, boto3.Session]]:
    with rendered_training_sets(athena_env, tmp_path, [ENGAGEMENT]) as made:
        yield made


def _leftovers(athena_env: AthenaEnv) -> tuple[list[str], list[str]]:
    s3, glue = athena_env.server.client("s3"), athena_env.server.client("glue")
    objects = s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="featurestore-tmp/").get("Contents", [])
    tables = [t["Name"] for t in glue.get_tables(DatabaseName=SCRATCH)["TableList"]]
    return [o["Key"] for o in objects], [
        t for t in tables if t.startswith((SPINE_TABLE_PREFIX, CANDIDATE_TABLE_PREFIX))
    ]


SPINE = pd.DataFrame(
    {
        "viewer_id": pd.array([1, 2], dtype="Int64"),
        "surface": pd.Categorical(["home", "feed"]),  # not uploaded: only the join's columns are
        "shown_at": pd.to_datetime([T, T]).tz_localize("UTC").tz_convert("Europe/Berlin"),
    }
)
DWELL = pd.DataFrame(
    {
        "user_id": [1, 2],
        "effective_at": pd.to_datetime([T - dt.timedelta(hours=1), T]).tz_localize("UTC").tz_convert("Asia/Tokyo"),
        "dwell_7d": [4.5, 1.0],
    }
)
REQUEST = TrainingSetRequest(
    features=["user_engagement:clicks_7d", "dwell:dwell_7d"],
    spine_time="shown_at",
    keys={"user_engagement": {"user_id": "viewer_id"}, "dwell": {"user_id": "viewer_id"}},
    candidates=(Candidate("dwell", DWELL, entity="user_id", event_time="effective_at", ttl="2d"),),
)


def test_a_dataframe_candidate_is_uploaded_like_the_spine_and_removed(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv
) -> None:
    training_sets, session = athena
    answer = pa.table(
        {
            "featurestore_spine_row": pa.array([1, 0], pa.int64()),  # UNLOAD's order is not the spine's
            "user_engagement__clicks_7d": pa.array([None, 3], pa.int64()),
            "user_engagement_effective_at": pa.array([None, T], pa.timestamp("us")),
            "dwell__dwell_7d": pa.array([1.0, 4.5]),
            "dwell_effective_at": pa.array([T, T - dt.timedelta(hours=1)], pa.timestamp("us")),
        }
    )
    fake = FakeAthena(session, athena_env.server.client("s3"), athena_env.server.client("glue"), answer)

    result = training_sets.get(SPINE, REQUEST)

    (sql,) = fake.queries
    candidates = [name for name in fake.seen if name.startswith(f"{CANDIDATE_TABLE_PREFIX}0_dwell_")]
    spines = [name for name in fake.seen if name.startswith(SPINE_TABLE_PREFIX)]
    assert len(candidates) == 1 and len(spines) == 1, fake.seen
    columns, uploaded = fake.seen[candidates[0]]
    assert columns == ["user_id", "effective_at", "dwell_7d"]
    # Zone-less UTC in the upload (Athena's Hive tables take no zone).
    assert uploaded["effective_at"].to_pylist() == [T - dt.timedelta(hours=1), T]
    assert fake.seen[spines[0]][0] == ["viewer_id", "shown_at", "featurestore_spine_row"]
    # The candidate is joined with the window method, bounded by the spine's times minus its own TTL.
    assert f'from "{SCRATCH}"."{candidates[0]}" as feature_rows' in sql
    assert "effective_at > timestamp '2026-10-03 12:00:00'" in sql
    # The spine comes back as it went in, in its order, features beside it.
    assert result.column_names[:3] == ["viewer_id", "surface", "shown_at"]
    assert result.schema.field("shown_at").type.tz == "Europe/Berlin"
    assert result["dwell__dwell_7d"].to_pylist() == [4.5, 1.0]
    assert result["user_engagement__clicks_7d"].to_pylist() == [3, None]
    assert _leftovers(athena_env) == ([], []) and fake.leftovers() == []


def test_candidate_uploads_are_removed_when_the_query_fails(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv
) -> None:
    training_sets, session = athena
    fake = FakeAthena(session, athena_env.server.client("s3"), athena_env.server.client("glue"), answer=None)
    with pytest.raises(OfflineStoreError, match="failed on Athena"):
        training_sets.get(SPINE, REQUEST)
    assert len(fake.seen) == 2  # spine and candidate were in place while it ran
    assert _leftovers(athena_env) == ([], [])


def _outer_select(statement: str) -> tuple[list[str], set[str]]:
    """The UNLOAD's output columns, and those it casts to varchar."""
    outer = sqlglot.parse_one(unloaded_query(statement), read="athena")
    assert isinstance(outer, sqlglot.exp.Select)
    casts = {
        p.alias_or_name
        for p in outer.expressions
        if isinstance(p.unalias(), sqlglot.exp.Cast) and p.unalias().to.this == sqlglot.exp.DataType.Type.VARCHAR
    }
    return outer.named_selects, casts


def test_timestamps_come_back_to_the_microsecond_with_the_local_engines_types(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv
) -> None:
    """Issue 13, item 1: UNLOAD's Hive writer refuses timestamp(6) (the fake fails such an UNLOAD as Athena
    does); every timestamp output goes through as text and comes back exact, as timestamp[us] like DuckDB's."""
    training_sets, session = athena
    at = T - dt.timedelta(microseconds=1)  # 11:59:59.999999: a timestamp(3) anywhere on the way would change it
    seen = DWELL.assign(seen_at=pd.to_datetime([at, at - dt.timedelta(days=1)]))
    request = TrainingSetRequest(
        features=["user_engagement:clicks_7d", "user_engagement:last_click_at", "dwell:seen_at"],
        spine_time="shown_at",
        keys={"user_engagement": {"user_id": "viewer_id"}, "dwell": {"user_id": "viewer_id"}},
        candidates=(Candidate("dwell", seen, entity="user_id", event_time="effective_at", ttl="2d"),),
    )
    outputs = pa.table(
        {
            "user_engagement__clicks_7d": pa.array([3, None], pa.int64()),
            "user_engagement__last_click_at": pa.array([at, None], pa.timestamp("us")),
            "user_engagement_effective_at": pa.array([at, None], pa.timestamp("us")),
            "dwell__seen_at": pa.array([at - dt.timedelta(days=1), at], pa.timestamp("us")),
            "dwell_effective_at": pa.array([at, T - dt.timedelta(hours=1)], pa.timestamp("us")),
        }
    )
    answer = outputs.add_column(0, "featurestore_spine_row", pa.array([0, 1], pa.int64())).take([1, 0])
    fake = FakeAthena(session, athena_env.server.client("s3"), athena_env.server.client("glue"), answer)

    result = training_sets.get(SPINE, request)

    assert result.select(outputs.column_names).equals(outputs)  # exact, timestamp[us], in the spine's order
    (statement,) = fake.queries
    names, casts = _outer_select(statement)
    # Only the row number of the spine goes back (its other columns are the input's), then the macro's outputs.
    assert names == ["featurestore_spine_row", *outputs.column_names]
    assert casts == {name for name in outputs.column_names if pa.types.is_timestamp(outputs.schema.field(name).type)}
    assert _leftovers(athena_env) == ([], []) and fake.leftovers() == []


def test_a_spine_table_comes_back_with_its_timestamps_exact(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv
) -> None:
    """A spine that is a table (an Iceberg model keeps microseconds) and a candidate that is a table: their
    timestamp columns, typed by Glue, go through UNLOAD as text too."""
    training_sets, session = athena
    glue = athena_env.server.client("glue")
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": SCRATCH})
    tables = {
        "labels": {"viewer_id": "bigint", "shown_at": "timestamp", "label": "int"},
        "dwell_table": {"user_id": "bigint", "effective_at": "timestamp", "seen_at": "timestamp", "dwell_7d": "double"},
    }
    for name, columns in tables.items():
        location = f"s3://{DATA_BUCKET}/{name}/"
        glue.create_table(DatabaseName=SCRATCH, TableInput=glue_table_input(RawTable(name, columns), location))
    at = T - dt.timedelta(microseconds=1)
    answer = pa.table(
        {
            "viewer_id": pa.array([1, 2], pa.int64()),
            "shown_at": pa.array([at, T], pa.timestamp("us")),
            "label": pa.array([1, 0], pa.int32()),
            "user_engagement__clicks_7d": pa.array([3, None], pa.int64()),
            "user_engagement_effective_at": pa.array([at - dt.timedelta(hours=1), None], pa.timestamp("us")),
            "dwell_t__dwell_7d": pa.array([0.5, None]),
            "dwell_t__seen_at": pa.array([at, None], pa.timestamp("us")),
            "dwell_t_effective_at": pa.array([at, None], pa.timestamp("us")),
        }
    )
    fake = FakeUnload(session, athena_env.server.client("s3"), answer)
    request = TrainingSetRequest(
        features=["user_engagement:clicks_7d", "dwell_t:dwell_7d", "dwell_t:seen_at"],
        spine_time="shown_at",
        keys={"user_engagement": {"user_id": "viewer_id"}, "dwell_t": {"user_id": "viewer_id"}},
        candidates=(
            Candidate("dwell_t", f"{SCRATCH}.dwell_table", entity="user_id", event_time="effective_at", ttl="2d"),
        ),
    )
    try:
        result = training_sets.get(f"{SCRATCH}.labels", request)
    finally:
        for name in tables:
            glue.delete_table(DatabaseName=SCRATCH, Name=name)

    assert result.sort_by("viewer_id").equals(answer)
    time_range, statement = fake.queries  # the spine's time range (moto answers no rows), then the UNLOAD
    assert time_range.startswith('select min("shown_at")')
    names, casts = _outer_select(statement)
    assert names == answer.column_names
    assert casts == {"shown_at", "user_engagement_effective_at", "dwell_t__seen_at", "dwell_t_effective_at"}
