"""The BI views every feature group gets from its contract (macros/create_feature_group_views.sql) and the
`feature_group_as_of` macro, on the real project over data that reaches past now: each returns exactly the
rows of a brute-force "newest row at or before t, within the TTL" query, never a row pre-computed for a later
time; and `featurestore show` defaults to now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.core.contract import FeatureGroup
from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.demo import DemoDataConfig, generate_demo_data

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

TODAY = dt.datetime.now(dt.UTC).replace(tzinfo=None).replace(hour=0, minute=0, second=0, microsecond=0)
START = TODAY - dt.timedelta(days=2)
# A time in the middle of the data, for the dbt macro (rendered into a model).
MACRO_AS_OF = START + dt.timedelta(days=1, hours=17, minutes=35)
NOW_SQL = "cast(current_timestamp at time zone 'UTC' as timestamp)"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProject]:
    """Three days of data up to the end of today (UTC), so rows exist before and after now."""
    project = make_local_project(tmp_path_factory.mktemp("bi_project"))
    generate_demo_data(DemoDataConfig(users=150, days=3, start=START.date(), seed=21), project.root / "raw")
    checks = project.root / "models" / "bi_checks"
    checks.mkdir()
    (checks / "engagement_as_of.sql").write_text(
        "select * from ({{ featurestore.feature_group_as_of('user_engagement', '"
        + MACRO_AS_OF.isoformat()
        + "') }}) as engagement\n"
    )
    (checks / "affinity_now.sql").write_text(
        "select * from ({{ featurestore.feature_group_as_of('user_category_affinity') }}) as affinity\n"
    )
    result = project.dbt("run", "--select", "+path:models/feature_groups", "path:models/bi_checks")
    assert result.returncode == 0, result.stdout[-4000:]
    yield project


@pytest.fixture(scope="module")
def groups(project: LocalProject) -> list[FeatureGroup]:
    return list(FeatureGroupCatalog.from_manifest_path(project.manifest_path()))


def _view(group: FeatureGroup, suffix: str) -> str:
    """The quoted name of a group's view: the table's last quoted identifier plus the suffix."""
    assert group.relation_name.endswith('"'), group.relation_name
    return group.relation_name[:-1] + suffix + '"'


def _brute_force(group: FeatureGroup, at_sql: str) -> str:
    """Each entity's newest row at or before `at_sql`, dropped when older than the TTL: the definition."""
    entity = ", ".join(group.entity)
    columns = ", ".join([*group.entity, group.event_time, *group.feature_names])
    seconds = int(group.ttl.total_seconds())
    return (
        f"select {columns} from (select {columns}, row_number() over (partition by {entity} "
        f"order by {group.event_time} desc) as rank_ from {group.relation_name} "
        f"where {group.event_time} <= {at_sql}) as ranked "
        f"where rank_ = 1 and {group.event_time} + to_seconds({seconds}) > {at_sql}"
    )


def _differences(connection: duckdb.DuckDBPyConnection, left: str, right: str) -> tuple[int, int, int]:
    """(rows of left, rows only in left, rows only in right), in one statement (one `now`)."""
    (row,) = connection.sql(
        f"with l as ({left}), r as ({right}) select (select count(*) from l), "
        "(select count(*) from (select * from l except all select * from r)), "
        "(select count(*) from (select * from r except all select * from l))"
    ).fetchall()
    return row


def test_every_group_has_described_views(project: LocalProject, groups: list[FeatureGroup]) -> None:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        views = dict(
            connection.sql(
                "select schema_name || '.' || view_name, comment from duckdb_views() where not internal"
            ).fetchall()
        )
    for group in groups:
        for suffix in ("__current", "__validity"):
            name = group.relation_name.split(".", 1)[1].replace('"', "") + suffix
            assert name in views, f"{name} missing; views: {sorted(views)}"
            assert group.name in views[name] and "docs/bi.md" in views[name]


