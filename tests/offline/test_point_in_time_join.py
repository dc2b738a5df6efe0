"""Property tests of `point_in_time_join`: both methods equal a brute-force as-of join computed in Python.

One `dbt compile` of a throwaway project compiles every variant of the macro (as analyses: ASOF and window
method, inclusive and strict, a TTL override) plus the calls that must fail. Each generated example then loads
a spine and three feature groups' histories into an in-memory DuckDB under the groups' relation names and runs
every compiled SELECT (milliseconds each).

The generated data is made to hit the subtle cases: times on a coarse hourly grid (so spine and feature times
tie, and feature rows land exactly on a TTL boundary), NULL keys and NULL label times, duplicated spine rows,
NULL feature values (which must not let an older value show through), a key mapping (`viewer_id` to the
groups' `user_id`) and a composite entity (user + category). Every property runs in DuckDB sessions in several
time zones, with label and event times stored with and without a zone: the result must not change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.local_project import in_process_dbt_env, make_local_project

from featurestore.core.dbt_compiler import DbtCompiler
from featurestore.core.errors import DbtCompileError

pytestmark = [pytest.mark.dbt]

EPOCH = dt.datetime(2026, 10, 1)
HOUR = dt.timedelta(hours=1)
SPINE = "pit_spine"
SPINE_COLUMNS = ("row_number", "viewer_id", "article_id", "category", "label_at")


@dataclasses.dataclass(frozen=True)
class Group:
    name: str
    entity: tuple[str, ...]
    spine_keys: tuple[str, ...]
    features: tuple[tuple[str, str], ...]  # (feature, duckdb type)
    ttl: dt.timedelta
    prefix: str


GROUPS = (
    Group(
        "user_engagement",
        ("user_id",),
        ("viewer_id",),
        (("clicks_7d", "bigint"), ("ctr_1h", "double")),
        dt.timedelta(days=7),
        "user_",
    ),
    Group(
        "article_popularity",
        ("article_id",),
        ("article_id",),
        (("ctr_15m", "double"),),
        dt.timedelta(days=2),
        "article_",
    ),
    Group(
        "user_category_affinity",
        ("user_id", "category"),
        ("viewer_id", "category"),
        (("click_share_30d", "double"),),
        dt.timedelta(days=30),
        "affinity_",
    ),
)


@dataclasses.dataclass(frozen=True)
class Variant:
    method: str
    inclusive: bool
    ttl_override: str | None = None  # for user_engagement

    @property
    def name(self) -> str:
        ttl = f"_ttl_{self.ttl_override}" if self.ttl_override else ""
        return f"pit_{self.method}_{'inclusive' if self.inclusive else 'strict'}{ttl}"

    def ttl(self, group: Group) -> dt.timedelta | None:
        if group.name == "user_engagement" and self.ttl_override == "36h":
            return dt.timedelta(hours=36)
        if group.name == "user_engagement" and self.ttl_override == "none":
            return None  # `ttl: none`: a value never expires
        return group.ttl


VARIANTS = tuple(
    Variant(method, inclusive, ttl)
    for method in ("asof", "window")
    for inclusive in (True, False)
    for ttl in (None, "36h", "none")
    if inclusive or ttl is None
)


def _call(variant: Variant) -> str:
    entries = []
    for group in GROUPS:
        entry: dict[str, Any] = {
            "group": group.name,
            "features": [name for name, _ in group.features],
            "prefix": group.prefix,
        }
        keys = {entity: spine for entity, spine in zip(group.entity, group.spine_keys, strict=True) if entity != spine}
        if keys:
            entry["keys"] = keys
        if group.name == "user_engagement" and variant.ttl_override:
            entry["ttl"] = variant.ttl_override
        entries.append(entry)
    return (
        f"{{{{ featurestore.point_in_time_join(spine='{SPINE}', spine_time='label_at', "
        f"feature_groups={json.dumps(entries)}, inclusive={str(variant.inclusive).lower()}, "
        f"spine_columns={json.dumps(list(SPINE_COLUMNS))}, method='{variant.method}') }}}}\n"
    )


# Calls that must fail at compile time, and what the message must name.
BAD_CALLS = {
    "bad_unknown_group": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'stg_news__articles', 'features': ['category']}]) }}",
        ["'stg_news__articles' is not a feature group", "user_engagement"],
    ),
    "bad_unknown_feature": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'user_engagement', 'features': ['clicks_99d']}]) }}",
        ["'clicks_99d' is not a feature of 'user_engagement'", "clicks_7d"],
    ),
    "bad_collision": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'user_engagement', 'features': ['ctr_1h']}, "
        "{'group': 'article_popularity', 'features': ['ctr_1h']}]) }}",
        ["output column 'ctr_1h' comes from both 'user_engagement' and 'article_popularity'"],
    ),
    "bad_missing_key": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'user_category_affinity', 'features': ['clicks_30d']}]) }}",
        ["the spine has no column 'category'", "user_category_affinity"],
    ),
    "bad_spine_collision": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'user_engagement', 'features': {'clicks_7d': 'surface'}}]) }}",
        ["output column 'surface' of group 'user_engagement' is also a spine column"],
    ),
    "bad_ttl": (
        "{{ featurestore.point_in_time_join(spine=ref('stg_news__impressions'), spine_time='shown_at', "
        "feature_groups=[{'group': 'user_engagement', 'features': ['clicks_7d'], 'ttl': '7 days'}]) }}",
        ['ttl "7 days" is not a duration', "user_engagement"],
    ),
}


@dataclasses.dataclass(frozen=True)
class Compiled:
    sql: Mapping[str, str] = dataclasses.field(repr=False)
    compiler: DbtCompiler = dataclasses.field(repr=False)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiled]:
    """Every variant, compiled in-process by the library's compiler (one parse, then ~0.3 s per compile)."""
    project = make_local_project(tmp_path_factory.mktemp("pit") / "project")
    with in_process_dbt_env(project):  # nothing is built, but dbt stays away from the developer's files
        compiler = DbtCompiler(project.root, target="local", profiles_dir=project.root / ".dbt")
        yield Compiled({variant.name: compiler.compile(_call(variant)) for variant in VARIANTS}, compiler)


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_a_bad_call_names_its_culprit(compiled: Compiled, name: str) -> None:
    call, expected = BAD_CALLS[name]
    with pytest.raises(DbtCompileError) as raised:
        compiled.compiler.compile(call)
    message = " ".join(str(raised.value).split())
    for text in expected:
        assert text in message, message


