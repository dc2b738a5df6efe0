"""The sync's SQL (offline_queries.py): one text for DuckDB and Athena, with literal event-time bounds,
reading the relation no more often than it must (once for a full load, twice for changes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlglot
from support.online_support import BASE_TIME, OfflineTable, make_group, values_for

from featurestore.core.keys import encode_key
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.offline.queries import existing_rows_sql, latest_changed_rows_sql

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
    assert sql.count("\"effective_at\" <= timestamp '2026-10-14 20:00:00.000000'") == reads
    assert ("\"effective_at\" > timestamp '2026-10-14 19:55:00.000000'" in sql) == time_clause


def test_the_recheck_finds_exactly_the_rows_that_exist(tmp_path: Path) -> None:
    """Composite keys, text with quotes, rows at other times, chunks of RECHECK_CHUNK."""
    group = make_group("fg_pairs", entity=(("user_id", "bigint"), ("category", "varchar")))
    offline = OfflineTable(tmp_path / "offline.duckdb", group)
    early, late = BASE_TIME, BASE_TIME + dt.timedelta(days=2, microseconds=7)
    rows = [([user, "it's"], early, values_for(user)) for user in range(2500)]
    rows += [([7, "later"], late, values_for(7)), ([8, 'q"uote'], early, values_for(8))]
    offline.upsert(rows)
    asked = [(encode_key([user, "it's"]), early) for user in range(0, 5000, 2)]  # half of them exist
    asked += [(encode_key([7, "later"]), late), (encode_key([7, "later"]), early), (encode_key([8, 'q"uote']), early)]
    found = DuckDBOfflineStore(offline.path).existing_rows(group, asked)
    expected = {(encode_key([user, "it's"]), early) for user in range(0, 2500, 2)}
    assert found == expected | {(encode_key([7, "later"]), late), (encode_key([8, 'q"uote']), early)}

    sql = existing_rows_sql(group, [((1, "it's"), early), ((2, "x"), late)])
    for dialect in ("athena", "duckdb"):
        sqlglot.parse_one(sql, read=dialect)
    assert "'it''s'" in sql
    # Literal bounds on the event time: Athena reads only the partitions of the asked times.
    assert "rows.\"effective_at\" >= timestamp '2026-10-01 00:00:00.000000'" in sql
    assert "rows.\"effective_at\" <= timestamp '2026-10-03 00:00:00.000007'" in sql
    with pytest.raises(ValueError, match="not an integer or text"):
        existing_rows_sql(group, [((1.5, "x"), early)])
