"""Property tests: after a range backfill, every aggregation function's offline value as of any time equals a
brute-force recomputation: the old events' before the range, the new events' inside the range and its
extension, the old events' (the kept history) after it.

Two probe groups declare every function of tests/offline/test_aggregation_functions.py over 15m and 1h:
`bf_windows` (windows only: a backfill of [S, E) is extended to E' = E + 1h + 5m and resumes the kept
history there) and `bf_lifetime` (plus lifetime max and last: a backfill runs to the table's end). Each is
built once with dbt, then compiled twice: its full build and its backfill of [S, E). Each hypothesis example
builds the stored table from random old events with the full build's SELECT, changes the events (removed,
added, moved: a definition change such as a new filter and late data look the same to the store), runs the
backfill's SELECT against the stored table and applies it as dbt does (MERGE on entity + event time, then
the post-hook's DELETE of the range's rows not rewritten), and compares the table as of every instant where
a value can change with `expected()` of test_aggregation_functions.py.

The MERGE of the real adapters is exercised by tests/pipeline/test_backfill.py (and the Athena statements by
tests/athena/test_athena_emitted_sql.py); this module checks the values on many histories.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from offline.test_aggregation_functions import (
    BASE,
    FEATURES,
    GRAIN,
    LIFETIME,
    SECOND,
    SECOND_OFFSETS,
    WINDOWS,
    Event,
    _same,
    change_instants,
    expected,
    write_probe_group,
)
from offline.test_aggregation_functions import (
    REACTIONS as STAGING_COLUMNS,
)
from support.athena_parity import TRINO_DIVISION
from support.local_project import LocalProject, make_local_project

from featurestore.demo.data import DemoDataConfig, generate_demo_data

START = BASE + dt.timedelta(hours=1)
END = BASE + dt.timedelta(hours=2)
# The extension of a windows-only group: its longest window and a grain.
EXTENDED_END = END + dt.timedelta(hours=1, minutes=5)
EVENTS_UNTIL_MINUTES = 5 * 60
PROBES = {
    "bf_windows": False,
    "bf_lifetime": True,
}  # name -> declares lifetime features
OLD_COMPUTED_AT = dt.datetime(2000, 1, 1)


def window_columns() -> list[str]:
    return [f"{name}_{window}" for name in FEATURES for window in WINDOWS]


def columns_of(group: str) -> list[str]:
    return window_columns() + (list(LIFETIME) if PROBES[group] else [])


@dataclasses.dataclass(frozen=True)
class Probe:
    group: str
    full_build: str
    backfill: str
    table: str  # quoted relation of the group
    staging: tuple[str, str, str]  # database, schema, quoted relation of stg_news__reactions

    def __repr__(
        self,
    ) -> str:  # hypothesis prints the fixture of a failing example: not the SQL
        return f"Probe({self.group})"


def _compiled(project: LocalProject, group: str) -> str:
    manifest = json.loads(project.manifest_path().read_text())
    node = manifest["nodes"][f"model.featurestore.{group}"]
    return (project.target_path / "compiled" / "featurestore" / node["original_file_path"]).read_text()


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Probe]:
    project = make_local_project(tmp_path_factory.mktemp("backfill-boundaries"))
    for group in PROBES:
        write_probe_group(project.root, group, lifetime=PROBES[group])
    # Tiny demo data, so the staging tables and the groups' tables exist: a backfill compiles against them.
    generate_demo_data(
        DemoDataConfig(users=20, days=1, articles_per_day=5, seed=1),
        project.root / "raw",
    )
    built = project.dbt("run", "--select", "+bf_windows", "+bf_lifetime")
    assert built.returncode == 0, built.stdout[-4000:]
    full_sql = {group: _compiled(project, group) for group in PROBES}  # the first build's SELECT
    variables = json.dumps({"backfill_start": START.isoformat(), "backfill_end": END.isoformat()})
    backfill = project.dbt("compile", "--select", *PROBES, "--vars", variables)
    assert backfill.returncode == 0, backfill.stdout[-4000:]
    assert f"bf_windows: extending the range to {EXTENDED_END:%Y-%m-%d %H:%M:%S} because windows up to 1h" in (
        " ".join(backfill.stdout.split())
    )
    manifest = json.loads(project.manifest_path().read_text())
    staging = manifest["nodes"]["model.featurestore.stg_news__reactions"]
    return {
        group: Probe(
            group=group,
            full_build=full_sql[group],
            backfill=_compiled(project, group),
            table=manifest["nodes"][f"model.featurestore.{group}"]["relation_name"],
            staging=(staging["database"], staging["schema"], staging["relation_name"]),
        )
        for group in PROBES
    }


# ---------------------------------------------------------------------------------------------------
# The stored table, the backfill as dbt applies it, and the comparison
# ---------------------------------------------------------------------------------------------------


def _stage(connection: duckdb.DuckDBPyConnection, relation: str, events: Sequence[Event]) -> None:
    connection.execute(f"delete from {relation}")
    rows = [
        (
            f"r{i}",
            f"i{i}",
            e.user_id,
            e.article_id,
            e.reacted_at,
            e.kind,
            e.dwell,
            e.reacted_at,
        )
        for i, e in enumerate(events)
    ]
    if rows:
        connection.executemany(
            f"insert into {relation} values ({', '.join('?' for _ in STAGING_COLUMNS)})",
            rows,
        )


def backfilled_rows(probe: Probe, old: Sequence[Event], new: Sequence[Event]) -> list[tuple[Any, ...]]:
    """The group's rows after a full build on `old` and a backfill of [START, END) on `new`."""
    connection = duckdb.connect(":memory:")
    database, schema, staging = probe.staging
    connection.execute(f"attach ':memory:' as \"{database}\"")
    connection.execute(f'create schema "{database}"."{schema}"')
    connection.execute(f'create schema "{database}".main_features')
    connection.execute(f"create table {staging} ({', '.join(f'{c} {t}' for c, t in STAGING_COLUMNS)})")
    connection.execute(TRINO_DIVISION)
    _stage(connection, staging, old)
    connection.execute(f"create table {probe.table} as {probe.full_build.rstrip().rstrip(';')}")
    connection.execute(f"update {probe.table} set computed_at = ?", [OLD_COMPUTED_AT])

    _stage(connection, staging, new)
    connection.execute(f"create temp table fg_new as {probe.backfill.rstrip().rstrip(';')}")
    to_end = PROBES[probe.group]
    # The MERGE's literal target bounds: [START, E'] (or from START on); every new row must lie within.
    upper = "" if to_end else f" and {{table}}effective_at <= timestamp '{EXTENDED_END}'"
    outside = connection.sql(
        f"select count(*) from fg_new where not (effective_at >= timestamp '{START}'{upper.format(table='')})"
    )
    assert outside.fetchall() == [(0,)], "the backfill wrote rows outside its merge bounds"
    stamps = connection.sql("select distinct computed_at from fg_new").fetchall()
    assert len(stamps) <= 1, stamps
    # The run's start (any time after the stored rows' when it wrote nothing).
    computed_at = stamps[0][0] if stamps else dt.datetime(2100, 1, 1)
    connection.execute(
        f"delete from {probe.table} as t using fg_new as n where t.article_id = n.article_id "
        f"and t.effective_at = n.effective_at and t.effective_at >= timestamp '{START}'{upper.format(table='t.')}"
    )
    connection.execute(f"insert into {probe.table} by name select * from fg_new")
    # The post-hook: the range's rows (E' itself excluded) this run did not rewrite.
    stale_upper = "" if to_end else f" and effective_at < timestamp '{EXTENDED_END}'"
    connection.execute(
        f"delete from {probe.table} where effective_at >= timestamp '{START}'{stale_upper} and computed_at < ?",
        [computed_at],
    )
    columns = ["article_id", "effective_at", *columns_of(probe.group)]
    return connection.sql(f"select {', '.join(columns)} from {probe.table}").fetchall()