def test_the_window_method_reads_every_relation_once(compiled: Compiled) -> None:
    for variant in VARIANTS:
        sql = compiled.sql[variant.name]
        assert sql.count(f"from {SPINE}") == 1
        for group in GROUPS:
            assert sql.count(f'"main_features"."{group.name}"') == 1, (variant.name, group.name)
        if variant.method == "window":
            assert "asof" not in sql.lower() and " with " not in f" {sql.lower()} "


# ---------------------------------------------------------------------------------------------------------------
# Generated data and the oracle

Key = tuple[Any, ...]
History = dict[Key, dict[dt.datetime, tuple[Any, ...]]]  # entity key -> event time -> feature values


@dataclasses.dataclass(frozen=True)
class Example:
    spine: list[tuple[Any, ...]]  # rows of SPINE_COLUMNS
    histories: dict[str, History]  # group name -> history


USERS = st.sampled_from([1, 2, 3])
ARTICLES = st.sampled_from([10, 11])
CATEGORIES = st.sampled_from(["politics", "sports"])
# An hourly grid over 40 days: spine and feature times tie, and rows land exactly on TTL boundaries (2 d, 36 h,
# 7 d, 30 d are whole hours).
TIMES = st.integers(min_value=0, max_value=40 * 24).map(lambda hours: EPOCH + hours * HOUR)


def _values(types: Sequence[tuple[str, str]]) -> st.SearchStrategy[tuple[Any, ...]]:
    parts = [
        st.one_of(st.none(), st.integers(0, 50)) if kind == "bigint" else st.one_of(st.none(), st.floats(0, 1))
        for _, kind in types
    ]
    return st.tuples(*parts)


