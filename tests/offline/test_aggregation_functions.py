"""Property tests: every aggregation function of the declarative groups, as of any time, equals a brute-force
recomputation from the raw events, on DuckDB and on the Athena SQL.

A probe group (`fn_probe`, written only for this test) declares each function over two windows and over
lifetime where supported, on reactions: count, count of a nullable column, sum, avg, stddev, variance, min,
max, last (of a number and of a string) and exact count_distinct. It is compiled once for the local target
and once for Athena (against moto); the athena SELECT is transpiled to DuckDB by the parity harness
(`athena_parity.athena_to_duckdb`). Each hypothesis example stages random reactions (ties at one timestamp,
events on bucket boundaries, NULL measures and users, events that leave every window) and compares both
SELECTs' rows, looked up as of every instant where a value can change, with `expected()`.

Late events and micro-batches are covered by tests/pipeline/test_incremental.py, which replays the demo data in
micro-batches (the shipped `article_reactions` uses count, count_distinct, min, max and last) and compares
with a full refresh.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.athena_parity import TRINO_DIVISION, athena_to_duckdb, relation_key
from support.local_project import copy_project, make_local_project

if TYPE_CHECKING:
    from conftest import Dbt

GROUP = "fn_probe"
GRAIN = 300
WINDOWS = {"15m": 900, "1h": 3600}
BASE = dt.datetime(2026, 10, 1)
SECOND = dt.timedelta(seconds=1)

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
STAGING_COLUMNS = (
    ("reaction_id", "varchar"),
    ("impression_id", "varchar"),
    ("user_id", "bigint"),
    ("article_id", "bigint"),
    ("reacted_at", "timestamp"),
    ("reaction_kind", "varchar"),
    ("dwell_seconds", "double"),
    ("ingested_at", "timestamp"),
)


def output_columns() -> list[str]:
    return [f"{name}_{window}" for name in FEATURES for window in WINDOWS] + list(LIFETIME)


def _column_type(function: str, column: str | None) -> str:
    if function in TYPES:
        return TYPES[function]
    return {"dwell_seconds": "double", "reaction_kind": "varchar", "reacted_at": "timestamp"}[str(column)]


def write_probe_group(project: Path, group: str = GROUP, *, lifetime: bool = True) -> None:
    """The probe group `group` in the project's models: every function over WINDOWS, and the LIFETIME
    features unless `lifetime` is false."""
    groups = project / "models" / "feature_groups"
    (groups / f"{group}.sql").write_text(EVENTS_SQL)
    lifetimes = LIFETIME if lifetime else {}
    features = [{"name": name, "function": f, **({"column": c} if c else {})} for name, (f, c) in FEATURES.items()]
    features += [
        {"name": name, "function": f, "column": c, "windows": ["lifetime"]} for name, (f, c) in lifetimes.items()
    ]
    columns = [("article_id", "bigint"), ("effective_at", "timestamp")]
    columns += [(f"{name}_{w}", _column_type(*FEATURES[name])) for name in FEATURES for w in WINDOWS]
    columns += [(name, _column_type(*LIFETIME[name])) for name in lifetimes]
    columns += [("computed_at", "timestamp")]
    model = {
        "name": group,
        "description": "Every aggregation function, for tests/offline/test_aggregation_functions.py.",
        "config": {
            "meta": {
                "feature_group": {
                    "entity": ["article_id"],
                    "event_time": "effective_at",
                    "online": False,
                    "ttl": "1d",
                    "owner": "tests",
                    "aggregations": {"timestamp": "reacted_at", "windows": list(WINDOWS), "features": features},
                }
            }
        },
        "columns": [{"name": name, "data_type": data_type, "description": name} for name, data_type in columns],
    }
    (groups / f"{group}.yml").write_text(yaml.safe_dump({"version": 2, "models": [model]}, sort_keys=False))


@dataclasses.dataclass(frozen=True)
class ProbeSql:
    local: str
    athena: str  # transpiled to DuckDB, reading the relation `staging`
    staging: tuple[str, str, str]  # database, schema, quoted relation of stg_news__reactions (local)


def _compiled(target_path: Path, manifest: dict[str, Any]) -> str:
    node = manifest["nodes"][f"model.featurestore.{GROUP}"]
    return (target_path / "compiled" / "featurestore" / node["original_file_path"]).read_text()


@pytest.fixture(scope="module")
def probe(athena_dbt: Dbt, tmp_path_factory: pytest.TempPathFactory) -> ProbeSql:
    work = tmp_path_factory.mktemp("aggregation-functions")
    local = make_local_project(work / "local")
    write_probe_group(local.root)
    athena_project = copy_project(work / "athena-project")
    write_probe_group(athena_project)
    athena_run = athena_dbt.start(("compile", "--target", "athena", "--select", GROUP), work / "athena", athena_project)
    compiled = local.dbt("compile", "--select", GROUP)
    assert compiled.returncode == 0, compiled.stdout[-4000:]
    athena = athena_run.wait()
    assert athena.ok, athena.describe()[-4000:]

    manifest = json.loads(local.manifest_path().read_text())
    staging = manifest["nodes"]["model.featurestore.stg_news__reactions"]
    relation = (staging["database"], staging["schema"], staging["relation_name"])
    athena_manifest = athena.manifest()
    athena_staging = athena_manifest["nodes"]["model.featurestore.stg_news__reactions"]["relation_name"]
    import sqlglot

    key = relation_key(sqlglot.parse_one(f"select * from {athena_staging}", read="athena").args["from_"].this)
    athena_sql = athena_to_duckdb(_compiled(athena.target_path, athena_manifest), {key: relation[2]})
    return ProbeSql(local=_compiled(local.target_path, manifest), athena=athena_sql, staging=relation)


# ---------------------------------------------------------------------------------------------------
# Events, the oracle and the comparison
# ---------------------------------------------------------------------------------------------------


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


def run(sql: str, staging: tuple[str, str, str], events: Sequence[Event]) -> list[tuple[Any, ...]]:
    connection = duckdb.connect(":memory:")
    database, schema, relation = staging
    connection.execute(f"attach ':memory:' as \"{database}\"")
    connection.execute(f'create schema "{database}"."{schema}"')
    connection.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in STAGING_COLUMNS)})")
    connection.execute(TRINO_DIVISION)
    rows = [
        (f"r{i}", f"i{i}", e.user_id, e.article_id, e.reacted_at, e.kind, e.dwell, e.reacted_at)
        for i, e in enumerate(events)
    ]
    if rows:
        connection.executemany(f"insert into {relation} values ({', '.join('?' for _ in STAGING_COLUMNS)})", rows)
    columns = ["article_id", "effective_at", *output_columns()]
    return connection.sql(f"select {', '.join(columns)} from ({sql.rstrip().rstrip(';')})").fetchall()


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


@st.composite
def events_strategy(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(min_value=1, max_value=14))
    events = []
    for _ in range(count):
        at = BASE + dt.timedelta(minutes=5 * draw(st.integers(0, 48)), seconds=draw(SECOND_OFFSETS))
        if events and draw(st.booleans()) and draw(st.booleans()):
            at = draw(st.sampled_from(events)).reacted_at  # a tie with an earlier event
        events.append(
            Event(
                article_id=draw(st.sampled_from([1, 2])),
                user_id=draw(st.sampled_from([1, 2, 3, None])),
                reacted_at=at,
                kind=draw(st.sampled_from(["click", "like", "share"])),
                dwell=draw(st.sampled_from([None, 0.5, 2.0, 2.0, 7.25, 30.0])),
            )
        )
    return events


EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


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


@pytest.mark.dbt
def test_the_comparison_catches_a_window_one_bucket_too_long(probe: ProbeSql) -> None:
    # Guards against a comparison that cannot fail: the 15-minute window's tiles and exits are 3 buckets.
    events = [Event(1, 1, BASE + dt.timedelta(minutes=1), "click", 2.0)]
    assert not mismatches(run(probe.local, probe.staging, events), events)
    mutated = probe.local.replace("range between 2 preceding", "range between 3 preceding")
    mutated = mutated.replace("fg_offset = 3 then", "fg_offset = 4 then").replace("(3)", "(4)")
    assert mutated != probe.local
    assert mismatches(run(mutated, probe.staging, events), events)
