"""Property tests: every aggregation function of the declarative groups, as of any time, equals a brute-force
recomputation from the raw events, on DuckDB and on the Athena SQL.

A probe group (`fn_probe`, written only for this test) declares each function over two windows and over
lifetime where supported, on reactions: count, count of a nullable column, sum, avg, stddev, variance, min,
max, last (of a number and of a string) and exact count_distinct. It is compiled once for the local target
and once for Athena (against moto); the athena SELECT is transpiled to DuckDB by the parity harness
(`athena_parity.athena_to_duckdb`). Each hypothesis example stages random reactions (ties at one timestamp,
events on bucket boundaries, NULL measures and users, events that leave every window) and compares both
SELECTs' rows, looked up as of every instant where a value can change, with `expected()`.

Late events: a module fixture also runs the probe once as a real incremental run (`dbt run` over a table whose
newest row is known, with a 1-hour late-arrival lookback), which gives the incremental SELECT with its literal
bounds and the MERGE dbt-duckdb sends. Each replay example builds the table from a first batch of events (a
full build), then lands a second batch of late events (inside the lookback, at times the first batch already
covered: ties with its events, NULL measures, events whose windows the first batch's rows already closed) and
new ones, runs the incremental SELECT into the temporary table and the MERGE as dbt does, and checks that the
table equals a full refresh of all the events and the brute-force oracle, function by function. The same
replays run with the athena SELECTs (transpiled): the full build's, and an incremental compile's with the same
bounds (the group's table created in moto's Glue, and moto's Athena answering the watermark query).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import math
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.athena.models import AthenaBackend
from support.athena_fakes import answer_timestamp
from support.athena_parity import TRINO_DIVISION, athena_to_duckdb, relation_key
from support.feature_groups import STAGING_COLUMNS, write_article_group
from support.local_project import copy_project, make_local_project

if TYPE_CHECKING:
    from conftest import AthenaEnv, Dbt, DbtResult

GROUP = "fn_probe"
GRAIN = 300
WINDOWS = {"15m": 900, "1h": 3600}
BASE = dt.datetime(2026, 10, 1)
SECOND = dt.timedelta(seconds=1)
LONGEST = max(WINDOWS.values())

# name -> (function, column); each over every window, plus the lifetime features below.
FEATURES: dict[str, tuple[str, str | None]] = {
    "reactions": ("count", None),
    "dwells": ("count", "dwell_seconds"),
    "dwell_sum": ("sum", "dwell_seconds"),
    "dwell_avg": ("avg", "dwell_seconds"),
    "dwell_stddev": ("stddev", "dwell_seconds"),
    "dwell_variance": ("variance", "dwell_seconds"),
    "dwell_min": ("min", "dwell_seconds"),
    "dwell_max": ("max", "dwell_seconds"),
    "dwell_last": ("last", "dwell_seconds"),
    "kind_last": ("last", "reaction_kind"),
    "kind_min": ("min", "reaction_kind"),
    "readers": ("count_distinct", "user_id"),
}
LIFETIME: dict[str, tuple[str, str]] = {
    "last_reacted_at": ("max", "reacted_at"),
    "first_kind": ("last", "reaction_kind"),
}
TYPES = {"count": "bigint", "count_distinct": "bigint", "sum": "double", "avg": "double", "stddev": "double"}
TYPES |= {"variance": "double"}

EVENTS_SQL = """{% call featurestore.feature_group() %}
select article_id, user_id, reacted_at, reaction_kind, dwell_seconds from {{ ref('stg_news__reactions') }}
{% endcall %}
"""
REACTIONS = STAGING_COLUMNS["stg_news__reactions"]


def output_columns() -> list[str]:
    return [f"{name}_{window}" for name in FEATURES for window in WINDOWS] + list(LIFETIME)


def _column_type(function: str, column: str | None) -> str:
    if function in TYPES:
        return TYPES[function]
    return {"dwell_seconds": "double", "reaction_kind": "varchar", "reacted_at": "timestamp"}[str(column)]


def probe_columns(*, lifetime: bool = True) -> list[tuple[str, str]]:
    """The probe group's columns and their types, as its YAML declares them (the LIFETIME features unless
    `lifetime` is false)."""
    columns = [("article_id", "bigint"), ("effective_at", "timestamp")]
    columns += [(f"{name}_{w}", _column_type(*FEATURES[name])) for name in FEATURES for w in WINDOWS]
    columns += [(name, _column_type(*LIFETIME[name])) for name in (LIFETIME if lifetime else {})]
    return [*columns, ("computed_at", "timestamp")]


def write_probe_group(project: Path, group: str = GROUP, *, lifetime: bool = True) -> None:
    """The probe group `group` in the project's models: every function over WINDOWS, and the LIFETIME
    features unless `lifetime` is false."""
    lifetimes = LIFETIME if lifetime else {}
    features = [{"name": name, "function": f, **({"column": c} if c else {})} for name, (f, c) in FEATURES.items()]
    features += [
        {"name": name, "function": f, "column": c, "windows": ["lifetime"]} for name, (f, c) in lifetimes.items()
    ]
    write_article_group(
        project / "models" / "feature_groups",
        group,
        EVENTS_SQL,
        {"timestamp": "reacted_at", "windows": list(WINDOWS), "features": features},
        probe_columns(lifetime=lifetime),
        description="Every aggregation function, for tests/offline/test_aggregation_functions.py.",
    )


@dataclasses.dataclass(frozen=True)
class Event:
    article_id: int
    user_id: int | None
    reacted_at: dt.datetime
    kind: str
    dwell: float | None


def bucket_start(moment: dt.datetime) -> dt.datetime:
    seconds = (moment - BASE).total_seconds()
    return BASE + dt.timedelta(seconds=math.floor(seconds / GRAIN) * GRAIN)


# The incremental run of the replay tests. A lookback shorter than the default 6 h keeps the histories short.
LOOKBACK_HOURS = 1
REPLAY_VARS = json.dumps({"late_arrival_lookback_hours": LOOKBACK_HOURS})
# The first batch always ends with this event (an article of its own): its row leaving the longest window is
# the table's newest row, so every replay's incremental run has the same bounds, those of the fixture's run.
SENTINEL = Event(9, 1, BASE + dt.timedelta(hours=4), "click", 1.0)
WATERMARK = bucket_start(SENTINEL.reacted_at) + (GRAIN + LONGEST) * SECOND
# incremental_window() (docs/architecture.md, "Incremental runs"): recompute from the newest event (the newest
# row minus the longest window and a bucket) minus the lookback, floored to the grain; read a window and a
# bucket further back.
RECOMPUTE_FROM = bucket_start(WATERMARK - dt.timedelta(hours=LOOKBACK_HOURS, seconds=LONGEST + GRAIN))
READ_FROM = RECOMPUTE_FROM - (LONGEST + GRAIN) * SECOND


@dataclasses.dataclass(frozen=True)
class ProbeSql:
    local: str
    athena: str  # transpiled to DuckDB, reading the relation `staging`
    staging: tuple[str, str, str]  # database, schema, quoted relation of stg_news__reactions (local)
    # The incremental run over a table whose newest row is WATERMARK: its SELECT, the temporary table dbt-duckdb
    # creates from it, the MERGE it sends, and the group's table.
    incremental: str
    temporary: str
    merge: str
    target: tuple[str, str, str]
    # The athena SELECT of the same incremental run, transpiled, reading `staging` and `target`.
    athena_incremental: str


MERGE_SOURCE = re.compile(r"\busing\s+(\"[^\"]+\"|\S+)\s+as\s+DBT_INTERNAL_SOURCE\b", re.IGNORECASE)


def _compiled(target_path: Path, manifest: dict[str, Any]) -> str:
    node = manifest["nodes"][f"model.featurestore.{GROUP}"]
    return (target_path / "compiled" / "featurestore" / node["original_file_path"]).read_text()


# Glue types of the probe's columns, and the schema of its incremental Athena compile (its own: the session's
# moto server is shared, and a probe table in the default schema would make other compiles incremental).
GLUE_TYPES = {"bigint": "bigint", "double": "double", "timestamp": "timestamp", "varchar": "string"}
REPLAY_ATHENA_SCHEMA = "fn_probe_replay"
WATERMARK_QUERY = re.compile(rf"select\s+max\(effective_at\)\s+from\s+\S*{GROUP}\b", re.IGNORECASE)


def _athena_incremental_compile(athena_dbt: Dbt, athena_env: AthenaEnv, project: Path, work: Path) -> DbtResult:
    """`dbt compile` of the probe for Athena as an incremental run whose table's newest row is WATERMARK: the
    group's Iceberg table in Glue, and moto's Athena answering newest_value()'s query with WATERMARK."""
    glue = athena_env.server.client("glue")
    schema = f"{REPLAY_ATHENA_SCHEMA}_features"
    glue.create_database(DatabaseInput={"Name": schema})
    glue.create_table(
        DatabaseName=schema,
        TableInput={
            "Name": GROUP,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"table_type": "ICEBERG", "EXTERNAL": "TRUE"},
            "StorageDescriptor": {
                "Columns": [{"Name": name, "Type": GLUE_TYPES[kind]} for name, kind in probe_columns()],
                "Location": f"s3://featurestore-data/{schema}/{GROUP}/",
            },
        },
    )
    original = AthenaBackend.start_query_execution

    def start_query_execution(backend: AthenaBackend, query: str, *args: Any, **kwargs: Any) -> str:
        if WATERMARK_QUERY.search(query):
            answer_timestamp(backend, WATERMARK)
        return original(backend, query, *args, **kwargs)

    env = {**athena_dbt.env, "FEATURESTORE_ATHENA_SCHEMA": REPLAY_ATHENA_SCHEMA}
    args = ("compile", "--target", "athena", "--select", GROUP, "--vars", REPLAY_VARS)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AthenaBackend, "start_query_execution", start_query_execution)
            return dataclasses.replace(athena_dbt, env=env).run(args, work, project)
    finally:
        glue.delete_table(DatabaseName=schema, Name=GROUP)
        glue.delete_database(Name=schema)


