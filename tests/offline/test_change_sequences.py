"""Property test: random sequences of micro-batches, late events, definition changes with a range backfill,
backfills, full refreshes and syncs keep the offline history equal to a brute-force recomputation with the
current definition over the events landed so far wherever that history was rebuilt, keep what was not
rebuilt as it was, and keep the online store equal to the offline values as of each sync's time.

The harness is that of tests/offline/test_backfill_boundaries.py and the late-event replays of
tests/offline/test_aggregation_functions.py: a windows-only probe group (every aggregation function over 15m
and 1h) is built with dbt once, and its SQL compiled once per mode: the full build, an incremental run (with
dbt-duckdb's MERGE) over a table whose newest row is WATERMARK, and a backfill from each of
BACKFILL_STARTS to after the table's end (what `featurestore backfill --accept-mixed-history` runs after a
definition change). Each example runs those SELECTs in an in-memory DuckDB against a staging table and
applies them as dbt does (the MERGE; for a backfill, the merge on entity + event time within its bounds and
the post-hook's DELETE of the range's rows it did not rewrite); each run stamps its rows with a later
computed_at, as a later dbt run would. A sync copies the table to a DuckDB file and runs `sync_group` into a
SqliteOnlineStore.

The model:
- events land with an arrival order; the sentinel of test_aggregation_functions.py is the newest event of
  every history (all others lie before its bucket), so the table's newest row is always WATERMARK and the
  compiled incremental bounds stay those of a real run: it recomputes rows from RECOMPUTE_FROM (the
  lookback) reading events from READ_FROM;
- a definition change is modelled as a change of the event set the SELECT sees, as test_backfill_boundaries
  models it: definition "all" sees every event, "no_shares" (a new filter) drops reactions of kind share
  (never the sentinel); the staging table holds the current definition's view of the landed events;
- steps: micro-batch (events inside the lookback land, then an incremental run), late events (events
  anywhere before the sentinel land, no run: the next micro-batch picks up those inside the lookback; those
  beyond it stay wrong until a backfill covering them), definition change + backfill from a date to the
  table's end, backfill from a date with the current definition, full refresh, sync at a later time (with
  `full` after any run that may have removed rows, as docs/online_store.md says; otherwise drawn).

Checked after every step, for every entity:
- offline: at every instant where a value can change (change_instants, plus the rebuild edges), from the
  last point from which the history was rebuilt with the current definition (the start of a full refresh,
  i.e. everything, or of a definition change's backfill, moved earlier by a later backfill from before it),
  the as-of values equal `expected()` over the current definition's events, except, for each landed event
  no run has covered yet, the instants whose windows hold it ([its bucket's close, + the longest window)),
  which are left out until a micro-batch (events from RECOMPUTE_FROM), a backfill from before the event,
  or a full refresh recomputes them; no entity has two rows at one time;
- what a step did not rebuild is unchanged: the as-of values before a backfill's start, and before
  RECOMPUTE_FROM for a micro-batch, equal those before the step (so the older definition's history is kept
  exactly where the history is mixed);
  an entity whose every window is empty counts as equal to one without a row at that time (as
  test_backfill_boundaries.py accepts an empty boundary row where no value is expected; here also the
  reverse: an event whose windows all closed before a rebuild's start, or that no run has read yet, leaves
  no row of an entity the rebuild would give only empty windows);
- online, after each sync: every entity's stored item equals the offline row valid at the sync's time
  (event time and values), and an entity with no such row has no item.
Every sequence starts with a full build of its first events and ends with a sync after the table's newest row.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from offline.test_aggregation_functions import (
    BASE,
    COVERED_LAST_STEP,
    GRAIN,
    LATE_FIRST_STEP,
    LONGEST,
    LOOKBACK_HOURS,
    MERGE_SOURCE,
    READ_FROM,
    RECOMPUTE_FROM,
    REPLAY_VARS,
    SECOND,
    SENTINEL,
    WATERMARK,
    Event,
    _create_staging,
    _event,
    _insert,
    _same,
    _scratch,
    _time,
    bucket_start,
    change_instants,
    expected,
    probe_columns,
    write_probe_group,
)
from offline.test_backfill_boundaries import _compiled, _is_empty, _stage, window_columns
from support.local_project import make_local_project
from support.online_support import make_group

from featurestore.core.keys import encode_key
from featurestore.offline.duckdb.reader import DuckDBOfflineStore
from featurestore.online.sqlite import SqliteOnlineStore
from featurestore.online.sync import sync_group

GROUP = "sq_probe"
BACKFILL_STARTS = (BASE + dt.timedelta(hours=1), RECOMPUTE_FROM)
# After the table's newest row: a backfill to the table's end.
BACKFILL_END = BASE + dt.timedelta(hours=6)
DEFINITIONS = ("all", "no_shares")
FIRST_RUN_AT = dt.datetime(2026, 11, 1)
FEATURE_NAMES = window_columns()
ONLINE_GROUP = make_group(
    GROUP,
    entity=(("article_id", "bigint"),),
    relation=f"main.{GROUP}",
    features=[(name, kind) for name, kind in probe_columns(lifetime=False) if name in FEATURE_NAMES],
)


class SequenceSql:
    """The probe's compiled SQL (a plain class: hypothesis prints a dataclass fixture field by field)."""

    def __init__(
        self,
        full_build: str,
        incremental: str,
        temporary: str,
        merge: str,
        backfills: dict[dt.datetime, str],
        staging: tuple[str, str, str],
        target: tuple[str, str, str],
    ) -> None:
        self.full_build = full_build
        self.incremental = incremental
        self.temporary = temporary  # dbt-duckdb's temporary table of the incremental run
        self.merge = merge
        self.backfills = backfills  # start -> the backfill's SELECT
        self.staging = staging
        self.target = target

    def __repr__(self) -> str:
        return "SequenceSql()"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> SequenceSql:
    project = make_local_project(tmp_path_factory.mktemp("change-sequences"))
    write_probe_group(project.root, GROUP, lifetime=False)
    first = project.dbt("compile", "--select", GROUP, "--vars", REPLAY_VARS)
    assert first.returncode == 0, first.stdout[-4000:]
    manifest = json.loads(project.manifest_path().read_text())
    staging_node = manifest["nodes"]["model.featurestore.stg_news__reactions"]
    staging = (staging_node["database"], staging_node["schema"], staging_node["relation_name"])
    node = manifest["nodes"][f"model.featurestore.{GROUP}"]
    target = (node["database"], node["schema"], node["relation_name"])
    full_build = _compiled(project, GROUP)

    # A real incremental run over the table of the sentinel alone (newest row WATERMARK), as
    # test_aggregation_functions.py's fixture does; it leaves the table the backfills compile against.
    with duckdb.connect(str(project.duckdb_path)) as connection:
        for schema in (staging[1], target[1]):
            connection.execute(f'create schema "{schema}"')
        _create_staging(connection, staging[2])
        _insert(connection, staging[2], [SENTINEL])
        connection.execute(f"create table {target[2]} as {full_build}")
    run = project.dbt("run", "--select", GROUP, "--vars", REPLAY_VARS)
    assert run.returncode == 0, run.stdout[-4000:]
    incremental = _compiled(project, GROUP)
    merge = (project.target_path / "run" / "featurestore" / node["original_file_path"]).read_text()
    source = MERGE_SOURCE.search(merge)
    assert source, f"no MERGE ... USING <temporary table> in what dbt ran:\n{merge}"
    assert f"DBT_INTERNAL_DEST.effective_at >= timestamp '{RECOMPUTE_FROM}'" in merge, merge
    assert f"reacted_at >= timestamp '{READ_FROM}'" in incremental

    backfills = {}
    for start in BACKFILL_STARTS:
        variables = {"late_arrival_lookback_hours": LOOKBACK_HOURS}
        variables |= {"backfill_start": start.isoformat(), "backfill_end": BACKFILL_END.isoformat()}
        backfill = project.dbt("compile", "--select", GROUP, "--vars", json.dumps(variables))
        assert backfill.returncode == 0, backfill.stdout[-4000:]
        backfills[start] = _compiled(project, GROUP)
        assert f"'{start}'" in backfills[start]
    return SequenceSql(full_build, incremental, source.group(1), merge, backfills, staging, target)


