"""Property tests: `user_engagement` as of any time equals a brute-force recomputation from the events.

dbt compiles the model once per module; each generated example then loads events into a fresh in-memory
DuckDB under the staging relation names and runs the compiled full-build SELECT (milliseconds, where a
`dbt run` per example would take seconds). The reference is `feature_oracle`, which re-derives every
feature from the definitions with no deltas or running sums.

The harness (compiling, loading staged events, as-of lookups, comparing, generating events) is generic
over feature groups: test_feature_semantics_groups.py reuses it for the other groups.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.feature_groups import STAGING_COLUMNS
from support.feature_oracle import (
    CLICK,
    GRAIN_SECONDS,
    WINDOWS,
    Article,
    Features,
    Impression,
    Oracle,
    Reaction,
    WindowFeatures,
    from_micros,
    to_micros,
)
from support.local_project import copy_project

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"
MODEL = "user_engagement"
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 3600 * SECOND
DAY = 24 * HOUR
GRAIN = GRAIN_SECONDS * SECOND
# Midnight UTC, so offsets that are multiples of the grain land exactly on bucket boundaries.
BASE = dt.datetime(2026, 10, 1)
SPAN = 10 * DAY
REL_TOLERANCE = 1e-12


# ---------------------------------------------------------------------------------------------------
# Compiled models and running them on given events
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompiledModel:
    sql: str
    # Staging model name -> (database, schema, fully quoted relation name), as the compiled SQL reads it.
    inputs: Mapping[str, tuple[str, str, str]]

    def with_sql(self, sql: str) -> CompiledModel:
        return dataclasses.replace(self, sql=sql)


def compile_models(root: Path, models: Sequence[str]) -> dict[str, CompiledModel]:
    """One `dbt compile` of `models` (local DuckDB target, full build) in a copy of the project under `root`."""
    project = root / "project"
    project.mkdir()
    copy_project(project)
    profiles_dir = root / "profiles"
    profiles_dir.mkdir()
    shutil.copy(project / "profiles.example.yml", profiles_dir / "profiles.yml")
    target_path = root / "target"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "FEATURESTORE_"))}
    env.update(
        {
            "DBT_PROFILES_DIR": str(profiles_dir),
            # A database that does not exist yet, so the models compile as a full build (no incremental
            # bounds) whatever the developer has built locally.
            "FEATURESTORE_DUCKDB_PATH": str(root / "featurestore.duckdb"),
            "FEATURESTORE_RAW_PATH": str(root / "raw"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    command = [str(DBT_EXECUTABLE), "compile", "--select", *models, "--target", "local"]
    command += ["--target-path", str(target_path), "--log-path", str(root / "logs"), "--no-partial-parse"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    manifest: dict[str, Any] = json.loads((target_path / "manifest.json").read_text())
    compiled = {}
    for model in models:
        node = manifest["nodes"][f"model.featurestore.{model}"]
        sql = (target_path / "compiled" / "featurestore" / node["original_file_path"]).read_text()
        inputs = {}
        for parent in node["depends_on"]["nodes"]:
            name = parent.rsplit(".", 1)[-1]
            # Fail here with the reason, not as a puzzling mismatch in every example, if the inputs change.
            assert name in STAGING_COLUMNS, f"{model} reads {parent}, which the semantics tests do not stage"
            staging = manifest["nodes"][parent]
            relation = staging["relation_name"]
            assert relation in sql, f"{relation} not referenced by the compiled {model}"
            inputs[name] = (staging["database"], staging["schema"], relation)
        compiled[model] = CompiledModel(sql=sql, inputs=inputs)
    return compiled


@pytest.fixture(scope="module")
def compiled_model(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    model = compile_models(tmp_path_factory.mktemp("semantics_project"), [MODEL])[MODEL]
    assert set(model.inputs) == {"stg_news__impressions", "stg_news__reactions"}
    return model


def _staged_rows(
    impressions: Sequence[Impression], reactions: Sequence[Reaction], articles: Sequence[Article]
) -> dict[str, list[tuple[Any, ...]]]:
    # Columns the models do not read get constants; ingested_at = event time (staging keeps only events
    # not ahead of their ingestion).
    return {
        "stg_news__impressions": [
            (i.impression_id, i.user_id, i.article_id, i.shown_at, 1, "home_feed", i.shown_at) for i in impressions
        ],
        "stg_news__reactions": [
            (
                r.reaction_id,
                r.impression_id,
                r.user_id,
                r.article_id,
                r.reacted_at,
                r.reaction_kind,
                r.dwell_seconds,
                r.reacted_at,
            )
            for r in reactions
        ],
        "stg_news__articles": [
            (a.article_id, a.published_at, a.category, "p1", 500, False, a.published_at or BASE) for a in articles
        ],
    }


@functools.cache
def _scratch_database(databases: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with `databases` attached, shared by all examples (each runs in a transaction
    that is rolled back, so none sees another's tables; a fresh connection per example costs 3x more)."""
    connection = duckdb.connect(":memory:")
    for database in databases:
        connection.execute(f"attach ':memory:' as \"{database}\"")
    return connection