def _athena_relation_key(relation_name: str) -> tuple[str, ...]:
    return relation_key(sqlglot.parse_one(f"select * from {relation_name}", read="athena").args["from_"].this)


@pytest.fixture(scope="module")
def probe(athena_dbt: Dbt, athena_env: AthenaEnv, tmp_path_factory: pytest.TempPathFactory) -> ProbeSql:
    work = tmp_path_factory.mktemp("aggregation-functions")
    local = make_local_project(work / "local")
    write_probe_group(local.root)
    athena_project = copy_project(work / "athena-project")
    write_probe_group(athena_project)
    athena_run = athena_dbt.start(("compile", "--target", "athena", "--select", GROUP), work / "athena", athena_project)
    # The same vars as the incremental run below, so that it reuses this parse.
    compiled = local.dbt("compile", "--select", GROUP, "--vars", REPLAY_VARS)
    assert compiled.returncode == 0, compiled.stdout[-4000:]

    manifest = json.loads(local.manifest_path().read_text())
    staging = manifest["nodes"]["model.featurestore.stg_news__reactions"]
    relation = (staging["database"], staging["schema"], staging["relation_name"])
    group = manifest["nodes"][f"model.featurestore.{GROUP}"]
    target = (group["database"], group["schema"], group["relation_name"])
    full_sql = _compiled(local.target_path, manifest)

    # A real incremental run: staging holds the sentinel, the group's table its full build (newest row WATERMARK).
    with duckdb.connect(str(local.duckdb_path)) as connection:
        for schema in (relation[1], target[1]):
            connection.execute(f'create schema "{schema}"')
        _create_staging(connection, relation[2])
        _insert(connection, relation[2], [SENTINEL])
        connection.execute(f"create table {target[2]} as {full_sql}")
        assert connection.execute(f"select max(effective_at) from {target[2]}").fetchone() == (WATERMARK,)
    incremental_run = local.dbt("run", "--select", GROUP, "--vars", REPLAY_VARS)
    assert incremental_run.returncode == 0, incremental_run.stdout[-4000:]
    incremental_sql = _compiled(local.target_path, manifest)
    merge = (local.target_path / "run" / "featurestore" / group["original_file_path"]).read_text()
    source = MERGE_SOURCE.search(merge)
    assert source, f"no MERGE ... USING <temporary table> in what dbt ran:\n{merge}"
    # The run's bounds are the ones the replays are built around.
    assert f"DBT_INTERNAL_DEST.effective_at >= timestamp '{RECOMPUTE_FROM}'" in merge, merge
    assert f"reacted_at >= timestamp '{READ_FROM}'" in incremental_sql

    athena = athena_run.wait()
    assert athena.ok, athena.describe()[-4000:]
    athena_manifest = athena.manifest()
    athena_staging = athena_manifest["nodes"]["model.featurestore.stg_news__reactions"]["relation_name"]
    key = _athena_relation_key(athena_staging)
    athena_sql = athena_to_duckdb(_compiled(athena.target_path, athena_manifest), {key: relation[2]})

    athena_replay = _athena_incremental_compile(athena_dbt, athena_env, athena_project, work / "athena-incremental")
    assert athena_replay.ok, athena_replay.describe()[-4000:]
    replay_manifest = athena_replay.manifest()
    replay_nodes = replay_manifest["nodes"]
    compiled_incremental = _compiled(athena_replay.target_path, replay_manifest)
    # Bounded as the local run: the literal bounds of incremental_window(), and the stored rows read back.
    assert f"'{READ_FROM}'" in compiled_incremental and f"'{RECOMPUTE_FROM}'" in compiled_incremental
    athena_relations = {
        _athena_relation_key(replay_nodes["model.featurestore.stg_news__reactions"]["relation_name"]): relation[2],
        _athena_relation_key(replay_nodes[f"model.featurestore.{GROUP}"]["relation_name"]): target[2],
    }
    athena_incremental = athena_to_duckdb(compiled_incremental, athena_relations)
    return ProbeSql(
        local=full_sql,
        athena=athena_sql,
        staging=relation,
        incremental=incremental_sql,
        temporary=source.group(1),
        merge=merge,
        target=target,
        athena_incremental=athena_incremental,
    )