# ---------------------------------------------------------------------------------------------------
# The store under test: the table, the runs as dbt applies them, the sync
# ---------------------------------------------------------------------------------------------------


def visible(events: Sequence[Event], definition: str) -> list[Event]:
    return [e for e in events if definition == "all" or e.kind != "share"]


def reach(event: Event) -> tuple[dt.datetime, dt.datetime]:
    """The instants whose values the event is in some window of: from its bucket's close for LONGEST."""
    close = bucket_start(event.reacted_at) + GRAIN * SECOND
    return close, close + LONGEST * SECOND


@dataclasses.dataclass
class Store:
    sql: SequenceSql
    connection: duckdb.DuckDBPyConnection
    online: SqliteOnlineStore
    offline_path: Path
    landed: list[Event]
    definition: str = "all"
    # The history is the current definition's from here on (a full refresh: everywhere).
    current_from: dt.datetime = dt.datetime.min
    # Landed events no run has covered yet: (event time, the first and the end of the instants it may leave
    # wrong).
    pending: list[tuple[dt.datetime, dt.datetime, dt.datetime]] = dataclasses.field(default_factory=list)
    run_at: dt.datetime = FIRST_RUN_AT
    synced_at: dt.datetime = BASE
    rows_removed: bool = False  # by a run since the last sync: the next one is `--full`
    # The backfill's post-hook (off only in the guard test below).
    delete_stale_rows: bool = True

    @property
    def table(self) -> str:
        return self.sql.target[2]

    def _next_run(self) -> dt.datetime:
        self.run_at += dt.timedelta(minutes=5)
        return self.run_at

    def _stage(self) -> None:
        _stage(self.connection, self.sql.staging[2], visible(self.landed, self.definition))

    def rows(self) -> list[tuple[Any, ...]]:
        columns = ", ".join(["article_id", "effective_at", *FEATURE_NAMES])
        return self.connection.sql(f"select {columns} from {self.table}").fetchall()

    def full_refresh(self) -> None:
        self._stage()
        self.connection.execute(f"create or replace table {self.table} as {self.sql.full_build.rstrip().rstrip(';')}")
        self.connection.execute(f"update {self.table} set computed_at = ?", [self._next_run()])
        self.current_from, self.pending, self.rows_removed = dt.datetime.min, [], True

    def micro_batch(self, events: Sequence[Event]) -> None:
        self.land(events)
        self._stage()
        temporary = self.sql.temporary
        self.connection.execute(f"create temp table {temporary} as {self.sql.incremental.rstrip().rstrip(';')}")
        self.connection.execute(f"update {temporary} set computed_at = ?", [self._next_run()])
        self.connection.execute(self.sql.merge)
        self.connection.execute(f"drop table {temporary}")
        # Rows from RECOMPUTE_FROM on are recomputed; an event before it leaves the instants from its
        # reach's start to the first recomputed row as they were.
        self.pending = [(at, first, last) for at, first, last in self.pending if at < RECOMPUTE_FROM]

    def land(self, events: Sequence[Event]) -> None:
        self.landed += events
        self.pending += [(e.reacted_at, *reach(e)) for e in events]

    def backfill(self, start: dt.datetime, definition: str) -> None:
        """`featurestore backfill` from `start` to the table's end, with `definition` (a change of it is what
        `--accept-mixed-history` accepts)."""
        changed = definition != self.definition
        self.definition = definition
        self._stage()
        table = self.table
        self.connection.execute(f"create temp table fg_new as {self.sql.backfills[start].rstrip().rstrip(';')}")
        computed_at = self._next_run()
        self.connection.execute("update fg_new set computed_at = ?", [computed_at])
        # The merge on entity + event time within the range's literal bounds (from `start` on: no row lies
        # after the range's extended end), then the post-hook's DELETE of the rows it did not rewrite.
        outside = self.connection.sql(f"select count(*) from fg_new where effective_at < timestamp '{start}'")
        assert outside.fetchall() == [(0,)], "the backfill wrote rows before its start"
        self.connection.execute(
            f"delete from {table} as t using fg_new as n where t.article_id = n.article_id "
            f"and t.effective_at = n.effective_at and t.effective_at >= timestamp '{start}'"
        )
        self.connection.execute(f"insert into {table} by name select * from fg_new")
        if self.delete_stale_rows:
            self.connection.execute(
                f"delete from {table} where effective_at >= timestamp '{start}' and computed_at < ?", [computed_at]
            )
        self.connection.execute("drop table fg_new")
        self.current_from = start if changed else min(self.current_from, start)
        self.pending = [(at, first, min(last, start)) for at, first, last in self.pending if first < start]
        self.rows_removed = True

    def sync(self, now: dt.datetime, full: bool) -> list[str]:
        """Sync at `now` (`full` after rows were removed); the online items that differ from the offline
        rows valid at `now`."""
        self.connection.execute(f"attach '{self.offline_path}' as synced")
        self.connection.execute(f"create or replace table synced.main.{GROUP} as select * from {self.table}")
        self.connection.execute("detach synced")
        summary = sync_group(
            ONLINE_GROUP,
            DuckDBOfflineStore(self.offline_path),
            self.online,
            now=now,
            full=full or self.rows_removed,
            definition=self.definition,
        )
        assert not summary.behind
        self.synced_at, self.rows_removed = now, False
        offline = histories(self.rows())
        articles = sorted({*offline, *(e.article_id for e in self.landed)})
        keys = [encode_key([article]) for article in articles]
        stored = self.online.read(ONLINE_GROUP, keys, FEATURE_NAMES)
        problems = []
        for article, found in zip(articles, stored, strict=True):
            valid = as_of(offline.get(article, []), now)
            if valid is None:
                if found is not None:
                    problems.append(f"article {article}: online has {found}, offline has no row at {now}")
                continue
            event_time, values = valid
            if found is None:
                problems.append(f"article {article}: missing online at {now}")
                continue
            online_values = dict(found.values)
            wrong = {
                n: (values[n], online_values.get(n))
                for n in FEATURE_NAMES
                if not _same(values[n], online_values.get(n))
            }
            if found.event_time != event_time or wrong:
                problems.append(
                    f"article {article} at {now}: online {found.event_time} vs offline {event_time}: {wrong}"
                )
        return problems


