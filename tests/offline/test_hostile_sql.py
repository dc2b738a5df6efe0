"""Input that could reach SQL (issue 14, items 3 and 4): contract names are plain identifiers, every identifier
the Python side writes into SQL is quoted, and a spine is a table, a Parquet file or a table name, nothing else.

The spine tests run the whole local path (an in-memory DuckDB attaching the offline store) with a stand-in
for the dbt compiler, so that they need no dbt parse: what is tested is what reaches DuckDB before the join.
"""

from __future__ import annotations

import datetime as dt
import os
import string
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.online_support import FEATURE_COLUMNS, catalog_of, make_group

from featurestore.core.contract import FeatureGroup, parse_feature_group
from featurestore.core.errors import ContractError, FeatureStoreError, TrainingSetError
from featurestore.core.identifiers import (
    CONTRACT_NAME,
    quote_identifier,
    quote_relation,
    relation_parts,
    table_name_problem,
)
from featurestore.core.keys import encode_key
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.core.settings import AthenaSettings
from featurestore.offline.athena.training_sets import AthenaTrainingSets
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.offline.duckdb.training_sets import LocalTrainingSets
from featurestore.offline.queries import existing_rows_sql, latest_changed_rows_sql
from featurestore.offline.training_sets import TrainingSetRequest

T = dt.datetime(2026, 10, 5, 12, 0)

# --- contracts -------------------------------------------------------------------------------------------------


def _node(entity: object = "user_id", event_time: object = "effective_at", feature: str = "clicks_7d") -> dict:
    columns: dict[str, Any] = {}
    for name, data_type in ((entity, "bigint"), (event_time, "timestamp"), (feature, "bigint")):
        if isinstance(name, str):
            columns[name] = {"name": name, "data_type": data_type, "description": "d"}
    columns["computed_at"] = {"name": "computed_at", "data_type": "timestamp", "description": "bookkeeping"}
    return {
        "unique_id": "model.featurestore.user_engagement",
        "name": "user_engagement",
        "resource_type": "model",
        "relation_name": '"featurestore"."main_features"."user_engagement"',
        "config": {
            "meta": {
                "feature_group": {
                    "entity": [entity] if isinstance(entity, str) else entity,
                    "event_time": event_time,
                    "online": True,
                    "ttl": "7d",
                    "owner": "team",
                }
            }
        },
        "columns": columns,
    }


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"feature": "clicks 7d"}, "columns.clicks 7d"),
        ({"feature": "Clicks_7d"}, "columns.Clicks_7d"),
        ({"feature": "select"}, "columns.select"),
        ({"entity": "user_id) or (1=1"}, "entity"),
        ({"entity": "7user"}, "entity"),
        ({"event_time": 'effective_at"; drop table x; --'}, "event_time"),
        ({"event_time": "from"}, "event_time"),
    ],
)
def test_a_contract_name_that_is_not_a_plain_identifier_is_refused_naming_model_and_field(
    override: dict[str, str], field: str
) -> None:
    with pytest.raises(ContractError) as raised:
        parse_feature_group(_node(**override))
    assert raised.value.model == "user_engagement"
    assert raised.value.field == field
    assert "identifier" in str(raised.value) or "reserved word" in str(raised.value)


def test_a_model_name_that_cannot_name_a_group_is_refused() -> None:
    node = _node()
    node["name"] = "user-engagement"
    with pytest.raises(ContractError, match="model's name"):
        parse_feature_group(node)