# ---------------------------------------------------------------------------------------------------
# Events, the oracle and the comparison
# ---------------------------------------------------------------------------------------------------


def _last(events: Sequence[Event], value: str) -> Any:
    # The newest event with a non-null value; at one timestamp, the greatest value.
    candidates = [(e.reacted_at, getattr(e, value)) for e in events if getattr(e, value) is not None]
    return max(candidates)[1] if candidates else None


def aggregate(function: str, column: str | None, events: Sequence[Event]) -> Any:
    attribute = {"dwell_seconds": "dwell", "reaction_kind": "kind", "user_id": "user_id", "reacted_at": "reacted_at"}
    values = [getattr(e, attribute[column]) for e in events] if column else [1] * len(events)
    present = [v for v in values if v is not None]
    if function == "count":
        return len(present)
    if function == "sum":
        return float(sum(present))
    if function == "avg":
        return sum(present) / len(present) if present else None
    if function == "variance":
        return statistics.variance(present) if len(present) > 1 else None
    if function == "stddev":
        return statistics.stdev(present) if len(present) > 1 else None
    if function == "min":
        return min(present) if present else None
    if function == "max":
        return max(present) if present else None
    if function == "last":
        return _last(events, attribute[str(column)])
    if function == "count_distinct":
        return len(set(present))
    raise AssertionError(function)


