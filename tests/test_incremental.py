"""Micro-batches: replaying the raw data one ingestion day at a time gives the same feature groups as one
full refresh, and rerunning a batch changes nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import duckdb
import pytest
from local_project import LocalProject, make_local_project

from featurestore.demo_data import DemoDataConfig, generate_demo_data
from featurestore.manifest import FeatureGroupCatalog

FEATURE_GROUPS = "path:models/feature_groups"


def _snapshot(project: LocalProject) -> dict[str, list[tuple[object, ...]]]:
    catalog = FeatureGroupCatalog.from_manifest_path(project.manifest_path())
    with duckdb.connect(str(project.duckdb_path), read_only=True) as connection:
        return {
            group.name: connection.sql(
                f"select * from {group.relation_name} order by {', '.join([*group.entity, group.event_time])}"
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
    result = project.dbt("run", "--select", FEATURE_GROUPS, "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    full = _snapshot(project)
    for name, rows in full.items():
        assert rows, name
        assert incremental[name] == rows, name


def test_rerunning_the_last_batch_changes_nothing(replayed: tuple[LocalProject, list[str]]) -> None:
    project, _ = replayed
    before = _snapshot(project)
    result = project.dbt("run", "--select", FEATURE_GROUPS)
    assert result.returncode == 0, result.stdout[-4000:]
    assert _snapshot(project) == before