def test_a_hostile_name_is_cut_short_in_the_message() -> None:
    with pytest.raises(ContractError) as raised:
        parse_feature_group(_node(feature="x " * 50_000))
    assert len(str(raised.value)) < 500


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(
        st.text(max_size=40),
        st.text(alphabet=string.ascii_letters + string.digits + "_ ;()'\"-.`", max_size=20),
        st.sampled_from(["select", "from", "order", "user", "date", "key", "_x", "a" * 300]),
    ),
    role=st.sampled_from(["entity", "event_time", "feature"]),
)
def test_fuzz_the_contract_validator_accepts_only_names_that_are_safe_in_sql(name: str, role: str) -> None:
    """Random identifiers: the validator answers with a ContractError or a group whose every name parses as one
    plain column name on both engines, and whose sync query parses on both."""
    try:
        group = parse_feature_group(_node(**{role: name}))
    except ContractError as error:
        assert error.model == "user_engagement" and len(str(error)) < 600
        return
    for column in (*group.entity, group.event_time, *group.feature_names):
        assert CONTRACT_NAME.match(column) and len(column) <= 255
        for dialect in ("duckdb", "athena"):
            parsed = sqlglot.parse_one(f"select {column} from t", read=dialect)
            assert [c.name for c in parsed.find_all(sqlglot.exp.Column)] == [column]
    for dialect in ("duckdb", "athena"):
        sqlglot.parse_one(latest_changed_rows_sql(group, T, T), read=dialect)


# --- quoting ---------------------------------------------------------------------------------------------------


def test_quoting_and_relation_names() -> None:
    assert quote_identifier('a"b') == '"a""b"'
    assert quote_relation("main", "x y") == '"main"."x y"'
    assert relation_parts('"featurestore"."main_features"."a""b"') == ("featurestore", "main_features", 'a"b')
    assert relation_parts("main.fg_test") == ("main", "fg_test")
    with pytest.raises(ValueError):
        quote_identifier("a\x00b")
    with pytest.raises(ValueError):
        relation_parts('"unterminated')


def _odd_group(tmp_path: Path) -> tuple[FeatureGroup, Path]:
    """A group whose names a contract would refuse (as a group built in code, or read from an old manifest,
    could have): reserved words, spaces, quotes. Quoting must keep every query working on them."""
    base = make_group("fg_odd", relation='"odd"."main_features"."fg odd"')
    renamed = {"count_7d": "select", "label": "clicks 7d", "ratio_7d": 'ra"tio'}
    group = FeatureGroup(
        **{
            **base.__dict__,
            "entity": ("user id",),
            "event_time": "from",
            "features": tuple(
                type(feature)(renamed.get(feature.name, feature.name), feature.data_type, feature.description)
                for feature in base.features
            ),
        }
    )
    path = tmp_path / "offline.duckdb"
    columns = ", ".join(
        f"{quote_identifier(renamed.get(name, name))} {duck}" for name, (duck, _) in FEATURE_COLUMNS.items()
    )
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema main_features")
        connection.execute(
            f'create table main_features."fg odd" ("user id" bigint, "from" timestamp, {columns}, '
            "computed_at timestamp)"
        )
        connection.execute(
            'insert into main_features."fg odd" ("user id", "from", "select", "clicks 7d", computed_at) '
            "values (1, ?, 3, 'a', ?), (1, ?, 4, 'b', ?), (2, ?, 5, 'c', ?)",
            [T, T, T + dt.timedelta(hours=1), T, T, T],
        )
    return group, path


def test_every_offline_query_quotes_identifiers(tmp_path: Path) -> None:
    group, path = _odd_group(tmp_path)
    store = DuckDBOfflineStore(path)
    newest = store.preview(group, limit=5, as_of=T + dt.timedelta(hours=2), key=["1"])
    assert newest.column("select").to_pylist() == [4]
    latest = store.latest_changed_rows(group, None, T + dt.timedelta(hours=2))
    pairs = zip(latest.column("user id").to_pylist(), latest.column("select").to_pylist(), strict=True)
    assert sorted(pairs) == [(1, 4), (2, 5)]
    changed = store.latest_changed_rows(group, T - dt.timedelta(hours=1), T + dt.timedelta(hours=2), T)
    assert sorted(changed.column("user id").to_pylist()) == [1, 2]
    found = store.existing_rows(group, [(encode_key([1]), T), (encode_key([2]), T + dt.timedelta(hours=5))])
    assert found == {(encode_key([1]), T)}
    for dialect in ("duckdb", "athena"):  # the same text parses on Athena
        sqlglot.parse_one(latest_changed_rows_sql(group, T, T, T - dt.timedelta(hours=1)), read=dialect)
        sqlglot.parse_one(existing_rows_sql(group, [((1,), T)]), read=dialect)


