"""Athena's 262,144-byte query string limit: a training set of 20 feature groups x 50 features compiles to
a window-method join longer than that, and is refused before anything is sent, with what to change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import boto3
import pyarrow as pa
import pytest
from conftest import AthenaEnv
from support.athena_fakes import FakeUnload, athena_training_sets
from support.local_project import LocalProject, in_process_dbt_env, make_local_project

from featurestore.aws.athena_limits import MAX_QUERY_BYTES, check_query_size
from featurestore.core.errors import QueryTooLongError
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.offline.athena.training_sets import SPINE_TABLE_PREFIX, AthenaTrainingSets
from featurestore.offline.training_sets import TrainingSetRequest

pytestmark = [pytest.mark.dbt, pytest.mark.aws, pytest.mark.slow]

GROUPS = 20
FEATURES = 50
T = dt.datetime(2026, 10, 5, 12)


def wide_group_yml(name: str) -> str:
    features = "".join(
        f"      - name: feature_{index:02d}_of_{name}\n        data_type: double\n        description: A value.\n"
        for index in range(FEATURES)
    )
    return f"""version: 2

models:
  - name: {name}
    description: A wide feature group for the query-length test.
    config:
      meta:
        feature_group:
          entity: [user_id]
          event_time: effective_at
          online: false
          ttl: 7d
          owner: tests
    columns:
      - name: user_id
        data_type: bigint
        description: The user.
      - name: effective_at
        data_type: timestamp
        description: From when the values hold.
{features}"""


def wide_names() -> list[str]:
    return [f"wide_group_{number:02d}" for number in range(GROUPS)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("query-limit") / "project")
    folder = project.root / "models" / "feature_groups"
    for name in wide_names():
        columns = ", ".join(f"cast(null as double) as feature_{index:02d}_of_{name}" for index in range(FEATURES))
        (folder / f"{name}.sql").write_text(
            # A table, not the folder's incremental default: the test needs the groups' SQL, not merges.
            "{{ config(materialized='table') }}\n"
            f"select cast(1 as bigint) as user_id, cast(null as timestamp) as effective_at, {columns}\n"
        )
        (folder / f"{name}.yml").write_text(wide_group_yml(name))
    parsed = project.dbt("parse")
    assert parsed.returncode == 0, parsed.stdout[-2000:]
    with in_process_dbt_env(project):
        yield project


@pytest.fixture(scope="module")
def request_20_by_50() -> TrainingSetRequest:
    features = [f"{group}:feature_{index:02d}_of_{group}" for group in wide_names() for index in range(FEATURES)]
    return TrainingSetRequest(features=features, spine_time="shown_at")


@pytest.fixture
def athena(athena_env: AthenaEnv, project: LocalProject) -> Iterator[tuple[AthenaTrainingSets, boto3.Session]]:
    with athena_training_sets(
        athena_env, project.root, FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    ) as made:
        yield made


def test_the_check_counts_utf8_bytes() -> None:
    check_query_size("x" * MAX_QUERY_BYTES, "q")
    with pytest.raises(QueryTooLongError, match="q is 262,145 bytes of SQL"):
        check_query_size("x" * (MAX_QUERY_BYTES - 1) + "é", "q")  # é is two bytes


def test_20_groups_of_50_features_are_refused_before_athena_sees_them(
    athena: tuple[AthenaTrainingSets, boto3.Session],
    athena_env: AthenaEnv,
    request_20_by_50: TrainingSetRequest,
) -> None:
    training_sets, session = athena
    fake = FakeUnload(session, athena_env.server.client("s3"), answer=None)
    spine = pa.table({"user_id": [1, 2], "shown_at": pa.array([T, T], pa.timestamp("us"))})
    with pytest.raises(QueryTooLongError) as raised:
        training_sets.get(spine, request_20_by_50)
    message = str(raised.value)
    assert "the training-set query is" in message and "over Athena's limit of 262,144 bytes" in message
    assert "fewer features or feature groups" in message
    assert fake.queries == []  # refused before it was sent
    glue = athena_env.server.client("glue")
    tables = glue.get_tables(DatabaseName="featurestore_scratch")["TableList"]
    assert not [t["Name"] for t in tables if t["Name"].startswith(SPINE_TABLE_PREFIX)]
