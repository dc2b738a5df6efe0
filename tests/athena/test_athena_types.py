"""The Athena type check (`athena_types`) on its own: its rules, and the UNLOAD mutants it must catch (the
sync's query, and the training set's on moto).

The check over every model of the athena compile (and the Hive-table mutant) runs on the parity module's
compile: `tests/athena/test_athena_parity.py::test_every_table_write_has_types_athena_can_store`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from sqlglot import exp
from support.athena_fakes import FakeUnload, rendered_training_sets, unloaded_query
from support.athena_types import Schema, check_unload, output_types, violations_of
from support.online_support import FEATURE_COLUMNS, make_group
from test_athena_candidates import ENGAGEMENT

from featurestore.core.errors import OfflineStoreError
from featurestore.core.settings import AthenaSettings
from featurestore.offline.athena.reader import AthenaOfflineStore
from featurestore.offline.queries import latest_changed_rows_sql
from featurestore.offline.training_sets import TrainingSetRequest

GROUP = make_group("user_engagement", relation='"awsdatacatalog"."featurestore_features"."user_engagement"')
# The group's Iceberg table as Athena types it: timestamps are timestamp(6).
GROUP_SCHEMA: Schema = {
    "awsdatacatalog": {
        "featurestore_features": {
            "user_engagement": {
                "user_id": "bigint",
                "effective_at": "timestamp(6)",
                **{
                    name: "timestamp(6)" if athena == "timestamp" else athena
                    for name, (_, athena) in FEATURE_COLUMNS.items()
                },
                "computed_at": "timestamp(6)",
            }
        }
    }
}
NOW = dt.datetime(2026, 10, 4, 20, 0)


@pytest.mark.parametrize(
    ("type_sql", "storage", "rule"),
    [
        ("timestamp(6)", "hive", "timestamp(3) only"),
        ("timestamp(3)", "hive", None),
        ("timestamp", "hive", None),  # Trino's timestamp is timestamp(3)
        ("timestamp(6)", "iceberg", None),
        ("timestamp(3)", "iceberg", "Iceberg stores timestamp(6)"),
        ("timestamp(6) with time zone", "iceberg", "time zone"),
        ("timestamp(3) with time zone", "hive", "time zone"),
        ("tinyint", "iceberg", "tinyint/smallint"),
        ("smallint", "iceberg", "tinyint/smallint"),
        ("varchar(20)", "iceberg", "varchar(n)"),
        ("varchar", "iceberg", None),
        ("bigint", "hive", None),
    ],
)
def test_storage_rules(type_sql: str, storage: str, rule: str | None) -> None:
    found = violations_of("m", {"c": exp.DataType.build(type_sql, dialect="athena")}, storage)
    assert [v.rule for v in found if rule and rule in v.rule] == [v.rule for v in found]
    assert bool(found) is (rule is not None), found


def test_types_follow_casts_and_windows() -> None:
    schema: Schema = {"c": {"d": {"t": {"a": "bigint", "ts": "timestamp(3)"}}}}
    sql = (
        "select a, ts, cast(ts as timestamp(6)) as t6, max(cast(ts as timestamp(6))) over (partition by a) as m, "
        "cast(ts as varchar) as s from c.d.t"
    )
    types = {name: t.sql("athena") for name, t in output_types(sql, schema).items()}
    assert types == {"a": "BIGINT", "ts": "TIMESTAMP(3)", "t6": "TIMESTAMP(6)", "m": "TIMESTAMP(6)", "s": "VARCHAR"}


def test_a_plain_unload_of_the_sync_query_is_caught() -> None:
    """The mutant: main's sync reader unloaded the group's timestamp(6) columns as they are."""
    found = check_unload(latest_changed_rows_sql(GROUP, None, NOW), GROUP_SCHEMA)
    assert {v.column for v in found} == {"effective_at", "seen_at", "computed_at"}
    assert all("timestamp(3) only" in v.rule for v in found)


def test_the_sync_readers_unload_passes() -> None:
    reader = AthenaOfflineStore(AthenaSettings(region="us-east-1", s3_staging_dir="s3://b/"))
    unloaded: list[str] = []

    def capture(sql: str, *, what: str) -> Any:
        unloaded.append(sql)
        return pa.table({})

    reader.queries.unload = capture  # type: ignore[method-assign]
    for since in (None, NOW - dt.timedelta(minutes=5)):
        reader.latest_changed_rows(GROUP, since, NOW, NOW - dt.timedelta(minutes=5))
    assert len(unloaded) == 2
    for sql in unloaded:
        assert check_unload(sql, GROUP_SCHEMA) == []


# ---------------------------------------------------------------------------------------------------------------
# The training-set UNLOAD (issue 13, item 1), on moto with the macros rendered for the athena adapter

ENGAGEMENT_TYPES = {  # the group's Iceberg table as Athena types it
    "user_id": "bigint",
    "effective_at": "timestamp(6)",
    "clicks_7d": "bigint",
    "last_click_at": "timestamp(6)",
    "computed_at": "timestamp(6)",
}
TRAINING_REQUEST = TrainingSetRequest(
    features=["user_engagement:clicks_7d", "user_engagement:last_click_at"],
    spine_time="shown_at",
    keys={"user_engagement": {"user_id": "viewer_id"}},
)
SPINE = pa.table({"viewer_id": pa.array([1, 2], pa.int64()), "shown_at": pa.array([NOW, NOW], pa.timestamp("us"))})


class GlueSchemaFake(FakeUnload):
    """Answers no UNLOAD (the check is on its SQL); records, while the query "runs", the scratch tables it
    reads, typed as Athena reads them: Hive tables, so a Glue `timestamp` is a timestamp(3)."""

    def __init__(self, session: boto3.Session, glue: Any) -> None:
        super().__init__(session, glue, answer=None)
        self.glue = glue
        self.schema: Schema = {"awsdatacatalog": {"featurestore_features": {"user_engagement": ENGAGEMENT_TYPES}}}

    def on_query(self, sql: str) -> None:
        for name in re.findall(r'"featurestore_scratch"\."([a-z0-9_]+)"', sql):
            table = self.glue.get_table(DatabaseName="featurestore_scratch", Name=name)["Table"]
            types = {
                c["Name"]: "timestamp(3)" if c["Type"] == "timestamp" else c["Type"]
                for c in table["StorageDescriptor"]["Columns"]
            }
            self.schema["awsdatacatalog"].setdefault("featurestore_scratch", {})[name] = types


def _training_set_unload(athena_env: Any, folder: Path, *, plain: bool) -> tuple[str, Schema]:
    """The query the training set UNLOADs and the schema it reads; `plain`: the mutant, main's plain UNLOAD."""
    with rendered_training_sets(athena_env, folder, [ENGAGEMENT]) as (training_sets, session):
        fake = GlueSchemaFake(session, athena_env.server.client("glue"))
        if plain:
            queries = training_sets.queries
            queries.unload_exact = lambda sql, columns, timestamps, *, what: queries.unload(sql, what=what)  # type: ignore[method-assign]
        with pytest.raises(OfflineStoreError, match="no UNLOAD manifest"):
            training_sets.get(SPINE, TRAINING_REQUEST)
    (statement,) = fake.queries
    return unloaded_query(statement), fake.schema


@pytest.mark.aws
def test_a_plain_unload_of_the_training_set_is_caught(athena_env: Any, tmp_path: Path) -> None:
    """The mutant: main's training sets unloaded the join's output as it is."""
    query, schema = _training_set_unload(athena_env, tmp_path, plain=True)
    found = check_unload(query, schema)
    assert {v.column for v in found} == {"user_engagement__last_click_at", "user_engagement_effective_at"}
    assert all("timestamp(3) only" in v.rule for v in found)


@pytest.mark.aws
def test_the_training_set_unload_passes(athena_env: Any, tmp_path: Path) -> None:
    query, schema = _training_set_unload(athena_env, tmp_path, plain=False)
    types = output_types(query, schema)
    assert [name for name, t in types.items() if t.this == exp.DataType.Type.VARCHAR] == [
        "user_engagement__last_click_at",
        "user_engagement_effective_at",
    ]
    assert check_unload(query, schema) == []