def expected(events: Sequence[Event], article_id: int, moment: dt.datetime) -> dict[str, Any] | None:
    """Every feature of `article_id` as of `moment`, or None before its first event. Values change only on
    the grain: as of any time they are those of the latest bucket boundary."""
    moment = bucket_start(moment)
    mine = [e for e in events if e.article_id == article_id and bucket_start(e.reacted_at) + GRAIN * SECOND <= moment]
    if not mine:
        return None
    values: dict[str, Any] = {}
    for name, (function, column) in FEATURES.items():
        for window, seconds in WINDOWS.items():
            inside = [e for e in mine if bucket_start(e.reacted_at) >= moment - seconds * SECOND]
            values[f"{name}_{window}"] = aggregate(function, column, inside)
    for name, (function, column) in LIFETIME.items():
        values[name] = aggregate(function, column, mine)
    return values


def change_instants(events: Sequence[Event]) -> list[dt.datetime]:
    instants = set()
    for event in events:
        close = bucket_start(event.reacted_at) + GRAIN * SECOND
        instants.add(close)
        instants.update(close + seconds * SECOND for seconds in WINDOWS.values())
        # Just before and after each change, and a time off the grain.
        instants.update({close - GRAIN * SECOND, close + 7 * SECOND})
    return sorted(instants)


