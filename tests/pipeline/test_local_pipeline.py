"""The whole local chain on generated data: raw Parquet -> dbt build (DuckDB) -> the featurestore CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from support.local_project import PROJECT_DIR, LocalProject, make_local_project

from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.demo.data import TABLES, DemoDataConfig, generate_demo_data


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("local_project"))
    generate_demo_data(DemoDataConfig(users=300, days=3, seed=7), project.root / "raw")
    result = project.dbt("build")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


def test_dbt_build_passes_every_model_test_and_unit_test(built_project: LocalProject) -> None:
    results = json.loads((built_project.target_path / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    assert statuses, "dbt build ran nothing"
    # The generator injects events later than the lookback: the late-arrival audit must warn about them.
    warned = {uid for uid, status in statuses.items() if status == "warn"}
    assert warned == {"test.featurestore.warn_late_arrivals_beyond_lookback"}
    # dbt 1.11 lists exposures in run_results with status `no-op`: there is nothing to run for them.
    exposures = {uid for uid in statuses if uid.startswith("exposure.")}
    assert {statuses[uid] for uid in exposures} <= {"no-op"}
    assert {status for uid, status in statuses.items() if uid not in warned | exposures} <= {"success", "pass"}
    assert any(uid.startswith("unit_test.") for uid in statuses), "no unit test ran"
    assert statuses["model.featurestore.user_engagement"] == "success"


def test_every_built_feature_group_has_exactly_its_contract_columns(built_project: LocalProject) -> None:
    catalog = FeatureGroupCatalog.from_manifest_path(built_project.manifest_path())
    assert set(catalog.names()) == {
        "user_engagement",
        "article_popularity",
        "user_category_affinity",
        "article_reactions",
        "article_attributes",
    }
    with duckdb.connect(str(built_project.duckdb_path), read_only=True) as connection:
        for group in catalog:
            described = connection.sql(f"describe {group.relation_name}").fetchall()
            ((row_count,),) = connection.sql(f"select count(*) from {group.relation_name}").fetchall()
            actual = {name: data_type.lower() for name, data_type, *_ in described}
            declared = {feature.name: feature.data_type for feature in group.features}
            assert list(actual) == [*group.entity, group.event_time, *declared, "computed_at"], group.name
            assert actual[group.event_time] == "timestamp", group.name
            assert {name: actual[name] for name in declared} == declared, group.name
            # 300 users x 3 days: over a thousand rows per windowed group, ~900 articles (one row each).
            assert row_count > 500, group.name


def test_staging_drops_dirty_rows_and_the_audit_counts_them(built_project: LocalProject) -> None:
    with duckdb.connect(str(built_project.duckdb_path), read_only=True) as connection:
        rejected = dict(
            connection.sql(
                "select outcome, sum(raw_rows) from main_audit.audit_staging_rejections "
                "where source_table = 'impressions' group by outcome"
            ).fetchall()
        )
    # The generator injects each kind of dirt; staging must catch every kind, not silently pass it on.
    assert rejected["kept"] > 0
    assert rejected["null_key"] > 0
    assert rejected["duplicate"] > 0
    assert rejected["future_timestamp"] > 0


def test_an_incremental_rerun_changes_nothing(built_project: LocalProject) -> None:
    catalog = FeatureGroupCatalog.from_manifest_path(built_project.manifest_path())
    # computed_at is bookkeeping: it says when a row was last rewritten, so it may change.
    queries = {
        group.name: f"select * exclude (computed_at) from {group.relation_name} "
        f"order by {', '.join([*group.entity, group.event_time])}"
        for group in catalog
    }
    with duckdb.connect(str(built_project.duckdb_path), read_only=True) as connection:
        before = {name: connection.sql(query).fetchall() for name, query in queries.items()}
    result = built_project.dbt("run", "--select", "path:models/feature_groups")
    assert result.returncode == 0, result.stdout[-4000:]
    for group in catalog:
        path = built_project.target_path / f"run/featurestore/models/feature_groups/{group.name}.sql"
        # The merge touches only the recomputed range, bounded by a literal (partition pruning on Athena).
        assert f"DBT_INTERNAL_DEST.{group.event_time} >= timestamp '" in path.read_text(), group.name
    with duckdb.connect(str(built_project.duckdb_path), read_only=True) as connection:
        after = {name: connection.sql(query).fetchall() for name, query in queries.items()}
    for name in queries:
        assert after[name] == before[name], name


def test_the_cli_lists_validates_and_shows_the_group(built_project: LocalProject) -> None:
    # The CLI reads <project>/target/manifest.json, which is where this project's build wrote it.
    listed = built_project.featurestore("list")
    assert listed.returncode == 0, listed.stderr
    assert "user_engagement" in listed.stdout
    assert "user_id" in listed.stdout and "effective_at" in listed.stdout and "7d" in listed.stdout

    validated = built_project.featurestore("validate")
    assert validated.returncode == 0, validated.stderr
    assert "5 feature-group contract(s) valid" in validated.stdout

    shown = built_project.featurestore("show", "user_engagement", "--as-of", "2026-10-02T20:00", "--limit", "3")
    assert shown.returncode == 0, shown.stderr
    assert "as of 2026-10-02 20:00:00" in shown.stdout
    with duckdb.connect(str(built_project.duckdb_path), read_only=True) as connection:
        expected = connection.sql(
            "select user_id, effective_at from main_features.user_engagement "
            "where effective_at <= timestamp '2026-10-02 20:00:00' "
            "qualify row_number() over (partition by user_id order by effective_at desc) = 1 "
            "order by effective_at desc, user_id limit 3"
        ).fetchall()
    header = next(line for line in shown.stdout.splitlines() if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["column"] + [str(u) for u, _ in expected]
    event_time_line = next(line for line in shown.stdout.splitlines() if line.startswith("│ effective_at "))
    assert [cell.strip() for cell in event_time_line.strip("│").split("│")][1:] == [str(t) for _, t in expected]

    unknown = built_project.featurestore("show", "user_engagment")
    assert unknown.returncode == 1
    assert "unknown feature group 'user_engagment'" in unknown.stderr


def test_a_broken_contract_fails_validate_with_the_model_and_field_named(tmp_path: Path) -> None:
    project = make_local_project(tmp_path)
    yml = project.root / "models/feature_groups/user_engagement.yml"
    yml.write_text(yml.read_text().replace("ttl: 7d", "ttl: 7 days"))
    parsed = project.dbt("parse")
    assert parsed.returncode == 0, parsed.stdout[-4000:]
    result = project.featurestore("validate")
    assert result.returncode == 1
    assert "model 'user_engagement': feature_group.ttl: '7 days' is not a duration" in " ".join(result.stderr.split())


def test_the_generated_parquet_matches_the_declared_raw_column_types(tmp_path: Path) -> None:
    # The sources file is the raw-data contract (Glue types on Athena); the generator must honour it.
    glue_to_arrow = {
        "bigint": pa.int64(),
        "int": pa.int32(),
        "string": pa.string(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
    }
    sources = yaml.safe_load((PROJECT_DIR / "models/staging/_news__sources.yml").read_text())
    (news,) = sources["sources"]
    declared = {
        table["name"]: {c["name"]: glue_to_arrow[c["data_type"]] for c in table["columns"] if c["name"] != "dt"}
        for table in news["tables"]
    }
    generate_demo_data(DemoDataConfig(users=20, days=1, seed=3), tmp_path)
    assert sorted(declared) == sorted(TABLES)
    for table, columns in declared.items():
        (first_file, *_) = sorted((tmp_path / table).rglob("*.parquet"))
        schema = pq.read_schema(first_file)
        assert {field.name: field.type for field in schema} == columns, table
