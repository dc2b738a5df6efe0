"""Time zones: point_in_time_join compares times in UTC whatever the DuckDB session's time zone, for event times
and label times with or without a zone (a `timestamp with time zone` Parquet written by pandas, say).

DuckDB reads a zone-less timestamp in the session's time zone (the OS zone by default) when it compares it with
a zoned one, and so it read the literal bounds of the feature scan and the spine's label times: in a session
in Asia/Tokyo, a zoned event time was compared 9 hours off and the join returned stale values without an error.
Each example is a two-row history and a one-row spine whose right answer is the newer row; the macro is
rendered by macro_renderer (checked against dbt in test_notebook_training_sets.py) from a manifest written
here, so no dbt process runs.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from support.local_project import manifest_macros

from featurestore.core.macro_renderer import MacroRenderer

PROJECT_DIR = Path(__file__).resolve().parents[2]
UTC = dt.UTC
NOON = dt.datetime(2026, 10, 5, 12, 0)  # UTC


def _node(name: str, entity: str, ttl: str) -> dict[str, object]:
    return {
        "resource_type": "model",
        "name": name,
        "unique_id": f"model.featurestore.{name}",
        "database": "featurestore",
        "schema": "main_features",
        "alias": name,
        "relation_name": f'"featurestore"."main_features"."{name}"',
        "config": {"meta": {"feature_group": {"entity": [entity], "event_time": "effective_at", "ttl": ttl}}},
        "columns": {entity: {}, "effective_at": {}, "clicks_7d": {}},
    }


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> MacroRenderer:
    """The project's macros with a manifest of one feature group (no model files: nothing can be newer)."""
    root = tmp_path_factory.mktemp("zones")
    shutil.copy(PROJECT_DIR / "dbt_project.yml", root / "dbt_project.yml")
    shutil.copytree(PROJECT_DIR / "macros", root / "macros")
    manifest = {
        "metadata": {"adapter_type": "duckdb", "project_name": "featurestore"},
        "nodes": {"model.featurestore.user_engagement": _node("user_engagement", "user_id", "7d")},
        "macros": manifest_macros(root),
        "sources": {},
    }
    (root / "target").mkdir()
    (root / "target" / "manifest.json").write_text(json.dumps(manifest))
    return MacroRenderer(root, root / "target" / "manifest.json", "duckdb")


def _call(method: str, bounds: tuple[str, str] | None) -> str:
    groups = [{"group": "user_engagement", "features": ["clicks_7d"]}]
    time_bounds = f", time_bounds={json.dumps(list(bounds))}" if bounds else ""
    return (
        "{{ featurestore.point_in_time_join(spine='spine', spine_time='shown_at', "
        f"feature_groups={json.dumps(groups)}, spine_columns=['user_id', 'shown_at'], method='{method}'"
        f"{time_bounds}) }}}}"
    )


def _session(zone: str, event_type: str, label_type: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(f"set TimeZone = '{zone}'")
    connection.execute("attach ':memory:' as featurestore")
    connection.execute("create schema featurestore.main_features")
    connection.execute(
        f"create table featurestore.main_features.user_engagement (user_id bigint, effective_at {event_type}, "
        "clicks_7d bigint)"
    )
    # Instants given with their zone, so that DuckDB stores the same instants in any session.
    for clicks, at in ((1, NOON - dt.timedelta(hours=2)), (2, NOON - dt.timedelta(minutes=30))):
        value = at.replace(tzinfo=UTC) if event_type == "timestamptz" else at
        connection.execute("insert into featurestore.main_features.user_engagement values (1, ?, ?)", [value, clicks])
    connection.execute(f"create table spine (user_id bigint, shown_at {label_type})")
    label = NOON.replace(tzinfo=UTC) if label_type == "timestamptz" else NOON
    connection.execute("insert into spine values (1, ?)", [label])
    return connection


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
@pytest.mark.parametrize(
    ("event_type", "label_type"),
    [("timestamptz", "timestamp"), ("timestamptz", "timestamptz"), ("timestamp", "timestamptz")],
)
@pytest.mark.parametrize("method", ["asof", "window"])
@pytest.mark.parametrize("bounded", [True, False], ids=["bounds", "no-bounds"])
def test_zoned_times_are_compared_in_utc(
    renderer: MacroRenderer, zone: str, event_type: str, label_type: str, method: str, bounded: bool
) -> None:
    # The literal bounds the Python path passes: the spine's label times, as zone-less UTC.
    bounds = (NOON.isoformat(sep=" "), NOON.isoformat(sep=" ")) if bounded else None
    sql = renderer.render(_call(method, bounds))
    with _session(zone, event_type, label_type) as connection:
        ((clicks, used_at),) = connection.sql(f"select clicks_7d, user_engagement_effective_at from ({sql})").fetchall()
    assert clicks == 2, f"{zone}: the row of 11:30 UTC is the newest at 12:00 UTC"
    assert used_at == NOON - dt.timedelta(minutes=30)  # zone-less UTC, whatever the session


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_a_zoned_bound_is_converted_to_utc(renderer: MacroRenderer, zone: str) -> None:
    """time_bounds written with an offset (a dbt model may pass them so) mean the same instants."""
    tokyo_noon = "2026-10-05 21:00:00+09:00"  # = 12:00 UTC
    sql = renderer.render(_call("asof", (tokyo_noon, tokyo_noon)))
    assert "<= timestamp '2026-10-05 12:00:00'" in sql
    with _session(zone, "timestamptz", "timestamp") as connection:
        ((clicks,),) = connection.sql(f"select clicks_7d from ({sql})").fetchall()
    assert clicks == 2


def test_the_ttl_is_measured_in_utc_too(renderer: MacroRenderer) -> None:
    """A row exactly a TTL before the label is expired, also when the two times are in different types."""
    sql = renderer.render(_call("asof", None))
    with _session("Asia/Tokyo", "timestamptz", "timestamp") as connection:
        connection.execute("update spine set shown_at = shown_at + interval 7 day - interval 30 minute")
        ((clicks,),) = connection.sql(f"select clicks_7d from ({sql})").fetchall()
    assert clicks is None  # 11:30 UTC + 7 days = the label time: expired
