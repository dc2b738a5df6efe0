"""Range backfills: `--vars '{backfill_start: ..., backfill_end: ...}'` recomputes the range as extended by
the group's windows (`user_engagement` has a lifetime feature: to the table's end), deletes the rows there that
the logic no longer produces, and touches nothing before the range. The values as of every time are checked
against brute-force recomputations in tests/offline/test_backfill_boundaries.py and
tests/pipeline/test_backfill_scenarios.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.demo.data import DemoDataConfig, generate_demo_data

TABLE = "main_features.user_engagement"
START, END = "2026-10-02", "2026-10-03"
IN_RANGE, OUT_OF_RANGE = "2026-10-02 12:00:00", "2026-10-03 12:00:00"
GHOST_USER = 987_654_321


def _rows(project: LocalProject, where: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        return connection.sql(f"select * from {TABLE} where {where} order by user_id, effective_at").fetchall()


def _backfill_vars(start: str, end: str) -> str:
    return json.dumps({"backfill_start": start, "backfill_end": end})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    project = make_local_project(tmp_path_factory.mktemp("backfill"))
    generate_demo_data(DemoDataConfig(users=120, days=4, seed=5), project.root / "raw")
    result = project.dbt("run", "--select", "+user_engagement")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


def test_a_range_backfill_replaces_its_extended_range_and_nothing_before_it(
    project: LocalProject,
) -> None:
    # Rows the logic does not produce stand in for what an old version of the logic left behind.
    with duckdb.connect(str(project.duckdb_path)) as connection:
        columns = [name for name, *_ in connection.sql(f"describe {TABLE}").fetchall()]
        for at in (IN_RANGE, OUT_OF_RANGE):
            values = {
                "user_id": GHOST_USER,
                "effective_at": at,
                "last_active_at": at,
                "computed_at": at,
            }
            connection.execute(
                f"insert into {TABLE} ({', '.join(values)}) values ({', '.join('?' for _ in values)})",
                list(values.values()),
            )
        # Pretend the values from the range on were computed by old logic: the backfill must rewrite them.
        connection.execute(
            f"update {TABLE} set clicks_7d = clicks_7d + 1000 "
            f"where effective_at >= '{START}' and user_id <> {GHOST_USER}"
        )
    assert "clicks_7d" in columns
    before_range = f"effective_at < '{START}'"
    kept = _rows(project, before_range)

    result = project.dbt("run", "--select", "user_engagement", "--vars", _backfill_vars(START, END))
    assert result.returncode == 0, result.stdout[-4000:]
    # last_active_at is a lifetime feature: a late or changed event moves it for ever after.
    assert "user_engagement: extending the range to the table's end because lifetime features (last_active_at)" in (
        " ".join(result.stdout.split())
    )
    compiled = (project.target_path / "run/featurestore/models/feature_groups/user_engagement.sql").read_text()
    assert f"DBT_INTERNAL_DEST.effective_at >= timestamp '{START} 00:00:00'" in compiled
    assert "DBT_INTERNAL_DEST.effective_at <" not in compiled

    # Nothing before the range changed, not even its bookkeeping; both ghosts (from the range on) are gone.
    assert _rows(project, before_range) == kept
    assert _rows(project, f"user_id = {GHOST_USER}") == []
    backfilled = _rows(project, f"effective_at >= '{START}'")
    assert backfilled and all(row[columns.index("clicks_7d")] < 1000 for row in backfilled)

    # From the range on, the rows are exactly what a full rebuild computes (the logic did not change, so
    # no boundary row was needed at the range's start).
    result = project.dbt("run", "--select", "user_engagement", "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    rebuilt = _rows(project, f"effective_at >= '{START}'")
    computed_at = columns.index("computed_at")

    def strip(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [row[:computed_at] + row[computed_at + 1 :] for row in rows]

    assert strip(backfilled) == strip(rebuilt)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"backfill_start": START}, "needs both backfill_start and backfill_end"),
        (
            {"backfill_start": "2026-10-02", "backfill_end": "2026-10-01"},
            "must be before backfill_end",
        ),
        (
            {"backfill_start": "yesterday", "backfill_end": END},
            "backfill_start=yesterday is not an ISO date",
        ),
        (
            {"backfill_start": "2026-10-02T00:01", "backfill_end": END},
            "does not lie on the group's 300-second grain",
        ),
    ],
)
def test_a_bad_backfill_range_is_refused_naming_the_variable(
    project: LocalProject, variables: dict[str, str], message: str
) -> None:
    before = _rows(project, "true")
    result = project.dbt("run", "--select", "user_engagement", "--vars", json.dumps(variables))
    assert result.returncode != 0
    assert message in " ".join(result.stdout.split())
    assert _rows(project, "true") == before


def test_a_backfill_cannot_be_combined_with_a_full_refresh(
    project: LocalProject,
) -> None:
    result = project.dbt(
        "run",
        "--select",
        "user_engagement",
        "--full-refresh",
        "--vars",
        _backfill_vars(START, END),
    )
    assert result.returncode != 0
    assert "cannot be combined with --full-refresh" in " ".join(result.stdout.split())


def test_the_cli_backfills_in_chunks_and_resumes(project: LocalProject) -> None:
    range_rows = f"effective_at >= '{START}' and effective_at < '2026-10-04'"
    before = _rows(project, range_rows)
    first = project.featurestore(
        "backfill", "user_engagement", "--start", START, "--end", "2026-10-04", "--chunk-days", "1"
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "recomputed 2 chunk(s) of 2" in first.stdout
    after = _rows(project, range_rows)
    computed_at = -1  # the last column

    def strip(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [row[:computed_at] for row in rows]

    # Same logic, same values; every row of the range was rewritten by this backfill.
    assert strip(after) == strip(before)
    assert all(new[computed_at] > old[computed_at] for new, old in zip(after, before, strict=True))

    again = project.featurestore(
        "backfill", "user_engagement", "--start", START, "--end", "2026-10-04", "--chunk-days", "1"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "recomputed 0 chunk(s) of 2" in again.stdout
    assert _rows(project, range_rows) == after

    unknown = project.featurestore("backfill", "user_engagment", "--start", START, "--end", END)
    assert unknown.returncode == 1
    assert "unknown feature group 'user_engagment'" in unknown.stderr