def test_current_view_is_each_entitys_value_valid_now(project: LocalProject, groups: list[FeatureGroup]) -> None:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        for group in groups:
            columns = ", ".join([*group.entity, group.event_time, *group.feature_names])
            current = f"select {columns} from {_view(group, '__current')}"
            rows, only_view, only_truth = _differences(connection, current, _brute_force(group, NOW_SQL))
            assert (only_view, only_truth) == (0, 0), group.name
            assert rows > 0, f"{group.name}: no current values; the data reaches past now"
        # The trap the views avoid: the newest row per user lies after now for some users.
        (future,) = connection.sql(
            "select count(*) from (select user_id, max(effective_at) as newest from main_features.user_engagement "
            f"group by user_id) where newest > {NOW_SQL}"
        ).fetchall()[0]
        assert future > 0


@pytest.mark.parametrize(
    "at",
    [
        START + dt.timedelta(hours=12),
        START + dt.timedelta(days=1, hours=9, minutes=2, seconds=7),
        TODAY + dt.timedelta(days=3),  # after the data: only rows computed ahead of time, some expired
        TODAY + dt.timedelta(days=120),  # all but the long-TTL attributes expired
    ],
)
def test_validity_view_answers_as_of_any_time(
    project: LocalProject, groups: list[FeatureGroup], at: dt.datetime
) -> None:
    literal = f"timestamp '{at.isoformat(sep=' ')}'"
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        for group in groups:
            columns = ", ".join([*group.entity, group.event_time, *group.feature_names])
            as_of = (
                f"select {columns} from {_view(group, '__validity')} "
                f"where {group.event_time} <= {literal} and {literal} < valid_until"
            )
            rows, only_view, only_truth = _differences(connection, as_of, _brute_force(group, literal))
            assert (only_view, only_truth) == (0, 0), (group.name, at)
            # At +120 days every windowed group has expired (30-day windows emptied, then their TTL);
            # article_attributes (TTL 3650d: an article's publisher does not go stale) still answers.
            expired = at >= TODAY + dt.timedelta(days=120) and group.ttl < dt.timedelta(days=90)
            assert (rows == 0) == expired, (group.name, at, rows)


def test_as_of_macro_in_a_dbt_model(project: LocalProject, groups: list[FeatureGroup]) -> None:
    engagement = next(group for group in groups if group.name == "user_engagement")
    affinity = next(group for group in groups if group.name == "user_category_affinity")
    literal = f"timestamp '{MACRO_AS_OF.isoformat(sep=' ')}'"
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        model = "select * from main.engagement_as_of"
        rows, only_model, only_truth = _differences(connection, model, _brute_force(engagement, literal))
        assert (only_model, only_truth) == (0, 0) and rows > 0
        # docs/bi.md's table-function pattern for DuckDB clients gives the same rows.
        connection.execute(
            "create temp macro engagement_as_of(t) as table select * exclude (valid_until) "
            "from main_features.user_engagement__validity where effective_at <= t and t < valid_until"
        )
        columns = ", ".join([*engagement.entity, engagement.event_time, *engagement.feature_names])
        pattern = f"select {columns} from engagement_as_of({literal})"
        assert _differences(connection, pattern, _brute_force(engagement, literal)) == (rows, 0, 0)
        # Without as_of: the values valid when the model ran (checked against the same rule at its run time).
        (newest,) = connection.sql("select max(last_clicked_at) from main.affinity_now").fetchall()[0]
        assert newest is not None
        (count,) = connection.sql("select count(*) from main.affinity_now").fetchall()[0]
        (expected,) = connection.sql(f"select count(*) from ({_brute_force(affinity, NOW_SQL)})").fetchall()[0]
        # The model ran a little before this query; the set can only differ by entities that expired since.
        assert count > 0 and abs(count - expected) <= max(3, expected // 100)


def test_show_defaults_to_now(project: LocalProject) -> None:
    shown = project.featurestore("show", "user_engagement", "--limit", "3")
    assert shown.returncode == 0, shown.stderr
    assert "(now)" in shown.stdout
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    times = [
        dt.datetime.fromisoformat(cell.strip())
        for line in shown.stdout.splitlines()
        if line.strip("│ ").startswith("effective_at")
        for cell in line.split("│")[2:-1]
    ]
    assert len(times) == 3 and all(time <= now for time in times)