def run_sql(
    model: CompiledModel,
    columns: Sequence[str],
    impressions: Sequence[Impression],
    reactions: Sequence[Reaction],
    articles: Sequence[Article] = (),
) -> list[tuple[Any, ...]]:
    """`columns` of the model's rows for these staged events, in an in-memory DuckDB."""
    staged = _staged_rows(impressions, reactions, articles)
    connection = _scratch_database(tuple(sorted({database for database, _, _ in model.inputs.values()})))
    connection.execute("begin transaction")
    try:
        for database, schema, _ in model.inputs.values():
            connection.execute(f'create schema if not exists "{database}"."{schema}"')
        for name, (_, _, relation) in model.inputs.items():
            definitions = STAGING_COLUMNS[name]
            connection.execute(f"create table {relation} ({', '.join(f'{c} {t}' for c, t in definitions)})")
            if staged[name]:
                # One multi-row INSERT: much faster than executemany's statement per row.
                row = f"({', '.join('?' for _ in definitions)})"
                values = ", ".join(row for _ in staged[name])
                parameters = [value for values_row in staged[name] for value in values_row]
                connection.execute(f"insert into {relation} values {values}", parameters)
        query = f"select {', '.join(columns)} from ({model.sql.rstrip().rstrip(';')})"
        return connection.sql(query).fetchall()
    finally:
        connection.execute("rollback")


# ---------------------------------------------------------------------------------------------------
# As-of lookups on a model's rows and comparing them with an oracle
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoreRow:
    key: Hashable
    effective_at: dt.datetime
    features: Any


class Store:
    """As-of lookups on a model's rows: an entity's latest row with effective_at <= t."""

    def __init__(self, rows: Iterable[StoreRow]) -> None:
        self._rows: dict[Hashable, list[StoreRow]] = {}
        for row in sorted(rows, key=lambda row: row.effective_at):
            self._rows.setdefault(row.key, []).append(row)
        self._times = {key: [row.effective_at for row in rows] for key, rows in self._rows.items()}

    @property
    def keys(self) -> list[Hashable]:
        return list(self._rows)

    def as_of(self, key: Hashable, moment: dt.datetime) -> Any:
        index = bisect.bisect_right(self._times.get(key, []), moment)
        return self._rows[key][index - 1].features if index else None


class AsOfOracle(Protocol):
    @property
    def keys(self) -> Sequence[Hashable]: ...

    def as_of(self, key: Any, moment: dt.datetime) -> Any: ...

    def change_candidates(self) -> set[int]: ...


def same_values(actual: Any, expected: Any) -> bool:
    """Equal, field by field, with floats compared to a relative tolerance (and None only equal to None)."""
    if actual is None or expected is None:
        return actual is expected
    if isinstance(actual, float) or isinstance(expected, float):
        return isinstance(actual, (int, float)) and math.isclose(actual, expected, rel_tol=REL_TOLERANCE)
    if dataclasses.is_dataclass(expected):
        return type(actual) is type(expected) and all(
            same_values(getattr(actual, field.name), getattr(expected, field.name))
            for field in dataclasses.fields(expected)
        )
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(actual) == set(expected)
            and all(same_values(actual[name], value) for name, value in expected.items())
        )
    return bool(actual == expected)


