"""Candidate groups on Athena, against moto: a DataFrame candidate is uploaded like the spine (Parquet in the
scratch folder behind a temporary Glue table), the window-method join reads it, and every temporary object is
removed afterwards, also when the query fails. Moto's Athena runs no SQL: the fake answers the UNLOAD (see
athena_fakes.py) and checks, while the query "runs", what is in S3 and Glue.

The macro call is rendered by macro_renderer from a manifest written here for the athena adapter (no dbt
process; test_notebook_training_sets.py checks the renderer against dbt).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DATA_BUCKET, AthenaEnv
from support.athena_fakes import FakeUnload, moto_athena
from support.local_project import manifest_macros

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import OfflineStoreError
from featurestore.core.macro_renderer import MacroRenderer
from featurestore.core.manifest import FeatureGroupCatalog, feature_groups_from_manifest
from featurestore.offline.athena.training_sets import SPINE_TABLE_PREFIX, AthenaTrainingSets
from featurestore.offline.candidates import CANDIDATE_TABLE_PREFIX, Candidate
from featurestore.offline.training_sets import TrainingSetRequest

pytestmark = [pytest.mark.aws]

PROJECT_DIR = Path(__file__).resolve().parents[2]
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
        "computed_at": {"data_type": "timestamp", "description": "bookkeeping"},
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
    shutil.copy(PROJECT_DIR / "dbt_project.yml", tmp_path / "dbt_project.yml")
    shutil.copytree(PROJECT_DIR / "macros", tmp_path / "macros")
    manifest = {
        "metadata": {"adapter_type": "athena", "project_name": "featurestore"},
        "nodes": {ENGAGEMENT["unique_id"]: ENGAGEMENT},
        "macros": manifest_macros(tmp_path),
        "sources": {},
    }
    manifest_path = tmp_path / "target" / "manifest.json"
    manifest_path.parent.mkdir()
    manifest_path.write_text(json.dumps(manifest))
    compiler = DbtCompiler(tmp_path, target="athena", renderer=MacroRenderer(tmp_path, manifest_path, "athena"))
    catalog = FeatureGroupCatalog(feature_groups_from_manifest(manifest))
    server = athena_env.server
    session, location = moto_athena(server.endpoint_url, server.region, DATA_BUCKET)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in athena_env.env.items():
            patch.setenv(name, value)
        yield AthenaTrainingSets(location, compiler, catalog, session=session, poll_interval=0.05), session


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