# --- spines ----------------------------------------------------------------------------------------------------


class FakeCompiler:
    """The dbt compiler's place: the database dbt would name, and a join that returns the spine as it is."""

    def __init__(self, database: str = "featurestore", sql: str = "select * from featurestore_spine") -> None:
        self.database = database
        self.sql = sql
        self.compiled: list[str] = []

    def manifest(self) -> Any:
        return SimpleNamespace(nodes={"model.test.fg_test": SimpleNamespace(database=self.database)})

    def compile(self, sql: str) -> str:
        self.compiled.append(sql)
        return self.sql


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "target" / "featurestore.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema main_training_sets")
        connection.execute("create table main_training_sets.labels (user_id bigint, shown_at timestamp)")
        connection.execute("insert into main_training_sets.labels values (1, ?)", [T])
    return path


def _local(path: Path, compiler: FakeCompiler | None = None, database: str = "featurestore") -> LocalTrainingSets:
    group = make_group(relation=f'"{database}"."main_features"."fg_test"')
    catalog = FeatureGroupCatalog({group.name: group})
    return LocalTrainingSets(path, compiler or FakeCompiler(), catalog)  # type: ignore[arg-type]


def test_the_join_reads_the_configured_file_whatever_database_the_manifest_names(offline: Path) -> None:
    """target/manifest.json written by a `dbt run` against another file names the database `scratch`; the
    SQL compiled now names the configured file's database, and that is the name the file is attached under."""
    labels = '"featurestore"."main_training_sets"."labels"'
    joined = (
        "select spine.*, labels.shown_at as labelled_at from featurestore_spine as spine "
        f"left join {labels} as labels using (user_id)"
    )
    local = _local(offline, FakeCompiler(sql=joined), database="scratch")
    spine = pa.table({"user_id": [1, 2], "shown_at": pa.array([T, T], pa.timestamp("us"))})
    assert local.get(spine, REQUEST).column("labelled_at").to_pylist() == [T, None]


REQUEST = TrainingSetRequest(features=["fg_test:count_7d"], spine_time="shown_at")

INJECTIONS = [
    "(select 1) t; copy (select 42 as x) to '{out}'; select * from main_training_sets.labels",
    "main_training_sets.labels; copy (select 42 as x) to '{out}'",
    "read_csv('/etc/passwd')",
    "(select * from read_text('/etc/passwd'))",
    "main_training_sets.labels where 1=1",
    "a.b.c",
    "",
]


@pytest.mark.parametrize("spine", INJECTIONS)
def test_a_spine_text_that_is_not_a_table_name_never_reaches_sql(offline: Path, tmp_path: Path, spine: str) -> None:
    out = tmp_path / "leak.csv"
    with pytest.raises(TrainingSetError, match="table name"):
        _local(offline).get(spine.format(out=out), REQUEST)
    assert not out.exists()