def _create_staging(connection: duckdb.DuckDBPyConnection, relation: str) -> None:
    connection.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in REACTIONS)})")


def _insert(connection: duckdb.DuckDBPyConnection, relation: str, events: Sequence[Event], first_id: int = 0) -> None:
    rows = [
        (f"r{i}", f"i{i}", e.user_id, e.article_id, e.reacted_at, e.kind, e.dwell, e.reacted_at)
        for i, e in enumerate(events, start=first_id)
    ]
    if rows:
        connection.executemany(f"insert into {relation} values ({', '.join('?' for _ in REACTIONS)})", rows)


def _scratch(staging: tuple[str, str, str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with an empty staging table under the compiled SQL's name for it."""
    connection = duckdb.connect(":memory:")
    database, schema, relation = staging
    connection.execute(f"attach ':memory:' as \"{database}\"")
    connection.execute(f'create schema "{database}"."{schema}"')
    _create_staging(connection, relation)
    connection.execute(TRINO_DIVISION)
    return connection


ROW_COLUMNS = ", ".join(["article_id", "effective_at", *output_columns()])


def run(sql: str, staging: tuple[str, str, str], events: Sequence[Event]) -> list[tuple[Any, ...]]:
    with _scratch(staging) as connection:
        _insert(connection, staging[2], events)
        return connection.sql(f"select {ROW_COLUMNS} from ({sql.rstrip().rstrip(';')})").fetchall()


def replay(
    probe: ProbeSql,
    covered: Sequence[Event],
    landed: Sequence[Event],
    incremental: str | None = None,
    merge: str | None = None,
    full: str | None = None,
) -> list[tuple[Any, ...]]:
    """The group's rows after a full build (`full`, default the local SELECT) on `covered` (which must end with
    SENTINEL), then `landed` arriving and one incremental run: the incremental SELECT (default the local one)
    into dbt-duckdb's temporary table and its MERGE."""
    assert covered[-1] == SENTINEL
    with _scratch(probe.staging) as connection:
        database, schema, target = probe.target
        connection.execute(f'create schema if not exists "{database}"."{schema}"')
        _insert(connection, probe.staging[2], covered)
        connection.execute(f"create table {target} as {full or probe.local}")
        # The bounds compiled into the incremental SQL are those of this watermark.
        assert connection.execute(f"select max(effective_at) from {target}").fetchone() == (WATERMARK,)
        _insert(connection, probe.staging[2], landed, first_id=len(covered))
        connection.execute(f"create temp table {probe.temporary} as {incremental or probe.incremental}")
        connection.execute(merge or probe.merge)
        return connection.sql(f"select {ROW_COLUMNS} from {target} order by article_id, effective_at").fetchall()


def differences(left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]]) -> list[str]:
    """Rows that differ between two sets of a group's rows (at most 5), each value compared with `_same`."""
    left_rows = {(row[0], row[1]): row for row in left}
    right_rows = {(row[0], row[1]): row for row in right}
    problems = [f"{key} only in the first: {left_rows[key]}" for key in sorted(left_rows.keys() - right_rows)]
    problems += [f"{key} only in the second: {right_rows[key]}" for key in sorted(right_rows.keys() - left_rows)]
    names = ["article_id", "effective_at", *output_columns()]
    for key in sorted(left_rows.keys() & right_rows.keys()):
        pairs = zip(names, left_rows[key], right_rows[key], strict=True)
        wrong = {name: (a, b) for name, a, b in pairs if not _same(a, b)}
        if wrong:
            problems.append(f"{key}: {wrong}")
    return problems[:5]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return bool(left == right)