def _is_empty(values: dict[str, Any]) -> bool:
    """Every window empty: what an entity's row holds once its events have left the windows."""
    for name, (function, _) in FEATURES.items():
        for window in WINDOWS:
            value = values[f"{name}_{window}"]
            if (value != 0) if function in ("count", "count_distinct", "sum") else (value is not None):
                return False
    return True


def instants(*histories: Sequence[Event]) -> list[dt.datetime]:
    found = {moment for events in histories for moment in change_instants(events)}
    for edge in (START, END, EXTENDED_END):
        found.update({edge - GRAIN * SECOND, edge, edge + 7 * SECOND, edge + GRAIN * SECOND})
    return sorted(found)


def mismatches(group: str, rows: list[tuple[Any, ...]], old: Sequence[Event], new: Sequence[Event]) -> list[str]:
    names = columns_of(group)
    history: dict[int, list[tuple[dt.datetime, tuple[Any, ...]]]] = {}
    for article_id, effective_at, *values in rows:
        history.setdefault(article_id, []).append((effective_at, tuple(values)))
    problems = []
    for article_id in sorted({e.article_id for e in [*old, *new]}):
        mine = sorted(history.get(article_id, []))
        times = [t for t, _ in mine]
        if len(set(times)) != len(times):
            problems.append(f"article {article_id}: two rows at one time: {times}")
        for moment in instants(old, new):
            # Before the range the old history; inside it (and its extension) the new events; after it
            # the kept (old) history again, unless the backfill runs to the table's end.
            inside = moment >= START and (PROBES[group] or moment < EXTENDED_END)
            want = expected(new if inside else old, article_id, moment)
            index = bisect.bisect_right(times, moment) - 1
            got = dict(zip(names, mine[index][1], strict=True)) if index >= 0 else None
            if want is None:
                # No event visible: no row, or a row with empty windows (a boundary row). Its lifetime
                # values are those the store kept: the recomputation has no event to compute them from.
                if got is not None and not _is_empty(got):
                    problems.append(f"article {article_id} at {moment}: expected no value, got {got}")
                continue
            if got is None:
                problems.append(f"article {article_id} at {moment}: expected {want}, got no row")
                continue
            wrong = {name: (want[name], got[name]) for name in names if not _same(want[name], got[name])}
            if wrong:
                problems.append(f"article {article_id} at {moment} ({'new' if inside else 'old'}): {wrong}")
    return problems[:5]