def _history(keys: st.SearchStrategy[Key], group: Group) -> st.SearchStrategy[History]:
    rows = st.lists(st.tuples(keys, TIMES, _values(group.features)), max_size=25)

    def build(items: list[tuple[Key, dt.datetime, tuple[Any, ...]]]) -> History:
        history: History = {}
        for key, time, values in items:  # the group's unique key (entity, event time): the last draw wins
            history.setdefault(key, {})[time] = values
        return history

    return rows.map(build)


@st.composite
def examples(draw: st.DrawFn) -> Example:
    histories = {
        "user_engagement": draw(_history(st.tuples(USERS), GROUPS[0])),
        "article_popularity": draw(_history(st.tuples(ARTICLES), GROUPS[1])),
        "user_category_affinity": draw(_history(st.tuples(USERS, CATEGORIES), GROUPS[2])),
    }
    # Label times: mostly at or next to feature times (ties and TTL boundaries), some anywhere, some NULL.
    feature_times = sorted({time for history in histories.values() for rows in history.values() for time in rows})
    near = (
        st.sampled_from(feature_times).flatmap(
            lambda time: st.sampled_from([time, time + HOUR, time + dt.timedelta(days=2), time + dt.timedelta(days=7)])
        )
        if feature_times
        else TIMES
    )
    label_times = st.one_of(near, near, TIMES, st.none())
    rows = draw(
        st.lists(
            st.tuples(
                st.one_of(USERS, USERS, st.none()),
                st.one_of(ARTICLES, st.none()),
                st.one_of(CATEGORIES, st.none()),
                label_times,
            ),
            min_size=1,
            max_size=20,
        )
    )
    # Duplicated spine rows must stay duplicated: repeat some rows verbatim, row_number included.
    repeats = draw(st.lists(st.integers(0, len(rows) - 1), max_size=3))
    spine = [(index, *row) for index, row in enumerate(rows)]
    spine += [spine[index] for index in repeats]
    return Example(spine, histories)


def _oracle(example: Example, variant: Variant) -> list[tuple[Any, ...]]:
    result = []
    for row in example.spine:
        values = dict(zip(SPINE_COLUMNS, row, strict=True))
        label_at = values["label_at"]
        out = list(row)
        for group in GROUPS:
            key = tuple(values[column] for column in group.spine_keys)
            found = None
            if label_at is not None and None not in key:
                times = [
                    time
                    for time in example.histories[group.name].get(key, {})
                    if (time <= label_at if variant.inclusive else time < label_at)
                ]
                ttl = variant.ttl(group)
                if times and (ttl is None or max(times) > label_at - ttl):
                    found = max(times)
            features = example.histories[group.name][key][found] if found else (None,) * len(group.features)
            out += [*features, found]
        result.append(tuple(out))
    return result


@dataclasses.dataclass(frozen=True)
class Session:
    """A DuckDB session in a time zone, with label times and event times stored with or without a zone."""

    connection: duckdb.DuckDBPyConnection
    zone: str
    label_type: str
    event_type: str

    def value(self, time: dt.datetime | None, column_type: str) -> dt.datetime | None:
        # The same instant in any session: a zoned column is given the UTC instant, not a wall time that
        # DuckDB would read in the session's zone.
        return time.replace(tzinfo=dt.UTC) if time is not None and column_type == "timestamptz" else time


def _load(session: Session, example: Example) -> None:
    connection = session.connection
    connection.execute(f"delete from {SPINE}")
    if example.spine:
        rows = [(*row[:4], session.value(row[4], session.label_type)) for row in example.spine]
        connection.executemany(f"insert into {SPINE} values (?, ?, ?, ?, ?)", rows)
    for group in GROUPS:
        relation = f"featurestore.main_features.{group.name}"
        connection.execute(f"delete from {relation}")
        rows = [
            (*key, session.value(time, session.event_type), *values)
            for key, history in example.histories[group.name].items()
            for time, values in history.items()
        ]
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"insert into {relation} values ({marks})", rows)


# The session's time zone must not matter: CI runs in UTC, users' laptops do not, and pandas writes zoned
# timestamps to Parquet by default. DuckDB reads a zone-less time in the session's zone when it meets a zoned one.
SESSIONS = [
    ("UTC", "timestamp", "timestamp"),
    ("Asia/Tokyo", "timestamp", "timestamptz"),
    ("America/Los_Angeles", "timestamptz", "timestamptz"),
    ("Asia/Tokyo", "timestamptz", "timestamp"),
]