def mismatches(rows: list[tuple[Any, ...]], events: Sequence[Event]) -> list[str]:
    names = output_columns()
    by_article: dict[int, list[tuple[dt.datetime, tuple[Any, ...]]]] = {}
    for article_id, effective_at, *values in rows:
        by_article.setdefault(article_id, []).append((effective_at, tuple(values)))
    problems = []
    for history in by_article.values():
        history.sort()
        times = [t for t, _ in history]
        if len(set(times)) != len(times):
            problems.append(f"two rows at one time: {times}")
    for article_id in sorted({e.article_id for e in events}):
        history = by_article.get(article_id, [])
        times = [t for t, _ in history]
        for moment in change_instants(events):
            index = bisect.bisect_right(times, moment) - 1
            got = dict(zip(names, history[index][1], strict=True)) if index >= 0 else None
            want = expected(events, article_id, moment)
            if want is None or got is None:
                if want != got:
                    problems.append(f"article {article_id} at {moment}: expected {want}, got {got}")
                continue
            wrong = {name: (want[name], got[name]) for name in names if not _same(want[name], got[name])}
            if wrong:
                problems.append(f"article {article_id} at {moment}: (expected, got) {wrong}")
    return problems[:5]


MINUTE_OFFSETS = st.integers(min_value=0, max_value=240)
SECOND_OFFSETS = st.sampled_from([0, 0, 1, 59, 299])  # on a bucket boundary, just after it, its last second


def _time(draw: st.DrawFn, first_step: int, last_step: int) -> dt.datetime:
    """A time in the 5-minute steps first_step..last_step after BASE, on a bucket boundary or inside the bucket."""
    return BASE + dt.timedelta(minutes=5 * draw(st.integers(first_step, last_step)), seconds=draw(SECOND_OFFSETS))


def _event(draw: st.DrawFn, at: dt.datetime) -> Event:
    return Event(
        article_id=draw(st.sampled_from([1, 2])),
        user_id=draw(st.sampled_from([1, 2, 3, None])),
        reacted_at=at,
        kind=draw(st.sampled_from(["click", "like", "share"])),
        dwell=draw(st.sampled_from([None, 0.5, 2.0, 2.0, 7.25, 30.0])),
    )


@st.composite
def events_strategy(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(min_value=1, max_value=14))
    events: list[Event] = []
    for _ in range(count):
        at = _time(draw, 0, 48)
        if events and draw(st.booleans()) and draw(st.booleans()):
            at = draw(st.sampled_from(events)).reacted_at  # a tie with an earlier event
        events.append(_event(draw, at))
    return events


# 5-minute steps after BASE: the first batch covers up to the sentinel's bucket; late events land from the
# recomputed range's start to there, new events after it.
COVERED_LAST_STEP = int((SENTINEL.reacted_at - BASE) / dt.timedelta(minutes=5))
LATE_FIRST_STEP = int((RECOMPUTE_FROM - BASE) / dt.timedelta(minutes=5))