def invariant_violations(rows: Sequence[StoreRow], grain_seconds: int, last_seen: str) -> list[str]:
    """Unique (key, effective_at), effective_at on the grain, and `last_seen` strictly before effective_at."""
    problems = []
    keys = [(row.key, row.effective_at) for row in rows]
    if len(set(keys)) != len(keys):
        duplicated = sorted({key for key in keys if keys.count(key) > 1}, key=repr)
        problems.append(f"duplicate (key, effective_at): {duplicated[:5]}")
    for row in rows:
        if to_micros(row.effective_at) % (grain_seconds * SECOND):
            problems.append(f"effective_at not on a {grain_seconds} s boundary: {row}")
        seen = getattr(row.features, last_seen)
        if seen is None or seen >= row.effective_at:
            problems.append(f"{last_seen} not strictly before effective_at (a future leak): {row}")
    return problems


def query_times(oracle: AsOfOracle, rows: Sequence[StoreRow], extra: Iterable[dt.datetime]) -> list[dt.datetime]:
    """Every instant at which a value can change (and the instant before it), plus `extra`.

    The oracle is constant between its change candidates and the store between its rows, so this set
    compares the two over all of time, not just at sampled points.
    """
    instants = {from_micros(seconds * SECOND) for seconds in oracle.change_candidates()}
    instants |= {row.effective_at for row in rows}
    instants |= {moment - dt.timedelta(microseconds=1) for moment in instants}
    instants |= set(extra)
    return sorted(instants)


def compare(
    oracle: AsOfOracle,
    rows: Sequence[StoreRow],
    extra_times: Iterable[dt.datetime],
    grain_seconds: int,
    last_seen: str,
    limit: int = 5,
) -> list[str]:
    """Every disagreement between a model's rows and the oracle (at most `limit`)."""
    problems = invariant_violations(rows, grain_seconds, last_seen)
    store = Store(rows)
    times = query_times(oracle, rows, extra_times)
    for key in sorted(set(oracle.keys) | set(store.keys), key=repr):
        for moment in times:
            actual, expected = store.as_of(key, moment), oracle.as_of(key, moment)
            if not same_values(actual, expected):
                problems.append(f"{key!r} as of {moment}:\n  model:  {actual}\n  oracle: {expected}")
                if len(problems) >= limit:
                    return problems
    return problems


# ---------------------------------------------------------------------------------------------------
# user_engagement
# ---------------------------------------------------------------------------------------------------


def _feature_columns() -> list[str]:
    columns = []
    for name in WINDOWS:
        columns += [f"impressions_{name}", f"clicks_{name}", f"ctr_{name}", f"avg_dwell_seconds_{name}"]
    # computed_at is bookkeeping, not a feature: never compared.
    return [*columns, "last_active_at"]


def run_model(model: CompiledModel, impressions: Sequence[Impression], reactions: Sequence[Reaction]) -> list[StoreRow]:
    """The model's rows for these staged events."""
    rows = []
    for user_id, effective_at, *values in run_sql(
        model, ["user_id", "effective_at", *_feature_columns()], impressions, reactions
    ):
        windows = {}
        for index, name in enumerate(WINDOWS):
            shown, clicks, ctr, dwell = values[4 * index : 4 * index + 4]
            windows[name] = WindowFeatures(shown, clicks, ctr, dwell)
        rows.append(StoreRow(user_id, effective_at, Features(windows, values[-1])))
    return rows


