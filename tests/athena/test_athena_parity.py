"""Result parity: every model's athena SQL, transpiled to DuckDB, gives the local build's rows on the same data.

The local target and Athena run different SQL wherever a macro dispatches on the adapter; this is what
proves the athena algorithm right. One local build on small generated data and one athena compile of the
same project copy (plus one of a copy with a deliberately wrong athena-only branch, to show the harness
fails) are shared by the module; see `athena_parity` for how the comparison works.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from support.athena_parity import (
    EQUAL,
    TRINO_DIVISION,
    ModelParity,
    as_athena_reads_hive,
    athena_to_duckdb,
    compare_model,
    compare_rows,
    format_report,
    model_nodes,
    relation_map,
    run_parity,
)
from support.athena_types import check_models, type_models, unknown_columns
from support.local_project import LocalProject, copy_project, make_local_project

from featurestore.demo.data import DemoDataConfig, generate_demo_data

if TYPE_CHECKING:
    from conftest import AthenaEnv, Dbt, DbtInvocation, DbtResult

ATHENA_COMPILE = ("compile", "--target", "athena")
# Small but with every kind of dirt and late data the generator injects: ~5k impressions, built in seconds.
DEMO_DATA = DemoDataConfig(users=200, days=3, seed=11)

# The sabotage: an athena-only branch that still parses and runs but is off by one second. It shifts the
# 5-minute bucket of every event in a bucket's last second, which only a comparison of results can see.
SABOTAGED_MACRO_FILE = "macros/epoch_seconds.sql"
ATHENA_EPOCH_SECONDS = re.compile(
    r"(\{%-?\s*macro\s+default__epoch_seconds\(expr\)\s*-?%\}\s*)\(to_unixtime\(\{\{ expr \}\}\)\)", re.DOTALL
)
# Still parenthesized like the real branch: callers divide the macro's result.
SABOTAGED_EPOCH_SECONDS = r"\1(to_unixtime({{ expr }}) + 1)"
# The models whose bucket numbers come from epoch_seconds() over thousands of events: each must notice.
MUST_NOTICE_SABOTAGE = frozenset({"user_engagement", "article_popularity"})


@dataclasses.dataclass(frozen=True)
class ParityBuild:
    local: LocalProject
    athena: DbtResult
    sabotaged: DbtResult

    def local_manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads(self.local.manifest_path().read_text())
        return manifest


def _sabotage(project: Path) -> None:
    macro = project / SABOTAGED_MACRO_FILE
    text, replaced = ATHENA_EPOCH_SECONDS.subn(SABOTAGED_EPOCH_SECONDS, macro.read_text())
    assert replaced == 1, f"default__epoch_seconds not found in {SABOTAGED_MACRO_FILE}: update this test"
    macro.write_text(text)


def _succeeded(run: DbtInvocation) -> DbtResult:
    result = run.wait()
    if not result.ok:
        pytest.fail(f"dbt compile --target athena failed:\n{result.describe()}", pytrace=False)
    return result


@pytest.fixture(scope="module")
def parity_build(athena_dbt: Dbt, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParityBuild]:
    """The local build and both athena compiles. The compiles (mostly single-threaded parsing) run in the
    background while the data is generated and the local target builds, which keeps the module near one
    minute on two cores. Both compile the very copy the local target builds, so concurrent edits to the
    checkout cannot make the two sides differ."""
    work = tmp_path_factory.mktemp("athena-parity")
    (work / "project").mkdir()
    local = make_local_project(work / "project")
    (work / "sabotaged-project").mkdir()
    sabotaged_project = copy_project(work / "sabotaged-project")
    _sabotage(sabotaged_project)

    runs = [
        athena_dbt.start(ATHENA_COMPILE, work / "athena", local.root),
        athena_dbt.start(ATHENA_COMPILE, work / "sabotaged", sabotaged_project),
    ]
    try:
        generate_demo_data(DEMO_DATA, local.root / "raw")
        # Seeds are reference data no model reads; `run` builds every model, which is all parity needs.
        built = local.dbt("run")
        assert built.returncode == 0, f"local dbt run failed:\n{built.stdout[-4000:]}"
        athena, sabotaged = (_succeeded(run) for run in runs)
        yield ParityBuild(local=local, athena=athena, sabotaged=sabotaged)
    finally:
        # Only after an error above is a compile still running; never leave a dbt behind the module.
        for run in runs:
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


@pytest.fixture(scope="module")
def parity(parity_build: ParityBuild) -> list[ModelParity]:
    return run_parity(parity_build.athena.manifest(), parity_build.local_manifest(), parity_build.local.duckdb_path)


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
def test_every_model_gives_the_local_rows(
    parity: list[ModelParity], parity_build: ParityBuild, tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = format_report(parity)
    report_path = tmp_path_factory.mktemp("athena-parity-report") / "parity_report.md"
    report_path.write_text(report)
    print(f"\nAthena result parity on {DEMO_DATA} ({report_path}):\n{report}")

    # Every model takes part: a model missing from the athena compile would otherwise pass by absence.
    assert {row.model for row in parity} == {
        node["name"] for node in model_nodes(parity_build.local_manifest()).values()
    }
    # An empty model would be equal vacuously; the demo data reaches every model.
    empty = [row.model for row in parity if not row.local_rows]
    assert not empty, f"models without rows on the demo data prove nothing: {empty}"
    different = [row for row in parity if not row.equal]
    assert not different, "athena SQL gives other rows than the local target:\n" + format_report(different)


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
def test_parity_reports_a_wrong_athena_only_branch(parity_build: ParityBuild) -> None:
    """The harness can fail: an athena-only macro branch that is valid SQL but off by one second is reported
    in models that use it, and nowhere else."""
    athena_manifest = parity_build.athena.manifest()
    uses_macro = {
        node["name"] for node in model_nodes(athena_manifest).values() if "to_unixtime(" in node["compiled_code"]
    }
    assert uses_macro >= MUST_NOTICE_SABOTAGE, f"{SABOTAGED_MACRO_FILE} is no longer used as expected: {uses_macro}"

    results = run_parity(
        parity_build.sabotaged.manifest(), parity_build.local_manifest(), parity_build.local.duckdb_path
    )
    report = format_report(results)
    print(f"\nParity with {SABOTAGED_MACRO_FILE} sabotaged:\n{report}")
    different = {row.model for row in results if not row.equal}
    assert different >= MUST_NOTICE_SABOTAGE, f"the sabotage went unnoticed:\n{report}"
    assert different <= uses_macro, f"models not using {SABOTAGED_MACRO_FILE} were reported:\n{report}"
    # The sabotage changes values, never the SQL's validity: the harness must say which rows differ.
    assert all("rows not in" in row.result for row in results if not row.equal), report


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
def test_every_athena_relation_maps_to_a_local_one(parity_build: ParityBuild, athena_env: AthenaEnv) -> None:
    """Sources map to dbt-duckdb's external read_parquet() locations, models to the local tables/views."""
    relations = relation_map(parity_build.athena.manifest(), parity_build.local_manifest())
    sources = {key[-1]: value for key, value in relations.items() if key[-2] == athena_env.raw_schema}
    assert set(sources) == {"articles", "users", "impressions", "reactions"}
    # Read as Athena reads the raw Hive tables: timestamps rounded to milliseconds.
    assert all(value.startswith("(select * replace (date_trunc('millisecond'") for value in sources.values()), sources
    assert all("read_parquet(" in value for value in sources.values()), sources
    assert str(parity_build.local.root / "raw") in sources["impressions"]


