"""Freshness: the contract's thresholds and their defaults from the grain, the offline facts read from a
table (pre-computed rows for later times do not make a stalled group look fresh), and the levels of
`featurestore status`. The command itself, on the real project and both online backends, is in
test_freshness_status.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from support.online_support import make_group

from featurestore.catalog.freshness import Level, OnlineFacts, dbt_successes, format_duration, group_status, thresholds
from featurestore.catalog.stats import (
    GroupFacts,
    event_times_sql,
    freshness_sql,
    infer_grain,
    read_facts,
    stats_sql,
)
from featurestore.core.contract import parse_feature_group
from featurestore.core.errors import ContractError, OfflineStoreError
from featurestore.online.base import ItemCount, SyncMarker

NOW = dt.datetime(2026, 10, 3, 12, 0)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def _node(freshness: object = None) -> dict:
    contract = {"entity": ["user_id"], "event_time": "effective_at", "online": True, "ttl": "7d", "owner": "me"}
    if freshness is not None:
        contract["freshness"] = freshness
    return {
        "name": "g",
        "unique_id": "model.p.g",
        "config": {"meta": {"feature_group": contract}},
        "columns": {
            "user_id": {"data_type": "bigint"},
            "effective_at": {"data_type": "timestamp"},
            "clicks": {"data_type": "bigint", "description": "clicks"},
            "computed_at": {"data_type": "timestamp"},
        },
    }


def test_contract_freshness_is_parsed_and_checked() -> None:
    group = parse_feature_group(_node({"warn_after": "2h", "error_after": "1d"}))
    assert (group.freshness_warn_after, group.freshness_error_after) == (2 * HOUR, dt.timedelta(days=1))
    assert parse_feature_group(_node()).freshness_warn_after is None
    with pytest.raises(ContractError, match=r"feature_group\.freshness\.warn_after: '2 hours' is not a duration"):
        parse_feature_group(_node({"warn_after": "2 hours"}))
    with pytest.raises(ContractError, match=r"error_after \(1h\) is shorter than warn_after"):
        parse_feature_group(_node({"warn_after": "2h", "error_after": "1h"}))
    with pytest.raises(ContractError, match=r"freshness: must be a mapping"):
        parse_feature_group(_node({"warn": "2h"}))


@pytest.mark.parametrize(
    ("grain", "warn", "error"),
    [
        (5 * MINUTE, HOUR, 6 * HOUR),  # 5-minute buckets: the floors
        (HOUR, 2 * HOUR, 6 * HOUR),
        (dt.timedelta(days=1), dt.timedelta(days=2), dt.timedelta(days=4)),
        (None, HOUR, 6 * HOUR),
    ],
)
def test_default_thresholds_follow_the_grain(
    grain: dt.timedelta | None, warn: dt.timedelta, error: dt.timedelta
) -> None:
    limits = thresholds(make_group(), grain)
    assert (limits.warn_after, limits.error_after) == (warn, error)
    assert limits.source.startswith("default")


def test_contract_thresholds_win_over_defaults() -> None:
    group = parse_feature_group(_node({"error_after": "3h"}))
    limits = thresholds(group, 5 * MINUTE)
    # Only error_after declared: warn keeps its default, error the contract's.
    assert (limits.warn_after, limits.error_after, limits.source) == (HOUR, 3 * HOUR, "contract")


def test_infer_grain() -> None:
    base = dt.datetime(2026, 10, 1)
    assert infer_grain([base + k * 5 * MINUTE for k in (1, 2, 7, 30)]) == 5 * MINUTE
    assert infer_grain([base + HOUR, base + 3 * HOUR]) == HOUR
    assert infer_grain([base]) is None


def test_format_duration() -> None:
    assert [format_duration(d) for d in (45 * dt.timedelta(seconds=1), 12 * MINUTE, 3 * HOUR + 5 * MINUTE)] == [
        "45s",
        "12m",
        "3h 5m",
    ]
    assert format_duration(dt.timedelta(days=2, hours=4)) == "2d 4h"
    assert format_duration(-2 * MINUTE) == "-2m"


def _facts(newest: dt.datetime | None, *, error: str | None = None) -> GroupFacts:
    return GroupFacts("fg_test", NOW, error=error, last_run_at=NOW, newest_event_at=newest, grain=5 * MINUTE)


@pytest.mark.parametrize(
    ("newest", "marker_at", "level", "problem"),
    [
        (NOW - 10 * MINUTE, NOW - 5 * MINUTE, Level.OK, None),
        (NOW - 2 * HOUR, NOW - 5 * MINUTE, Level.WARN, "newest event time 2h behind now (warn after 1h)"),
        (NOW - 7 * HOUR, NOW - 5 * MINUTE, Level.ERROR, "newest event time 7h behind now (error after 6h)"),
        (NOW - 10 * MINUTE, NOW - 2 * HOUR, Level.WARN, "last sync 2h behind now (warn after 1h)"),
        (NOW - 10 * MINUTE, None, Level.ERROR, "online but never synced"),
    ],
)
def test_levels_of_an_online_group(
    newest: dt.datetime, marker_at: dt.datetime | None, level: Level, problem: str | None
) -> None:
    marker = SyncMarker(NOW, marker_at) if marker_at else None
    status = group_status(make_group(), _facts(newest), OnlineFacts(marker, ItemCount(10, True)))
    assert status.level == level
    if problem is None:
        assert status.problems == ()
    else:
        assert any(problem in text for text in status.problems), status.problems


def test_never_built_and_empty_groups_are_errors_naming_the_fix() -> None:
    never = group_status(make_group(online=False), _facts(None, error="no table"), None)
    assert never.level == Level.ERROR
    assert "not built: run `dbt build --select fg_test`" in never.problems[0]
    empty = group_status(make_group(online=False), _facts(None), None)
    assert empty.level == Level.ERROR and "no row computed" in empty.problems[0]


def _table(path: Path, rows: list[tuple[int, dt.datetime, dt.datetime]]) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "create table fg_test (user_id bigint, effective_at timestamp, computed_at timestamp, count_7d bigint, "
            "ratio_7d double, label varchar, flag boolean, seen_at timestamp, scores bigint[])"
        )
        if rows:
            connection.executemany(
                "insert into fg_test values (?, ?, ?, 1, 0.5, 'x', true, null, null)", [list(row) for row in rows]
            )


def _runner(path: Path):
    def run(group, sql: str) -> pa.Table:
        with duckdb.connect(str(path), read_only=True) as connection:
            try:
                return connection.sql(sql).to_arrow_table()
            except duckdb.CatalogException as error:
                raise OfflineStoreError(str(error)) from error

    return run


def test_rows_pre_computed_for_later_times_do_not_count_as_fresh(tmp_path: Path) -> None:
    """The last run (computed_at) was at 10:00 and wrote rows up to 10:00 plus rows for the times when windows
    empty (11:00, tomorrow). At 16:00 the newest event time is 10:00, 6 hours behind: stale, although a row
    for 11:00 is valid by then."""
    last_run = dt.datetime(2026, 10, 3, 10, 0)
    rows = [
        (1, last_run - 10 * MINUTE, last_run),
        (2, last_run, last_run),
        (1, last_run + HOUR, last_run),
        (2, last_run + dt.timedelta(days=1), last_run),
    ]
    path = tmp_path / "store.duckdb"
    _table(path, rows)
    group = make_group(online=False, relation="fg_test")
    at = dt.datetime(2026, 10, 3, 16, 5)
    facts = read_facts(group, _runner(path), at)
    assert facts.newest_event_at == last_run
    assert facts.last_run_at == last_run
    status = group_status(group, facts, None)
    assert status.level == Level.ERROR and status.lag == 6 * HOUR + 5 * MINUTE
    # Statistics cover the day of rows up to the newest: 2 rows.
    assert facts.stats_rows == 2
    count = next(stats for stats in facts.features if stats.name == "count_7d")
    assert (count.rows, count.nulls, count.minimum, count.maximum, count.mean) == (2, 0, 1, 1, 1.0)
    seen = next(stats for stats in facts.features if stats.name == "seen_at")
    assert seen.null_share == 1.0


def test_a_table_that_does_not_exist_is_reported_as_not_built(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    _table(path, [])
    facts = read_facts(make_group(online=False, relation="missing_table"), _runner(path), NOW)
    assert not facts.built and "missing_table" in (facts.error or "")


def test_last_successful_runs_come_from_dbt_run_results_of_runs_and_builds(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    assert dbt_successes(path) == {}
    timing = [{"name": "execute", "completed_at": "2026-10-03T10:00:05.5Z"}]
    results = [
        {"unique_id": "model.p.ok", "status": "success", "timing": timing},
        {"unique_id": "model.p.failed", "status": "error", "timing": timing},
    ]
    path.write_text(json.dumps({"args": {"which": "run"}, "results": results}))
    assert dbt_successes(path) == {"model.p.ok": dt.datetime(2026, 10, 3, 10, 0, 5, 500000)}
    # `dbt docs generate` and `dbt compile` write the file too, with every node a "success": not runs.
    path.write_text(json.dumps({"args": {"which": "generate"}, "results": results}))
    assert dbt_successes(path) == {}


def test_the_statistics_queries_are_athena_sql() -> None:
    """The same SQL runs on Athena (`FEATURESTORE_TARGET=athena`): it parses as Athena's dialect (sqlglot)."""
    import sqlglot

    group = make_group(relation='"awsdatacatalog"."featurestore_features"."fg_test"')
    for sql in (freshness_sql(group, NOW), event_times_sql(group, NOW), stats_sql(group, NOW)):
        parsed = sqlglot.parse_one(sql, read="athena")
        assert parsed is not None and "fg_test" in parsed.sql(dialect="athena")