@pytest.fixture(scope="module", params=SESSIONS, ids=["-".join(session) for session in SESSIONS])
def connection(request: pytest.FixtureRequest) -> Iterator[Session]:
    zone, label_type, event_type = request.param
    connection = duckdb.connect()
    connection.execute(f"set TimeZone = '{zone}'")
    # The compiled SQL names the groups as "featurestore"."main_features"."<group>", the local build's names.
    connection.execute("attach ':memory:' as featurestore")
    connection.execute("create schema featurestore.main_features")
    connection.execute(
        f"create table {SPINE} (row_number integer, viewer_id bigint, article_id bigint, category varchar, "
        f"label_at {label_type})"
    )
    for group in GROUPS:
        entity = ", ".join(f"{column} {'varchar' if column == 'category' else 'bigint'}" for column in group.entity)
        features = ", ".join(f"{name} {kind}" for name, kind in group.features)
        connection.execute(
            f"create table featurestore.main_features.{group.name} ({entity}, effective_at {event_type}, {features})"
        )
    yield Session(connection, zone, label_type, event_type)
    connection.close()


def _utc(value: Any) -> Any:
    """A zoned datetime (DuckDB returns zoned columns in the session's zone) as the zone-less UTC the oracle uses."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _fetch(session: Session, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(_utc(value) for value in row) for row in session.connection.execute(sql).fetchall()]


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, str(value)) for value in row)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=examples())
def test_every_variant_equals_a_brute_force_as_of_join(
    compiled: Compiled, connection: Session, example: Example
) -> None:
    _load(connection, example)
    for variant in VARIANTS:
        actual = _fetch(connection, compiled.sql[variant.name])
        expected = _oracle(example, variant)
        assert sorted(actual, key=_sort_key) == sorted(expected, key=_sort_key), variant.name


def test_ties_ttl_boundaries_and_null_values(compiled: Compiled, connection: Session) -> None:
    """A fixed example with every subtle case at once, checked against hand-written expectations, so the
    property test above cannot pass by an oracle that shares a mistake with the SQL."""
    noon = EPOCH + 12 * HOUR
    example = Example(
        spine=[
            (0, 1, 10, "sports", noon),  # user row stamped at noon: used when inclusive only
            (1, 1, 10, "sports", noon + dt.timedelta(days=7)),  # the 11:00 row is older than 7 d: NULL...
            (2, None, 10, "sports", noon),  # NULL key: NULL user features
            (3, 1, 10, "sports", None),  # NULL label time: NULL everywhere
            (3, 1, 10, "sports", None),  # ...and duplicates stay
        ],
        histories={
            "user_engagement": {(1,): {noon - HOUR: (5, 0.5), noon: (6, None)}},
            "article_popularity": {(10,): {noon - 2 * HOUR: (0.25,)}},
            "user_category_affinity": {(1, "sports"): {noon - dt.timedelta(days=7): (0.75,)}},
        },
    )
    inclusive, strict = Variant("asof", True), Variant("asof", False)
    expected_inclusive = _oracle(example, inclusive)
    # Inclusive: the noon row, whose ctr_1h is NULL (not the older 0.5).
    assert expected_inclusive[0][5:8] == (6, None, noon)
    assert _oracle(example, strict)[0][5:8] == (5, 0.5, noon - HOUR)
    # Seven days later: the user's newest row (noon) is exactly 7 d old, expired; affinity (30 d) still holds.
    assert expected_inclusive[1][5:8] == (None, None, None)
    assert expected_inclusive[1][10:12] == (0.75, noon - dt.timedelta(days=7))
    assert expected_inclusive[2][5:8] == (None, None, None) and expected_inclusive[2][8] == 0.25
    assert expected_inclusive[3][5:] == (None,) * 7 == expected_inclusive[4][5:]
    _load(connection, example)
    for variant in VARIANTS:
        actual = _fetch(connection, compiled.sql[variant.name])
        assert sorted(actual, key=_sort_key) == sorted(_oracle(example, variant), key=_sort_key), variant.name
