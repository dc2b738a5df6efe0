"""The Python training-set API: locally against a small DuckDB offline store, on Athena against moto.

Locally the whole path runs: the spine is registered in DuckDB, the project's macro is compiled in-process and
the result compared with hand-computed values. Moto's Athena runs no SQL, so the Athena test checks everything up
to it (the spine in S3 behind a temporary Glue table, the UNLOAD of the compiled window-method join with literal
time bounds), feeds back a result through the UNLOAD manifest as Athena would, and checks that the temporary
objects are gone afterwards, also when the query fails.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DATA_BUCKET, AthenaEnv
from support.athena_fakes import FakeUnload, athena_training_sets
from support.local_project import LocalProject, create_feature_tables, in_process_dbt_env, make_local_project

from featurestore.aws.athena_queries import UNLOAD_FOLDER
from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import (
    DbtCompileError,
    OfflineStoreError,
    TrainingSetError,
    UnknownFeatureError,
    UnknownFeatureGroupError,
)
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings, OnlineSettings, Settings
from featurestore.offline.athena.reader import AthenaOfflineStore
from featurestore.offline.athena.training_sets import SPINE_TABLE_PREFIX, AthenaTrainingSets, glue_type
from featurestore.offline.duckdb import LocalTrainingSets
from featurestore.offline.training_sets import TrainingSetRequest
from featurestore.online import open_online_store
from featurestore.store import FeatureStore

pytestmark = [pytest.mark.dbt]

T = dt.datetime(2026, 10, 5, 12, 0)


def _ts(hours: float) -> dt.datetime:
    return T + dt.timedelta(hours=hours)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    with in_process_dbt_env(make_local_project(tmp_path_factory.mktemp("training-api") / "project")) as project:
        yield project


@pytest.fixture(scope="module")
def local(project: LocalProject) -> LocalTrainingSets:
    compiler = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt")
    compiler.manifest()
    parsed = project.dbt("parse")
    assert parsed.returncode == 0, parsed.stdout[-2000:]
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    # A tiny offline store under the names the local build uses.
    project.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(project.duckdb_path)) as connection:
        create_feature_tables(connection)
        connection.executemany(
            "insert into main_features.user_engagement values (?, ?, ?, ?)",
            [(1, _ts(-1), 3, 0.5), (1, _ts(0), 4, None), (2, _ts(-24 * 8), 9, 0.9)],
        )
        connection.executemany(
            "insert into main_features.article_popularity values (?, ?, ?)", [(10, _ts(-0.5), 0.125)]
        )
        connection.execute("create schema main_training_sets")
        connection.execute("create table main_training_sets.labels (viewer_id bigint, shown_at timestamp, label int)")
        connection.executemany(
            "insert into main_training_sets.labels values (?, ?, ?)", [(1, _ts(0.5), 1), (2, _ts(0), 0)]
        )
    return LocalTrainingSets(project.duckdb_path, compiler, catalog)


REQUEST = TrainingSetRequest(
    features=["user_engagement:clicks_7d", "user_engagement:ctr_24h", "article_popularity:ctr_1h"],
    spine_time="shown_at",
    keys={"user_engagement": {"user_id": "viewer_id"}},
)


def test_local_training_set_keeps_spine_order_duplicates_and_nulls(local: LocalTrainingSets) -> None:
    spine = pa.table(
        {
            "viewer_id": pa.array([2, 1, None, 1, 1], pa.int64()),
            "article_id": pa.array([10, 10, 10, 11, 10], pa.int64()),
            "shown_at": pa.array([_ts(0), _ts(0), _ts(0), _ts(-0.5), _ts(0)], pa.timestamp("us")),
        }
    )
    result = local.get(spine, REQUEST).to_pylist()
    assert [row["viewer_id"] for row in result] == [2, 1, None, 1, 1]  # spine order, duplicates kept
    # User 2's only row is 8 days old: older than the 7-day TTL.
    assert result[0]["user_engagement__clicks_7d"] is None and result[0]["article_popularity__ctr_1h"] == 0.125
    # Inclusive: the row stamped exactly at shown_at is used, its NULL ctr_24h included (not the older 0.5).
    assert result[1] == result[4]
    assert (result[1]["user_engagement__clicks_7d"], result[1]["user_engagement__ctr_24h"]) == (4, None)
    assert result[1]["user_engagement_effective_at"] == _ts(0)
    assert result[2]["user_engagement__clicks_7d"] is None  # NULL key
    # Article 11 has no rows; the user's row of an hour before applies half an hour before T.
    assert result[3]["article_popularity__ctr_1h"] is None and result[3]["user_engagement__clicks_7d"] == 3


def test_local_training_set_strict_bare_names_pandas_and_time_zones(local: LocalTrainingSets) -> None:
    import pandas as pd

    spine = pd.DataFrame(
        {"viewer_id": [1], "article_id": [10], "shown_at": [pd.Timestamp("2026-10-05 14:00", tz="Europe/Berlin")]}
    )  # 12:00 UTC
    request = TrainingSetRequest(
        features=["user_engagement:clicks_7d"],
        spine_time="shown_at",
        keys={"user_engagement": {"user_id": "viewer_id"}},
        inclusive=False,
        full_feature_names=False,
    )
    result = local.get(spine, request)
    assert result.column_names == ["viewer_id", "article_id", "shown_at", "clicks_7d", "user_engagement_effective_at"]
    assert result.to_pylist()[0]["clicks_7d"] == 3  # strict: the row stamped at 12:00 UTC is not used


def test_local_training_set_from_a_table_name_and_a_ttl_override(local: LocalTrainingSets) -> None:
    request = TrainingSetRequest(
        features=["user_engagement:clicks_7d"],
        spine_time="shown_at",
        keys={"user_engagement": {"user_id": "viewer_id"}},
        ttl={"user_engagement": "20m"},
    )
    rows = local.get("main_training_sets.labels", request).to_pylist()
    by_viewer = {row["viewer_id"]: row["user_engagement__clicks_7d"] for row in rows}
    assert by_viewer == {1: None, 2: None}  # 30 min after the newest row of user 1: older than 20 minutes


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        (TrainingSetRequest(["user_engagement.clicks_7d"], "shown_at"), UnknownFeatureError, "<group>:<feature>"),
        (TrainingSetRequest(["nope:clicks_7d"], "shown_at"), UnknownFeatureGroupError, "unknown feature group 'nope'"),
        (TrainingSetRequest(["user_engagement:nope"], "shown_at"), UnknownFeatureError, "has no such feature"),
        (TrainingSetRequest(["user_engagement:clicks_7d"], "when"), TrainingSetError, "spine_time 'when'"),
        (
            TrainingSetRequest(["user_engagement:clicks_7d"], "shown_at", keys={"article_popularity": {}}),
            TrainingSetError,
            "keys names 'article_popularity'",
        ),
        # Found by the macro itself: dbt's compile error, which names the missing column and the group.
        (TrainingSetRequest(["user_engagement:clicks_7d"], "shown_at"), DbtCompileError, "no column 'user_id'"),
    ],
)
def test_local_training_set_errors_name_the_culprit(
    local: LocalTrainingSets, request_: TrainingSetRequest, error: type[Exception], message: str
) -> None:
    spine = pa.table({"viewer_id": [1], "shown_at": pa.array([T], pa.timestamp("us"))})
    with pytest.raises(error, match=re.escape(message)):
        local.get(spine, request_)


def test_local_training_set_rejects_a_spine_time_that_is_not_a_timestamp(local: LocalTrainingSets) -> None:
    spine = pa.table({"viewer_id": [1], "shown_at": ["2026-10-05 12:00"]})
    with pytest.raises(TrainingSetError, match="must be a timestamp"):
        local.get(spine, REQUEST)


def test_local_training_set_without_an_offline_store(local: LocalTrainingSets, tmp_path: Path) -> None:
    missing = LocalTrainingSets(tmp_path / "none.duckdb", local.compiler, local.catalog)
    with pytest.raises(OfflineStoreError, match="make demo"):
        missing.get(pa.table({"shown_at": pa.array([T], pa.timestamp("us"))}), REQUEST)


# ---------------------------------------------------------------------------------------------------------------
# Athena, against moto


class FakeAthena(FakeUnload):
    """FakeUnload that also checks, while the query "runs", that the spine is in place: a Glue table over its
    Parquet in S3."""

    def __init__(self, session: boto3.Session, s3: Any, glue: Any, answer: pa.Table | None) -> None:
        super().__init__(session, s3, answer)
        self.glue = glue
        self.spine_seen: list[tuple[str, pa.Table]] = []

    def on_query(self, sql: str) -> None:
        (name,) = re.findall(rf'"({SPINE_TABLE_PREFIX}[0-9a-f]+)"', sql)
        table = self.glue.get_table(DatabaseName="featurestore_scratch", Name=name)["Table"]
        bucket, _, prefix = table["StorageDescriptor"]["Location"][len("s3://") :].partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=f"{prefix}spine.parquet")["Body"].read()
        self.spine_seen.append((name, pq.read_table(io.BytesIO(body))))


@pytest.fixture
def athena(
    athena_env: AthenaEnv, project: LocalProject, local: LocalTrainingSets
) -> Iterator[tuple[AthenaTrainingSets, boto3.Session]]:
    with athena_training_sets(athena_env, project.root, local.catalog) as made:
        yield made


def _leftovers(athena_env: AthenaEnv) -> tuple[list[str], list[str]]:
    s3, glue = athena_env.server.client("s3"), athena_env.server.client("glue")
    objects = s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="featurestore-tmp/").get("Contents", [])
    objects += s3.list_objects_v2(Bucket="featurestore-athena-results", Prefix=UNLOAD_FOLDER).get("Contents", [])
    tables = [t["Name"] for t in glue.get_tables(DatabaseName="featurestore_scratch")["TableList"]]
    return [o["Key"] for o in objects], [t for t in tables if t.startswith(SPINE_TABLE_PREFIX)]


@pytest.mark.aws
def test_athena_training_set_uploads_the_spine_unloads_and_cleans_up(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv, local: LocalTrainingSets
) -> None:
    training_sets, session = athena
    spine = pa.table(
        {
            "viewer_id": pa.array([1, 2], pa.int64()),
            "article_id": pa.array([10, 10], pa.int64()),
            "shown_at": pa.array([_ts(0), _ts(-3)], pa.timestamp("us")),
        }
    )
    # What Athena would return: the local result (same macro, other method) with the row number instead of the
    # spine's columns (they come from the input), rows shuffled as UNLOAD leaves them. Its timestamps are
    # Iceberg timestamp(6): FakeUnload refuses an UNLOAD that does not carry them as text, as Athena does.
    expected = local.get(spine, REQUEST)
    answer = expected.drop_columns(spine.column_names)
    answer = answer.add_column(0, "featurestore_spine_row", pa.array([0, 1], pa.int64())).take([1, 0])
    fake = FakeAthena(session, athena_env.server.client("s3"), athena_env.server.client("glue"), answer)

    result = training_sets.get(spine, REQUEST)

    assert result.equals(expected)  # back in spine order, helper column dropped, DuckDB's types (timestamp[us])
    (sql,) = fake.queries
    assert sql.lstrip().upper().startswith("UNLOAD") and "format = 'PARQUET'" in sql.replace('"', "'")
    assert "asof" not in sql.lower() and "last_value(pit_event_at) ignore nulls over" in sql  # window method
    # Literal bounds from the spine's times (min - TTL, max) on each group's scan.
    assert "effective_at <= timestamp '2026-10-05 12:00:00'" in sql
    assert "effective_at > timestamp '2026-09-28 09:00:00'" in sql  # 09:00 minus 7 days (user_engagement)
    assert "effective_at > timestamp '2026-10-03 09:00:00'" in sql  # 09:00 minus 2 days (article_popularity)
    ((_, uploaded),) = fake.spine_seen
    assert uploaded.column("viewer_id").to_pylist() == [1, 2]
    # Truncated to milliseconds: Athena reads a Hive table's timestamps at milliseconds, rounding (a leak).
    assert all(value.microsecond % 1000 == 0 for value in uploaded.column("shown_at").to_pylist())
    assert _leftovers(athena_env) == ([], []) and fake.leftovers() == []  # the manifest too, beside the results


@pytest.mark.aws
def test_athena_training_set_cleans_up_when_the_query_fails(
    athena: tuple[AthenaTrainingSets, boto3.Session], athena_env: AthenaEnv
) -> None:
    training_sets, session = athena
    fake = FakeAthena(session, athena_env.server.client("s3"), athena_env.server.client("glue"), answer=None)
    spine = pa.table({"viewer_id": [1], "article_id": [10], "shown_at": pa.array([T], pa.timestamp("us"))})
    with pytest.raises(OfflineStoreError, match="failed on Athena"):
        training_sets.get(spine, REQUEST)  # no UNLOAD manifest: reading the result fails
    assert len(fake.spine_seen) == 1
    assert _leftovers(athena_env) == ([], [])


def test_glue_types_of_spine_columns() -> None:
    assert glue_type("a", pa.int64()) == "bigint" and glue_type("b", pa.timestamp("us", tz="UTC")) == "timestamp"
    assert glue_type("c", pa.decimal128(10, 2)) == "decimal(10,2)"
    with pytest.raises(TrainingSetError, match="spine column 'd' has type list"):
        glue_type("d", pa.list_(pa.int64()))


def test_athena_settings_follow_the_athena_profile_variables() -> None:
    defaults = AthenaSettings.from_env({})
    assert (defaults.s3_staging_dir, defaults.scratch_s3_dir, defaults.scratch_database) == (
        "s3://featurestore-athena-results/",
        "s3://featurestore-data/featurestore-tmp/",
        "featurestore_scratch",
    )
    custom = AthenaSettings.from_env(
        {"FEATURESTORE_S3_DATA_DIR": "s3://lake/fs/", "FEATURESTORE_ATHENA_SCHEMA": "news", "AWS_REGION": "eu-west-1"}
    )
    assert (custom.scratch_s3_dir, custom.scratch_database, custom.region) == (
        "s3://lake/fs/featurestore-tmp/",
        "news_scratch",
        "eu-west-1",
    )


def test_feature_store_facade_returns_pandas_on_request(local: LocalTrainingSets, tmp_path: Path) -> None:
    store = FeatureStore(
        local.catalog,
        open_online_store(OnlineSettings(sqlite_path=tmp_path / "online.sqlite")),
        training_sets=local,
    )
    with store:
        frame = store.get_training_set(
            "main_training_sets.labels",
            ["user_engagement:clicks_7d"],
            spine_time="shown_at",
            keys={"user_engagement": {"user_id": "viewer_id"}},
            as_pandas=True,
        )
    assert frame["viewer_id"].tolist() == [1, 2]
    # Viewer 1 half an hour after the row stamped at T; viewer 2's only row is older than the 7-day TTL.
    assert frame["user_engagement__clicks_7d"].iloc[0] == 4 and frame["user_engagement__clicks_7d"].isna().iloc[1]


def test_feature_store_on_athena_reads_both_ways_from_the_athena_settings(
    project: LocalProject, local: LocalTrainingSets, tmp_path: Path
) -> None:
    athena = AthenaSettings(region="eu-west-1", s3_staging_dir="s3://results/", endpoint_url="http://127.0.0.1:1")
    settings = Settings(
        project_dir=project.root,
        manifest_path=project.manifest_path(),
        duckdb_path=project.duckdb_path,
        online=OnlineSettings(sqlite_path=tmp_path / "online.sqlite"),
        target="athena",
        athena=athena,
    )
    with FeatureStore.from_settings(settings) as store:
        assert isinstance(store.offline_reader, AthenaOfflineStore)
        assert isinstance(store.training_sets, AthenaTrainingSets)
        assert store.offline_reader.queries.location == store.training_sets.queries.location == athena


def test_cli_training_set_writes_parquet(local: LocalTrainingSets, project: LocalProject) -> None:
    out = project.root / "training.parquet"
    result = project.featurestore(
        "training-set",
        "--spine", "main_training_sets.labels",
        "--spine-time", "shown_at",
        "--features", "user_engagement:clicks_7d,article_popularity:ctr_1h",
        "--key", "user_engagement.user_id=viewer_id",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode != 0 and "no column 'article_id'" in " ".join(result.stderr.split())
    result = project.featurestore(
        "training-set",
        "--spine", "main_training_sets.labels",
        "--spine-time", "shown_at",
        "--features", "user_engagement:clicks_7d",
        "--key", "user_engagement.user_id=viewer_id",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 rows, 5 columns" in result.stdout
    assert pq.read_table(out).column("user_engagement__clicks_7d").to_pylist() == [4, None]