def histories(rows: Sequence[tuple[Any, ...]]) -> dict[int, list[tuple[dt.datetime, dict[str, Any]]]]:
    found: dict[int, list[tuple[dt.datetime, dict[str, Any]]]] = {}
    for article_id, effective_at, *values in rows:
        found.setdefault(article_id, []).append((effective_at, dict(zip(FEATURE_NAMES, values, strict=True))))
    for history in found.values():
        history.sort(key=lambda row: row[0])
    return found


def as_of(
    history: Sequence[tuple[dt.datetime, dict[str, Any]]], moment: dt.datetime
) -> tuple[dt.datetime, dict[str, Any]] | None:
    index = bisect.bisect_right([t for t, _ in history], moment) - 1
    return history[index] if index >= 0 else None


# ---------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------


def instants(store: Store) -> list[dt.datetime]:
    found = set(change_instants(store.landed))
    for edge in (*BACKFILL_STARTS, RECOMPUTE_FROM, WATERMARK):
        found.update({edge - GRAIN * SECOND, edge, edge + 7 * SECOND, edge + GRAIN * SECOND})
    return sorted(found)


def offline_mismatches(store: Store) -> list[str]:
    """The rebuilt history against `expected()` with the current definition over the landed events."""
    events = visible(store.landed, store.definition)
    rows = store.rows()
    problems = []
    keys = [(article_id, at) for article_id, at, *_ in rows]
    if len(set(keys)) != len(keys):
        problems.append(f"two rows at one time: {sorted(k for k in keys if keys.count(k) > 1)}")
    offline = histories(rows)
    for article_id in sorted({*offline, *(e.article_id for e in store.landed)}):
        for moment in instants(store):
            if moment < store.current_from or any(first <= moment < last for _, first, last in store.pending):
                continue
            want = expected(events, article_id, moment)
            valid = as_of(offline.get(article_id, []), moment)
            got = valid[1] if valid else None
            if want is None:
                if got is not None and not _is_empty(got):
                    problems.append(f"article {article_id} at {moment}: expected no value, got {got}")
                continue
            if got is None:
                # Every window empty and no row are the same as-of value here (see the module docstring).
                if not _is_empty(want):
                    problems.append(f"article {article_id} at {moment}: expected {want}, got no row")
                continue
            wrong = {n: (want[n], got[n]) for n in FEATURE_NAMES if not _same(want[n], got[n])}
            if wrong:
                problems.append(f"article {article_id} at {moment} ({store.definition}): (expected, got) {wrong}")
    return problems[:5]