class NoSession:
    """A boto3 session that fails the test if any AWS client is asked for."""

    def client(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("a refused spine must not reach AWS")


@pytest.mark.parametrize("spine", INJECTIONS)
def test_the_athena_path_refuses_the_same_spines_before_any_aws_call(spine: str) -> None:
    group = make_group(relation='"awsdatacatalog"."featurestore_features"."fg_test"')
    athena = AthenaTrainingSets(AthenaSettings(), FakeCompiler(), catalog_of(group), NoSession())  # type: ignore[arg-type]
    with pytest.raises(TrainingSetError, match="table name"):
        athena.get(spine.format(out="leak.csv"), REQUEST)


def test_a_table_name_is_never_read_as_a_file(offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB reads `spine.csv` (schema spine, table csv) as the file spine.csv when no such table exists."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spine.csv").write_text("user_id,shown_at\n1,2026-10-05 12:00:00\n")
    with pytest.raises(TrainingSetError, match="cannot read the spine table"):
        _local(offline).get("spine.csv", REQUEST)


def test_a_spine_is_a_table_name_a_parquet_file_or_a_table(offline: Path, tmp_path: Path) -> None:
    local = _local(offline)
    for name in ("main_training_sets.labels", '"main_training_sets"."labels"'):
        assert local.get(name, REQUEST).column("user_id").to_pylist() == [1]
    parquet = tmp_path / "spine.parquet"
    pq.write_table(pa.table({"user_id": [7], "shown_at": pa.array([T], pa.timestamp("us"))}), parquet)
    assert local.get(str(parquet), REQUEST).column("user_id").to_pylist() == [7]
    assert local.get(parquet, REQUEST).column("user_id").to_pylist() == [7]
    with pytest.raises(TrainingSetError, match="no spine file"):
        local.get(str(tmp_path / "missing.parquet"), REQUEST)
    with pytest.raises(TrainingSetError, match="cannot read the spine table"):
        local.get("main_training_sets.nope", REQUEST)
    assert table_name_problem("main.x") is None and table_name_problem("x") is None


@pytest.mark.parametrize(
    ("columns", "spine_time", "keys", "culprit"),
    [
        ({"user_id": [1], "label time": [T]}, "label time", {}, "spine_time"),
        ({"user_id": [1], "label time": [T]}, "label time", {"fg_test": {"user_id": "user_id"}}, "spine_time"),
        ({"order": [1], "shown_at": [T]}, "shown_at", {"fg_test": {"user_id": "order"}}, "reserved word"),
        ({"viewer id": [1], "shown_at": [T]}, "shown_at", {"fg_test": {"user_id": "viewer id"}}, "keys of 'fg_test'"),
    ],
)
def test_spine_time_key_and_other_spine_columns_must_be_plain_identifiers(
    offline: Path, columns: dict[str, list[Any]], spine_time: str, keys: dict, culprit: str
) -> None:
    local = _local(offline)
    request = TrainingSetRequest(features=["fg_test:count_7d"], spine_time=spine_time, keys=keys)
    with pytest.raises(TrainingSetError, match=culprit):
        local.get(pa.table(columns), request)
    assert local.compiler.compiled == []  # type: ignore[attr-defined]


def test_spine_columns_that_are_not_joined_never_reach_sql_and_come_back_as_they_are(offline: Path) -> None:
    """Only the keys, the label time and a row number go through the join (offline/frames.py): any other
    column, whatever its name, is put back beside the features in Python, never written into SQL."""
    local = _local(offline)
    columns = {"user_id": [1], "shown_at": pa.array([T], pa.timestamp("us")), "x) or (1=1": [0], "order": ["a"]}
    result = local.get(pa.table(columns), REQUEST)
    assert result.column_names[:4] == ["user_id", "shown_at", "x) or (1=1", "order"]
    assert result.column("x) or (1=1").to_pylist() == [0] and result.column("order").to_pylist() == ["a"]
    assert all("x) or (1=1" not in sql and '"order"' not in sql for sql in local.compiler.compiled)  # type: ignore[attr-defined]


def _files_under(root: Path) -> set[Path]:
    return {Path(folder) / name for folder, _, names in os.walk(root) for name in names}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spine=st.one_of(
        st.text(max_size=60),
        st.text(alphabet="abc_.;'\"() *-/", max_size=30),
        st.builds(lambda name: f"{name}.parquet", st.text(max_size=20)),
        st.sampled_from(INJECTIONS).map(lambda text: text.replace("{out}", "fuzz-leak.csv")),
    ),
    column=st.text(max_size=12),
)
def test_fuzz_the_spine_path_answers_with_a_feature_store_error_and_writes_nothing(
    offline: Path, tmp_path: Path, spine: str, column: str
) -> None:
    """Random spine texts and spine column names: a result or a FeatureStoreError, never another exception,
    and no file written in the test's folder (which holds the project) or the working directory."""
    local = _local(offline)
    before = (_files_under(tmp_path), set(os.listdir()))
    for candidate in (spine, pa.table({"user_id": [1], "shown_at": pa.array([T], pa.timestamp("us")), column: [0]})):
        try:
            local.get(candidate, REQUEST)
        except FeatureStoreError as error:
            assert "Traceback" not in str(error)
    assert (_files_under(tmp_path), set(os.listdir())) == before