def mismatches(
    model: CompiledModel,
    impressions: Sequence[Impression],
    reactions: Sequence[Reaction],
    extra_times: Iterable[dt.datetime] = (),
    oracle: Oracle | None = None,
    limit: int = 5,
) -> list[str]:
    """Every disagreement between the model and the oracle on these events (at most `limit`)."""
    oracle = oracle or Oracle(impressions, reactions)
    rows = run_model(model, impressions, reactions)
    return compare(oracle, rows, extra_times, GRAIN_SECONDS, "last_active_at", limit)


# ---------------------------------------------------------------------------------------------------
# Generated events (shared with the other groups' tests)
# ---------------------------------------------------------------------------------------------------

USER_IDS = (1, 2, 7, 2**40 + 3)


def around(*seconds: int) -> list[int]:
    """Microsecond offsets just before, at and just after each of `seconds`."""
    return [s * SECOND + d for s in seconds for d in (-1, 0, 1)]


def event_offsets(span: int, grain: int) -> st.SearchStrategy[int]:
    """Event times (microseconds after BASE): on a bucket boundary, a microsecond before one, or anywhere."""
    return st.one_of(
        st.integers(0, span // grain).map(lambda n: n * grain),
        st.integers(1, span // grain).map(lambda n: n * grain - 1),
        st.integers(0, span),
    )


def reaction_delays(windows: Mapping[str, int], grain_seconds: int, longest: int) -> st.SearchStrategy[int]:
    """Reaction delay after the impression: immediate, minutes, around each window length (the longest
    is the click cap) and one grain later, up to past the cap; or negative (a reaction before its impression,
    which must not count)."""
    lengths = [seconds + extra for seconds in windows.values() for extra in (0, grain_seconds)]
    return st.one_of(
        st.just(0),
        st.integers(0, 15 * MINUTE),
        st.sampled_from(around(*lengths)),
        # Exactly at, or a microsecond either side of, the click cap.
        st.sampled_from(around(longest)),
        st.integers(0, longest * SECOND + 2 * DAY),
        st.integers(-15 * MINUTE, -1),
    )


# Offsets of an event from its cluster's anchor: ties, same bucket, the neighbouring bucket, minutes.
def cluster_jitter(grain: int) -> st.SearchStrategy[int]:
    return st.one_of(
        st.just(0),
        st.sampled_from([1, grain - SECOND, grain - 1, grain, grain + 1, MINUTE]),
        st.integers(0, 3 * grain),
    )


dwells = st.one_of(
    st.none(),
    st.floats(0, 3600, allow_nan=False),
    # Halfway cases for round(dwell * 1000).
    st.sampled_from([0.0, 0.0005, 0.0015, 2.0025, 12.5, 40.1]),
)
reaction_kinds = st.sampled_from([CLICK, CLICK, CLICK, "like", "comment", "share"])


@dataclasses.dataclass(frozen=True)
class Events:
    impressions: list[Impression]
    reactions: list[Reaction]
    articles: list[Article]
    query_times: list[dt.datetime]


def at(offset: int) -> dt.datetime:
    return BASE + dt.timedelta(microseconds=offset)


@st.composite
def event_sets(
    draw: st.DrawFn,
    *,
    windows: Mapping[str, int],
    grain_seconds: int,
    span: int,
    article_ids: Sequence[int] = (1,),
    articles: st.SearchStrategy[list[Article]] | None = None,
    max_impressions: int = 24,
) -> Events:
    """Impressions in a few clusters, 0-3 reactions on each (double clicks at the same or different times,
    ties broken by reaction ids not in insertion order), and a reaction whose impression is missing."""
    grain = grain_seconds * SECOND
    longest = max(windows.values())
    users = draw(st.lists(st.sampled_from(USER_IDS), min_size=1, max_size=4, unique=True))
    anchors = draw(st.lists(event_offsets(span, grain), min_size=1, max_size=5))
    impressions = []
    for index in range(draw(st.integers(1, max_impressions))):
        offset = draw(st.sampled_from(anchors)) + draw(cluster_jitter(grain))
        impressions.append(
            Impression(f"i{index}", draw(st.sampled_from(users)), draw(st.sampled_from(article_ids)), at(offset))
        )
    drafts = []
    for impression in impressions:
        delays: list[int] = []
        for _ in range(draw(st.integers(0, 3))):
            # Often the same time as the previous reaction: a tie for the first click.
            same_time = bool(delays) and draw(st.booleans())
            delay = delays[-1] if same_time else draw(reaction_delays(windows, grain_seconds, longest))
            delays.append(delay)
            drafts.append(
                (
                    impression.impression_id,
                    # The reaction's own user and article columns are ignored: clicks are the impression's.
                    draw(st.sampled_from([impression.user_id, *users])),
                    draw(st.sampled_from([impression.article_id, *article_ids])),
                    impression.shown_at + dt.timedelta(microseconds=delay),
                    draw(reaction_kinds),
                    draw(dwells),
                )
            )
    if draw(st.booleans()):
        # A click whose impression was never staged (dropped as dirty upstream) counts nowhere.
        drafts.append(("missing", users[0], article_ids[0], at(draw(event_offsets(span, grain))), CLICK, 1.0))
    # Ids in an order unrelated to insertion and to time ("r10" < "r9"), so ties test the id ordering.
    ids = draw(st.permutations(range(len(drafts))))
    reactions = [Reaction(f"r{n}", *draft) for n, draft in zip(ids, drafts, strict=True)]
    times = st.one_of(
        st.integers(-2 * DAY, 0),
        event_offsets(span, grain),
        # Long after the last event: every window has emptied.
        st.integers(span + longest * SECOND + 2 * DAY, span + 2 * longest * SECOND + 3 * DAY),
    )
    query_times = [at(offset) for offset in draw(st.lists(times, max_size=8))]
    return Events(impressions, reactions, draw(articles) if articles is not None else [], query_times)


# ---------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    # The module fixture is compiled once and never mutated; reusing it across examples is the point.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sample=event_sets(windows=WINDOWS, grain_seconds=GRAIN_SECONDS, span=SPAN))
def test_every_as_of_value_matches_the_brute_force_oracle(compiled_model: CompiledModel, sample: Events) -> None:
    problems = mismatches(compiled_model, sample.impressions, sample.reactions, sample.query_times)
    assert not problems, "\n".join(problems)


def _impression(index: int, user_id: int, shown_at: dt.datetime) -> Impression:
    return Impression(f"i{index}", user_id, 1, shown_at)


def _click(index: int | str, impression: Impression, reacted_at: dt.datetime, dwell: float | None) -> Reaction:
    return Reaction(f"r{index}", impression.impression_id, impression.user_id, 1, reacted_at, CLICK, dwell)


def test_ten_clicks_on_day_one_leave_zero_clicks_7d_on_day_ten(compiled_model: CompiledModel) -> None:
    day_one = BASE + dt.timedelta(hours=9, minutes=1)
    impressions = [_impression(n, 5, day_one + dt.timedelta(seconds=n)) for n in range(10)]
    clicks = [_click(n, i, i.shown_at + dt.timedelta(seconds=20), 30.0) for n, i in enumerate(impressions)]
    store = Store(run_model(compiled_model, impressions, clicks))
    last_click = clicks[-1].reacted_at

    after_burst = store.as_of(5, BASE + dt.timedelta(hours=9, minutes=10))
    assert after_burst is not None
    assert after_burst.windows["7d"] == WindowFeatures(10, 10, 1.0, 30.0)
    assert after_burst.last_active_at == last_click

    day_ten = store.as_of(5, BASE + dt.timedelta(days=9, hours=12))
    assert day_ten == Features(
        windows={name: WindowFeatures(0, 0, None, None) for name in WINDOWS}, last_active_at=last_click
    )
    assert store.as_of(5, day_one) is None
    assert not mismatches(compiled_model, impressions, clicks)


def test_a_click_two_hours_after_its_impression_counts_in_24h_but_never_in_1h(
    compiled_model: CompiledModel,
) -> None:
    shown = _impression(0, 7, BASE + dt.timedelta(hours=10))
    click = _click(0, shown, shown.shown_at + dt.timedelta(hours=2), None)
    store = Store(run_model(compiled_model, [shown], [click]))

    for minutes in range(5, 24 * 60 + 10, 5):
        moment = shown.shown_at + dt.timedelta(minutes=minutes)
        features = store.as_of(7, moment)
        assert features is not None
        assert features.windows["1h"].clicks == 0, moment
        clicked = dt.timedelta(hours=2, minutes=5) <= moment - shown.shown_at < dt.timedelta(hours=24, minutes=5)
        # A null dwell counts as 0 s, but the click still counts in the average's denominator.
        expected_24h = WindowFeatures(1, 1, 1.0, 0.0) if clicked else None
        if expected_24h is not None:
            assert features.windows["24h"] == expected_24h, moment
        else:
            assert features.windows["24h"].clicks == 0, moment
    assert not mismatches(compiled_model, [shown], [click])


def test_an_event_on_a_bucket_boundary_waits_for_the_next_close(compiled_model: CompiledModel) -> None:
    boundary = BASE + dt.timedelta(hours=10, minutes=5)
    just_before = _impression(0, 3, boundary - dt.timedelta(microseconds=1))
    on_boundary = _impression(1, 3, boundary)
    store = Store(run_model(compiled_model, [just_before, on_boundary], []))

    assert store.as_of(3, boundary - dt.timedelta(microseconds=1)) is None
    at_boundary = store.as_of(3, boundary)
    assert at_boundary is not None and at_boundary.windows["1h"].impressions == 1
    assert at_boundary.last_active_at == just_before.shown_at
    next_close = store.as_of(3, boundary + dt.timedelta(minutes=5))
    assert next_close is not None and next_close.windows["1h"].impressions == 2
    # Each leaves the 1 h window exactly one hour after it arrived.
    leaving = store.as_of(3, boundary + dt.timedelta(hours=1))
    assert leaving is not None and leaving.windows["1h"].impressions == 1
    assert leaving.windows["24h"].impressions == 2


def test_two_clicks_on_one_impression_count_once_with_the_first_clicks_dwell(compiled_model: CompiledModel) -> None:
    shown = _impression(0, 4, BASE + dt.timedelta(hours=10, minutes=1))
    later = shown.shown_at + dt.timedelta(minutes=2)
    # Tied at the same time: "r10" sorts before "r9", so its dwell counts; the later click not at all.
    reactions = [
        _click(9, shown, later, 50.0),
        _click(10, shown, later, 20.0),
        _click(11, shown, later + dt.timedelta(minutes=1), 90.0),
    ]
    store = Store(run_model(compiled_model, [shown], reactions))

    features = store.as_of(4, BASE + dt.timedelta(hours=10, minutes=30))
    assert features is not None
    for name in WINDOWS:
        assert features.windows[name] == WindowFeatures(1, 1, 1.0, 20.0)
    # The ignored second click does not make the user active either.
    assert features.last_active_at == later
    assert not mismatches(compiled_model, [shown], reactions)


def test_a_click_a_week_after_its_impression_is_ignored_entirely(compiled_model: CompiledModel) -> None:
    shown = _impression(0, 6, BASE + dt.timedelta(hours=10, minutes=1))
    in_time = _impression(1, 6, BASE + dt.timedelta(hours=10, minutes=2))
    week = dt.timedelta(days=7)
    reactions = [
        # Before its impression: not a click, and not the impression's first click either.
        _click(0, shown, shown.shown_at - dt.timedelta(seconds=1), 5.0),
        # The first click on `shown` comes exactly 7 d later: too late, so `shown` has no click at all.
        _click(1, shown, shown.shown_at + week, 5.0),
        # 1 µs inside the cap: counts, although its impression has left every window by then.
        _click(2, in_time, in_time.shown_at + week - dt.timedelta(microseconds=1), 5.0),
    ]
    store = Store(run_model(compiled_model, [shown, in_time], reactions))

    for moment in (BASE + dt.timedelta(days=3), BASE + dt.timedelta(days=7, hours=11)):
        features = store.as_of(6, moment)
        assert features is not None
        assert all(window.clicks == 0 for window in features.windows.values()), moment
    late = store.as_of(6, BASE + dt.timedelta(days=8))
    assert late is not None and late.last_active_at == reactions[2].reacted_at
    assert not mismatches(compiled_model, [shown, in_time], reactions)


def _mutated_1h_window(sql: str) -> str | None:
    # The 1 h window is 12 buckets in the compiled SQL; 13 keeps events one bucket too long.
    width = 3600 // GRAIN_SECONDS
    mutated, count = re.subn(rf"(?<![\w.']){width}(?![\w.'])", str(width + 1), sql)
    return mutated if count else None


def mutated_every_click_counts(sql: str) -> str | None:
    # Drops the first-click filter: every click reaction on an impression would count.
    mutated, count = re.subn(r"(?:\b\w+\.)?\bclick_number\s*=\s*1\b", "true", sql)
    return mutated if count else None


def mutated_click_cap(sql: str, cap_seconds: int) -> str | None:
    # The cap is the only interval literal of the longest window's length (`interval '7' day`); windows are
    # bucket counts. Older SQL spelled it in seconds.
    units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

    def widen(match: re.Match[str]) -> str:
        if int(match["amount"]) * units[match["unit"].lower()] != cap_seconds:
            return match[0]
        return f"interval '{int(match['amount']) * 10}' {match['unit']}"

    pattern = r"interval\s+'(?P<amount>\d+)'\s+(?P<unit>second|minute|hour|day)\b"
    mutated = re.sub(pattern, widen, sql, flags=re.IGNORECASE)
    if mutated == sql:
        mutated, count = re.subn(rf"(?<![\w.']){cap_seconds}(?![\w.'])", str(cap_seconds * 10), sql)
        return mutated if count else None
    return mutated


def mutant_or_skip(mutated: str | None, what: str) -> str:
    if mutated is None:
        pytest.skip(f"the compiled SQL no longer spells {what} as the mutation expects")
    return mutated


def test_the_comparison_catches_a_wrong_window_length(compiled_model: CompiledModel) -> None:
    # Guards against a comparison that cannot fail: an off-by-one-bucket window must be reported,
    # whichever side (model or oracle) has it.
    shown = _impression(0, 9, BASE + dt.timedelta(hours=10, minutes=1))
    click = _click(0, shown, shown.shown_at + dt.timedelta(minutes=2), 5.0)
    assert not mismatches(compiled_model, [shown], [click])

    wrong_oracle = Oracle([shown], [click], windows={**WINDOWS, "1h": 3600 + GRAIN_SECONDS})
    assert mismatches(compiled_model, [shown], [click], oracle=wrong_oracle)

    mutated = mutant_or_skip(_mutated_1h_window(compiled_model.sql), "the 1 h window as a bucket count")
    assert mismatches(compiled_model.with_sql(mutated), [shown], [click])


def test_the_comparison_catches_counting_every_click_reaction(compiled_model: CompiledModel) -> None:
    shown = _impression(0, 9, BASE + dt.timedelta(hours=10, minutes=1))
    reactions = [_click(n, shown, shown.shown_at + dt.timedelta(minutes=n), 5.0) for n in (1, 2)]
    assert not mismatches(compiled_model, [shown], reactions)

    mutated = mutant_or_skip(mutated_every_click_counts(compiled_model.sql), "the first-click filter")
    assert mismatches(compiled_model.with_sql(mutated), [shown], reactions)


def test_the_comparison_catches_a_missing_click_cap(compiled_model: CompiledModel) -> None:
    shown = _impression(0, 9, BASE + dt.timedelta(hours=10, minutes=1))
    late = [_click(0, shown, shown.shown_at + dt.timedelta(days=8), 5.0)]
    assert not mismatches(compiled_model, [shown], late)

    mutated = mutant_or_skip(mutated_click_cap(compiled_model.sql, max(WINDOWS.values())), "the click cap")
    assert mismatches(compiled_model.with_sql(mutated), [shown], late)