def values_before(store: Store, edge: dt.datetime) -> dict[tuple[int, dt.datetime], Any]:
    offline = histories(store.rows())
    return {
        (article_id, moment): as_of(history, moment)
        for article_id, history in offline.items()
        for moment in instants(store)
        if moment < edge
    }


# ---------------------------------------------------------------------------------------------------
# Random sequences
# ---------------------------------------------------------------------------------------------------


@st.composite
def events_between(draw: st.DrawFn, first_step: int, last_step: int, most: int) -> list[Event]:
    return [_event(draw, _time(draw, first_step, last_step)) for _ in range(draw(st.integers(1, most)))]


STEPS = st.one_of(
    st.tuples(st.just("micro_batch"), events_between(LATE_FIRST_STEP, COVERED_LAST_STEP, 3)),
    st.tuples(st.just("late_events"), events_between(0, COVERED_LAST_STEP, 3)),
    st.tuples(st.just("change_definition"), st.sampled_from(BACKFILL_STARTS)),
    st.tuples(st.just("backfill"), st.sampled_from(BACKFILL_STARTS)),
    st.tuples(st.just("full_refresh"), st.none()),
    st.tuples(st.just("sync"), st.tuples(st.integers(0, 80), st.booleans())),
)


def run_step(store: Store, step: tuple[str, Any]) -> list[str]:
    kind, argument = step
    edge = {"micro_batch": RECOMPUTE_FROM, "change_definition": argument, "backfill": argument}.get(kind)
    before = values_before(store, edge) if edge else None
    if kind == "micro_batch":
        store.micro_batch(argument)
    elif kind == "late_events":
        store.land(argument)
    elif kind == "change_definition":
        store.backfill(argument, DEFINITIONS[1 - DEFINITIONS.index(store.definition)])
    elif kind == "backfill":
        store.backfill(argument, store.definition)
    elif kind == "full_refresh":
        store.full_refresh()
    else:
        minutes, full = argument
        problems = store.sync(max(store.synced_at, BASE + dt.timedelta(minutes=5 * minutes, seconds=7)), full)
        if problems:
            return [f"after {kind}: {p}" for p in problems[:5]]
    if before is not None and edge is not None:
        after = values_before(store, edge)
        changed = [key for key in before.keys() | after.keys() if before.get(key) != after.get(key)]
        if changed:
            return [f"after {kind}: the history before {edge} changed at {sorted(changed)[:5]}"]
    return [f"after {kind}: {p}" for p in offline_mismatches(store)]