# ---------------------------------------------------------------------------------------------------
# Random histories and their changes
# ---------------------------------------------------------------------------------------------------


@st.composite
def event_at(draw: st.DrawFn, first_minute: int, last_minute: int) -> Event:
    minutes = 5 * draw(st.integers(first_minute // 5, (last_minute - 1) // 5))
    return Event(
        article_id=draw(st.sampled_from([1, 2])),
        user_id=draw(st.sampled_from([1, 2, 3, None])),
        reacted_at=BASE + dt.timedelta(minutes=minutes, seconds=draw(SECOND_OFFSETS)),
        kind=draw(st.sampled_from(["click", "like", "share"])),
        dwell=draw(st.sampled_from([None, 0.5, 2.0, 7.25, 30.0])),
    )


@st.composite
def changed_histories(draw: st.DrawFn, group: str) -> tuple[list[Event], list[Event]]:
    """Old events and new events. Windows-only groups: changes anywhere. Groups with lifetime features:
    changes inside the range only (a lifetime value as of t depends on every event before t: a change
    before the range needs a backfill from there)."""
    first, last = (0, EVENTS_UNTIL_MINUTES) if not PROBES[group] else (60, 120)
    old = draw(st.lists(event_at(0, EVENTS_UNTIL_MINUTES), min_size=1, max_size=10))
    changeable = [e for e in old if first <= (e.reacted_at - BASE).total_seconds() / 60 < last]
    removed = draw(st.lists(st.sampled_from(changeable), max_size=4)) if changeable else []
    added = draw(st.lists(event_at(first, last), max_size=5))
    new = [e for e in old if e not in removed] + added
    return old, new


EXAMPLES = settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.dbt
@EXAMPLES
@given(data=st.data())
def test_a_backfill_of_a_windows_group_is_right_as_of_every_time(probes: dict[str, Probe], data: st.DataObject) -> None:
    old, new = data.draw(changed_histories("bf_windows"))
    rows = backfilled_rows(probes["bf_windows"], old, new)
    assert not mismatches("bf_windows", rows, old, new)


@pytest.mark.dbt
@EXAMPLES
@given(data=st.data())
def test_a_backfill_of_a_lifetime_group_runs_to_the_end_and_is_right_as_of_every_time(
    probes: dict[str, Probe], data: st.DataObject
) -> None:
    old, new = data.draw(changed_histories("bf_lifetime"))
    rows = backfilled_rows(probes["bf_lifetime"], old, new)
    assert not mismatches("bf_lifetime", rows, old, new)


@pytest.mark.dbt
def test_the_boundary_rows_are_what_makes_the_range_right(
    probes: dict[str, Probe],
) -> None:
    # Guards against a comparison that cannot fail. An event before the range that the new logic drops:
    # the stored row before the range still counts it, so the range needs a row at its start. One after
    # the range that it drops too: the kept history, which resumes after the extension, counts it.
    before = Event(1, 1, START - dt.timedelta(minutes=20), "share", 2.0)
    after = Event(1, 2, END + dt.timedelta(minutes=30), "share", 7.25)
    kept = Event(1, 3, START - dt.timedelta(minutes=30), "click", 0.5)
    old, new = [before, after, kept], [kept]
    probe = probes["bf_windows"]
    rows = backfilled_rows(probe, old, new)
    assert not mismatches("bf_windows", rows, old, new)
    assert (1, START) in {(article_id, at) for article_id, at, *_ in rows}
    assert (1, EXTENDED_END) in {(article_id, at) for article_id, at, *_ in rows}
    without_start = dataclasses.replace(probe, backfill=probe.backfill.replace("fg_all.fg_boundary = 1", "false"))
    assert mismatches("bf_windows", backfilled_rows(without_start, old, new), old, new)
    without_end = dataclasses.replace(probe, backfill=probe.backfill.replace("fg_all.fg_boundary = 3", "false"))
    assert mismatches("bf_windows", backfilled_rows(without_end, old, new), old, new)
