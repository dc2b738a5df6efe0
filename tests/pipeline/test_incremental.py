"""Micro-batches: replaying the raw data one ingestion day at a time gives the same staging tables and feature
groups as one full refresh, and rerunning a batch changes nothing. A staging micro-batch reads only the newest
raw partitions and stages an event delivered in two batches once."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.local_project import LocalProject, make_local_project

from featurestore.core.manifest import FeatureGroupCatalog
from featurestore.demo.data import (
    ARTICLES_SCHEMA,
    IMPRESSIONS_SCHEMA,
    REACTIONS_SCHEMA,
    USERS_SCHEMA,
    DemoDataConfig,
    generate_demo_data,
)

FEATURE_GROUPS = "path:models/feature_groups"
# The incremental staging tables, with the column that orders their snapshot.
STAGED_EVENTS = {"stg_news__impressions": "impression_id", "stg_news__reactions": "reaction_id"}


def _snapshot(project: LocalProject) -> dict[str, list[tuple[object, ...]]]:
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        staged = {
            name: connection.sql(f"select * from main_staging.{name} order by {key}").fetchall()
            for name, key in STAGED_EVENTS.items()
        }
        return staged | {
            # computed_at is bookkeeping (when a row was last rewritten), not part of the features.
            group.name: connection.sql(
                f"select * exclude (computed_at) from {group.relation_name} "
                f"order by {', '.join([*group.entity, group.event_time])}"
            ).fetchall()
            for group in catalog
        }


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalProject, list[str]]]:
    project = make_local_project(tmp_path_factory.mktemp("replay"))
    # No event arrives later than the lookback here; late arrivals beyond it are a separate concern.
    landed = project.root / "landed"
    generate_demo_data(DemoDataConfig(users=150, days=3, seed=11, late_fraction=0.0), landed)
    raw = project.root / "raw"
    for table in ("articles", "users"):
        shutil.copytree(landed / table, raw / table)
    days = sorted(path.name for path in (landed / "impressions").iterdir())
    for day in days:
        for table in ("impressions", "reactions"):
            if (landed / table / day).exists():
                shutil.copytree(landed / table / day, raw / table / day)
        result = project.dbt("run", "--select", f"+{FEATURE_GROUPS}")
        assert result.returncode == 0, result.stdout[-4000:]
    yield project, days


def test_replaying_day_by_day_equals_a_full_refresh(replayed: tuple[LocalProject, list[str]]) -> None:
    project, days = replayed
    assert len(days) >= 3, "the replay should span several micro-batches"
    incremental = _snapshot(project)
    # The staging tables too: they were built incrementally as well.
    result = project.dbt("run", "--select", f"+{FEATURE_GROUPS}", "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    full = _snapshot(project)
    assert set(STAGED_EVENTS) < set(full)
    for name, rows in full.items():
        assert rows, name
        assert incremental[name] == rows, name


def test_rerunning_the_last_batch_changes_nothing(replayed: tuple[LocalProject, list[str]]) -> None:
    project, _ = replayed
    before = _snapshot(project)
    result = project.dbt("run", "--select", "config.materialized:incremental")
    assert result.returncode == 0, result.stdout[-4000:]
    assert _snapshot(project) == before


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _write_batch(raw: Path, day: str, impressions: list[tuple], reactions: list[tuple]) -> None:
    # Ingested a minute after the event: prompt, never later than the lookback.
    if impressions:
        rows = [(i, u, a, _at(s), 1, "home_feed", _at(s) + dt.timedelta(minutes=1)) for i, u, a, s in impressions]
        table = pa.Table.from_pylist([dict(zip(IMPRESSIONS_SCHEMA.names, r, strict=True)) for r in rows])
        (raw / "impressions" / f"dt={day}").mkdir(parents=True)
        pq.write_table(table.cast(IMPRESSIONS_SCHEMA), raw / "impressions" / f"dt={day}" / "part-0.parquet")
    if reactions:
        rows = [
            (r, i, u, a, _at(s), kind, dwell, _at(s) + dt.timedelta(minutes=1))
            for r, i, u, a, s, kind, dwell in reactions
        ]
        table = pa.Table.from_pylist([dict(zip(REACTIONS_SCHEMA.names, r, strict=True)) for r in rows])
        (raw / "reactions" / f"dt={day}").mkdir(parents=True)
        pq.write_table(table.cast(REACTIONS_SCHEMA), raw / "reactions" / f"dt={day}" / "part-0.parquet")


def _write_reference_tables(raw: Path) -> None:
    """One article and users 1-3."""
    articles = pa.Table.from_pylist(
        [
            {
                "id": 1,
                "published_at": _at("2026-09-30 00:00"),
                "category": "sports",
                "publisher": "p",
                "length_words": 500,
                "is_premium": False,
                "ingested_at": _at("2026-09-30 00:00"),
            },
        ]
    ).cast(ARTICLES_SCHEMA)
    users = pa.Table.from_pylist(
        [
            {"id": u, "signed_up_at": _at("2026-01-01"), "plan": "free", "ingested_at": _at("2026-01-01")}
            for u in (1, 2, 3)
        ]
    ).cast(USERS_SCHEMA)
    for name, table in (("articles", articles), ("users", users)):
        (raw / name).mkdir(parents=True)
        pq.write_table(table, raw / name / f"{name}.parquet")


def test_clicks_on_impressions_older_than_the_read_window_are_handled_as_in_a_full_build(tmp_path: Path) -> None:
    """A later micro-batch recomputes rows whose events it does not all read: the impression of a click can
    lie before its read window, and a click can be a second click on an impression clicked earlier."""
    project = make_local_project(tmp_path)
    raw = project.root / "raw"
    _write_reference_tables(raw)

    batches = [
        # User 1 sees A, later E, clicks A twice (only the first click counts) after E, and clicks A
        # again 8 days later (too late to count at all).
        (
            "2026-10-01",
            [("A", 1, 1, "2026-10-01 10:00:00"), ("E", 1, 1, "2026-10-01 17:00:00")],
            [
                ("r1", "A", 1, 1, "2026-10-01 17:30:00", "click", 20.0),
                ("r2", "A", 1, 1, "2026-10-01 17:31:00", "click", 50.0),
            ],
        ),
        # User 2 moves the watermark a week ahead: the next run's read window starts after A was shown,
        # yet it recomputes user 1's row where E leaves the 7-day window (whose last activity is the click).
        ("2026-10-08", [("B", 2, 1, "2026-10-08 23:00:00")], []),
        ("2026-10-09", [("C", 3, 1, "2026-10-09 01:00:00")], [("r3", "A", 1, 1, "2026-10-09 12:00:00", "click", 5.0)]),
    ]
    for day, impressions, reactions in batches:
        _write_batch(raw, day, impressions, reactions)
        result = project.dbt("run", "--select", f"+{FEATURE_GROUPS}")
        assert result.returncode == 0, result.stdout[-4000:]
    incremental = _snapshot(project)

    result = project.dbt("run", "--select", FEATURE_GROUPS, "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    full = _snapshot(project)
    for name, rows in full.items():
        assert incremental[name] == rows, name

    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        user_1 = connection.sql(
            "select effective_at, clicks_7d, avg_dwell_seconds_7d, last_active_at "
            "from main_features.user_engagement where user_id = 1 order by effective_at"
        ).fetchall()
    # One counted click (the first, with its dwell); the 8-day-late click changes nothing, not even activity.
    assert {row[1] for row in user_1} == {0, 1}
    assert {row[2] for row in user_1 if row[1] == 1} == {20.0}
    assert max(row[3] for row in user_1) == _at("2026-10-01 17:30:00")
    assert _at("2026-10-08 17:05:00") in {row[0] for row in user_1}


def _write_impressions(raw: Path, day: str, rows: list[tuple[str, str, str]]) -> Path:
    """Impressions (id, shown_at, ingested_at) of user 1 on article 1 into the raw partition dt=day."""
    records = [
        dict(zip(IMPRESSIONS_SCHEMA.names, (i, 1, 1, _at(s), 1, "home_feed", _at(g)), strict=True)) for i, s, g in rows
    ]
    path = raw / "impressions" / f"dt={day}" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(records).cast(IMPRESSIONS_SCHEMA), path)
    return path


def test_a_staging_micro_batch_reads_only_new_partitions_and_stages_a_redelivered_event_once(
    tmp_path: Path,
) -> None:
    project = make_local_project(tmp_path)
    raw = project.root / "raw"
    _write_reference_tables(raw)
    _write_batch(raw, "2026-10-01", [], [("r1", "A", 1, 1, "2026-10-01 10:05:00", "click", 3.0)])
    _write_impressions(raw, "2026-10-01", [("A", "2026-10-01 10:00:00", "2026-10-01 10:01:00")])
    old = _write_impressions(raw, "2026-10-02", [("B", "2026-10-02 10:00:00", "2026-10-02 10:01:00")])
    _write_impressions(raw, "2026-10-03", [("C", "2026-10-03 23:00:00", "2026-10-03 23:01:00")])
    _write_impressions(raw, "2026-10-04", [("E", "2026-10-04 06:00:00", "2026-10-04 06:01:00")])
    # First with the base views they read; later micro-batches run the staging tables only.
    staging = ("--select", *STAGED_EVENTS)
    result = project.dbt("run", "--select", *(f"+{name}" for name in STAGED_EVENTS))
    assert result.returncode == 0, result.stdout[-4000:]

    # The next batch redelivers B (from a partition it no longer reads) and E (from one it reads again),
    # with a new event D.
    _write_impressions(
        raw,
        "2026-10-05",
        [
            ("B", "2026-10-02 10:00:00", "2026-10-05 08:00:00"),
            ("E", "2026-10-04 06:00:00", "2026-10-05 08:00:00"),
            ("D", "2026-10-05 07:59:00", "2026-10-05 08:00:00"),
        ],
    )
    # Make an older partition unreadable: a run that opened it would fail. (Not the first partition:
    # DuckDB takes the columns of the view's glob from its first file.)
    intact = old.read_bytes()
    old.write_bytes(b"not parquet")
    result = project.dbt("run", *staging)
    assert result.returncode == 0, result.stdout[-4000:]
    sql = {
        folder: (project.target_path / folder / "featurestore/models/staging/stg_news__impressions.sql").read_text()
        for folder in ("compiled", "run")
    }
    # Raw partitions from the day before the newest ingestion already staged (2026-10-04 06:01), as a literal.
    assert "dt >= '2026-10-03'" in sql["compiled"]
    # The MERGE's target is bounded by the batch's oldest event time (B's redelivery).
    assert "DBT_INTERNAL_DEST.shown_at >= timestamp '2026-10-02 10:00:00'" in sql["run"]
    old.write_bytes(intact)

    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        staged = connection.sql(
            "select impression_id, ingested_at from main_staging.stg_news__impressions order by 1"
        ).fetchall()
    # Each event once, at its first delivery.
    assert staged == [
        ("A", _at("2026-10-01 10:01:00")),
        ("B", _at("2026-10-02 10:01:00")),
        ("C", _at("2026-10-03 23:01:00")),
        ("D", _at("2026-10-05 08:00:00")),
        ("E", _at("2026-10-04 06:01:00")),
    ]
    # The audit counts the redeliveries as duplicates, and its test finds the staged rows it kept.
    for args in (
        ("run", "--select", "path:models/staging", "path:models/audit"),
        ("test", "--select", "assert_rejection_audit_counts_every_raw_row"),
    ):
        result = project.dbt(*args)
        assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        outcomes = connection.sql(
            "select outcome, raw_rows from main_audit.audit_staging_rejections "
            "where source_table = 'impressions' order by 1"
        ).fetchall()
    assert outcomes == [("duplicate", 2), ("kept", 5)]