def sequence_problems(
    compiled: SequenceSql, initial: Sequence[Event], steps: Sequence[tuple[str, Any]], *, delete_stale_rows: bool = True
) -> list[str]:
    """Run the steps after a full build of `initial` and the sentinel, then a sync after the table's end; the
    first step's problems."""
    with tempfile.TemporaryDirectory() as directory, _scratch(compiled.staging) as connection:
        database, schema, _ = compiled.target
        connection.execute(f'create schema if not exists "{database}"."{schema}"')
        online = SqliteOnlineStore(Path(directory) / "online.sqlite")
        store = Store(compiled, connection, online, Path(directory) / "offline.duckdb", [*initial, SENTINEL])
        store.delete_stale_rows = delete_stale_rows
        try:
            store.full_refresh()
            problems = offline_mismatches(store)
            for step in [*steps, ("sync", (80, False))]:
                problems = problems or run_step(store, step)
            return problems
        finally:
            online.close()


@pytest.mark.dbt
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=events_between(0, COVERED_LAST_STEP, 6),
    steps=st.lists(STEPS, min_size=3, max_size=6),
)
def test_random_change_sequences_keep_offline_and_online_right(
    compiled: SequenceSql, initial: list[Event], steps: list[tuple[str, Any]]
) -> None:
    assert not sequence_problems(compiled, initial, steps)


@pytest.mark.dbt
def test_the_sequence_check_catches_stale_rows_a_backfill_leaves(compiled: SequenceSql) -> None:
    # Guards against checks that cannot fail: the new definition drops the share at 1:30, whose rows (at 1:35,
    # and when it leaves each window) only the backfill's post-hook removes.
    initial = [
        Event(1, 1, BASE + dt.timedelta(minutes=90), "share", 2.0),
        Event(1, 2, BASE + dt.timedelta(hours=2), "click", 0.5),
    ]
    steps = [("change_definition", BACKFILL_STARTS[0]), ("sync", (40, False))]
    assert not sequence_problems(compiled, initial, steps)
    assert sequence_problems(compiled, initial, steps, delete_stale_rows=False)