# The local rounding of raw timestamps (`duckdb__raw_timestamp`), undone: what main staged before the
# millisecond contract (docs/athena.md), microseconds that Athena never sees.
LOCAL_MS_ROUNDING = re.compile(r"date_trunc\('millisecond', (try_cast\(.*?as timestamp\)) \+ to_microseconds\(500\)\)")


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
def test_parity_reports_microseconds_athena_does_not_read(parity_build: ParityBuild) -> None:
    """The harness reads raw timestamps as Athena does (milliseconds, rounded): a local staging that keeps
    the raw microseconds (main before the contract) is reported as different from the athena SQL."""
    athena_manifest = parity_build.athena.manifest()
    local_manifest = parity_build.local_manifest()
    relations = relation_map(athena_manifest, local_manifest)
    (local_node,) = (n for n in model_nodes(local_manifest).values() if n["name"] == "base_news__reactions")
    (athena_node,) = (n for n in model_nodes(athena_manifest).values() if n["name"] == "base_news__reactions")
    microsecond_sql, undone = LOCAL_MS_ROUNDING.subn(r"\1", local_node["compiled_code"])
    assert undone == 4, "duckdb__raw_timestamp changed: update this test"  # two times, typed and checked
    with duckdb.connect(str(parity_build.local.duckdb_path), read_only=True) as connection:
        connection.execute(TRINO_DIVISION)
        transpiled = athena_to_duckdb(athena_node["compiled_code"], relations)
        assert compare_model(connection, "base_news__reactions", local_node["relation_name"], transpiled).equal
        microseconds = compare_model(connection, "base_news__reactions", f"({microsecond_sql})", transpiled)
    assert "rows not in" in microseconds.result, microseconds.result


def test_athena_reads_hive_timestamps_at_rounded_milliseconds() -> None:
    relation = "(select timestamp '2026-10-01 12:04:59.9996' as t, timestamp '2026-10-01 12:04:59.9994' as u, 1 as n)"
    with duckdb.connect() as connection:
        rows = connection.sql(f"select * from {as_athena_reads_hive(relation, ['t', 'u'])}").fetchall()
    assert rows == [(dt.datetime(2026, 10, 1, 12, 5), dt.datetime(2026, 10, 1, 12, 4, 59, 999000), 1)]


# The harness on its own, without dbt: fast, and pins down the transpile fix-ups.


