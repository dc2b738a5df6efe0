"""The sync's SQL (offline_queries.py): one text for DuckDB and Athena, with literal event-time bounds,
reading the relation no more often than it must (once for a full load, twice for changes)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from online_support import make_group

from featurestore.offline_queries import latest_changed_rows_sql

GROUP = make_group("user_engagement", relation='"awsdatacatalog"."featurestore_features"."user_engagement"')
NOW = dt.datetime(2026, 10, 14, 20, 0)
SINCE = dt.datetime(2026, 11, 1, 0, 5)


@pytest.mark.parametrize(
    ("since", "valid_after", "reads", "time_clause"),
    [
        (None, None, 1, False),  # a full load
        (SINCE, NOW - dt.timedelta(minutes=5), 2, True),  # changes, and rows that became valid
        (SINCE, None, 2, False),  # a marker from before sync times
        (SINCE, NOW + dt.timedelta(hours=1), 2, False),  # behind the previous sync: nothing by time
    ],
)
def test_the_query_parses_on_both_engines_with_literal_bounds(
    since: dt.datetime | None, valid_after: dt.datetime | None, reads: int, time_clause: bool
) -> None:
    sql = latest_changed_rows_sql(GROUP, since, NOW, valid_after)
    for dialect in ("athena", "duckdb"):
        parsed = sqlglot.parse_one(sql, read=dialect)
        relations = [table for table in parsed.find_all(sqlglot.exp.Table) if table.name == "user_engagement"]
        assert len(relations) == reads, dialect
    assert sql.count("effective_at <= timestamp '2026-10-14 20:00:00.000000'") == reads
    assert ("effective_at > timestamp '2026-10-14 19:55:00.000000'" in sql) == time_clause