@st.composite
def replays(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """(first batch ending with SENTINEL, second batch): late events inside the lookback, then new ones.

    First-batch events from 0 to 4 h, so some of them leave the 1 h window inside the recomputed range
    (from 3 h); late events between 3 h and the sentinel's bucket, often tied with a first-batch event; NULL
    measures and users as in events_strategy."""
    covered = [_event(draw, _time(draw, 0, COVERED_LAST_STEP)) for _ in range(draw(st.integers(0, 8)))]
    covered.append(SENTINEL)
    tie_candidates = [e.reacted_at for e in covered if e.reacted_at >= RECOMPUTE_FROM]
    landed = []
    for _ in range(draw(st.integers(1, 6))):
        at = _time(draw, LATE_FIRST_STEP, COVERED_LAST_STEP)
        if draw(st.booleans()):
            at = draw(st.sampled_from(tie_candidates))  # late, at the time of an event already counted
        landed.append(_event(draw, at))
    new_steps = (COVERED_LAST_STEP + 1, COVERED_LAST_STEP + 12)
    landed += [_event(draw, _time(draw, *new_steps)) for _ in range(draw(st.integers(0, 3)))]
    return covered, landed


EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
REPLAY_EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.dbt
@EXAMPLES
@given(events=events_strategy())
def test_every_function_matches_a_brute_force_recomputation_on_duckdb(probe: ProbeSql, events: list[Event]) -> None:
    assert not mismatches(run(probe.local, probe.staging, events), events)


@pytest.mark.aws
@pytest.mark.dbt
@EXAMPLES
@given(events=events_strategy())
def test_every_function_matches_a_brute_force_recomputation_on_the_athena_sql(
    probe: ProbeSql, events: list[Event]
) -> None:
    assert not mismatches(run(probe.athena, probe.staging, events), events)


def replay_problems(probe: ProbeSql, batches: tuple[list[Event], list[Event]], athena: bool = False) -> list[str]:
    """How the table after the late batch's incremental run differs from a full refresh of all the events, then
    from the brute-force recomputation; with `athena`, both runs use the athena SELECTs (transpiled), while the
    MERGE stays dbt-duckdb's (dbt-athena's is checked by tests/athena/test_athena_emitted_sql.py)."""
    covered, landed = batches
    events = [*covered, *landed]
    full, incremental = (probe.athena, probe.athena_incremental) if athena else (probe.local, probe.incremental)
    replayed = replay(probe, covered, landed, full=full, incremental=incremental)
    return differences(replayed, run(full, probe.staging, events)) or mismatches(replayed, events)


@pytest.mark.dbt
@REPLAY_EXAMPLES
@given(batches=replays())
def test_late_events_replayed_incrementally_equal_a_full_refresh_and_the_brute_force_recomputation(
    probe: ProbeSql, batches: tuple[list[Event], list[Event]]
) -> None:
    assert not replay_problems(probe, batches)


@pytest.mark.aws
@pytest.mark.dbt
@REPLAY_EXAMPLES
@given(batches=replays())
def test_late_events_replayed_with_the_athena_sql_equal_a_full_refresh_and_the_brute_force_recomputation(
    probe: ProbeSql, batches: tuple[list[Event], list[Event]]
) -> None:
    assert not replay_problems(probe, batches, athena=True)


@pytest.mark.dbt
def test_the_replay_catches_a_read_window_too_short_and_a_merge_that_skips_updates(probe: ProbeSql) -> None:
    # Guards against a replay that cannot fail. A first-batch event at 2:50 is still in the 1 h window of the
    # late event's row at 3:15, and leaves it at 3:55, where the first batch's row must now count the late one.
    covered = [Event(1, 1, BASE + dt.timedelta(hours=2, minutes=50), "click", 2.0), SENTINEL]
    landed = [Event(1, 2, BASE + dt.timedelta(hours=3, minutes=10), "like", 7.25)]
    events = [*covered, *landed]
    full = run(probe.local, probe.staging, events)
    assert not differences(replay(probe, covered, landed), full)

    short_read = probe.incremental.replace(f"timestamp '{READ_FROM}'", f"timestamp '{RECOMPUTE_FROM}'")
    assert short_read != probe.incremental
    assert differences(replay(probe, covered, landed, incremental=short_read), full)

    # Matched rows never updated: the late event would only reach the rows it creates.
    no_update = re.sub(r"when matched and", "when matched and false and", probe.merge, flags=re.IGNORECASE)
    assert no_update != probe.merge
    assert differences(replay(probe, covered, landed, merge=no_update), full)


@pytest.mark.dbt
def test_the_comparison_catches_a_window_one_bucket_too_long(probe: ProbeSql) -> None:
    # Guards against a comparison that cannot fail: the 15-minute window's tiles and exits are 3 buckets.
    events = [Event(1, 1, BASE + dt.timedelta(minutes=1), "click", 2.0)]
    assert not mismatches(run(probe.local, probe.staging, events), events)
    mutated = probe.local.replace("range between 2 preceding", "range between 3 preceding")
    mutated = mutated.replace("fg_offset = 3 then", "fg_offset = 4 then").replace("(3)", "(4)")
    assert mutated != probe.local
    assert mismatches(run(mutated, probe.staging, events), events)
