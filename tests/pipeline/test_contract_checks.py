"""Issue 12, scenario 6, and `ttl: none` end to end, on a copy of the project (local target).

`featurestore validate` has dbt compile the groups (no model runs) and reports every problem of every
model at once: a declared column the SQL does not return, an incremental group without the unique key,
an online group without computed_at; sync then refuses with the same messages instead of a traceback.
A hand-written attribute group with `ttl: none` is built, synced and served six years after its values.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

NOW = "2026-10-14T20:00:00"

GOOD_SQL = """\
{{ config(materialized='table') }}
with

plans as (

    select * from (
        values
            (1, timestamp '2020-03-01 10:00:00', 'pro'),
            (2, timestamp '2026-10-01 08:00:00', 'free')
    ) as plan_rows (user_id, signed_up_at, signup_plan)

),

final as (

    select
        user_id,
        signed_up_at,
        signup_plan,
        timestamp '2026-10-01 09:00:00' as computed_at
    from plans

)

select * from final
"""


def group_yaml(name: str, *, ttl: str = "none", extra: str = "", columns: str = "") -> str:
    return textwrap.dedent(f"""\
        models:
          - name: {name}
            description: A user's plan at signup.
            config:
              meta:
                feature_group:
                  entity: [user_id]
                  event_time: signed_up_at
                  online: true
                  ttl: {ttl}
                  {extra}
            columns:
              - name: user_id
                data_type: bigint
                description: The user.
              - name: signed_up_at
                data_type: timestamp
                description: When the plan was chosen.
              - name: signup_plan
                data_type: varchar
                description: The plan chosen at signup.
        """) + textwrap.indent(textwrap.dedent(columns), "      ")


COMPUTED_AT = """\
- name: computed_at
  data_type: timestamp
  description: Bookkeeping.
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("contract-checks"))
    folder = project.root / "models" / "signup"
    folder.mkdir()
    (folder / "signup_plans.sql").write_text(GOOD_SQL)
    (folder / "signup_plans.yml").write_text(group_yaml("signup_plans", extra="owner: growth", columns=COMPUTED_AT))
    yield project


def add_model(project: LocalProject, name: str, sql: str, yaml: str) -> None:
    folder = project.root / "models" / "broken"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.sql").write_text(sql)
    (folder / f"{name}.yml").write_text(yaml)


def test_a_ttl_none_group_is_built_synced_and_served_as_never_expiring(project: LocalProject) -> None:
    built = project.dbt("run", "--select", "signup_plans")
    assert built.returncode == 0, built.stdout
    # The manifest of the run has the compiled SQL: no need to compile again.
    validated = project.featurestore("validate", "--no-compile")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    listed = project.featurestore("list", "--now", NOW)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "signup_plans" in listed.stdout and "none" in listed.stdout
    synced = project.featurestore("sync", "--select", "signup_plans", "--now", NOW)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # Written in 2020: six years old, still PRESENT.
    got = project.featurestore("online", "get", "signup_plans", "1", "--now", NOW)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "pro" in got.stdout and "PRESENT" in got.stdout and "EXPIRED" not in got.stdout
    shown = project.featurestore("show", "signup_plans", "1", "--as-of", NOW)
    assert shown.returncode == 0 and "pro" in shown.stdout, shown.stdout + shown.stderr


def test_validate_reports_every_problem_of_every_model_before_any_model_runs(project: LocalProject) -> None:
    """Scenario 6: on main `validate` passed all three models, `dbt build` too, then sync crashed."""
    add_model(
        project,
        "plans_missing_column",
        GOOD_SQL,
        group_yaml(
            "plans_missing_column",
            extra="tags: {a: 1}",  # and no owner: two contract problems and a missing column in one model
            columns=COMPUTED_AT + "- name: plan_tier\n  data_type: varchar\n  description: Not selected.\n",
        ),
    )
    add_model(
        project,
        "plans_without_unique_key",
        GOOD_SQL.replace("materialized='table'", "materialized='incremental', incremental_strategy='delete+insert'"),
        group_yaml("plans_without_unique_key", ttl="30d", extra="owner: growth", columns=COMPUTED_AT),
    )
    add_model(
        project,
        "plans_without_computed_at",
        GOOD_SQL.replace(",\n        timestamp '2026-10-01 09:00:00' as computed_at", ""),
        group_yaml("plans_without_computed_at", extra="owner: growth"),
    )
    result = project.featurestore("validate")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert "Traceback" not in output
    for expected in (
        "model 'plans_missing_column': feature_group.owner: must name the owning team",
        "model 'plans_missing_column': feature_group.tags: must be a column name or a list",
        "model 'plans_missing_column': feature_group.columns.plan_tier: declared in the YAML, but the model's "
        "SQL does not return it (it returns: user_id, signed_up_at, signup_plan, computed_at)",
        "model 'plans_without_unique_key': feature_group.unique_key: missing",
        "unique_key=['user_id', 'signed_up_at']",
        "model 'plans_without_computed_at': feature_group.columns.computed_at: missing",
    ):
        assert expected in output, expected
    assert "5 feature-group contract error(s)" in output
    # Nothing ran: no table of the new models exists.
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("select table_name from information_schema.tables").fetchall()}
    assert not {"plans_missing_column", "plans_without_unique_key", "plans_without_computed_at"} & tables

    # The sync loads the same contracts: the same messages, no traceback, nothing written.
    synced = project.featurestore("sync", "--now", NOW)
    sync_output = " ".join((synced.stdout + synced.stderr).split())
    assert synced.returncode == 1 and "Traceback" not in sync_output
    assert "feature_group.columns.computed_at: missing" in sync_output