def _run_athena(sql: str, relations: dict[tuple[str, ...], str] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect() as connection:
        connection.execute(TRINO_DIVISION)
        return connection.sql(athena_to_duckdb(sql, relations or {})).fetchall()


@pytest.mark.parametrize(
    ("athena_sql", "trino_result"),
    [
        # Integer operands divide truncating toward zero in Trino; plain DuckDB would give 2.5 and -2.5.
        ("select 5 / 2", 2),
        ("select -5 / 2", -2),
        ("select cast(7 as bigint) / count(*) from (values (1), (2)) as t (x)", 3),
        # An exact decimal quotient is rounded to the larger scale of the operands.
        ("select 1 / 3.0", 0.3),
        ("select 2 / 3.00", 0.67),
        # A double on either side gives a floating-point quotient, as in DuckDB.
        ("select cast(1 as double) / 3", 1 / 3),
        ("select 1 / 3e0", 1 / 3),
    ],
)
def test_division_keeps_trino_semantics(athena_sql: str, trino_result: float) -> None:
    ((value,),) = _run_athena(athena_sql)
    assert value == pytest.approx(trino_result, rel=1e-12)


def test_integer_division_by_zero_fails_as_in_trino() -> None:
    with pytest.raises(duckdb.Error, match="Division by zero"):
        _run_athena("select 1 / 0")


def test_relations_are_rewritten_and_keep_their_alias(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "local.duckdb")) as connection:
        connection.execute("create schema main_staging; create table main_staging.m as select 1 as id, 'a' as v")
    relations = {
        ("awsdatacatalog", "featurestore_staging", "m"): '"local"."main_staging"."m"',
        ("awsdatacatalog", "news_raw", "r"): "(select 1 as id, 2.5 as x)",
    }
    sql = (
        'select m.v, r.x from "awsdatacatalog"."featurestore_staging"."m" as m '
        'inner join "awsdatacatalog"."news_raw"."r" as r on m.id = r.id'
    )
    transpiled = athena_to_duckdb(sql, relations)
    assert "awsdatacatalog" not in transpiled
    with duckdb.connect(str(tmp_path / "local.duckdb"), read_only=True) as connection:
        assert connection.sql(transpiled).fetchall() == [("a", 2.5)]
    with pytest.raises(KeyError, match="unknown"):
        athena_to_duckdb('select * from "awsdatacatalog"."news_raw"."unknown"', relations)


@pytest.mark.parametrize(
    ("local", "athena", "equal"),
    [
        ([(1, 0.1 + 0.2), (1, 0.5)], [(1, 0.5), (1, 0.3)], True),  # order-insensitive, floats within tolerance
        ([(1, None)], [(1, None)], True),
        ([(1, 0.3)], [(1, 0.3001)], False),
        ([(1, 0.3), (1, 0.3)], [(1, 0.3)], False),  # a multiset: duplicates count
        ([(1, 0.3)], [(2, 0.3)], False),
        ([(1, None)], [(1, 0.0)], False),
    ],
)
def test_row_comparison(local: list[tuple[Any, ...]], athena: list[tuple[Any, ...]], equal: bool) -> None:
    result = compare_rows(["id", "x"], {"x"}, local, athena)
    assert (result == EQUAL) is equal, result


# Athena's storage types (athena_types), on the same athena compile: the CTAS of every table model and the
# INSERT/MERGE of every incremental one write columns Athena can store.


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
def test_every_table_write_has_types_athena_can_store(parity_build: ParityBuild) -> None:
    manifest = parity_build.athena.manifest()
    models, _ = type_models(manifest)
    assert check_models(manifest) == []
    # Not vacuous: the check saw the timestamp(6) columns of every table, typed from the SQL.
    tables = {model.name: model for model in models if model.storage is not None}
    assert {model.storage for model in tables.values()} == {"iceberg"}
    event_times = {
        "user_engagement": "effective_at",
        "article_popularity": "effective_at",
        "user_category_affinity": "effective_at",
        "article_reactions": "effective_at",
        "article_attributes": "published_at",
    }
    for name, event_time in event_times.items():
        for column in (event_time, "computed_at"):
            assert tables[name].columns[column].sql("athena") == "TIMESTAMP(6)", (name, column)
    assert tables["impression_click_labels"].columns["shown_at"].sql("athena") == "TIMESTAMP(6)"
    assert unknown_columns(models) == ["audit_late_arrivals.max_delay_hours"], "type the new columns in YAML"


@pytest.mark.aws
@pytest.mark.dbt
@pytest.mark.slow
@pytest.mark.parametrize("model", ["impression_click_labels", "audit_late_arrivals", "impression_click_training_set"])
def test_the_type_check_catches_a_hive_table_of_timestamp6(parity_build: ParityBuild, model: str) -> None:
    """The mutant: main's audit and training-set tables had no table_type, which dbt-athena makes Hive."""
    manifest = copy.deepcopy(parity_build.athena.manifest())
    (node,) = (n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == model)
    node["config"].pop("table_type")
    found = check_models(manifest)
    assert found and {v.what for v in found} == {model}, found
    assert all("timestamp(3) only" in v.rule for v in found)
